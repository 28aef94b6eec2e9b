package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Login is the sign-in page. It says why the previous session ended
// (?ended=, a reason of client.EndReason) and, once signed in, goes back to
// the page that was open (?next=, a path of this site), or to the
// dashboard.
//
// For an account with a second factor the password is followed by a code
// (codeStep), the mfa_token that links the two steps kept in memory only.
// A sign-in with a recovery code ends on a note saying how many remain
// (the token response's recovery_codes_left), suggesting new ones when few
// do. Who signed in is loaded before leaving the page, so that the frame
// leads at once to what the account must do first (a new password, a
// second factor) instead of a page the server would refuse.
//
// The form is usable before the WebAssembly program runs: the server's
// prerendered page posts nowhere (method POST, and web/early.js stops the
// submission), early.js keeps what is typed — in memory — and marks a
// submission made meanwhile as "starting…"; once the program runs, the
// page takes the typed values, gives focus back to the field that had it
// and carries out the held submission.
type Login struct {
	app.Compo
	Env *Env

	username, password string
	busy               bool
	err                string
	empty              string // the field a sign-in was sent without, marked for screen readers
	notice             string // why the last session ended
	next               string // where to go once signed in
	// mfa is the second step, while the code is asked.
	mfa codeStep
	// recoveryLeft is, after a sign-in with a recovery code, how many
	// remain: the page says so before going on.
	recoveryLeft *int
	release      func()
	pageCtx
}

// early is what web/early.js kept of the prerendered form.
type early struct {
	username, password, focus string
	submitted                 bool
}

// takeEarly reads, and then forgets, what web/early.js kept.
func takeEarly() (e early, ok bool) {
	if !app.IsClient {
		return e, false
	}
	w := app.Window()
	v := w.Get("gatehouseEarlyLogin")
	if !v.Truthy() {
		return e, false
	}
	e = early{
		username:  v.Get("username").String(),
		password:  v.Get("password").String(),
		focus:     v.Get("focus").String(),
		submitted: v.Get("submitted").Bool(),
	}
	v.Set("password", "")
	w.Delete("gatehouseEarlyLogin")
	return e, true
}

// OnMount skips the page when already signed in, takes over the form from
// web/early.js, and follows another tab signing in.
func (l *Login) OnMount(ctx app.Context) {
	l.mounted(ctx)
	l.readQuery(ctx)
	if l.Env.SignedIn() {
		ctx.Navigate(l.destination())
		return
	}
	l.release = listen(ctx, "storage", func(ctx app.Context) {
		if l.Env.SignedIn() {
			ctx.Navigate(l.destination())
		}
	})
	focus := "username"
	if e, ok := takeEarly(); ok {
		l.username, l.password = e.username, e.password
		if e.focus == "password" || e.focus == "login-submit" {
			focus = e.focus
		}
		if e.submitted {
			l.signIn(ctx)
			return
		}
	}
	focusAfterRender(ctx, focus)
}

// OnNav sets the title and reads why the page was opened.
func (l *Login) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("Sign in · Gatehouse")
	l.readQuery(ctx)
}

func (l *Login) readQuery(ctx app.Context) {
	q := pageQuery(ctx)
	l.notice, l.next = EndedMessage(q.Get("ended")), localPath(q.Get("next"))
}

// destination is where to go once signed in.
func (l *Login) destination() string {
	if l.next != "" {
		return l.next
	}
	return "/"
}

// OnDismount stops following other tabs.
func (l *Login) OnDismount() {
	if l.release != nil {
		l.release()
	}
}

func (l *Login) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	l.signIn(ctx)
}

func (l *Login) signIn(ctx app.Context) {
	if l.busy {
		return
	}
	l.username = strings.TrimSpace(l.username)
	l.empty = ""
	if l.username == "" || l.password == "" {
		l.err, l.empty = "Enter your username and password.", map[bool]string{true: "username", false: "password"}[l.username == ""]
		focusAfterRender(ctx, l.empty)
		return
	}
	if !l.Env.Online() {
		l.err = Message(ErrOffline)
		return
	}
	l.busy, l.err = true, ""
	ctx, env, username, password := l.live(ctx), l.Env, l.username, l.password
	ctx.Async(func() {
		env.Cache.Clear() // nothing of a previous user stays
		tr, err := env.API.Login(context.Background(), username, password)
		ctx.Dispatch(func(ctx app.Context) {
			l.busy, l.password = false, ""
			// go-app updates the value attribute, not what the user
			// typed into the field; clear the field itself.
			setInputValue("password", "")
			var mfa *client.MFARequiredError
			if errors.As(err, &mfa) {
				l.notice = ""
				l.askCode(ctx, mfa.Token)
				return
			}
			if err != nil {
				l.err = signInRefused(err)
				focusAfterRender(ctx, "password")
				return
			}
			l.signedIn(ctx, tr)
		})
	})
}

// backToPassword leaves the second step, saying why ("" for nothing).
func (l *Login) backToPassword(ctx app.Context, why string) {
	l.mfa, l.err = codeStep{}, why
	focusAfterRender(l.live(ctx), "password")
}

// signedIn loads who signed in, so that every page knows at once what the
// account may and must do, and goes on: to the destination, or first to
// the note on the recovery codes left.
func (l *Login) signedIn(ctx app.Context, tr *shared.TokenResponse) {
	l.busy = true
	ctx, env := l.live(ctx), l.Env
	ctx.Async(func() {
		me, err := env.API.Me(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			l.busy, l.mfa = false, codeStep{} // the token is spent
			if err == nil {
				env.SetMe(me)
				env.Cache.Put("me", me)
			} // otherwise the frame loads it
			if tr != nil && tr.RecoveryCodesLeft != nil {
				n := *tr.RecoveryCodesLeft
				l.recoveryLeft = &n
				focusAfterRender(ctx, "login-continue")
				return
			}
			ctx.Navigate(l.destination())
		})
	})
}

// Render draws the step the sign-in is at: the password, the code, or the
// note on the recovery codes left.
func (l *Login) Render() app.UI {
	var step app.UI
	switch {
	case l.recoveryLeft != nil:
		step = recoveryLeftNote(*l.recoveryLeft, l.destination())
	case l.mfa.token != "":
		step = l.codeForm()
	default:
		step = l.passwordForm()
	}
	return app.Main().Class("login").ID("main").Body(step)
}

// passwordForm is the first step. Its method is POST and it has no action
// of its own, so that even a submission nothing intercepts never puts the
// password into an address.
func (l *Login) passwordForm() app.UI {
	return app.Form().Class("card login-card").ID("login-form").Method("post").OnSubmit(l.submit).Body(
		app.H1().ID(pageTitleID).TabIndex(-1).Text("Gatehouse"),
		app.P().Class("muted").Text("Sign in to administer users and sessions."),
		slot(app.If(l.notice != "", func() app.UI {
			return app.P().Class("notice").ID("login-notice").Attr("role", "status").Text(l.notice)
		})),
		app.Label().For("username").Text("Username"),
		invalid(app.Input().ID("username").Name("username").Type("text").Attr("autocomplete", "username").
			Attr("autocapitalize", "none").Attr("spellcheck", "false").
			Value(l.username).OnInput(l.ValueTo(&l.username)).AutoFocus(true), "login", l.emptyErr("username")),
		app.Label().For("password").Text("Password"),
		invalid(app.Input().ID("password").Name("password").Type("password").Attr("autocomplete", "current-password").
			Value(l.password).OnInput(l.ValueTo(&l.password)), "login", l.emptyErr("password")),
		slot(app.If(l.err != "", func() app.UI {
			return app.P().Class("error").ID("login-error").Attr("role", "alert").Text(l.err)
		})),
		submitButton("login-submit", "Sign in", "Signing in…", l.busy),
		app.P().Class("muted small").ID("login-status").Attr("role", "status").Aria("live", "polite"),
	)
}

// emptyErr is the error of field when a sign-in was sent without it.
func (l *Login) emptyErr(field string) string {
	if l.empty == field {
		return l.err
	}
	return ""
}

// fewRecoveryCodes is how many recovery codes left are few enough to
// suggest making new ones.
const fewRecoveryCodes = 3

// recoveryLeftNote says, after a sign-in with a recovery code, how many
// remain, and suggests new ones when few do; Continue goes to next.
func recoveryLeftNote(left int, next string) app.UI {
	says := fmt.Sprintf("You signed in with a recovery code. You have %d recovery codes left.", left)
	switch left {
	case 0:
		says = "You signed in with your last recovery code."
	case 1:
		says = "You signed in with a recovery code. You have 1 recovery code left."
	}
	var advice, newCodes app.UI
	if left <= fewRecoveryCodes {
		advice = app.P().Class("notice").ID("recovery-advice").Text("Make new recovery codes in your profile now: " +
			"without your authenticator app and without a code, you could not sign in.")
		newCodes = app.A().Class("btn").ID("login-new-codes").Href("/profile").Text("Make new recovery codes")
	}
	return app.Section().Class("card login-card").ID("login-recovery-left").Body(
		app.H1().ID(pageTitleID).TabIndex(-1).Text("You are signed in"),
		app.P().ID("recovery-left").Attr("role", "status").Text(says),
		advice,
		app.Div().Class("actions").Body(app.A().Class("btn primary").ID("login-continue").Href("%s", next).Text("Continue"), newCodes),
	)
}
