package postgres

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse/server/migration"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// schemaVersions returns the versions recorded in schema_migrations.
func schemaVersions(t *testing.T, db *DB) []int {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T) []int {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	u := urlOf(t)
	const n = 5
	l := &logs{}
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(t.Context(), u, Options{Logger: slog.New(l)})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	want := wantVersions(t)
	if got := schemaVersions(t, dbs[0]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schema_migrations holds versions %v, want %v", got, want)
	}
	if got := l.count(slog.LevelInfo, "applied a database migration"); got != len(want) {
		t.Errorf("%d migrations applied, want %d, once each: logged %q", got, len(want), l.all())
	}
	// Every instance works on the schema.
	for i, db := range dbs {
		err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.CreateUser(t.Context(), &store.User{User: shared.User{Username: fmt.Sprint("user-", i), Role: shared.RoleViewer}})
		})
		if err != nil {
			t.Errorf("instance %d: CreateUser: %v", i, err)
		}
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	u := urlOf(t)
	db := open(t, u, Options{})
	alice := &store.User{User: shared.User{Username: "alice", Role: shared.RoleAdmin}, PasswordHash: "h"}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateUser(t.Context(), alice) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := range 2 {
		l := &logs{}
		db := open(t, u, Options{Logger: slog.New(l)})
		got, err := db.UserByUsername(t.Context(), "alice")
		if err != nil || got.ID != alice.ID {
			t.Errorf("reopen #%d: UserByUsername = %+v, %v; want alice with ID %d", i+1, got, err, alice.ID)
		}
		if got := schemaVersions(t, db); fmt.Sprint(got) != fmt.Sprint(wantVersions(t)) {
			t.Errorf("reopen #%d: versions %v recorded, want %v", i+1, got, wantVersions(t))
		}
		if n := l.count(slog.LevelInfo, "applied a database migration"); n != 0 {
			t.Errorf("reopen #%d applied %d migrations, want none", i+1, n)
		}
		db.Close()
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	ctx := t.Context()
	db := openNew(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	next := ms[len(ms)-1].Version + 1
	bad := append(ms, migration.Step{
		Version: next,
		Name:    fmt.Sprintf("%04d_bad", next),
		SQL:     "CREATE TABLE half_done (x integer); INSERT INTO no_such_table VALUES (1);",
	})
	if err := apply(ctx, db.pool, db.log, bad); err == nil {
		t.Fatal("applying a failing migration succeeded")
	}
	var n int
	err = db.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM schema_migrations WHERE version = $1)
		     + (SELECT count(*) FROM pg_tables WHERE tablename = 'half_done')`, next).Scan(&n)
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
	u := urlOf(t)
	db := open(t, u, Options{})
	_, err := db.pool.Exec(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', now())")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(t.Context(), u, Options{}); err == nil {
		db.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a database with a newer schema: %v, want it to say so", err)
	}
}

// The statements the release before migration 0002 runs, verbatim in what
// they name: an instance of it keeps serving while a newer one migrates.
const (
	oldUserColumns   = `id, username, full_name, email, role, disabled, password_hash, created_at, updated_at`
	oldCreateUser    = `INSERT INTO users (username, full_name, email, role, disabled, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`
	oldSaveUser      = `UPDATE users SET full_name = $1, email = $2, role = $3, disabled = $4, password_hash = $5, updated_at = $6 WHERE id = $7`
	oldCreateSession = `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, refresh_salt, refresh_gen, refresh_expires_at, rotated_at, revoked_at, revoked_reason, user_agent, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	oldSaveSession   = `UPDATE sessions SET last_seen_at = $1, expires_at = $2, refresh_salt = $3, refresh_gen = $4, refresh_expires_at = $5, rotated_at = $6, revoked_at = $7, revoked_reason = $8, user_agent = $9, ip = $10 WHERE id = $11`
	oldSessionSelect = `SELECT s.id, s.user_id, u.username, s.created_at, s.last_seen_at, s.expires_at, s.refresh_salt, s.refresh_gen, s.refresh_expires_at, s.rotated_at, s.revoked_at, s.revoked_reason, s.user_agent, s.ip FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`
)

// TestMigrationToMFAKeepsThePreviousReleaseWorking migrates a database of
// version 1 holding rows while "an instance of the previous release" (its
// statements, on a connection of their own) keeps reading and writing, and
// checks that its statements work on the new schema, that what it writes
// reads back right in this release (no second factor, a password sign-in
// at the session's creation), and that its updates leave the new columns
// as this release wrote them.
func TestMigrationToMFAKeepsThePreviousReleaseWorking(t *testing.T) {
	ctx := t.Context()
	u := urlOf(t)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Version != 1 || ms[1].Version != 2 {
		t.Fatalf("migrations %d and %d, want 1 and 2", ms[0].Version, ms[1].Version)
	}
	old := rawConn(t, u)
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := apply(ctx, pool, slog.New(slog.DiscardHandler), ms[:1]); err != nil {
		t.Fatal(err)
	}

	at := func(s int) time.Time { return time.UnixMilli(1_767_000_000_000 + int64(s)*1000).UTC() }
	createUser := func(name string) int64 {
		t.Helper()
		var id int64
		if err := old.QueryRow(ctx, oldCreateUser, name, "Full "+name, name+"@example.com", "viewer", false, "h",
			at(0), at(1)).Scan(&id); err != nil {
			t.Fatalf("the previous release's CreateUser: %v", err)
		}
		return id
	}
	createSession := func(id string, user int64, created int) {
		t.Helper()
		if _, err := old.Exec(ctx, oldCreateSession, id, user, at(created), at(created), at(created+3600),
			[]byte{1, 2}, 0, at(created+600), at(created), nil, "", "ua", "192.0.2.1"); err != nil {
			t.Fatalf("the previous release's CreateSession: %v", err)
		}
	}
	before := createUser("before")
	createSession("s-before", before, 10)

	db := open(t, u, Options{}) // migrates
	if got := schemaVersions(t, db); fmt.Sprint(got) != fmt.Sprint(wantVersions(t)) {
		t.Fatalf("versions %v, want %v", got, wantVersions(t))
	}

	// The previous release goes on, on the migrated schema.
	after := createUser("after")
	createSession("s-after", after, 20)
	var name string
	if err := old.QueryRow(ctx, `SELECT `+oldUserColumns+` FROM users WHERE id = $1`, before).Scan(
		new(int64), &name, new(string), new(string), new(string), new(bool), new(string), new(time.Time), new(time.Time)); err != nil || name != "before" {
		t.Errorf("the previous release's user read = %q, %v", name, err)
	}

	// This release reads what it wrote.
	for _, id := range []int64{before, after} {
		got, err := db.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.TOTP.Enabled() || got.TOTP.Pending != nil || got.TOTP.LastStep != 0 || got.MFA || got.MustChangePassword {
			t.Errorf("user %q written by the previous release: %+v, want no second factor and no forced change", got.Username, got)
		}
	}
	for id, created := range map[string]int{"s-before": 10, "s-after": 20} {
		got, err := db.SessionByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.AMR, []string{"pwd"}) || !got.AuthTime.Equal(at(created)) || got.AuthTime.Location() != time.UTC {
			t.Errorf("session %s written by the previous release: AMR %q, AuthTime %v; want [pwd] at its creation %v",
				id, got.AMR, got.AuthTime, at(created))
		}
	}

	// This release writes the new columns; the previous release's updates
	// keep them.
	err = db.Update(ctx, func(tx store.Tx) error {
		usr, err := tx.LockUser(ctx, after)
		if err != nil {
			return err
		}
		usr.MustChangePassword = true
		usr.TOTP = store.TOTP{Secret: []byte("sealed"), KeyID: "k1", LastStep: 9}
		if err := tx.SaveUser(ctx, usr); err != nil {
			return err
		}
		s, err := tx.LockSession(ctx, "s-after")
		if err != nil {
			return err
		}
		s.AMR, s.AuthTime = []string{"pwd", "otp"}, at(30)
		return tx.SaveSession(ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(ctx, oldSaveUser, "Renamed", "r@example.com", "manager", false, "h2", at(40), after); err != nil {
		t.Fatalf("the previous release's SaveUser: %v", err)
	}
	if _, err := old.Exec(ctx, oldSaveSession, at(41), at(3600), []byte{3}, 1, at(600), at(41), nil, "", "ua", "192.0.2.1", "s-after"); err != nil {
		t.Fatalf("the previous release's SaveSession: %v", err)
	}
	var gen int64
	if err := old.QueryRow(ctx, oldSessionSelect, "s-after").Scan(new(string), new(int64), new(string), new(time.Time),
		new(time.Time), new(time.Time), new([]byte), &gen, new(time.Time), new(time.Time), new(*time.Time),
		new(string), new(string), new(string)); err != nil || gen != 1 {
		t.Errorf("the previous release's session read: generation %d, %v", gen, err)
	}
	got, err := db.UserByID(ctx, after)
	if err != nil {
		t.Fatal(err)
	}
	if got.FullName != "Renamed" || !got.MustChangePassword || !got.MFA || string(got.TOTP.Secret) != "sealed" || got.TOTP.LastStep != 9 {
		t.Errorf("user after the previous release's SaveUser: %+v, want its change and this release's second factor", got)
	}
	s, err := db.SessionByID(ctx, "s-after")
	if err != nil {
		t.Fatal(err)
	}
	if s.RefreshGen != 1 || !slices.Equal(s.AMR, []string{"pwd", "otp"}) || !s.AuthTime.Equal(at(30)) {
		t.Errorf("session after the previous release's SaveSession: %+v, want its change and this release's AMR and AuthTime", s)
	}

	// Deleting a user, as the previous release does, takes the new rows
	// with it.
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, after, [][]byte{{1}, {2}}); err != nil {
			return err
		}
		return tx.CreateChallenge(ctx, &store.Challenge{ID: "c1", UserID: after, CreatedAt: at(50), ExpiresAt: at(350)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(ctx, `DELETE FROM users WHERE id = $1`, after); err != nil {
		t.Fatalf("the previous release's DeleteUser: %v", err)
	}
	var left int
	if err := old.QueryRow(ctx, `SELECT (SELECT count(*) FROM recovery_codes) + (SELECT count(*) FROM challenges)`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d recovery codes and challenges left after the user's deletion (%v), want none", left, err)
	}
}
