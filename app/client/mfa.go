package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"gatehouse/shared"
)

// MFARequiredError is the answer to a right password of a user with a
// second factor: finish the sign-in with LoginMFA (or LoginRecovery),
// passing Token, within ExpiresIn. It wraps the server's *shared.Error.
type MFARequiredError struct {
	Token     string
	ExpiresIn time.Duration
	Err       *shared.Error
}

func (e *MFARequiredError) Error() string { return e.Err.Error() }
func (e *MFARequiredError) Unwrap() error { return e.Err }

// StepUpRequiredError says that the action needs a sign-in at most MaxAge
// old (RFC 9470): Reauth, then retry — or set Client.Reauthenticate (or
// Client.StepUp) and the client does both. It wraps the server's
// *shared.Error.
type StepUpRequiredError struct {
	MaxAge time.Duration
	Err    *shared.Error
}

func (e *StepUpRequiredError) Error() string { return e.Err.Error() }
func (e *StepUpRequiredError) Unwrap() error { return e.Err }

// Errors of restricted sessions: the session may do nothing but enrol a
// second factor (StartTOTP, ConfirmTOTP), or change the password
// (ChangePassword). Returned errors match them with errors.Is and wrap the
// server's *shared.Error.
var (
	ErrEnrollmentRequired     = errors.New("client: a second factor must be enrolled first")
	ErrPasswordChangeRequired = errors.New("client: the password must be changed first")
)

// restricted is a *shared.Error that also matches one of the sentinels.
type restricted struct {
	kind error
	err  *shared.Error
}

func (r *restricted) Error() string   { return r.err.Error() }
func (r *restricted) Unwrap() []error { return []error{r.kind, r.err} }

// typed turns the server's envelope into the client's typed errors where
// one exists.
func typed(e *shared.Error) error {
	switch e.Code {
	case shared.CodeMFARequired:
		return &MFARequiredError{Token: e.MFAToken, ExpiresIn: time.Duration(e.MFAExpiresIn) * time.Second, Err: e}
	case shared.CodeInsufficientUserAuth:
		return &StepUpRequiredError{MaxAge: time.Duration(e.MaxAge) * time.Second, Err: e}
	case shared.CodeMFAEnrollmentRequired:
		return &restricted{ErrEnrollmentRequired, e}
	case shared.CodePasswordChangeRequired:
		return &restricted{ErrPasswordChangeRequired, e}
	}
	return e
}

// Code is a second factor given at sign-in: a TOTP code from an
// authenticator app, or one of the recovery codes.
type Code struct {
	OTP      string
	Recovery string
}

// LoginMFA finishes a sign-in answered *MFARequiredError with a code, and
// stores the access token. A wrong code is a *shared.Error 401
// invalid_grant, and the same token may be tried again (a few times).
func (c *Client) LoginMFA(ctx context.Context, token string, code Code) (*shared.TokenResponse, error) {
	form := url.Values{"grant_type": {shared.GrantMFAOTP}, "mfa_token": {token}}
	if code.Recovery != "" {
		form.Set("recovery_code", code.Recovery)
	} else {
		form.Set("otp", code.OTP)
	}
	return c.grant(ctx, form)
}

// Reauth confirms the password (and, for a user with a second factor, a
// TOTP code) to refresh the session's sign-in time, as sensitive actions
// need (POST /api/reauth), and stores the fresh access token.
func (c *Client) Reauth(ctx context.Context, password, otp string) error {
	form := url.Values{"password": {password}}
	if otp != "" {
		form.Set("otp", otp)
	}
	_, err := c.reauth(ctx, form)
	return err
}

// ReauthRecovery is Reauth for one who cannot reach the authenticator app:
// the password and one of the recovery codes, which is spent. It returns
// how many recovery codes remain (0 also for an account without a second
// factor, which needs no code and has none).
func (c *Client) ReauthRecovery(ctx context.Context, password, recoveryCode string) (left int, err error) {
	tr, err := c.reauth(ctx, url.Values{"password": {password}, "recovery_code": {recoveryCode}})
	if err != nil || tr.RecoveryCodesLeft == nil {
		return 0, err
	}
	return *tr.RecoveryCodesLeft, nil
}

// reauth posts form to /api/reauth and stores the answer's access token.
func (c *Client) reauth(ctx context.Context, form url.Values) (*shared.TokenResponse, error) {
	tr := new(shared.TokenResponse)
	err := c.do(ctx, &request{method: http.MethodPost, path: shared.PathReauth, body: []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded", auth: true, out: tr})
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("client: POST %s: the answer has no access_token", shared.PathReauth)
	}
	c.mu.Lock()
	c.Tokens.SetToken(tr.AccessToken)
	c.reauths++
	c.mu.Unlock()
	return tr, nil
}

// StartTOTP begins enrolling an authenticator app: show the QR code (or the
// secret) and ask for the first code (ConfirmTOTP).
func (c *Client) StartTOTP(ctx context.Context) (*shared.TOTPEnrolment, error) {
	return callFor[shared.TOTPEnrolment](ctx, c, http.MethodPost, shared.PathMeTOTP, nil, nil)
}

// ConfirmTOTP completes the enrolment with the app's first code and
// returns the recovery codes, which are shown this once.
func (c *Client) ConfirmTOTP(ctx context.Context, otp string) ([]string, error) {
	rc, err := callFor[shared.RecoveryCodes](ctx, c, http.MethodPost, shared.PathMeTOTPConfirm, nil, shared.TOTPConfirm{OTP: otp})
	if err != nil {
		return nil, err
	}
	return rc.Codes, nil
}

// RemoveMFA removes one's own second factor (it needs a recent sign-in).
func (c *Client) RemoveMFA(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, shared.PathMeMFA, nil, nil, nil)
}

// NewRecoveryCodes replaces one's recovery codes (it needs a recent
// sign-in) and returns the new ones.
func (c *Client) NewRecoveryCodes(ctx context.Context) ([]string, error) {
	rc, err := callFor[shared.RecoveryCodes](ctx, c, http.MethodPost, shared.PathMeRecovery, nil, nil)
	if err != nil {
		return nil, err
	}
	return rc.Codes, nil
}

// ResetMFA removes another user's second factor (users:write, a recent
// sign-in) and signs them out.
func (c *Client) ResetMFA(ctx context.Context, userID int64) error {
	return c.call(ctx, http.MethodDelete, userPath(userID)+"/mfa", nil, nil, nil)
}

// LiftLockout clears another user's sign-in lockouts (users:write, a
// recent sign-in).
func (c *Client) LiftLockout(ctx context.Context, userID int64) error {
	return c.call(ctx, http.MethodDelete, userPath(userID)+"/lockout", nil, nil, nil)
}
