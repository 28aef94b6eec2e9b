package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse/server/migration"
)

// migrationFiles holds the schema migrations, named VERSION_NAME.sql with
// VERSION a positive integer. A migration, once released, is never edited:
// changes go into a new one with the next version.
//
// Migrations are additive within a release: they add tables, columns that
// are nullable or have a default, indexes and constraints that what the
// previous release writes satisfies, and never drop, rename or retype
// what it reads or writes. Instances are upgraded one at a time: the
// first instance of a new release migrates the database while instances
// of the previous one keep serving on it, and must keep working. A removal
// waits for a later release, once no instance of the one that used the
// column is left. (An instance of the previous release that restarts
// after the migration refuses the newer schema: see migrate.)
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock is the key of the advisory lock under which migrations run.
var migrateLock = lockKey("migrate", "")

// migrations returns the embedded migrations, lowest version first.
func migrations() ([]migration.Step, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return migration.Load(sub)
}

// migrate brings the schema of the database up to date with the embedded
// migrations. The table schema_migrations records the version of every
// migration applied; each migration that is not recorded there runs, and
// is recorded, in a transaction of its own, so a failed migration leaves
// no trace and migrating again is harmless. Each of these transactions
// first takes a transaction-scoped advisory lock, so that of several
// instances starting at once one migrates while the others wait, then
// find the migration recorded. A database whose schema is newer than the
// newest migration is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return apply(ctx, pool, log, ms)
}

// apply applies the migrations ms, sorted by version, to the database.
func apply(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, ms []migration.Step) error {
	if len(ms) == 0 {
		return fmt.Errorf("no migrations")
	}
	known := ms[len(ms)-1].Version
	for _, m := range ms {
		applied, err := step(ctx, pool, m, known)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if applied {
			log.Info("applied a database migration", "migration", m.Name)
		}
	}
	return nil
}

// step applies the migration m unless it is recorded, and reports whether
// it did; known is the newest version the program knows.
func step(ctx context.Context, pool *pgxpool.Pool, m migration.Step, known int) (applied bool, err error) {
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// A migration may take longer than a request, and waiting for
		// another instance's is expected.
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
			return err
		}
		// READ COMMITTED: from here on, every statement sees what the
		// instance that held the lock before committed.
		if _, err := tx.Exec(ctx, `
			CREATE TABLE IF NOT EXISTS schema_migrations (
				version    integer     NOT NULL PRIMARY KEY,
				name       text        NOT NULL,
				applied_at timestamptz NOT NULL
			)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var newest *int
		if err := tx.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if newest != nil && *newest > known {
			return fmt.Errorf("database schema version %d is newer than this program's %d", *newest, known)
		}
		var n int
		err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err = tx.Exec(ctx,
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
			m.Version, m.Name)
		applied = err == nil
		return err
	})
	return applied && err == nil, err
}
