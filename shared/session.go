package shared

import "time"

// Session is a sign-in as the API shows it. The refresh token hashes never
// leave the server.
type Session struct {
	ID            string     `json:"id"`
	UserID        int64      `json:"user_id"`
	Username      string     `json:"username"`
	CreatedAt     time.Time  `json:"created_at"`
	LastSeenAt    time.Time  `json:"last_seen_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	UserAgent     string     `json:"user_agent"`
	IP            string     `json:"ip"`
	// Current is true for the session the request was made with.
	Current bool `json:"current"`
}

// Active reports whether the session is neither revoked nor past its
// absolute expiry at time now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// Reasons a session was revoked. Error.Reason carries them when a token of
// a revoked session is refused.
const (
	RevokedLogout         = "logout"
	RevokedByUser         = "revoked_by_user"
	RevokedByAdmin        = "revoked_by_admin"
	RevokedByManager      = "revoked_by_manager"
	RevokedPasswordGuess  = "password_guessing"
	RevokedPasswordChange = "password_changed"
	RevokedPasswordReset  = "password_reset"
	RevokedUserDisabled   = "user_disabled"
	RevokedUserDeleted    = "user_deleted"
	RevokedRefreshReuse   = "refresh_token_reuse"
	RevokedMFAReset       = "mfa_reset"
)

// Reasons a token is refused besides a revocation (Error.Reason).
const (
	// EndedTokenExpired: the access token ran out. A refresh may still
	// bring a new one; clients do not show it as the end of a session.
	EndedTokenExpired = "token_expired"
	// EndedSessionExpired: the session reached its absolute end, or its
	// refresh token ran out.
	EndedSessionExpired = "session_expired"
)
