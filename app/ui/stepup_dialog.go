package ui

import (
	"context"
	"errors"
	"fmt"

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
	// Path is the page under the widget: on the profile page, the note on
	// recovery codes left points below instead of linking to it.
	Path string

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

// Render draws the dialog while a question is open, and the note on the
// recovery codes left after one was used to confirm.
func (s *StepUp) Render() app.UI {
	return app.Div().Class("step-up").Body(slot(s.dialog()), slot(s.leftNote()))
}

// leftNote says how many recovery codes remain after one confirmed a
// change — as the sign-in does — with a way to the profile to make new
// ones, and a button to dismiss it.
func (s *StepUp) leftNote() app.UI {
	left := s.Env.stepUp.recoveryLeft()
	if left == nil || s.Env.stepUp.pending() != nil {
		return nil
	}
	says := fmt.Sprintf("You confirmed with a recovery code. You have %d recovery codes left.", *left)
	switch *left {
	case 0:
		says = "You confirmed with your last recovery code."
	case 1:
		says = "You confirmed with a recovery code. You have 1 recovery code left."
	}
	where, link := "in your profile", app.UI(app.A().Class("btn link").ID("stepup-profile").Href("/profile#two-step").Text("Your profile"))
	if s.Path == "/profile" {
		where, link = "below", nil
	}
	if *left <= fewRecoveryCodes {
		says += " Make new ones " + where + ", or set up two-step verification on a new phone."
	}
	return app.Div().Class("banner warning recovery-used").ID("stepup-recovery-left").Attr("role", "status").Body(
		app.Span().Text(says),
		slot(link),
		button("stepup-dismiss", "btn link", "Dismiss", false, func(ctx app.Context, e app.Event) { s.Env.stepUp.noteLeft(nil) }),
	)
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
			left, err := s.reauth(ctx, ans)
			if left != nil {
				env.stepUp.noteLeft(left)
			}
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

// reauth sends the answer: the password alone, with the app's code, or
// with a recovery code — and then says how many of those remain (the
// dialog closes at once, so leftNote tells).
func (s *StepUp) reauth(ctx context.Context, ans ReauthAnswer) (left *int, err error) {
	if ans.Code == "" {
		return nil, s.Env.API.Reauth(ctx, ans.Password, "")
	}
	code, err := ans.factor()
	if err != nil {
		return nil, err
	}
	if code.Recovery == "" {
		return nil, s.Env.API.Reauth(ctx, ans.Password, code.OTP)
	}
	n, err := s.Env.API.ReauthRecovery(ctx, ans.Password, code.Recovery)
	if err != nil {
		return nil, err
	}
	return &n, nil
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
