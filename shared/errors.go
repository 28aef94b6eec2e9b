package shared

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Error codes of the JSON error envelope. invalid_grant, invalid_request and
// invalid_token follow RFC 6749 §5.2 and RFC 6750 §3.1.
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	CodeInactiveUser      = "inactive_user"
	CodeInvalidGrant      = "invalid_grant"
	CodeInvalidRequest    = "invalid_request"
	CodeUnsupportedGrant  = "unsupported_grant_type"
	CodeValidationFailed  = "validation_failed"
	CodeNotFound          = "not_found"
	CodeConflict          = "conflict"
	CodeTooManyAttempts   = "too_many_attempts"
	CodeUnavailable       = "unavailable"
	CodeInternal          = "internal"
	CodeMethodNotAllowed  = "method_not_allowed"
	// CodeMFARequired: the password was right; the sign-in goes on with a
	// second factor (the envelope carries mfa_token).
	CodeMFARequired = "mfa_required"
	// CodeInsufficientUserAuth (RFC 9470): the action needs a more recent
	// sign-in; POST /api/reauth, then retry.
	CodeInsufficientUserAuth = "insufficient_user_authentication"
	// CodeMFAEnrollmentRequired: the MFA policy requires the user to enrol
	// a second factor before anything else.
	CodeMFAEnrollmentRequired = "mfa_enrollment_required"
	// CodePasswordChangeRequired: someone else set the user's password; the
	// user must change it before anything else.
	CodePasswordChangeRequired = "password_change_required"
)

// Error is the JSON error envelope every failed API call answers with:
// {"error": CODE, "error_description": TEXT}, plus field errors when input
// failed validation, and the reason a session ended when a token was
// refused because of it. It implements error so that clients can return it.
type Error struct {
	Code        string            `json:"error"`
	Description string            `json:"error_description"`
	Fields      map[string]string `json:"fields,omitempty"`
	// MFAToken continues a sign-in answered mfa_required: send it with the
	// code (grant_type=mfa_otp). MFAExpiresIn is its lifetime in seconds.
	MFAToken     string `json:"mfa_token,omitempty"`
	MFAExpiresIn int64  `json:"mfa_expires_in,omitempty"`
	// AttemptsLeft is, on a wrong code for an mfa_token (401
	// invalid_grant), how many more codes it takes before the sign-in must
	// start again from the password.
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// MaxAge is, on insufficient_user_authentication, how recent (in
	// seconds) the sign-in must be.
	MaxAge int64 `json:"max_age,omitempty"`
	// Reason says, in a form a program can read, why the session behind a
	// refused token is over: one of the Revoked… reasons of a revoked
	// session, or EndedTokenExpired, EndedSessionExpired. It comes with 401
	// invalid_token, with 400 invalid_grant for a refused refresh token and
	// with 403 inactive_user (RevokedUserDisabled); empty when unknown.
	Reason string `json:"reason,omitempty"`

	// Status is the HTTP status the envelope arrived with. It is filled in
	// by clients and never sent.
	Status int `json:"-"`
	// RetryAfter is how long the answer's Retry-After header asked to wait
	// (429 too_many_attempts, 503 unavailable), zero without one. It is
	// filled in by clients and never sent: the header carries it.
	RetryAfter time.Duration `json:"-"`
}

// Error returns the code and description, and the field errors in a stable
// order.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if len(e.Fields) > 0 {
		b.WriteString(" (")
		b.WriteString(FieldErrors(e.Fields).String())
		b.WriteString(")")
	}
	return b.String()
}

// FieldErrors maps a field's JSON name to what is wrong with it.
type FieldErrors map[string]string

// Add records msg for field unless the field already has an error.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when there are no field errors and a *ValidationError
// otherwise.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// String lists the errors as "field: message" pairs sorted by field.
func (f FieldErrors) String() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + f[k]
	}
	return strings.Join(parts, "; ")
}

// ValidationError is returned by the Validate methods when input breaks the
// rules. The server answers it with 422 validation_failed.
type ValidationError struct {
	Fields FieldErrors
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid input: %s", e.Fields)
}
