package cache

import (
	"context"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// recorder is a store.Tx that notes every user and session it writes. It
// implements each method itself, without embedding, so a write added to
// store.Tx does not compile here until it says what it changes.
type recorder struct {
	tx store.Tx
	ch *changes
}

var _ store.Tx = (*recorder)(nil)

func (r *recorder) user(id int64)     { r.ch.users = append(r.ch.users, id) }
func (r *recorder) session(id string) { r.ch.sessions = append(r.ch.sessions, id) }

// Writes that change what a cache may hold.

func (r *recorder) SaveUser(ctx context.Context, u *store.User) error {
	r.user(u.ID)
	return r.tx.SaveUser(ctx, u)
}

func (r *recorder) DeleteUser(ctx context.Context, id int64) error {
	r.user(id)
	return r.tx.DeleteUser(ctx, id)
}

func (r *recorder) SaveSession(ctx context.Context, s *store.Session) error {
	r.session(s.ID)
	return r.tx.SaveSession(ctx, s)
}

func (r *recorder) RevokeSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error) {
	r.user(userID) // drops every cached session of the user
	return r.tx.RevokeSessions(ctx, userID, except, reason, now)
}

// Writes of rows a cache does not hold before they exist, or never holds.

func (r *recorder) CreateUser(ctx context.Context, u *store.User) error {
	return r.tx.CreateUser(ctx, u)
}

func (r *recorder) CreateSession(ctx context.Context, s *store.Session) error {
	return r.tx.CreateSession(ctx, s)
}

func (r *recorder) TouchSession(ctx context.Context, id string, at time.Time) error {
	return r.tx.TouchSession(ctx, id, at) // last-seen only: access is unchanged
}

func (r *recorder) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return r.tx.ReplaceRecoveryCodes(ctx, userID, hashes) // not cached
}

func (r *recorder) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, int, error) {
	return r.tx.ConsumeRecoveryCode(ctx, userID, hash)
}

func (r *recorder) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	return r.tx.RecoveryCodesLeft(ctx, userID)
}

func (r *recorder) CreateChallenge(ctx context.Context, c *store.Challenge) error {
	return r.tx.CreateChallenge(ctx, c)
}

func (r *recorder) LockChallenge(ctx context.Context, id string) (*store.Challenge, error) {
	return r.tx.LockChallenge(ctx, id)
}

func (r *recorder) SaveChallenge(ctx context.Context, c *store.Challenge) error {
	return r.tx.SaveChallenge(ctx, c) // not cached
}

func (r *recorder) Purge(ctx context.Context, p store.PurgeBefore) (store.Purged, error) {
	// Only sessions that already ended go: a cached entry of one still
	// says it ended, as a missing row would.
	return r.tx.Purge(ctx, p)
}

func (r *recorder) SaveAttempts(ctx context.Context, a *store.Attempts) error {
	return r.tx.SaveAttempts(ctx, a)
}

func (r *recorder) AddAudit(ctx context.Context, e *shared.AuditEvent) error {
	return r.tx.AddAudit(ctx, e)
}

func (r *recorder) Notify(ctx context.Context, payload string) error {
	return r.tx.Notify(ctx, payload)
}

// Reads.

func (r *recorder) LockUser(ctx context.Context, id int64) (*store.User, error) {
	return r.tx.LockUser(ctx, id)
}

func (r *recorder) LockEnabledAdmins(ctx context.Context) ([]int64, error) {
	return r.tx.LockEnabledAdmins(ctx)
}

func (r *recorder) LockSession(ctx context.Context, id string) (*store.Session, error) {
	return r.tx.LockSession(ctx, id)
}

func (r *recorder) LockAttempts(ctx context.Context, key string) (*store.Attempts, error) {
	return r.tx.LockAttempts(ctx, key)
}

func (r *recorder) AttemptKeys(ctx context.Context, prefix string) ([]string, error) {
	return r.tx.AttemptKeys(ctx, prefix)
}

func (r *recorder) UserByID(ctx context.Context, id int64) (*store.User, error) {
	return r.tx.UserByID(ctx, id)
}

func (r *recorder) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	return r.tx.UserByUsername(ctx, username)
}

func (r *recorder) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	return r.tx.ListUsers(ctx, f)
}

func (r *recorder) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	return r.tx.CountUsersByRole(ctx)
}

func (r *recorder) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	return r.tx.SessionByID(ctx, id)
}

func (r *recorder) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	return r.tx.ListSessions(ctx, f)
}

func (r *recorder) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	return r.tx.CountActiveSessions(ctx, now)
}

func (r *recorder) ListAudit(ctx context.Context, f store.AuditFilter) ([]shared.AuditEvent, int, error) {
	return r.tx.ListAudit(ctx, f)
}

func (r *recorder) CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error) {
	return r.tx.CountSignIns(ctx, since)
}
