package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"gatehouse/shared"
)

// ErrLoggedOut is returned, wrapped, when an authenticated call got a 401,
// the token could not be refreshed and the held token was cleared: the user
// must sign in again. Test for it with errors.Is. When the server refused the
// refresh, the error also wraps the server's *shared.Error (400
// invalid_grant, say), which errors.As finds.
var ErrLoggedOut = errors.New("client: logged out")

// loggedOut returns an error matching both ErrLoggedOut and cause.
func loggedOut(why string, cause error) error {
	return fmt.Errorf("%w (%s): %w", ErrLoggedOut, why, cause)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// readError reads the JSON error envelope of a non-2xx answer and closes
// the body. An answer that is not an envelope (a proxy's HTML page, say)
// becomes one with the code "http_<status>" and the status text.
func readError(resp *http.Response) *shared.Error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := new(shared.Error)
	if err := json.Unmarshal(data, e); err != nil || e.Code == "" {
		e = &shared.Error{
			Code:        fmt.Sprintf("http_%d", resp.StatusCode),
			Description: http.StatusText(resp.StatusCode),
		}
	}
	e.Status, e.RetryAfter = resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"))
	return e
}

// refreshable reports whether a 401 answer means that the access token was
// not accepted, so that a refresh may help. Other 401s, such as a wrong
// current password (invalid_grant), are returned to the caller as they are.
func refreshable(e *shared.Error) bool {
	return e.Code == shared.CodeInvalidToken || e.Code == fmt.Sprintf("http_%d", http.StatusUnauthorized)
}

// refused reports whether err is the server's refusal of a refresh token,
// after which the session is over. Network failures, timeouts, 408, 429 and
// 5xx answers are not refusals: the token is kept and the error returned, so
// that a flaky connection does not sign the user out.
func refused(err error) bool {
	var e *shared.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// EndReason returns why the session behind err is over, as the server said
// (shared.Error.Reason): one of the shared.Revoked… reasons,
// shared.EndedSessionExpired or shared.EndedTokenExpired; "" when err does
// not say. For an ErrLoggedOut the refused refresh's reason comes first and
// the refused call's second, so a token that merely expired does not hide
// a revocation found by the refresh. A 403 inactive_user is
// shared.RevokedUserDisabled.
func EndReason(err error) string {
	switch e := err.(type) {
	case nil:
		return ""
	case *shared.Error:
		if e.Reason == "" && e.Code == shared.CodeInactiveUser {
			return shared.RevokedUserDisabled
		}
		return e.Reason
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if r := EndReason(x); r != "" {
				return r
			}
		}
	case interface{ Unwrap() error }:
		return EndReason(e.Unwrap())
	}
	return ""
}
