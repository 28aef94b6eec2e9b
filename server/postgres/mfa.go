package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
)

// Recovery codes: every write of a user's codes first takes the advisory
// lock of the user's codes, so that writes of one user's codes take turns
// (see Update) instead of failing one another's serialization again and
// again. A consume is one statement that deletes the code and counts what
// is left: of concurrent consumes of one code, the first to commit deletes
// it, and every other meets the deletion, fails to serialize and, run
// again, finds no code.

// recoveryLock is the kind of the advisory lock of a user's codes.
const recoveryLock = "recovery codes"

// ReplaceRecoveryCodes sets the user's recovery codes to hashes.
func (t *tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	err = func() error {
		var owner bool
		err := t.lockAndQueryRow(ctx, recoveryLock, strconv.FormatInt(userID, 10),
			`SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, []any{userID},
			func(row pgx.Row) error { return row.Scan(&owner) })
		switch {
		case err != nil:
			return err
		case !owner:
			return fmt.Errorf("user %d: %w", userID, store.ErrNotFound)
		}
		if _, err := t.q.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		hs := make([][]byte, len(hashes))
		for i, h := range hashes {
			hs[i] = nonNil(h)
		}
		_, err = t.q.Exec(ctx, `
			INSERT INTO recovery_codes (user_id, hash, created_at)
			SELECT $1, h, $3 FROM unnest($2::bytea[]) AS h
			ON CONFLICT DO NOTHING`, userID, hs, ms(time.Now()))
		return err
	}()
	if err != nil {
		return t.fail(ctx, fmt.Sprintf("replace recovery codes of user %d", userID), err)
	}
	return nil
}

// ConsumeRecoveryCode removes the user's code with that hash, if there is
// one, and counts the user's codes left, in one statement.
func (t *tx) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, int, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return false, 0, err
	}
	defer exit()
	var (
		used bool
		left int
	)
	// The statement's reads see the codes as they were before its delete.
	err = t.lockAndQueryRow(ctx, recoveryLock, strconv.FormatInt(userID, 10), `
		WITH gone AS (DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM gone),
			(SELECT count(*) FROM recovery_codes WHERE user_id = $1) - (SELECT count(*) FROM gone)`,
		[]any{userID, nonNil(hash)},
		func(row pgx.Row) error { return row.Scan(&used, &left) })
	if err != nil {
		return false, 0, t.fail(ctx, fmt.Sprintf("consume a recovery code of user %d", userID), err)
	}
	return used, left, nil
}

// RecoveryCodesLeft counts the user's recovery codes.
func (t *tx) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer exit()
	var n int
	err = t.q.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n)
	if err != nil {
		return 0, t.fail(ctx, fmt.Sprintf("count recovery codes of user %d", userID), err)
	}
	return n, nil
}

const challengeColumns = `id, user_id, created_at, expires_at, attempts, used_at, device, cookie_only`

// scanChallenge reads a row of challengeColumns.
func scanChallenge(row pgx.Row) (*store.Challenge, error) {
	var (
		c    store.Challenge
		used *time.Time
	)
	if err := row.Scan(&c.ID, &c.UserID, &c.CreatedAt, &c.ExpiresAt, &c.Attempts, &used, &c.Device, &c.CookieOnly); err != nil {
		return nil, err
	}
	c.CreatedAt = c.CreatedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.UsedAt = fromNullTime(used)
	return &c, nil
}

// CreateChallenge inserts c. A challenge of a user who does not exist
// fails with store.ErrNotFound, a taken ID with store.ErrConflict; neither
// aborts the transaction (see CreateSession).
func (t *tx) CreateChallenge(ctx context.Context, c *store.Challenge) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	var owner, added bool
	err = t.q.QueryRow(ctx, `
		WITH owner AS (SELECT id FROM users WHERE id = $2),
		added AS (
			INSERT INTO challenges (`+challengeColumns+`)
			SELECT $1::text, owner.id, $3::timestamptz, $4::timestamptz, $5::integer, $6::timestamptz, $7::text, $8::boolean
			FROM owner
			ON CONFLICT DO NOTHING
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM owner), EXISTS (SELECT 1 FROM added)`,
		text(c.ID), c.UserID, ms(c.CreatedAt), ms(c.ExpiresAt), c.Attempts, nullTime(c.UsedAt),
		text(c.Device), c.CookieOnly).Scan(&owner, &added)
	switch {
	case err != nil:
	case !owner:
		err = fmt.Errorf("user %d: %w", c.UserID, store.ErrNotFound)
	case !added:
		err = store.ErrConflict
	}
	if err != nil {
		return t.fail(ctx, "create challenge", err)
	}
	return nil
}

// LockChallenge returns the challenge, holding its row (SELECT … FOR
// UPDATE) and its advisory lock.
func (t *tx) LockChallenge(ctx context.Context, id string) (*store.Challenge, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	var c *store.Challenge
	err = t.lockAndQueryRow(ctx, "challenge", text(id),
		`SELECT `+challengeColumns+` FROM challenges WHERE id = $1 FOR UPDATE`, []any{text(id)},
		func(row pgx.Row) (err error) { c, err = scanChallenge(row); return err })
	if err != nil {
		return nil, t.fail(ctx, "lock challenge", err)
	}
	return c, nil
}

// SaveChallenge writes the challenge's Attempts and UsedAt.
func (t *tx) SaveChallenge(ctx context.Context, c *store.Challenge) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	tag, err := t.q.Exec(ctx, `UPDATE challenges SET attempts = $1, used_at = $2 WHERE id = $3`,
		c.Attempts, nullTime(c.UsedAt), text(c.ID))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return t.fail(ctx, "save challenge", err)
	}
	return nil
}
