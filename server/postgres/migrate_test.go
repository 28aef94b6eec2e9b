package postgres

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

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
		vs = append(vs, m.version)
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
	next := ms[len(ms)-1].version + 1
	bad := append(ms, migration{
		version: next,
		name:    fmt.Sprintf("%04d_bad", next),
		sql:     "CREATE TABLE half_done (x integer); INSERT INTO no_such_table VALUES (1);",
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
