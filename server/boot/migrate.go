package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"gatehouse/server/postgres"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
)

// MigrateStore copies everything the SQLite database at from holds —
// users, sessions, audit events and throttle counters — into the
// PostgreSQL database at to, in one transaction on to, and writes to out
// what it copied. IDs, refresh-token state and times are kept, so that
// with the same signing keys every session goes on working on PostgreSQL:
// access tokens, refresh tokens (and the detection of an old one's reuse),
// lockouts.
//
// from must be an existing Gatehouse database file holding at least one
// user; it is migrated to the current schema first, as serve would. to
// must be a postgres:// or postgresql:// URL; its schema is created or
// upgraded, and a database already holding rows is refused unless replace
// is set, which deletes them in the same transaction (see
// postgres.DB.Import). Gatehouse must not be running on either database
// meanwhile: what the source gains during the move is not copied, and
// instances on the target would keep stale caches.
func MigrateStore(ctx context.Context, from, to string, replace bool, out io.Writer) error {
	if !postgresURL(to) {
		return fmt.Errorf("migrate-store: the target %q is not a postgres:// or postgresql:// URL", redact(to))
	}
	// sqlite.Open creates a missing file: a mistyped path must not become
	// an empty source.
	switch info, err := os.Stat(from); {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("migrate-store: the source database %s does not exist", from)
	case err != nil:
		return fmt.Errorf("migrate-store: the source database: %w", err)
	case !info.Mode().IsRegular():
		return fmt.Errorf("migrate-store: the source database %s is not a file", from)
	}

	src, err := sqlite.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("migrate-store: source: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to, postgres.Options{})
	if err != nil {
		return fmt.Errorf("migrate-store: target %s: %w", redact(to), err)
	}
	defer dst.Close()

	var (
		copied              store.Counts
		lastUser, lastAudit int64
	)
	err = src.Export(ctx, func(d *store.Dump) error {
		if d.Counts.Users == 0 {
			return fmt.Errorf("the source database %s holds no user: is it the right file?", from)
		}
		lastUser, lastAudit = d.LastUserID, d.LastAuditID
		c, err := dst.Import(ctx, d, replace)
		copied = c
		return err
	})
	switch {
	case errors.Is(err, postgres.ErrNotEmpty):
		return fmt.Errorf("migrate-store: %w; -replace deletes it all first", err)
	case err != nil:
		return fmt.Errorf("migrate-store: %w", err)
	}

	how := "into the empty database"
	if replace {
		how = "replacing what the database held"
	}
	fmt.Fprintf(out, "Copied %s to %s, %s, in one transaction:\n", from, redact(to), how)
	for _, row := range []struct {
		what string
		n    int
	}{
		{"users", copied.Users}, {"sessions", copied.Sessions},
		{"audit events", copied.AuditEvents}, {"throttle keys", copied.Attempts}, {"recovery codes", copied.RecoveryCodes},
	} {
		fmt.Fprintf(out, "  %-14s %8d\n", row.what, row.n)
	}
	fmt.Fprintf(out, "Counts verified. New users get IDs above %d, new audit events above %d.\n", lastUser, lastAudit)
	return nil
}
