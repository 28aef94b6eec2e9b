package ui

import (
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// What a signed-in user must do before anything else. Who-am-I says it
// (shared.User's MustChangePassword and MustEnrollMFA), loaded when signing
// in and whenever the frame mounts or the tab regains focus; a 403
// password_change_required or mfa_enrollment_required met by any call —
// say, the policy tightened under a live session — says it too
// (noteRestriction). The frame then shows AccountSetup instead of the page,
// and no navigation, until it is done.

// restriction is what the signed-in user must do first.
type restriction int

const (
	unrestricted       restriction = iota
	mustChangePassword             // someone else set the password
	mustEnroll                     // the MFA policy requires a second factor
)

// restrictionOf returns what me must do first; a password change comes
// before enrolling, as the server has it.
func restrictionOf(me *shared.User) restriction {
	switch {
	case me == nil:
		return unrestricted
	case me.MustChangePassword:
		return mustChangePassword
	case me.MustEnrollMFA:
		return mustEnroll
	}
	return unrestricted
}

// noteRestriction records in the signed-in user a restriction that err
// (of any call) reveals, so that the frame leads to what lifts it, and
// loads who-am-I again to confirm. It reports whether err was one.
func noteRestriction(ctx app.Context, env *Env, err error) bool {
	pw, enrol := errors.Is(err, client.ErrPasswordChangeRequired), errors.Is(err, client.ErrEnrollmentRequired)
	if !pw && !enrol {
		return false
	}
	amendMe(env, func(u *shared.User) {
		u.MustChangePassword = u.MustChangePassword || pw
		u.MustEnrollMFA = u.MustEnrollMFA || enrol
	})
	refreshMe(ctx, env)
	return true
}

// AccountSetup is what the frame shows instead of the page while the
// signed-in user must do something first (#account-setup): choose a new
// password (passwordForm, with the code when the account has a second
// factor), then, when the policy requires one, set up an authenticator app
// (totpEnrol) and save the recovery codes. It stays until that is done —
// even when who-am-I, asked meanwhile, says the restriction is lifted, as
// the recovery codes must still be saved — and then calls OnDone. Signing
// out stays in the frame.
type AccountSetup struct {
	app.Compo

	Env *Env
	// OnOpen is called once the panel is on the page, OnDone once what
	// had to be done is.
	OnOpen, OnDone func(app.Context)

	pw    passwordForm
	enrol totpEnrol
	codes recoveryCodes // until saved
	pageCtx
}

// OnMount tells the frame that the panel is open, names the page, and
// starts the set-up when that is what is required.
func (s *AccountSetup) OnMount(ctx app.Context) {
	s.mounted(ctx)
	s.OnNav(ctx)
	if s.OnOpen != nil {
		s.OnOpen(ctx)
	}
	s.startEnrol(ctx)
}

// startEnrol asks for the authenticator app's key, when the account must
// set one up and it was not asked yet.
func (s *AccountSetup) startEnrol(ctx app.Context) {
	if restrictionOf(s.Env.Me()) == mustEnroll && !s.enrol.started {
		s.enrol.start(s.live(ctx), s.Env)
	}
}

// OnNav gives the document the panel's title: it replaces the page.
func (s *AccountSetup) OnNav(ctx app.Context) {
	ctx.Page().SetTitle("%s · Gatehouse", s.title(restrictionOf(s.Env.Me())))
}

func (s *AccountSetup) title(r restriction) string {
	switch {
	case s.codes.codes != nil:
		return "Save your recovery codes"
	case r == mustChangePassword:
		return "Choose a new password"
	case r == mustEnroll:
		return "Set up two-step verification"
	}
	return "Your account is ready"
}

func (s *AccountSetup) passwordChanged(ctx app.Context) {
	amendMe(s.Env, func(u *shared.User) { u.MustChangePassword = false })
	s.next(ctx)
}

func (s *AccountSetup) enrolled(ctx app.Context, codes []string) {
	username := ""
	if me := s.Env.Me(); me != nil {
		username = me.Username
	}
	s.codes.show(ctx, codes, username)
	amendMe(s.Env, func(u *shared.User) { u.MFA, u.MustEnrollMFA = true, false })
	s.OnNav(ctx)
}

func (s *AccountSetup) saved(ctx app.Context) {
	s.codes = recoveryCodes{}
	s.next(ctx)
}

// next goes on to what remains to be done, or ends.
func (s *AccountSetup) next(ctx app.Context) {
	ctx = s.live(ctx)
	if restrictionOf(s.Env.Me()) == unrestricted {
		s.done(ctx)
		return
	}
	s.OnNav(ctx)
	focusAfterRender(ctx, pageTitleID)
	s.startEnrol(ctx)
}

func (s *AccountSetup) done(ctx app.Context) {
	if s.OnDone != nil {
		s.OnDone(s.live(ctx))
	}
}

func (s *AccountSetup) doneClick(ctx app.Context, e app.Event) { s.done(ctx) }

// Render draws the step the account is at.
func (s *AccountSetup) Render() app.UI {
	me := s.Env.Me()
	r := restrictionOf(me)
	var says string
	var step app.UI
	switch {
	case s.codes.codes != nil:
		says, step = "Two-step verification is on. One more thing before you go on:", s.codes.ui(s, s.saved)
	case r == mustChangePassword:
		says = "An administrator set your password. Choose one that only you know before you go on."
		step = s.pw.ui(s, s.Env, "", me.MFA, s.passwordChanged)
	case r == mustEnroll:
		says = "This server asks your account to sign in in two steps: your password, then a code " +
			"from an authenticator app on your phone. Set it up before you go on; it takes a minute."
		step = s.enrol.ui(s, s.Env, s.enrolled, nil)
	default:
		says, step = "Nothing more is needed.", button("setup-continue", "btn primary", "Continue", false, s.doneClick)
	}
	return app.Section().Class("card account-setup").ID("account-setup").Body(pageTitle(s.title(r)), app.P().Text(says), step)
}
