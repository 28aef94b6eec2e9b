package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"iter"

	"gatehouse/server/store"
)

// Export runs fn with a Dump of the whole database, read in one read
// transaction: the counts and every row fn ranges over come from the same
// snapshot, whatever is written meanwhile, and writers are not held up
// (WAL). It returns fn's error as it is, or the store's.
//
// The highest IDs ever handed out are SQLite's AUTOINCREMENT counters
// (sqlite_sequence), which remember deleted rows. Sign-in challenges are
// not exported: they live for minutes (see store.Dump).
func (d *DB) Export(ctx context.Context, fn func(*store.Dump) error) error {
	err := inTx(ctx, d.db, &sql.TxOptions{ReadOnly: true}, func(t *sql.Tx) error {
		dump := &store.Dump{}
		c := &dump.Counts
		// The first read of a deferred transaction takes the snapshot that
		// every later read sees.
		err := t.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM users), (SELECT count(*) FROM sessions),
			(SELECT count(*) FROM audit_events), (SELECT count(*) FROM attempts),
			(SELECT count(*) FROM recovery_codes),
			max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'users'), 0),
				coalesce((SELECT max(id) FROM users), 0)),
			max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0),
				coalesce((SELECT max(id) FROM audit_events), 0))`,
		).Scan(&c.Users, &c.Sessions, &c.AuditEvents, &c.Attempts, &c.RecoveryCodes,
			&dump.LastUserID, &dump.LastAuditID)
		if err != nil {
			return err
		}
		dump.Users = exportRows(ctx, d, t, "users",
			`SELECT `+userColumns+` FROM users ORDER BY id`, scanUser)
		dump.Sessions = exportRows(ctx, d, t, "sessions", `
			SELECT id, user_id, '', created_at, last_seen_at, expires_at,
				refresh_salt, refresh_gen, refresh_expires_at, rotated_at,
				revoked_at, revoked_reason, user_agent, ip, amr, auth_time
			FROM sessions ORDER BY rowid`, scanSession)
		dump.Audit = exportRows(ctx, d, t, "audit events",
			`SELECT `+auditColumns+` FROM audit_events ORDER BY id`, scanAudit)
		dump.Attempts = exportRows(ctx, d, t, "attempts",
			`SELECT key, failures, last_failure FROM attempts ORDER BY key`, scanAttempts)
		dump.RecoveryCodes = exportRows(ctx, d, t, "recovery codes",
			`SELECT user_id, hash, created_at FROM recovery_codes ORDER BY user_id, hash`, scanRecoveryCode)
		if err := fn(dump); err != nil {
			return ruleError{err}
		}
		return nil
	})
	if err == nil {
		return nil
	}
	var re ruleError
	if errors.As(err, &re) {
		return re.err
	}
	return d.fail("export", err)
}

// exportRows returns an iterator over the rows of query, run in q when it
// is ranged over and read with scan; what names them in errors.
func exportRows[T any](ctx context.Context, d *DB, q querier, what, query string,
	scan func(interface{ Scan(...any) error }) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		fail := func(err error) { yield(zero, d.fail("export "+what, err)) }
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			fail(err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				fail(err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			fail(err)
		}
	}
}

// scanAttempts reads a row of key, failures and last_failure.
func scanAttempts(row interface{ Scan(...any) error }) (*store.Attempts, error) {
	var (
		a    store.Attempts
		last int64
	)
	if err := row.Scan(&a.Key, &a.Failures, &last); err != nil {
		return nil, err
	}
	a.LastFailure = fromMillis(last)
	return &a, nil
}

// scanRecoveryCode reads a row of user_id, hash and created_at.
func scanRecoveryCode(row interface{ Scan(...any) error }) (*store.RecoveryCode, error) {
	var (
		c       store.RecoveryCode
		created int64
	)
	if err := row.Scan(&c.UserID, &c.Hash, &created); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMillis(created)
	return &c, nil
}
