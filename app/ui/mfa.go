package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// twoStep is the profile's "Two-step verification" section (#two-step):
// whether signing in asks for a code from an authenticator app (the
// signed-in user's mfa), and what to do about it — set it up (totpEnrol,
// then the recovery codes shown once), set it up again on a new phone
// (the old app works until the new one is confirmed), make new recovery
// codes, or turn it off (after a confirmation). The last three need a
// recent sign-in: the
// API client asks for the password again when the server says so, and
// this section only shows what fails. A plain widget (widget.go) of the
// Profile page.
type twoStep struct {
	env   *Env
	o     owner
	phase twoStepPhase
	enrol totpEnrol
	codes recoveryCodes // shown once, in memory only
	err   string
	msg   string
	busy  bool
	again bool // the set-up replaces the app in use (a new phone)
	confirmer
}

type twoStepPhase int

const (
	twoStepIdle      twoStepPhase = iota
	twoStepEnrolling              // the set-up shows
	twoStepCodes                  // recovery codes show, after enrolling
	twoStepNewCodes               // new recovery codes show
)

func (t *twoStep) setUp(ctx app.Context, e app.Event)    { t.begin(ctx, false) }
func (t *twoStep) newPhone(ctx app.Context, e app.Event) { t.begin(ctx, true) }

// begin starts the set-up: the first, or again for a new phone.
func (t *twoStep) begin(ctx app.Context, again bool) {
	t.phase, t.err, t.msg, t.again = twoStepEnrolling, "", "", again
	t.enrol.again = again
	t.enrol.start(t.o.live(ctx), t.env)
}

func (t *twoStep) cancelled(ctx app.Context) {
	t.phase = twoStepIdle
	back := "mfa-setup"
	if t.again {
		back = "mfa-new-phone"
	}
	focusAfterRender(ctx, back)
}

func (t *twoStep) enrolled(ctx app.Context, codes []string) {
	t.phase = twoStepCodes
	t.codes.show(ctx, codes, t.username())
	t.env.stepUp.noteLeft(nil) // a count of the old codes is untrue now
	amendMe(t.env, func(u *shared.User) { u.MFA, u.MustEnrollMFA = true, false })
}

// username is the signed-in user's, "" while unknown.
func (t *twoStep) username() string {
	if me := t.env.Me(); me != nil {
		return me.Username
	}
	return ""
}

func (t *twoStep) saved(ctx app.Context) {
	t.msg = "Two-step verification is on: signing in now asks for a code from your app after your password."
	switch {
	case t.phase == twoStepNewCodes:
		t.msg = "Your new recovery codes are in use; the old ones no longer work."
	case t.again:
		t.msg = "Two-step verification now uses your new phone: the old app's codes and your old recovery codes no longer work."
	}
	t.phase, t.codes, t.again = twoStepIdle, recoveryCodes{}, false
	focusAfterRender(t.o.live(ctx), "two-step-title")
}

func (t *twoStep) newCodes(ctx app.Context, e app.Event) {
	if t.busy {
		return
	}
	t.busy, t.err, t.msg = true, "", ""
	ctx, env := t.o.live(ctx), t.env
	var codes []string
	write(ctx, env, func(c context.Context) (err error) {
		codes, err = env.API.NewRecoveryCodes(forStepUp(c, "make new recovery codes"))
		return err
	}, func(ctx app.Context, err error) {
		t.busy = false
		if err != nil {
			t.err = Message(err)
			refocusAfterDecline(ctx, err, "mfa-new-codes")
			return
		}
		t.phase = twoStepNewCodes
		t.codes.show(ctx, codes, t.username())
		env.stepUp.noteLeft(nil)
	})
}

func (t *twoStep) askRemove(ctx app.Context, e app.Event) {
	t.err, t.msg = "", ""
	t.confirm("Turn off two-step verification? Signing in will ask only for your password, and your recovery codes stop working.",
		"Turn off", t.remove)
}

func (t *twoStep) remove(ctx app.Context) {
	if t.busy {
		return
	}
	t.busy = true
	ctx, env := t.o.live(ctx), t.env
	write(ctx, env, func(c context.Context) error {
		return env.API.RemoveMFA(forStepUp(c, "turn off two-step verification"))
	}, func(ctx app.Context, err error) {
		t.busy = false
		if err != nil {
			t.err = Message(err)
			refocusAfterDecline(ctx, err, "mfa-remove")
			return
		}
		amendMe(env, func(u *shared.User) { u.MFA = false })
		t.msg = "Two-step verification is off: signing in asks only for your password."
		focusAfterRender(ctx, "two-step-title")
		refreshMe(ctx, env) // the policy may require a second factor
	})
}

// amendMe changes a copy of the signed-in user, once known, and records
// it (in env and the cache): what a change just made is known before
// who-am-I is asked again.
func amendMe(env *Env, f func(*shared.User)) {
	me := env.Me()
	if me == nil {
		return
	}
	u := *me
	f(&u)
	env.SetMe(&u)
	env.Cache.Put("me", &u)
}

// ui draws the section for env's user, in o.
func (t *twoStep) ui(o owner, env *Env) app.UI {
	t.o, t.env = o, env
	me := env.Me()
	on := me != nil && me.MFA
	return app.Section().Class("card two-step").ID("two-step").Aria("labelledby", "two-step-title").Body(
		app.H2().ID("two-step-title").TabIndex(-1).Text("Two-step verification"),
		t.status(me, on),
		errorNote(t.err),
		successNote("mfa-message", t.msg),
		slot(t.body(me, on)),
		t.confirmUI(),
	)
}

func (t *twoStep) status(me *shared.User, on bool) app.UI {
	badge, class, says := "Off", "badge", " Signing in asks only for your password. With a code from an authenticator app on your phone as well, a stolen password alone is not enough."
	switch {
	case me == nil:
		return app.P().Class("muted").ID("mfa-status").Text("Loading…")
	case on && me.MFAMandatory:
		badge, class, says = "On", "badge on", " Signing in asks for your password and a code from your authenticator app. This server requires it for your role: it can move to a new phone but not be turned off."
	case on:
		badge, class, says = "On", "badge on", " Signing in asks for your password and a code from your authenticator app."
	case me.MFAOff:
		says = " Signing in asks only for your password: two-step verification is turned off on this server."
	}
	return app.P().ID("mfa-status").Body(app.Span().Class(class).Text(badge), app.Text(says))
}

func (t *twoStep) body(me *shared.User, on bool) app.UI {
	switch {
	case t.phase == twoStepEnrolling:
		return t.enrol.ui(t.o, t.env, t.enrolled, t.cancelled)
	case t.phase == twoStepCodes || t.phase == twoStepNewCodes:
		return t.codes.ui(t.o, t.saved)
	case me == nil:
		return nil
	case on:
		var newPhone, remove app.UI
		if !me.MFAOff {
			newPhone = button("mfa-new-phone", "btn", "Set up on a new phone", t.busy, t.newPhone)
		}
		if !me.MFAMandatory {
			remove = button("mfa-remove", "btn danger", "Turn off", t.busy, t.askRemove)
		}
		return app.Div().Class("actions").Body(
			newPhone,
			button("mfa-new-codes", "btn", "New recovery codes", t.busy, t.newCodes),
			remove,
		)
	case me.MFAOff:
		return nil // nothing can be set up here
	}
	return app.Div().Class("actions").Body(
		button("mfa-setup", "btn primary", "Set up", t.busy, t.setUp),
	)
}
