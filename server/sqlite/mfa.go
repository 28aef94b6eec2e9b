package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gatehouse/server/store"
)

// Recovery codes and sign-in challenges. The transaction holds the whole
// database, so a consume is a delete and a count, and LockChallenge a plain
// read.

// ReplaceRecoveryCodes sets the user's recovery codes to hashes.
func (t *tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	err := func() error {
		if _, err := userByID(ctx, t.q, userID); err != nil {
			return err
		}
		if _, err := t.q.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		now := millis(time.Now())
		for _, h := range hashes {
			_, err := t.q.ExecContext(ctx, `
				INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, userID, nonNil(h), now)
			if err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return t.fail(fmt.Sprintf("replace recovery codes of user %d", userID), err)
	}
	return nil
}

// ConsumeRecoveryCode removes the user's code with that hash, if there is
// one, and counts the user's codes left.
func (t *tx) ConsumeRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, int, error) {
	res, err := t.q.ExecContext(ctx,
		`DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, nonNil(hash))
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return false, 0, t.fail(fmt.Sprintf("consume a recovery code of user %d", userID), err)
	}
	left, err := t.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return false, 0, err
	}
	return n > 0, left, nil
}

// RecoveryCodesLeft counts the user's recovery codes.
func (t *tx) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	if err != nil {
		return 0, t.fail(fmt.Sprintf("count recovery codes of user %d", userID), err)
	}
	return n, nil
}

const challengeColumns = `id, user_id, created_at, expires_at, attempts, used_at, device, cookie_only`

// scanChallenge reads a row of challengeColumns.
func scanChallenge(row interface{ Scan(...any) error }) (*store.Challenge, error) {
	var (
		c                store.Challenge
		created, expires int64
		used             sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.UserID, &created, &expires, &c.Attempts, &used, &c.Device, &c.CookieOnly); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMillis(created)
	c.ExpiresAt = fromMillis(expires)
	if used.Valid {
		at := fromMillis(used.Int64)
		c.UsedAt = &at
	}
	return &c, nil
}

// CreateChallenge inserts c. A challenge of a user who does not exist
// fails with store.ErrNotFound, a taken ID with store.ErrConflict.
func (t *tx) CreateChallenge(ctx context.Context, c *store.Challenge) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO challenges (`+challengeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, millis(c.CreatedAt), millis(c.ExpiresAt), c.Attempts, nullTime(c.UsedAt), c.Device, c.CookieOnly)
	if err != nil {
		return t.fail("create challenge", err)
	}
	return nil
}

// LockChallenge returns the challenge; the transaction holds the whole
// database.
func (t *tx) LockChallenge(ctx context.Context, id string) (*store.Challenge, error) {
	c, err := scanChallenge(t.q.QueryRowContext(ctx,
		`SELECT `+challengeColumns+` FROM challenges WHERE id = ?`, id))
	if err != nil {
		return nil, t.fail("lock challenge", err)
	}
	return c, nil
}

// SaveChallenge writes the challenge's Attempts and UsedAt.
func (t *tx) SaveChallenge(ctx context.Context, c *store.Challenge) error {
	res, err := t.q.ExecContext(ctx, `UPDATE challenges SET attempts = ?, used_at = ? WHERE id = ?`,
		c.Attempts, nullTime(c.UsedAt), c.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return t.fail("save challenge", err)
	}
	return nil
}
