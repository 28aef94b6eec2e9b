package auth

import (
	"errors"
	"sync/atomic"
)

// Counts are how sign-ins and refreshes ended since the service started,
// for metrics.
type Counts struct {
	// Sign-ins: a session opened; a wrong username or password (or a
	// disabled user); refused while locked out; refused because the
	// server was too busy hashing; refused as malformed input.
	SignInOK, SignInFailed, SignInThrottled, SignInBusy, SignInRefused int64
	// Refreshes: rotated; answered inside the grace window; reuse
	// detected (the session revoked); refused otherwise.
	RefreshRotated, RefreshGrace, RefreshReuse, RefreshRefused int64
}

// counters are the atomic cells behind Counts.
type counters struct {
	signInOK, signInFailed, signInThrottled, signInBusy, signInRefused atomic.Int64
	refreshRotated, refreshGrace, refreshReuse, refreshRefused         atomic.Int64
}

// Counts returns the service's counts so far.
func (s *Service) Counts() Counts {
	c := &s.counters
	return Counts{
		SignInOK: c.signInOK.Load(), SignInFailed: c.signInFailed.Load(), SignInThrottled: c.signInThrottled.Load(),
		SignInBusy: c.signInBusy.Load(), SignInRefused: c.signInRefused.Load(),
		RefreshRotated: c.refreshRotated.Load(), RefreshGrace: c.refreshGrace.Load(),
		RefreshReuse: c.refreshReuse.Load(), RefreshRefused: c.refreshRefused.Load(),
	}
}

// countSignIn counts how a sign-in ended.
func (c *counters) countSignIn(err error) {
	var (
		te *ThrottledError
		be *BusyError
		re *RequestError
	)
	switch {
	case err == nil:
		c.signInOK.Add(1)
	case asErr(err, &te):
		c.signInThrottled.Add(1)
	case asErr(err, &be):
		c.signInBusy.Add(1)
	case asErr(err, &re):
		c.signInRefused.Add(1)
	case isErr(err, ErrBadCredentials), isErr(err, ErrInactive):
		c.signInFailed.Add(1)
	}
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
func isErr(err, target error) bool             { return errors.Is(err, target) }
