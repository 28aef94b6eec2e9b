package ui

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// StepUp shows the open step-up question of its Env (see stepUps) as the
// Reauth dialog over the page: "Confirm it's you", the password and, for
// an account with a second factor, the code. The answer is checked there
// (POST /api/reauth), so a wrong one is said in the dialog, which stays;
// a right one lets the waiting changes go again. The Frame holds one.
type StepUp struct {
	app.Compo

	Env *Env
	// Held keeps the dialog away while the password is asked because the
	// session ended: that question goes first, and its answer (a new
	// session) is the more recent sign-in anyway.
	Held bool

	detach func()
}

// OnMount makes the widget the one that shows the questions.
func (s *StepUp) OnMount(ctx app.Context) {
	s.detach = s.Env.stepUp.attach(func() { ctx.Dispatch(func(app.Context) {}) })
}

// OnDismount stops it.
func (s *StepUp) OnDismount() {
	if s.detach != nil {
		s.detach()
		s.detach = nil
	}
}

// Render draws the dialog while a question is open.
func (s *StepUp) Render() app.UI {
	return slot(s.dialog())
}

func (s *StepUp) dialog() app.UI {
	env := s.Env
	a := env.stepUp.pending()
	if a == nil || s.Held {
		return nil
	}
	username, hasCode := "", false
	if me := env.Me(); me != nil {
		username, hasCode = me.Username, me.MFA
	}
	return &Reauth{
		Username: username,
		Title:    "Confirm it's you",
		Why:      env.stepUp.why(a),
		Note:     "Changes like this need a recent sign-in. What you typed on the page is kept, and is saved once you confirm.",
		Cancel:   "Cancel",
		AskCode:  hasCode,
		Verify: func(ctx context.Context, ans ReauthAnswer) error {
			err := env.API.Reauth(ctx, ans.Password, ans.Code)
			if _, ended := sessionEnded(err); ended {
				// The change fails as the session is over, and its page
				// asks to sign in again (askAgain): a new session is
				// recent enough.
				env.stepUp.finish(a, err)
				return nil
			}
			if err != nil && ans.Code == "" && wrongCode(err) {
				return ErrCodeNeeded // the password was right
			}
			return err
		},
		OnDone:   func(app.Context) { env.stepUp.finish(a, nil) },
		OnCancel: func(app.Context) { env.stepUp.finish(a, declined(a.maxAge)) },
	}
}

// refocusAfterDecline puts focus back on the control with id (the form's
// submit button) when err says the person gave up confirming their
// password: the dialog gives focus back to what had it when it opened,
// and that was the button, disabled while busy, which a browser does not
// keep focused.
func refocusAfterDecline(ctx app.Context, err error, id string) {
	if errors.Is(err, ErrStepUpDeclined) {
		focusAfterRender(ctx, id)
	}
}
