package postgres

import (
	"testing"

	"gatehouse/server/postgres/pgtest"
	"gatehouse/server/store"
	"gatehouse/server/storetest"
)

// open opens a store on url and closes it when the test ends.
func open(t testing.TB, url string, opts Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// urlOf returns the URL of a new, empty database of the test's own (and
// skips the test without a server: see pgtest).
func urlOf(t testing.TB) string { return pgtest.URL(t) }

// openNew opens a store on a database of its own.
func openNew(t testing.TB) *DB {
	t.Helper()
	return open(t, pgtest.URL(t), Options{})
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openNew(t) })
}
