package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
)

// LockAttempts returns the failed attempts under key, holding the key
// whether or not it has a row: by an advisory lock on the key, taken
// before the row is read, and the row's lock when it exists. Of N
// concurrent read-modify-writes of one key, none is lost: those that read
// before another committed fail to serialize and run again (see Update).
func (t *tx) LockAttempts(ctx context.Context, key string) (*store.Attempts, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	a := &store.Attempts{Key: key}
	err = t.lockAndQueryRow(ctx, "attempts", text(key),
		`SELECT failures, last_failure FROM attempts WHERE key = $1 FOR UPDATE`, []any{text(key)},
		func(row pgx.Row) error { return row.Scan(&a.Failures, &a.LastFailure) })
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return a, nil
	case err != nil:
		return nil, t.fail(ctx, "lock attempts", err)
	}
	a.LastFailure = a.LastFailure.UTC()
	return a, nil
}

// AttemptKeys returns the keys with failures that begin with prefix,
// sorted byte-wise whatever the database's collation.
func (t *tx) AttemptKeys(ctx context.Context, prefix string) ([]string, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	rows, err := t.q.Query(ctx,
		`SELECT key FROM attempts WHERE starts_with(key, $1) ORDER BY key COLLATE "C"`, text(prefix))
	if err != nil {
		return nil, t.fail(ctx, "attempt keys", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, t.fail(ctx, "attempt keys", err)
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// SaveAttempts stores a, or removes its key when it has no failures.
func (t *tx) SaveAttempts(ctx context.Context, a *store.Attempts) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	if a.Failures <= 0 {
		_, err = t.q.Exec(ctx, `DELETE FROM attempts WHERE key = $1`, text(a.Key))
	} else {
		_, err = t.q.Exec(ctx, `
			INSERT INTO attempts (key, failures, last_failure) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure`,
			text(a.Key), a.Failures, ms(a.LastFailure))
	}
	if err != nil {
		return t.fail(ctx, "save attempts", err)
	}
	return nil
}
