package integration

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/server/clocktest"
	"gatehouse/server/postgres/pgtest"
	"gatehouse/shared"
)

// cluster starts n instances on one PostgreSQL database, with the same
// secret and clock, as a load balancer would see them.
func cluster(t *testing.T, n int, settings ...string) []*env {
	t.Helper()
	url := pgURL(t)
	clk := clocktest.Start(time.Second)
	envs := make([]*env, n)
	for i := range envs {
		envs[i] = newEnvAt(t, clk, append([]string{"GATEHOUSE_DATABASE_URL=" + url}, settings...)...)
	}
	return envs
}

// propagation is the design bound for a change on one instance to be seen
// on the others; the tests wait longer (deadline) so as never to flake, and
// report what they observed.
const (
	propagation = time.Second
	deadline    = 5 * time.Second
)

// eventually polls check until it holds or the deadline passes, and returns
// how long it took.
func eventually(t *testing.T, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not seen within %v", what, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("%s: seen on the other instance after %v (design bound %v)", what, took.Round(time.Millisecond), propagation)
	return took
}

// status sends a request with the token and returns the status.
func (e *env) status(method, path, token string) int {
	e.t.Helper()
	resp, _ := e.do(method, path, token, nil, nil)
	return resp.StatusCode
}

func TestSeveralInstances(t *testing.T) {
	t.Parallel()
	envs := cluster(t, 2, "GATEHOUSE_LOGIN_FREE=3")
	a, b := envs[0], envs[1]

	t.Run("a sign-in on A works on B", func(t *testing.T) {
		tok := granted(t)(a.rawLogin(adminName, adminPass)).AccessToken
		if s := b.status("GET", shared.PathMe, tok); s != http.StatusOK {
			t.Fatalf("B answered %d", s)
		}
	})

	t.Run("a refresh token rotated by A is accepted by B, and its predecessor is reuse on B", func(t *testing.T) {
		login := granted(t)(a.rawLogin(adminName, adminPass))
		a.clock.Advance(time.Minute)
		rotated := granted(t)(a.refreshWith(login.RefreshToken))
		a.clock.Advance(time.Minute)
		again := granted(t)(b.refreshWith(rotated.RefreshToken))
		if again.RefreshToken == "" {
			t.Fatal("B did not rotate")
		}
		a.clock.Advance(time.Minute)
		resp, body := b.refreshWith(login.RefreshToken) // two generations old
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		eventually(t, "the session revoked for reuse on B", func() bool {
			return a.status("GET", shared.PathAuthCheck, again.AccessToken) == http.StatusUnauthorized
		})
	})

	type change struct {
		name   string
		do     func(t *testing.T, id int64, sid string)
		status int // what B then answers the user's token
	}
	admin := a.admin()
	for _, c := range []change{
		{"a logout on A", nil, http.StatusUnauthorized},
		{"a revocation on A", func(t *testing.T, _ int64, sid string) {
			if err := admin.RevokeSession(bg, sid); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized},
		{"disabling on A", func(t *testing.T, id int64, _ string) {
			if _, err := admin.UpdateUser(bg, id, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusForbidden},
		{"deleting on A", func(t *testing.T, id int64, _ string) {
			if err := admin.DeleteUser(bg, id); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized},
		{"a password reset on A", func(t *testing.T, id int64, _ string) {
			if err := admin.ResetPassword(bg, id, shared.PasswordReset{NewPassword: "reset-by-admin-1"}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized},
		{"demoting on A", func(t *testing.T, id int64, _ string) {
			if _, err := admin.UpdateUser(bg, id, shared.UserUpdate{Role: ptr(shared.RoleViewer)}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusForbidden}, // B answers GET /api/sessions 403 once it sees the viewer
	} {
		t.Run(c.name+" is refused by B", func(t *testing.T) {
			u, uc := a.newUser(shared.RoleManager)
			tok := uc.Tokens.Token()
			sid := sidOf(t, uc)
			path := shared.PathSessions // a manager may; a viewer may not
			if s := b.status("GET", path, tok); s != http.StatusOK {
				t.Fatalf("before: B answered %d", s) // B has the session and user cached now
			}
			if c.do == nil {
				if err := uc.Logout(bg); err != nil {
					t.Fatal(err)
				}
			} else {
				c.do(t, u.ID, sid)
			}
			eventually(t, c.name, func() bool { return b.status("GET", path, tok) == c.status })
		})
	}

	t.Run("a throttle earned on A holds on B", func(t *testing.T) {
		u, _ := a.newUser(shared.RoleViewer)
		for i := range 3 {
			resp, body := a.rawLogin(u.Username, "wrong-"+strconv.Itoa(i))
			wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
		}
		resp, body := b.rawLogin(u.Username, userPassword)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	})

	t.Run("a browser's device lockout earned on A holds on B, and an administrator on B lifts it", func(t *testing.T) {
		u, _ := a.newUser(shared.RoleViewer)
		onA := a.client()
		if _, err := onA.Login(bg, u.Username, userPassword); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := onA.Login(bg, u.Username, "wrong-password"); err == nil {
				t.Fatal("a wrong password signed in")
			}
		}
		onB := b.client()
		onB.HTTP.Jar = onA.HTTP.Jar // the same browser (cookies ignore the port), behind the balancer
		_, err := onB.Login(bg, u.Username, userPassword)
		wantAPIError(t, err, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		if err := b.admin().LiftLockout(bg, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := onA.Login(bg, u.Username, userPassword); err != nil {
			t.Fatalf("the browser is still locked out on A after the lift on B: %v", err)
		}
	})

	t.Run("a profile edit on A is seen by B", func(t *testing.T) {
		_, uc := a.newUser(shared.RoleViewer)
		tok := uc.Tokens.Token()
		if s := b.status("GET", shared.PathMe, tok); s != http.StatusOK { // B caches the user
			t.Fatalf("before: B answered %d", s)
		}
		if _, err := uc.UpdateMe(bg, shared.ProfileUpdate{FullName: ptr("Renamed On A")}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a profile edit", func() bool {
			_, body := b.do("GET", shared.PathMe, tok, nil, nil)
			return strings.Contains(string(body), `"full_name":"Renamed On A"`)
		})
	})
}

// TestOutage cuts one instance's connections to PostgreSQL: readiness and
// data requests answer 503 within the database timeout, never 500 and
// never hanging; when the network is back the instance serves again
// without a restart.
func TestOutage(t *testing.T) {
	t.Parallel()
	fwd, u := pgtest.NewForwarder(t, pgURL(t))
	const timeout = time.Second
	e := newEnv(t, "GATEHOUSE_DATABASE_URL="+u, "GATEHOUSE_DATABASE_TIMEOUT="+timeout.String())
	tok := e.admin().Tokens.Token()
	check := func(t *testing.T, want int) {
		t.Helper()
		for _, r := range []struct{ method, path, token string }{
			{"GET", shared.PathReady, ""},
			{"GET", shared.PathUsers, tok},
			{"GET", shared.PathAudit, tok},
		} {
			start := time.Now()
			resp, body := e.do(r.method, r.path, r.token, nil, nil)
			took := time.Since(start)
			if resp.StatusCode != want {
				t.Fatalf("%s %s: %d %s, want %d", r.method, r.path, resp.StatusCode, body, want)
			}
			if want == http.StatusServiceUnavailable {
				wantEnvelope(t, resp, body, want, shared.CodeUnavailable)
				if took > 3*timeout {
					t.Errorf("%s %s took %v, want about the database timeout %v", r.method, r.path, took, timeout)
				}
			}
		}
	}
	check(t, http.StatusOK)

	fwd.Cut()
	t.Run("while PostgreSQL is unreachable", func(t *testing.T) {
		check(t, http.StatusServiceUnavailable)
		form := url.Values{"username": {adminName}, "password": {adminPass}}.Encode()
		resp, body := e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form))
		wantEnvelope(t, resp, body, http.StatusServiceUnavailable, shared.CodeUnavailable)
	})

	fwd.Restore()
	t.Run("once it is back, without a restart", func(t *testing.T) {
		eventually(t, "recovery", func() bool { return e.status("GET", shared.PathReady, "") == http.StatusOK })
		check(t, http.StatusOK)
		granted(t)(e.rawLogin(adminName, adminPass))
	})
}
