package auth

import (
	"errors"
	"fmt"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Errors of this package; they are wrapped with detail, test with errors.Is.
var (
	// ErrNoToken: the request carried no access token.
	ErrNoToken = errors.New("no access token")
	// ErrInvalidToken: the access token is malformed, expired, wrongly
	// signed, or its session or user is gone.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrInactive: the user is disabled.
	ErrInactive = errors.New("user is disabled")
	// ErrBadCredentials: wrong username or password (deliberately one error
	// for both).
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrBadRefresh: the refresh token is unknown, expired, revoked or was
	// reused.
	ErrBadRefresh = errors.New("invalid refresh token")
	// ErrWrongPassword: the current password given to confirm a change is
	// not the user's.
	ErrWrongPassword = errors.New("not the current password")
)

// ThrottledError says that sign-in attempts are refused for a while.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; retry in %v", e.RetryAfter.Round(time.Second))
}

// RequestError says that a request is malformed in a way the caller can
// fix; Reason is fit to show them.
type RequestError struct {
	Reason string
}

func (e *RequestError) Error() string { return e.Reason }

// Errors of multi-factor authentication and of restricted sessions.
var (
	// ErrEnrollmentRequired: the MFA policy requires the user to enrol a
	// second factor; the session may do nothing else.
	ErrEnrollmentRequired = errors.New("a second factor must be enrolled first")
	// ErrPasswordChangeRequired: someone else set the user's password; the
	// session may do nothing but change it.
	ErrPasswordChangeRequired = errors.New("the password must be changed first")
	// ErrBadCode: the one-time or recovery code is wrong (or was used).
	ErrBadCode = errors.New("wrong code")
	// ErrBadChallenge: the mfa_token is unknown, expired, used up or
	// spent: sign in again.
	ErrBadChallenge = errors.New("the sign-in expired or is unknown; sign in again")
	// ErrMFAOff: the MFA policy is off, so no factor can be enrolled.
	ErrMFAOff = errors.New("multi-factor authentication is turned off on this server")
	// ErrFactorRequired: the MFA policy requires the user's second factor,
	// so it cannot be removed (only moved to a new authenticator).
	ErrFactorRequired = errors.New("the MFA policy requires a second factor for this role")
)

// CodeError is a wrong code for an mfa_token that still takes Left more
// (0: it is spent, the sign-in starts again from the password). It is
// ErrBadCode.
type CodeError struct{ Left int }

func (e *CodeError) Error() string { return fmt.Sprintf("%v; %d tries left", ErrBadCode, e.Left) }

// Unwrap makes it ErrBadCode.
func (e *CodeError) Unwrap() error { return ErrBadCode }

// MFARequiredError answers a right password of a user with a second
// factor: the sign-in goes on with Token and a code.
type MFARequiredError struct {
	Token     string
	ExpiresIn time.Duration
}

func (e *MFARequiredError) Error() string { return "a second factor is required" }

// StepUpError says that the action needs a sign-in at most MaxAge old
// (RFC 9470): re-authenticate, then retry.
type StepUpError struct {
	MaxAge time.Duration
}

func (e *StepUpError) Error() string {
	return fmt.Sprintf("this action needs a sign-in less than %v old; confirm your password", e.MaxAge)
}

// EndedError says why a token is refused when the reason is the end of
// its session (or of the token itself): Reason is one of the shared.Revoked…
// reasons or shared.EndedTokenExpired, shared.EndedSessionExpired. It wraps
// ErrInvalidToken or ErrBadRefresh, so errors.Is still matches those.
type EndedError struct {
	Reason string
	Err    error
}

func (e *EndedError) Error() string { return e.Err.Error() + " (" + e.Reason + ")" }
func (e *EndedError) Unwrap() error { return e.Err }

// ended wraps err with the reason its session is over; an empty reason
// leaves err as it is.
func ended(reason string, err error) error {
	if reason == "" {
		return err
	}
	return &EndedError{Reason: reason, Err: err}
}

// EndReason returns the reason an EndedError in err's chain gives, or "".
func EndReason(err error) string {
	if e, ok := errors.AsType[*EndedError](err); ok {
		return e.Reason
	}
	return ""
}

// SessionEnd returns why a session that is no longer active at now ended:
// its revocation reason, or shared.EndedSessionExpired.
func SessionEnd(s *store.Session, now time.Time) string {
	if s.RevokedAt != nil {
		return s.RevokedReason
	}
	if !now.Before(s.ExpiresAt) {
		return shared.EndedSessionExpired
	}
	return ""
}
