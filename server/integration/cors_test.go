package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

const allowedOrigin = "http://allowed.example"

// corsHeaders returns the Access-Control-* headers of an answer.
func corsHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			out[k] = vs
		}
	}
	return out
}

// listHas reports whether a comma-separated header list names v
// (case-insensitively).
func listHas(h http.Header, key, v string) bool {
	for _, line := range h.Values(key) {
		for item := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(item), v) {
				return true
			}
		}
	}
	return false
}

func preflight(origin, method string) http.Header {
	return http.Header{
		"Origin":                         {origin},
		"Access-Control-Request-Method":  {method},
		"Access-Control-Request-Headers": {"authorization,content-type"},
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_CORS_ORIGINS="+allowedOrigin, "GATEHOUSE_SLIDE_AFTER=60s")
	admin := e.admin()
	tok := admin.Tokens.Token()

	t.Run("a preflight from the allowed origin is allowed with credentials", func(t *testing.T) {
		for _, tt := range []struct{ method, path string }{
			{"GET", shared.PathMe},
			{"PATCH", shared.PathMe},
			{"POST", shared.PathToken},
			{"DELETE", shared.PathSessions + "/x"},
		} {
			resp, body := e.do("OPTIONS", tt.path, "", preflight(allowedOrigin, tt.method), nil)
			if resp.StatusCode/100 != 2 {
				t.Fatalf("%s %s preflight: status %d %s", tt.method, tt.path, resp.StatusCode, body)
			}
			h := resp.Header
			if got := h.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
				t.Fatalf("%s %s: Allow-Origin %q, want %q", tt.method, tt.path, got, allowedOrigin)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Fatalf("%s %s: Allow-Credentials %q, want true", tt.method, tt.path, got)
			}
			if !listHas(h, "Access-Control-Allow-Methods", tt.method) {
				t.Fatalf("%s %s: Allow-Methods %q", tt.method, tt.path, h.Values("Access-Control-Allow-Methods"))
			}
			if !listHas(h, "Access-Control-Allow-Headers", "authorization") || !listHas(h, "Access-Control-Allow-Headers", "content-type") {
				t.Fatalf("%s %s: Allow-Headers %q", tt.method, tt.path, h.Values("Access-Control-Allow-Headers"))
			}
		}
	})

	t.Run("the real answer to the allowed origin exposes refreshtoken", func(t *testing.T) {
		e.clock.Advance(time.Minute) // so that the answer carries a fresh token
		resp, body := e.do("GET", shared.PathAuthCheck, tok, http.Header{"Origin": {allowedOrigin}}, nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != allowedOrigin || h.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("CORS headers %v", corsHeaders(h))
		}
		if !listHas(h, "Access-Control-Expose-Headers", shared.HeaderRefreshToken) {
			t.Fatalf("Expose-Headers %q does not name %s", h.Values("Access-Control-Expose-Headers"), shared.HeaderRefreshToken)
		}
		if h.Get(shared.HeaderRefreshToken) == "" {
			t.Fatal("no refreshtoken header to expose")
		}
		if !listHas(h, "Vary", "Origin") {
			t.Fatalf("Vary %q, want Origin", h.Values("Vary"))
		}
	})

	t.Run("error answers to the allowed origin are readable too", func(t *testing.T) {
		resp, body := e.do("GET", shared.PathMe, "", http.Header{"Origin": {allowedOrigin}}, nil)
		wantTokenError(t, resp, body, false)
		if resp.Header.Get("Access-Control-Allow-Origin") != allowedOrigin {
			t.Fatalf("CORS headers %v on a 401", corsHeaders(resp.Header))
		}
	})

	for _, origin := range []string{"http://evil.example", "http://allowed.example.evil.example", "https://allowed.example"} {
		t.Run("another origin "+origin+" gets no Access-Control headers at all", func(t *testing.T) {
			resp, body := e.do("OPTIONS", shared.PathMe, "", preflight(origin, "GET"), nil)
			if h := corsHeaders(resp.Header); len(h) != 0 {
				t.Fatalf("preflight: %v; body %s", h, body)
			}
			resp, body = e.do("GET", shared.PathMe, tok, http.Header{"Origin": {origin}}, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, body)
			}
			if h := corsHeaders(resp.Header); len(h) != 0 {
				t.Fatalf("real answer: %v", h)
			}
		})
	}
}

func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, _ := e.do("OPTIONS", shared.PathMe, "", preflight(allowedOrigin, "GET"), nil)
	if h := corsHeaders(resp.Header); len(h) != 0 {
		t.Fatalf("preflight without configured origins: %v", h)
	}
	tok := e.admin().Tokens.Token()
	resp, _ = e.do("GET", shared.PathMe, tok, http.Header{"Origin": {allowedOrigin}}, nil)
	if h := corsHeaders(resp.Header); len(h) != 0 {
		t.Fatalf("real answer without configured origins: %v", h)
	}
}
