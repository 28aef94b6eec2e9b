//go:build !(js && wasm)

package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gatehouse/shared"
)

// The tests of issue 9 about signing in and out: what a person meets
// before the app runs, when a session ends, and on a first visit.

// Issue 9, item 1. On a link too slow for app.wasm the prerendered sign-in
// form is painted first: typed into as a person would (username, Tab,
// password, Enter) it never sends the password in an address, says it is
// starting, and signs in once the app runs. The loader does not cover it.
func TestEarlySignInBeforeTheAppRuns(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)
	sent := b.urls()
	release := b.hold("*app.wasm*")

	start := time.Now()
	b.do("open /login", chromedp.Navigate(srv.URL+"/login"))
	b.waitVisible("#login-form")
	if !eval[bool](b, `!!document.getElementById("app-wasm-loader")`) {
		t.Fatal("the app runs although app.wasm is held back")
	}
	// The form is on top: what is at the centre of the submit button is
	// the button, not the loader.
	if top := eval[string](b, `(r => document.elementFromPoint(r.x + r.width/2, r.y + r.height/2).id)(document.getElementById("login-submit").getBoundingClientRect())`); top != "login-submit" {
		t.Errorf("the submit button is covered by %q while app.wasm loads", top)
	}
	b.waitFocus("#username") // the prerendered autofocus
	b.key(adminUser)
	b.key(kb.Tab)
	b.key(adminPassword)
	b.key(kb.Enter)

	b.waitText("#login-submit", "starting")
	b.waitText("#login-status", "starting")
	if got := eval[string](b, "location.pathname + location.search"); got != "/login" {
		t.Errorf("after an early submit the page is %q, want /login", got)
	}
	if tok, ok := b.storage(tokenKey); ok {
		t.Fatalf("signed in (%.20q…) before the app ran", tok)
	}
	painted := eval[float64](b, `(performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime`)

	release()
	b.waitPath("/")
	b.waitText("#who", adminUser)
	t.Logf("first contentful paint %.0f ms after navigation; signed in %s after opening the page (app.wasm held back until the form was sent)", painted, time.Since(start).Round(time.Millisecond))

	for _, u := range sent() {
		if strings.Contains(u, adminPassword) || strings.Contains(u, url.QueryEscape(adminPassword)) {
			t.Errorf("a request carried the password in its address: %s", u)
		}
	}
	if h := eval[int](b, "history.length"); h > 3 {
		t.Errorf("history has %d entries: something navigated on the way", h)
	}
}

// Issue 9, item 1, with the mouse: what is typed before the app runs is
// kept when it starts, with the focus where it was.
func TestEarlyTypingIsKept(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)
	release := b.hold("*app.wasm*")
	b.do("open /login", chromedp.Navigate(srv.URL+"/login"))
	b.waitVisible("#login-form")
	b.click("#username")
	b.key(adminUser)
	b.click("#password")
	b.key("half-typed")
	release()
	b.waitApp()
	b.waitFor("the typed username to be kept", `document.getElementById("username").value === `+js(adminUser))
	b.waitFor("the typed password to be kept", `document.getElementById("password").value === "half-typed"`)
	b.waitFocus("#password")
	b.key("-and-more")
	if got := eval[string](b, `document.getElementById("password").value`); got != "half-typed-and-more" {
		t.Errorf("password field = %q after typing on, want half-typed-and-more", got)
	}
	if got := eval[bool](b, `"gatehouseEarlyLogin" in window`); got {
		t.Errorf("what early.js kept is still in window after the app took it")
	}
}

// Issue 9, item 5. Signing oneself out everywhere asks first; a session
// ended elsewhere (an administrator, a disabled account) lands on the
// sign-in page saying why, which then goes back to the page that was open.
func TestForcedSignOutSaysWhy(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	const mona, monaPassword = "mona", "mona-password-1"
	m := createUser(t, admin, mona, monaPassword, shared.RoleManager)

	t.Run("signing oneself out everywhere asks first", func(t *testing.T) {
		b := newBrowser(t, srv.URL)
		b.signInAs(mona, monaPassword)
		b.clickNav("#nav-sessions", "/sessions")
		sid := claimsOf(t, b.token()).Sid
		own := `#all-sessions tr[data-session-id="` + sid + `"] .revoke-user-sessions`
		b.click(own)
		b.waitVisible("#confirm")
		b.waitText("#confirm", "this one included")
		b.click("#confirm-no")
		b.waitGone("#confirm")
		if p := b.path(); p != "/sessions" || b.token() == "" {
			t.Fatalf("cancelling signed out (page %s)", p)
		}
		b.click(own)
		b.click("#confirm-yes")
		b.waitPath("/login")
		b.waitText("#login-notice", "signed out everywhere")
	})

	t.Run("revoked by an administrator", func(t *testing.T) {
		b := newBrowser(t, srv.URL)
		b.signInAs(mona, monaPassword)
		if err := admin.RevokeUserSessions(apiCtx(t), m.ID); err != nil {
			t.Fatal(err)
		}
		b.click("#nav-users")
		b.waitPath("/login")
		b.waitText("#login-notice", "An administrator signed you out")
		if got := eval[string](b, "location.search"); !strings.Contains(got, "next=%2Fusers") {
			t.Errorf("the sign-in page's address %q does not lead back to /users", got)
		}
		b.fill("#username", mona)
		b.fill("#password", monaPassword)
		b.click("#login-submit")
		b.waitPath("/users") // back where it was going
		b.waitVisible(row(mona))
	})

	t.Run("the account disabled", func(t *testing.T) {
		b := newBrowser(t, srv.URL)
		b.signInAs(mona, monaPassword)
		disabled := true
		if _, err := admin.UpdateUser(apiCtx(t), m.ID, shared.UserUpdate{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			enabled := false
			admin.UpdateUser(apiCtx(t), m.ID, shared.UserUpdate{Disabled: &enabled})
		})
		b.click("#nav-profile")
		b.waitPath("/login")
		b.waitText("#login-notice", "account was disabled")
	})
}

// Issue 9, item 8. The session's absolute end is announced five minutes
// ahead; a change made after the session ended asks for the password
// again over the page, keeps what was typed (in memory, never in storage)
// and is then carried out, on the same page.
func TestSessionEndIsAnnouncedAndAChangeSurvivesIt(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_SESSION_MAX": "4m"})
	admin := srv.login(t, adminUser, adminPassword)
	const mona, monaPassword = "mona", "mona-password-1"
	m := createUser(t, admin, mona, monaPassword, shared.RoleManager)
	vera := createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)

	b.signInAs(mona, monaPassword)
	b.waitVisible("#session-warning")
	b.waitText("#session-warning", "Your session ends at")

	b.clickNav("#nav-users", "/users")
	b.click(row("vera") + " .edit-user")
	b.waitVisible("#edit-form")
	const typed = "Vera Kept Through Sign-in"
	b.fill("#edit-fullname", typed)

	// The session ends under the open form.
	if err := admin.RevokeUserSessions(apiCtx(t), m.ID); err != nil {
		t.Fatal(err)
	}
	b.click("#edit-submit")
	b.waitVisible("#reauth")
	if !eval[bool](b, `document.getElementById("reauth").matches(":modal")`) {
		t.Errorf("#reauth is not a modal dialog")
	}
	b.waitText("#reauth-why", "administrator")
	b.waitFocus("#reauth-password")
	if got := eval[string](b, `document.getElementById("edit-fullname").value`); got != typed {
		t.Errorf("under the dialog the form holds %q, want %q", got, typed)
	}
	for _, where := range []string{"localStorage", "sessionStorage"} {
		if eval[bool](b, `Object.values(`+where+`).some(v => v.includes(`+js(typed)+`))`) {
			t.Errorf("%s holds what was typed", where)
		}
	}

	b.key("not-the-password" + kb.Enter)
	b.waitText("#reauth-password-error", "not the right password")
	b.fill("#reauth-password", monaPassword)
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitText("#users-message", "saved")
	if p := b.path(); p != "/users" {
		t.Errorf("after signing in again the page is %s, want /users", p)
	}
	got, err := admin.User(apiCtx(t), vera.ID)
	if err != nil || got.FullName != typed {
		t.Errorf("vera after the change: %+v, %v; want full name %q", got, err, typed)
	}
	for _, where := range []string{"localStorage", "sessionStorage"} {
		if eval[bool](b, `Object.values(`+where+`).some(v => v.includes(`+js(monaPassword)+`))`) {
			t.Errorf("%s holds the password", where)
		}
	}

	t.Run("an idle token says it renews on the next action", func(t *testing.T) {
		srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_ACCESS_TTL": "3s", "GATEHOUSE_SLIDE_AFTER": "1h"})
		b := newBrowser(t, srv.URL)
		b.signInAs(adminUser, adminPassword)
		b.waitVisible("#token-expired")
		b.waitText("#token-expired", "renews on your next action")
		if n := b.count("#token-expiry"); n != 0 {
			t.Errorf("an expired token still counts down: %q", b.text("#token-expiry"))
		}
	})
}

// Issue 9, item 14. A first visit without a token goes to the sign-in page
// without asking the API anything, so the console stays clean; the site
// icon is cached for offline use; og:url is the public address when one is
// configured, and left out otherwise.
func TestFirstVisitAsksNothing(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)
	logged := b.errorsLogged()

	b.open("/users")
	b.waitPath("/login")
	b.waitVisible("#username")
	b.waitQuiet(time.Second)
	if got := b.requestsSince(0, "", ""); len(got) != 0 {
		t.Errorf("a signed-out first visit called the API: %+v", got)
	}
	if errs := logged(); len(errs) != 0 {
		t.Errorf("the console shows errors: %q", errs)
	}
	if got := eval[string](b, "location.search"); got != "?next=%2Fusers" {
		t.Errorf("the sign-in page's query is %q, want it to lead back to /users", got)
	}
	if n := b.count(`meta[property="og:url"]`); n != 0 {
		t.Errorf("og:url is %q without a public URL", b.attr(`meta[property="og:url"]`, "content"))
	}
	b.waitFor("the site icon to be cached for offline use",
		`(async () => !!(await caches.match("/web/icon.svg")) && !!(await caches.match("/web/early.js")))()`)

	pub := startServer(t, "gatehouse (public URL)", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://admin.example.com"})
	b2 := newBrowser(t, pub.URL)
	b2.open("/login")
	if got := b2.attr(`meta[property="og:url"]`, "content"); got != "https://admin.example.com/login" {
		t.Errorf("og:url = %q, want https://admin.example.com/login", got)
	}
}

// Signing in again with a second factor: a session ended under an open
// form, for an account with an authenticator app. The dialog takes the
// password, then asks for the code (the focus there); a wrong one is said
// on its field, the next step's code (this step's was spent signing in)
// finishes it, and the change is saved as typed.
func TestSignInAgainWithASecondFactor(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	const mona, monaPassword = "mona", "mona-password-1"
	m := createUser(t, admin, mona, monaPassword, shared.RoleManager)
	vera := createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	secret, _ := enrolByAPI(t, srv.login(t, mona, monaPassword))

	b := newBrowser(t, srv.URL)
	b.signInToCode(mona, monaPassword)
	b.key(code(t, secret, time.Now()) + kb.Enter)
	b.waitPath("/")
	b.clickNav("#nav-users", "/users")
	b.click(row("vera") + " .edit-user")
	b.waitVisible("#edit-form")
	const typed = "Vera Kept Through Two Steps"
	b.fill("#edit-fullname", typed)

	if err := admin.RevokeUserSessions(apiCtx(t), m.ID); err != nil {
		t.Fatal(err)
	}
	b.click("#edit-submit")
	b.waitVisible("#reauth")
	b.waitFocus("#reauth-password")
	b.key(monaPassword + kb.Enter)
	b.waitVisible("#reauth-code")
	b.waitFocus("#reauth-code")
	b.key(wrongCode(t, secret) + kb.Enter)
	b.waitText("#reauth-code-error", "not the right code")
	b.fill("#reauth-password", monaPassword)
	b.fill("#reauth-code", nextCode(t, secret))
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitText("#users-message", "saved")
	if got, err := admin.User(apiCtx(t), vera.ID); err != nil || got.FullName != typed {
		t.Errorf("vera after signing in again: %+v, %v; want full name %q", got, err, typed)
	}
	b.nothingStored(monaPassword, secret)
}
