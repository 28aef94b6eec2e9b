package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// The rule that the last enabled admin stays lives in the service layer;
// the store offers LockEnabledAdmins, on which the rule is checked inside
// the transaction of the change it guards.
var adminTests = []test{
	{"LockEnabledAdmins returns the IDs of the enabled admins only, lowest first", testEnabledAdmins},
	{"LockEnabledAdmins sees the writes made earlier in its transaction", testEnabledAdminsInTx},
	{"concurrent transactions each disabling an admin while another remains leave exactly one", testConcurrentDisables},
	{"LockEnabledAdmins holds the enabled admins against change until its transaction ends", testHoldEnabledAdmins},
}

func testEnabledAdmins(t *testing.T, f *fixture) {
	if got := f.enabledAdmins(); len(got) != 0 {
		t.Errorf("LockEnabledAdmins on an empty store = %v, want none", got)
	}
	f.user("viewer", shared.RoleViewer)
	f.user("manager", shared.RoleManager)
	f.disabledUser("retired", shared.RoleAdmin)
	if got := f.enabledAdmins(); len(got) != 0 {
		t.Errorf("LockEnabledAdmins without an enabled admin = %v, want none", got)
	}

	// Named and created at times in the order opposite to their IDs'.
	var want []int64
	for i, name := range []string{"zed", "mia", "abe"} {
		u := newUser(name, shared.RoleAdmin)
		u.CreatedAt = base.Add(-time.Duration(i) * time.Hour)
		want = append(want, f.createUser(u).ID)
		f.disabledUser("retired-"+name, shared.RoleAdmin)
		f.user("manager-"+name, shared.RoleManager)
	}
	want = sorted(want)
	if got := f.enabledAdmins(); !slices.Equal(got, want) {
		t.Errorf("LockEnabledAdmins = %v, want %v", got, want)
	}
}

func testEnabledAdminsInTx(t *testing.T, f *fixture) {
	for _, commit := range []bool{true, false} {
		t.Run(map[bool]string{true: "committed", false: "rolled back"}[commit], func(t *testing.T) {
			f := f.fresh(t)
			a1 := f.user("admin1", shared.RoleAdmin)
			a2 := f.user("admin2", shared.RoleAdmin)
			m := f.user("manager", shared.RoleManager)
			d := f.disabledUser("retired", shared.RoleAdmin)
			before := []int64{a1.ID, a2.ID}

			var last []int64
			errRollBack := errors.New("roll back")
			err := f.s.Update(f.ctx, func(tx store.Tx) error {
				save := func(u *store.User, change func(u *store.User)) func() error {
					return func() error {
						v := *u
						change(&v)
						return tx.SaveUser(f.ctx, &v)
					}
				}
				n := newUser("new-admin", shared.RoleAdmin)
				ids := func(us ...*store.User) func() []int64 {
					return func() []int64 {
						var ids []int64
						for _, u := range us {
							ids = append(ids, u.ID)
						}
						return sorted(ids)
					}
				}
				for _, step := range []struct {
					what  string
					write func() error
					want  func() []int64
				}{
					{"nothing", func() error { return nil }, ids(a1, a2)},
					{"promoting a manager", save(m, func(u *store.User) { u.Role = shared.RoleAdmin }), ids(a1, a2, m)},
					{"disabling an admin", save(a1, func(u *store.User) { u.Disabled = true }), ids(a2, m)},
					{"enabling a disabled admin", save(d, func(u *store.User) { u.Disabled = false }), ids(a2, m, d)},
					{"creating an admin", func() error { return tx.CreateUser(f.ctx, n) }, ids(a2, m, d, n)},
					{"creating a disabled admin", func() error {
						u := newUser("disabled-admin", shared.RoleAdmin)
						u.Disabled = true
						return tx.CreateUser(f.ctx, u)
					}, ids(a2, m, d, n)},
					{"deleting an admin", func() error { return tx.DeleteUser(f.ctx, a2.ID) }, ids(m, d, n)},
					{"demoting an admin", save(m, func(u *store.User) { u.Role = shared.RoleViewer }), ids(d, n)},
				} {
					if err := step.write(); err != nil {
						return fmt.Errorf("%s: %w", step.what, err)
					}
					got, err := tx.LockEnabledAdmins(f.ctx)
					if err != nil {
						return fmt.Errorf("LockEnabledAdmins after %s: %w", step.what, err)
					}
					if want := step.want(); !slices.Equal(got, want) {
						t.Errorf("LockEnabledAdmins after %s = %v, want %v", step.what, got, want)
					}
					last = step.want()
				}
				if !commit {
					return errRollBack
				}
				return nil
			})
			if commit {
				f.must(err, "Update")
			} else if err != errRollBack {
				t.Fatalf("Update = %v, want %v", err, errRollBack)
			}
			want := before
			if commit {
				want = last
			}
			if got := f.enabledAdmins(); !slices.Equal(got, want) {
				t.Errorf("LockEnabledAdmins in the next transaction = %v, want %v", got, want)
			}
		})
	}
}

// testConcurrentDisables runs the last-admin rule, as the service layer
// does, in concurrent transactions: each disables an admin of its own if
// LockEnabledAdmins says another remains. Exactly one must find itself the
// last.
func testConcurrentDisables(t *testing.T, f *fixture) {
	const n = 10
	var admins []*store.User
	for i := range n {
		admins = append(admins, f.user(fmt.Sprintf("admin-%d", i), shared.RoleAdmin))
	}
	errLast := errors.New("the last enabled admin")
	errs := concurrently(n, func(i int) error {
		return f.s.Update(f.ctx, func(tx store.Tx) error {
			ids, err := tx.LockEnabledAdmins(f.ctx)
			if err != nil {
				return err
			}
			if !slices.Contains(ids, admins[i].ID) {
				return fmt.Errorf("admin %d is not among the enabled admins %v", admins[i].ID, ids)
			}
			if len(ids) < 2 {
				return errLast
			}
			u, err := tx.LockUser(f.ctx, admins[i].ID)
			if err != nil {
				return err
			}
			time.Sleep(widen)
			u.Disabled = true
			return tx.SaveUser(f.ctx, u)
		})
	})
	last := -1
	for i, err := range errs {
		switch {
		case err == nil:
		case err == errLast && last < 0:
			last = i
		case err == errLast:
			t.Errorf("both %s and %s found themselves the last enabled admin", admins[last].Username, admins[i].Username)
		default:
			t.Errorf("transaction of %s: %v", admins[i].Username, err)
		}
	}
	got := f.enabledAdmins()
	if last < 0 {
		t.Fatalf("no transaction found its admin the last; enabled admins left: %v", got)
	}
	if want := []int64{admins[last].ID}; !slices.Equal(got, want) {
		t.Errorf("enabled admins left = %v, want only %v, the one found last", got, want)
	}
}

func testHoldEnabledAdmins(t *testing.T, f *fixture) {
	// The first transaction finds two enabled admins and, after the pause,
	// disables the first of them; the second makes one of the changes that
	// would alter what the first found, then reads the first admin.
	type users struct{ a1, a2, manager, retired *store.User }
	for _, tc := range []struct {
		name   string
		change func(f *fixture, tx store.Tx, u users) error
		want   func(u users) []int64 // enabled admins left
	}{
		{"demoting an admin", func(f *fixture, tx store.Tx, u users) error {
			v, err := tx.LockUser(f.ctx, u.a2.ID)
			if err != nil {
				return err
			}
			v.Role = shared.RoleManager
			return tx.SaveUser(f.ctx, v)
		}, func(u users) []int64 { return []int64{} }},
		{"disabling an admin", func(f *fixture, tx store.Tx, u users) error {
			v, err := tx.LockUser(f.ctx, u.a2.ID)
			if err != nil {
				return err
			}
			v.Disabled = true
			return tx.SaveUser(f.ctx, v)
		}, func(u users) []int64 { return []int64{} }},
		{"deleting an admin", func(f *fixture, tx store.Tx, u users) error {
			return tx.DeleteUser(f.ctx, u.a2.ID)
		}, func(u users) []int64 { return []int64{} }},
		{"promoting a manager", func(f *fixture, tx store.Tx, u users) error {
			v, err := tx.LockUser(f.ctx, u.manager.ID)
			if err != nil {
				return err
			}
			v.Role = shared.RoleAdmin
			return tx.SaveUser(f.ctx, v)
		}, func(u users) []int64 { return sorted([]int64{u.a2.ID, u.manager.ID}) }},
		{"enabling a disabled admin", func(f *fixture, tx store.Tx, u users) error {
			v, err := tx.LockUser(f.ctx, u.retired.ID)
			if err != nil {
				return err
			}
			v.Disabled = false
			return tx.SaveUser(f.ctx, v)
		}, func(u users) []int64 { return sorted([]int64{u.a2.ID, u.retired.ID}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			u := users{
				a1:      f.user("admin1", shared.RoleAdmin),
				a2:      f.user("admin2", shared.RoleAdmin),
				manager: f.user("manager", shared.RoleManager),
				retired: f.disabledUser("retired", shared.RoleAdmin),
			}
			var firstRead []int64
			secondSaw := "nothing"
			f.holds(func(tx store.Tx, pause func()) error {
				ids, err := tx.LockEnabledAdmins(f.ctx)
				if err != nil {
					return err
				}
				firstRead = ids
				pause()
				v, err := tx.LockUser(f.ctx, u.a1.ID)
				if err != nil {
					return err
				}
				v.Disabled = true
				return tx.SaveUser(f.ctx, v)
			}, func(tx store.Tx) error {
				if err := tc.change(f, tx, u); err != nil {
					return err
				}
				v, err := tx.UserByID(f.ctx, u.a1.ID)
				if err != nil {
					return err
				}
				secondSaw = map[bool]string{true: "disabled", false: "enabled"}[v.Disabled]
				return nil
			})
			if want := []int64{u.a1.ID, u.a2.ID}; !slices.Equal(firstRead, want) {
				t.Errorf("the first transaction found enabled admins %v, want %v", firstRead, want)
			}
			if secondSaw != "disabled" {
				t.Errorf("the second transaction saw %s %s, want disabled, as the first left them", u.a1.Username, secondSaw)
			}
			if got, want := f.enabledAdmins(), tc.want(u); !slices.Equal(got, want) {
				t.Errorf("enabled admins left = %v, want %v", got, want)
			}
		})
	}
}
