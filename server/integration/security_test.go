package integration

// Tests of what an outside attack review found on 57eb16c, item by item
// (issue 3/7, part B); each fails on that commit.

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// audit returns every audit event with the action (any: ""), oldest
// first, read from the store: reading it through the API would sign in
// and add an event of its own.
func (e *env) audit(action string) []shared.AuditEvent {
	e.t.Helper()
	all, _, err := e.sys.Store.ListAudit(bg, store.AuditFilter{Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(all)
	return all
}

// loginWith posts the password grant with extra headers and form fields.
func (e *env) loginWith(username, password string, header http.Header, extra url.Values) (*http.Response, []byte) {
	e.t.Helper()
	form := url.Values{"grant_type": {shared.GrantPassword}, "username": {username}, "password": {password}}
	for k, v := range extra {
		form[k] = v
	}
	h := formHeader.Clone()
	for k, v := range header {
		h[k] = v
	}
	return e.do("POST", shared.PathToken, "", h, strings.NewReader(form.Encode()))
}

// B1: a username beyond the username rules, or a password over 72 bytes,
// is refused at once: no hash, no throttle key of its own, no audit row.
// It still counts against the client's address.
func TestSignInInputIsBoundedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=2") // 20 free per address
	before := len(e.audit(shared.ActionLogin))
	cases := []struct{ name, user, pw string }{
		{"a 1 MB username", strings.Repeat("a", 1_000_000), "password-1"},
		{"a 33-character username", strings.Repeat("b", 33), "password-1"},
		{"a username with a NUL", "root\x00", "password-1"},
		{"a 73-byte password", adminName, strings.Repeat("p", 73)},
		{"a 1 MB password", adminName, strings.Repeat("p", 1_000_000)},
	}
	for _, c := range cases {
		t.Run(c.name+" is 400 invalid_request", func(t *testing.T) {
			resp, body := e.rawLogin(c.user, c.pw)
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)
		})
	}
	t.Run("none of them was audited", func(t *testing.T) {
		if got := len(e.audit(shared.ActionLogin)); got != before {
			t.Fatalf("%d sign-in events, want %d: refused input must not be audited", got, before)
		}
	})
	t.Run("they counted against the client address", func(t *testing.T) {
		for i := len(cases); i < 20; i++ {
			resp, body := e.rawLogin(strings.Repeat("c", 40), "x")
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)
		}
		// 20 failures from this address: an unknown device is locked out,
		// whichever account it names.
		resp, body := e.rawLogin(adminName, adminPass)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	})
}

// B2: every token a session ever superseded, presented after the grace, is
// reuse — however many rotations ago; made-up tokens revoke nothing.
func TestRefreshReuseIsDetectedForEveryOldGeneration(t *testing.T) {
	t.Parallel()
	for _, rotations := range []int{1, 2, 10} {
		t.Run(fmt.Sprintf("after %d rotations", rotations), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			login := granted(t)(e.rawLogin(adminName, adminPass))
			victim, current := login.RefreshToken, login.RefreshToken
			for range rotations { // the thief rotates
				e.clock.Advance(time.Minute)
				current = granted(t)(e.refreshWith(current)).RefreshToken
			}
			e.clock.Advance(time.Minute) // past the grace window
			resp, body := e.refreshWith(victim)
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
			resp, body = e.refreshWith(current)
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
			resp, body = e.do("GET", shared.PathAuthCheck, login.AccessToken, nil, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the session's access token after reuse: %d %s, want 401", resp.StatusCode, body)
			}
			if n := len(e.audit(shared.ActionRefreshReuse)); n != 1 {
				t.Fatalf("%d refresh_reuse events, want 1", n)
			}
		})
	}
	t.Run("made-up tokens revoke nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		login := granted(t)(e.rawLogin(adminName, adminPass))
		parts := strings.Split(login.RefreshToken, ".")
		if len(parts) != 4 {
			t.Fatalf("refresh token %q is not SESSION.GEN.KID.MAC", login.RefreshToken)
		}
		e.clock.Advance(time.Minute)
		for _, forged := range []string{
			parts[0] + ".0." + parts[2] + "." + strings.Repeat("A", 43), // right session, wrong MAC
			parts[0] + ".1." + parts[2] + "." + parts[3],                // a generation it never had
			parts[0] + ".0." + parts[2] + "." + parts[3][:42] + "B",
			parts[0],
		} {
			resp, body := e.refreshWith(forged)
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		}
		granted(t)(e.refreshWith(login.RefreshToken))
		if n := len(e.audit(shared.ActionRefreshReuse)); n != 0 {
			t.Fatalf("%d refresh_reuse events after forgeries, want 0", n)
		}
	})
	t.Run("a rotating holder does not grow the database", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		tok := granted(t)(e.rawLogin(adminName, adminPass)).RefreshToken
		rotate := func(n int) {
			for range n {
				e.clock.Advance(time.Minute)
				tok = granted(t)(e.refreshWith(tok)).RefreshToken
			}
		}
		rotate(1)
		before := storedBytes(t, e)
		rotate(49)
		if !strings.HasPrefix(tok, strings.Split(tok, ".")[0]+".50.") {
			t.Fatalf("after 50 rotations the token is %q, want generation 50 of the same session", tok)
		}
		if after := storedBytes(t, e); !maps.Equal(after, before) {
			t.Fatalf("49 more rotations changed what the database holds: %v, then %v", before, after)
		}
	})
}

// storedBytes is, per table of e's SQLite database, its rows and the
// bytes of their values (numbers as 8), read from the file beside the
// server.
func storedBytes(t *testing.T, e *env) map[string][2]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.sys.Config.DataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string][2]int64{}
	for _, table := range tables {
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var sum []string
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				t.Fatal(err)
			}
			sum = append(sum, `CASE typeof("`+c+`") WHEN 'null' THEN 0 WHEN 'integer' THEN 8 WHEN 'real' THEN 8 ELSE length(CAST("`+c+`" AS BLOB)) END`)
		}
		cols.Close()
		var n, size int64
		if err := db.QueryRow(`SELECT count(*), coalesce(sum(`+strings.Join(sum, "+")+`), 0) FROM "`+table+`"`).Scan(&n, &size); err != nil {
			t.Fatal(err)
		}
		out[table] = [2]int64{n, size}
	}
	return out
}

// B3: the rank check and the write it guards are one transaction: a
// promotion racing a manager's action on the promoted user either comes
// first (and the action is refused) or after.
func TestRankCheckAndWriteAreOneTransaction(t *testing.T) {
	t.Parallel()
	onEachStore(t, rankRaces)
}

func rankRaces(t *testing.T, settings ...string) {
	e := newEnv(t, settings...)
	admin := e.admin()
	_, manager := e.newUser(shared.RoleManager)
	const rounds = 15
	race := func(t *testing.T, action func(id int64) error) (actionErr, promoteErr error, id int64) {
		u, err := admin.CreateUser(bg, shared.UserCreate{Username: fmt.Sprintf("target%d", e.users.Add(1)), Password: userPassword, Role: shared.RoleViewer, MustChangePassword: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { actionErr = action(u.ID) })
		wg.Go(func() { _, promoteErr = admin.UpdateUser(bg, u.ID, shared.UserUpdate{Role: ptr(shared.RoleAdmin)}) })
		wg.Wait()
		return actionErr, promoteErr, u.ID
	}
	denied := func(err error) bool {
		var ae *shared.Error
		return errors.As(err, &ae) && ae.Status == http.StatusForbidden
	}
	notFound := func(err error) bool {
		var ae *shared.Error
		return errors.As(err, &ae) && ae.Status == http.StatusNotFound
	}

	t.Run("a delete racing a promotion never deletes an admin", func(t *testing.T) {
		for range rounds {
			del, promote, _ := race(t, func(id int64) error { return manager.DeleteUser(bg, id) })
			switch {
			case del == nil && notFound(promote): // deleted first
			case promote == nil && denied(del): // promoted first
			default:
				t.Fatalf("delete: %v; promote: %v — want one before the other", del, promote)
			}
		}
	})
	t.Run("a password reset racing a promotion happens before it or not at all", func(t *testing.T) {
		for range rounds {
			reset, promote, id := race(t, func(id int64) error {
				return manager.ResetPassword(bg, id, shared.PasswordReset{NewPassword: "managers-choice-1"})
			})
			if promote != nil {
				t.Fatalf("promote: %v", promote)
			}
			if denied(reset) {
				continue // promoted first
			}
			if reset != nil {
				t.Fatalf("reset: %v", reset)
			}
			// Both happened: the reset must have been written before the
			// promotion, as the audit log (written in each transaction)
			// orders them.
			writtenBeforePromotion(t, e, mustUser(t, admin, id).Username, shared.ActionPasswordReset)
		}
	})
	t.Run("a disable racing a promotion never disables an admin", func(t *testing.T) {
		for range rounds {
			dis, promote, id := race(t, func(id int64) error {
				_, err := manager.UpdateUser(bg, id, shared.UserUpdate{Disabled: ptr(true)})
				return err
			})
			if promote != nil {
				t.Fatalf("promote: %v", promote)
			}
			if dis != nil && !denied(dis) {
				t.Fatalf("disable: %v", dis)
			}
			u := mustUser(t, admin, id)
			if dis == nil && u.Role == shared.RoleAdmin && !u.Disabled {
				t.Fatalf("the disable answered ok but the admin is enabled: %+v", u)
			}
		}
	})
	t.Run("revoking sessions racing a promotion never signs out an admin", func(t *testing.T) {
		for range rounds {
			u, err := admin.CreateUser(bg, shared.UserCreate{Username: fmt.Sprintf("target%d", e.users.Add(1)), Password: userPassword, Role: shared.RoleViewer, MustChangePassword: ptr(false)})
			if err != nil {
				t.Fatal(err)
			}
			target := e.client()
			if _, err := target.Login(bg, u.Username, userPassword); err != nil {
				t.Fatal(err)
			}
			var revoke, promote error
			var wg sync.WaitGroup
			wg.Go(func() { revoke = manager.RevokeUserSessions(bg, u.ID) })
			wg.Go(func() { _, promote = admin.UpdateUser(bg, u.ID, shared.UserUpdate{Role: ptr(shared.RoleAdmin)}) })
			wg.Wait()
			if promote != nil {
				t.Fatalf("promote: %v", promote)
			}
			_, meErr := target.Me(bg)
			switch {
			case denied(revoke): // promoted first: the admin stays signed in
				if meErr != nil {
					t.Fatalf("a refused revocation signed the admin out: %v", meErr)
				}
			case revoke != nil:
				t.Fatalf("revoke: %v", revoke)
			default: // revoked first: written before the promotion
				if meErr == nil {
					t.Fatal("the revocation answered ok but the session lives")
				}
				writtenBeforePromotion(t, e, u.Username, shared.ActionSessionsRevoke)
			}
		}
	})
}

// writtenBeforePromotion fails t unless the audit log (written in each
// write's transaction, so in commit order) holds a successful action on
// the user username before the successful update that promoted them.
func writtenBeforePromotion(t *testing.T, e *env, username, action string) {
	t.Helper()
	var actionID, promoteID int64
	for _, ev := range e.audit("") {
		if ev.Target == "user "+username && ev.Outcome == shared.OutcomeOK {
			switch ev.Action {
			case action:
				actionID = ev.ID
			case shared.ActionUserUpdate:
				promoteID = ev.ID
			}
		}
	}
	if actionID == 0 || promoteID == 0 || actionID > promoteID {
		t.Fatalf("the manager's %s (event %d) was written after the promotion (event %d)", action, actionID, promoteID)
	}
}

// granted is grant for a call answering (response, body).
func granted(t *testing.T) func(*http.Response, []byte) shared.TokenResponse {
	return func(resp *http.Response, body []byte) shared.TokenResponse {
		t.Helper()
		return grant(t, resp, body)
	}
}

func mustUser(t *testing.T, c *client.Client, id int64) *shared.User {
	t.Helper()
	u, err := c.User(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// B4: OWASP device cookies. Failures from unknown devices lock the account
// for unknown devices only; the owner's browser keeps signing in.
func TestDeviceCookieKeepsTheOwnerIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=3")
	owner := e.client()
	if _, err := owner.Login(bg, adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	t.Run("the device cookie is HttpOnly, SameSite=Strict, Path=/api, 90 days", func(t *testing.T) {
		resp, body := e.rawLogin(adminName, adminPass)
		grant(t, resp, body)
		var dev *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == shared.CookieDevice {
				dev = c
			}
		}
		if dev == nil || !dev.HttpOnly || dev.SameSite != http.SameSiteStrictMode || dev.Path != "/api" || dev.MaxAge != 90*24*3600 {
			t.Fatalf("device cookie %+v", dev)
		}
	})
	for i := range 3 {
		resp, body := e.rawLogin(adminName, "wrong-"+strconv.Itoa(i))
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
	}
	t.Run("an unknown device is locked out, even with the right password", func(t *testing.T) {
		resp, body := e.rawLogin(adminName, adminPass)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		if ra := resp.Header.Get("Retry-After"); ra != "30" {
			t.Fatalf("Retry-After %q, want 30 (the first lockout)", ra)
		}
	})
	t.Run("the owner's browser still signs in", func(t *testing.T) {
		if _, err := owner.Login(bg, adminName, adminPass); err != nil {
			t.Fatalf("owner: %v", err)
		}
	})
	t.Run("the lockout was audited", func(t *testing.T) {
		ev := e.audit(shared.ActionLockout)
		if len(ev) == 0 || ev[0].Target != "user:"+adminName {
			t.Fatalf("lockout events %+v, want one for user:%s", ev, adminName)
		}
	})
	t.Run("lockouts double", func(t *testing.T) {
		e.clock.Advance(31 * time.Second)
		resp, body := e.rawLogin(adminName, "wrong-again")
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
		resp, body = e.rawLogin(adminName, adminPass)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		if ra := resp.Header.Get("Retry-After"); ra != "60" {
			t.Fatalf("Retry-After %q, want 60 (doubled)", ra)
		}
	})
	t.Run("a successful sign-in clears the account", func(t *testing.T) {
		e.clock.Advance(61 * time.Second)
		granted(t)(e.rawLogin(adminName, adminPass))
		for range 2 {
			e.rawLogin(adminName, "wrong")
		}
		granted(t)(e.rawLogin(adminName, adminPass)) // 2 < 3 free: not locked
	})
}

// B4: the check and the count are one: N concurrent guesses cost N.
func TestConcurrentGuessesCostOneAttemptEach(t *testing.T) {
	t.Parallel()
	onEachStore(t, concurrentGuesses)
}

func concurrentGuesses(t *testing.T, settings ...string) {
	e := newEnv(t, append(settings, "GATEHOUSE_LOGIN_FREE=3")...)
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	form := url.Values{"username": {adminName}, "password": {"a-wrong-guess"}}.Encode()
	for i := range n {
		wg.Go(func() {
			r := send(e.hc, "POST", e.srv.URL+shared.PathToken, "", formHeader, []byte(form))
			if r.err != nil {
				t.Error(r.err)
			}
			statuses[i] = r.status
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	// At most 3 are checked (401); every other guess is refused: 429, or
	// 503 when the database cannot settle so many conflicting
	// transactions within its timeout (PostgreSQL under a loaded race
	// detector) — a refusal too, which costs the attempt nothing.
	checked, refused := counts[http.StatusUnauthorized], counts[http.StatusTooManyRequests]+counts[http.StatusServiceUnavailable]
	if checked > 3 || checked == 0 || checked+refused != n || counts[http.StatusTooManyRequests] == 0 {
		t.Fatalf("statuses %v: with 3 free, at most 3 guesses may be checked and the rest refused", counts)
	}
}

// B5: a browser signing in with token_delivery=cookie never gets the
// refresh token where a script could read it.
func TestCookieDeliveryKeepsRefreshTokensFromScripts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.loginWith(adminName, adminPass, nil, url.Values{shared.FieldTokenDelivery: {shared.TokenDeliveryCookie}})
	tr := grant(t, resp, body)
	if tr.RefreshToken != "" || strings.Contains(string(body), "refresh_token") {
		t.Fatalf("cookie delivery answered a refresh token in the body: %s", body)
	}
	if c := refreshCookie(resp); c == nil || c.Value == "" || !c.HttpOnly {
		t.Fatalf("no HttpOnly refresh cookie: %v", resp.Header["Set-Cookie"])
	}
	t.Run("the real client with CookieDelivery refreshes through the cookie", func(t *testing.T) {
		c := e.client()
		c.CookieDelivery = true
		tr, err := c.Login(bg, adminName, adminPass)
		if err != nil || tr.RefreshToken != "" {
			t.Fatalf("login: %+v, %v", tr, err)
		}
		e.clock.Advance(31 * time.Minute) // the access token expired
		if _, err := c.Me(bg); err != nil {
			t.Fatalf("a call after expiry must refresh through the cookie: %v", err)
		}
	})
}

// B6: bcrypt is bounded: sign-ins beyond the concurrency wait at most
// HASH_WAIT, then 503 with Retry-After; authenticated requests never wait.
func TestPasswordHashingIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_BCRYPT_COST=11", "GATEHOUSE_HASH_CONCURRENCY=1", "GATEHOUSE_HASH_WAIT=1ms")
	tok := e.admin().Tokens.Token() // signs in before the storm (cost 11 applies to new hashes only)
	const n = 8
	results := make([]rawResult, n)
	var wg sync.WaitGroup
	form := url.Values{"username": {adminName}, "password": {"wrong-password"}}.Encode()
	for i := range n {
		wg.Go(func() {
			results[i] = send(e.hc, "POST", e.srv.URL+shared.PathToken, "", formHeader, []byte(form))
		})
	}
	me := send(e.hc, "GET", e.srv.URL+shared.PathMe, tok, nil, nil)
	wg.Wait()
	busy := 0
	for _, r := range results {
		if r.status == http.StatusServiceUnavailable {
			busy++
			if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), shared.CodeUnavailable) {
				t.Errorf("503 without Retry-After or code unavailable: %v %s", r.header, r.body)
			}
		}
	}
	if busy == 0 {
		t.Fatalf("%d sign-ins at once with one hash slot and 1ms of patience: none was refused", n)
	}
	if me.status != http.StatusOK {
		t.Fatalf("an authenticated request during the storm: %d %s", me.status, me.body)
	}
}

// B7: a stolen access token cannot guess the password: wrong current
// passwords end the session at the cap, and the owner still signs in.
func TestCurrentPasswordGuessingEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=3")
	_, thief := e.newUser(shared.RoleViewer)
	me, err := thief.Me(bg)
	if err != nil {
		t.Fatal(err)
	}
	tok := thief.Tokens.Token()
	guess := func(pw string) (*http.Response, []byte) {
		return e.do("PUT", shared.PathMePassword, tok, jsonHeader, jsonBody(t, shared.PasswordChange{CurrentPassword: pw, NewPassword: "thiefs-new-password"}))
	}
	for i := range 2 {
		resp, body := guess("guess-" + strconv.Itoa(i))
		wantEnvelope(t, resp, body, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
	}
	resp, body := guess("guess-2")
	wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidToken)
	resp, body = guess(userPassword) // even the right one: the session is over
	wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidToken)
	e.login(me.Username, userPassword) // the owner is not locked out
}

// B8: revoking someone else's sessions follows the rank rule, and the
// recorded reason names the actor's role.
func TestRevokingSessionsFollowsTheRankRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	adminMe, _ := admin.Me(bg)
	_, manager := e.newUser(shared.RoleManager)
	viewer, viewerClient := e.newUser(shared.RoleViewer)
	adminSID := sidOf(t, admin)

	err := manager.RevokeUserSessions(bg, adminMe.ID)
	wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
	err = manager.RevokeSession(bg, adminSID)
	wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
	if _, err := admin.Me(bg); err != nil {
		t.Fatalf("the admin was signed out by a manager: %v", err)
	}
	denied := 0
	for _, ev := range e.audit("") {
		if (ev.Action == shared.ActionSessionsRevoke || ev.Action == shared.ActionSessionRevoke) && ev.Outcome == shared.OutcomeDenied {
			denied++
		}
	}
	if denied != 2 {
		t.Fatalf("%d refused revocations audited, want 2", denied)
	}

	viewerSID := sidOf(t, viewerClient)
	if err := manager.RevokeUserSessions(bg, viewer.ID); err != nil {
		t.Fatal(err)
	}
	sessions, err := admin.Sessions(bg, client.SessionQuery{UserID: viewer.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions.Items {
		if s.ID == viewerSID && s.RevokedReason != shared.RevokedByManager {
			t.Fatalf("revoked by a manager with reason %q, want %q", s.RevokedReason, shared.RevokedByManager)
		}
	}
}

// B12: the form endpoints refuse a cross-site Origin (login CSRF).
func TestFormEndpointsRefuseForeignOrigins(t *testing.T) {
	t.Parallel()
	const cors = "https://admin-ui.example"
	e := newEnv(t, "GATEHOUSE_CORS_ORIGINS="+cors)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{e.srv.URL, true},
		{strings.ToUpper(e.srv.URL[:4]) + e.srv.URL[4:], true},
		{cors, true},
		{"https://evil.example", false},
		{"null", false},
		{e.srv.URL + ".evil.example", false},
		{strings.Replace(e.srv.URL, "http://", "https://", 1), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("Origin %q", tt.origin), func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			resp, body := e.loginWith(adminName, adminPass, h, nil)
			if tt.ok {
				grant(t, resp, body)
				return
			}
			wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInvalidRequest)
			if refreshCookie(resp) != nil {
				t.Fatal("a refused form set a cookie")
			}
			resp, body = e.do("POST", shared.PathTokenRefresh, "", h, nil)
			wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInvalidRequest)
		})
	}
	t.Run("with a public URL only it and the CORS origins pass", func(t *testing.T) {
		e := newEnv(t, "GATEHOUSE_PUBLIC_URL=https://gatehouse.example")
		resp, body := e.loginWith(adminName, adminPass, http.Header{"Origin": {e.srv.URL}}, nil)
		wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInvalidRequest)
		granted(t)(e.loginWith(adminName, adminPass, http.Header{"Origin": {"https://gatehouse.example"}}, nil))
	})
}

// B13: JSON keys are matched exactly; names cannot carry text-direction
// tricks; refused admin actions are audited.
func TestStrictInputAndAuditedRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	tok := admin.Tokens.Token()
	for _, body := range []string{
		`{"Full_Name":"Mallory"}`,
		`{"FULL_NAME":"Mallory"}`,
		`{"full_name":"a","full_name":"b"}`,
		`{"full_name":"a","email":"a@example.com","Email":"b@example.com"}`,
		`[]`,
		`"full_name"`,
	} {
		t.Run(body+" is 400", func(t *testing.T) {
			resp, b := e.do("PATCH", shared.PathMe, tok, jsonHeader, strings.NewReader(body))
			wantEnvelope(t, resp, b, http.StatusBadRequest, shared.CodeInvalidRequest)
		})
	}
	t.Run("a right-to-left override in full_name is 422", func(t *testing.T) {
		resp, b := e.do("PATCH", shared.PathMe, tok, jsonHeader, strings.NewReader(`{"full_name":"Alice\u202Egnp.exe"}`))
		wantEnvelope(t, resp, b, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
	})
	t.Run("refusing to demote the last admin is audited", func(t *testing.T) {
		me, _ := admin.Me(bg)
		_, err := admin.UpdateUser(bg, me.ID, shared.UserUpdate{Role: ptr(shared.RoleViewer)})
		wantAPIError(t, err, http.StatusConflict, shared.CodeConflict)
		var found bool
		for _, ev := range e.audit(shared.ActionUserUpdate) {
			found = found || (ev.Outcome == shared.OutcomeDenied && strings.Contains(ev.Detail, "last enabled admin"))
		}
		if !found {
			t.Fatal("the refusal is not in the audit log")
		}
	})
}

// Part C: one's own sessions list never shows another user's session.
func TestOwnSessionsAreOnlyOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.admin()
	e.admin()
	viewer, vc := e.newUser(shared.RoleViewer)
	e.newUser(shared.RoleManager)
	p, err := vc.MySessions(bg, 1, shared.MaxPerPage)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 1 || len(p.Items) != 1 {
		t.Fatalf("own sessions: total %d, %d items; want exactly the one", p.Total, len(p.Items))
	}
	for _, s := range p.Items {
		if s.UserID != viewer.ID || s.Username != viewer.Username || !s.Current {
			t.Fatalf("own sessions list shows %+v", s)
		}
	}
	// Another user's session is not found, not revocable.
	err = vc.RevokeMySession(bg, sidOf(t, e.admin()))
	wantAPIError(t, err, http.StatusNotFound, shared.CodeNotFound)
}

// B10: X-Forwarded-For and X-Forwarded-Proto are believed only from a
// trusted proxy: then the client address is the one throttled and audited,
// and https makes cookies Secure and sends HSTS.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	fwd := func(ip, proto string) http.Header {
		h := http.Header{"X-Forwarded-For": {"198.51.100.99, " + ip}}
		if proto != "" {
			h.Set("X-Forwarded-Proto", proto)
		}
		return h
	}
	t.Run("from a trusted proxy", func(t *testing.T) {
		e := newEnv(t, "GATEHOUSE_TRUSTED_PROXIES=127.0.0.0/8", "GATEHOUSE_LOGIN_FREE=1") // 10 per address
		resp, body := e.loginWith(adminName, adminPass, fwd("203.0.113.5", "https"), nil)
		granted(t)(resp, body)
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS for a client on https")
		}
		for _, c := range resp.Cookies() {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure for a client on https", c.Name)
			}
		}
		ev := e.audit(shared.ActionLogin)
		if got := ev[len(ev)-1].IP; got != "203.0.113.5" {
			t.Fatalf("audited address %q, want the client's 203.0.113.5", got)
		}
		// Ten failures from one client address lock that address out …
		for i := range 10 {
			e.loginWith("nobody"+strconv.Itoa(i), "wrong-password", fwd("203.0.113.6", ""), nil)
		}
		resp, body = e.loginWith(adminName, adminPass, fwd("203.0.113.6", ""), nil)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		// … and no other client behind the same proxy.
		granted(t)(e.loginWith(adminName, adminPass, fwd("203.0.113.7", ""), nil))
	})
	t.Run("from anyone else", func(t *testing.T) {
		e := newEnv(t)
		resp, body := e.loginWith(adminName, adminPass, fwd("203.0.113.5", "https"), nil)
		granted(t)(resp, body)
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS on a plain HTTP request with a forged X-Forwarded-Proto")
		}
		for _, c := range resp.Cookies() {
			if c.Secure {
				t.Errorf("cookie %s is Secure on plain HTTP (forged X-Forwarded-Proto believed)", c.Name)
			}
		}
		ev := e.audit(shared.ActionLogin)
		if got := ev[len(ev)-1].IP; got != "127.0.0.1" {
			t.Fatalf("audited address %q, want the peer 127.0.0.1 (forged X-Forwarded-For believed)", got)
		}
	})
}
