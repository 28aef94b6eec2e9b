package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var userTests = []test{
	{"CreateUser sets the ID, fills zero times with now and stores every field", testCreateUser},
	{"CreateUser keeps the times it is given, at millisecond precision", testCreateUserGivenTimes},
	{"CreateUser fails with ErrConflict when the username is taken, and nothing changes", testCreateUserConflict},
	{"UserByID and UserByUsername find the user with that exact ID or username only", testUserLookups},
	{"SaveUser writes every field but the ID, the username and the creation time", testSaveUser},
	{"the second factor and the forced password change round-trip through every read, MFA derived from the factor", testUserSecondFactor},
	{"SaveUser writes the second factor through enrolment, use, re-enrolment and removal", testSaveUserSecondFactor},
	{"SaveUser of a user who does not exist fails with ErrNotFound and creates no one", testSaveUserNotFound},
	{"DeleteUser removes the user and all their sessions and frees the username", testDeleteUser},
	{"DeleteUser of a user who does not exist fails with ErrNotFound", testDeleteUserNotFound},
	{"ListUsers returns every user newest first", testListUsersOrder},
	{"ListUsers matches the query case-insensitively and literally in username, full name and e-mail", testListUsersQuery},
	{"ListUsers pages with Offset and Limit and counts every match", testListUsersPaging},
	{"ListUsers sorts by username, by role rank or by creation, either way, ties broken", testListUsersSort},
	{"CountUsersByRole counts users per role, disabled ones included, with every role present", testCountUsersByRole},
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
			f.createUser(u)
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

func testCreateUserGivenTimes(t *testing.T, f *fixture) {
	for i, tc := range []struct {
		name             string
		created, updated time.Time
	}{
		{"in a time zone, below the millisecond",
			time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, india),
			time.Date(2025, 1, 1, 5, 30, 0, 1_500_000, india)},
		{"in the past, in UTC", time.Date(1999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), base},
		{"the created time only", base.Add(123_456_789), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			u := newUser(fmt.Sprintf("user-%d", i), shared.RoleViewer)
			u.CreatedAt, u.UpdatedAt = tc.created, tc.updated
			before := time.Now().Truncate(time.Millisecond)
			f.createUser(u)
			want := *u
			want.CreatedAt, want.UpdatedAt = tc.created, tc.updated
			if tc.updated.IsZero() {
				if u.UpdatedAt.Before(before) || u.UpdatedAt.After(time.Now()) {
					t.Errorf("UpdatedAt = %v, want now", u.UpdatedAt)
				}
				want.UpdatedAt = u.UpdatedAt
			}
			if !u.CreatedAt.Equal(ms(tc.created)) && !u.CreatedAt.Equal(tc.created) {
				t.Errorf("CreateUser changed CreatedAt %v to %v", tc.created, u.CreatedAt)
			}
			checkUser(t, f.getUser(u.ID), &want)
		})
	}
}

func testCreateUserConflict(t *testing.T, f *fixture) {
	first := f.user("alice", shared.RoleViewer)
	dup := newUser("alice", shared.RoleAdmin)
	dup.FullName = "Another Alice"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateUser(f.ctx, dup) })
	checkErr(t, "CreateUser(taken username)", err, store.ErrConflict)

	got, err := f.s.UserByUsername(f.ctx, "alice")
	f.must(err, "UserByUsername")
	checkUser(t, got, first)
	if _, total, err := f.s.ListUsers(f.ctx, store.UserFilter{}); err != nil || total != 1 {
		t.Errorf("ListUsers: total = %d, %v; want 1 user", total, err)
	}
	if n := f.enabledAdmins(); len(n) != 0 {
		t.Errorf("LockEnabledAdmins = %v after a refused admin, want none", n)
	}
}

func testUserLookups(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	alice2 := f.user("alice2", shared.RoleManager)
	missing := alice2.ID + 1000

	type lookup struct {
		name string
		call func(r store.Reader) (*store.User, error)
	}
	byID := func(id int64) func(r store.Reader) (*store.User, error) {
		return func(r store.Reader) (*store.User, error) { return r.UserByID(f.ctx, id) }
	}
	byName := func(name string) func(r store.Reader) (*store.User, error) {
		return func(r store.Reader) (*store.User, error) { return r.UserByUsername(f.ctx, name) }
	}
	found := []struct {
		lookup
		want *store.User
	}{
		{lookup{"UserByID(alice)", byID(alice.ID)}, alice},
		{lookup{"UserByID(alice2)", byID(alice2.ID)}, alice2},
		{lookup{"UserByUsername(alice)", byName("alice")}, alice},
		{lookup{"UserByUsername(alice2)", byName("alice2")}, alice2},
	}
	notFound := []lookup{
		{"UserByID(missing)", byID(missing)},
		{"UserByID(0)", byID(0)},
		{"UserByID(-1)", byID(-1)},
	}
	for _, name := range []string{"alic", "alice ", " alice", "ALICE", "Alice", "alice%", "alice_", "", "bob"} {
		notFound = append(notFound, lookup{"UserByUsername(" + name + ")", byName(name)})
	}
	// Through the store and through a transaction.
	readers := []struct {
		name string
		run  func(fn func(r store.Reader))
	}{
		{"store", func(fn func(r store.Reader)) { fn(f.s) }},
		{"transaction", func(fn func(r store.Reader)) {
			f.update(func(tx store.Tx) error { fn(tx); return nil })
		}},
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			r.run(func(rd store.Reader) {
				for _, c := range found {
					got, err := c.call(rd)
					if err != nil {
						t.Errorf("%s: %v", c.name, err)
						continue
					}
					checkUser(t, got, c.want)
				}
				for _, c := range notFound {
					got, err := c.call(rd)
					if checkErr(t, c.name, err, store.ErrNotFound) && got != nil {
						t.Errorf("%s returned %+v with ErrNotFound", c.name, got)
					}
				}
			})
		})
	}
}

func testSaveUser(t *testing.T, f *fixture) {
	later := base.Add(time.Hour + 987_654_321)
	for _, tc := range []struct {
		name   string
		change func(u *store.User)
	}{
		{"every field", func(u *store.User) {
			u.FullName, u.Email = "Everything New", "all@example.com"
			u.Role, u.Disabled = shared.RoleAdmin, true
			u.PasswordHash = "$2a$12$new"
			u.MustChangePassword = true
			u.TOTP = store.TOTP{Secret: []byte("sealed\x00secret\xff"), KeyID: "key-1",
				Pending: []byte("sealed pending"), PendingKeyID: "key-2", LastStep: 58_000_001}
		}},
		{"the full name", func(u *store.User) { u.FullName = "Ünïcødé “Name”" }},
		{"the e-mail, cleared", func(u *store.User) { u.Email = "" }},
		{"the role", func(u *store.User) { u.Role = shared.RoleManager }},
		{"disabled", func(u *store.User) { u.Disabled = true }},
		{"the password hash", func(u *store.User) { u.PasswordHash = "another hash" }},
		{"the update time only", func(u *store.User) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			bystander := f.user("bystander", shared.RoleViewer)
			u := f.user("target", shared.RoleViewer)
			want := *u
			tc.change(&want)
			want.UpdatedAt = later.In(india)

			// The ID selects the row; the username and the creation time
			// are not written.
			save := want
			save.Username, save.CreatedAt = "renamed", base.AddDate(-1, 0, 0)
			f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, &save) })
			checkUser(t, f.getUser(u.ID), &want)
			checkUser(t, f.getUser(bystander.ID), bystander)
			if _, err := f.s.UserByUsername(f.ctx, "renamed"); !checkErr(t, "UserByUsername(renamed)", err, store.ErrNotFound) {
				t.Error("SaveUser wrote the username")
			}

			// A user once disabled can be enabled again.
			if want.Disabled {
				want.Disabled = false
				f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, &want) })
				checkUser(t, f.getUser(u.ID), &want)
			}
		})
	}
}

func testSaveUserNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	ghost := *newUser("ghost", shared.RoleAdmin)
	ghost.ID = u.ID + 1000
	ghost.UpdatedAt = base
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveUser(f.ctx, &ghost) })
	checkErr(t, "SaveUser(missing)", err, store.ErrNotFound)
	_, err = f.s.UserByID(f.ctx, ghost.ID)
	checkErr(t, "UserByID(missing)", err, store.ErrNotFound)
	_, err = f.s.UserByUsername(f.ctx, "ghost")
	checkErr(t, "UserByUsername(ghost)", err, store.ErrNotFound)
	checkUser(t, f.getUser(u.ID), u)
}

func testDeleteUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleManager)
	other := f.user("bob", shared.RoleViewer)
	gone := []*store.Session{
		f.session(u, base, nil),
		f.session(u, base.Add(time.Minute), revokedAs(shared.RevokedLogout, base.Add(2*time.Minute))),
		f.session(u, base.Add(2*time.Minute), func(s *store.Session) { s.ExpiresAt = base }),
	}
	kept := f.session(other, base, nil)

	f.update(func(tx store.Tx) error { return tx.DeleteUser(f.ctx, u.ID) })
	_, err := f.s.UserByID(f.ctx, u.ID)
	checkErr(t, "UserByID(deleted)", err, store.ErrNotFound)
	_, err = f.s.UserByUsername(f.ctx, u.Username)
	checkErr(t, "UserByUsername(deleted)", err, store.ErrNotFound)
	for _, s := range gone {
		_, err := f.s.SessionByID(f.ctx, s.ID)
		checkErr(t, "SessionByID(session of deleted user)", err, store.ErrNotFound)
	}
	checkSession(t, f.getSession(kept.ID), kept)
	sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{})
	f.must(err, "ListSessions")
	if ids := sessionIDs(sessions); !slices.Equal(ids, []string{kept.ID}) || total != 1 {
		t.Errorf("ListSessions = %q, total %d; want only %q", ids, total, kept.ID)
	}
	if n, err := f.s.CountActiveSessions(f.ctx, base); err != nil || n != 1 {
		t.Errorf("CountActiveSessions = %d, %v; want 1", n, err)
	}
	users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers")
	if got := usernames(users); !slices.Equal(got, []string{"bob"}) || total != 1 {
		t.Errorf("ListUsers = %q, total %d; want only bob", got, total)
	}
	checkUser(t, f.getUser(other.ID), other)

	again := f.user("alice", shared.RoleViewer)
	checkUser(t, f.getUser(again.ID), again)
	for _, s := range gone {
		_, err := f.s.SessionByID(f.ctx, s.ID)
		checkErr(t, "SessionByID(session of the alice before)", err, store.ErrNotFound)
	}
}

func testDeleteUserNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	for _, id := range []int64{u.ID + 1000, 0} {
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.DeleteUser(f.ctx, id) })
		checkErr(t, "DeleteUser(missing)", err, store.ErrNotFound)
	}
	f.update(func(tx store.Tx) error { return tx.DeleteUser(f.ctx, u.ID) })
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.DeleteUser(f.ctx, u.ID) })
	checkErr(t, "DeleteUser(deleted)", err, store.ErrNotFound)
	_, err = f.s.SessionByID(f.ctx, s.ID)
	checkErr(t, "SessionByID(session of the deleted user)", err, store.ErrNotFound)
}

func testListUsersOrder(t *testing.T, f *fixture) {
	users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers on an empty store")
	if users == nil || len(users) != 0 || total != 0 {
		t.Errorf("ListUsers on an empty store = %#v, total %d; want an empty list", users, total)
	}

	// Created in an order other than their creation times', so that the
	// order of IDs is not the order asked for.
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	created := map[string]*store.User{}
	for _, u := range []struct {
		name string
		at   time.Time
	}{{"carol", at(2)}, {"alice", at(0)}, {"dave", at(3)}, {"bob", at(1)}} {
		created[u.name] = f.userAt(u.name, u.at)
	}
	users, total, err = f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers")
	if want := []string{"dave", "carol", "bob", "alice"}; !slices.Equal(usernames(users), want) || total != 4 {
		t.Fatalf("ListUsers = %q, total %d; want %q, total 4", usernames(users), total, want)
	}
	for _, u := range users {
		checkUser(t, u, created[u.Username])
	}
}

func testListUsersQuery(t *testing.T, f *fixture) {
	for i, u := range []struct{ username, fullName, email string }{
		{"alice", "Alice Liddell", "alice@wonderland.example"},
		{"bob", "Robert Tables", "bobby@tables.example"},
		{"emile", "Émile Zola", "ez@paris.example"},
		{"under_score", "Percent 100% Sure", "x@y.example"},
		{"straße", "Ödön von Horváth", "odon@wien.example"},
	} {
		nu := newUser(u.username, shared.RoleViewer)
		nu.FullName, nu.Email = u.fullName, u.email
		nu.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		f.createUser(nu)
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"an empty query matches everyone", "", []string{"straße", "under_score", "emile", "bob", "alice"}},
		{"a query matches the username in any case", "ALI", []string{"alice"}},
		{"a query matches the full name", "liddell", []string{"alice"}},
		{"a query matches the e-mail address", "TABLES.EXAMPLE", []string{"bob"}},
		{"a user matching in several fields is listed once", "ob", []string{"bob"}},
		{"a query folds non-ASCII letters", "ÉMILE", []string{"emile"}},
		{"a lower-case non-ASCII query matches an upper-case name", "ödön", []string{"straße"}},
		{"a query matches a non-ASCII username", "Aße", []string{"straße"}},
		{"a query matches several users", "e", []string{"straße", "under_score", "emile", "bob", "alice"}},
		{"a percent sign matches itself only", "%", []string{"under_score"}},
		{"an underscore matches itself only", "_", []string{"under_score"}},
		{"a query with a percent sign in it matches literally", "100% s", []string{"under_score"}},
		{"a backslash matches itself only", `\`, []string{}},
		{"a quote matches itself only", `'`, []string{}},
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
		u.CreatedAt = base.Add(time.Duration(i) * time.Minute)
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

func testCountUsersByRole(t *testing.T, f *fixture) {
	check := func(when string, want map[shared.Role]int) {
		t.Helper()
		counts, err := f.s.CountUsersByRole(f.ctx)
		f.must(err, "CountUsersByRole %s", when)
		for _, r := range shared.Roles {
			if n, ok := counts[r]; !ok || n != want[r] {
				t.Errorf("CountUsersByRole %s: %s = %d (present: %t), want %d", when, r, n, ok, want[r])
			}
		}
		if len(counts) != len(shared.Roles) {
			t.Errorf("CountUsersByRole %s = %v, want an entry for each of %q only", when, counts, shared.Roles)
		}
	}
	check("on an empty store", map[shared.Role]int{})

	f.user("v1", shared.RoleViewer)
	f.disabledUser("v2", shared.RoleViewer)
	f.user("a1", shared.RoleAdmin)
	a2 := f.user("a2", shared.RoleAdmin)
	f.disabledUser("a3", shared.RoleAdmin)
	check("", map[shared.Role]int{shared.RoleViewer: 2, shared.RoleManager: 0, shared.RoleAdmin: 3})

	a2.Role = shared.RoleManager
	f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, a2) })
	check("after a demotion", map[shared.Role]int{shared.RoleViewer: 2, shared.RoleManager: 1, shared.RoleAdmin: 2})
}

// secondFactorUsers are users in every state of the second factor, by
// username.
func secondFactorUsers() []*store.User {
	with := func(name string, change func(u *store.User)) *store.User {
		u := newUser(name, shared.RoleViewer)
		change(u)
		return u
	}
	return []*store.User{
		newUser("none", shared.RoleViewer),
		with("pending", func(u *store.User) {
			u.TOTP = store.TOTP{Pending: []byte{0x00, 0x01, 0xfe, 0xff, 0x00}, PendingKeyID: "key-a"}
		}),
		with("enrolled", func(u *store.User) {
			u.Role = shared.RoleAdmin
			u.TOTP = store.TOTP{Secret: []byte("\x00sealed secret\xff\x80"), KeyID: "key-b", LastStep: 58_000_000}
		}),
		with("re-enrolling", func(u *store.User) {
			u.TOTP = store.TOTP{Secret: []byte("old secret"), KeyID: "key-a",
				Pending: []byte("new secret"), PendingKeyID: "key-b", LastStep: 1<<62 + 1}
		}),
		with("must-change", func(u *store.User) { u.MustChangePassword = true }),
		with("enrolled-must-change", func(u *store.User) {
			u.MustChangePassword = true
			u.TOTP = store.TOTP{Secret: []byte{1}, KeyID: "k"}
		}),
		// The wire field is the writer's mistake: it is derived, not stored.
		with("claims-mfa", func(u *store.User) { u.MFA = true }),
		with("denies-mfa", func(u *store.User) {
			u.MFA = false
			u.TOTP = store.TOTP{Secret: []byte("secret"), KeyID: "key-c"}
		}),
	}
}

func testUserSecondFactor(t *testing.T, f *fixture) {
	want := map[string]*store.User{}
	for i, u := range secondFactorUsers() {
		u.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		f.createUser(u)
		want[u.Username] = u
	}
	check := func(t *testing.T, how string, got *store.User) {
		t.Helper()
		w, ok := want[got.Username]
		if !ok {
			t.Errorf("%s: an unexpected user %q", how, got.Username)
			return
		}
		checkUser(t, got, w)
	}
	reads := func(t *testing.T, r store.Reader) {
		for _, w := range want {
			got, err := r.UserByID(f.ctx, w.ID)
			f.must(err, "UserByID(%q)", w.Username)
			check(t, "UserByID", got)
			got, err = r.UserByUsername(f.ctx, w.Username)
			f.must(err, "UserByUsername(%q)", w.Username)
			check(t, "UserByUsername", got)
		}
		users, total, err := r.ListUsers(f.ctx, store.UserFilter{})
		f.must(err, "ListUsers")
		if total != len(want) || len(users) != len(want) {
			t.Errorf("ListUsers = %q, total %d; want %d users", usernames(users), total, len(want))
		}
		for _, u := range users {
			check(t, "ListUsers", u)
		}
		users, _, err = r.ListUsers(f.ctx, store.UserFilter{Query: "ENROL", Offset: 1, Limit: 2})
		f.must(err, "ListUsers(a page of a query)")
		if got := usernames(users); !slices.Equal(got, []string{"re-enrolling", "enrolled"}) {
			t.Errorf("ListUsers(a page of a query) = %q, want re-enrolling and enrolled", got)
		}
		for _, u := range users {
			check(t, "ListUsers(a page of a query)", u)
		}
	}
	t.Run("through the store", func(t *testing.T) { reads(t, f.s) })
	t.Run("through a transaction", func(t *testing.T) {
		f.update(func(tx store.Tx) error {
			reads(t, tx)
			for _, w := range want {
				got, err := tx.LockUser(f.ctx, w.ID)
				if err != nil {
					return err
				}
				check(t, "LockUser", got)
			}
			return nil
		})
	})
	for name, mfa := range map[string]bool{"none": false, "pending": false, "enrolled": true, "re-enrolling": true,
		"claims-mfa": false, "denies-mfa": true} {
		if got := f.getUser(want[name].ID); got.MFA != mfa {
			t.Errorf("user %q: MFA = %t, want %t", name, got.MFA, mfa)
		}
	}
}

func testSaveUserSecondFactor(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleManager)
	bystander := f.createUser(secondFactorUsers()[2]) // enrolled
	step := base
	for _, tc := range []struct {
		name   string
		change func(u *store.User)
	}{
		{"an enrolment starts", func(u *store.User) {
			u.TOTP.Pending, u.TOTP.PendingKeyID = []byte("pending secret"), "key-1"
		}},
		{"an enrolment restarts", func(u *store.User) {
			u.TOTP.Pending = []byte("another pending secret")
		}},
		{"the enrolment is confirmed by a code", func(u *store.User) {
			u.TOTP = store.TOTP{Secret: u.TOTP.Pending, KeyID: u.TOTP.PendingKeyID, LastStep: 58_000_000}
		}},
		{"a code is used", func(u *store.User) { u.TOTP.LastStep++ }},
		{"the secret is sealed again under a new key", func(u *store.User) {
			u.TOTP.Secret, u.TOTP.KeyID = []byte("resealed"), "key-2"
		}},
		{"a re-enrolment starts while the factor stays", func(u *store.User) {
			u.TOTP.Pending, u.TOTP.PendingKeyID = []byte("next secret"), "key-2"
		}},
		{"the re-enrolment is confirmed", func(u *store.User) {
			u.TOTP = store.TOTP{Secret: u.TOTP.Pending, KeyID: u.TOTP.PendingKeyID, LastStep: 58_000_010}
		}},
		{"an administrator sets the password", func(u *store.User) { u.MustChangePassword = true }},
		{"the user changes it", func(u *store.User) { u.MustChangePassword = false }},
		{"the factor is removed, with the wire field left saying MFA", func(u *store.User) {
			u.TOTP = store.TOTP{}
			u.MFA = true
		}},
		{"an enrolment starts with empty, not nil, bytes for the secret", func(u *store.User) {
			u.TOTP = store.TOTP{Secret: []byte{}, Pending: []byte("p"), PendingKeyID: "key-3"}
		}},
	} {
		step = step.Add(time.Minute)
		tc.change(u)
		u.UpdatedAt = step
		f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, u) })
		t.Run(tc.name, func(t *testing.T) {
			checkUser(t, f.getUser(u.ID), u)
			users, _, err := f.s.ListUsers(f.ctx, store.UserFilter{Query: "alice"})
			f.must(err, "ListUsers")
			if len(users) != 1 {
				t.Fatalf("ListUsers(alice) = %q", usernames(users))
			}
			checkUser(t, users[0], u)
			checkUser(t, f.getUser(bystander.ID), bystander)
		})
	}
}

func testListUsersSort(t *testing.T, f *fixture) {
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, u := range []struct {
		name    string
		role    shared.Role
		created time.Time
	}{
		// "zed" and "bob" are created at the same instant: the ID breaks the
		// tie. Alphabetical role order (admin, manager, viewer) differs
		// from the rank order asked for.
		{"mia", shared.RoleManager, at(1)},
		{"zed", shared.RoleViewer, at(4)},
		{"bob", shared.RoleViewer, at(4)},
		{"amy", shared.RoleAdmin, at(0)},
		{"b_b", shared.RoleManager, at(2)},
		{"ann", shared.RoleViewer, at(3)},
	} {
		nu := newUser(u.name, u.role)
		nu.CreatedAt, nu.UpdatedAt = u.created, u.created
		f.createUser(nu)
	}
	for _, tc := range []struct {
		sort shared.UserSort
		want []string
	}{
		{shared.UserSort{}, []string{"bob", "zed", "ann", "b_b", "mia", "amy"}},
		{shared.UserSort{Key: shared.SortCreated, Desc: true}, []string{"bob", "zed", "ann", "b_b", "mia", "amy"}},
		{shared.UserSort{Key: shared.SortCreated}, []string{"amy", "mia", "b_b", "ann", "zed", "bob"}},
		{shared.UserSort{Key: shared.SortUsername}, []string{"amy", "ann", "b_b", "bob", "mia", "zed"}},
		{shared.UserSort{Key: shared.SortUsername, Desc: true}, []string{"zed", "mia", "bob", "b_b", "ann", "amy"}},
		{shared.UserSort{Key: shared.SortRole}, []string{"ann", "bob", "zed", "b_b", "mia", "amy"}},
		{shared.UserSort{Key: shared.SortRole, Desc: true}, []string{"amy", "b_b", "mia", "ann", "bob", "zed"}},
	} {
		users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{Sort: tc.sort})
		f.must(err, "ListUsers")
		if got := usernames(users); !slices.Equal(got, tc.want) || total != len(tc.want) {
			t.Errorf("ListUsers(sort %+v) = %q, total %d; want %q", tc.sort, got, total, tc.want)
		}
	}
	// Sorting composes with the query and the page.
	users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{Query: "b", Sort: shared.UserSort{Key: shared.SortUsername}, Offset: 1, Limit: 1})
	f.must(err, "ListUsers")
	if got := usernames(users); !slices.Equal(got, []string{"bob"}) || total != 2 {
		t.Errorf("ListUsers(q b, by username, second page of one) = %q, total %d; want [bob], total 2", got, total)
	}
}
