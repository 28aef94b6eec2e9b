package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// passwordForm changes the signed-in user's own password (#password-form):
// the current one, the new one twice and, for an account with a second
// factor, a code from the authenticator app in the same form — the server
// asks for it, and a second prompt would only be in the way. The profile
// shows it, and so does the panel of a user who must change a password
// someone else set. Changing it signs out the user's other sessions; this
// one stays. A plain widget (widget.go).
type passwordForm struct {
	d passwordDraft
}

// passwordDraft is what the form holds.
type passwordDraft struct {
	current, next, repeat, code string
	errs                        map[string]string
	err, msg                    string
	busy                        bool
}

// request checks the form with the shared rules, plus that the new
// password was typed the same twice and, when askCode, that a code of six
// digits is there.
func (d *passwordDraft) request(askCode bool) (shared.PasswordChange, error) {
	in := shared.PasswordChange{CurrentPassword: d.current, NewPassword: d.next}
	err := in.Validate()
	f := shared.FieldErrors{}
	if fe := FieldErrors(err); fe != nil {
		f = fe
	}
	if d.repeat != d.next {
		f.Add("repeat_password", "does not match the new password")
	}
	if askCode {
		otp, ok := sixDigits(d.code)
		switch {
		case otp == "":
			f.Add("otp", "is required: your account signs in with an authenticator app")
		case !ok:
			f.Add("otp", "must be the 6 digits your authenticator app shows")
		}
		in.OTP = otp
	}
	return in, f.Err()
}

// submit sends the change; ctx is the owner's live context.
func (f *passwordForm) submit(ctx app.Context, env *Env, askCode bool, onChanged func(app.Context)) {
	d := &f.d
	if d.busy {
		return
	}
	d.msg = ""
	in, err := d.request(askCode)
	if d.err, d.errs = formError(err); err != nil {
		focusFirstInvalid(ctx, "password-form")
		return
	}
	d.busy = true
	write(ctx, env, func(c context.Context) error { return env.API.ChangePassword(c, in) }, func(ctx app.Context, err error) {
		d.busy = false
		if d.err, d.errs = formError(err); err != nil {
			focusFirstInvalid(ctx, "password-form")
			return
		}
		// Empty the fields as they are shown, not only as the form holds
		// them: a filled-looking form would be sent again as empty.
		f.d = passwordDraft{msg: "Your password was changed. Your other sessions were signed out; this one stays signed in."}
		for _, id := range []string{"current-password", "new-password", "repeat-password", "password-code"} {
			setInputValue(id, "")
		}
		if onChanged != nil {
			onChanged(ctx)
		}
	})
}

// ui draws the form in o: heading titles it (an h2; none when empty),
// askCode adds the code's field, onChanged is called once the password
// was changed.
func (f *passwordForm) ui(o owner, env *Env, heading string, askCode bool, onChanged func(app.Context)) app.UI {
	d := &f.d
	submit := func(ctx app.Context, e app.Event) {
		e.PreventDefault()
		f.submit(o.live(ctx), env, askCode, onChanged)
	}
	return app.Form().Class("card form").ID("password-form").NoValidate(true).OnSubmit(submit).Body(
		app.If(heading != "", func() app.UI { return app.H2().Text(heading) }),
		app.P().Class("muted").Text("Changing your password signs out your other sessions."),
		errorNote(d.err),
		formRow("Current password", "current-password", invalid(app.Input().Type("password").ID("current-password").
			Attr("autocomplete", "current-password").Value(d.current).OnInput(into(&d.current)), "current-password", d.errs["current_password"]), d.errs["current_password"]),
		formRow("New password", "new-password", invalid(app.Input().Type("password").ID("new-password").
			Attr("autocomplete", "new-password").Value(d.next).OnInput(into(&d.next)), "new-password", d.errs["new_password"]), d.errs["new_password"]),
		formRow("Repeat the new password", "repeat-password", invalid(app.Input().Type("password").ID("repeat-password").
			Attr("autocomplete", "new-password").Value(d.repeat).OnInput(into(&d.repeat)), "repeat-password", d.errs["repeat_password"]), d.errs["repeat_password"]),
		slot(app.If(askCode, func() app.UI {
			return formRow("Code from your authenticator app", "password-code", invalid(app.Input().Type("text").ID("password-code").
				Attr("autocomplete", "one-time-code").Attr("inputmode", "numeric").
				Value(d.code).OnInput(into(&d.code)), "password-code", d.errs["otp"]), d.errs["otp"])
		})),
		app.Div().Class("actions").Body(submitButton("password-save", "Change password", "Changing…", d.busy)),
		successNote("password-message", d.msg),
	)
}
