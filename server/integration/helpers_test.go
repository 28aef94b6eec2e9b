package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Helpers shared by the theme files, on top of harness_test.go.

var bg = context.Background()

// tokenInfo is what the tests read from an access token (unverified).
type tokenInfo struct {
	sid      string
	sub      string
	iat, exp time.Time
	header   map[string]any
}

// claimsOf decodes an access token without verifying it.
func claimsOf(t *testing.T, tok string) tokenInfo {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("token %q does not parse: %v", tok, err)
	}
	c := parsed.Claims.(jwt.MapClaims)
	ti := tokenInfo{header: parsed.Header}
	ti.sid, _ = c["sid"].(string)
	ti.sub, _ = c["sub"].(string)
	if v, err := c.GetIssuedAt(); err == nil && v != nil {
		ti.iat = v.Time
	}
	if v, err := c.GetExpirationTime(); err == nil && v != nil {
		ti.exp = v.Time
	}
	if ti.sid == "" || ti.exp.IsZero() || ti.iat.IsZero() {
		t.Fatalf("token without sid, iat or exp: %v", c)
	}
	return ti
}

// sidOf returns the session of the client's current token.
func sidOf(t *testing.T, c *client.Client) string {
	t.Helper()
	return claimsOf(t, c.Tokens.Token()).sid
}

// wantAPIError checks that err, returned by the client, is (or wraps) the
// server's envelope with status and code, and returns it.
func wantAPIError(t *testing.T, err error, status int, code string) *shared.Error {
	t.Helper()
	var ae *shared.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want a %d %s answer", err, err, status, code)
	}
	if ae.Status != status || ae.Code != code || ae.Description == "" {
		t.Fatalf("error %d %q (%q), want %d %s with a description", ae.Status, ae.Code, ae.Description, status, code)
	}
	return ae
}

// wantField checks that a refusal names the one input that was wrong:
// clients put the message beside that field (a wrong code and a wrong
// password are both 401 invalid_grant).
func wantField(t *testing.T, e shared.Error, field string) {
	t.Helper()
	if len(e.Fields) != 1 || e.Fields[field] == "" {
		t.Fatalf("fields %v, want only %q", e.Fields, field)
	}
}

// wantLoggedOut checks that a client call failed because the session is
// over: the client's refresh was refused with 400 invalid_grant and it
// dropped its token.
func wantLoggedOut(t *testing.T, c *client.Client, err error) {
	t.Helper()
	if !errors.Is(err, client.ErrLoggedOut) {
		t.Fatalf("error %v, want client.ErrLoggedOut", err)
	}
	// The refused refresh: a bad token is invalid_grant; none at all (the
	// cookie gone with a logout) invalid_request (RFC 6749 §5.2).
	var e *shared.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != shared.CodeInvalidGrant && e.Code != shared.CodeInvalidRequest {
		t.Fatalf("error %v, want the refused refresh's 400 invalid_grant or invalid_request", err)
	}
	if tok := c.Tokens.Token(); tok != "" {
		t.Fatalf("the client still holds a token after being logged out")
	}
}

// wantEnvelope checks a raw answer: status, a JSON content type and the
// error envelope with code and a description, and nothing else beside the
// field errors and the reason a session ended.
func wantEnvelope(t *testing.T, resp *http.Response, body []byte, status int, code string) shared.Error {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, body)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	for k := range keys {
		switch k {
		case "error", "error_description", "fields", "mfa_token", "mfa_expires_in", "max_age", "reason", "attempts_left":
		default:
			t.Fatalf("envelope has an unexpected key %q: %s", k, body)
		}
	}
	var env shared.Error
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Code != code || env.Description == "" {
		t.Fatalf("envelope %s, want code %q with a description", body, code)
	}
	return env
}

// formHeader is the Content-Type of a form body.
var formHeader = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

// jsonHeader is the Content-Type of a JSON body.
var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// withHeader returns h plus one more header.
func withHeader(h http.Header, k, v string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	out.Add(k, v)
	return out
}

// rawLogin posts the password grant and returns the raw answer.
func (e *env) rawLogin(username, password string) (*http.Response, []byte) {
	e.t.Helper()
	form := url.Values{"grant_type": {shared.GrantPassword}, "username": {username}, "password": {password}}
	return e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
}

// grant checks a 200 token answer and decodes it.
func grant(t *testing.T, resp *http.Response, body []byte) shared.TokenResponse {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint answered %d, want 200; body %s", resp.StatusCode, body)
	}
	var tr shared.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("token answer %s: %v", body, err)
	}
	if tr.AccessToken == "" || tr.TokenType != shared.TokenTypeBearer || tr.ExpiresIn <= 0 {
		t.Fatalf("token answer %s lacks access_token, token_type bearer or expires_in", body)
	}
	return tr
}

// refreshWith posts the refresh grant with the token in the form field.
func (e *env) refreshWith(refresh string) (*http.Response, []byte) {
	e.t.Helper()
	form := url.Values{"refresh_token": {refresh}}
	return e.do("POST", shared.PathTokenRefresh, "", formHeader, strings.NewReader(form.Encode()))
}

// refreshCookie returns the refresh cookie an answer sets, or nil.
func refreshCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == shared.CookieRefresh {
			return c
		}
	}
	return nil
}

// clientVia returns a new client (own cookie jar) whose transport is
// wrap(http.DefaultTransport), the answers validated before wrap sees them.
func (e *env) clientVia(wrap func(http.RoundTripper) http.RoundTripper) *client.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := client.New(e.srv.URL, &client.MemoryTokenStore{})
	c.HTTP = &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: wrap(e.spec.transport(http.DefaultTransport))}
	return c
}

// jarRefresh returns the refresh token held in the client's cookie jar, or
// "".
func (e *env) jarRefresh(c *client.Client) string {
	u, _ := url.Parse(e.srv.URL + shared.PathTokenRefresh)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == shared.CookieRefresh {
			return ck.Value
		}
	}
	return ""
}

// recorder is a transport that remembers the refreshtoken header of every
// answer, by request path.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string][]string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		if h := resp.Header.Get(shared.HeaderRefreshToken); h != "" {
			r.mu.Lock()
			if r.seen == nil {
				r.seen = make(map[string][]string)
			}
			r.seen[req.URL.Path] = append(r.seen[req.URL.Path], h)
			r.mu.Unlock()
		}
	}
	return resp, err
}

// last returns the last refreshtoken header seen on path, or "".
func (r *recorder) last(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen[path]
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// rawResult is one raw answer, for use off the test goroutine.
type rawResult struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// send is e.do for other goroutines: it reports errors instead of failing
// the test.
func send(hc *http.Client, method, u, token string, header http.Header, body []byte) rawResult {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return rawResult{err: err}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return rawResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return rawResult{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// userPath is the path of one user.
func userPath(id int64) string { return shared.PathUsers + "/" + strconv.FormatInt(id, 10) }

func ptr[T any](v T) *T { return &v }

// jsonBody encodes v as a request body.
func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// wantReason checks the reason an error envelope gives for the end of a
// session (shared.Error.Reason).
func wantReason(t *testing.T, body []byte, want string) {
	t.Helper()
	var env shared.Error
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if env.Reason != want {
		t.Fatalf("envelope %s: reason %q, want %q", body, env.Reason, want)
	}
}

// wantEndReason checks the reason the client reads from a failed call.
func wantEndReason(t *testing.T, err error, want string) {
	t.Helper()
	if got := client.EndReason(err); got != want {
		t.Fatalf("client.EndReason(%v) = %q, want %q", err, got, want)
	}
}
