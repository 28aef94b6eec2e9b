package integration

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"gatehouse/app/client"
	"gatehouse/server/postgres/pgtest"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// onEachStore runs test on SQLite and on PostgreSQL (a database of its
// own, when GATEHOUSE_TEST_DATABASE_URL names a server; skipped otherwise),
// passing the settings that select the store.
func onEachStore(t *testing.T, test func(t *testing.T, settings ...string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, "GATEHOUSE_DATABASE_URL="+pgURL(t))
	})
}

// pgURL is a database of the test's own, reached through a small pool:
// the tests run side by side against one server's max_connections.
func pgURL(t testing.TB) string {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	return u.String()
}

// The hard case of the last-admin rule: two admins demoting (or disabling,
// or deleting) each other at the same moment must leave an enabled admin.
// On SQLite the transactions run one after the other; on PostgreSQL both
// lock the enabled admins and the second sees the first's commit.
func TestTwoAdminsActingOnEachOtherLeaveAnAdmin(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, settings ...string) {
		e := newEnv(t, settings...)
		root := e.admin()
		rootMe, err := root.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		actions := []struct {
			name string
			do   func(c *client.Client, id int64) error
		}{
			{"demote", func(c *client.Client, id int64) error {
				_, err := c.UpdateUser(bg, id, shared.UserUpdate{Role: ptr(shared.RoleViewer)})
				return err
			}},
			{"disable", func(c *client.Client, id int64) error {
				_, err := c.UpdateUser(bg, id, shared.UserUpdate{Disabled: ptr(true)})
				return err
			}},
			{"delete", func(c *client.Client, id int64) error { return c.DeleteUser(bg, id) }},
		}
		for _, a := range actions {
			for round := range 8 {
				// Two admins besides nobody: root steps aside for the round.
				x, xc := e.newUser(shared.RoleAdmin)
				y, yc := e.newUser(shared.RoleAdmin)
				if _, err := root.UpdateUser(bg, rootMe.ID, shared.UserUpdate{Role: ptr(shared.RoleManager)}); err != nil {
					t.Fatalf("root steps aside: %v", err)
				}
				var wg sync.WaitGroup
				var errX, errY error
				wg.Go(func() { errX = a.do(xc, y.ID) })
				wg.Go(func() { errY = a.do(yc, x.ID) })
				wg.Wait()
				admins := enabledAdmins(t, e)
				if len(admins) == 0 {
					t.Fatalf("%s round %d: both %ss succeeded (%v, %v): no enabled admin is left", a.name, round, a.name, errX, errY)
				}
				if errX == nil && errY == nil {
					t.Fatalf("%s round %d: both succeeded yet %v remain", a.name, round, admins)
				}
				// Restore: whoever is still an admin promotes root back.
				survivor := xc
				if errX != nil {
					survivor = yc
				}
				if _, err := survivor.UpdateUser(bg, rootMe.ID, shared.UserUpdate{Role: ptr(shared.RoleAdmin)}); err != nil {
					t.Fatalf("%s round %d: restoring root: %v", a.name, round, err)
				}
				root = e.admin()
				for _, id := range []int64{x.ID, y.ID} {
					var ae *shared.Error
					if err := root.DeleteUser(bg, id); err != nil && (!errors.As(err, &ae) || ae.Status != http.StatusNotFound) {
						t.Fatalf("cleanup: %v", err)
					}
				}
			}
		}
	})
}

// enabledAdmins lists the usernames of the enabled admins, from the store.
func enabledAdmins(t *testing.T, e *env) []string {
	t.Helper()
	users, _, err := e.sys.Store.ListUsers(bg, store.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		if u.EnabledAdmin() {
			out = append(out, fmt.Sprintf("%s(%d)", u.Username, u.ID))
		}
	}
	return out
}
