package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The sign-in panel of the users page (#user-security), beside the form
// editing a user: whether they sign in with two-step verification, a
// button resetting it when they do (after a confirmation), and one lifting
// the lockouts that failed sign-ins put on their account. Both take effect
// at once rather than with Save, need users:write, a role not below theirs
// (the server's rank rule; its refusal is shown here) and a recent
// sign-in (the step-up dialog asks for the password). Nobody resets their
// own factor here: the profile does that without signing them out.

// What the panel is doing (editDraft.secBusy): its button says so,
// disabled, until the answer comes — on a slow network, or while the
// password is asked.
const (
	secResetting = "Resetting…"
	secLifting   = "Lifting…"
)

// secLabel is the label of the panel's button for doing, idle unless the
// panel is doing that.
func (d *editDraft) secLabel(doing, idle string) string {
	if d.secBusy == doing {
		return doing
	}
	return idle
}

func (u *Users) signInPanel() app.UI {
	d := &u.edit
	t := u.user(d.id)
	mfa := t != nil && t.MFA
	own := false
	if me := u.Env.Me(); me != nil {
		own = me.ID == d.id
	}
	return app.Section().Class("card signin-panel").ID("user-security").Aria("labelledby", "user-security-title").Body(
		app.H2().ID("user-security-title").TabIndex(-1).Textf("Signing in: %s", d.username),
		app.P().ID("user-mfa-state").Body(app.Text("Two-step verification: "), mfaState(mfa)),
		successNote("user-security-message", d.secMsg),
		errorNote(d.secErr),
		slot(app.If(!own, func() app.UI {
			return app.Div().Class("actions").Body(
				slot(app.If(mfa, func() app.UI {
					return button("reset-mfa", "btn danger", d.secLabel(secResetting, "Reset two-step verification"), d.secBusy != "", u.askResetMFA)
				})),
				button("lift-lockout", "btn", d.secLabel(secLifting, "Lift sign-in lockout"), d.secBusy != "", u.liftLockout),
			)
		})),
		app.P().Class("muted").Body(app.If(own,
			func() app.UI { return app.Text("Your own two-step verification is on your profile.") },
		).Else(
			func() app.UI {
				return app.Text("These take effect at once, without Save, and ask for your password if you signed in a while ago.")
			},
		)),
	)
}

// askResetMFA asks before resetting the two-step verification of the user
// being edited.
func (u *Users) askResetMFA(ctx app.Context, e app.Event) {
	d := &u.edit
	if d.secBusy != "" {
		return
	}
	id, name := d.id, d.username
	u.confirm("Reset the two-step verification of "+name+"? They are signed out everywhere and sign in with their password alone until they set it up again.",
		"Reset", func(ctx app.Context) { u.resetMFA(ctx, id, name) })
}

func (u *Users) resetMFA(ctx app.Context, id int64, name string) {
	d := &u.edit
	d.secBusy, d.secMsg, d.secErr = secResetting, "", ""
	ctx, env := u.live(ctx), u.Env
	write(ctx, env, func(c context.Context) error {
		return env.API.ResetMFA(forStepUp(c, "reset the two-step verification of "+name), id)
	}, func(ctx app.Context, err error) {
		if d.id != id {
			return // the form closed or moved on meanwhile
		}
		d.secBusy = ""
		if err != nil {
			d.secErr = Message(err)
			refocusAfterDecline(ctx, err, "reset-mfa")
			return
		}
		d.secMsg = "The two-step verification of " + name + " was reset and they were signed out everywhere. They sign in with their password alone until they set it up again."
		focusAfterRender(ctx, "user-security-title") // the button is gone
		u.reload(ctx)
	})
}

// liftLockout clears the lockouts of the user being edited.
func (u *Users) liftLockout(ctx app.Context, e app.Event) {
	d := &u.edit
	if d.secBusy != "" {
		return
	}
	id, name := d.id, d.username
	d.secBusy, d.secMsg, d.secErr = secLifting, "", ""
	ctx, env := u.live(ctx), u.Env
	write(ctx, env, func(c context.Context) error {
		return env.API.LiftLockout(forStepUp(c, "lift the sign-in lockout of "+name), id)
	}, func(ctx app.Context, err error) {
		if d.id != id {
			return
		}
		d.secBusy = ""
		if err != nil {
			d.secErr = Message(err)
			refocusAfterDecline(ctx, err, "lift-lockout")
			return
		}
		d.secMsg = "Any lockout of " + name + "'s account after failed sign-ins was lifted: they can sign in again now."
		focusAfterRender(ctx, "lift-lockout") // disabled while it worked, it lost the focus
	})
}
