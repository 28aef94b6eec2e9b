package integration

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// rootID is the id of the bootstrap admin.
func rootID(t *testing.T, c *client.Client) int64 {
	t.Helper()
	page, err := c.Users(bg, client.UserQuery{Q: adminName})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Items {
		if u.Username == adminName {
			return u.ID
		}
	}
	t.Fatalf("no user %s", adminName)
	return 0
}

func TestTheLastEnabledAdminIsProtected(t *testing.T) {
	t.Parallel()
	changes := []struct {
		name  string
		apply func(c *client.Client, id int64) error
		check func(t *testing.T, u *shared.User, err error) // the admin afterwards
	}{
		{"disabled", func(c *client.Client, id int64) error {
			_, err := c.UpdateUser(bg, id, shared.UserUpdate{Disabled: ptr(true)})
			return err
		}, func(t *testing.T, u *shared.User, err error) {
			if err != nil || !u.Disabled {
				t.Fatalf("admin %+v (%v), want disabled", u, err)
			}
		}},
		{"demoted", func(c *client.Client, id int64) error {
			_, err := c.UpdateUser(bg, id, shared.UserUpdate{Role: ptr(shared.RoleManager)})
			return err
		}, func(t *testing.T, u *shared.User, err error) {
			if err != nil || u.Role != shared.RoleManager {
				t.Fatalf("admin %+v (%v), want a manager", u, err)
			}
		}},
		{"deleted", func(c *client.Client, id int64) error {
			return c.DeleteUser(bg, id)
		}, func(t *testing.T, u *shared.User, err error) {
			wantAPIError(t, err, http.StatusNotFound, shared.CodeNotFound)
		}},
	}
	for _, ch := range changes {
		t.Run("the only admin cannot be "+ch.name+": 409 conflict", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			root := e.admin()
			id := rootID(t, root)
			wantAPIError(t, ch.apply(root, id), http.StatusConflict, shared.CodeConflict)
			// Nor when a second admin exists but is disabled.
			second, err := root.CreateUser(bg, shared.UserCreate{Username: "second-admin", Password: userPassword, Role: shared.RoleAdmin, MustChangePassword: ptr(false)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := root.UpdateUser(bg, second.ID, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			wantAPIError(t, ch.apply(root, id), http.StatusConflict, shared.CodeConflict)
			u, err := root.User(bg, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != shared.RoleAdmin || u.Disabled {
				t.Fatalf("the refused change happened anyway: %+v", u)
			}
		})
		t.Run("with a second enabled admin the first can be "+ch.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			root := e.admin()
			id := rootID(t, root)
			if _, err := root.CreateUser(bg, shared.UserCreate{Username: "second-admin", Password: userPassword, Role: shared.RoleAdmin, MustChangePassword: ptr(false)}); err != nil {
				t.Fatal(err)
			}
			second := e.login("second-admin", userPassword)
			if err := ch.apply(second, id); err != nil {
				t.Fatal(err)
			}
			u, err := second.User(bg, id)
			ch.check(t, u, err)
			// Now the second is the last one.
			wantAPIError(t, ch.apply(second, myID(t, second)), http.StatusConflict, shared.CodeConflict)
		})
	}
}

// myID is the id of the client's user.
func myID(t *testing.T, c *client.Client) int64 {
	t.Helper()
	me, err := c.Me(bg)
	if err != nil {
		t.Fatal(err)
	}
	return me.ID
}

func TestAManagerStaysBelowAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.admin()
	adminID := rootID(t, root)
	_, mc := e.newUser(shared.RoleManager)
	viewer, _ := e.newUser(shared.RoleViewer)

	refused := []struct {
		name string
		call func() error
	}{
		{"a manager cannot create an admin", func() error {
			_, err := mc.CreateUser(bg, shared.UserCreate{Username: "would-be-admin", Password: userPassword, Role: shared.RoleAdmin, MustChangePassword: ptr(false)})
			return err
		}},
		{"a manager cannot promote a viewer to manager", func() error {
			_, err := mc.UpdateUser(bg, viewer.ID, shared.UserUpdate{Role: ptr(shared.RoleManager)})
			return err
		}},
		{"a manager cannot promote anyone to admin", func() error {
			_, err := mc.UpdateUser(bg, viewer.ID, shared.UserUpdate{Role: ptr(shared.RoleAdmin)})
			return err
		}},
		{"a manager cannot edit an admin", func() error {
			_, err := mc.UpdateUser(bg, adminID, shared.UserUpdate{FullName: ptr("Renamed")})
			return err
		}},
		{"a manager cannot disable an admin", func() error {
			_, err := mc.UpdateUser(bg, adminID, shared.UserUpdate{Disabled: ptr(true)})
			return err
		}},
		{"a manager cannot reset an admin's password", func() error {
			return mc.ResetPassword(bg, adminID, shared.PasswordReset{NewPassword: "taken-over-1"})
		}},
		{"a manager cannot delete an admin", func() error {
			return mc.DeleteUser(bg, adminID)
		}},
	}
	for _, tt := range refused {
		t.Run(tt.name+": 403 insufficient_scope", func(t *testing.T) {
			wantAPIError(t, tt.call(), http.StatusForbidden, shared.CodeInsufficientScope)
		})
	}

	t.Run("nothing of it happened", func(t *testing.T) {
		a, err := root.User(bg, adminID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Disabled || a.FullName != "Administrator" || a.Role != shared.RoleAdmin {
			t.Fatalf("admin changed: %+v", a)
		}
		v, err := root.User(bg, viewer.ID)
		if err != nil || v.Role != shared.RoleViewer {
			t.Fatalf("viewer changed: %+v (%v)", v, err)
		}
		page, err := root.Users(bg, client.UserQuery{Q: "would-be-admin"})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 0 {
			t.Fatalf("the admin was created: %+v", page.Items)
		}
		if err := root.Check(bg); err != nil {
			t.Fatalf("the admin's session ended: %v", err)
		}
		e.login(adminName, adminPass)
	})

	t.Run("a manager manages viewers and managers", func(t *testing.T) {
		for _, role := range []shared.Role{shared.RoleViewer, shared.RoleManager} {
			u, err := mc.CreateUser(bg, shared.UserCreate{Username: "made-" + string(role), Password: userPassword, Role: role, MustChangePassword: ptr(false)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mc.UpdateUser(bg, u.ID, shared.UserUpdate{FullName: ptr("Edited"), Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			if err := mc.ResetPassword(bg, u.ID, shared.PasswordReset{NewPassword: "reset-by-manager-1"}); err != nil {
				t.Fatal(err)
			}
			if err := mc.DeleteUser(bg, u.ID); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestListsArePagesNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.admin()
	var created []int64
	for range 5 {
		u, _ := e.newUser(shared.RoleViewer)
		created = append(created, u.ID)
		e.clock.Advance(time.Minute)
	}
	rootUserID := rootID(t, root)

	t.Run("the users list is the page envelope", func(t *testing.T) {
		resp, body := e.do("GET", shared.PathUsers+"?per_page=2&page=1", root.Tokens.Token(), nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil {
			t.Fatal(err)
		}
		var names []string
		for k := range keys {
			names = append(names, k)
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "items,page,per_page,total" {
			t.Fatalf("keys %v, want items, total, page, per_page", names)
		}
		if strings.Contains(string(body), "password") || strings.Contains(string(body), "$2a$") {
			t.Fatalf("the list leaks password hashes: %s", body)
		}
	})

	t.Run("users pages walk from newest to oldest", func(t *testing.T) {
		want := append(slices.Clone(created), rootUserID)
		slices.Reverse(want[:5]) // newest created first, the bootstrap admin last
		var got []int64
		for p := 1; p <= 3; p++ {
			page, err := root.Users(bg, client.UserQuery{Page: p, PerPage: 2})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 6 || page.Page != p || page.PerPage != 2 || len(page.Items) != 2 {
				t.Fatalf("page %d: total %d page %d per_page %d items %d", p, page.Total, page.Page, page.PerPage, len(page.Items))
			}
			for _, u := range page.Items {
				got = append(got, u.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ids %v, want %v", got, want)
		}
		empty, err := root.Users(bg, client.UserQuery{Page: 9, PerPage: 2})
		if err != nil || empty.Items == nil || len(empty.Items) != 0 || empty.Total != 6 {
			t.Fatalf("page past the end: %+v (%v), want no items and the total", empty, err)
		}
	})

	t.Run("own sessions are newest first with the current one marked", func(t *testing.T) {
		a := e.login(adminName, adminPass)
		e.clock.Advance(time.Minute)
		b := e.login(adminName, adminPass)
		page, err := b.MySessions(bg, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		if page.PerPage != 3 || page.Page != 1 || len(page.Items) != 3 || page.Total < 3 {
			t.Fatalf("page %+v", page)
		}
		if page.Items[0].ID != sidOf(t, b) || !page.Items[0].Current || page.Items[1].ID != sidOf(t, a) || page.Items[1].Current {
			t.Fatalf("sessions %+v, want b (current) then a", page.Items[:2])
		}
		wantNewestFirst(t, page.Items, func(s shared.Session) time.Time { return s.CreatedAt })
	})

	t.Run("all sessions are newest first", func(t *testing.T) {
		page, err := root.Sessions(bg, client.SessionQuery{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total < 7 || len(page.Items) != page.Total {
			t.Fatalf("total %d, items %d", page.Total, len(page.Items))
		}
		wantNewestFirst(t, page.Items, func(s shared.Session) time.Time { return s.CreatedAt })
	})

	t.Run("the audit log is newest first", func(t *testing.T) {
		page, err := root.Audit(bg, client.AuditQuery{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total < 10 || page.PerPage != 100 {
			t.Fatalf("page %+v", page)
		}
		wantNewestFirst(t, page.Items, func(a shared.AuditEvent) time.Time { return a.Time })
		if first, last := page.Items[0], page.Items[len(page.Items)-1]; first.ID < last.ID || last.Action != shared.ActionAdminBootstrap {
			t.Fatalf("first %+v, last %+v: want the bootstrap last", first, last)
		}
		logins, err := root.Audit(bg, client.AuditQuery{Action: shared.ActionLogin, PerPage: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(logins.Items) != 3 || logins.Total <= 3 {
			t.Fatalf("login page %+v", logins)
		}
		for _, ev := range logins.Items {
			if ev.Action != shared.ActionLogin {
				t.Fatalf("filtered by login, got %+v", ev)
			}
		}
	})
}

// sort= orders the users list by username, role rank or creation, and the
// audit log's actor filter matches the start of a name, '_' literally.
func TestUsersSortAndAuditActorPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.admin()
	for _, u := range []struct {
		name string
		role shared.Role
	}{{"zoe", shared.RoleViewer}, {"mo_x", shared.RoleManager}, {"moax", shared.RoleViewer}} {
		if _, err := root.CreateUser(bg, shared.UserCreate{Username: u.name, Password: userPassword, Role: u.role, MustChangePassword: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		e.login(u.name, userPassword) // an audit event whose actor is u
	}
	names := func(p *shared.Page[shared.User]) (out []string) {
		for _, u := range p.Items {
			out = append(out, u.Username)
		}
		return out
	}
	for _, tc := range []struct {
		sort string
		want []string
	}{
		{"", []string{"moax", "mo_x", "zoe", adminName}},
		{"username", []string{"mo_x", "moax", adminName, "zoe"}}, // adminName is root
		{"-username", []string{"zoe", adminName, "moax", "mo_x"}},
		{"role", []string{"moax", "zoe", "mo_x", adminName}},
		{"-role", []string{adminName, "mo_x", "moax", "zoe"}},
		{"created", []string{adminName, "zoe", "mo_x", "moax"}},
	} {
		s, err := shared.ParseUserSort(tc.sort)
		if err != nil {
			t.Fatal(err)
		}
		p, err := root.Users(bg, client.UserQuery{Sort: s})
		if err != nil {
			t.Fatalf("sort=%s: %v", tc.sort, err)
		}
		if got := names(p); !slices.Equal(got, tc.want) {
			t.Errorf("sort=%s: %q, want %q", tc.sort, got, tc.want)
		}
	}
	resp, body := e.do("GET", shared.PathUsers+"?sort=password_hash", root.Tokens.Token(), nil, nil)
	wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)

	for _, tc := range []struct {
		actor string
		want  []string
	}{
		{"mo_", []string{"mo_x"}},
		{"mo", []string{"moax", "mo_x"}},
		{"ZO", []string{"zoe"}},
		{"oe", nil},
	} {
		p, err := root.Audit(bg, client.AuditQuery{Actor: tc.actor, Action: shared.ActionLogin})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range p.Items {
			got = append(got, ev.Actor)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("audit actor=%s: %q, want %q", tc.actor, got, tc.want)
		}
	}
}

func wantNewestFirst[T any](t *testing.T, items []T, at func(T) time.Time) {
	t.Helper()
	for i := 1; i < len(items); i++ {
		if at(items[i]).After(at(items[i-1])) {
			t.Fatalf("item %d (%v) is newer than item %d (%v)", i, at(items[i]), i-1, at(items[i-1]))
		}
	}
}

func TestStatsCountTheSignInsOfTheCurrentHour(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.admin() // 1 ok
	e.login(adminName, adminPass)
	_, _ = e.client().Login(bg, adminName, "wrong-password") // 1 failed
	_, _ = e.client().Login(bg, "nobody-at-all", "wrong-password")
	e.newUser(shared.RoleViewer) // 1 ok (the admin who creates it) + 1 ok (the viewer)

	st, err := root.Stats(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.SignIns) != 24 {
		t.Fatalf("%d buckets, want 24", len(st.SignIns))
	}
	cur := st.SignIns[23]
	if want := e.clock.Now().UTC().Truncate(time.Hour); !cur.Hour.Equal(want) {
		t.Fatalf("last bucket %v, want the current hour %v", cur.Hour, want)
	}
	if cur.OK != 4 || cur.Failed != 2 {
		t.Fatalf("current hour: %d ok, %d failed; want 4 and 2", cur.OK, cur.Failed)
	}
	for i, b := range st.SignIns[:23] {
		if b.OK != 0 || b.Failed != 0 {
			t.Fatalf("bucket %d (%v) has sign-ins", i, b.Hour)
		}
		if !st.SignIns[i+1].Hour.Equal(b.Hour.Add(time.Hour)) {
			t.Fatalf("buckets %d and %d are not an hour apart", i, i+1)
		}
	}
	if st.ActiveSessions != 4 {
		t.Fatalf("active sessions %d, want 4", st.ActiveSessions)
	}
	if st.UsersByRole[shared.RoleAdmin] != 1 || st.UsersByRole[shared.RoleViewer] != 1 || st.UsersByRole[shared.RoleManager] != 0 {
		t.Fatalf("users by role %v", st.UsersByRole)
	}

	t.Run("an hour later they move to the previous bucket", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		st, err := root.Stats(bg)
		if err != nil {
			t.Fatal(err)
		}
		if prev, cur := st.SignIns[22], st.SignIns[23]; prev.OK != 4 || prev.Failed != 2 || cur.OK != 0 || cur.Failed != 0 {
			t.Fatalf("previous hour %+v, current %+v", prev, cur)
		}
	})
}

// A change answers the user as a later read gives it back (times in
// milliseconds, as the stores keep them), and a change that changes
// nothing writes nothing: updated_at stays, and nothing is audited.
func TestUpdatesAnswerWhatIsStoredAndNoChangeWritesNothing(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, settings ...string) {
		e := newEnv(t, settings...)
		admin := e.admin()
		target, _ := e.newUser(shared.RoleViewer)
		e.clock.Advance(1234567 * time.Nanosecond) // a time that is not whole milliseconds
		written, err := admin.UpdateMe(bg, shared.ProfileUpdate{FullName: ptr("Ada Admin")})
		if err != nil {
			t.Fatal(err)
		}
		read, err := admin.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		if !written.UpdatedAt.Equal(read.UpdatedAt) || written.UpdatedAt.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("the change answered updated_at %v, a read gives %v", written.UpdatedAt, read.UpdatedAt)
		}
		events := len(e.audit(""))
		e.clock.Advance(time.Minute)
		again, err := admin.UpdateMe(bg, shared.ProfileUpdate{FullName: ptr("Ada Admin"), Email: &read.Email})
		if err != nil || !again.UpdatedAt.Equal(read.UpdatedAt) {
			t.Fatalf("the same profile again: %+v, %v; want updated_at %v unchanged", again, err, read.UpdatedAt)
		}
		u, err := admin.UpdateUser(bg, target.ID, shared.UserUpdate{Role: ptr(shared.RoleViewer), Disabled: ptr(false)})
		if err != nil || !u.UpdatedAt.Equal(target.UpdatedAt) {
			t.Fatalf("the same role and state again: %+v, %v; want updated_at %v unchanged", u, err, target.UpdatedAt)
		}
		if n := len(e.audit("")); n != events {
			t.Fatalf("changes that changed nothing added %d audit events", n-events)
		}
	})
}
