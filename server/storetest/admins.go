package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var adminTests = []test{
	{"the last enabled admin can be neither disabled nor demoted, and nothing changes", testLastAdminUpdate},
	{"an admin can be disabled or demoted while another enabled admin exists", testAdminUpdateWithOther},
	{"a disabled admin does not count as another admin", testDisabledAdminDoesNotCount},
	{"the last enabled admin can change every other field", testLastAdminOtherFields},
	{"a disabled admin can be demoted and deleted when no enabled admin exists", testDisabledAdminFree},
	{"the last enabled admin cannot be deleted, and nothing changes", testLastAdminDelete},
	{"an admin can be deleted while another enabled admin exists", testAdminDeleteWithOther},
	{"concurrent demotions of the last two enabled admins leave one", testConcurrentDemotions},
}

// demotions are the updates that take an enabled admin's rights away,
// along with other changes that must not happen when they are refused.
var demotions = []struct {
	name string
	upd  store.UserUpdate
}{
	{"disabling", store.UserUpdate{Disabled: ptr(true), FullName: ptr("Changed")}},
	{"demoting to manager", store.UserUpdate{Role: ptr(shared.RoleManager), FullName: ptr("Changed")}},
	{"demoting to viewer", store.UserUpdate{Role: ptr(shared.RoleViewer), Email: ptr("changed@example.com")}},
	{"disabling and demoting", store.UserUpdate{Role: ptr(shared.RoleViewer), Disabled: ptr(true)}},
}

// applied returns u as upd applied at now leaves it.
func applied(u *store.User, upd store.UserUpdate, now time.Time) *store.User {
	v := *u
	if upd.FullName != nil {
		v.FullName = *upd.FullName
	}
	if upd.Email != nil {
		v.Email = *upd.Email
	}
	if upd.Role != nil {
		v.Role = *upd.Role
	}
	if upd.Disabled != nil {
		v.Disabled = *upd.Disabled
	}
	v.UpdatedAt = now
	return &v
}

func testLastAdminUpdate(t *testing.T, f *fixture) {
	for _, d := range demotions {
		t.Run(d.name, func(t *testing.T) {
			f := f.fresh(t)
			f.user("viewer", shared.RoleViewer)
			f.user("manager", shared.RoleManager)
			admin := f.user("root", shared.RoleAdmin)
			s := f.session(admin, base, nil)

			_, err := f.s.UpdateUser(f.ctx, admin.ID, d.upd, base.Add(time.Hour))
			checkErr(t, "UpdateUser(last admin)", err, store.ErrLastAdmin)
			checkUser(t, f.getUser(admin.ID), admin)
			f.wantUnrevoked(s.ID)
		})
	}
}

func testAdminUpdateWithOther(t *testing.T, f *fixture) {
	for _, d := range demotions {
		t.Run(d.name, func(t *testing.T) {
			f := f.fresh(t)
			a1 := f.user("admin1", shared.RoleAdmin)
			a2 := f.user("admin2", shared.RoleAdmin)
			s := f.session(a1, base, nil)

			now := base.Add(time.Hour)
			got, err := f.s.UpdateUser(f.ctx, a1.ID, d.upd, now)
			f.must(err, "UpdateUser(admin1)")
			checkUser(t, got, applied(a1, d.upd, now))
			if d.upd.Disabled != nil && *d.upd.Disabled {
				f.wantRevoked(s.ID, shared.RevokedUserDisabled, now)
			} else {
				f.wantUnrevoked(s.ID)
			}

			_, err = f.s.UpdateUser(f.ctx, a2.ID, d.upd, now)
			checkErr(t, "UpdateUser(admin2, now the last)", err, store.ErrLastAdmin)
			checkUser(t, f.getUser(a2.ID), a2)
		})
	}
}

func testDisabledAdminDoesNotCount(t *testing.T, f *fixture) {
	for _, d := range demotions {
		t.Run(d.name, func(t *testing.T) {
			f := f.fresh(t)
			f.disabledUser("retired", shared.RoleAdmin)
			admin := f.user("root", shared.RoleAdmin)

			_, err := f.s.UpdateUser(f.ctx, admin.ID, d.upd, base.Add(time.Hour))
			checkErr(t, "UpdateUser(last enabled admin)", err, store.ErrLastAdmin)
			checkUser(t, f.getUser(admin.ID), admin)
		})
	}
}

func testLastAdminOtherFields(t *testing.T, f *fixture) {
	admin := f.user("root", shared.RoleAdmin)
	upd := store.UserUpdate{
		FullName: ptr("Root"), Email: ptr("root@example.com"),
		Role: ptr(shared.RoleAdmin), Disabled: ptr(false),
	}
	now := base.Add(time.Hour)
	got, err := f.s.UpdateUser(f.ctx, admin.ID, upd, now)
	f.must(err, "UpdateUser(last admin, keeping them an enabled admin)")
	checkUser(t, got, applied(admin, upd, now))
}

func testDisabledAdminFree(t *testing.T, f *fixture) {
	ghost := f.disabledUser("ghost", shared.RoleAdmin)
	f.user("viewer", shared.RoleViewer)
	now := base.Add(time.Hour)
	upd := store.UserUpdate{Role: ptr(shared.RoleViewer)}
	got, err := f.s.UpdateUser(f.ctx, ghost.ID, upd, now)
	f.must(err, "UpdateUser(disabled admin)")
	checkUser(t, got, applied(ghost, upd, now))

	ghost2 := f.disabledUser("ghost2", shared.RoleAdmin)
	f.must(f.s.DeleteUser(f.ctx, ghost2.ID), "DeleteUser(disabled admin)")
}

func testLastAdminDelete(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name   string
		others func(f *fixture)
	}{
		{"the only admin", func(f *fixture) {
			f.user("viewer", shared.RoleViewer)
			f.user("manager", shared.RoleManager)
		}},
		{"the only enabled admin beside a disabled one", func(f *fixture) {
			f.disabledUser("retired", shared.RoleAdmin)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			tc.others(f)
			admin := f.user("root", shared.RoleAdmin)
			s := f.session(admin, base, nil)

			checkErr(t, "DeleteUser(last admin)", f.s.DeleteUser(f.ctx, admin.ID), store.ErrLastAdmin)
			checkUser(t, f.getUser(admin.ID), admin)
			checkSession(t, f.getSession(s.ID), s)
		})
	}
}

func testAdminDeleteWithOther(t *testing.T, f *fixture) {
	a1 := f.user("admin1", shared.RoleAdmin)
	a2 := f.user("admin2", shared.RoleAdmin)
	f.must(f.s.DeleteUser(f.ctx, a1.ID), "DeleteUser(admin1)")
	checkErr(t, "DeleteUser(admin2, now the last)", f.s.DeleteUser(f.ctx, a2.ID), store.ErrLastAdmin)
}

// testConcurrentDemotions checks that the last-admin check and the change
// are atomic: two admins demoted at once must not both go.
func testConcurrentDemotions(t *testing.T, f *fixture) {
	last := f.user("admin-0", shared.RoleAdmin)
	for round := 1; round <= 10; round++ {
		other := f.user(fmt.Sprintf("admin-%d", round), shared.RoleAdmin)
		pair := []*store.User{last, other}
		upds := []store.UserUpdate{{Role: ptr(shared.RoleManager)}, {Disabled: ptr(true)}}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range pair {
			wg.Go(func() {
				<-start
				_, errs[i] = f.s.UpdateUser(f.ctx, pair[i].ID, upds[i], base)
			})
		}
		close(start)
		wg.Wait()

		var failed []int
		for i, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, store.ErrLastAdmin):
				failed = append(failed, i)
			default:
				t.Fatalf("round %d: UpdateUser(%s): %v", round, pair[i].Username, err)
			}
		}
		if len(failed) != 1 {
			t.Fatalf("round %d: %d of 2 concurrent demotions failed with ErrLastAdmin, want 1 (errors %v)", round, len(failed), errs)
		}
		users, _, err := f.s.ListUsers(f.ctx, store.UserFilter{})
		f.must(err, "ListUsers")
		var admins []string
		for _, u := range users {
			if u.Role == shared.RoleAdmin && !u.Disabled {
				admins = append(admins, u.Username)
			}
		}
		if len(admins) != 1 || admins[0] != pair[failed[0]].Username {
			t.Fatalf("round %d: enabled admins %q, want only %q", round, admins, pair[failed[0]].Username)
		}
		last = pair[failed[0]]
	}
}
