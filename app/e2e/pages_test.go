//go:build !(js && wasm)

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/shared"
)

// The tests of issue 9 about the pages themselves: filters, dialogs,
// forms, roles, keyboards, addresses and messages.

// Issue 9, item 2. After filtering by an action, "Any action" means no
// filter at all.
func TestAuditAnyActionMeansNoFilter(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "olga", "olga-password-1", shared.RoleViewer) // a user.create event
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-audit", "/audit")
	b.waitVisible("#audit-table tbody tr")
	all := b.text("#audit-total")

	b.chooseText("#audit-action", shared.ActionLogin)
	b.click("#audit-filter")
	b.waitFor("only sign-ins", `[...document.querySelectorAll("#audit-table tbody tr")].every(r => r.dataset.action === "login")`)
	mark := b.mark()
	b.chooseText("#audit-action", "Any action")
	b.click("#audit-filter")
	b.waitFor("every event again", `(e => !!e && e.textContent === `+js(all)+`)(`+q("#audit-total")+`)`)
	b.waitFor("a user.create row", q(`#audit-table tbody tr[data-action="user.create"]`)+" !== null")
	for _, r := range b.requestsSince(mark, http.MethodGet, shared.PathAudit) {
		if strings.Contains(r.URL, "action=") {
			t.Errorf("with any action the app asked %s", r.URL)
		}
	}
}

// chooseText selects the option whose label is text, as a person would.
func (b *browser) chooseText(sel, text string) {
	b.t.Helper()
	b.waitVisible(sel)
	ok := eval[bool](b, `(e => {
		const i = [...e.options].findIndex(o => o.text.trim() === `+js(text)+`);
		if (i < 0) return false;
		e.selectedIndex = i;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})(`+q(sel)+`)`)
	if !ok {
		b.t.Fatalf("%s has no option %q\npage: %s", sel, text, b.pageSummary())
	}
}

// Issue 9, item 3. Delete and Disable ask in a modal dialog that takes
// focus (on Cancel), closes on Escape and gives focus back.
func TestConfirmationsAreModalDialogs(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	u := createUser(t, admin, "olga", "olga-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")

	for _, action := range []string{".delete-user", ".toggle-user"} {
		b.click(row("olga") + " " + action)
		b.waitVisible("#confirm")
		if !eval[bool](b, `document.getElementById("confirm").matches("dialog:modal")`) {
			t.Fatalf("%s: #confirm is not a modal dialog", action)
		}
		b.waitFocus("#confirm-no")
		b.key(kb.Escape)
		b.waitGone("#confirm")
		b.waitFocus(row("olga") + " " + action)
	}
	if got, err := admin.User(apiCtx(t), u.ID); err != nil || got.Disabled {
		t.Fatalf("after Escape: %+v, %v; want olga untouched", got, err)
	}
	// Enter on the dialog as it opens cancels.
	b.click(row("olga") + " .delete-user")
	b.waitFocus("#confirm-no")
	b.key(kb.Enter)
	b.waitGone("#confirm")
	if _, err := admin.User(apiCtx(t), u.ID); err != nil {
		t.Fatalf("Enter deleted olga: %v", err)
	}
}

// Issue 9, item 4. After a password change the fields are empty, as shown,
// and the form works again.
func TestPasswordChangeEmptiesTheForm(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-profile", "/profile")

	change := func(from, to string) {
		b.fill("#current-password", from)
		b.fill("#new-password", to)
		b.fill("#repeat-password", to)
		b.click("#password-save")
		b.waitFor("the change to be done and the fields emptied",
			`!!document.getElementById("password-message") && document.getElementById("current-password").value === ""`)
	}
	change(adminPassword, "a-second-password")
	for _, id := range []string{"current-password", "new-password", "repeat-password"} {
		if v := eval[string](b, `document.getElementById(`+js(id)+`).value`); v != "" {
			t.Errorf("#%s still shows %d characters after the change", id, len(v))
		}
	}
	if n := b.count("#password-form .field-error"); n != 0 {
		t.Errorf("%d field errors after a successful change", n)
	}
	change("a-second-password", adminPassword)
	srv.login(t, adminUser, adminPassword)
}

// Issue 9, item 6. A role changed meanwhile shows at once: on a 403 the app
// reloads who is signed in, and so it does when the tab regains focus.
func TestRoleChangeShowsWithoutAReload(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	m := createUser(t, admin, "mona", "mona-password-1", shared.RoleManager)
	createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	setRole := func(r shared.Role) {
		if _, err := admin.UpdateUser(apiCtx(t), m.ID, shared.UserUpdate{Role: &r}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, srv.URL)
	b.signInAs("mona", "mona-password-1")
	b.clickNav("#nav-users", "/users")
	b.waitVisible(row("vera") + " .edit-user")

	setRole(shared.RoleViewer)
	b.click(row("vera") + " .edit-user")
	b.fill("#edit-fullname", "Vera Renamed")
	b.click("#edit-submit")
	b.waitText("#who", "(viewer)")
	b.waitGone("#user-create")
	if n := b.count(".edit-user, .delete-user, .toggle-user, #edit-form"); n != 0 {
		t.Errorf("a viewer still sees %d write controls", n)
	}
	if n := b.count("#nav-sessions"); n != 1 {
		t.Errorf("the navigation lost its own sessions page")
	}

	setRole(shared.RoleManager)
	eval[chromedp.Void](b, `window.dispatchEvent(new Event("focus"))`)
	b.waitText("#who", "(manager)")
	b.waitVisible("#user-create")
	b.waitVisible(row("vera") + " .edit-user")
}

// Issue 9, item 7. Keyboard and screen readers: the sign-in page has the
// focus in its first field, each page has its own title and puts focus on
// its heading, a failed submit focuses the first invalid field, which says
// so and names its error, and a skip link leads past the navigation.
func TestKeyboardAndScreenReaders(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)

	b.open("/login")
	b.waitFocus("#username")
	b.key(adminUser)
	if got := eval[string](b, `document.getElementById("username").value`); got != adminUser {
		t.Errorf("typing on a freshly loaded sign-in page gave the username %q", got)
	}
	b.key(kb.Tab)
	b.key(adminPassword + kb.Enter)
	b.waitPath("/")
	b.waitFocus("#page-title")

	titles := map[string]string{}
	for _, p := range []string{"/users", "/sessions", "/audit", "/profile", "/"} {
		b.clickNav("#nav-"+p[1:], p)
		b.waitFocus("#page-title")
		title := eval[string](b, "document.title")
		if prev, dup := titles[title]; dup {
			t.Errorf("%s and %s share the title %q", prev, p, title)
		}
		titles[title] = p
		if !strings.Contains(title, "Gatehouse") {
			t.Errorf("%s has the title %q", p, title)
		}
	}

	// The skip link is the first stop and leads into the content.
	if first := eval[string](b, `document.querySelector("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])").className`); !strings.Contains(first, "skip-link") {
		t.Errorf("the first focusable element is %q, want the skip link", first)
	}
	eval[chromedp.Void](b, `document.querySelector(".skip-link").focus()`)
	b.key(kb.Enter)
	b.waitFocus("#main")

	b.clickNav("#nav-users", "/users")
	b.click("#user-create")
	b.waitFocus("#new-username")
	b.fill("#new-fullname", "No Username")
	b.click("#user-form-submit")
	b.waitFocus("#new-username")
	if got := b.attr("#new-username", "aria-invalid"); got != "true" {
		t.Errorf("#new-username aria-invalid = %q, want true", got)
	}
	desc := b.attr("#new-username", "aria-describedby")
	if msg := b.text("#" + desc); msg == "" || !strings.Contains(msg, "required") {
		t.Errorf("#new-username is described by #%s: %q", desc, msg)
	}
	if b.count(`#new-fullname[aria-invalid]`) != 0 {
		t.Errorf("a valid field is marked invalid")
	}
	if border := eval[string](b, `getComputedStyle(document.getElementById("new-username")).borderTopColor`); border == eval[string](b, `getComputedStyle(document.getElementById("new-fullname")).borderTopColor`) {
		t.Errorf("the invalid field looks like the valid ones (border %s)", border)
	}
}

// Issue 9, item 11. Search, order, filters and page live in the address:
// a reload keeps them, Back goes back, and Next starts at the top.
func TestListsLiveInTheAddress(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	for i := range 25 {
		createUser(t, admin, fmt.Sprintf("user%02d", i), "user-password-1", shared.RoleViewer)
	}
	createUser(t, admin, "ad_min", "ad-min-password-1", shared.RoleAdmin)
	srv.login(t, "ad_min", "ad-min-password-1") // an audit actor a wildcard "ad_" would confuse with admin
	b := newBrowser(t, srv.URL)
	b.viewport(desktopWidth, 600, false)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.waitText("#page-info", "Page 1 of 2")

	// Next goes to page 2, at the top.
	eval[chromedp.Void](b, `window.scrollTo(0, document.body.scrollHeight)`)
	b.click("#page-next")
	b.waitText("#page-info", "Page 2 of 2")
	b.waitFor("the address to say page 2", `location.search === "?page=2"`)
	b.waitFor("the page to be at its top", `window.scrollY === 0`)
	b.do("go back", chromedp.NavigateBack())
	b.waitText("#page-info", "Page 1 of 2")

	// A search survives a reload.
	b.fill("#user-search", "user1")
	b.key(kb.Enter)
	b.waitFor("the address to hold the search", `location.search === "?q=user1"`)
	b.waitText("#users-total", "10")
	b.reload()
	b.waitText("#users-total", "10")
	if got := eval[string](b, `document.getElementById("user-search").value`); got != "user1" {
		t.Errorf("after a reload the search box holds %q", got)
	}
	b.do("go back", chromedp.NavigateBack())
	b.waitFor("the search gone", `location.search === ""`)
	b.waitText("#users-total", "27")
	b.waitFor("the search box emptied", `document.getElementById("user-search").value === ""`)

	// Sorting by username, then the other way.
	b.click("#sort-username")
	b.waitFor("the address to hold the order", `location.search === "?sort=username"`)
	b.waitFor("ad_min first", `document.querySelector("#users-table tbody tr").dataset.username === "ad_min"`)
	b.click("#sort-username")
	b.waitFor("the order reversed", `location.search === "?sort=-username"`)
	b.waitFor("user24 first", `document.querySelector("#users-table tbody tr").dataset.username === "user24"`)
	if got := b.attr(`th:has(#sort-username)`, "aria-sort"); got != "descending" {
		t.Errorf("the username heading says aria-sort=%q", got)
	}
	b.click("#sort-role")
	b.waitFor("viewers first by rank", `location.search === "?sort=role" && !!document.querySelector("#users-table tbody tr .badge.role.viewer")`)
	b.waitFor("viewers first by rank", `document.querySelector("#users-table tbody tr .badge.role").textContent === "viewer"`)
	b.click("#sort-role")
	b.waitFor("admins first, by rank then name", `location.search === "?sort=-role" && [...document.querySelectorAll("#users-table tbody tr")].slice(0, 2).map(r => r.dataset.username).join() === "ad_min,admin"`)

	// The audit actor filter matches the start of a name, '_' literally.
	b.clickNav("#nav-audit", "/audit")
	b.fill("#audit-actor", "ad_")
	b.key(kb.Enter)
	b.waitFor("the address to hold the filter", `location.search === "?actor=ad_"`)
	b.waitFor("only ad_min's events", `(rows => rows.length > 0 && rows.every(r => r.children[1].textContent === "ad_min"))([...document.querySelectorAll("#audit-table tbody tr")])`)
	b.reload()
	b.waitFor("the filter kept", `document.getElementById("audit-actor").value === "ad_"`)
	b.waitFor("still only ad_min's events", `(rows => rows.length > 0 && rows.every(r => r.children[1].textContent === "ad_min"))([...document.querySelectorAll("#audit-table tbody tr")])`)
}

// Issue 9, item 12. Messages go when what they describe is over: a change's
// outcome with the next search, the offline note when the network is back.
func TestMessagesGoWhenOver(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "temp.t", "temp-password-1", shared.RoleViewer)
	createUser(t, admin, "dora", "dora-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.click(row("temp.t") + " .delete-user")
	b.click("#confirm-yes")
	b.waitText("#users-message", "temp.t was deleted")
	b.fill("#user-search", "dora")
	b.key(kb.Enter)
	b.waitText("#users-total", "1")
	if n := b.count("#users-message"); n != 0 {
		t.Errorf("the deletion is still reported during a later search: %q", b.text("#users-message"))
	}

	// Offline, then online again.
	const controlled = `navigator.serviceWorker.controller !== null`
	if !b.poll(controlled, 20*time.Second) {
		b.reload()
	}
	b.waitFor("the service worker to control the page", controlled)
	b.waitFor("the users to be cached", `Object.keys(localStorage).some(k => k.startsWith(`+js(cachePrefix+"users")+`))`)
	b.goOffline()
	b.reload()
	b.waitVisible("#offline-banner")
	b.waitVisible("#stale-note")
	b.goOnline()
	b.waitGone("#offline-banner")
	b.waitGone("#stale-note")
	b.waitVisible(row("dora"))
}

// Issue 9, item 13. A viewer opening the audit log directly is told, in
// plain words, that it is not for their role; nothing is asked of the API.
func TestAuditIsNotForAViewer(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.signInAs("vera", "vera-password-1")
	mark := b.mark()
	b.open("/audit")
	b.waitVisible("#not-allowed")
	b.waitText("#not-allowed", "not available for your role")
	b.waitQuiet(500 * time.Millisecond)
	for _, sel := range []string{"#audit-filter-form", "#audit-table", "p.error"} {
		if n := b.count(sel); n != 0 {
			t.Errorf("a viewer is shown %s", sel)
		}
	}
	if got := b.requestsSince(mark, "", shared.PathAudit); len(got) != 0 {
		t.Errorf("the page asked the API for the audit log: %+v", got)
	}
}
