package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"gatehouse/shared"
)

func TestRegisteringARouteWithoutAPolicyPanics(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		panics bool
	}{
		{"the zero policy", Policy{}, true},
		{"a permission policy naming nothing", Require(""), true},
		{"public", Public, false},
		{"authenticated", Authenticated, false},
		{"a permission", Require(shared.PermAuditRead), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &router{mux: mux.NewRouter(), guard: func(_ Policy, h http.Handler) http.Handler { return h }, policies: map[*mux.Route]Route{}}
			defer func() {
				if got := recover() != nil; got != tt.panics {
					t.Fatalf("panicked = %v, want %v", got, tt.panics)
				}
			}()
			rt.handle(http.MethodGet, "/x", tt.policy, func(http.ResponseWriter, *http.Request) {})
		})
	}
}

// publicAPI are the only /api/ paths anyone may call: signing in,
// refreshing, and the API's description.
var publicAPI = []string{shared.PathToken, shared.PathTokenRefresh, shared.PathOpenAPI, shared.PathDocs}

func TestEveryRouteHasAPolicy(t *testing.T) {
	s := New(Options{Frontend: http.NotFoundHandler()})
	routes := s.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		if r.Policy.kind == policyNone {
			t.Errorf("%s %s has no policy", r.Method, r.Path)
		}
		if r.Policy.IsPublic() && strings.HasPrefix(r.Path, "/api/") && !slices.Contains(publicAPI, r.Path) {
			t.Errorf("%s %s is public", r.Method, r.Path)
		}
	}
}

func TestUnknownAPIPathsAndWrongMethodsAnswerJSON(t *testing.T) {
	frontend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("pwa")) })
	s := New(Options{Frontend: frontend})
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/nothing-here", http.StatusNotFound, `"error":"not_found"`},
		{"DELETE", shared.PathToken, http.StatusMethodNotAllowed, `"error":"method_not_allowed"`},
		{"PUT", shared.PathMe, http.StatusMethodNotAllowed, `"error":"method_not_allowed"`},
		{"GET", "/users", http.StatusOK, "pwa"},
		{"HEAD", "/", http.StatusOK, ""},
		{"POST", "/users", http.StatusMethodNotAllowed, `"error":"method_not_allowed"`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("%d %s, want %d with %s", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
}

// TestRoutesMatchTheGoldenTable compares the router with the contract's API
// table, written here by hand: the router is never asked what to expect of
// itself, so a route registered with the wrong permission, a missing route
// or an extra one fails.
func TestRoutesMatchTheGoldenTable(t *testing.T) {
	const (
		users   = "/api/users/{id:[0-9]+}"
		public  = "public"
		authn   = "authenticated"
		perm    = "permission "
		usersR  = perm + "users:read"
		usersW  = perm + "users:write"
		sessR   = perm + "sessions:read"
		sessX   = perm + "sessions:revoke"
		auditR  = perm + "audit:read"
		pwaPath = "/"
		always  = authn + ", also while enrolling, also while changing password"
		enrol   = authn + ", also while enrolling"
		pwChg   = authn + ", also while changing password"
	)
	golden := []struct{ method, path, policy string }{
		{"POST", "/api/token", public},
		{"POST", "/api/token/refresh", public},
		{"POST", "/api/logout", always},
		{"GET", "/api/auth/check", always},
		{"POST", "/api/reauth", authn},
		{"GET", "/api/users/me", always},
		{"PATCH", "/api/users/me", authn},
		{"PUT", "/api/users/me/password", pwChg},
		{"POST", "/api/users/me/mfa/totp", enrol},
		{"POST", "/api/users/me/mfa/totp/confirm", enrol},
		{"DELETE", "/api/users/me/mfa", authn},
		{"POST", "/api/users/me/mfa/recovery-codes", authn},
		{"GET", "/api/users/me/sessions", authn},
		{"DELETE", "/api/users/me/sessions/{id}", authn},
		{"GET", "/api/users", usersR},
		{"POST", "/api/users", usersW},
		{"GET", users, usersR},
		{"PATCH", users, usersW},
		{"DELETE", users, usersW},
		{"PUT", users + "/password", usersW},
		{"DELETE", users + "/sessions", sessX},
		{"DELETE", users + "/mfa", usersW},
		{"DELETE", users + "/lockout", usersW},
		{"GET", "/api/sessions", sessR},
		{"DELETE", "/api/sessions/{id}", sessX},
		{"GET", "/api/audit", auditR},
		{"GET", "/api/stats", auditR},
		{"GET", "/healthz", public},
		{"GET", "/readyz", public},
		{"GET", "/api/openapi.json", public},
		{"GET", "/api/docs", public},
		{"GET", pwaPath, public},
		{"HEAD", pwaPath, public},
	}
	want := make(map[string]string)
	for _, g := range golden {
		want[g.method+" "+g.path] = g.policy
	}
	got := make(map[string]string)
	for _, r := range New(Options{Frontend: http.NotFoundHandler()}).Routes() {
		k := r.Method + " " + r.Path
		if _, dup := got[k]; dup {
			t.Errorf("%s is registered twice", k)
		}
		got[k] = r.Policy.String()
	}
	for k, p := range want {
		switch g, ok := got[k]; {
		case !ok:
			t.Errorf("%s (%s) is not routed", k, p)
		case g != p:
			t.Errorf("%s has policy %q, want %q", k, g, p)
		}
	}
	for k, p := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s (%s) is routed but not in the golden table", k, p)
		}
	}
}
