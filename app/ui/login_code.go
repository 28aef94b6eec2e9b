package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// codeStep is the second step of signing in to an account with a second
// factor (the server answered the password with mfa_required): it asks
// for the 6-digit code of the authenticator app (#login-otp) or, after
// #login-recovery, for one of the recovery codes (#login-recovery-code),
// and finishes the sign-in with them (client.LoginMFA). It is a part of
// the Login page, drawn and run by it (a plain widget, see widget.go).
//
// The mfa_token that continues the sign-in lives here, in memory only, as
// do the codes typed. The token takes a few codes: a wrong one keeps the
// step, saying how many tries are left; once it is spent or expired (400
// invalid_grant) the page goes back to the password, saying why.
type codeStep struct {
	token    string // the mfa_token of the password step's answer; "" outside the step
	recovery bool   // a recovery code instead of the app's
	code     string
	err      string
	busy     bool
}

// fieldID is the id of the field that takes the code.
func (c *codeStep) fieldID() string {
	if c.recovery {
		return "login-recovery-code"
	}
	return "login-otp"
}

// askCode opens the step with the password step's answer, the focus in
// the code's field.
func (l *Login) askCode(ctx app.Context, token string) {
	l.mfa = codeStep{token: token}
	focusAfterRender(ctx, l.mfa.fieldID())
}

// toggleCode switches between the app's code and a recovery code.
func (l *Login) toggleCode(ctx app.Context, e app.Event) {
	c := &l.mfa
	if c.busy {
		return
	}
	c.recovery, c.code, c.err = !c.recovery, "", ""
	ctx = l.live(ctx)
	id := c.fieldID()
	ctx.Defer(func(app.Context) { setInputValue(id, "") }) // the same field, another code
	focusAfterRender(ctx, id)
}

func (l *Login) backClick(ctx app.Context, e app.Event) {
	if !l.mfa.busy {
		l.backToPassword(l.live(ctx), "")
	}
}

func (l *Login) submitCode(ctx app.Context, e app.Event) {
	e.PreventDefault()
	c := &l.mfa
	if c.busy {
		return
	}
	ctx = l.live(ctx)
	code, msg := c.answer()
	if msg != "" {
		c.err = msg
		focusAfterRender(ctx, c.fieldID())
		return
	}
	if !l.Env.Online() {
		c.err = Message(ErrOffline)
		return
	}
	c.busy, c.err = true, ""
	env, token, recovery := l.Env, c.token, c.recovery
	ctx.Async(func() {
		tr, err := env.API.LoginMFA(context.Background(), token, code)
		ctx.Dispatch(func(ctx app.Context) {
			c.code = ""
			setInputValue(c.fieldID(), "")
			if err == nil {
				// Busy until the page goes on: the token is spent.
				l.signedIn(ctx, tr)
				return
			}
			c.busy = false
			msg, back := codeRefused(err, recovery)
			if back {
				l.backToPassword(ctx, msg)
				return
			}
			c.err = msg
			focusAfterRender(ctx, c.fieldID())
		})
	})
}

// answer returns the code as typed, tidied, or what is wrong with it.
func (c *codeStep) answer() (client.Code, string) {
	if c.recovery {
		rc := strings.TrimSpace(c.code)
		if rc == "" {
			return client.Code{}, "Enter one of your recovery codes."
		}
		return client.Code{Recovery: rc}, ""
	}
	otp, ok := sixDigits(c.code)
	if !ok {
		return client.Code{}, "Enter the 6 digits your authenticator app shows."
	}
	return client.Code{OTP: otp}, ""
}

// sixDigits returns a one-time code as typed without the spaces and dashes
// people copy with it ("123 456"), and whether that is six digits.
func sixDigits(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) != 6 {
		return s, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return s, false
		}
	}
	return s, true
}

// codeRefused puts a refused code into words, and says whether the sign-in
// must start again from the password: the mfa_token is spent or expired
// (400 invalid_grant), or the wrong code was its last try.
func codeRefused(err error, recovery bool) (msg string, back bool) {
	var e *shared.Error
	if !errors.As(err, &e) {
		return Message(err), false
	}
	switch {
	case e.Code == shared.CodeInvalidGrant && e.Status == http.StatusBadRequest:
		return "Signing in took too long, or had too many wrong codes. Enter your password again.", true
	case e.Code == shared.CodeInvalidGrant:
		wrong := "That code is not right."
		if recovery {
			wrong = "That recovery code is not right, or it was used already."
		}
		if e.AttemptsLeft != nil {
			switch n := *e.AttemptsLeft; n {
			case 0:
				return wrong + " That was the last try: enter your password again.", true
			case 1:
				return wrong + " 1 try left.", false
			default:
				return fmt.Sprintf("%s %d tries left.", wrong, n), false
			}
		}
		return wrong + " Try again.", false
	case e.Code == shared.CodeTooManyAttempts:
		return "Too many wrong codes. " + tryAgainIn(e.RetryAfter), false
	case e.Code == shared.CodeInactiveUser:
		return Message(err), true
	}
	return Message(err), false
}

// signInRefused puts a refused password step into words: Message's, but a
// throttled sign-in says when to try again.
func signInRefused(err error) string {
	var e *shared.Error
	if errors.As(err, &e) && e.Code == shared.CodeTooManyAttempts {
		return "Too many failed sign-in attempts. " + tryAgainIn(e.RetryAfter)
	}
	return Message(err)
}

// tryAgainIn says when to try again after waiting d (a Retry-After), as a
// sentence; without one, "in a minute".
func tryAgainIn(d time.Duration) string {
	switch {
	case d <= 0:
		return "Wait a minute and try again."
	case d < 90*time.Second:
		return "Try again in " + plural(int((d+time.Second-1)/time.Second), "second") + "."
	}
	return "Try again in " + plural(int((d+time.Minute-1)/time.Minute), "minute") + "."
}

// codeForm draws the step: one field, for the app's code or, after the
// switch, a recovery code.
func (l *Login) codeForm() app.UI {
	c := &l.mfa
	id, label, complete, keys := "login-otp", "Enter the 6-digit code from your authenticator app", "one-time-code", "numeric"
	other, otherID := "Use a recovery code instead", "login-recovery"
	if c.recovery {
		id, label, complete, keys = "login-recovery-code", "Enter one of your recovery codes (each works once)", "off", "text"
		other, otherID = "Use the code from your app instead", "login-use-app"
	}
	// A phone's keyboard must neither capitalise nor "correct" a code.
	in := app.Input().ID(id).Type("text").Attr("autocomplete", complete).Attr("inputmode", keys).
		Attr("autocapitalize", "none").Attr("spellcheck", "false").
		Value(c.code).OnInput(into(&c.code)).AutoFocus(true)
	if c.err != "" {
		in = in.Aria("invalid", "true").Aria("describedby", "login-code-error")
	}
	return app.Form().Class("card login-card").ID("login-code-form").Method("post").NoValidate(true).OnSubmit(l.submitCode).Body(
		app.H1().ID(pageTitleID).TabIndex(-1).Text("Two-step verification"),
		app.P().Class("muted").Text("Signing in as "+l.username+"."),
		app.Label().For(id).Text(label),
		in,
		slot(app.If(c.err != "", func() app.UI {
			return app.P().Class("error").ID("login-code-error").Attr("role", "alert").Text(c.err)
		})),
		submitButton("login-code-submit", "Verify", "Checking…", c.busy),
		app.Div().Class("login-links").Body(
			button(otherID, "btn link", other, c.busy, l.toggleCode),
			button("login-back", "btn link", "Back to the password", c.busy, l.backClick),
		),
	)
}
