package storetest

import (
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var userTests = []test{
	{"CreateUser sets the ID and the times and stores every field", testCreateUser},
	{"CreateUser fails with ErrConflict when the username is taken", testCreateUserConflict},
	{"UserByUsername matches the exact username only", testUserByUsername},
	{"ListUsers returns every user newest first", testListUsersOrder},
	{"ListUsers matches the query case-insensitively in username, full name and e-mail", testListUsersQuery},
	{"ListUsers pages with Offset and Limit and counts every match", testListUsersPaging},
	{"UpdateUser changes the fields given and leaves nil ones as they are", testUpdateUserFields},
	{"UpdateUser moves UpdatedAt to now and keeps CreatedAt", testUpdateUserTimes},
	{"disabling a user revokes every session of theirs", testDisableRevokes},
	{"enabling a user or changing other fields revokes nothing", testUpdateKeepsSessions},
	{"SetPassword stores the hash and revokes every other session of the user", testSetPassword},
	{"SetPassword without a session to keep revokes every session of the user", testSetPasswordKeepNone},
	{"DeleteUser removes the user and their sessions and frees the username", testDeleteUser},
	{"CountUsersByRole counts users per role, disabled ones included", testCountUsersByRole},
}

func testCreateUser(t *testing.T, f *fixture) {
	for _, u := range []*store.User{
		newUser("viewer", shared.RoleViewer),
		{
			User: shared.User{
				Username: "émilie.admin",
				FullName: "Émilie du Châtelet",
				Role:     shared.RoleAdmin,
				Disabled: true,
			},
			PasswordHash: "$2a$10$abcdefghijklmnopqrstuv",
		},
		{User: shared.User{Username: "bare", Role: shared.RoleManager}},
	} {
		t.Run(u.Username, func(t *testing.T) {
			f := f.sub(t)
			before := time.Now().Truncate(time.Millisecond)
			f.must(f.s.CreateUser(f.ctx, u), "CreateUser")
			after := time.Now()
			if u.ID == 0 {
				t.Error("CreateUser left ID zero")
			}
			if u.CreatedAt.Before(before) || u.CreatedAt.After(after) {
				t.Errorf("CreatedAt = %v, want between %v and %v", u.CreatedAt, before, after)
			}
			if !sameTime(u.CreatedAt, ms(u.CreatedAt)) {
				t.Errorf("CreatedAt = %v, want it as stored: in UTC, at millisecond precision", u.CreatedAt)
			}
			if !u.UpdatedAt.Equal(u.CreatedAt) {
				t.Errorf("UpdatedAt = %v, want CreatedAt %v", u.UpdatedAt, u.CreatedAt)
			}
			checkUser(t, f.getUser(u.ID), u)
		})
	}
	users, _, err := f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers")
	ids := map[int64]bool{}
	for _, u := range users {
		ids[u.ID] = true
	}
	if len(users) != 3 || len(ids) != 3 {
		t.Errorf("ListUsers returned %d users with %d distinct IDs, want 3 and 3", len(users), len(ids))
	}
}

func testCreateUserConflict(t *testing.T, f *fixture) {
	first := f.user("alice", shared.RoleViewer)
	dup := newUser("alice", shared.RoleAdmin)
	dup.FullName = "Another Alice"
	checkErr(t, "CreateUser(taken username)", f.s.CreateUser(f.ctx, dup), store.ErrConflict)

	got, err := f.s.UserByUsername(f.ctx, "alice")
	f.must(err, "UserByUsername")
	checkUser(t, got, first)
	if _, total, err := f.s.ListUsers(f.ctx, store.UserFilter{}); err != nil || total != 1 {
		t.Errorf("ListUsers: total = %d, %v; want 1 user", total, err)
	}
}

func testUserByUsername(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	f.user("alice2", shared.RoleViewer)

	got, err := f.s.UserByUsername(f.ctx, "alice")
	f.must(err, "UserByUsername(alice)")
	checkUser(t, got, alice)

	for _, name := range []string{"alic", "alice ", "ALICE", "", "bob"} {
		_, err := f.s.UserByUsername(f.ctx, name)
		checkErr(t, "UserByUsername("+name+")", err, store.ErrNotFound)
	}
}

func testListUsersOrder(t *testing.T, f *fixture) {
	users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers on an empty store")
	if len(users) != 0 || total != 0 {
		t.Errorf("ListUsers on an empty store = %d users, total %d; want none", len(users), total)
	}

	var created []*store.User
	for _, name := range []string{"carol", "alice", "bob", "dave"} {
		created = append(created, f.user(name, shared.RoleViewer))
	}
	users, total, err = f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers")
	if want := []string{"dave", "bob", "alice", "carol"}; !slices.Equal(usernames(users), want) || total != 4 {
		t.Fatalf("ListUsers = %q, total %d; want %q, total 4", usernames(users), total, want)
	}
	for i, u := range users {
		checkUser(t, u, created[len(created)-1-i])
	}
}

func testListUsersQuery(t *testing.T, f *fixture) {
	for _, u := range []struct{ username, fullName, email string }{
		{"alice", "Alice Liddell", "alice@wonderland.example"},
		{"bob", "Robert Tables", "bobby@tables.example"},
		{"emile", "Émile Zola", "ez@paris.example"},
		{"under_score", "Percent 100% Sure", "x@y.example"},
	} {
		nu := newUser(u.username, shared.RoleViewer)
		nu.FullName, nu.Email = u.fullName, u.email
		f.createUser(nu)
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"an empty query matches everyone", "", []string{"under_score", "emile", "bob", "alice"}},
		{"a query matches the username in any case", "ALI", []string{"alice"}},
		{"a query matches the full name", "liddell", []string{"alice"}},
		{"a query matches the e-mail address", "TABLES.EXAMPLE", []string{"bob"}},
		{"a user matching in several fields is listed once", "ob", []string{"bob"}},
		{"a query folds non-ASCII letters", "ÉMILE", []string{"emile"}},
		{"a query matches several users", "e", []string{"under_score", "emile", "bob", "alice"}},
		{"a percent sign matches itself only", "%", []string{"under_score"}},
		{"an underscore matches itself only", "_", []string{"under_score"}},
		{"a query matching no one finds no one", "zz-top", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{Query: tc.query})
			if err != nil {
				t.Fatalf("ListUsers(%q): %v", tc.query, err)
			}
			if got := usernames(users); !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Errorf("ListUsers(%q) = %q, total %d; want %q, total %d", tc.query, got, total, tc.want, len(tc.want))
			}
		})
	}
}

func testListUsersPaging(t *testing.T, f *fixture) {
	for i, name := range []string{"user-1", "user-2", "user-3", "user-4", "user-5"} {
		u := newUser(name, shared.RoleViewer)
		u.FullName = []string{"Odd", "Even"}[i%2]
		f.createUser(u)
	}
	for _, tc := range []struct {
		name   string
		filter store.UserFilter
		want   []string
		total  int
	}{
		{"the first page", store.UserFilter{Limit: 2}, []string{"user-5", "user-4"}, 5},
		{"a middle page", store.UserFilter{Offset: 2, Limit: 2}, []string{"user-3", "user-2"}, 5},
		{"the last, short page", store.UserFilter{Offset: 4, Limit: 2}, []string{"user-1"}, 5},
		{"a page past the end", store.UserFilter{Offset: 5, Limit: 2}, []string{}, 5},
		{"no limit", store.UserFilter{}, []string{"user-5", "user-4", "user-3", "user-2", "user-1"}, 5},
		{"an offset without a limit", store.UserFilter{Offset: 3}, []string{"user-2", "user-1"}, 5},
		{"a page of a query", store.UserFilter{Query: "even", Limit: 1}, []string{"user-4"}, 2},
		{"the next page of a query", store.UserFilter{Query: "even", Offset: 1, Limit: 1}, []string{"user-2"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users, total, err := f.s.ListUsers(f.ctx, tc.filter)
			if err != nil {
				t.Fatalf("ListUsers(%+v): %v", tc.filter, err)
			}
			if got := usernames(users); !slices.Equal(got, tc.want) || total != tc.total {
				t.Errorf("ListUsers(%+v) = %q, total %d; want %q, total %d", tc.filter, got, total, tc.want, tc.total)
			}
		})
	}
}

func testUpdateUserFields(t *testing.T, f *fixture) {
	now := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name   string
		upd    store.UserUpdate
		change func(*store.User)
	}{
		{"full name", store.UserUpdate{FullName: ptr("New Name")},
			func(u *store.User) { u.FullName = "New Name" }},
		{"e-mail", store.UserUpdate{Email: ptr("new@example.com")},
			func(u *store.User) { u.Email = "new@example.com" }},
		{"e-mail cleared", store.UserUpdate{Email: ptr("")},
			func(u *store.User) { u.Email = "" }},
		{"role", store.UserUpdate{Role: ptr(shared.RoleManager)},
			func(u *store.User) { u.Role = shared.RoleManager }},
		{"disabled", store.UserUpdate{Disabled: ptr(true)},
			func(u *store.User) { u.Disabled = true }},
		{"every field", store.UserUpdate{
			FullName: ptr("Everything New"), Email: ptr("all@example.com"),
			Role: ptr(shared.RoleAdmin), Disabled: ptr(true),
		}, func(u *store.User) {
			u.FullName, u.Email, u.Role, u.Disabled = "Everything New", "all@example.com", shared.RoleAdmin, true
		}},
		{"no field", store.UserUpdate{}, func(*store.User) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			f.user("bystander", shared.RoleViewer)
			u := f.user("target", shared.RoleViewer)
			want := *u
			tc.change(&want)
			want.UpdatedAt = now

			got, err := f.s.UpdateUser(f.ctx, u.ID, tc.upd, now)
			f.must(err, "UpdateUser")
			checkUser(t, got, &want)
			checkUser(t, f.getUser(u.ID), &want)
		})
	}
}

func testUpdateUserTimes(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	for _, now := range []time.Time{
		u.CreatedAt.Add(time.Minute + 123456789*time.Nanosecond),
		u.CreatedAt.Add(2 * time.Hour),
	} {
		got, err := f.s.UpdateUser(f.ctx, u.ID, store.UserUpdate{FullName: ptr("A")}, now)
		f.must(err, "UpdateUser")
		if !sameTime(got.UpdatedAt, ms(now)) || !sameTime(got.CreatedAt, u.CreatedAt) {
			t.Errorf("UpdateUser at %v: CreatedAt %v, UpdatedAt %v; want %v, %v",
				now, got.CreatedAt, got.UpdatedAt, u.CreatedAt, ms(now))
		}
	}
}

func testDisableRevokes(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	other := f.user("bob", shared.RoleViewer)
	s1 := f.session(u, base, nil)
	s2 := f.session(u, base.Add(time.Minute), nil)
	loggedOut := f.revoked(f.session(u, base.Add(2*time.Minute), nil), shared.RevokedLogout, base.Add(3*time.Minute))
	s4 := f.session(other, base, nil)

	now := base.Add(time.Hour)
	_, err := f.s.UpdateUser(f.ctx, u.ID, store.UserUpdate{Disabled: ptr(true)}, now)
	f.must(err, "UpdateUser(disable)")
	f.wantRevoked(s1.ID, shared.RevokedUserDisabled, now)
	f.wantRevoked(s2.ID, shared.RevokedUserDisabled, now)
	f.wantRevoked(loggedOut.ID, shared.RevokedLogout, *loggedOut.RevokedAt)
	f.wantUnrevoked(s4.ID)
}

func testUpdateKeepsSessions(t *testing.T, f *fixture) {
	u := f.disabledUser("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	for _, upd := range []store.UserUpdate{
		{Disabled: ptr(false)},
		{FullName: ptr("Alice"), Email: ptr("a@example.com")},
		{Role: ptr(shared.RoleManager)},
		{Disabled: ptr(false), Role: ptr(shared.RoleViewer)},
		{},
	} {
		_, err := f.s.UpdateUser(f.ctx, u.ID, upd, base.Add(time.Hour))
		f.must(err, "UpdateUser(%+v)", upd)
		f.wantUnrevoked(s.ID)
	}
}

func testSetPassword(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	other := f.user("bob", shared.RoleViewer)
	keep := f.session(u, base, nil)
	o1 := f.session(u, base.Add(time.Minute), nil)
	o2 := f.session(u, base.Add(2*time.Minute), nil)
	loggedOut := f.revoked(f.session(u, base.Add(3*time.Minute), nil), shared.RevokedLogout, base.Add(4*time.Minute))
	bobs := f.session(other, base, nil)

	now := base.Add(time.Hour)
	f.must(f.s.SetPassword(f.ctx, u.ID, "new hash", keep.ID, shared.RevokedPasswordChange, now), "SetPassword")
	if got := f.getUser(u.ID).PasswordHash; got != "new hash" {
		t.Errorf("PasswordHash = %q, want %q", got, "new hash")
	}
	if got := f.getUser(other.ID).PasswordHash; got != other.PasswordHash {
		t.Errorf("other user's PasswordHash = %q, want %q", got, other.PasswordHash)
	}
	f.wantUnrevoked(keep.ID)
	f.wantRevoked(o1.ID, shared.RevokedPasswordChange, now)
	f.wantRevoked(o2.ID, shared.RevokedPasswordChange, now)
	f.wantRevoked(loggedOut.ID, shared.RevokedLogout, *loggedOut.RevokedAt)
	f.wantUnrevoked(bobs.ID)
}

func testSetPasswordKeepNone(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s1 := f.session(u, base, nil)
	s2 := f.session(u, base.Add(time.Minute), nil)
	now := base.Add(time.Hour)
	f.must(f.s.SetPassword(f.ctx, u.ID, "reset hash", "", shared.RevokedPasswordReset, now), "SetPassword")
	if got := f.getUser(u.ID).PasswordHash; got != "reset hash" {
		t.Errorf("PasswordHash = %q, want %q", got, "reset hash")
	}
	f.wantRevoked(s1.ID, shared.RevokedPasswordReset, now)
	f.wantRevoked(s2.ID, shared.RevokedPasswordReset, now)
}

func testDeleteUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleManager)
	other := f.user("bob", shared.RoleViewer)
	gone := []*store.Session{
		f.session(u, base, nil),
		f.revoked(f.session(u, base.Add(time.Minute), nil), shared.RevokedLogout, base.Add(2*time.Minute)),
	}
	kept := f.session(other, base, nil)

	f.must(f.s.DeleteUser(f.ctx, u.ID), "DeleteUser")
	_, err := f.s.UserByID(f.ctx, u.ID)
	checkErr(t, "UserByID(deleted)", err, store.ErrNotFound)
	_, err = f.s.UserByUsername(f.ctx, u.Username)
	checkErr(t, "UserByUsername(deleted)", err, store.ErrNotFound)
	for _, s := range gone {
		_, err := f.s.SessionByID(f.ctx, s.ID)
		checkErr(t, "SessionByID(session of deleted user)", err, store.ErrNotFound)
		_, err = f.s.SessionByRefreshHash(f.ctx, s.RefreshHash)
		checkErr(t, "SessionByRefreshHash(session of deleted user)", err, store.ErrNotFound)
	}
	checkSession(t, f.getSession(kept.ID), kept)
	sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{})
	f.must(err, "ListSessions")
	if ids := sessionIDs(sessions); !slices.Equal(ids, []string{kept.ID}) || total != 1 {
		t.Errorf("ListSessions = %q, total %d; want only %q", ids, total, kept.ID)
	}
	checkErr(t, "DeleteUser(deleted)", f.s.DeleteUser(f.ctx, u.ID), store.ErrNotFound)

	again := f.user("alice", shared.RoleViewer)
	if again.ID == other.ID {
		t.Errorf("new alice has the ID %d of bob", again.ID)
	}
}

func testCountUsersByRole(t *testing.T, f *fixture) {
	counts, err := f.s.CountUsersByRole(f.ctx)
	f.must(err, "CountUsersByRole on an empty store")
	for r, n := range counts {
		if n != 0 {
			t.Errorf("CountUsersByRole on an empty store: %s = %d, want 0", r, n)
		}
	}

	f.user("v1", shared.RoleViewer)
	f.disabledUser("v2", shared.RoleViewer)
	f.user("a1", shared.RoleAdmin)
	f.user("a2", shared.RoleAdmin)
	f.disabledUser("a3", shared.RoleAdmin)
	counts, err = f.s.CountUsersByRole(f.ctx)
	f.must(err, "CountUsersByRole")
	want := map[shared.Role]int{shared.RoleViewer: 2, shared.RoleManager: 0, shared.RoleAdmin: 3}
	for _, r := range shared.Roles {
		if counts[r] != want[r] {
			t.Errorf("CountUsersByRole: %s = %d, want %d", r, counts[r], want[r])
		}
	}
	for r, n := range counts {
		if !r.Valid() && n != 0 {
			t.Errorf("CountUsersByRole: unknown role %q = %d", r, n)
		}
	}
}
