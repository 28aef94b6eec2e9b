package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"gatehouse/server/store"
)

// LockAttempts returns the failed attempts under key; the transaction holds
// the whole database.
func (t *tx) LockAttempts(ctx context.Context, key string) (*store.Attempts, error) {
	a := &store.Attempts{Key: key}
	var last int64
	err := t.q.QueryRowContext(ctx,
		`SELECT failures, last_failure FROM attempts WHERE key = ?`, key).Scan(&a.Failures, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, nil
	case err != nil:
		return nil, t.fail("attempts", err)
	}
	a.LastFailure = fromMillis(last)
	return a, nil
}

// AttemptKeys returns the keys with failures that begin with prefix,
// sorted. Keys compare as bytes, so the range [prefix, prefix+"\xff"…)
// is read from the primary key's index.
func (t *tx) AttemptKeys(ctx context.Context, prefix string) ([]string, error) {
	rows, err := t.q.QueryContext(ctx,
		`SELECT key FROM attempts WHERE key >= ? AND substr(key, 1, length(?)) = ? ORDER BY key`, prefix, prefix, prefix)
	if err != nil {
		return nil, t.fail("attempt keys", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, t.fail("attempt keys", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("attempt keys", err)
	}
	return keys, nil
}

// SaveAttempts stores a, or removes its key when it has no failures.
func (t *tx) SaveAttempts(ctx context.Context, a *store.Attempts) error {
	var err error
	if a.Failures <= 0 {
		_, err = t.q.ExecContext(ctx, `DELETE FROM attempts WHERE key = ?`, a.Key)
	} else {
		_, err = t.q.ExecContext(ctx, `
			INSERT INTO attempts (key, failures, last_failure) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure`,
			a.Key, a.Failures, millis(a.LastFailure))
	}
	if err != nil {
		return t.fail("save attempts", err)
	}
	return nil
}
