package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// The database and its companions hold password hashes and session salts:
// only the owner may read them, and their directory is the owner's alone.

func TestTheDatabaseFilesAreOwnerOnly(t *testing.T) {
	files := func(path string) []string { return []string{path, path + "-wal", path + "-shm"} }
	for _, tt := range []struct {
		name   string
		before func(t *testing.T, path string) // what an older version left behind
	}{
		{"a new database in a new directory", func(t *testing.T, path string) {}},
		{"a database an older version left readable by all", func(t *testing.T, path string) {
			old, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { old.Close() }) // open, so that its WAL and shared memory stay
			if err := createUser(t.Context(), old, &store.User{User: shared.User{Username: "older", Role: shared.RoleViewer}}); err != nil {
				t.Fatal(err)
			}
			for _, f := range files(path) {
				if err := os.Chmod(f, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data", "gatehouse.db")
			tt.before(t, path)
			db, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := createUser(t.Context(), db, &store.User{User: shared.User{Username: "newer", Role: shared.RoleViewer}}); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("the directory: %v (%v), want mode 0700", st.Mode().Perm(), err)
			}
			for _, f := range files(path) {
				st, err := os.Stat(f)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(f), err)
					continue
				}
				if m := st.Mode().Perm(); m != 0o600 {
					t.Errorf("%s has mode %v, want 0600", filepath.Base(f), m)
				}
			}
		})
	}
}
