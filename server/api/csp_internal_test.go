package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAPIOrigin(t *testing.T) {
	tests := []struct {
		url    string
		want   string
		wantOK bool
	}{
		{"https://api.example.com", "https://api.example.com", true},
		{"http://127.0.0.1:8001", "http://127.0.0.1:8001", true},
		{"https://api.example.com/", "https://api.example.com", true},
		{"https://api.example.com:8443/gatehouse/v1?x=1#f", "https://api.example.com:8443", true},
		{"https://API.Example.COM", "https://api.example.com", true},
		{"http://[::1]:8001", "http://[::1]:8001", true},
		// Nothing that could end connect-src and start a directive of its
		// own, and nothing that is not an http(s) origin.
		{"https://api.example.com;script-src *", "", false},
		{"https://a.example.com 'unsafe-inline'", "", false},
		{"https://a.example.com,b.example.com", "", false},
		{"https://user:pass@api.example.com", "", false},
		{"https://*.example.com", "", false},
		{"https://", "", false},
		{"javascript:alert(1)", "", false},
		{"data:text/plain,x", "", false},
		{"ftp://api.example.com", "", false},
		{"api.example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, ok := apiOrigin(tt.url)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("apiOrigin(%q) = %q, %v; want %q, %v", tt.url, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// An API URL that cannot be a CSP source is left out: connect-src stays
// 'self' instead of taking whatever the setting held.
func TestPagePolicyLeavesOutAnUnusableAPIURL(t *testing.T) {
	s := New(Options{})
	h := s.frontend(http.NotFoundHandler(), "https://api.example.com; script-src 'unsafe-inline'")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got, want := rec.Header().Get("Content-Security-Policy"), pagePolicy(""); got != want {
		t.Errorf("policy = %q, want %q", got, want)
	}
}

// A frontend that panics is answered by the recoverer's JSON 500, under
// the JSON policy rather than the page policy the frontend's route set.
func TestPanickingFrontendAnswersUnderTheJSONPolicy(t *testing.T) {
	s := New(Options{Frontend: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/users", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != jsonPolicy {
		t.Errorf("policy = %q, want %q", got, jsonPolicy)
	}
}
