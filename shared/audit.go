package shared

import "time"

// AuditEvent records who did what to whom, from where, and how it ended.
type AuditEvent struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	ActorID int64     `json:"actor_id,omitempty"`
	// Actor is the acting user's name; for a failed sign-in it is the name
	// that was tried.
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	IP      string `json:"ip"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
	OutcomeDenied = "denied"
	// OutcomePending: the password was right and a second factor is due.
	OutcomePending = "pending"
)

// Audit actions.
const (
	ActionLogin          = "login"
	ActionLogout         = "logout"
	ActionRefreshReuse   = "refresh_reuse"
	ActionUserCreate     = "user.create"
	ActionUserUpdate     = "user.update"
	ActionUserDelete     = "user.delete"
	ActionPasswordChange = "password.change"
	ActionPasswordReset  = "password.reset"
	ActionProfileUpdate  = "profile.update"
	ActionSessionRevoke  = "session.revoke"
	ActionSessionsRevoke = "sessions.revoke_all"
	ActionAdminBootstrap = "admin.bootstrap"
	ActionLockout        = "login.lockout"
	ActionLockoutLift    = "login.lockout_lift"
	ActionMFACode        = "mfa.code"
	ActionMFAEnrol       = "mfa.enrol"
	ActionMFARemove      = "mfa.remove"
	ActionMFAReset       = "mfa.reset"
	ActionRecoveryCodes  = "mfa.recovery_codes"
	ActionRecoveryUsed   = "mfa.recovery_code_used"
	ActionReauth         = "reauth"
)

// Stats is the answer of GET /api/stats.
type Stats struct {
	UsersByRole    map[Role]int `json:"users_by_role"`
	ActiveSessions int          `json:"active_sessions"`
	// SignIns has one bucket per hour over the last 24 hours, oldest
	// first; the last bucket is the current, unfinished hour.
	SignIns []HourCount `json:"sign_ins"`
}

// HourCount counts sign-ins in the hour starting at Hour.
type HourCount struct {
	Hour   time.Time `json:"hour"`
	OK     int       `json:"ok"`
	Failed int       `json:"failed"`
}
