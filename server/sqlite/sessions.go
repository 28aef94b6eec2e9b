package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"gatehouse/server/store"
)

const sessionColumns = `s.id, s.user_id, u.username, s.created_at, s.last_seen_at, s.expires_at,
	s.refresh_hash, s.prev_refresh_hash, s.refresh_expires_at, s.rotated_at,
	s.revoked_at, s.revoked_reason, s.user_agent, s.ip`

// sessionFrom selects sessions with the username of their user; the alias
// of sessions is s.
const sessionFrom = `FROM sessions s JOIN users u ON u.id = s.user_id`

// scanSession reads a row of sessionColumns.
func scanSession(row interface{ Scan(...any) error }) (*store.Session, error) {
	var (
		s                                      store.Session
		created, lastSeen, expires, refreshExp int64
		rotated, revoked                       sql.NullInt64
	)
	err := row.Scan(&s.ID, &s.UserID, &s.Username, &created, &lastSeen, &expires,
		&s.RefreshHash, &s.PrevRefreshHash, &refreshExp, &rotated,
		&revoked, &s.RevokedReason, &s.UserAgent, &s.IP)
	if err != nil {
		return nil, err
	}
	s.CreatedAt = fromMillis(created)
	s.LastSeenAt = fromMillis(lastSeen)
	s.ExpiresAt = fromMillis(expires)
	s.RefreshExpiresAt = fromMillis(refreshExp)
	s.RotatedAt = fromNullMillis(rotated)
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

// CreateSession inserts s. Its Username is ignored. A session of a user who
// does not exist fails with store.ErrNotFound.
func (d *DB) CreateSession(ctx context.Context, s *store.Session) error {
	var revoked sql.NullInt64
	if s.RevokedAt != nil {
		revoked = sql.NullInt64{Int64: millis(*s.RevokedAt), Valid: true}
	}
	_, err := d.db.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at,
			refresh_hash, prev_refresh_hash, refresh_expires_at, rotated_at,
			revoked_at, revoked_reason, user_agent, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, millis(s.CreatedAt), millis(s.LastSeenAt), millis(s.ExpiresAt),
		nullBytes(s.RefreshHash), nullBytes(s.PrevRefreshHash), millis(s.RefreshExpiresAt),
		nullMillis(s.RotatedAt), revoked, s.RevokedReason, s.UserAgent, s.IP)
	if err != nil {
		return d.fail("create session", err)
	}
	return nil
}

// SessionByID returns the session with the given ID.
func (d *DB) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	s, err := scanSession(d.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` `+sessionFrom+` WHERE s.id = ?`, id))
	if err != nil {
		return nil, d.fail("session", err)
	}
	return s, nil
}

// SessionByRefreshHash returns the session whose current or previous
// refresh hash is h.
func (d *DB) SessionByRefreshHash(ctx context.Context, h []byte) (*store.Session, error) {
	if len(h) == 0 {
		return nil, d.fail("session by refresh hash", store.ErrNotFound)
	}
	// Were h both one session's current hash and another's previous one,
	// the current hash wins.
	s, err := scanSession(d.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` `+sessionFrom+`
		WHERE s.refresh_hash = ? OR s.prev_refresh_hash = ?
		ORDER BY s.refresh_hash = ? DESC LIMIT 1`, h, h, h))
	if err != nil {
		return nil, d.fail("session by refresh hash", err)
	}
	return s, nil
}

// RotateRefresh replaces the session's current refresh hash old with next,
// provided old is still current and the session is not revoked; it fails
// with store.ErrStale otherwise. The check and the change are one
// statement, so of concurrent rotations from the same hash one wins.
func (d *DB) RotateRefresh(ctx context.Context, id string, old, next []byte, expires, now time.Time) error {
	if len(old) == 0 {
		return d.fail("rotate refresh token", store.ErrStale)
	}
	res, err := d.db.ExecContext(ctx, `
		UPDATE sessions
		SET prev_refresh_hash = refresh_hash, refresh_hash = ?,
			rotated_at = ?, refresh_expires_at = ?, last_seen_at = ?
		WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL`,
		nullBytes(next), millis(now), millis(expires), millis(now), id, old)
	if err == nil {
		err = mustAffect(res)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrStale
	}
	if err != nil {
		return d.fail("rotate refresh token", err)
	}
	return nil
}

// TouchSession sets the session's LastSeenAt to now.
func (d *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	res, err := d.db.ExecContext(ctx,
		`UPDATE sessions SET last_seen_at = ? WHERE id = ?`, millis(now), id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return d.fail("touch session", err)
	}
	return nil
}

// RevokeSession revokes the session with reason at now, unless it already
// is revoked: then it keeps its first reason and time.
func (d *DB) RevokeSession(ctx context.Context, id, reason string, now time.Time) error {
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE sessions SET revoked_at = ?, revoked_reason = ?
			WHERE id = ? AND revoked_at IS NULL`, millis(now), reason, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var one int // no row changed: does the session exist?
		return tx.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = ?`, id).Scan(&one)
	})
	if err != nil {
		return d.fail("revoke session", err)
	}
	return nil
}

// RevokeUserSessions revokes every unrevoked session of the user except
// the one with ID except and returns the IDs revoked, sorted.
func (d *DB) RevokeUserSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error) {
	ids, err := revokeUserSessions(ctx, d.db, userID, except, reason, now)
	if err != nil {
		return nil, d.fail(fmt.Sprintf("revoke sessions of user %d", userID), err)
	}
	return ids, nil
}

func revokeUserSessions(ctx context.Context, q querier, userID int64, except, reason string, now time.Time) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
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
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// ListSessions returns one page of sessions, newest first, and how many
// match in all.
func (d *DB) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
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
	err := d.read(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT count(*) `+sessionFrom+` `+where, args...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx,
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
		return nil, 0, d.fail("list sessions", err)
	}
	return sessions, total, nil
}

// CountActiveSessions counts the sessions neither revoked nor expired at
// now.
func (d *DB) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`,
		millis(now)).Scan(&n)
	if err != nil {
		return 0, d.fail("count active sessions", err)
	}
	return n, nil
}
