package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

func TestLogin(t *testing.T) {
	f := newFake(t)
	c, logouts := newClient(t, f)
	tok := login(t, c)
	if got := c.Tokens.Token(); got != tok || tok == "" {
		t.Fatalf("held token %q, want the login token %q", got, tok)
	}
	reqs := f.requests("POST " + shared.PathToken)
	if len(reqs) != 1 {
		t.Fatalf("%d login requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Auth != "" {
		t.Errorf("login sent Authorization %q", r.Auth)
	}
	if r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("login Content-Type %q", r.ContentType)
	}
	form, _ := url.ParseQuery(string(r.Body))
	want := url.Values{"grant_type": {"password"}, "username": {testUser}, "password": {testPassword}}
	if form.Encode() != want.Encode() {
		t.Errorf("login form %v, want %v", form, want)
	}
	u, _ := url.Parse(f.srv.URL + shared.PathTokenRefresh)
	if cs := c.HTTP.Jar.Cookies(u); len(cs) != 1 || cs[0].Name != shared.CookieRefresh {
		t.Errorf("cookie jar holds %v for the refresh path, want the refresh cookie", cs)
	}
	if n := logouts.Load(); n != 0 {
		t.Errorf("OnLogout called %d times", n)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	f := newFake(t)
	c, logouts := newClient(t, f)
	_, err := c.Login(t.Context(), testUser, "wrong")
	var e *shared.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != shared.CodeInvalidGrant {
		t.Fatalf("Login with a wrong password: %v (%#v), want 401 invalid_grant", err, e)
	}
	if errors.Is(err, client.ErrLoggedOut) {
		t.Errorf("a failed login matches ErrLoggedOut")
	}
	if n := f.refreshes.Load(); n != 0 {
		t.Errorf("a failed login caused %d refreshes", n)
	}
	if c.Tokens.Token() != "" || logouts.Load() != 0 {
		t.Errorf("token %q, %d OnLogout calls after a failed login", c.Tokens.Token(), logouts.Load())
	}
}

func TestBearer(t *testing.T) {
	f := newFake(t)
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }
	f.publicRoute("GET "+shared.PathHealth, ok)
	f.publicRoute("GET "+shared.PathReady, ok)
	f.route("GET "+shared.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, shared.Page[shared.User]{})
	})
	c, _ := newClient(t, f)
	tok := login(t, c)

	tests := []struct {
		name    string
		pattern string
		call    func(context.Context) error
		bearer  bool
	}{
		{"Me", "GET " + shared.PathMe, func(ctx context.Context) error { _, err := c.Me(ctx); return err }, true},
		{"Check", "GET " + shared.PathAuthCheck, c.Check, true},
		{"Users", "GET " + shared.PathUsers, func(ctx context.Context) error { _, err := c.Users(ctx, client.UserQuery{}); return err }, true},
		{"Health", "GET " + shared.PathHealth, c.Health, false},
		{"Ready", "GET " + shared.PathReady, c.Ready, false},
		{"Refresh", "POST " + shared.PathTokenRefresh, c.Refresh, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(t.Context()); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests(tt.pattern)
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			want := ""
			if tt.bearer {
				want = "Bearer " + tok
			}
			if got := reqs[0].Auth; got != want {
				t.Errorf("Authorization %q, want %q", got, want)
			}
			for k := range reqs[0].Header {
				if strings.HasPrefix(strings.ToLower(k), "js.fetch") {
					t.Errorf("header %q reached the server", k)
				}
			}
		})
	}
}

func TestRefreshOn401ThenRetry(t *testing.T) {
	f := newFake(t)
	c, logouts := newClient(t, f)
	old := login(t, c)
	f.invalidate()

	u, err := c.Me(t.Context())
	if err != nil {
		t.Fatalf("Me after the token went bad: %v", err)
	}
	if u.Username != testUser {
		t.Errorf("Me = %+v", u)
	}
	if n := f.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	reqs := f.requests("GET " + shared.PathMe)
	if len(reqs) != 2 {
		t.Fatalf("%d Me requests, want 2 (the 401 and the retry)", len(reqs))
	}
	fresh := c.Tokens.Token()
	if fresh == old || fresh == "" {
		t.Fatalf("held token not refreshed: %q", fresh)
	}
	if reqs[0].Auth != "Bearer "+old || reqs[1].Auth != "Bearer "+fresh {
		t.Errorf("Authorization sent %q then %q; want the old then the refreshed token", reqs[0].Auth, reqs[1].Auth)
	}
	if n := logouts.Load(); n != 0 {
		t.Errorf("OnLogout called %d times", n)
	}
	// The refresh went through the cookie, and the rotated cookie works.
	f.invalidate()
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatalf("second refresh with the rotated cookie: %v", err)
	}
	if n := f.refreshes.Load(); n != 2 {
		t.Errorf("%d refreshes, want 2", n)
	}
}

func TestConcurrent401sShareOneRefresh(t *testing.T) {
	const n = 20
	f := newFake(t)
	c, logouts := newClient(t, f)
	login(t, c)
	f.invalidate()
	// The refresh answers only once every caller has had its 401, so all
	// of them are waiting for a token at the same time.
	f.refreshHook = func() (int, string) {
		f.waitUnauthorized(n)
		return 0, ""
	}

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.Me(t.Context())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Me: %v", err)
		}
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("%d refresh requests reached the server, want 1", got)
	}
	if got := len(f.requests("GET " + shared.PathMe)); got != 2*n {
		t.Errorf("%d Me requests, want %d (each once, then once more)", got, 2*n)
	}
	if got := logouts.Load(); got != 0 {
		t.Errorf("OnLogout called %d times", got)
	}
}

func TestRefreshFailure(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		code       string
		loggedOut  bool
		keepsToken bool
	}{
		{"refresh token refused", http.StatusBadRequest, shared.CodeInvalidGrant, true, false},
		{"refresh answered 401", http.StatusUnauthorized, shared.CodeInvalidToken, true, false},
		{"server unavailable", http.StatusServiceUnavailable, shared.CodeUnavailable, false, true},
		{"throttled", http.StatusTooManyRequests, shared.CodeTooManyAttempts, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 5
			f := newFake(t)
			c, logouts := newClient(t, f)
			tok := login(t, c)
			f.invalidate()
			f.refreshHook = func() (int, string) {
				f.waitUnauthorized(n)
				return tt.status, tt.code
			}

			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					_, err := c.Me(t.Context())
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if got := errors.Is(err, client.ErrLoggedOut); got != tt.loggedOut {
					t.Errorf("errors.Is(%v, ErrLoggedOut) = %v, want %v", err, got, tt.loggedOut)
				}
				var e *shared.Error
				if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code {
					t.Errorf("error %v does not carry the server's %d %s", err, tt.status, tt.code)
				}
			}
			if got := f.refreshes.Load(); got != 1 {
				t.Errorf("%d refreshes, want 1", got)
			}
			wantLogouts := int32(0)
			if tt.loggedOut {
				wantLogouts = 1
			}
			if got := logouts.Load(); got != wantLogouts {
				t.Errorf("OnLogout called %d times, want %d", got, wantLogouts)
			}
			wantTok := ""
			if tt.keepsToken {
				wantTok = tok
			}
			if got := c.Tokens.Token(); got != wantTok {
				t.Errorf("held token %q, want %q", got, wantTok)
			}
			if got := len(f.requests("GET " + shared.PathMe)); got != n {
				t.Errorf("%d Me requests, want %d (no retry after a failed refresh)", got, n)
			}
		})
	}
}

func TestRefreshFailureThenNewLogin(t *testing.T) {
	f := newFake(t)
	c, logouts := newClient(t, f)
	login(t, c)
	f.invalidate()
	f.refreshHook = func() (int, string) { return http.StatusBadRequest, shared.CodeInvalidGrant }
	if _, err := c.Me(t.Context()); !errors.Is(err, client.ErrLoggedOut) {
		t.Fatalf("Me: %v, want ErrLoggedOut", err)
	}
	// A call made after the logout tries the cookie again: it is a new
	// attempt, not the old outcome.
	if _, err := c.Me(t.Context()); !errors.Is(err, client.ErrLoggedOut) {
		t.Fatalf("second Me: %v, want ErrLoggedOut", err)
	}
	if got := f.refreshes.Load(); got != 2 {
		t.Errorf("%d refreshes, want 2", got)
	}
	if got := logouts.Load(); got != 2 {
		t.Errorf("OnLogout called %d times, want 2", got)
	}
	f.refreshHook = nil
	login(t, c)
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatalf("Me after signing in again: %v", err)
	}
}

func TestSecond401IsReturned(t *testing.T) {
	f := newFake(t)
	f.route("GET "+shared.PathMe, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusUnauthorized, shared.CodeInvalidToken, "still no")
	})
	c, logouts := newClient(t, f)
	login(t, c)

	_, err := c.Me(t.Context())
	var e *shared.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Description != "still no" {
		t.Fatalf("Me: %v, want the retry's 401", err)
	}
	if errors.Is(err, client.ErrLoggedOut) {
		t.Errorf("second 401 matches ErrLoggedOut; the refresh itself worked")
	}
	if got := len(f.requests("GET " + shared.PathMe)); got != 2 {
		t.Errorf("%d Me requests, want 2", got)
	}
	if got := f.refreshes.Load(); got != 1 {
		t.Errorf("%d refreshes, want 1", got)
	}
	if got := logouts.Load(); got != 0 {
		t.Errorf("OnLogout called %d times", got)
	}
}

func TestOther401IsNotRefreshed(t *testing.T) {
	f := newFake(t)
	f.route("PUT "+shared.PathMePassword, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusUnauthorized, shared.CodeInvalidGrant, "wrong current password")
	})
	c, _ := newClient(t, f)
	login(t, c)
	err := c.ChangePassword(t.Context(), shared.PasswordChange{CurrentPassword: "nope", NewPassword: "new password"})
	var e *shared.Error
	if !errors.As(err, &e) || e.Code != shared.CodeInvalidGrant || e.Status != http.StatusUnauthorized {
		t.Fatalf("ChangePassword: %v, want 401 invalid_grant", err)
	}
	if got := f.refreshes.Load(); got != 0 {
		t.Errorf("%d refreshes for a wrong current password, want 0", got)
	}
	if got := len(f.requests("PUT " + shared.PathMePassword)); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestTokenChangedWhileRequestInFlight(t *testing.T) {
	// A request sent with the login token is held at the server while
	// something else happens, then answered 401.
	tests := []struct {
		name          string
		meanwhile     func(*testing.T, *fake, *client.Client)
		wantErr       int // status of the expected error; 0 for success
		wantRefreshes int32
		wantLoggedOut bool // the error matches ErrLoggedOut, OnLogout called once
	}{
		{"another call refreshed: retry with its token", func(t *testing.T, f *fake, c *client.Client) {
			if err := c.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		}, 0, 1, false},
		{"another response slid the token: retry without refreshing", func(t *testing.T, f *fake, c *client.Client) {
			f.route("GET "+shared.PathAuthCheck, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(shared.HeaderRefreshToken, f.issue())
				w.WriteHeader(http.StatusNoContent)
			})
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("Check: %v", err)
			}
		}, 0, 0, false},
		{"another call's refresh failed: share its error", func(t *testing.T, f *fake, c *client.Client) {
			f.refreshHook = func() (int, string) { return http.StatusServiceUnavailable, shared.CodeUnavailable }
			if err := c.Refresh(t.Context()); err == nil {
				t.Fatal("Refresh succeeded")
			}
		}, http.StatusServiceUnavailable, 1, false},
		{"another call's refresh was refused: share its ErrLoggedOut", func(t *testing.T, f *fake, c *client.Client) {
			f.refreshHook = func() (int, string) { return http.StatusBadRequest, shared.CodeInvalidGrant }
			if err := c.Refresh(t.Context()); !errors.Is(err, client.ErrLoggedOut) {
				t.Fatalf("Refresh: %v, want ErrLoggedOut", err)
			}
		}, http.StatusBadRequest, 1, true},
		{"another call's refresh returned the same token: retry", func(t *testing.T, f *fake, c *client.Client) {
			f.mu.Lock()
			f.repeat = true
			f.mu.Unlock()
			if err := c.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		}, 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c, logouts := newClient(t, f)
			old := login(t, c)
			held, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			f.publicRoute("GET "+shared.PathStats, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					if r.Header.Get("Authorization") != "Bearer "+old {
						t.Errorf("first Stats sent %q", r.Header.Get("Authorization"))
					}
					close(held)
					<-release
					writeError(w, http.StatusUnauthorized, shared.CodeInvalidToken, "expired")
					return
				}
				writeJSON(w, http.StatusOK, shared.Stats{ActiveSessions: 3})
			})

			type result struct {
				s   *shared.Stats
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := c.Stats(t.Context())
				done <- result{s, err}
			}()
			recv(t, held)
			tt.meanwhile(t, f, c)
			close(release)
			res := recv(t, done)
			var e *shared.Error
			switch {
			case tt.wantErr == 0 && (res.err != nil || res.s.ActiveSessions != 3):
				t.Errorf("Stats = %+v, %v; want success", res.s, res.err)
			case tt.wantErr != 0 && (!errors.As(res.err, &e) || e.Status != tt.wantErr):
				t.Errorf("Stats error %v, want status %d", res.err, tt.wantErr)
			case errors.Is(res.err, client.ErrLoggedOut) != tt.wantLoggedOut:
				t.Errorf("errors.Is(%v, ErrLoggedOut) = %v", res.err, !tt.wantLoggedOut)
			}
			reqs := f.requests("GET " + shared.PathStats)
			if tt.wantErr == 0 {
				if len(reqs) != 2 || reqs[1].Auth != "Bearer "+c.Tokens.Token() {
					t.Errorf("Stats requests %d, want a retry with the held token", len(reqs))
				}
			} else if len(reqs) != 1 {
				t.Errorf("%d Stats requests, want no retry", len(reqs))
			}
			if got := f.refreshes.Load(); got != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", got, tt.wantRefreshes)
			}
			wantLogouts := int32(0)
			if tt.wantLoggedOut {
				wantLogouts = 1
			}
			if got := logouts.Load(); got != wantLogouts {
				t.Errorf("OnLogout called %d times, want %d", got, wantLogouts)
			}
		})
	}
}

// recv receives from ch, failing the test if nothing comes in time.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting")
		panic("unreachable")
	}
}

func TestBodyResentOnRetry(t *testing.T) {
	name, email := "Zoë Quinn ✓", "zoe@example.com"
	disabled := true
	tests := []struct {
		name    string
		pattern string
		call    func(*client.Client, context.Context) error
		body    any
	}{
		{"UpdateMe", "PATCH " + shared.PathMe, func(c *client.Client, ctx context.Context) error {
			_, err := c.UpdateMe(ctx, shared.ProfileUpdate{FullName: &name, Email: &email})
			return err
		}, shared.ProfileUpdate{FullName: &name, Email: &email}},
		{"UpdateUser", "PATCH /api/users/5", func(c *client.Client, ctx context.Context) error {
			_, err := c.UpdateUser(ctx, 5, shared.UserUpdate{FullName: &name, Disabled: &disabled})
			return err
		}, shared.UserUpdate{FullName: &name, Disabled: &disabled}},
		{"CreateUser", "POST " + shared.PathUsers, func(c *client.Client, ctx context.Context) error {
			_, err := c.CreateUser(ctx, shared.UserCreate{Username: "zoe", Password: "long enough", FullName: name, Role: shared.RoleViewer})
			return err
		}, shared.UserCreate{Username: "zoe", Password: "long enough", FullName: name, Role: shared.RoleViewer}},
		{"ResetPassword", "PUT /api/users/5/password", func(c *client.Client, ctx context.Context) error {
			return c.ResetPassword(ctx, 5, shared.PasswordReset{NewPassword: "new password"})
		}, shared.PasswordReset{NewPassword: "new password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.route(tt.pattern, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, shared.User{ID: 5})
			})
			c, _ := newClient(t, f)
			login(t, c)
			f.invalidate()
			if err := tt.call(c, t.Context()); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(tt.body)
			reqs := f.requests(tt.pattern)
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			for i, r := range reqs {
				if !bytes.Equal(r.Body, want) {
					t.Errorf("attempt %d sent %s, want %s", i+1, r.Body, want)
				}
				if r.ContentType != "application/json" {
					t.Errorf("attempt %d Content-Type %q", i+1, r.ContentType)
				}
			}
		})
	}
}

func TestLogout(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr bool
	}{
		{"server ends the session", http.StatusNoContent, false},
		{"server fails", http.StatusInternalServerError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.route("POST "+shared.PathLogout, func(w http.ResponseWriter, r *http.Request) {
				if tt.status >= 400 {
					writeError(w, tt.status, shared.CodeInternal, "oops")
					return
				}
				w.WriteHeader(tt.status)
			})
			c, _ := newClient(t, f)
			tok := login(t, c)
			err := c.Logout(t.Context())
			if (err != nil) != tt.wantErr {
				t.Errorf("Logout: %v, want error %v", err, tt.wantErr)
			}
			if got := c.Tokens.Token(); got != "" {
				t.Errorf("token still held after Logout: %q", got)
			}
			if r := f.requests("POST " + shared.PathLogout); len(r) != 1 || r[0].Auth != "Bearer "+tok {
				t.Errorf("logout requests %+v, want one with the bearer token", r)
			}
		})
	}
}

func TestLogoutWithDeadSession(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	login(t, c)
	f.invalidate()
	f.refreshHook = func() (int, string) { return http.StatusBadRequest, shared.CodeInvalidGrant }
	if err := c.Logout(t.Context()); err != nil {
		t.Errorf("Logout of an ended session: %v, want nil", err)
	}
	if c.Tokens.Token() != "" {
		t.Errorf("token still held")
	}
}

func TestRefreshDuringLogoutDoesNotRestoreToken(t *testing.T) {
	f := newFake(t)
	c, logouts := newClient(t, f)
	login(t, c)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f.refreshHook = func() (int, string) {
		arrived <- struct{}{}
		<-release
		return 0, ""
	}
	done := make(chan error, 1)
	go func() { done <- c.Refresh(t.Context()) }()
	recv(t, arrived)
	if err := c.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	close(release)
	if err := recv(t, done); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if got := c.Tokens.Token(); got != "" {
		t.Errorf("a refresh that finished after Logout stored a token: %q", got)
	}
	if got := logouts.Load(); got != 0 {
		t.Errorf("OnLogout called %d times", got)
	}
}

func TestZeroClient(t *testing.T) {
	f := newFake(t)
	c := &client.Client{BaseURL: f.srv.URL + "/"}
	if _, err := c.Login(t.Context(), testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	if c.Tokens == nil || c.Tokens.Token() == "" {
		t.Fatal("zero Client did not keep the token")
	}
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNetworkErrors(t *testing.T) {
	f := newFake(t)
	base := f.srv.URL
	f.srv.Close()
	c := client.New(base, nil)
	_, err := c.Me(t.Context())
	var e *shared.Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "client: GET /api/users/me: ") {
		t.Errorf("Me against a closed server: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := client.New(newFake(t).srv.URL, nil).Me(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Me with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestRefreshWaitRespectsContext(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	login(t, c)
	release := make(chan struct{})
	f.refreshHook = func() (int, string) { <-release; return 0, "" }
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Refresh: %v, want context.DeadlineExceeded", err)
	}
}
