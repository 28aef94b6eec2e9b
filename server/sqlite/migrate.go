package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"gatehouse/server/migration"
)

// migrationFiles holds the schema migrations, named VERSION_NAME.sql with
// VERSION a positive integer. A migration, once released, is never edited:
// changes go into a new one with the next version.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations, lowest version first.
func migrations() ([]migration.Step, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return migration.Load(sub)
}

// migrate brings the schema of db up to date with the embedded migrations.
// The table schema_migrations records the version of every migration
// applied; each migration that is not recorded there runs, and is recorded,
// in a transaction of its own, so a failed migration leaves no trace and
// migrating again is harmless. A database whose schema is newer than the
// newest migration is refused.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return apply(ctx, db, ms)
}

// apply applies the migrations ms, sorted by version, to db.
func apply(ctx context.Context, db *sql.DB, ms []migration.Step) error {
	if len(ms) == 0 {
		return fmt.Errorf("no migrations")
	}
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if known := ms[len(ms)-1].Version; newest.Valid && newest.Int64 > int64(known) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", newest.Int64, known)
	}

	for _, m := range ms {
		err := inTx(ctx, db, nil, func(tx *sql.Tx) error {
			var n int
			err := tx.QueryRowContext(ctx,
				"SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx,
				"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, millis(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
