package client_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The fake server in this file mimics the parts of the Gatehouse API that
// the client's token handling depends on: the password grant setting an
// HttpOnly refresh cookie, the cookie refresh grant rotating it, bearer
// checks answering 401 invalid_token, and the error envelope.

const (
	testUser     = "admin"
	testPassword = "correct horse"
)

// baseExp is the exp of the first token the fake issues; each later token
// expires a minute later, so newer tokens always have a later exp.
var baseExp = time.Unix(2_000_000_000, 0)

// makeJWT builds an unsigned-looking JWT with the given claims. The client
// never verifies signatures, so the signature is a placeholder.
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "HS256", "typ": "at+jwt"}) + "." + enc(claims) + ".c2ln"
}

// tokenAt returns a token of session sid expiring at exp.
func tokenAt(t testing.TB, exp time.Time, sid string) string {
	t.Helper()
	c := map[string]any{"sub": "1", "exp": exp.Unix()}
	if sid != "" {
		c["sid"] = sid
	}
	return makeJWT(t, c)
}

// recorded is one request as the fake saw it.
type recorded struct {
	Method, Path, Query string
	Auth                string
	ContentType         string
	Body                []byte
	Header              http.Header
}

type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	valid   map[string]bool // access tokens the fake accepts
	refresh string          // current refresh cookie value
	repeat  bool            // grants answer the last token again
	last    string          // last token issued
	seq     int
	reqs    []recorded
	routes  map[string]http.HandlerFunc // "METHOD /path" → handler, after auth
	public  map[string]http.HandlerFunc // "METHOD /path" → handler, no auth

	// refreshHook, if set, runs in the refresh handler before it answers.
	// A non-zero status makes the refresh fail with that status and code.
	refreshHook func() (status int, code string)

	refreshes    atomic.Int32 // refresh requests received
	unauthorized atomic.Int32 // 401 invalid_token answers sent
}

func newFake(t *testing.T) *fake {
	f := &fake{
		t:      t,
		valid:  map[string]bool{},
		routes: map[string]http.HandlerFunc{},
		public: map[string]http.HandlerFunc{},
	}
	f.routes["GET "+shared.PathMe] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, shared.User{ID: 1, Username: testUser, Role: shared.RoleAdmin})
	}
	f.routes["GET "+shared.PathAuthCheck] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}
	f.routes["POST "+shared.PathLogout] = func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: shared.CookieRefresh, Path: shared.CookiePath, MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// route sets the handler of an authenticated route.
func (f *fake) route(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[pattern] = h
}

// publicRoute sets the handler of a route that needs no token.
func (f *fake) publicRoute(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.public[pattern] = h
}

// issue makes a new valid access token.
func (f *fake) issue() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repeat && f.last != "" {
		f.valid[f.last] = true
		return f.last
	}
	f.seq++
	tok := tokenAt(f.t, baseExp.Add(time.Duration(f.seq)*time.Minute), "s1")
	f.valid[tok] = true
	f.last = tok
	return tok
}

// invalidate makes every issued access token invalid, as if they had all
// expired; the refresh cookie stays good.
func (f *fake) invalidate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

// requests returns the recorded requests for "METHOD /path".
func (f *fake) requests(pattern string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.reqs {
		if r.Method+" "+r.Path == pattern {
			out = append(out, r)
		}
	}
	return out
}

// waitUnauthorized waits until the fake has answered n 401s.
func (f *fake) waitUnauthorized(n int32) {
	deadline := time.Now().Add(5 * time.Second)
	for f.unauthorized.Load() < n {
		if time.Now().After(deadline) {
			f.t.Errorf("only %d of %d requests were answered 401 in time", f.unauthorized.Load(), n)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
		Body: body, Header: r.Header.Clone(),
	})
	key := r.Method + " " + r.URL.Path
	route, public := f.routes[key], f.public[key]
	f.mu.Unlock()

	switch {
	case r.URL.Path == shared.PathToken:
		f.login(w, r, body)
	case r.URL.Path == shared.PathTokenRefresh:
		f.refreshGrant(w, r)
	case public != nil:
		public(w, r)
	default:
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		good := ok && f.valid[tok]
		f.mu.Unlock()
		if !good {
			f.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, shared.CodeInvalidToken, "token expired")
			return
		}
		if route == nil {
			writeError(w, http.StatusNotFound, shared.CodeNotFound, "no such route")
			return
		}
		route(w, r)
	}
}

func (f *fake) login(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, shared.CodeInvalidRequest, "want a form POST")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != shared.GrantPassword {
		writeError(w, http.StatusBadRequest, shared.CodeInvalidRequest, "bad form")
		return
	}
	if form.Get("username") != testUser || form.Get("password") != testPassword {
		writeError(w, http.StatusUnauthorized, shared.CodeInvalidGrant, "wrong username or password")
		return
	}
	f.grant(w)
}

func (f *fake) refreshGrant(w http.ResponseWriter, r *http.Request) {
	f.refreshes.Add(1)
	if f.refreshHook != nil {
		if status, code := f.refreshHook(); status != 0 {
			writeError(w, status, code, "refresh failed")
			return
		}
	}
	c, err := r.Cookie(shared.CookieRefresh)
	f.mu.Lock()
	good := err == nil && c.Value == f.refresh && f.refresh != ""
	f.mu.Unlock()
	if !good {
		writeError(w, http.StatusBadRequest, shared.CodeInvalidGrant, "bad refresh token")
		return
	}
	f.grant(w)
}

// grant answers a token response and rotates the refresh cookie.
func (f *fake) grant(w http.ResponseWriter) {
	tok := f.issue()
	f.mu.Lock()
	f.refresh = fmt.Sprintf("rt-%d", f.seq)
	rt := f.refresh
	f.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: shared.CookieRefresh, Value: rt, Path: shared.CookiePath, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, shared.TokenResponse{AccessToken: tok, TokenType: shared.TokenTypeBearer, ExpiresIn: 1800, RefreshToken: rt})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, shared.Error{Code: code, Description: desc})
}

// newClient returns a client of f with a cookie jar, and a counter of
// OnLogout calls.
func newClient(t *testing.T, f *fake) (*client.Client, *atomic.Int32) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	logouts := new(atomic.Int32)
	c := client.New(f.srv.URL, nil)
	c.HTTP = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	c.OnLogout = func() { logouts.Add(1) }
	return c, logouts
}

// login signs c in, failing the test on error.
func login(t *testing.T, c *client.Client) string {
	t.Helper()
	tr, err := c.Login(t.Context(), testUser, testPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tr.AccessToken
}
