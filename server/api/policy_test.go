package api

import (
	"net/http"
	"net/http/httptest"
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
		if r.Policy.IsPublic() && strings.HasPrefix(r.Path, "/api/") && r.Path != shared.PathToken && r.Path != shared.PathTokenRefresh {
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
