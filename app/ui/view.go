package ui

import (
	"context"
	"errors"
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
// when nothing is cached is the network tried. A session that ended sends
// the app to the sign-in page.
func load[T any](ctx app.Context, env *Env, key string, fetch func(context.Context) (*T, error), done func(ctx app.Context, v *T, loadedAt time.Time, err error)) {
	if !env.Online() {
		var c T
		if at, ok := env.Cache.Get(key, &c); ok {
			done(ctx, &c, at, nil)
			return
		}
	}
	ctx.Async(func() {
		v, err := fetch(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			switch {
			case err == nil:
				env.Cache.Put(key, v)
				done(ctx, v, time.Time{}, nil)
			case isLoggedOut(err):
				env.Forget()
				ctx.Navigate("/login")
			case isNetwork(err):
				var c T
				if at, ok := env.Cache.Get(key, &c); ok {
					done(ctx, &c, at, nil)
					return
				}
				done(ctx, nil, time.Time{}, err)
			default:
				done(ctx, nil, time.Time{}, err)
			}
		})
	})
}

// write runs a change off the UI goroutine — refused at once when offline
// — and hands the outcome to done on it.
func write(ctx app.Context, env *Env, f func(context.Context) error, done func(ctx app.Context, err error)) {
	if !env.Online() {
		done(ctx, ErrOffline)
		return
	}
	ctx.Async(func() {
		err := f(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			if isLoggedOut(err) {
				env.Forget()
				ctx.Navigate("/login")
				return
			}
			if err != nil && isNetwork(err) && !env.Online() {
				err = ErrOffline
			}
			done(ctx, err)
		})
	})
}

func isLoggedOut(err error) bool { return errors.Is(err, client.ErrLoggedOut) }

// isNetwork reports whether err is a failure to reach the server rather
// than an answer from it.
func isNetwork(err error) bool {
	var e *shared.Error
	return err != nil && !errors.As(err, &e) && !isLoggedOut(err)
}

// staleNote tells that the data shown is from the cache, and how old.
func staleNote(at time.Time) app.UI {
	return app.If(!at.IsZero(), func() app.UI {
		return app.P().Class("stale").ID("stale-note").Textf("Offline — showing data loaded %s (%s).", Age(time.Now(), at), at.Local().Format("15:04:05"))
	})
}

// errorNote shows an error message when there is one.
func errorNote(msg string) app.UI {
	return app.If(msg != "", func() app.UI {
		return app.P().Class("error").Attr("role", "alert").Text(msg)
	})
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
		return "Please correct the highlighted fields.", fields
	}
	return Message(err), nil
}

// formRow lays out one labelled control of a form with its field error,
// which gets the id "<id>-error".
func formRow(label, id string, control app.UI, fieldErr string) app.UI {
	return app.Div().Class("form-row").Body(
		app.Label().For(id).Text(label),
		control,
		app.If(fieldErr != "", func() app.UI {
			return app.P().Class("field-error").ID(id + "-error").Text(fieldErr)
		}),
	)
}

// successNote tells that a change was made.
func successNote(id, msg string) app.UI {
	return app.If(msg != "", func() app.UI {
		return app.P().Class("success").ID(id).Attr("role", "status").Text(msg)
	})
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
	ctx app.Context
}

func (p *pageCtx) mounted(ctx app.Context) { p.ctx = ctx }

// live returns the page's own context, or ctx before the page is mounted.
func (p *pageCtx) live(ctx app.Context) app.Context {
	if p.ctx.Context == nil {
		return ctx
	}
	return p.ctx
}
