package integration

// An attacker's review of step-up with a recovery code (POST /api/reauth
// with recovery_code, 203af1f): races on one code, the account's code
// throttle, inputs, the audit trail and the logs, on both stores.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// wrongRecoveryCode is well formed but nobody's.
const wrongRecoveryCode = "0000-0000-0000-0000"

// reauthForm posts /api/reauth with form on token, from any goroutine.
func (e *env) reauthForm(token string, form url.Values) rawResult {
	return send(e.hc, "POST", e.srv.URL+shared.PathReauth, token, formHeader, []byte(form.Encode()))
}

// reauthRecovery posts the password and a recovery code on token.
func (e *env) reauthRecovery(token, password, code string) rawResult {
	return e.reauthForm(token, url.Values{"password": {password}, "recovery_code": {code}})
}

// envelopeOf decodes an error answer (zero when the body is not one).
func envelopeOf(r rawResult) shared.Error {
	var env shared.Error
	_ = json.Unmarshal(r.body, &env)
	return env
}

// wantLeft checks a 200 answer of a reauth with a recovery code: a fresh
// access token, no refresh token, and left codes remaining.
func wantLeft(t *testing.T, r rawResult, left int) shared.TokenResponse {
	t.Helper()
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("reauth with a recovery code: %d %s %v, want 200", r.status, r.body, r.err)
	}
	var tr shared.TokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.AccessToken == "" || tr.RefreshToken != "" || tr.RecoveryCodesLeft == nil || *tr.RecoveryCodesLeft != left {
		t.Fatalf("reauth answer %s, want an access token, no refresh token and recovery_codes_left %d", r.body, left)
	}
	return tr
}

// wantRefusedCode checks a raw answer is 401 invalid_grant naming field.
func wantRefusedCode(t *testing.T, r rawResult, field string) {
	t.Helper()
	env := envelopeOf(r)
	if r.status != http.StatusUnauthorized || env.Code != shared.CodeInvalidGrant || len(env.Fields) != 1 || env.Fields[field] == "" {
		t.Fatalf("answer %d %s, want 401 invalid_grant naming only %q", r.status, r.body, field)
	}
}

// enrolled is a user with an authenticator app, signed in.
type enrolled struct {
	user   *shared.User
	c      *client.Client
	secret string
	codes  []string
}

func (e *env) enrolledUser(role shared.Role) enrolled {
	e.t.Helper()
	u, c := e.newUser(role)
	secret, codes := e.enrol(c)
	return enrolled{u, c, secret, codes}
}

// eventsOf returns the audit events with the action whose actor is name.
func (e *env) eventsOf(action, name string) []shared.AuditEvent {
	var out []shared.AuditEvent
	for _, ev := range e.audit(action) {
		if ev.Actor == name {
			out = append(out, ev)
		}
	}
	return out
}

func TestReauthRecoveryCodeRaces(t *testing.T) {
	t.Parallel()
	onEachStore(t, reauthRecoveryRaces)
}

// classify counts the answers of a race: 200s, and refusals of the code
// (401 naming recovery_code or otp, or 429/503 — a refusal too). Anything
// else fails the test.
func classify(t *testing.T, results []rawResult) (ok int) {
	t.Helper()
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		env := envelopeOf(r)
		switch {
		case r.status == http.StatusOK:
			ok++
		case r.status == http.StatusUnauthorized && env.Code == shared.CodeInvalidGrant && (env.Fields["recovery_code"] != "" || env.Fields["otp"] != ""):
		case r.status == http.StatusTooManyRequests, r.status == http.StatusServiceUnavailable:
		default:
			t.Fatalf("an answer in the race: %d %s", r.status, r.body)
		}
	}
	return ok
}

func reauthRecoveryRaces(t *testing.T, settings ...string) {
	e := newEnv(t, settings...)

	t.Run("20 reauths with one code on one session: exactly one goes through", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		const n = 20
		results := race(n, func(int) rawResult { return e.reauthRecovery(tok, userPassword, u.codes[0]) })
		if ok := classify(t, results); ok != 1 {
			t.Fatalf("%d of %d reauths with one recovery code went through, want 1", ok, n)
		}
		if used := e.eventsOf(shared.ActionRecoveryUsed, u.user.Username); len(used) != 1 || used[0].Detail != "9 left" {
			t.Fatalf("recovery-code-used events %+v, want one saying 9 left", used)
		}
		wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[1]), 8)
	})

	t.Run("reauths with one code on two sessions of one user: exactly one goes through", func(t *testing.T) {
		u, c1 := e.newUser(shared.RoleViewer)
		c2 := e.login(u.Username, userPassword) // a second session, before the factor
		_, codes := e.enrol(c1)
		toks := []string{c1.Tokens.Token(), c2.Tokens.Token()}
		if claimsOf(t, toks[0]).sid == claimsOf(t, toks[1]).sid {
			t.Fatal("one session")
		}
		const n = 20
		results := race(n, func(i int) rawResult { return e.reauthRecovery(toks[i%2], userPassword, codes[0]) })
		if ok := classify(t, results); ok != 1 {
			t.Fatalf("%d of %d reauths with one recovery code on two sessions went through, want 1", ok, n)
		}
		if used := e.eventsOf(shared.ActionRecoveryUsed, u.Username); len(used) != 1 || used[0].Detail != "9 left" {
			t.Fatalf("recovery-code-used events %+v, want one saying 9 left", used)
		}
	})

	t.Run("a reauth racing a sign-in's mfa_otp grant with one code: exactly one goes through", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		const rounds = 6
		for round := range rounds {
			code := u.codes[round]
			challenge := e.mfaLogin(u.user.Username, userPassword)
			var reauth, signIn rawResult
			var wg sync.WaitGroup
			wg.Go(func() { reauth = e.reauthRecovery(tok, userPassword, code) })
			wg.Go(func() {
				form := url.Values{"grant_type": {shared.GrantMFAOTP}, "mfa_token": {challenge}, "recovery_code": {code}}
				signIn = send(e.hc, "POST", e.srv.URL+shared.PathToken, "", formHeader, []byte(form.Encode()))
			})
			wg.Wait()
			if ok := classify(t, []rawResult{reauth, signIn}); ok != 1 {
				t.Fatalf("round %d: reauth %d %s, sign-in %d %s: want exactly one to go through", round, reauth.status, reauth.body, signIn.status, signIn.body)
			}
			if used := e.eventsOf(shared.ActionRecoveryUsed, u.user.Username); len(used) != round+1 || used[round].Detail != strconv.Itoa(9-round)+" left" {
				t.Fatalf("round %d: recovery-code-used events %+v", round, used)
			}
		}
	})
}

func TestReauthRecoveryCodeThrottle(t *testing.T) {
	t.Parallel()
	onEachStore(t, reauthRecoveryThrottle)
}

func reauthRecoveryThrottle(t *testing.T, settings ...string) {
	e := newEnv(t, append(settings, "GATEHOUSE_LOGIN_FREE=3")...)

	t.Run("wrong recovery codes lock the account's codes; the right one is 429 until the lockout ends", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		for range 3 { // the third failure locks, for 30s
			wantRefusedCode(t, e.reauthRecovery(tok, userPassword, wrongRecoveryCode), "recovery_code")
		}
		r := e.reauthRecovery(tok, userPassword, u.codes[0])
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" {
			t.Fatalf("the right recovery code during the lockout: %d Retry-After %q %s, want 429 after 30s", r.status, r.header.Get("Retry-After"), r.body)
		}
		// The lockout is the account's: a sign-in's code step is refused too.
		resp, body := e.mfaGrant(e.mfaLogin(u.user.Username, userPassword), code(t, u.secret, e.clock.Now()), "")
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		e.clock.Advance(29 * time.Second)
		if r := e.reauthRecovery(tok, userPassword, u.codes[0]); r.status != http.StatusTooManyRequests {
			t.Fatalf("a second before the lockout ends: %d %s, want 429", r.status, r.body)
		}
		e.clock.Advance(time.Second)
		wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[0]), 9) // not spent while refused
		if locks := e.audit(shared.ActionLockout); len(locks) == 0 || locks[len(locks)-1].Target != "code:"+strconv.FormatInt(u.user.ID, 10) {
			t.Fatalf("no lockout of the account's codes audited: %+v", locks)
		}
		if n := len(e.eventsOf(shared.ActionMFACode, u.user.Username)); n != 3 {
			t.Fatalf("%d failed-code events, want 3", n)
		}
	})

	t.Run("guessing goes on only at the lockouts' pace", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		checked := 0
		for range 40 { // forty guesses at once-a-second: only the free ones and one per lockout are checked
			r := e.reauthRecovery(tok, userPassword, wrongRecoveryCode)
			switch r.status {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("a guess: %d %s", r.status, r.body)
			}
			e.clock.Advance(time.Second)
		}
		// 3 free, then locked 30s (the 3rd locks), then 60s: within 40s
		// only the three free guesses and the one after 30s are checked.
		if checked != 4 {
			t.Fatalf("%d of 40 guesses a second apart were checked, want 4", checked)
		}
	})
}

func TestReauthRecoveryCodeInputs(t *testing.T) {
	t.Parallel()
	onEachStore(t, reauthRecoveryInputs)
}

func reauthRecoveryInputs(t *testing.T, settings ...string) {
	e := newEnv(t, settings...)

	t.Run("a wrong password never spends a recovery code", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		wantRefusedCode(t, e.reauthRecovery(tok, "not-the-password", u.codes[0]), "password")
		if used := e.eventsOf(shared.ActionRecoveryUsed, u.user.Username); len(used) != 0 {
			t.Fatalf("a reauth with a wrong password spent a code: %+v", used)
		}
		wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[0]), 9)
	})

	t.Run("another user's recovery code is refused, and stays theirs", func(t *testing.T) {
		a, b := e.enrolledUser(shared.RoleViewer), e.enrolledUser(shared.RoleViewer)
		wantRefusedCode(t, e.reauthRecovery(a.c.Tokens.Token(), userPassword, b.codes[0]), "recovery_code")
		wantLeft(t, e.reauthRecovery(b.c.Tokens.Token(), userPassword, b.codes[0]), 9)
		wantLeft(t, e.reauthRecovery(a.c.Tokens.Token(), userPassword, a.codes[0]), 9)
	})

	t.Run("a recovery code as people type it", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		wantLeft(t, e.reauthRecovery(tok, userPassword, strings.ToUpper(u.codes[0])), 9)
		wantLeft(t, e.reauthRecovery(tok, userPassword, " "+strings.ReplaceAll(u.codes[1], "-", " ")+" "), 8)
		wantLeft(t, e.reauthRecovery(tok, userPassword, strings.ReplaceAll(u.codes[2], "-", "")), 7)
	})

	t.Run("malformed codes are 400 before the password is checked", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		cases := []struct {
			name string
			form url.Values
		}{
			{"a 1 MB recovery code", url.Values{"recovery_code": {strings.Repeat("a", 1_000_000)}}},
			{"a 41-byte recovery code", url.Values{"recovery_code": {strings.Repeat("a", 41)}}},
			{"a 1 MB code", url.Values{"otp": {strings.Repeat("1", 1_000_000)}}},
			{"both a code and a recovery code", url.Values{"otp": {"123456"}, "recovery_code": {u.codes[0]}}},
		}
		for _, c := range cases {
			for _, pw := range []string{userPassword, "not-the-password"} {
				form := url.Values{"password": {pw}}
				for k, v := range c.form {
					form[k] = v
				}
				r := e.reauthForm(tok, form)
				if env := envelopeOf(r); r.status != http.StatusBadRequest || env.Code != shared.CodeInvalidRequest {
					t.Errorf("%s, password %q: %d %.300s, want 400 invalid_request", c.name, pw, r.status, r.body)
				}
			}
		}
		if evs := e.eventsOf(shared.ActionReauth, u.user.Username); len(evs) != 0 {
			t.Errorf("malformed reauths were audited (the password was checked): %+v", evs)
		}
		wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[0]), 9) // not spent
	})

	t.Run("the answer, amr and auth_time after a recovery code; the wrong code's field", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		e.clock.Advance(6 * time.Minute)
		tr := wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[0]), 9)
		if got, want := claimsOf(t, tr.AccessToken).sid, claimsOf(t, tok).sid; got != want {
			t.Fatalf("reauth moved to session %s from %s", got, want)
		}
		if at := authTime(t, tr.AccessToken); at.Unix() != e.clock.Now().Unix() {
			t.Fatalf("auth_time %v, want now %v", at, e.clock.Now())
		}
		if amr := amrOf(t, tr.AccessToken); strings.Join(amr, " ") != "pwd otp" {
			t.Fatalf("amr %v after a recovery code, want pwd otp", amr)
		}
		r := e.reauthForm(tok, url.Values{"password": {userPassword}, "otp": {code(t, u.secret, e.clock.Now())}})
		if r.status != http.StatusOK || strings.Contains(string(r.body), "recovery_codes_left") {
			t.Fatalf("reauth with the app's code: %d %s, want 200 without recovery_codes_left", r.status, r.body)
		}
		wantRefusedCode(t, e.reauthRecovery(tok, userPassword, u.codes[0]), "recovery_code")                    // spent
		wantRefusedCode(t, e.reauthForm(tok, url.Values{"password": {userPassword}, "otp": {"000000"}}), "otp") // wrong
		wantRefusedCode(t, e.reauthForm(tok, url.Values{"password": {userPassword}}), "otp")                    // missing
	})

	t.Run("the last code says 0 left, and the client reads it", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		for i, c := range u.codes {
			left, err := u.c.ReauthRecovery(bg, userPassword, c)
			if err != nil || left != 9-i {
				t.Fatalf("code %d: %d left, %v; want %d", i, left, err, 9-i)
			}
		}
		_, err := u.c.ReauthRecovery(bg, userPassword, u.codes[9])
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "recovery_code")
	})

	t.Run("the audit trail, and no code in the logs", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		tok := u.c.Tokens.Token()
		wrong := "zzzz-yyyy-xxxx-wwww"
		wantRefusedCode(t, e.reauthRecovery(tok, userPassword, wrong), "recovery_code")
		wantLeft(t, e.reauthRecovery(tok, userPassword, u.codes[4]), 9)
		wantRefusedCode(t, e.reauthRecovery(tok, userPassword, u.codes[4]), "recovery_code")
		wantRefusedCode(t, e.reauthRecovery(tok, "not-the-password", u.codes[5]), "password")

		var got []string
		for _, ev := range e.audit("") {
			if ev.Actor != u.user.Username {
				continue
			}
			switch ev.Action {
			case shared.ActionReauth, shared.ActionRecoveryUsed, shared.ActionMFACode:
				got = append(got, ev.Action+" "+ev.Outcome+" "+ev.Detail)
			}
			for _, c := range append([]string{wrong}, u.codes...) {
				if strings.Contains(strings.ToLower(ev.Detail+ev.Target), c) {
					t.Fatalf("audit event %+v holds a recovery code", ev)
				}
			}
		}
		want := []string{
			"mfa.code failed wrong code", "reauth failed wrong code",
			"mfa.recovery_code_used ok 9 left", "reauth ok pwd+otp",
			"mfa.code failed wrong code", "reauth failed wrong code",
			"reauth failed wrong password",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		logs := strings.ToLower(e.logText())
		for _, c := range append([]string{wrong}, u.codes...) {
			for _, form := range []string{c, strings.ReplaceAll(c, "-", "")} {
				if strings.Contains(logs, form) {
					t.Fatalf("the server log holds the recovery code %s", c)
				}
			}
		}
	})
}

func TestReauthRacesAtTheDefaultLimit(t *testing.T) {
	t.Parallel()
	onEachStore(t, reauthRacesAtTheDefaultLimit)
}

// reauthRacesAtTheDefaultLimit: the races above, with the default five
// wrong current passwords per session (the harness allows 50). Right
// passwords, however many at once, must not end the session as if they
// were guesses.
func reauthRacesAtTheDefaultLimit(t *testing.T, settings ...string) {
	e := newEnv(t, append(settings, "GATEHOUSE_LOGIN_FREE=5")...)
	const n = 20
	race := func(t *testing.T, c *client.Client, form url.Values) (ok int) {
		t.Helper()
		who, err := c.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		tok := c.Tokens.Token()
		results := race(n, func(int) rawResult { return e.reauthForm(tok, form) })
		for _, r := range results {
			if r.status == http.StatusOK {
				ok++
			}
		}
		if _, err := c.Me(bg); err != nil {
			t.Fatalf("after %d reauths at once with the right password (%d went through), the session is over: %v", n, ok, err)
		}
		for _, ev := range e.audit(shared.ActionSessionRevoke) {
			if ev.Actor == who.Username {
				t.Fatalf("right passwords ended the session: %+v", ev)
			}
		}
		return ok
	}
	t.Run("20 reauths with the right password and one recovery code: one goes through, the session lives", func(t *testing.T) {
		u := e.enrolledUser(shared.RoleViewer)
		if ok := race(t, u.c, url.Values{"password": {userPassword}, "recovery_code": {u.codes[0]}}); ok != 1 {
			t.Fatalf("%d of %d reauths with one recovery code went through, want 1", ok, n)
		}
	})
	t.Run("20 reauths with the right password alone: the session lives", func(t *testing.T) {
		_, c := e.newUser(shared.RoleViewer)
		if ok := race(t, c, url.Values{"password": {userPassword}}); ok == 0 {
			t.Fatalf("none of %d reauths with the right password went through", n)
		}
	})
}
