package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"gatehouse/shared"
)

// Step-up (RFC 9470) in the browser.
//
// Some changes — a role, another user's password or two-step verification,
// deleting a user, lifting a lockout, one's own factor — need a recent
// sign-in, and the API answers them 401 insufficient_user_authentication
// when it is older. The API client then calls the Env's stepUps.wait
// (Client.StepUp) off the UI goroutine, in the middle of the change: it
// opens the one question, which the StepUp widget shows over the page as
// the Reauth dialog, and blocks until it is answered. A right password
// (and code) re-authenticates the session there and then (POST
// /api/reauth), and the client sends the change again with what the page
// held; giving up fails the change with ErrStepUpDeclined, and the page
// keeps what was typed. Changes that need a step-up while the question is
// open wait for the same answer: one dialog, however many changes.

// ErrStepUpDeclined is the error of a change whose step-up the person gave
// up: nothing was changed, and the page keeps what was typed.
var ErrStepUpDeclined = errors.New("ui: the password was not confirmed")

// stepUpDeclined is what a change given up fails with: ErrStepUpDeclined,
// and the server's answer that asked for the step-up — so that the page
// treats it as an answer of the API, not as a network failure.
type stepUpDeclined struct{ answer *shared.Error }

func (e *stepUpDeclined) Error() string   { return ErrStepUpDeclined.Error() }
func (e *stepUpDeclined) Unwrap() []error { return []error{ErrStepUpDeclined, e.answer} }

func declined(maxAge time.Duration) error {
	return &stepUpDeclined{&shared.Error{Status: http.StatusUnauthorized, Code: shared.CodeInsufficientUserAuth,
		Description: "the password was not confirmed", MaxAge: int64(maxAge / time.Second)}}
}

// stepUps coordinates the step-ups of one app. Its methods are safe to
// call from any goroutine.
type stepUps struct {
	mu  sync.Mutex
	cur *stepUpAsk // the open question, if any
	// notify tells the widget showing the questions (StepUp) to draw
	// again; nil while none is on the page. host tells the widgets apart.
	notify func()
	host   uint64
	// left is how many recovery codes remain after one confirmed a
	// change, noted (by StepUp) until dismissed or until new codes make
	// it untrue; nil otherwise.
	left *int
}

// stepUpAsk is one question for the password, and the changes waiting
// for its answer.
type stepUpAsk struct {
	why     string        // why it is asked, in a sentence
	maxAge  time.Duration // how recent a sign-in the server wants
	waiters int           // the calls waiting; at 0 the question goes
	done    chan struct{} // closed once err is set
	err     error         // nil: re-authenticated; the changes are sent again
}

// genericWhy is the reason given when the change does not say, or when
// changes of several kinds wait for the same answer.
const genericWhy = "This action needs you to confirm your password."

// stepUpWhyKey is the context key of what a change is, for the question.
type stepUpWhyKey struct{}

// forStepUp returns ctx saying what the change made with it is ("change
// the role of vera"), so that a step-up it needs says "To change the role
// of vera, confirm your password."
func forStepUp(ctx context.Context, what string) context.Context {
	return context.WithValue(ctx, stepUpWhyKey{}, what)
}

// stepUpWhy is the sentence that says why the password is asked for the
// change made with ctx.
func stepUpWhy(ctx context.Context) string {
	if what, _ := ctx.Value(stepUpWhyKey{}).(string); what != "" {
		return "To " + what + ", confirm your password."
	}
	return genericWhy
}

// wait is the client's StepUp: it asks for the password — opening the
// question, or joining the one open — and returns once it is answered:
// nil when the session was re-authenticated, the reason otherwise. It
// returns early, with ctx's error, when ctx ends; the question goes when
// no call waits for it any more.
func (s *stepUps) wait(ctx context.Context, maxAge time.Duration) error {
	why := stepUpWhy(ctx)
	s.mu.Lock()
	a, changed := s.cur, false
	if a == nil {
		a = &stepUpAsk{why: why, maxAge: maxAge, done: make(chan struct{})}
		s.cur, changed = a, true
	} else if a.why != why && a.why != genericWhy {
		a.why, changed = genericWhy, true // changes of several kinds wait
	}
	a.waiters++
	notify := s.notify
	s.mu.Unlock()
	if changed && notify != nil {
		notify()
	}
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		s.leave(a)
		return fmt.Errorf("ui: waiting for the password to be confirmed: %w", ctx.Err())
	}
}

// leave is called when a call stops waiting for a; the last one to leave
// takes the question away.
func (s *stepUps) leave(a *stepUpAsk) {
	s.mu.Lock()
	a.waiters--
	last := a.waiters == 0
	s.mu.Unlock()
	if last {
		s.finish(a, context.Canceled)
	}
}

// pending returns the open question, or nil.
func (s *stepUps) pending() *stepUpAsk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// why returns why a is asked, as it stands now.
func (s *stepUps) why(a *stepUpAsk) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return a.why
}

// finish answers a, if it is still the open question, and releases the
// calls waiting for it: err nil means the session was re-authenticated.
// It reports whether a was open; later answers to it are ignored.
func (s *stepUps) finish(a *stepUpAsk, err error) bool {
	s.mu.Lock()
	if a == nil || s.cur != a {
		s.mu.Unlock()
		return false
	}
	s.cur, a.err = nil, err
	close(a.done)
	notify := s.notify
	s.mu.Unlock()
	if notify != nil {
		notify()
	}
	return true
}

// noteLeft records how many recovery codes remain after one confirmed a
// change (nil: forget it, as new codes or dismissing it do), and has the
// widget draw again.
func (s *stepUps) noteLeft(n *int) {
	s.mu.Lock()
	s.left = n
	notify := s.notify
	s.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// recoveryLeft is the count noteLeft recorded, nil when none is.
func (s *stepUps) recoveryLeft() *int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.left
}

// cancel gives up the open question, if any: signing out does.
func (s *stepUps) cancel() {
	if a := s.pending(); a != nil {
		s.finish(a, declined(a.maxAge))
	}
}

// attach makes notify the way to tell the widget on the page that the
// question opened, changed or went. The returned function detaches it,
// unless another widget attached since (pages replace each other in no
// promised order).
func (s *stepUps) attach(notify func()) (detach func()) {
	s.mu.Lock()
	s.host++
	id := s.host
	s.notify = notify
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.host == id {
			s.notify = nil
		}
		s.mu.Unlock()
	}
}
