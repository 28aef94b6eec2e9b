package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server/migration"
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

// createUser creates u in a transaction of its own.
func createUser(ctx context.Context, db *DB, u *store.User) error {
	return db.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, u) })
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
	if err := createUser(ctx, db, u); err != nil {
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
		if n != len(ms) || top != ms[len(ms)-1].Version {
			t.Errorf("reopen #%d: %d migrations recorded up to version %d, want %d up to %d",
				i+1, n, top, len(ms), ms[len(ms)-1].Version)
		}
		if err := migrate(ctx, db.db); err != nil {
			t.Errorf("migrating again: %v", err)
		}
		db.Close()
	}
}

// TestMigrationGivesOldSessionsFreshSalts checks migration 0002 on a
// database of version 1 that holds sessions: each keeps its fields and gets
// a salt of its own at generation 0; one never rotated takes its creation
// time as RotatedAt. (Migration 0003 then gives each the AMR ["pwd"] and
// its creation as AuthTime.)
func TestMigrationGivesOldSessionsFreshSalts(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Version != 1 || ms[1].Version != 2 {
		t.Fatalf("migrations %d and %d, want 1 and 2", ms[0].Version, ms[1].Version)
	}
	old := sql.OpenDB(connector{dsn: dsn(path)})
	if err := apply(ctx, old, ms[:1]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, username, role, password_hash, created_at, updated_at)
		VALUES (1, 'alice', 'viewer', 'h', 0, 0)`,
		`INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, refresh_hash,
			prev_refresh_hash, refresh_expires_at, rotated_at, revoked_at, revoked_reason, user_agent, ip)
		VALUES ('fresh', 1, 1000, 2000, 9000, x'01', NULL, 5000, NULL, NULL, '', 'ua', '192.0.2.1'),
			('rotated', 1, 1100, 2100, 9100, x'02', x'03', 5100, 1500, 3000, 'logout', 'ua2', '2001:db8::1')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	revoked := at(3000)
	salts := map[string]bool{}
	for _, want := range []store.Session{
		{ID: "fresh", UserID: 1, Username: "alice", CreatedAt: at(1000), LastSeenAt: at(2000), ExpiresAt: at(9000),
			RefreshExpiresAt: at(5000), RotatedAt: at(1000), UserAgent: "ua", IP: "192.0.2.1",
			AMR: []string{"pwd"}, AuthTime: at(1000)},
		{ID: "rotated", UserID: 1, Username: "alice", CreatedAt: at(1100), LastSeenAt: at(2100), ExpiresAt: at(9100),
			RefreshExpiresAt: at(5100), RotatedAt: at(1500), RevokedAt: &revoked, RevokedReason: "logout",
			UserAgent: "ua2", IP: "2001:db8::1", AMR: []string{"pwd"}, AuthTime: at(1100)},
	} {
		got, err := db.SessionByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("SessionByID(%s): %v", want.ID, err)
		}
		if len(got.RefreshSalt) != 16 || salts[string(got.RefreshSalt)] {
			t.Errorf("session %s: RefreshSalt = %x, want 16 bytes of its own", want.ID, got.RefreshSalt)
		}
		salts[string(got.RefreshSalt)] = true
		got.RefreshSalt = nil
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("session %s after the migration = %+v, want %+v", want.ID, *got, want)
		}
	}
}

// TestMigrationToMFA checks migration 0003 on a database of version 2:
// users keep their fields, with no second factor and no forced password
// change; sessions keep theirs, signed in with a password ("pwd") at their
// creation.
func TestMigrationToMFA(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if ms[1].Version != 2 || ms[2].Version != 3 {
		t.Fatalf("migrations %d and %d, want 2 and 3", ms[1].Version, ms[2].Version)
	}
	old := sql.OpenDB(connector{dsn: dsn(path)})
	if err := apply(ctx, old, ms[:2]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, username, full_name, email, role, disabled, password_hash, created_at, updated_at)
		VALUES (1, 'alice', 'Alice', 'a@example.com', 'admin', 1, 'h', 1000, 2000)`,
		`INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, refresh_salt, refresh_gen,
			refresh_expires_at, rotated_at, revoked_at, revoked_reason, user_agent, ip)
		VALUES ('s1', 1, 1000, 2000, 9000, x'0102', 4, 5000, 1500, NULL, '', 'ua', '192.0.2.1')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	wantUser := &store.User{User: shared.User{ID: 1, Username: "alice", FullName: "Alice", Email: "a@example.com",
		Role: shared.RoleAdmin, Disabled: true, CreatedAt: at(1000), UpdatedAt: at(2000)}, PasswordHash: "h"}
	if got, err := db.UserByID(ctx, 1); err != nil || !reflect.DeepEqual(got, wantUser) {
		t.Errorf("user after the migration = %+v, %v\nwant %+v", got, err, wantUser)
	}
	wantSession := &store.Session{ID: "s1", UserID: 1, Username: "alice", CreatedAt: at(1000), LastSeenAt: at(2000),
		ExpiresAt: at(9000), RefreshSalt: []byte{1, 2}, RefreshGen: 4, RefreshExpiresAt: at(5000), RotatedAt: at(1500),
		UserAgent: "ua", IP: "192.0.2.1", AMR: []string{"pwd"}, AuthTime: at(1000)}
	if got, err := db.SessionByID(ctx, "s1"); err != nil || !reflect.DeepEqual(got, wantSession) {
		t.Errorf("session after the migration = %+v, %v\nwant %+v", got, err, wantSession)
	}
	// The new tables take rows of the users that were there.
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, 1, [][]byte{{1}}); err != nil {
			return err
		}
		return tx.CreateChallenge(ctx, &store.Challenge{ID: "c1", UserID: 1, CreatedAt: at(3000), ExpiresAt: at(4000)})
	})
	if err != nil {
		t.Errorf("writing recovery codes and a challenge after the migration: %v", err)
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	next := ms[len(ms)-1].Version + 1
	bad := append(ms, migration.Step{
		Version: next,
		Name:    fmt.Sprintf("%04d_bad", next),
		SQL:     "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);",
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

// TestConcurrentWriters checks that write transactions wait for the write
// lock rather than fail with SQLITE_BUSY, and that reads run beside them.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	var users []*store.User
	for i := range 4 {
		u := &store.User{User: shared.User{Username: fmt.Sprintf("admin-%d", i), Role: shared.RoleAdmin}}
		if err := createUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	const n = 40
	errs := make(chan error, 4*n)
	var wg sync.WaitGroup
	for i := range n {
		u := users[i%len(users)]
		wg.Go(func() {
			errs <- db.Update(ctx, func(tx store.Tx) error {
				got, err := tx.LockUser(ctx, u.ID)
				if err != nil {
					return err
				}
				got.FullName = fmt.Sprintf("name %d", i)
				got.UpdatedAt = time.Now()
				return tx.SaveUser(ctx, got)
			})
		})
		wg.Go(func() {
			errs <- createUser(ctx, db, &store.User{User: shared.User{Username: fmt.Sprintf("user-%d", i), Role: shared.RoleViewer}})
		})
		wg.Go(func() {
			errs <- db.Update(ctx, func(tx store.Tx) error {
				a, err := tx.LockAttempts(ctx, "ip:192.0.2.1")
				if err != nil {
					return err
				}
				a.Failures++
				a.LastFailure = time.Now()
				return tx.SaveAttempts(ctx, a)
			})
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
	if _, total, err := db.ListUsers(ctx, store.UserFilter{Query: "user-"}); err != nil || total != n {
		t.Errorf("ListUsers(user-) total = %d, %v; want %d", total, err, n)
	}
	var failures int
	if err := db.db.QueryRowContext(ctx, `SELECT failures FROM attempts WHERE key = 'ip:192.0.2.1'`).Scan(&failures); err != nil || failures != n {
		t.Errorf("failures = %d, %v; want %d", failures, err, n)
	}
}

// TestReadsDoNotWaitForWriters checks that a read through the store
// answers while a write transaction holds the write lock (WAL).
func TestReadsDoNotWaitForWriters(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	u := &store.User{User: shared.User{Username: "alice", Role: shared.RoleAdmin}}
	if err := createUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.LockEnabledAdmins(ctx); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() {
			_, err := db.UserByID(ctx, u.ID)
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(BusyTimeout / 2):
			return errors.New("a read waited for the write transaction")
		}
	})
	if err != nil {
		t.Fatal(err)
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
	if err := createUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	dup := *u
	err := createUser(ctx, db, &dup)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser(duplicate): %v, want ErrConflict", err)
	}
	orphan := &store.Session{ID: "orphan", UserID: u.ID + 1}
	err2 := db.Update(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, orphan) })
	if !errors.Is(err2, store.ErrNotFound) {
		t.Fatalf("CreateSession(user who does not exist): %v, want ErrNotFound", err2)
	}
	for _, err := range []error{err, err2} {
		for _, word := range []string{"INSERT", "UNIQUE", "FOREIGN", "users.username", "constraint"} {
			if strings.Contains(err.Error(), word) {
				t.Errorf("error %q shows %q", err, word)
			}
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
		{"user by ID", `SELECT ` + userColumns + ` FROM users WHERE id = ?`, []any{1}},
		{"session by ID", `SELECT ` + sessionColumns + ` ` + sessionFrom + ` WHERE s.id = ?`, []any{"s"}},
		{"sessions of a user", `SELECT ` + sessionColumns + ` ` + sessionFrom + `
			WHERE s.user_id = ? ORDER BY s.created_at DESC, s.rowid DESC`, []any{1}},
		{"sessions to revoke", `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
			WHERE user_id = ? AND revoked_at IS NULL AND id <> ? RETURNING id`, []any{0, "r", 1, "s"}},
		{"sessions of a deleted user", `DELETE FROM sessions WHERE user_id = ?`, []any{1}},
		{"active sessions", `SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`, []any{0}},
		{"attempts by key", `SELECT failures, last_failure FROM attempts WHERE key = ?`, []any{"k"}},
		{"enabled admins", `SELECT id FROM users WHERE role = ? AND disabled = 0 ORDER BY id`, []any{"admin"}},
		{"audit by actor", `SELECT id FROM audit_events WHERE actor = ? ORDER BY time DESC, id DESC`, []any{"alice"}},
		{"audit by action", `SELECT id FROM audit_events WHERE action = ? AND time >= ?`, []any{"login", 0}},
		{"audit by time", `SELECT id FROM audit_events ORDER BY time DESC, id DESC LIMIT 10`, nil},
		{"recovery codes of a user", `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, []any{1}},
		{"a recovery code of a user", `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, []any{1, []byte{1}}},
		{"recovery codes replaced", `DELETE FROM recovery_codes WHERE user_id = ?`, []any{1}},
		{"challenge by ID", `SELECT ` + challengeColumns + ` FROM challenges WHERE id = ?`, []any{"c"}},
		{"challenge saved", `UPDATE challenges SET attempts = ?, used_at = ? WHERE id = ?`, []any{1, nil, "c"}},
		// What the foreign keys' cascade runs when a user is deleted.
		{"challenges of a deleted user", `DELETE FROM challenges WHERE user_id = ?`, []any{1}},
		{"expired challenges", `DELETE FROM challenges WHERE expires_at < ?1`, []any{0}},
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
		t.Logf("%s: %q", q.name, plan)
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
	if err := createUser(ctx, db, &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not where it was asked to be: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log next to the database: %v", err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	create := func(name string) error {
		return db.Update(ctx, func(tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{User: shared.User{Username: name, Role: shared.RoleViewer}, PasswordHash: "h"})
		})
	}
	for i := range 50 {
		if err := create(fmt.Sprintf("before%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the server keeps writing
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := create(fmt.Sprintf("during%04d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	path := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want mode 0600", st, err)
	}
	copyDB, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	_, total, err := copyDB.ListUsers(ctx, store.UserFilter{})
	if err != nil || total < 50 {
		t.Fatalf("the backup holds %d users (%v), want at least the 50 written before", total, err)
	}
	if err := db.Backup(ctx, path); err == nil {
		t.Fatal("a backup over an existing file succeeded")
	}
}
