package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gatehouse/server/store"
)

const sessionColumns = `s.id, s.user_id, u.username, s.created_at, s.last_seen_at, s.expires_at,
	s.refresh_salt, s.refresh_gen, s.refresh_expires_at, s.rotated_at,
	s.revoked_at, s.revoked_reason, s.user_agent, s.ip, s.amr, s.auth_time`

// sessionFrom selects sessions with the username of their user; the alias
// of sessions is s.
const sessionFrom = `FROM sessions s JOIN users u ON u.id = s.user_id`

// scanSession reads a row of sessionColumns.
func scanSession(row interface{ Scan(...any) error }) (*store.Session, error) {
	var (
		s                                                         store.Session
		created, lastSeen, expires, refreshExp, rotated, authTime int64
		revoked                                                   sql.NullInt64
		amr                                                       string
	)
	err := row.Scan(&s.ID, &s.UserID, &s.Username, &created, &lastSeen, &expires,
		&s.RefreshSalt, &s.RefreshGen, &refreshExp, &rotated,
		&revoked, &s.RevokedReason, &s.UserAgent, &s.IP, &amr, &authTime)
	if err != nil {
		return nil, err
	}
	s.AMR = store.SplitAMR(amr)
	s.AuthTime = fromMillis(authTime)
	s.CreatedAt = fromMillis(created)
	s.LastSeenAt = fromMillis(lastSeen)
	s.ExpiresAt = fromMillis(expires)
	s.RefreshExpiresAt = fromMillis(refreshExp)
	s.RotatedAt = fromMillis(rotated)
	if revoked.Valid {
		t := fromMillis(revoked.Int64)
		s.RevokedAt = &t
	}
	return &s, nil
}

// mustAffect returns sql.ErrNoRows if res changed no row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(*t), Valid: true}
}

// CreateSession inserts s. Its Username is ignored. A session of a user who
// does not exist fails with store.ErrNotFound.
func (t *tx) CreateSession(ctx context.Context, s *store.Session) error {
	amr, err := store.JoinAMR(s.AMR)
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	_, err = t.q.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at,
			refresh_salt, refresh_gen, refresh_expires_at, rotated_at,
			revoked_at, revoked_reason, user_agent, ip, amr, auth_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, millis(s.CreatedAt), millis(s.LastSeenAt), millis(s.ExpiresAt),
		nonNil(s.RefreshSalt), s.RefreshGen, millis(s.RefreshExpiresAt), millis(s.RotatedAt),
		nullTime(s.RevokedAt), s.RevokedReason, s.UserAgent, s.IP, amr, millis(s.AuthTime))
	if err != nil {
		return t.fail("create session", err)
	}
	return nil
}

// nonNil returns b, or an empty slice for nil: the column is NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// SessionByID returns the session with the given ID.
func (r reads) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	s, err := scanSession(r.q.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` `+sessionFrom+` WHERE s.id = ?`, id))
	if err != nil {
		return nil, r.fail("session", err)
	}
	return s, nil
}

// LockSession returns the session; the transaction holds the whole
// database.
func (t *tx) LockSession(ctx context.Context, id string) (*store.Session, error) {
	return t.SessionByID(ctx, id)
}

// SaveSession writes every field of s but its ID, user and creation time.
func (t *tx) SaveSession(ctx context.Context, s *store.Session) error {
	amr, err := store.JoinAMR(s.AMR)
	if err != nil {
		return fmt.Errorf("sqlite: save session: %w", err)
	}
	res, err := t.q.ExecContext(ctx, `
		UPDATE sessions SET last_seen_at = ?, expires_at = ?, refresh_salt = ?, refresh_gen = ?,
			refresh_expires_at = ?, rotated_at = ?, revoked_at = ?, revoked_reason = ?,
			user_agent = ?, ip = ?, amr = ?, auth_time = ?
		WHERE id = ?`,
		millis(s.LastSeenAt), millis(s.ExpiresAt), nonNil(s.RefreshSalt), s.RefreshGen,
		millis(s.RefreshExpiresAt), millis(s.RotatedAt), nullTime(s.RevokedAt), s.RevokedReason,
		s.UserAgent, s.IP, amr, millis(s.AuthTime), s.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return t.fail("save session", err)
	}
	return nil
}

// TouchSession sets the session's LastSeenAt.
func (t *tx) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := t.q.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, millis(at), id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return t.fail("touch session", err)
	}
	return nil
}

// RevokeSessions revokes every unrevoked session of the user except the one
// with ID except and returns the IDs revoked, sorted.
func (t *tx) RevokeSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error) {
	ids, err := func() ([]string, error) {
		rows, err := t.q.QueryContext(ctx, `
			UPDATE sessions SET revoked_at = ?, revoked_reason = ?
			WHERE user_id = ? AND revoked_at IS NULL AND id <> ?
			RETURNING id`, millis(now), reason, userID, except)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		ids := []string{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}()
	if err != nil {
		return nil, t.fail(fmt.Sprintf("revoke sessions of user %d", userID), err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ListSessions returns one page of sessions, newest first, and how many
// match in all.
func (r reads) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	where, args := "WHERE 1", []any(nil)
	if f.UserID != 0 {
		where += " AND s.user_id = ?"
		args = append(args, f.UserID)
	}
	if f.Active != nil {
		if *f.Active {
			where += " AND s.revoked_at IS NULL AND s.expires_at > ?"
		} else {
			where += " AND (s.revoked_at IS NOT NULL OR s.expires_at <= ?)"
		}
		args = append(args, millis(f.Now))
	}
	n, off := limit(f.Offset, f.Limit)

	sessions := []*store.Session{}
	var total int
	err := r.snapshot(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT count(*) `+sessionFrom+` `+where, args...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx,
			`SELECT `+sessionColumns+` `+sessionFrom+` `+where+`
			ORDER BY s.created_at DESC, s.rowid DESC LIMIT ? OFFSET ?`,
			append(args, n, off)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSession(rows)
			if err != nil {
				return err
			}
			sessions = append(sessions, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, r.fail("list sessions", err)
	}
	return sessions, total, nil
}

// CountActiveSessions counts the sessions neither revoked nor expired at
// now.
func (r reads) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx,
		`SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`,
		millis(now)).Scan(&n)
	if err != nil {
		return 0, r.fail("count active sessions", err)
	}
	return n, nil
}
