package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"gatehouse/shared"
)

var (
	alice = user(1, "alice", shared.RoleAdmin)
	mark  = user(2, "mark", shared.RoleManager)
	vera  = user(3, "vera", shared.RoleViewer)
)

// usersPage mounts the users page for me against a stub API listing alice,
// mark and vera, and waits for the list.
func usersPage(t *testing.T, me shared.User, extra map[string]http.HandlerFunc) (*rig, *stubAPI, *Users) {
	t.Helper()
	routes := map[string]http.HandlerFunc{
		"GET /api/users":    reply(pageOf(alice, mark, vera)),
		"GET /api/users/me": reply(me),
	}
	for k, v := range extra {
		routes[k] = v
	}
	api := newStubAPI(t, routes)
	r := newRig(t)
	u := &Users{Env: newEnv(t, api, &me)}
	u.OnMount(r.ctx)
	r.settle()
	if u.list == nil {
		t.Fatalf("the list did not load: %q", u.err)
	}
	return r, api, u
}

func TestUsersWriteControlsFollowTheRole(t *testing.T) {
	writeControls := []string{"#user-create", ".edit-user", ".toggle-user", ".reset-password", ".delete-user"}

	t.Run("a viewer sees the list and no control that changes it", func(t *testing.T) {
		_, _, u := usersPage(t, vera, nil)
		dom := render(t, u)
		if n := dom.count(t, "#users-table tbody tr[data-username]"); n != 3 {
			t.Errorf("%d rows, want 3", n)
		}
		if got := dom.one(t, "#users-total").Text(); got != "3" {
			t.Errorf("#users-total = %q, want 3", got)
		}
		for _, sel := range writeControls {
			if n := dom.count(t, sel); n != 0 {
				t.Errorf("a viewer is shown %d %s", n, sel)
			}
		}
	})

	t.Run("a manager may change users up to managers, not admins", func(t *testing.T) {
		_, _, u := usersPage(t, mark, nil)
		dom := render(t, u)
		dom.one(t, "#user-create")
		for _, name := range []string{"mark", "vera"} {
			for _, sel := range writeControls[1:] {
				dom.one(t, `#users-table tr[data-username="`+name+`"] `+sel)
			}
		}
		for _, sel := range writeControls[1:] {
			if n := dom.count(t, `#users-table tr[data-username="alice"] `+sel); n != 0 {
				t.Errorf("a manager is shown %s on an admin's row", sel)
			}
		}
		if got := dom.one(t, `tr[data-username="vera"] .toggle-user`).Text(); got != "Disable" {
			t.Errorf("toggle of an enabled user says %q, want Disable", got)
		}
	})

	t.Run("roles are offered only up to one's own, and changed only with roles:write", func(t *testing.T) {
		r, _, u := usersPage(t, mark, nil)
		u.openCreate(r.stale, ev)
		var roles []string
		for _, o := range render(t, u).all(t, "#user-form select#new-role option") {
			roles = append(roles, o.attr("value"))
		}
		if strings.Join(roles, ",") != "viewer,manager" {
			t.Errorf("a manager may create %v, want viewer,manager", roles)
		}
		u.openEdit(r.stale, vera.ID)
		dom := render(t, u)
		dom.one(t, "#edit-form #edit-fullname")
		if n := dom.count(t, "#edit-role"); n != 0 {
			t.Errorf("a manager (no roles:write) is offered #edit-role")
		}

		r, _, u = usersPage(t, alice, nil)
		u.openEdit(r.stale, vera.ID)
		dom = render(t, u)
		if got := dom.one(t, "#edit-role option[selected]").attr("value"); got != "viewer" {
			t.Errorf("#edit-role selects %q, want vera's role viewer", got)
		}
		if n := dom.count(t, "#edit-role option"); n != 3 {
			t.Errorf("an admin is offered %d roles, want 3", n)
		}
	})
}

func TestUsersCreateValidatesBeforeSending(t *testing.T) {
	r, api, u := usersPage(t, mark, nil)
	u.openCreate(r.stale, ev)
	u.create.username, u.create.password, u.create.email = "A b", "short", "not-an-address"
	u.create.role = shared.RoleAdmin // above a manager's own
	u.submitCreate(r.stale, ev)
	r.settle()

	if w := api.writes(); len(w) != 0 {
		t.Fatalf("invalid input was sent: %+v", w)
	}
	dom := render(t, u)
	if got := dom.one(t, "#user-form p.error[role=alert]").Text(); got != "Please correct the 4 highlighted fields." {
		t.Errorf("form error = %q", got)
	}
	// (go-app writes aria-invalid="true" bare in HTML; in the browser it
	// sets the attribute to "true", which the browser tests check.)
	for _, id := range []string{"new-username", "new-password", "new-email", "new-role"} {
		in := dom.one(t, "#"+id)
		if !in.has("aria-invalid") || in.attr("aria-describedby") != id+"-error" {
			t.Errorf("#%s: aria-invalid %v, aria-describedby %q; want set, %s-error", id, in.has("aria-invalid"), in.attr("aria-describedby"), id)
		}
	}
	if in := dom.one(t, "#new-fullname"); in.has("aria-invalid") || in.has("aria-describedby") {
		t.Errorf("#new-fullname, which is valid, is marked invalid")
	}
	want := map[string]string{
		"#new-username-error": shared.ValidateUsername("A b"),
		"#new-password-error": shared.ValidatePassword("short"),
		"#new-email-error":    shared.ValidateEmail("not-an-address"),
		"#new-role-error":     "must not be above your own role (manager)",
	}
	for sel, msg := range want {
		if got := dom.one(t, sel).Text(); got != msg {
			t.Errorf("%s = %q, want %q", sel, got, msg)
		}
	}
	if n := dom.count(t, "#new-fullname-error"); n != 0 {
		t.Errorf("an empty full name is flagged, but it is optional")
	}
}

func TestUsersCreateSendsReloadsAndSaysSo(t *testing.T) {
	r, api, u := usersPage(t, mark, map[string]http.HandlerFunc{
		"POST /api/users": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			reply(user(4, "nina", shared.RoleManager))(w, r)
		},
	})
	lists := len(api.callsTo("GET", "/api/users"))
	u.openCreate(r.stale, ev)
	u.create = createDraft{open: true, username: " nina ", password: "nina-password", fullName: "Nina N", email: "nina@example.com", role: shared.RoleManager}
	u.submitCreate(r.stale, ev)
	r.settle()

	posts := api.callsTo("POST", "/api/users")
	if len(posts) != 1 {
		t.Fatalf("%d POST /api/users, want 1", len(posts))
	}
	var sent shared.UserCreate
	if err := json.Unmarshal([]byte(posts[0].Body), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.MustChangePassword == nil || !*sent.MustChangePassword {
		t.Errorf("sent must_change_password %v, want true (the box starts ticked)", sent.MustChangePassword)
	}
	sent.MustChangePassword = nil
	if want := (shared.UserCreate{Username: "nina", Password: "nina-password", FullName: "Nina N", Email: "nina@example.com", Role: shared.RoleManager}); sent != want {
		t.Errorf("sent %+v, want %+v", sent, want)
	}
	if n := len(api.callsTo("GET", "/api/users")); n != lists+1 {
		t.Errorf("the list was loaded %d more times after the create, want 1", n-lists)
	}
	dom := render(t, u)
	if got := dom.one(t, "#users-message").Text(); !strings.Contains(got, "nina") || !strings.Contains(got, "created") {
		t.Errorf("#users-message = %q", got)
	}
	if n := dom.count(t, "#user-form"); n != 0 {
		t.Errorf("the form stays open after a create")
	}

	// Unticked, the password is the one the user keeps.
	u.openCreate(r.stale, ev)
	if !render(t, u).one(t, "#new-must-change").has("checked") {
		t.Error("the box asking for a new password at the first sign-in starts unticked")
	}
	u.create = createDraft{open: true, username: "noah", password: "noah-password", role: shared.RoleViewer, keepPassword: true}
	u.submitCreate(r.stale, ev)
	r.settle()
	posts = api.callsTo("POST", "/api/users")
	if len(posts) != 2 || !strings.Contains(posts[1].Body, `"must_change_password":false`) {
		t.Errorf("unticked: sent %+v", posts)
	}
}

func TestUsersShowsTheServersFieldErrors(t *testing.T) {
	r, _, u := usersPage(t, alice, map[string]http.HandlerFunc{
		"POST /api/users": replyError(http.StatusUnprocessableEntity, shared.Error{
			Code: shared.CodeValidationFailed, Description: "some fields are not valid",
			Fields: map[string]string{"username": "is reserved"},
		}),
	})
	u.openCreate(r.stale, ev)
	u.create = createDraft{open: true, username: "root", password: "root-password", role: shared.RoleViewer}
	u.submitCreate(r.stale, ev)
	r.settle()
	dom := render(t, u)
	if got := dom.one(t, "#new-username-error").Text(); got != "is reserved" {
		t.Errorf("#new-username-error = %q, want the server's message", got)
	}
	if n := dom.count(t, "#user-form"); n != 1 {
		t.Errorf("the form closed after a refused create")
	}
}

func TestUsersDeleteAsksFirst(t *testing.T) {
	r, api, u := usersPage(t, alice, map[string]http.HandlerFunc{
		"DELETE /api/users/{id}": replyStatus(http.StatusNoContent),
	})
	u.askDelete(r.stale, vera.ID)
	r.settle()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("deleted before the confirmation: %+v", w)
	}
	dom := render(t, u)
	if got := dom.one(t, "#confirm").Text(); !strings.Contains(got, "vera") {
		t.Errorf("the question %q does not name vera", got)
	}

	u.dropConfirm(r.stale)
	r.settle()
	if w := api.writes(); len(w) != 0 || u.ask != nil {
		t.Fatalf("after Cancel: writes %+v, asking %v", w, u.ask != nil)
	}

	u.askDelete(r.stale, vera.ID)
	u.confirmed(r.stale)
	r.settle()
	if got := api.callsTo("DELETE", "/api/users/3"); len(got) != 1 {
		t.Fatalf("%d DELETE /api/users/3, want 1", len(got))
	}
	if got := render(t, u).one(t, "#users-message").Text(); !strings.Contains(got, "vera") || !strings.Contains(got, "deleted") {
		t.Errorf("#users-message = %q", got)
	}
}

func TestUsersDisableAsksEnableDoesNot(t *testing.T) {
	disabledVera := vera
	disabledVera.Disabled = true
	r, api, u := usersPage(t, alice, map[string]http.HandlerFunc{
		"PATCH /api/users/{id}": reply(vera),
	})
	u.toggle(r.stale, vera.ID)
	r.settle()
	if w := api.writes(); len(w) != 0 || u.ask == nil {
		t.Fatalf("disable: writes %+v, asking %v; want nothing sent and a question", w, u.ask != nil)
	}
	u.confirmed(r.stale)
	r.settle()
	patches := api.callsTo("PATCH", "/api/users/3")
	if len(patches) != 1 || strings.TrimSpace(patches[0].Body) != `{"disabled":true}` {
		t.Fatalf("PATCH /api/users/3 = %+v, want one with {\"disabled\":true}", patches)
	}

	u.list.Items[2] = disabledVera
	if got := render(t, u).one(t, `tr[data-username="vera"] .toggle-user`).Text(); got != "Enable" {
		t.Errorf("toggle of a disabled user says %q, want Enable", got)
	}
	u.toggle(r.stale, vera.ID)
	r.settle()
	patches = api.callsTo("PATCH", "/api/users/3")
	if u.ask != nil || len(patches) != 2 || strings.TrimSpace(patches[1].Body) != `{"disabled":false}` {
		t.Errorf("enable: asking %v, PATCHes %+v; want it sent at once", u.ask != nil, patches)
	}
}

func TestUsersEditSendsOnlyWhatChanged(t *testing.T) {
	t.Run("a manager's edit never carries a role", func(t *testing.T) {
		r, api, u := usersPage(t, mark, map[string]http.HandlerFunc{"PATCH /api/users/{id}": reply(vera)})
		u.openEdit(r.stale, vera.ID)
		u.edit.email = "vera@example.org"
		u.edit.role = shared.RoleManager // as if a stale select said so
		u.submitEdit(r.stale, ev)
		r.settle()
		patches := api.callsTo("PATCH", "/api/users/3")
		if len(patches) != 1 || strings.TrimSpace(patches[0].Body) != `{"email":"vera@example.org"}` {
			t.Fatalf("PATCH = %+v, want only the e-mail", patches)
		}
		if u.edit.open {
			t.Errorf("the edit form stays open after saving")
		}
	})
	t.Run("an admin may change the role", func(t *testing.T) {
		r, api, u := usersPage(t, alice, map[string]http.HandlerFunc{"PATCH /api/users/{id}": reply(vera)})
		u.openEdit(r.stale, vera.ID)
		u.edit.role = shared.RoleManager
		u.submitEdit(r.stale, ev)
		r.settle()
		patches := api.callsTo("PATCH", "/api/users/3")
		if len(patches) != 1 || strings.TrimSpace(patches[0].Body) != `{"role":"manager"}` {
			t.Fatalf("PATCH = %+v, want only the role", patches)
		}
	})
	t.Run("a bad e-mail is caught before sending", func(t *testing.T) {
		r, api, u := usersPage(t, alice, nil)
		u.openEdit(r.stale, vera.ID)
		u.edit.email = "vera at example"
		u.submitEdit(r.stale, ev)
		r.settle()
		if w := api.writes(); len(w) != 0 {
			t.Fatalf("sent %+v", w)
		}
		if got := render(t, u).one(t, "#edit-email-error").Text(); got != shared.ValidateEmail("vera at example") {
			t.Errorf("#edit-email-error = %q", got)
		}
	})
}

func TestUsersResetPassword(t *testing.T) {
	r, api, u := usersPage(t, alice, map[string]http.HandlerFunc{"PUT /api/users/{id}/password": replyStatus(http.StatusNoContent)})
	u.openReset(r.stale, vera.ID)
	dom := render(t, u)
	dom.one(t, "#reset-form #reset-password-input")
	dom.one(t, "#reset-form #reset-submit")

	u.reset.password = "short"
	u.submitReset(r.stale, ev)
	r.settle()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("a short password was sent: %+v", w)
	}
	if got := render(t, u).one(t, "#reset-password-input-error").Text(); got != shared.ValidatePassword("short") {
		t.Errorf("#reset-password-input-error = %q", got)
	}

	u.reset.password = "a-long-new-password"
	u.submitReset(r.stale, ev)
	r.settle()
	puts := api.callsTo("PUT", "/api/users/3/password")
	if len(puts) != 1 || strings.TrimSpace(puts[0].Body) != `{"new_password":"a-long-new-password"}` {
		t.Fatalf("PUT = %+v", puts)
	}
	if got := render(t, u).one(t, "#users-message").Text(); !strings.Contains(got, "signed out") {
		t.Errorf("#users-message = %q, want it to say vera was signed out", got)
	}
}

func TestUsersRefusesWritesOffline(t *testing.T) {
	r, api, u := usersPage(t, alice, nil)
	u.Env.Online = func() bool { return false }
	u.openCreate(r.stale, ev)
	u.create = createDraft{open: true, username: "nina", password: "nina-password", role: shared.RoleViewer}
	u.submitCreate(r.stale, ev)
	r.settle()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("sent offline: %+v", w)
	}
	if got := render(t, u).one(t, "#user-form p.error[role=alert]").Text(); got != Message(ErrOffline) {
		t.Errorf("error = %q, want %q", got, Message(ErrOffline))
	}
}

func TestUsersSearchAndPages(t *testing.T) {
	many := shared.Page[shared.User]{Items: []shared.User{vera}, Total: 45, Page: 1, PerPage: 20}
	r, api, u := usersPage(t, vera, map[string]http.HandlerFunc{"GET /api/users": reply(many)})
	urls := following(t, r.ctx, u)
	u.search = "  ver "
	u.submitSearch(r.stale, ev)
	r.settle()
	dom := render(t, u)
	if got := dom.one(t, "#page-info").Text(); got != "Page 1 of 3" {
		t.Errorf("#page-info = %q", got)
	}
	(&Pager{Page: u.page, PerPage: 20, Total: 45, OnPage: u.goPage}).next(r.stale, ev)
	r.settle()

	lists := api.callsTo("GET", "/api/users")
	last := lists[len(lists)-1].Query
	if last["q"] != "ver" || last["page"] != "2" || last["per_page"] != "20" {
		t.Errorf("last list query = %v, want q=ver page=2 per_page=20", last)
	}
	if prev := lists[len(lists)-2].Query; prev["q"] != "ver" || prev["page"] != "1" {
		t.Errorf("search query = %v, want q=ver page=1", prev)
	}
	u.sortBy(r.stale, shared.SortUsername)
	r.settle()
	u.sortBy(r.stale, shared.SortUsername)
	r.settle()
	lists = api.callsTo("GET", "/api/users")
	if last := lists[len(lists)-1].Query; last["sort"] != "-username" || last["q"] != "ver" || last["page"] != "1" {
		t.Errorf("list query after sorting twice by username = %v, want q=ver sort=-username page=1", last)
	}
	want := []string{"/users?q=ver", "/users?page=2&q=ver", "/users?q=ver&sort=username", "/users?q=ver&sort=-username"}
	if strings.Join(*urls, " ") != strings.Join(want, " ") {
		t.Errorf("addresses %q, want %q", *urls, want)
	}
	if got := render(t, u).one(t, `th[aria-sort="descending"] #sort-username`).Text(); got != "Username ▼" {
		t.Errorf("the sorted heading says %q", got)
	}
}

func TestUsersOfflineShowsTheCachedList(t *testing.T) {
	_, api, u := usersPage(t, vera, nil)
	env := u.Env
	api.Close() // the network is gone

	r := newRig(t)
	again := &Users{Env: env}
	again.OnMount(r.ctx)
	r.settle()
	dom := render(t, again)
	if n := dom.count(t, "#users-table tbody tr"); n != 3 {
		t.Errorf("%d cached rows shown offline, want 3", n)
	}
	if got := dom.one(t, "#stale-note").Text(); !strings.Contains(got, "just now") {
		t.Errorf("#stale-note = %q", got)
	}
}

func TestUsersReportedOfflineUsesTheCacheWithoutAsking(t *testing.T) {
	_, api, u := usersPage(t, vera, nil)
	env := u.Env
	env.Online = func() bool { return false } // the browser says so, though the stub still answers
	before := len(api.callsTo("GET", "/api/users"))

	r := newRig(t)
	again := &Users{Env: env}
	again.OnMount(r.ctx)
	r.settle()
	if n := len(api.callsTo("GET", "/api/users")); n != before {
		t.Errorf("the list was fetched %d times while offline, want from the cache", n-before)
	}
	dom := render(t, again)
	if n := dom.count(t, "#users-table tbody tr"); n != 3 {
		t.Errorf("%d cached rows shown, want 3", n)
	}
	dom.one(t, "#stale-note")

	t.Run("with nothing cached the network is still tried", func(t *testing.T) {
		env.Cache.Clear()
		r := newRig(t)
		third := &Users{Env: env}
		third.OnMount(r.ctx)
		r.settle()
		if n := len(api.callsTo("GET", "/api/users")); n != before+1 {
			t.Errorf("nothing cached: %d fetches, want 1", n-before)
		}
		if third.list == nil || !third.at.IsZero() {
			t.Errorf("the fresh answer was not shown as fresh")
		}
	})
}

func TestUsersAnEmptiedPageFallsBackToTheLastOne(t *testing.T) {
	var pages []string
	list := func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("page")
		pages = append(pages, p)
		if p == "3" { // its only user was just deleted
			reply(shared.Page[shared.User]{Items: []shared.User{}, Total: 40, Page: 3, PerPage: 20})(w, r)
			return
		}
		reply(shared.Page[shared.User]{Items: []shared.User{vera}, Total: 40, Page: 2, PerPage: 20})(w, r)
	}
	r, _, u := usersPage(t, alice, map[string]http.HandlerFunc{"GET /api/users": list})
	following(t, r.ctx, u)
	u.goPage(r.stale, 3)
	r.settle()
	if u.page != 2 || strings.Join(pages, ",") != "1,3,2" {
		t.Errorf("on page %d after asking for pages %v, want page 2 after 1,3,2", u.page, pages)
	}
}
