// Package store defines what Gatehouse keeps and the interface its storage
// back ends implement. server/sqlite and server/postgres implement Store;
// storetest holds the contract suite both must pass.
//
// A store offers primitives only: reads, reads that hold a row against
// concurrent change until the transaction ends, and writes, run in one
// transaction by Store.Update. Every rule — who may act on whom, the last
// enabled admin, which sessions a change revokes, refresh-token rotation,
// sign-in throttling — is written once, above the store, inside the
// transaction of the write it guards.
//
// Times are stored with millisecond precision and returned in UTC.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gatehouse/shared"
)

// Errors a Store returns; implementations wrap them with context, callers
// test with errors.Is.
var (
	// ErrNotFound: no row matches.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the username is taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database cannot be reached, is closed, or stayed
	// busy past its timeout.
	ErrUnavailable = errors.New("store unavailable")
)

// User is a user row: the wire user, its password hash and its second
// factor. The wire user's MFA field mirrors TOTP.Enabled.
type User struct {
	shared.User
	PasswordHash string
	TOTP         TOTP
}

// TOTP is a user's time-based one-time-password factor. Secrets are stored
// encrypted (the service layer seals them under a data key; the store
// never sees them in clear), each with the ID of the key that sealed it.
type TOTP struct {
	// Secret and KeyID: the confirmed factor (nil: none).
	Secret []byte
	KeyID  string
	// Pending and PendingKeyID: a secret being enrolled, not yet confirmed
	// by a first code (nil: none).
	Pending      []byte
	PendingKeyID string
	// LastStep is the time step of the last code accepted, so that no code
	// is accepted twice.
	LastStep int64
}

// Enabled reports whether the user has a confirmed factor.
func (t TOTP) Enabled() bool { return len(t.Secret) > 0 }

// Challenge is the second step of a sign-in with MFA: the password was
// right, a code is awaited. It is found by ID; the token that names it is
// the service's business.
type Challenge struct {
	ID        string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// Attempts counts the codes tried; UsedAt is set when one succeeded.
	Attempts int
	UsedAt   *time.Time
	// Device is the device token the browser presented with the password,
	// carried to the end of the sign-in, as is CookieOnly: whether the
	// password step asked for the refresh token as a cookie only.
	Device     string
	CookieOnly bool
}

// EnabledAdmin reports whether u is an admin who is not disabled.
func (u *User) EnabledAdmin() bool { return u.Role == shared.RoleAdmin && !u.Disabled }

// Session is a session row.
type Session struct {
	ID         string
	UserID     int64
	Username   string // filled in by reads, ignored by writes
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry: no token of this session, access or
	// refresh, is valid past it.
	ExpiresAt time.Time
	// RefreshSalt is the session's random part of every refresh token it
	// ever had; RefreshGen the generation of the current one, counted from
	// zero and raised by each rotation. Together with a server key they
	// let every token of every generation be checked while the row keeps a
	// constant size.
	RefreshSalt []byte
	RefreshGen  int64
	// RefreshExpiresAt is when the current refresh token expires, and
	// RotatedAt when it replaced the previous one (the session's creation
	// before the first rotation).
	RefreshExpiresAt time.Time
	RotatedAt        time.Time
	RevokedAt        *time.Time
	RevokedReason    string
	UserAgent        string
	IP               string
	// AMR lists how the user authenticated (RFC 8176: "pwd", "otp") and
	// AuthTime when, at sign-in or at the latest re-authentication. An
	// empty AMR reads back nil; its values must be tokens of printable
	// ASCII (see JoinAMR), or the write fails. A session stored before
	// stores kept them reads back AMR ["pwd"] and AuthTime its CreatedAt.
	AMR      []string
	AuthTime time.Time
}

// Active reports whether the session is neither revoked nor expired at now.
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// Wire returns the session as the API shows it.
func (s *Session) Wire() shared.Session {
	return shared.Session{
		ID: s.ID, UserID: s.UserID, Username: s.Username,
		CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
		RevokedAt: s.RevokedAt, RevokedReason: s.RevokedReason,
		UserAgent: s.UserAgent, IP: s.IP,
	}
}

// Attempts counts failed attempts under one throttle key (an account, a
// device, a client address, a session's password checks). The rules that
// turn counts into lockouts live in the service layer.
type Attempts struct {
	Key         string
	Failures    int
	LastFailure time.Time
}

// PurgeBefore says what Purge removes: sessions that expired or were
// revoked before Sessions, throttle keys whose last failure is before
// Attempts (and sign-in challenges that expired before then), and audit
// events before Audit. A zero time removes nothing of its kind.
type PurgeBefore struct {
	Sessions time.Time
	Attempts time.Time
	Audit    time.Time
}

// Purged counts what Purge removed.
type Purged struct {
	Sessions, Attempts, Audit int
	Challenges                int
}

// UserFilter selects users for ListUsers.
type UserFilter struct {
	// Query, when not empty, matches a case-insensitive substring of the
	// username, full name or e-mail.
	Query string
	// Sort orders the list (the zero value: newest first). Ties are
	// broken so that the order is total: by username for SortRole, by ID
	// in the same direction for SortCreated.
	Sort   shared.UserSort
	Offset int
	Limit  int // 0 means no limit
}

// SessionFilter selects sessions for ListSessions.
type SessionFilter struct {
	UserID int64 // 0: every user
	// Active, when not nil, keeps only sessions that are (true) or are not
	// (false) active at Now.
	Active *bool
	Now    time.Time
	Offset int
	Limit  int // 0 means no limit
}

// AuditFilter selects audit events for ListAudit.
type AuditFilter struct {
	// Actor, when not empty, matches the start of the actor's name, literally
	// ('%' and '_' included) and without regard to ASCII case.
	Actor  string
	Action string // exact action; empty: any
	Offset int
	Limit  int // 0 means no limit
}

// Reader is what can be read from a store: through Store, each call sees
// a consistent snapshot of its own; through Tx, the transaction's.
type Reader interface {
	// UserByID returns the user. ErrNotFound.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByUsername returns the user with that exact username. ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns one page of users in the filter's order (newest
	// first by default), and how many match in all.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// CountUsersByRole counts users, disabled ones included, per role;
	// every known role has an entry.
	CountUsersByRole(ctx context.Context) (map[shared.Role]int, error)

	// SessionByID returns the session. ErrNotFound.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// ListSessions returns one page of sessions, newest first, and how many
	// match in all.
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error)
	// CountActiveSessions counts sessions active at now.
	CountActiveSessions(ctx context.Context, now time.Time) (int, error)

	// ListAudit returns one page of events, newest first, and how many
	// match in all.
	ListAudit(ctx context.Context, f AuditFilter) ([]shared.AuditEvent, int, error)
	// CountSignIns counts login events (action shared.ActionLogin) with
	// outcome ok or failed at or after since, by hour (UTC, truncated),
	// oldest first; hours with no event are left out.
	CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error)
}

// Tx is one read-write transaction. Its reads see the transaction's own
// writes. Lock* reads hold what they return against change by any other
// transaction until this one ends, so a rule checked on them still holds
// when the transaction writes.
type Tx interface {
	Reader

	// LockUser returns the user and holds the row. ErrNotFound.
	LockUser(ctx context.Context, id int64) (*User, error)
	// LockEnabledAdmins returns the IDs of every enabled admin, lowest
	// first, and holds them: until this transaction ends, no other can
	// demote, disable or delete an enabled admin, nor make anyone one
	// (promote, re-enable or create).
	LockEnabledAdmins(ctx context.Context) ([]int64, error)
	// LockSession returns the session and holds the row. ErrNotFound.
	LockSession(ctx context.Context, id string) (*Session, error)
	// LockAttempts returns the attempts under key, holding the key; a key
	// never failed (or deleted) answers Failures 0, not an error.
	LockAttempts(ctx context.Context, key string) (*Attempts, error)
	// AttemptKeys returns the throttle keys that have failures and begin
	// with prefix, sorted; none is an empty slice.
	AttemptKeys(ctx context.Context, prefix string) ([]string, error)

	// CreateUser inserts u, setting its ID, and CreatedAt and UpdatedAt
	// to the current time where they are zero. ErrConflict if the username
	// is taken.
	CreateUser(ctx context.Context, u *User) error
	// SaveUser writes every field of u but ID, Username and CreatedAt.
	// ErrNotFound.
	SaveUser(ctx context.Context, u *User) error
	// DeleteUser removes the user and their sessions, recovery codes and
	// challenges. ErrNotFound.
	DeleteUser(ctx context.Context, id int64) error

	// CreateSession inserts s; its Username is ignored. ErrNotFound if the
	// user does not exist; ErrConflict if the ID is taken.
	CreateSession(ctx context.Context, s *Session) error
	// SaveSession writes every field of s but ID, UserID and CreatedAt.
	// ErrNotFound.
	SaveSession(ctx context.Context, s *Session) error
	// TouchSession sets the session's LastSeenAt to at, and nothing else.
	// ErrNotFound.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSessions revokes every unrevoked session of the user except
	// the one with ID except (may be empty), with reason at now, and
	// returns the IDs revoked, sorted (empty, not nil, when none).
	RevokeSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error)

	// ReplaceRecoveryCodes sets the user's recovery codes to the given
	// hashes, dropping any others; a hash given twice is one code.
	// ErrNotFound if the user does not exist.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// ConsumeRecoveryCode removes the user's recovery code with that hash,
	// if it exists, and reports whether it did and how many remain. Only
	// that user's codes match; of concurrent transactions consuming one
	// code, exactly one finds it.
	ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte) (used bool, remaining int, err error)
	// RecoveryCodesLeft counts the user's recovery codes (0 for a user
	// who does not exist).
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)

	// CreateChallenge inserts c. ErrNotFound if the user does not exist;
	// ErrConflict if the ID is taken.
	CreateChallenge(ctx context.Context, c *Challenge) error
	// LockChallenge returns the challenge and holds it. ErrNotFound.
	LockChallenge(ctx context.Context, id string) (*Challenge, error)
	// SaveChallenge writes Attempts and UsedAt. ErrNotFound.
	SaveChallenge(ctx context.Context, c *Challenge) error

	// Purge removes what has outlived its use (see PurgeBefore) and counts
	// it. It never removes an active session.
	Purge(ctx context.Context, p PurgeBefore) (Purged, error)

	// SaveAttempts stores a; Failures 0 (or less) removes the key.
	SaveAttempts(ctx context.Context, a *Attempts) error

	// AddAudit appends e, setting its ID (and Time when zero).
	AddAudit(ctx context.Context, e *shared.AuditEvent) error

	// Notify announces payload (at most 1000 bytes) to every instance
	// listening on the same database, once and only if the transaction
	// commits. A store that only one process can open does nothing.
	Notify(ctx context.Context, payload string) error
}

// Store is everything Gatehouse keeps. Every method may also return an error
// wrapping ErrUnavailable when the database cannot be reached.
type Store interface {
	Reader

	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil; otherwise it rolls back and returns fn's error. Update
	// transactions are serializable: each behaves as if it ran alone. A
	// store may run fn again when the database reports a conflict with a
	// concurrent transaction, so fn must not have effects outside tx, and
	// tx must not be used after fn returns.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// LikePrefix returns a LIKE pattern that matches the strings starting with
// s, taken literally: '%', '_' and the escape character '\' are escaped
// (use it with ESCAPE '\').
func LikePrefix(s string) string {
	return likeEscaper.Replace(s) + "%"
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// RoleRankSQL is an SQL expression of the rank of the column role: 1 for
// the lowest role (shared.Roles), 0 for an unknown one.
func RoleRankSQL() string {
	var b strings.Builder
	b.WriteString("CASE role")
	for i, r := range shared.Roles {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", r, i+1)
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}
