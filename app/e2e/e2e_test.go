//go:build !(js && wasm)

package e2e

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The sign-in page shows the server's verdict on a wrong password, and
// nothing is stored.
func TestWrongPasswordShowsError(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)

	mark := b.mark()
	b.signIn(adminUser, "not-the-password")
	b.waitVisible(`p.error[role=alert]`)
	if msg := b.text(`p.error[role=alert]`); !strings.Contains(strings.ToLower(msg), "wrong username or password") {
		t.Errorf("error shown = %q, want it to mention a wrong username or password", msg)
	}
	if got := b.requestsSince(mark, http.MethodPost, shared.PathToken); len(got) != 1 || got[0].Status != http.StatusUnauthorized {
		t.Errorf("sign-in requests = %+v, want one POST %s answered 401", got, shared.PathToken)
	}
	if p := b.path(); p != "/login" {
		t.Errorf("page = %s after a failed sign-in, want /login", p)
	}
	b.waitFor("the password field to be cleared", `document.getElementById("password").value === ""`)
	if tok, ok := b.storage(tokenKey); ok {
		t.Errorf("localStorage[%q] = %q after a failed sign-in, want nothing", tokenKey, tok)
	}
}

// Signing in lands on the dashboard, which shows who is signed in.
func TestLoginShowsDashboard(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.waitText("#me-username", adminUser)
	if who := b.text("#who"); who != "admin (admin)" {
		t.Errorf("#who = %q, want %q", who, "admin (admin)")
	}
	if got := b.text("#me-username"); got != adminUser {
		t.Errorf("#me-username = %q, want %q", got, adminUser)
	}
	b.waitText("#me-role", "admin")

	// The token the app holds is the server's, for the admin.
	me, err := srv.withToken(b.token()).Me(apiCtx(t))
	if err != nil {
		t.Fatalf("GET /api/users/me with the browser's token: %v", err)
	}
	if me.Username != adminUser {
		t.Errorf("the browser's token is %s's, want %s's", me.Username, adminUser)
	}
}

// Signing out ends the session on the server, forgets the token and every
// cached view, and lands on the sign-in page.
func TestLogoutClearsStorage(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.waitVisible(row(adminUser))
	// Something must be cached for the test to mean anything.
	b.waitFor("a view to be cached in localStorage",
		`Object.keys(localStorage).some(k => k.startsWith(`+js(cachePrefix)+`))`)
	sid := claimsOf(t, b.token()).Sid

	b.click("#logout")
	b.waitPath("/login")
	b.waitVisible("#username")
	for _, k := range b.storageKeys() {
		if k == tokenKey || strings.HasPrefix(k, cachePrefix) {
			v, _ := b.storage(k)
			t.Errorf("after sign-out localStorage still holds %q = %.80q", k, v)
		}
	}

	// The session is over on the server too.
	admin := srv.login(t, adminUser, adminPassword)
	s := findSession(t, admin, sid)
	if s.RevokedAt == nil {
		t.Errorf("session %s is still active after sign-out", sid)
	} else if s.RevokedReason != shared.RevokedLogout {
		t.Errorf("session %s revoked for %q, want %q", sid, s.RevokedReason, shared.RevokedLogout)
	}

	// And a reload does not bring it back (no refresh cookie left).
	b.open("/")
	b.waitPath("/login")
}

// With a short SLIDE_AFTER, a click that calls the API brings a fresh
// token, and the dashboard's expiry moves with it.
func TestTokenSlides(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_SLIDE_AFTER": "1s"})
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.waitVisible("#token-expiry-at")
	old := b.token()
	oldExpiry := b.text("#token-expiry-at")

	// The token must get older than SLIDE_AFTER; claims have whole seconds,
	// so wait two of them for the new exp to differ.
	time.Sleep(2100 * time.Millisecond)
	mark := b.mark()
	b.click("#check-session")
	tok := b.waitTokenChange(old)
	b.waitVisible("#check-message") // shown once the check succeeded

	c0, c1 := claimsOf(t, old), claimsOf(t, tok)
	if c1.Sid != c0.Sid {
		t.Errorf("the new token is of session %s, want the same session %s", c1.Sid, c0.Sid)
	}
	if !c1.expires().After(c0.expires()) {
		t.Errorf("the new token expires at %s, not after the old one's %s", c1.expires(), c0.expires())
	}
	if got := b.requestsSince(mark, http.MethodGet, shared.PathAuthCheck); len(got) == 0 {
		t.Errorf("#check-session sent no GET %s", shared.PathAuthCheck)
	}
	b.waitFor("#token-expiry-at to move", `(e => !!e && e.textContent.trim() !== `+js(oldExpiry)+`)(`+q("#token-expiry-at")+`)`)
	newExpiry := b.text("#token-expiry-at")
	if before, after, ok := parseClock(oldExpiry, newExpiry); ok && !after.After(before) {
		t.Errorf("#token-expiry-at went from %q to %q, want later", oldExpiry, newExpiry)
	}
	if p := b.path(); p != "/" {
		t.Errorf("page = %s, want / (still signed in)", p)
	}
}

// parseClock finds the last time of day (15:04:05) in each of two texts.
func parseClock(a, b string) (time.Time, time.Time, bool) {
	ta, oka := lastClock(a)
	tb, okb := lastClock(b)
	return ta, tb, oka && okb
}

func lastClock(s string) (time.Time, bool) {
	for i := len(s) - 8; i >= 0; i-- {
		if t, err := time.Parse("15:04:05", s[i:i+8]); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Once the access token has expired, the next click refreshes it through
// the HttpOnly cookie — once — and the app stays signed in. The page can
// never read the refresh token.
func TestExpiredTokenRefreshesThroughCookie(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", map[string]string{
		"GATEHOUSE_ACCESS_TTL":  "3s",
		"GATEHOUSE_SLIDE_AFTER": "1h", // no sliding: only the refresh can help
	})
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.waitVisible("#check-session")
	old := b.token()
	waitRefused(t, srv, old)

	mark := b.mark()
	b.click("#check-session")
	tok := b.waitTokenChange(old)
	b.waitVisible("#check-message") // shown once the check succeeded
	b.waitQuiet(time.Second)

	c0, c1 := claimsOf(t, old), claimsOf(t, tok)
	if c1.Sid != c0.Sid {
		t.Errorf("the refreshed token is of session %s, want the same session %s", c1.Sid, c0.Sid)
	}
	if !c1.expires().After(c0.expires()) {
		t.Errorf("the refreshed token expires at %s, not after the old one's %s", c1.expires(), c0.expires())
	}
	if p := b.path(); p != "/" {
		t.Errorf("page = %s after the refresh, want / (still signed in)", p)
	}
	b.waitText("#who", adminUser)

	// One 401, one refresh, one retry: the design's "refreshes once and
	// retries once".
	checks := b.requestsSince(mark, http.MethodGet, shared.PathAuthCheck)
	var statuses []int
	for _, r := range checks {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []int{http.StatusUnauthorized, http.StatusNoContent}) {
		t.Errorf("GET %s answers after the click = %v, want [401 204] (the expired try, then one retry)", shared.PathAuthCheck, statuses)
	}
	if got := b.requestsSince(mark, http.MethodPost, shared.PathTokenRefresh); len(got) != 1 || got[0].Status != http.StatusOK {
		t.Errorf("refresh requests = %+v, want one POST %s answered 200", got, shared.PathTokenRefresh)
	}

	// The refresh token lives only in an HttpOnly cookie.
	rc := refreshCookie(t, b, srv.URL)
	if !rc.HTTPOnly {
		t.Errorf("cookie %s is not HttpOnly", shared.CookieRefresh)
	}
	if rc.SameSite != network.CookieSameSiteStrict {
		t.Errorf("cookie %s has SameSite=%q, want Strict", shared.CookieRefresh, rc.SameSite)
	}
	if dc := eval[string](b, "document.cookie"); strings.Contains(dc, shared.CookieRefresh) || strings.Contains(dc, rc.Value) {
		t.Errorf("document.cookie = %q: the page can read the refresh token", dc)
	}
	for _, k := range b.storageKeys() {
		v, _ := b.storage(k)
		if strings.Contains(strings.ToLower(k), "refresh") || strings.Contains(v, rc.Value) {
			t.Errorf("localStorage[%q] holds a refresh token", k)
		}
	}
}

// waitRefused waits until the server refuses tok (its exp plus the
// server's clock-skew leeway have passed).
func waitRefused(t *testing.T, srv *server, tok string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		req, err := http.NewRequestWithContext(apiCtx(t), http.MethodGet, srv.URL+shared.PathAuthCheck, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", shared.PathAuthCheck, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still accepts the token %s after its expiry (answer %d)", time.Until(claimsOf(t, tok).expires()).Round(time.Second), resp.StatusCode)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// refreshCookie returns the refresh cookie the browser holds for origin.
func refreshCookie(t *testing.T, b *browser, origin string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin + shared.PathTokenRefresh}})
	if err != nil {
		t.Fatalf("read the browser's cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == shared.CookieRefresh {
			return c
		}
	}
	t.Fatalf("the browser holds no %s cookie for %s", shared.CookieRefresh, origin)
	return nil
}

// waitQuiet waits until the page has sent no API request for d.
func (b *browser) waitQuiet(d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	n, since := b.mark(), time.Now()
	for time.Since(since) < d {
		if time.Now().After(deadline) {
			b.t.Fatalf("the page kept calling the API for %s", waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
		if m := b.mark(); m != n {
			n, since = m, time.Now()
		}
	}
}

// Revoking the app's session elsewhere sends the app to the sign-in page
// at its next call.
func TestRevokedSessionGoesToLogin(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	sid := claimsOf(t, b.token()).Sid

	other := srv.login(t, adminUser, adminPassword) // another admin session
	if s := findSession(t, other, sid); s.RevokedAt != nil {
		t.Fatalf("the browser's session %s is already revoked", sid)
	}
	if err := other.RevokeSession(apiCtx(t), sid); err != nil {
		t.Fatalf("DELETE /api/sessions/%s: %v", sid, err)
	}

	b.click("#nav-users")
	b.waitPath("/login")
	b.waitVisible("#username")
	if tok, ok := b.storage(tokenKey); ok {
		t.Errorf("localStorage[%q] = %.40q… after the session was revoked, want nothing", tokenKey, tok)
	}
}

// findSession returns the session sid as listed by GET /api/sessions.
func findSession(t *testing.T, c *client.Client, sid string) shared.Session {
	t.Helper()
	for page := 1; ; page++ {
		p, err := c.Sessions(apiCtx(t), client.SessionQuery{Page: page, PerPage: 100})
		if err != nil {
			t.Fatalf("GET /api/sessions: %v", err)
		}
		for _, s := range p.Items {
			if s.ID == sid {
				return s
			}
		}
		if len(p.Items) == 0 || page*p.PerPage >= p.Total {
			t.Fatalf("session %s is not listed", sid)
		}
	}
}

// A viewer is shown no control that changes users, and the API refuses
// the change anyway.
func TestViewerSeesNoWriteControls(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	const viewer, viewerPassword = "vera", "vera-password-1"
	createUser(t, admin, viewer, viewerPassword, shared.RoleViewer)
	b := newBrowser(t, srv.URL)

	b.signInAs(viewer, viewerPassword)
	b.waitText("#who", "(viewer)")
	b.clickNav("#nav-users", "/users")
	b.waitVisible(row(viewer))
	b.waitVisible(row(adminUser))
	for _, sel := range []string{"#user-create", "#user-form", ".edit-user", ".toggle-user", ".reset-password", ".delete-user", "#nav-audit"} {
		if n := b.count(sel); n != 0 {
			t.Errorf("a viewer is shown %d %s", n, sel)
		}
	}

	_, err := srv.withToken(b.token()).CreateUser(apiCtx(t), shared.UserCreate{
		Username: "mallory", Password: "mallory-password", Role: shared.RoleViewer,
		MustChangePassword: ptr(false),
	})
	var e *shared.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != shared.CodeInsufficientScope {
		t.Errorf("POST /api/users with the viewer's token: %v, want 403 %s", err, shared.CodeInsufficientScope)
	}
	if p, err := admin.Users(apiCtx(t), client.UserQuery{Q: "mallory"}); err != nil || p.Total != 0 {
		t.Errorf("users matching mallory: %+v, %v; want none", p, err)
	}
}

func createUser(t *testing.T, admin *client.Client, username, password string, role shared.Role) *shared.User {
	t.Helper()
	u, err := admin.CreateUser(apiCtx(t), shared.UserCreate{
		Username: username, Password: password, FullName: strings.ToUpper(username[:1]) + username[1:] + " Test",
		Email: username + "@example.com", Role: role,
		MustChangePassword: ptr(false),
	})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

// The PWA works from another origin than the API's when the API allows
// it: the fresh token in the refreshtoken header is readable cross-origin.
func TestCrossOriginAPI(t *testing.T) {
	needBrowser(t)
	portA := freePort(t)
	originA := "http://127.0.0.1:" + strconv.Itoa(portA)
	api := startServer(t, "B (API)", map[string]string{
		"GATEHOUSE_CORS_ORIGINS": originA,
		"GATEHOUSE_SLIDE_AFTER":  "1s",
	})
	pwa := startServer(t, "A (PWA)", map[string]string{
		"GATEHOUSE_ADDR":           "127.0.0.1:" + strconv.Itoa(portA),
		"GATEHOUSE_API_URL":        api.URL,
		"GATEHOUSE_ADMIN_PASSWORD": "a-password-only-A-knows", // a sign-in that reached A would fail
	})
	if pwa.URL != originA {
		t.Fatalf("A listens at %s, want %s", pwa.URL, originA)
	}
	b := newBrowser(t, pwa.URL)

	b.signInAs(adminUser, adminPassword)
	old := b.token()
	time.Sleep(2100 * time.Millisecond) // older than B's SLIDE_AFTER
	mark := b.mark()
	b.click("#check-session")
	tok := b.waitTokenChange(old)
	if c0, c1 := claimsOf(t, old), claimsOf(t, tok); c1.Sid != c0.Sid || !c1.expires().After(c0.expires()) {
		t.Errorf("slid token: session %s exp %s; want session %s and exp after %s", c1.Sid, c1.expires(), c0.Sid, c0.expires())
	}
	if me, err := api.withToken(tok).Me(apiCtx(t)); err != nil || me.Username != adminUser {
		t.Errorf("B does not take the slid token: %+v, %v", me, err)
	}
	if origin := eval[string](b, "location.origin"); origin != originA {
		t.Errorf("the page is at %s, want A (%s)", origin, originA)
	}
	// Every API call went to B, none to A.
	for _, r := range b.requestsSince(0, "", "") {
		if !strings.HasPrefix(r.URL, api.URL+"/") {
			t.Errorf("API request %s %s did not go to B (%s)", r.Method, r.URL, api.URL)
		}
	}
	if len(b.requestsSince(mark, http.MethodGet, shared.PathAuthCheck)) == 0 {
		t.Errorf("#check-session sent no GET %s to B", shared.PathAuthCheck)
	}
}

// When the API does not allow the PWA's origin, signing in fails with an
// error shown, and nothing is stored.
func TestCrossOriginRefused(t *testing.T) {
	needBrowser(t)
	portA := freePort(t)
	api := startServer(t, "B (API, A not allowed)", map[string]string{
		"GATEHOUSE_CORS_ORIGINS": "http://127.0.0.1:1", // some other origin
	})
	pwa := startServer(t, "A (PWA)", map[string]string{
		"GATEHOUSE_ADDR":    "127.0.0.1:" + strconv.Itoa(portA),
		"GATEHOUSE_API_URL": api.URL,
	})
	b := newBrowser(t, pwa.URL)

	mark := b.mark()
	b.signIn(adminUser, adminPassword)
	b.waitVisible(`p.error[role=alert]`)
	msg := b.text(`p.error[role=alert]`)
	if msg == "" || strings.Contains(strings.ToLower(msg), "wrong username or password") {
		t.Errorf("error shown = %q, want one that says the server could not be used", msg)
	}
	if p := b.path(); p != "/login" {
		t.Errorf("page = %s, want /login", p)
	}
	if tok, ok := b.storage(tokenKey); ok {
		t.Errorf("localStorage[%q] = %.40q…, want nothing", tokenKey, tok)
	}
	sent := b.requestsSince(mark, http.MethodPost, shared.PathToken)
	if len(sent) == 0 || !strings.HasPrefix(sent[0].URL, api.URL+"/") {
		t.Fatalf("sign-in requests = %+v, want a POST %s to B", sent, shared.PathToken)
	}
	if sent[0].Failed == "" {
		t.Errorf("the sign-in request to B did not fail in the browser: %+v", sent[0])
	}
}

// The dashboard's chart counts the sign-ins just made.
func TestDashboardChartCountsSignIns(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "olga", "olga-password-1", shared.RoleViewer)
	const okLogins, failedLogins = 3, 2 // besides admin's two sign-ins
	for range okLogins {
		srv.login(t, "olga", "olga-password-1")
	}
	for range failedLogins {
		_, err := client.New(srv.URL, nil).Login(apiCtx(t), "olga", "wrong-password")
		var e *shared.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			t.Fatalf("sign-in with a wrong password: %v, want 401", err)
		}
	}
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.waitVisible("#signins-chart")
	b.waitFor("the chart to have bars", q("#signins-chart rect.bar.ok")+" !== null")
	wantOK := okLogins + 2 // the API sign-in above and the browser's
	okAttr, failedAttr := b.attr("#signins-chart", "data-ok"), b.attr("#signins-chart", "data-failed")
	ok, err1 := strconv.Atoi(okAttr)
	failed, err2 := strconv.Atoi(failedAttr)
	if err1 != nil || err2 != nil {
		t.Fatalf("#signins-chart data-ok=%q data-failed=%q, want numbers", okAttr, failedAttr)
	}
	if ok < wantOK {
		t.Errorf("chart data-ok = %d, want at least %d", ok, wantOK)
	}
	if failed < failedLogins {
		t.Errorf("chart data-failed = %d, want at least %d", failed, failedLogins)
	}
	// The bars add up to the totals.
	sum := eval[[]int](b, `[...document.querySelectorAll("#signins-chart rect.bar.ok")].map(r => +r.dataset.count)`)
	total := 0
	for _, n := range sum {
		total += n
	}
	if total != ok {
		t.Errorf("the ok bars add up to %d, data-ok says %d", total, ok)
	}
	if n := b.count("#signins-chart rect.bar.failed"); n == 0 {
		t.Errorf("the chart has no failed bars")
	}
	tallest := eval[float64](b, `Math.max(...[...document.querySelectorAll("#signins-chart rect.bar.ok")].map(r => +r.getAttribute("height")))`)
	if tallest <= 0 {
		t.Errorf("every ok bar has zero height")
	}
}

// An admin creates, edits, disables and deletes a user on the users page,
// and the API holds each change.
func TestManageUserThroughUI(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	b := newBrowser(t, srv.URL)

	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.waitVisible(row(adminUser))

	// Create.
	const name, password = "carol", "carol-password-1"
	b.click("#user-create")
	b.waitVisible("#user-form")
	b.fill("#new-username", name)
	b.fill("#new-password", password)
	b.fill("#new-fullname", "Carol Created")
	b.fill("#new-email", "carol@example.com")
	b.choose("#new-role", string(shared.RoleManager))
	b.click("#user-form-submit")
	b.waitVisible(row(name))
	b.waitText("#users-message", name)
	b.waitGone("#user-form")
	p, err := admin.Users(apiCtx(t), client.UserQuery{Q: name})
	if err != nil || p.Total != 1 || len(p.Items) != 1 {
		t.Fatalf("users matching %s: %+v, %v; want one", name, p, err)
	}
	u := p.Items[0]
	if u.Username != name || u.FullName != "Carol Created" || u.Email != "carol@example.com" || u.Role != shared.RoleManager || u.Disabled {
		t.Errorf("created user = %+v, want carol, Carol Created, carol@example.com, manager, enabled", u)
	}
	if id := b.attr(row(name), "data-user-id"); id != strconv.FormatInt(u.ID, 10) {
		t.Errorf("row data-user-id = %s, want %d", id, u.ID)
	}
	// The password set in the form works, once: the box asking for a new
	// one at the first sign-in starts ticked.
	carol := srv.login(t, name, password)
	if me, err := carol.Me(apiCtx(t)); err != nil || !me.MustChangePassword {
		t.Errorf("carol at her first sign-in: %+v, %v; want must_change_password", me, err)
	}
	// Unticked, the password is the one the user keeps.
	b.click("#user-create")
	b.waitVisible("#user-form")
	b.fill("#new-username", "dave")
	b.fill("#new-password", "dave-password-1")
	b.click("#new-must-change")
	b.click("#user-form-submit")
	b.waitVisible(row("dave"))
	if me, err := srv.login(t, "dave", "dave-password-1").Me(apiCtx(t)); err != nil || me.MustChangePassword {
		t.Errorf("dave, created with the box unticked: %+v, %v; want no forced change", me, err)
	}

	// Edit.
	b.click(row(name) + " .edit-user")
	b.waitVisible("#edit-form")
	b.fill("#edit-fullname", "Carol Edited")
	b.fill("#edit-email", "carol.edited@example.com")
	b.choose("#edit-role", string(shared.RoleViewer))
	b.click("#edit-submit")
	b.waitGone("#edit-form")
	b.waitText("#users-message", "saved")
	got, err := admin.User(apiCtx(t), u.ID)
	if err != nil {
		t.Fatalf("GET /api/users/%d: %v", u.ID, err)
	}
	if got.FullName != "Carol Edited" || got.Email != "carol.edited@example.com" || got.Role != shared.RoleViewer {
		t.Errorf("edited user = %+v, want Carol Edited, carol.edited@example.com, viewer", got)
	}
	b.waitText(row(name), "Carol Edited")
	b.waitText(row(name), "carol.edited@example.com")

	// Disable, which asks first.
	b.click(row(name) + " .toggle-user")
	b.waitVisible("#confirm")
	b.waitText("#confirm", name)
	b.click("#confirm-yes")
	b.waitGone("#confirm")
	b.waitText("#users-message", "disabled")
	b.waitText(row(name), "Disabled")
	if got, err := admin.User(apiCtx(t), u.ID); err != nil || !got.Disabled {
		t.Errorf("after disabling: %+v, %v; want disabled", got, err)
	}
	if _, err := carol.Me(apiCtx(t)); err == nil {
		t.Errorf("the disabled user's session still works")
	}

	// Delete: Cancel keeps the user, Delete removes it.
	b.click(row(name) + " .delete-user")
	b.waitVisible("#confirm")
	b.click("#confirm-no")
	b.waitGone("#confirm")
	if _, err := admin.User(apiCtx(t), u.ID); err != nil {
		t.Fatalf("after cancelling the delete: %v; want the user kept", err)
	}
	b.click(row(name) + " .delete-user")
	b.waitVisible("#confirm")
	b.waitText("#confirm", name)
	b.click("#confirm-yes")
	b.waitGone(row(name))
	b.waitText("#users-message", "deleted")
	_, err = admin.User(apiCtx(t), u.ID)
	var e *shared.Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound {
		t.Errorf("GET /api/users/%d after deleting: %v, want 404", u.ID, err)
	}
}

// Offline, the users page still opens (from the service worker's cache),
// says it is offline, shows the last loaded users with their age, and
// refuses changes with a message saying why.
func TestOfflineShowsCachedUsers(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "dora", "dora-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.viewport(desktopWidth, desktopHigh, false)

	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.waitVisible(row("dora"))
	b.waitFor("the users to be cached in localStorage",
		`Object.keys(localStorage).some(k => k.startsWith(`+js(cachePrefix+"users")+`))`)

	// Wait for the service worker to control the page and to hold the
	// shell; the first page load is not controlled, so reload once if the
	// worker does not claim it.
	const controlled = `navigator.serviceWorker.controller !== null`
	if !b.poll(controlled, 20*time.Second) {
		b.reload()
		b.waitVisible(row("dora"))
	}
	b.waitFor("the service worker to control the page", controlled)
	b.waitFor("the service worker to cache the app shell",
		`(async () => !!(await caches.match("/users")) && !!(await caches.match("/web/app.wasm")) && !!(await caches.match("/app.js")))()`)

	b.goOffline()
	b.reload()
	b.waitFor("the browser to report offline", `navigator.onLine === false`)
	b.waitVisible("#offline-banner")
	b.waitVisible(row("dora"))
	b.waitVisible(row(adminUser))
	b.waitVisible("#stale-note")
	if note := b.text("#stale-note"); !strings.Contains(note, "ago") && !strings.Contains(note, "just now") {
		t.Errorf("#stale-note = %q, want the age of the data", note)
	}
	if p := b.path(); p != "/users" {
		t.Errorf("page = %s offline, want /users", p)
	}
	b.shot("screens", "users-offline", true)

	// A change is refused, saying why.
	mark := b.mark()
	b.click("#user-create")
	b.waitVisible("#user-form")
	b.fill("#new-username", "eric")
	b.fill("#new-password", "eric-password-1")
	b.click("#user-form-submit")
	b.waitVisible(`#user-form p.error[role=alert]`)
	if msg := b.text(`#user-form p.error[role=alert]`); !strings.Contains(strings.ToLower(msg), "offline") {
		t.Errorf("error shown = %q, want it to say the browser is offline", msg)
	}
	if sent := b.requestsSince(mark, http.MethodPost, shared.PathUsers); len(sent) != 0 {
		t.Errorf("offline, the app still sent %+v", sent)
	}
	if p, err := admin.Users(apiCtx(t), client.UserQuery{Q: "eric"}); err != nil || p.Total != 0 {
		t.Errorf("users matching eric: %+v, %v; want none", p, err)
	}
}

// goOffline cuts the tab and its service worker off the network and makes
// navigator.onLine false, as DevTools' "Offline" does. The page's requests
// go through the service worker, which is a target of its own: network
// emulation set on the page does not reach the worker's fetches, so the
// worker gets it too.
func (b *browser) goOffline() {
	b.t.Helper()
	offline := true
	rule := network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &offline,
		MatchedNetworkConditions: []*network.Conditions{{
			Offline: true, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1,
		}},
	}
	if _, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, rule); err != nil {
		b.t.Fatalf("emulate an offline network for the page: %v", err)
	}
	_, err := chromedp.Call(b.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: true, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1,
	})
	if err != nil {
		b.t.Fatalf("override the network state: %v", err)
	}
	targets, err := chromedp.Targets(b.ctx)
	if err != nil {
		b.t.Fatalf("list the browser's targets: %v", err)
	}
	workers := 0
	for _, in := range targets {
		if in.Type != "service_worker" || !strings.HasPrefix(in.URL, b.base+"/") {
			continue
		}
		// Detach, not close, when done: closing the target would stop the
		// worker. The session is kept: the emulation is the session's, so
		// goOnline must undo it through the same one.
		ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(in.TargetID), chromedp.WithDetachOnCancel())
		b.t.Cleanup(cancel)
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, rule); err != nil {
			b.t.Fatalf("emulate an offline network for the service worker %s: %v", in.URL, err)
		}
		b.workers = append(b.workers, ctx)
		workers++
	}
	if workers == 0 {
		b.t.Fatalf("no service worker of %s to take offline", b.base)
	}
	// Prove it: the page cannot reach the server any more.
	probe := `fetch("/healthz?offline-probe=" + Date.now(), {cache: "no-store"}).then(() => "reached", e => "failed: " + e)`
	if got := eval[string](b, probe); !strings.HasPrefix(got, "failed") {
		b.t.Fatalf("after going offline the page still reaches the server (%s)", got)
	}
}

func ptr[T any](v T) *T { return &v }
