package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// load fetches a read view off the UI goroutine and hands the result to
// done on it. A fresh answer is cached under key; when the network fails,
// the cached answer is handed over instead, with the time it was loaded
// (zero for a fresh answer). While the browser reports itself offline the
// cached answer is handed over at once, without trying the network (which
// a service worker or a captive portal may still seem to reach); only
// when nothing is cached is the network tried. Without a token nothing is
// asked (it could only fail), and a session that ended sends the app to
// the sign-in page, which says why — unless the password is being asked
// again over the page, which then stays as it is. A 403
// insufficient_scope reloads who is signed in: the role may have changed.
func load[T any](ctx app.Context, env *Env, key string, fetch func(context.Context) (*T, error), done func(ctx app.Context, v *T, loadedAt time.Time, err error)) {
	if !env.Online() {
		var c T
		if at, ok := env.Cache.Get(key, &c); ok {
			done(ctx, &c, at, nil)
			return
		}
	}
	if !env.SignedIn() {
		if env.reauthenticating() == nil {
			endSession(ctx, env, env.endedBefore())
		}
		return
	}
	ctx.Async(func() {
		v, err := fetch(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			if reason, ended := sessionEnded(err); ended {
				if env.reauthenticating() == nil {
					endSession(ctx, env, cmpOr(reason, env.endedBefore()))
				}
				return
			}
			switch {
			case err == nil:
				env.Cache.Put(key, v)
				done(ctx, v, time.Time{}, nil)
			case isNetwork(err):
				var c T
				if at, ok := env.Cache.Get(key, &c); ok {
					done(ctx, &c, at, nil)
					return
				}
				done(ctx, nil, time.Time{}, err)
			default:
				if isScope(err) {
					refreshMe(ctx, env)
				}
				noteRestriction(ctx, env, err)
				done(ctx, nil, time.Time{}, err)
			}
		})
	})
}

// write runs a change off the UI goroutine — refused at once when offline
// — and hands the outcome to done on it. When the change finds the session
// over, the password is asked again over the page (Reauth) and the change
// is made once it is given, with what it held: done sees the outcome of
// that second try. A 403 insufficient_scope reloads who is signed in, so
// that the controls follow a role changed meanwhile.
func write(ctx app.Context, env *Env, f func(context.Context) error, done func(ctx app.Context, err error)) {
	if !env.Online() {
		done(ctx, ErrOffline)
		return
	}
	ctx.Async(func() {
		err := f(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			if reason, ended := sessionEnded(err); ended {
				reason = cmpOr(reason, env.endedBefore())
				if canSignInAgain(reason) && env.Me() != nil {
					askAgain(ctx, env, reason, func(ctx app.Context) { write(ctx, env, f, done) })
					return
				}
				endSession(ctx, env, reason)
				return
			}
			if isScope(err) {
				refreshMe(ctx, env)
			}
			noteRestriction(ctx, env, err)
			if err != nil && isNetwork(err) && !env.Online() {
				err = ErrOffline
			}
			done(ctx, err)
		})
	})
}

func isLoggedOut(err error) bool { return errors.Is(err, client.ErrLoggedOut) }

// isScope reports whether err is a 403 insufficient_scope: the role does
// not allow what was asked.
func isScope(err error) bool {
	var e *shared.Error
	return errors.As(err, &e) && e.Code == shared.CodeInsufficientScope
}

// isNetwork reports whether err is a failure to reach the server rather
// than an answer from it.
func isNetwork(err error) bool {
	var e *shared.Error
	return err != nil && !errors.As(err, &e) && !isLoggedOut(err)
}

// slot holds what a page shows only sometimes (a message, a form, a
// dialog) in an element that is always there. go-app diffs an element's
// children by position and leaves out what app.If does not show, so
// without it a message appearing would shift every later sibling, and
// go-app would replace them all: the table under it rebuilt, the focused
// button gone, focus lost. A slot is "display: contents" (web/app.css):
// it changes nothing of the layout.
func slot(children ...app.UI) app.UI {
	return app.Div().Class("slot").Body(children...)
}

// staleNote tells that the data shown is from the cache, and how old.
func staleNote(at time.Time) app.UI {
	return slot(app.If(!at.IsZero(), func() app.UI {
		return app.P().Class("stale").ID("stale-note").Textf("Offline — showing data loaded %s (%s).", Age(time.Now(), at), at.Local().Format("15:04:05"))
	}))
}

// errorNote shows an error message when there is one.
func errorNote(msg string) app.UI {
	return slot(app.If(msg != "", func() app.UI {
		return app.P().Class("error").Attr("role", "alert").Text(msg)
	}))
}

// loadMe hands the signed-in user to done on the UI goroutine: at once when
// it is already known, otherwise once loaded (or, offline, from the cache,
// with the time it was cached). The user is recorded in env, so that
// env.Can answers for the page's permission checks.
func loadMe(ctx app.Context, env *Env, done func(ctx app.Context, me *shared.User, loadedAt time.Time, err error)) {
	if me := env.Me(); me != nil {
		done(ctx, me, time.Time{}, nil)
		return
	}
	load(ctx, env, "me", env.API.Me, func(ctx app.Context, me *shared.User, at time.Time, err error) {
		if err == nil && env.Me() == nil {
			env.SetMe(me)
		}
		done(ctx, me, at, err)
	})
}

// formError splits the error of a form's submission into the message to
// show above the form and the per-field messages to show beside the
// inputs. Validation failures, whether found by the shared rules before
// sending or by the server, say which fields to correct.
func formError(err error) (msg string, fields map[string]string) {
	if err == nil {
		return "", nil
	}
	if fields = FieldErrors(err); len(fields) > 0 {
		if len(fields) == 1 {
			return "Please correct the highlighted field.", fields
		}
		return fmt.Sprintf("Please correct the %d highlighted fields.", len(fields)), fields
	}
	return Message(err), nil
}

// formRow lays out one labelled control of a form with its field error,
// which gets the id "<id>-error"; the control itself says it is invalid
// and points at the error (invalid).
func formRow(label, id string, control app.UI, fieldErr string) app.UI {
	return app.Div().Class("form-row").Body(
		app.Label().For(id).Text(label),
		control,
		app.If(fieldErr != "", func() app.UI {
			return app.P().Class("field-error").ID(id + "-error").Text(fieldErr)
		}),
	)
}

// invalid marks a form control whose field has an error: aria-invalid, and
// aria-describedby naming the error formRow shows under it.
func invalid[T interface{ Aria(string, any) T }](control T, id, fieldErr string) T {
	if fieldErr == "" {
		return control
	}
	return control.Aria("invalid", "true").Aria("describedby", id+"-error")
}

// successNote tells that a change was made.
func successNote(id, msg string) app.UI {
	return slot(app.If(msg != "", func() app.UI {
		return app.P().Class("success").ID(id).Attr("role", "status").Text(msg)
	}))
}

// button makes a button of type "button" (so that it never submits a
// form). go-app renders Disabled(false) as disabled="false", which a
// browser reads as disabled in the prerendered page, so the attribute is
// only set when true.
func button(id, class, text string, disabled bool, onClick app.EventHandler, scope ...any) app.HTMLButton {
	b := app.Button().Type("button").Class(class).Text(text)
	if id != "" {
		b = b.ID(id)
	}
	if disabled {
		b = b.Disabled(true)
	}
	if onClick != nil {
		b = b.OnClick(onClick, app.EventScope(scope...))
	}
	return b
}

// submitButton is the submit button of a form, disabled while busy.
func submitButton(id, text, busyText string, busy bool) app.HTMLButton {
	b := app.Button().Type("submit").Class("btn primary").ID(id)
	if busy {
		return b.Disabled(true).Text(busyText)
	}
	return b.Text(text)
}

// oldest returns the earliest non-zero time of ts, or the zero time: the
// age of the stalest cached data a page shows.
func oldest(ts ...time.Time) time.Time {
	var o time.Time
	for _, t := range ts {
		if !t.IsZero() && (o.IsZero() || t.Before(o)) {
			o = t
		}
	}
	return o
}

// when formats a moment as local date and time, "—" when unknown.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// orDash returns s, or "—" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// pageCtx is embedded by pages to keep the context go-app handed them in
// OnMount. Work that ends in ctx.Dispatch must start from it: go-app drops
// a Dispatch whose context belongs to an element no longer mounted
// (Context.Dispatch checks sourceElement.Mounted()), and the context an
// event handler gets is the clicked element's — a form, a confirmation or a
// row that the handler itself may remove. The page stays mounted while it
// is shown.
type pageCtx struct {
	ctx  app.Context
	path string // the path the page was last navigated to
}

func (p *pageCtx) mounted(ctx app.Context) { p.ctx = ctx }

// live returns the page's own context, or ctx before the page is mounted.
func (p *pageCtx) live(ctx app.Context) app.Context {
	if p.ctx.Context == nil {
		return ctx
	}
	return p.ctx
}

// navigated gives the document the page's title and, when the page was
// just reached (loaded, or navigated to from another page — not a change
// of its query), moves focus to its heading, so that keyboard and screen
// reader users start there. It reports whether the page was just reached.
func (p *pageCtx) navigated(ctx app.Context, title string) bool {
	ctx.Page().SetTitle("%s · Gatehouse", title)
	path := ""
	if u := ctx.Page().URL(); u != nil {
		path = u.Path
	}
	arrived := path != p.path
	p.path = path
	if arrived {
		focusAfterRender(ctx, pageTitleID)
	}
	return arrived
}

// pageTitle is the page's heading (#page-title): the target of focus on
// navigation, so it takes focus from the program, not from Tab.
func pageTitle(text string) app.HTMLH1 {
	return app.H1().ID(pageTitleID).TabIndex(-1).Text(text)
}

// notAllowed is what a page shows to a role that may not use it, instead
// of its controls and of the server's refusal.
func notAllowed(what string) app.UI {
	return app.Section().Class("card not-allowed").ID("not-allowed").Body(
		app.P().Textf("%s is not available for your role.", what),
		app.P().Class("muted").Body(
			app.Text("Ask an administrator if you need it. "),
			app.A().Href("/").Text("Back to the dashboard"),
		),
	)
}
