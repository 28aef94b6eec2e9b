package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/server/storetest"
	"gatehouse/shared"
)

// openTemp opens a new database in a temporary directory and closes it
// when the test ends.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "data", "gatehouse.db") // the directory is created
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := &store.User{User: shared.User{Username: "alice", Role: shared.RoleAdmin}, PasswordHash: "h"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen #%d: %v", i+1, err)
		}
		got, err := db.UserByUsername(ctx, "alice")
		if err != nil || got.ID != u.ID {
			t.Errorf("reopen #%d: UserByUsername = %+v, %v; want alice with ID %d", i+1, got, err, u.ID)
		}
		var n, top int
		err = db.db.QueryRowContext(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &top)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || top != ms[len(ms)-1].version {
			t.Errorf("reopen #%d: %d migrations recorded up to version %d, want %d up to %d",
				i+1, n, top, len(ms), ms[len(ms)-1].version)
		}
		if err := migrate(ctx, db.db); err != nil {
			t.Errorf("migrating again: %v", err)
		}
		db.Close()
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	next := ms[len(ms)-1].version + 1
	bad := append(ms, migration{
		version: next,
		name:    fmt.Sprintf("%04d_bad", next),
		sql:     "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);",
	})
	if err := apply(ctx, db.db, bad); err == nil {
		t.Fatal("applying a failing migration succeeded")
	}
	var n int
	err = db.db.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM schema_migrations WHERE version = ?)
		     + (SELECT count(*) FROM sqlite_schema WHERE name = 'half_done')`, next).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the failed migration was recorded or left its table behind")
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after a failed migration: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_, err = db.db.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a database with a newer schema: %v, want it to say so", err)
	}
}

func TestConnectionSettings(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	// Hold several connections at once, so that the pool has to open more
	// than one: every connection must carry the settings.
	for i := range 3 {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, p := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds())},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatalf("connection %d: PRAGMA %s: %v", i, p.pragma, err)
			}
			if got != p.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
}

// TestConcurrentWriters checks that transactions reading before they write
// wait for the write lock rather than fail with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	var users []*store.User
	for i := range 4 {
		u := &store.User{User: shared.User{Username: fmt.Sprintf("admin-%d", i), Role: shared.RoleAdmin}}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	const n = 40
	errs := make(chan error, 3*n)
	var wg sync.WaitGroup
	for i := range n {
		u := users[i%len(users)]
		wg.Go(func() {
			name := fmt.Sprintf("name %d", i)
			_, err := db.UpdateUser(ctx, u.ID, store.UserUpdate{FullName: &name}, time.Now())
			errs <- err
		})
		wg.Go(func() {
			errs <- db.CreateUser(ctx, &store.User{User: shared.User{Username: fmt.Sprintf("user-%d", i), Role: shared.RoleViewer}})
		})
		wg.Go(func() {
			_, _, err := db.ListUsers(ctx, store.UserFilter{Query: "user"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("this is not an SQLite database, not at all, it is much too long to be one"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
	}{
		{"a path below a regular file", filepath.Join(file, "gatehouse.db")},
		{"a directory", dir},
		{"a file that is not a database", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.path)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Open: %v, want an error wrapping ErrUnavailable", err)
			}
		})
	}
	for _, path := range []string{"", ":memory:"} {
		if db, err := Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestErrorsDoNotShowSQL(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	u := &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	dup := *u
	err := db.CreateUser(ctx, &dup)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser(duplicate): %v, want ErrConflict", err)
	}
	for _, word := range []string{"INSERT", "UNIQUE", "users.username"} {
		if strings.Contains(err.Error(), word) {
			t.Errorf("CreateUser(duplicate): error %q shows %q", err, word)
		}
	}
}

func TestLookupsUseIndexes(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	for _, q := range []struct {
		name, sql string
		args      []any
	}{
		{"user by username", `SELECT ` + userColumns + ` FROM users WHERE username = ?`, []any{"alice"}},
		{"session by refresh hash", `SELECT ` + sessionColumns + ` ` + sessionFrom + `
			WHERE s.refresh_hash = ? OR s.prev_refresh_hash = ?`, []any{[]byte("h"), []byte("h")}},
		{"sessions of a user", `SELECT id FROM sessions WHERE user_id = ?`, []any{1}},
		{"audit by actor", `SELECT id FROM audit_events WHERE actor = ? ORDER BY time DESC, id DESC`, []any{"alice"}},
		{"audit by action", `SELECT id FROM audit_events WHERE action = ? AND time >= ?`, []any{"login", 0}},
		{"audit by time", `SELECT id FROM audit_events ORDER BY time DESC, id DESC LIMIT 10`, nil},
	} {
		rows, err := db.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "USING") {
				t.Errorf("%s: the plan scans a whole table: %q", q.name, plan)
			}
		}
	}
}

func TestPathIsNotParsed(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "a dir?with#odd&chars%20")
	path := filepath.Join(dir, "gate house.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not where it was asked to be: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log next to the database: %v", err)
	}
}
