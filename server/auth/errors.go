package auth

import (
	"errors"
	"fmt"
	"time"
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
