package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// ErrNotEmpty is the error of an Import into a database that holds rows
// and was not to be replaced.
var ErrNotEmpty = errors.New("the database is not empty")

// tables are the tables Import fills, in the order it fills them, and
// challenges, which it empties (with replace) and leaves empty.
const tables = "users, sessions, audit_events, attempts, recovery_codes, challenges"

// Import copies dump into the database in one transaction, and returns
// how many rows of each kind it copied. Nothing is changed unless all of
// it is copied.
//
// A database holding any row is refused with ErrNotEmpty, unless replace
// is set: then its rows are deleted first, in the same transaction. IDs
// are kept as they are (user IDs are the subjects of access tokens,
// session IDs name refresh tokens), times as the store keeps them. Rows
// are streamed into COPY, so a dump of any size takes little memory.
//
// Before committing, Import checks that each table holds exactly as many
// rows as dump.Counts says and as its iterator yielded, and moves the
// identities of users and audit events past dump.LastUserID and
// dump.LastAuditID (never back), so that new rows get IDs never handed out
// by either store.
//
// The tables are locked for the whole transaction: every other reader and
// writer waits, for up to its lock timeout. Gatehouse must not be running
// on the database meanwhile, as its caches would not learn of the change.
// No operation timeout applies: ctx alone bounds the import. An error
// yielded by dump's iterators is returned wrapped, as it is.
//
// Sign-in challenges are not part of a dump: with replace, those the
// database held are deleted with the rest.
func (d *DB) Import(ctx context.Context, dump *store.Dump, replace bool) (store.Counts, error) {
	var copied store.Counts
	step := "begin"
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// A copy takes as long as it takes.
		_, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0;
			LOCK TABLE `+tables+` IN ACCESS EXCLUSIVE MODE`)
		if err != nil {
			return err
		}
		if replace {
			step = "empty the database"
			// TRUNCATE keeps the identities where they are: an ID handed
			// out before is not handed out again.
			if _, err := tx.Exec(ctx, `TRUNCATE `+tables); err != nil {
				return err
			}
		} else {
			held, err := count(ctx, tx)
			if err != nil {
				return err
			}
			if held != (store.Counts{}) {
				return fmt.Errorf("%w: it holds %v", ErrNotEmpty, held)
			}
		}

		step = "copy users"
		copied.Users, err = copyRows(ctx, tx, "users",
			[]string{"id", "username", "full_name", "email", "role", "disabled", "password_hash", "created_at", "updated_at",
				"must_change_password", "totp_secret", "totp_key_id", "totp_pending", "totp_pending_key_id", "totp_last_step"},
			dump.Users, func(u *store.User) ([]any, error) {
				return []any{u.ID, text(u.Username), text(u.FullName), text(u.Email), text(string(u.Role)),
					u.Disabled, text(u.PasswordHash), ms(u.CreatedAt), ms(u.UpdatedAt),
					u.MustChangePassword, nullBytes(u.TOTP.Secret), text(u.TOTP.KeyID), nullBytes(u.TOTP.Pending),
					text(u.TOTP.PendingKeyID), u.TOTP.LastStep}, nil
			})
		if err != nil {
			return err
		}
		step = "copy sessions"
		// seq, left to its identity, numbers the sessions in the order
		// they come: their order of creation.
		copied.Sessions, err = copyRows(ctx, tx, "sessions",
			[]string{"id", "user_id", "created_at", "last_seen_at", "expires_at",
				"refresh_salt", "refresh_gen", "refresh_expires_at", "rotated_at",
				"revoked_at", "revoked_reason", "user_agent", "ip", "amr", "auth_time"},
			dump.Sessions, func(s *store.Session) ([]any, error) {
				amr, err := store.JoinAMR(s.AMR)
				return []any{text(s.ID), s.UserID, ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt),
					nonNil(s.RefreshSalt), s.RefreshGen, ms(s.RefreshExpiresAt), ms(s.RotatedAt),
					nullTime(s.RevokedAt), text(s.RevokedReason), text(s.UserAgent), text(s.IP),
					amr, ms(s.AuthTime)}, err
			})
		if err != nil {
			return err
		}
		step = "copy audit events"
		copied.AuditEvents, err = copyRows(ctx, tx, "audit_events",
			[]string{"id", "time", "actor_id", "actor", "action", "target", "ip", "outcome", "detail"},
			dump.Audit, func(e *shared.AuditEvent) ([]any, error) {
				return []any{e.ID, ms(e.Time), e.ActorID, text(e.Actor), text(e.Action), text(e.Target),
					text(e.IP), text(e.Outcome), text(e.Detail)}, nil
			})
		if err != nil {
			return err
		}
		step = "copy attempts"
		copied.Attempts, err = copyRows(ctx, tx, "attempts",
			[]string{"key", "failures", "last_failure"},
			dump.Attempts, func(a *store.Attempts) ([]any, error) {
				return []any{text(a.Key), a.Failures, ms(a.LastFailure)}, nil
			})
		if err != nil {
			return err
		}
		step = "copy recovery codes"
		copied.RecoveryCodes, err = copyRows(ctx, tx, "recovery_codes",
			[]string{"user_id", "hash", "created_at"},
			dump.RecoveryCodes, func(c *store.RecoveryCode) ([]any, error) {
				return []any{c.UserID, nonNil(c.Hash), ms(c.CreatedAt)}, nil
			})
		if err != nil {
			return err
		}

		step = "verify"
		if copied != dump.Counts {
			return fmt.Errorf("the source counted %v but yielded %v", dump.Counts, copied)
		}
		held, err := count(ctx, tx)
		if err != nil {
			return err
		}
		if held != copied {
			return fmt.Errorf("%v were read but the database holds %v", copied, held)
		}

		step = "move the identities"
		if err := restart(ctx, tx, "users", dump.LastUserID); err != nil {
			return err
		}
		if err := restart(ctx, tx, "audit_events", dump.LastAuditID); err != nil {
			return err
		}
		step = "commit"
		return nil
	})
	switch {
	case errors.Is(err, ErrNotEmpty):
		return store.Counts{}, fmt.Errorf("postgres: import: %w", err)
	case err != nil:
		return store.Counts{}, d.importFail(ctx, "import: "+step, err)
	}
	return copied, nil
}

// importFail is fail for Import: the server's own errors keep their
// message, which names the constraint a row broke, as a person moving
// data needs to know which; the others, and unavailability, are mapped as
// fail maps them.
func (d *DB) importFail(ctx context.Context, op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !unavailableCode(pe.Code) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return d.fail(ctx, op, err)
}

// count returns how many rows the tables hold.
func count(ctx context.Context, tx pgx.Tx) (store.Counts, error) {
	var c store.Counts
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users), (SELECT count(*) FROM sessions),
		(SELECT count(*) FROM audit_events), (SELECT count(*) FROM attempts),
		(SELECT count(*) FROM recovery_codes)`,
	).Scan(&c.Users, &c.Sessions, &c.AuditEvents, &c.Attempts, &c.RecoveryCodes)
	return c, err
}

// copyRows copies the rows of seq, each turned into the values of columns
// by values, into table with COPY, and returns how many it copied. An
// error of seq's is returned as it is, one of values' wrapped; a nil seq
// has no rows.
func copyRows[T any](ctx context.Context, tx pgx.Tx, table string, columns []string,
	seq iter.Seq2[T, error], values func(T) ([]any, error)) (int, error) {
	if seq == nil {
		return 0, nil
	}
	next, stop := iter.Pull2(seq)
	defer stop()
	var (
		read           int
		srcErr, valErr error
	)
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		v, err, ok := next()
		switch {
		case !ok:
			return nil, nil
		case err != nil:
			srcErr = err
			return nil, err
		}
		read++
		row, err := values(v)
		if err != nil {
			valErr = fmt.Errorf("row %d: %w", read, err)
		}
		return row, valErr
	}))
	switch {
	case srcErr != nil:
		return 0, fmt.Errorf("reading the source: %w", srcErr)
	case valErr != nil:
		return 0, valErr
	case err != nil:
		return 0, err
	case n != int64(read):
		return 0, fmt.Errorf("%d rows were read but COPY wrote %d", read, n)
	}
	return read, nil
}

// restart moves the identity of table's id column so that the next row
// gets an ID above last, above every ID in the table, and above every ID
// the identity handed out before; it never moves it back. Unlike setval,
// ALTER TABLE … RESTART is undone if the transaction rolls back.
func restart(ctx context.Context, tx pgx.Tx, table string, last int64) error {
	var next int64
	err := tx.QueryRow(ctx, `
		SELECT greatest($1::bigint, coalesce(max(id), 0),
			coalesce(pg_sequence_last_value(pg_get_serial_sequence($2, 'id')::regclass), 0)) + 1
		FROM `+table, last, table).Scan(&next)
	if err != nil {
		return err
	}
	// DDL takes no parameters; next is a number.
	_, err = tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s ALTER COLUMN id RESTART WITH %d`, table, next))
	return err
}
