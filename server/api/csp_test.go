package api_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gatehouse/server/boot"
	"gatehouse/server/config"
	"gatehouse/shared"
)

// The policies DESIGN "Security headers" asks for, written out here rather
// than taken from the package, so that a change to either is a failure.
const (
	wantJSONPolicy = "default-src 'none'; frame-ancestors 'none'"
	wantPagePolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
	wantDocsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// wantPagePolicyWith is the page policy when the pages call the API at
// origin.
func wantPagePolicyWith(origin string) string {
	return strings.Replace(wantPagePolicy, "connect-src 'self';", "connect-src 'self' "+origin+";", 1)
}

// stubFrontend stands for the go-app handler.
var stubFrontend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><title>pwa</title>")
})

// openAPI wires Gatehouse as the command does, with the stub frontend and
// the settings in extra (GATEHOUSE_* names), and returns its handler and
// an admin's access token.
func openAPI(t *testing.T, extra map[string]string) (http.Handler, string) {
	t.Helper()
	vars := map[string]string{
		"GATEHOUSE_DATA_DIR":       t.TempDir(),
		"GATEHOUSE_JWT_SECRET":     "csp-test-secret-of-at-least-32-bytes!!",
		"GATEHOUSE_BCRYPT_COST":    "4",
		"GATEHOUSE_ADMIN_PASSWORD": "csp-password",
	}
	maps.Copy(vars, extra)
	cfg, err := config.Parse("test", nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := boot.Open(t.Context(), cfg, slog.New(slog.DiscardHandler), boot.Options{Frontend: stubFrontend})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	if _, err := boot.EnsureAdmin(context.Background(), sys, io.Discard); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {"admin"}, "password": {"csp-password"}}
	req := httptest.NewRequest(http.MethodPost, shared.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sys.API.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != wantJSONPolicy {
		t.Errorf("the token answer's Content-Security-Policy = %q, want %q", got, wantJSONPolicy)
	}
	tok, _, _ := strings.Cut(strings.SplitN(rec.Body.String(), `"access_token":"`, 2)[1], `"`)
	return sys.API, tok
}

// Every answer carries the same protective headers; JSON answers allow
// nothing to render, and the frontend's answers get the policy the PWA
// runs under, naming the API's origin when it lives elsewhere.
func TestSecurityHeaders(t *testing.T) {
	same, sameTok := openAPI(t, nil)
	other, otherTok := openAPI(t, map[string]string{
		// A path and an upper-case host: connect-src names the origin.
		"GATEHOUSE_API_URL":      "https://API.example.com:8443/gatehouse/",
		"GATEHOUSE_CORS_ORIGINS": "https://pwa.example.com",
	})
	tests := []struct {
		name         string
		h            http.Handler
		method, path string
		token        string
		header       []string
		status       int
		policy       string
	}{
		{name: "an authenticated JSON route", h: same, method: "GET", path: shared.PathMe, token: sameTok, status: 200, policy: wantJSONPolicy},
		{name: "a 204 answer", h: same, method: "GET", path: shared.PathAuthCheck, token: sameTok, status: 204, policy: wantJSONPolicy},
		{name: "a 401 without a token", h: same, method: "GET", path: shared.PathUsers, status: 401, policy: wantJSONPolicy},
		{name: "a 401 for a wrong password", h: same, method: "POST", path: shared.PathToken,
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 401, policy: wantJSONPolicy},
		{name: "an unknown API path's 404", h: same, method: "GET", path: "/api/nothing-here", status: 404, policy: wantJSONPolicy},
		{name: "an unknown API path's 404 on a page path's method", h: same, method: "HEAD", path: "/api/", status: 404, policy: wantJSONPolicy},
		{name: "a wrong method's 405", h: same, method: "DELETE", path: shared.PathToken, status: 405, policy: wantJSONPolicy},
		{name: "a page path's wrong method gets the JSON 405", h: same, method: "POST", path: "/users", status: 405, policy: wantJSONPolicy},
		{name: "the liveness check", h: same, method: "GET", path: shared.PathHealth, status: 200, policy: wantJSONPolicy},
		{name: "the readiness check", h: same, method: "GET", path: shared.PathReady, status: 200, policy: wantJSONPolicy},
		{name: "the OpenAPI description", h: same, method: "GET", path: shared.PathOpenAPI, status: 200, policy: wantJSONPolicy},
		{name: "the API docs page", h: same, method: "GET", path: shared.PathDocs, status: 200, policy: wantDocsPolicy},
		{name: "the API docs page's wrong method", h: same, method: "POST", path: shared.PathDocs, status: 405, policy: wantJSONPolicy},
		{name: "the dashboard page", h: same, method: "GET", path: "/", status: 200, policy: wantPagePolicy},
		{name: "a deep link", h: same, method: "GET", path: "/users", status: 200, policy: wantPagePolicy},
		{name: "a HEAD of a page", h: same, method: "HEAD", path: "/login", status: 200, policy: wantPagePolicy},
		{name: "a static file", h: same, method: "GET", path: "/web/app.css", status: 200, policy: wantPagePolicy},
		{name: "the service worker", h: same, method: "GET", path: "/app-worker.js", status: 200, policy: wantPagePolicy},
		{name: "a path the frontend does not know", h: same, method: "GET", path: "/no-such-page", status: 200, policy: wantPagePolicy},

		{name: "cross-origin: a page names the API origin", h: other, method: "GET", path: "/", status: 200,
			policy: wantPagePolicyWith("https://api.example.com:8443")},
		{name: "cross-origin: the JSON policy stays", h: other, method: "GET", path: shared.PathMe, token: otherTok, status: 200, policy: wantJSONPolicy},
		{name: "cross-origin: a CORS preflight", h: other, method: "OPTIONS", path: shared.PathMe,
			header: []string{"Origin", "https://pwa.example.com", "Access-Control-Request-Method", "PATCH"}, status: 204, policy: wantJSONPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.method == "POST" && tt.path == shared.PathToken {
				body = strings.NewReader("username=admin&password=wrong")
			}
			req := httptest.NewRequest(tt.method, tt.path, body)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %.200s", rec.Code, tt.status, rec.Body)
			}
			h := rec.Header()
			if got := h.Values("Content-Security-Policy"); len(got) != 1 || got[0] != tt.policy {
				t.Errorf("Content-Security-Policy = %q,\nwant      %q", got, tt.policy)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"X-Frame-Options":        "DENY",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := h.Get("Strict-Transport-Security"); got != "" {
				t.Errorf("Strict-Transport-Security = %q over plain HTTP, want none", got)
			}
		})
	}
}

// HSTS is sent only on answers that came over TLS: over plain HTTP it
// would be ignored at best, and it must not pin a development host.
func TestHSTSOnlyOverTLS(t *testing.T) {
	h, _ := openAPI(t, nil)
	for _, path := range []string{shared.PathHealth, "/api/nothing-here", "/"} {
		for _, tls := range []bool{false, true} {
			target := "http://gatehouse.test" + path
			if tls {
				target = "https://gatehouse.test" + path
			}
			t.Run(target, func(t *testing.T) {
				req := httptest.NewRequest("GET", target, nil)
				if (req.TLS != nil) != tls {
					t.Fatalf("request TLS = %v, want %v", req.TLS != nil, tls)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				got := rec.Header().Get("Strict-Transport-Security")
				switch {
				case tls && got != "max-age=31536000":
					t.Errorf("Strict-Transport-Security = %q over TLS, want max-age=31536000", got)
				case !tls && got != "":
					t.Errorf("Strict-Transport-Security = %q over plain HTTP, want none", got)
				}
			})
		}
	}
}
