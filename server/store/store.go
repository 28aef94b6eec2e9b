// Package store defines what Gatehouse keeps and the interface its storage
// back ends implement. server/sqlite and server/postgres implement Store;
// storetest holds the contract suite both must pass.
//
// Times are stored with millisecond precision and returned in UTC.
package store

import (
	"context"
	"errors"
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
	// ErrLastAdmin: the change would leave no enabled admin.
	ErrLastAdmin = errors.New("would leave no enabled admin")
	// ErrStale: a compare-and-swap lost to a concurrent change.
	ErrStale = errors.New("stale")
	// ErrUnavailable: the database cannot be reached or is closed.
	ErrUnavailable = errors.New("store unavailable")
)

// User is a user row: the wire user and its password hash.
type User struct {
	shared.User
	PasswordHash string
}

// Session is a session row.
type Session struct {
	ID         string
	UserID     int64
	Username   string // filled in by reads, ignored by CreateSession
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry: no token of this session, access or
	// refresh, is valid past it.
	ExpiresAt time.Time
	// RefreshHash is the hash of the current refresh token, PrevRefreshHash
	// that of the one it replaced at RotatedAt (nil before the first
	// rotation).
	RefreshHash      []byte
	PrevRefreshHash  []byte
	RefreshExpiresAt time.Time
	RotatedAt        time.Time
	RevokedAt        *time.Time
	RevokedReason    string
	UserAgent        string
	IP               string
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

// UserFilter selects users for ListUsers.
type UserFilter struct {
	// Query, when not empty, matches a case-insensitive substring of the
	// username, full name or e-mail.
	Query  string
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
	Actor  string // exact actor name; empty: any
	Action string // exact action; empty: any
	Offset int
	Limit  int // 0 means no limit
}

// UserUpdate changes a user; nil fields are left as they are.
type UserUpdate struct {
	FullName *string
	Email    *string
	Role     *shared.Role
	Disabled *bool
}

// Store is everything Gatehouse keeps. Every method may also return an error
// wrapping ErrUnavailable when the database cannot be reached.
type Store interface {
	// CreateUser inserts u, setting its ID, and CreatedAt and UpdatedAt
	// to the current time where they are zero.
	// ErrConflict if the username is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user. ErrNotFound.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByUsername returns the user with that exact username. ErrNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns one page of users, newest first, and how many match
	// in all.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// UpdateUser applies upd at time now and returns the updated user.
	// Disabling a user revokes all of their sessions with reason
	// shared.RevokedUserDisabled in the same transaction.
	// ErrNotFound; ErrLastAdmin if the user is the last enabled admin and
	// upd would disable or demote them (nothing is changed then).
	UpdateUser(ctx context.Context, id int64, upd UserUpdate, now time.Time) (*User, error)
	// SetPassword stores a new hash and, in the same transaction, revokes
	// every session of the user except keepSession (may be empty) with the
	// given reason. ErrNotFound.
	SetPassword(ctx context.Context, id int64, hash string, keepSession, reason string, now time.Time) error
	// DeleteUser removes the user and their sessions. ErrNotFound;
	// ErrLastAdmin if they are the last enabled admin.
	DeleteUser(ctx context.Context, id int64) error
	// CountUsersByRole counts users per role.
	CountUsersByRole(ctx context.Context) (map[shared.Role]int, error)

	// CreateSession inserts s.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByID returns the session. ErrNotFound.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// SessionByRefreshHash returns the session whose current or previous
	// refresh hash is h. ErrNotFound.
	SessionByRefreshHash(ctx context.Context, h []byte) (*Session, error)
	// RotateRefresh replaces the current refresh hash old with next, keeps
	// old as the previous hash, sets RotatedAt to now, RefreshExpiresAt to
	// expires and LastSeenAt to now — only if the session's current hash is
	// still old and it is not revoked. ErrStale otherwise (someone else
	// rotated first, or it was revoked).
	RotateRefresh(ctx context.Context, id string, old, next []byte, expires, now time.Time) error
	// TouchSession sets LastSeenAt. ErrNotFound.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// RevokeSession revokes the session with reason unless it already is
	// revoked (then it changes nothing). ErrNotFound.
	RevokeSession(ctx context.Context, id, reason string, now time.Time) error
	// RevokeUserSessions revokes every unrevoked session of the user except
	// the one with ID except (may be empty) and returns the IDs revoked.
	RevokeUserSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error)
	// ListSessions returns one page of sessions, newest first, and how many
	// match in all.
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error)
	// CountActiveSessions counts sessions active at now.
	CountActiveSessions(ctx context.Context, now time.Time) (int, error)

	// AddAudit appends e, setting its ID (and Time when zero).
	AddAudit(ctx context.Context, e *shared.AuditEvent) error
	// ListAudit returns one page of events, newest first, and how many
	// match in all.
	ListAudit(ctx context.Context, f AuditFilter) ([]shared.AuditEvent, int, error)
	// CountSignIns counts login events (action shared.ActionLogin) at or
	// after since, by hour (UTC, truncated), oldest first; hours with no
	// event are left out.
	CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
