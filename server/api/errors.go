package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"gatehouse/server/admin"
	"gatehouse/server/auth"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// httpError is an error that already knows its answer: a malformed
// request, a missing permission.
type httpError struct {
	status int
	code   string
	desc   string
}

func (e *httpError) Error() string { return e.code + ": " + e.desc }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, shared.CodeInvalidRequest, fmt.Sprintf(format, args...)}
}

const realm = `Bearer realm="gatehouse"`

// writeError answers err with the JSON error envelope. It is the one place
// where errors become statuses and codes; anything it does not recognise is
// logged and answered 500 "internal" without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := shared.Error{Code: shared.CodeInternal, Description: "internal error", Status: http.StatusInternalServerError}
	h := w.Header()
	var (
		he *httpError
		ve *shared.ValidationError
		te *auth.ThrottledError
		be *auth.BusyError
		re *auth.RequestError
		mf *auth.MFARequiredError
		su *auth.StepUpError
		ce *auth.CodeError
		me *http.MaxBytesError
		de *admin.DeniedError
	)
	switch {
	case errors.As(err, &he):
		e.Status, e.Code, e.Description = he.status, he.code, he.desc
	case errors.As(err, &ve):
		e.Status, e.Code, e.Description, e.Fields = http.StatusUnprocessableEntity, shared.CodeValidationFailed, "some fields are not valid", ve.Fields
	case errors.As(err, &mf):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeMFARequired, "the password is right; now enter the code from your authenticator app, or a recovery code"
		e.MFAToken, e.MFAExpiresIn = mf.Token, seconds(mf.ExpiresIn)
		h.Set("WWW-Authenticate", realm)
	case errors.As(err, &su):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInsufficientUserAuth, "this action needs a recent sign-in: confirm your password"
		e.MaxAge = seconds(su.MaxAge)
		h.Set("WWW-Authenticate", fmt.Sprintf(`%s, error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age=%d`, realm, e.MaxAge))
	case errors.Is(err, auth.ErrEnrollmentRequired):
		e.Status, e.Code, e.Description = http.StatusForbidden, shared.CodeMFAEnrollmentRequired, "set up an authenticator app before anything else"
	case errors.Is(err, auth.ErrPasswordChangeRequired):
		e.Status, e.Code, e.Description = http.StatusForbidden, shared.CodePasswordChangeRequired, "choose a new password before anything else"
	case errors.Is(err, auth.ErrWrongPassword):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInvalidGrant, "the password is wrong"
		e.Fields = shared.FieldErrors{"password": "is not the right password"}
		h.Set("WWW-Authenticate", realm)
	case errors.Is(err, auth.ErrBadCode):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInvalidGrant, err.Error()
		if errors.As(err, &ce) {
			e.AttemptsLeft = &ce.Left
		}
		// Name the input that was wrong, as a wrong password is named: the
		// client puts the message beside it.
		field := "otp"
		if r.PostForm.Get("recovery_code") != "" {
			field = "recovery_code"
		}
		e.Fields = shared.FieldErrors{field: "is wrong or was used already"}
		h.Set("WWW-Authenticate", realm)
	case errors.Is(err, auth.ErrBadChallenge):
		e.Status, e.Code, e.Description = http.StatusBadRequest, shared.CodeInvalidGrant, "the sign-in expired or is unknown; sign in again"
	case errors.Is(err, auth.ErrMFAOff):
		e.Status, e.Code, e.Description = http.StatusForbidden, shared.CodeInsufficientScope, "multi-factor authentication is turned off on this server"
	case errors.As(err, &re):
		e.Status, e.Code, e.Description = http.StatusBadRequest, shared.CodeInvalidRequest, re.Reason
	case errors.As(err, &be):
		e.Status, e.Code, e.Description = http.StatusServiceUnavailable, shared.CodeUnavailable, "the server is busy checking passwords; try again in a moment"
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(be.RetryAfter.Seconds()))))
	case errors.As(err, &me):
		e.Status, e.Code, e.Description = http.StatusRequestEntityTooLarge, shared.CodeInvalidRequest, "request body larger than 1 MiB"
	case errors.Is(err, auth.ErrNoToken):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInvalidToken, "an access token is required"
		h.Set("WWW-Authenticate", realm)
	case errors.Is(err, auth.ErrInvalidToken):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInvalidToken, "the access token is invalid or expired, or its session has ended"
		if e.Reason = auth.EndReason(err); endings[e.Reason] != "" {
			e.Description = endings[e.Reason]
		}
		h.Set("WWW-Authenticate", realm+`, error="invalid_token"`)
	case errors.Is(err, auth.ErrInactive):
		e.Status, e.Code, e.Description = http.StatusForbidden, shared.CodeInactiveUser, "this account is disabled"
		e.Reason = shared.RevokedUserDisabled
	case errors.Is(err, auth.ErrBadCredentials):
		e.Status, e.Code, e.Description = http.StatusUnauthorized, shared.CodeInvalidGrant, "wrong username or password"
		h.Set("WWW-Authenticate", realm)
	case errors.Is(err, auth.ErrBadRefresh):
		e.Status, e.Code, e.Description = http.StatusBadRequest, shared.CodeInvalidGrant, "the refresh token is invalid, expired or revoked; sign in again"
		if e.Reason = auth.EndReason(err); endings[e.Reason] != "" {
			e.Description = "the refresh token is refused: " + endings[e.Reason]
		}
	case errors.As(err, &te):
		e.Status, e.Code, e.Description = http.StatusTooManyRequests, shared.CodeTooManyAttempts, "too many failed sign-in attempts; try again later"
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds()))))
	case errors.As(err, &de):
		e.Status, e.Code, e.Description = http.StatusForbidden, shared.CodeInsufficientScope, de.Reason
		h.Set("WWW-Authenticate", realm+`, error="insufficient_scope"`)
	case errors.Is(err, store.ErrNotFound):
		e.Status, e.Code, e.Description = http.StatusNotFound, shared.CodeNotFound, "no such record"
	case errors.Is(err, store.ErrConflict):
		e.Status, e.Code, e.Description = http.StatusConflict, shared.CodeConflict, "that username is taken"
	case errors.Is(err, auth.ErrFactorRequired):
		e.Status, e.Code, e.Description = http.StatusConflict, shared.CodeConflict, "your role must keep two-step verification; to move it, set it up on a new phone"
	case errors.Is(err, admin.ErrLastAdmin):
		e.Status, e.Code, e.Description = http.StatusConflict, shared.CodeConflict, "the last enabled admin can be neither disabled, demoted nor deleted"
	case errors.Is(err, store.ErrUnavailable):
		e.Status, e.Code, e.Description = http.StatusServiceUnavailable, shared.CodeUnavailable, "the database is unavailable; try again shortly"
		h.Set("Retry-After", "5")
	}
	level := slog.LevelDebug
	switch {
	case e.Status >= 500:
		level = slog.LevelError
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusTooManyRequests:
		level = slog.LevelInfo
	}
	s.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "code", e.Code, "err", err)
	writeJSON(w, e.Status, &e)
}

// endings describe the reasons a session ends (shared.Error.Reason) in the
// error_description of a refused token.
var endings = map[string]string{
	shared.EndedTokenExpired:     "the access token has expired",
	shared.EndedSessionExpired:   "the session has reached its end; sign in again",
	shared.RevokedLogout:         "the session was signed out",
	shared.RevokedByUser:         "the session was signed out from another session of the same account",
	shared.RevokedByAdmin:        "the session was revoked by an administrator",
	shared.RevokedByManager:      "the session was revoked by a manager",
	shared.RevokedPasswordGuess:  "the session was ended after too many wrong current passwords",
	shared.RevokedPasswordChange: "the password was changed, which ended this session",
	shared.RevokedPasswordReset:  "the password was reset by an administrator, which ended this session",
	shared.RevokedUserDisabled:   "the account was disabled",
	shared.RevokedUserDeleted:    "the account was deleted",
	shared.RevokedRefreshReuse:   "the session was ended because its refresh token was used twice",
	shared.RevokedMFAReset:       "two-step verification was reset by an administrator, which ended this session",
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}
