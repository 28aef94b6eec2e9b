package ui

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// totpEnrol sets up an authenticator app (#mfa-enrol): start asks the
// server for a new secret (client.StartTOTP), shown as the server's QR
// code (#mfa-qr), as text to type (#mfa-secret, in groups of four that
// copy as one word) and as an otpauth:// link for an app on the same
// device; then it takes the app's first code (#mfa-confirm-code) and
// confirms the enrolment (client.ConfirmTOTP), handing the recovery codes
// on. The secret lives in memory only, and is dropped once confirmed. A
// plain widget (widget.go) of twoStep and AccountSetup.
type totpEnrol struct {
	en       *shared.TOTPEnrolment
	code     string
	started  bool
	starting bool
	busy     bool
	again    bool // a new phone replaces the app in use, which works until confirmed
	err      string
	errs     map[string]string
}

// start asks for a new secret; ctx is the owner's live context.
func (t *totpEnrol) start(ctx app.Context, env *Env) {
	if t.starting {
		return
	}
	*t = totpEnrol{started: true, starting: true, again: t.again}
	var en *shared.TOTPEnrolment
	write(ctx, env, func(c context.Context) (err error) {
		en, err = env.API.StartTOTP(t.why(c))
		return err
	}, func(ctx app.Context, err error) {
		t.starting = false
		if err != nil {
			// The button that started it is gone: the focus goes to
			// the one that tries again, under the message.
			t.err = Message(err)
			focusAfterRender(ctx, "mfa-start")
			return
		}
		t.en = en
		focusAfterRender(ctx, "mfa-enrol-title")
	})
}

// why says, for a set-up on a new phone (which needs a recent sign-in,
// asked for at start and again at the confirmation if that was long
// after), what the password is asked for.
func (t *totpEnrol) why(c context.Context) context.Context {
	if !t.again {
		return c
	}
	return forStepUp(c, "set up two-step verification on a new phone")
}

func (t *totpEnrol) confirm(ctx app.Context, env *Env, onEnrolled func(app.Context, []string)) {
	if t.busy || t.en == nil {
		return
	}
	otp, ok := sixDigits(t.code)
	if !ok {
		t.err, t.errs = formError(&shared.ValidationError{Fields: shared.FieldErrors{"otp": "must be the 6 digits your authenticator app shows"}})
		focusFirstInvalid(ctx, "mfa-confirm-form")
		return
	}
	t.busy = true
	var codes []string
	write(ctx, env, func(c context.Context) (err error) {
		codes, err = env.API.ConfirmTOTP(t.why(c), otp)
		return err
	}, func(ctx app.Context, err error) {
		t.busy = false
		// A code the server saw is spent or wrong; one that never reached
		// it (offline, the step-up given up) stays as typed.
		if !isNetwork(err) && !errors.Is(err, ErrStepUpDeclined) {
			t.code = ""
			setInputValue("mfa-confirm-code", "")
		}
		if t.err, t.errs = formError(err); err != nil {
			focusFirstInvalid(ctx, "mfa-confirm-form")
			refocusAfterDecline(ctx, err, "mfa-confirm")
			return
		}
		*t = totpEnrol{} // the secret is in the app now, and nowhere here
		if onEnrolled != nil {
			onEnrolled(ctx, codes)
		}
	})
}

// ui draws the set-up, in o. onEnrolled gets the ten recovery codes, to
// show once; onCancel drops the set-up, and is nil when it cannot be
// dropped (the policy requires a second factor).
func (t *totpEnrol) ui(o owner, env *Env, onEnrolled func(app.Context, []string), onCancel func(app.Context)) app.UI {
	start := func(ctx app.Context, e app.Event) { t.start(o.live(ctx), env) }
	var cancel app.UI
	if onCancel != nil {
		cancel = button("mfa-cancel", "btn", "Cancel", t.busy, func(ctx app.Context, e app.Event) {
			if !t.busy {
				*t = totpEnrol{}
				onCancel(o.live(ctx))
			}
		})
	}
	var body app.UI
	switch {
	case t.starting:
		body = app.P().Class("muted").Attr("role", "status").Text("Preparing a key for your authenticator app…")
	case t.en == nil:
		label := "Set up"
		if t.started {
			label = "Try again"
		}
		body = app.Div().Body(
			errorNote(t.err),
			app.Div().Class("actions").Body(button("mfa-start", "btn primary", label, false, start), cancel),
		)
	default:
		body = t.steps(o, env, onEnrolled, cancel)
	}
	return app.Div().Class("mfa-enrol").ID("mfa-enrol").Body(body)
}

// steps are the three steps of setting up the app.
func (t *totpEnrol) steps(o owner, env *Env, onEnrolled func(app.Context, []string), cancel app.UI) app.UI {
	en := t.en
	confirm := func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		t.confirm(o.live(ctx), env, onEnrolled)
	}
	title, turnOn := "Set up your authenticator app", "Turn on"
	var keeps app.UI
	if t.again {
		title, turnOn = "Set up your new phone", "Switch to this app"
		keeps = app.P().Class("muted").ID("mfa-keeps").Text("Until you finish, the app you use now keeps working. Once you switch, its codes and your recovery codes stop working, and you get new recovery codes.")
	}
	return app.Div().Class("mfa-steps").Body(
		app.H3().ID("mfa-enrol-title").TabIndex(-1).Text(title),
		keeps,
		app.P().Text("1. Open an authenticator app on your phone (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis) and scan this code:"),
		app.Img().Class("qr").ID("mfa-qr").Src("%s", en.QR).Alt("QR code that adds Gatehouse to an authenticator app"),
		app.P().Text("2. Or, if you cannot scan it, type this key into the app:"),
		secretText(en.Secret),
		// On a phone, which cannot scan its own screen, this is the way:
		// a button's size, not a line of small print.
		app.A().Class("btn").ID("mfa-uri").Href("%s", en.URI).Text("Open in an authenticator app on this device"),
		app.Form().ID("mfa-confirm-form").NoValidate(true).OnSubmit(confirm).Body(
			errorNote(t.err),
			formRow("3. Enter the 6-digit code the app now shows", "mfa-confirm-code", invalid(app.Input().Type("text").ID("mfa-confirm-code").
				Attr("autocomplete", "one-time-code").Attr("inputmode", "numeric").
				Value(t.code).OnInput(into(&t.code)), "mfa-confirm-code", t.errs["otp"]), t.errs["otp"]),
			app.Div().Class("actions").Body(submitButton("mfa-confirm", turnOn, "Checking…", t.busy), cancel),
		),
	)
}

// secretText shows a base32 secret in groups of four for reading aloud or
// typing, as elements spaced by the style sheet (inline blocks, so that a
// phone may wrap between them): selected and copied, it is one word
// again, and its text is the secret itself.
func secretText(secret string) app.UI {
	var groups []app.UI
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, app.Span().Text(secret[i:min(i+4, len(secret))]))
	}
	return app.Code().Class("secret").ID("mfa-secret").Body(groups...)
}
