package ui

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Message turns an error from the API client into words a person
// understands.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrOffline) {
		return "You are offline. Changes can't be saved until the connection is back."
	}
	if errors.Is(err, client.ErrLoggedOut) {
		return "Your session has ended. Please sign in again."
	}
	if errors.Is(err, ErrStepUpDeclined) {
		return "Nothing was changed: this needs you to confirm your password. Try again when you are ready."
	}
	var ve *shared.ValidationError
	if errors.As(err, &ve) {
		return "Please correct the highlighted fields."
	}
	var e *shared.Error
	if !errors.As(err, &e) {
		return "The server could not be reached. Check your connection and try again."
	}
	switch e.Code {
	case shared.CodeInvalidGrant:
		if e.Status == http.StatusUnauthorized {
			return "Wrong username or password."
		}
		return "Your session has ended. Please sign in again."
	case shared.CodeInvalidToken:
		return "Your session has ended. Please sign in again."
	case shared.CodeInactiveUser:
		return "This account is disabled. Ask an administrator to enable it."
	case shared.CodeInsufficientScope:
		return "You are not allowed to do that: " + e.Description + "."
	case shared.CodeValidationFailed:
		return "Please correct the highlighted fields."
	case shared.CodeConflict:
		return capitalise(e.Description) + "."
	case shared.CodeNotFound:
		return "That record no longer exists. It may have been deleted."
	case shared.CodeInsufficientUserAuth:
		return "Nothing was changed: this needs a recent sign-in. Try again and confirm your password."
	case shared.CodeTooManyAttempts:
		// Codes and passwords confirmed outside the sign-in page (an
		// enrolment's first code, a step-up) are throttled too: the words
		// fit them all, and say when.
		return "Too many failed attempts. " + tryAgainIn(e.RetryAfter)
	case shared.CodeUnavailable:
		return "The server's database is unavailable. Try again in a moment."
	case shared.CodeInvalidRequest:
		return "The request was not understood: " + e.Description + "."
	}
	return "Something went wrong on the server. Try again, and tell an administrator if it keeps happening."
}

// EndedMessage says why the session ended, from the reason the server
// gave (shared.Error.Reason, read by client.EndReason); "" when there is
// nothing to say.
func EndedMessage(reason string) string {
	switch reason {
	case "":
		return ""
	case shared.EndedTokenExpired, shared.EndedSessionExpired:
		return "Your session expired."
	case shared.RevokedLogout:
		return "You were signed out."
	case otherTab:
		return "You signed out in another tab."
	case signedOutEverywhere:
		return "You signed out everywhere."
	case shared.RevokedByUser:
		return "You signed this session out from another of your sessions."
	case shared.RevokedByAdmin:
		return "An administrator signed you out."
	case shared.RevokedByManager:
		return "A manager signed you out."
	case shared.RevokedPasswordChange:
		return "Your password was changed, which signed out your other sessions."
	case shared.RevokedPasswordReset:
		return "An administrator reset your password. Sign in with the new one."
	case shared.RevokedPasswordGuess:
		return "Your session was ended after too many wrong current passwords."
	case shared.RevokedUserDisabled:
		return "Your account was disabled. Ask an administrator to enable it."
	case shared.RevokedUserDeleted:
		return "Your account was deleted."
	case shared.RevokedRefreshReuse:
		return "Your session was ended for safety: its sign-in was used from two places."
	case shared.RevokedMFAReset:
		return "An administrator reset your two-step verification. Sign in again."
	}
	return "Your session ended."
}

// FieldErrors returns the per-field messages of a validation failure, from
// the server's answer or from the shared rules checked before sending.
func FieldErrors(err error) map[string]string {
	var ve *shared.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	var e *shared.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		return string(c-'a'+'A') + s[1:]
	}
	return s
}

// Age says how long ago t was, in rough words.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

// Countdown formats a remaining duration as m:ss or h:mm:ss.
func Countdown(d time.Duration) string {
	if d <= 0 {
		return "0:00"
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
