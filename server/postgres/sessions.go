package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
)

const sessionColumns = `s.id, s.user_id, u.username, s.created_at, s.last_seen_at, s.expires_at,
	s.refresh_salt, s.refresh_gen, s.refresh_expires_at, s.rotated_at,
	s.revoked_at, s.revoked_reason, s.user_agent, s.ip, s.amr, coalesce(s.auth_time, s.created_at)`

// sessionFrom selects sessions with the username of their user; the alias
// of sessions is s.
const sessionFrom = `FROM sessions s JOIN users u ON u.id = s.user_id`

// scanSession reads a row of sessionColumns.
func scanSession(row pgx.Row) (*store.Session, error) {
	var (
		s       store.Session
		revoked *time.Time
		amr     string
	)
	err := row.Scan(&s.ID, &s.UserID, &s.Username, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
		&s.RefreshSalt, &s.RefreshGen, &s.RefreshExpiresAt, &s.RotatedAt,
		&revoked, &s.RevokedReason, &s.UserAgent, &s.IP, &amr, &s.AuthTime)
	if err != nil {
		return nil, err
	}
	for _, t := range []*time.Time{&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.RefreshExpiresAt, &s.RotatedAt, &s.AuthTime} {
		*t = t.UTC()
	}
	s.AMR = store.SplitAMR(amr)
	s.RevokedAt = fromNullTime(revoked)
	return &s, nil
}

func scanSessions(rows pgx.Rows) (*store.Session, error) { return scanSession(rows) }

// CreateSession inserts s. Its Username is ignored. A session of a user who
// does not exist fails with store.ErrNotFound, a taken ID with
// store.ErrConflict; neither aborts the transaction, as they are read from
// the statement's result rather than raised by a constraint.
func (t *tx) CreateSession(ctx context.Context, s *store.Session) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	amr, err := store.JoinAMR(s.AMR)
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	var owner, added bool
	err = t.q.QueryRow(ctx, `
		WITH owner AS (SELECT id FROM users WHERE id = $2),
		added AS (
			INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at,
				refresh_salt, refresh_gen, refresh_expires_at, rotated_at,
				revoked_at, revoked_reason, user_agent, ip, amr, auth_time)
			SELECT $1::text, owner.id, $3::timestamptz, $4::timestamptz, $5::timestamptz,
				$6::bytea, $7::bigint, $8::timestamptz, $9::timestamptz,
				$10::timestamptz, $11::text, $12::text, $13::text, $14::text, $15::timestamptz
			FROM owner
			ON CONFLICT DO NOTHING
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM added)`,
		text(s.ID), s.UserID, ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt),
		nonNil(s.RefreshSalt), s.RefreshGen, ms(s.RefreshExpiresAt), ms(s.RotatedAt),
		nullTime(s.RevokedAt), text(s.RevokedReason), text(s.UserAgent), text(s.IP),
		amr, ms(s.AuthTime)).Scan(&owner, &added)
	switch {
	case err != nil:
	case !owner:
		err = fmt.Errorf("user %d: %w", s.UserID, store.ErrNotFound)
	case !added:
		err = store.ErrConflict
	}
	if err != nil {
		return t.fail(ctx, "create session", err)
	}
	return nil
}

// SessionByID returns the session with the given ID.
func (r reads) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	s, err := scanSession(r.q.QueryRow(ctx,
		`SELECT `+sessionColumns+` `+sessionFrom+` WHERE s.id = $1`, text(id)))
	if err != nil {
		return nil, r.fail(ctx, "session", err)
	}
	return s, nil
}

// LockSession returns the session, holding its row (SELECT … FOR UPDATE).
func (t *tx) LockSession(ctx context.Context, id string) (*store.Session, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	var s *store.Session
	err = t.lockAndQueryRow(ctx, "session", text(id),
		`SELECT `+sessionColumns+` `+sessionFrom+` WHERE s.id = $1 FOR UPDATE OF s`, []any{text(id)},
		func(row pgx.Row) (err error) { s, err = scanSession(row); return err })
	if err != nil {
		return nil, t.fail(ctx, "lock session", err)
	}
	return s, nil
}

// SaveSession writes every field of s but its ID, user and creation time.
func (t *tx) SaveSession(ctx context.Context, s *store.Session) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	amr, err := store.JoinAMR(s.AMR)
	if err != nil {
		return fmt.Errorf("postgres: save session: %w", err)
	}
	tag, err := t.q.Exec(ctx, `
		UPDATE sessions SET last_seen_at = $1, expires_at = $2, refresh_salt = $3, refresh_gen = $4,
			refresh_expires_at = $5, rotated_at = $6, revoked_at = $7, revoked_reason = $8,
			user_agent = $9, ip = $10, amr = $11, auth_time = $12
		WHERE id = $13`,
		ms(s.LastSeenAt), ms(s.ExpiresAt), nonNil(s.RefreshSalt), s.RefreshGen,
		ms(s.RefreshExpiresAt), ms(s.RotatedAt), nullTime(s.RevokedAt), text(s.RevokedReason),
		text(s.UserAgent), text(s.IP), amr, ms(s.AuthTime), text(s.ID))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return t.fail(ctx, "save session", err)
	}
	return nil
}

// TouchSession sets the session's LastSeenAt, and nothing else.
func (t *tx) TouchSession(ctx context.Context, id string, at time.Time) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	tag, err := t.q.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, ms(at), text(id))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return t.fail(ctx, "touch session", err)
	}
	return nil
}

// RevokeSessions revokes every unrevoked session of the user except the one
// with ID except and returns the IDs revoked, sorted.
func (t *tx) RevokeSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	rows, err := t.q.Query(ctx, `
		UPDATE sessions SET revoked_at = $1, revoked_reason = $2
		WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4
		RETURNING id`, ms(now), text(reason), userID, text(except))
	var ids []string
	if err == nil {
		ids, err = collect(rows, func(rows pgx.Rows) (string, error) {
			var id string
			return id, rows.Scan(&id)
		})
	}
	if err != nil {
		return nil, t.fail(ctx, fmt.Sprintf("revoke sessions of user %d", userID), err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ListSessions returns one page of sessions, newest first (in order of
// creation among equal times), and how many match in all, both from one
// snapshot.
func (r reads) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer exit()
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.UserID != 0 {
		conds = append(conds, "s.user_id = "+arg(f.UserID))
	}
	if f.Active != nil {
		now := arg(ms(f.Now))
		if *f.Active {
			conds = append(conds, "s.revoked_at IS NULL AND s.expires_at > "+now)
		} else {
			conds = append(conds, "(s.revoked_at IS NOT NULL OR s.expires_at <= "+now+")")
		}
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	filter := slices.Clone(args)
	n, off := limit(f.Offset, f.Limit)
	page := " LIMIT " + arg(n) + " OFFSET " + arg(off)

	var (
		sessions []*store.Session
		total    int
	)
	err = r.snapshot(ctx, func(q querier) error {
		err := q.QueryRow(ctx, `SELECT count(*) `+sessionFrom+` `+where, filter...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx,
			`SELECT `+sessionColumns+` `+sessionFrom+` `+where+`
			ORDER BY s.created_at DESC, s.seq DESC`+page, args...)
		if err != nil {
			return err
		}
		sessions, err = collect(rows, scanSessions)
		return err
	})
	if err != nil {
		return nil, 0, r.fail(ctx, "list sessions", err)
	}
	return sessions, total, nil
}

// CountActiveSessions counts the sessions neither revoked nor expired at
// now.
func (r reads) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer exit()
	var n int
	err = r.q.QueryRow(ctx,
		`SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1`, ms(now)).Scan(&n)
	if err != nil {
		return 0, r.fail(ctx, "count active sessions", err)
	}
	return n, nil
}
