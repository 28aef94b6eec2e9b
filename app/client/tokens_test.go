package client_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

func TestMemoryTokenStore(t *testing.T) {
	var s client.MemoryTokenStore // zero value usable
	if got := s.Token(); got != "" {
		t.Fatalf("zero store holds %q", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s.SetToken("x")
			_ = s.Token()
			s.Clear()
		})
	}
	wg.Wait()
	s.SetToken("abc")
	if got := s.Token(); got != "abc" {
		t.Fatalf("Token() = %q, want abc", got)
	}
	s.Clear()
	if got := s.Token(); got != "" {
		t.Fatalf("after Clear, Token() = %q", got)
	}
}

func TestTokenExpiry(t *testing.T) {
	exp := time.Unix(1_900_000_000, 0)
	tests := []struct {
		name   string
		tok    string
		want   time.Time
		wantOK bool
	}{
		{"integer exp", tokenAt(t, exp, "s"), exp, true},
		{"fractional exp", makeJWT(t, map[string]any{"exp": 1_900_000_000.5}), exp.Add(500 * time.Millisecond), true},
		{"padded payload", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE5MDAwMDAwMDB9.c2ln", exp, true},
		{"no exp", makeJWT(t, map[string]any{"sub": "1"}), time.Time{}, false},
		{"zero exp", makeJWT(t, map[string]any{"exp": 0}), time.Time{}, false},
		{"negative exp", makeJWT(t, map[string]any{"exp": -5}), time.Time{}, false},
		{"string exp", makeJWT(t, map[string]any{"exp": "soon"}), time.Time{}, false},
		{"huge exp", makeJWT(t, map[string]any{"exp": 1e300}), time.Time{}, false},
		{"two parts", "a.b", time.Time{}, false},
		{"four parts", "a.b.c.d", time.Time{}, false},
		{"not base64", "a.!!!.c", time.Time{}, false},
		{"not json", "a.bm90IGpzb24.c", time.Time{}, false},
		{"empty", "", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := client.TokenExpiry(tt.tok)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("TokenExpiry(%q) = %v, %v; want %v, %v", tt.tok, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRefreshTokenHeader(t *testing.T) {
	t0 := time.Unix(1_900_000_000, 0)
	held := tokenAt(t, t0, "s1")
	newer := tokenAt(t, t0.Add(time.Minute), "s1")
	tests := []struct {
		name   string
		held   string
		header string
		want   string
	}{
		{"newer replaces", held, newer, newer},
		{"older ignored", held, tokenAt(t, t0.Add(-time.Minute), "s1"), held},
		{"same exp ignored", held, makeJWT(t, map[string]any{"exp": t0.Unix(), "sid": "s1", "jti": "other"}), held},
		{"unparsable ignored", held, "not-a-token", held},
		{"no exp ignored", held, makeJWT(t, map[string]any{"sid": "s1"}), held},
		{"other session ignored", held, tokenAt(t, t0.Add(time.Hour), "s2"), held},
		{"newer without sid replaces", held, tokenAt(t, t0.Add(time.Minute), ""), tokenAt(t, t0.Add(time.Minute), "")},
		{"none held: taken", "", newer, newer},
		{"none held: unparsable ignored", "", "garbage", ""},
		{"held unparsable: replaced", "opaque", newer, newer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(shared.HeaderRefreshToken, tt.header)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			c := client.New(srv.URL, nil)
			c.Tokens.SetToken(tt.held)
			if err := c.Check(t.Context()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := c.Tokens.Token(); got != tt.want {
				t.Errorf("held token = %q, want %q", got, tt.want)
			}
		})
	}
}

// gatedServer answers GET /api/auth/check only when released, and every
// route with the refreshtoken header given for it.
type gatedServer struct {
	srv      *httptest.Server
	arrived  chan struct{} // gets a value when the gated request arrives
	release  chan struct{} // close to let it answer
	tokenFor map[string]string
}

func newGatedServer(t *testing.T, tokenFor map[string]string) *gatedServer {
	g := &gatedServer{arrived: make(chan struct{}, 1), release: make(chan struct{}), tokenFor: tokenFor}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == shared.PathAuthCheck {
			g.arrived <- struct{}{}
			<-g.release
		}
		if tok := g.tokenFor[r.URL.Path]; tok != "" {
			w.Header().Set(shared.HeaderRefreshToken, tok)
		}
		switch r.URL.Path {
		case shared.PathMe:
			writeJSON(w, http.StatusOK, shared.User{ID: 1})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func TestLateResponseKeepsNewerToken(t *testing.T) {
	t0 := time.Unix(1_900_000_000, 0)
	first := tokenAt(t, t0, "s1")
	older := tokenAt(t, t0.Add(time.Minute), "s1")   // slid by the slow request
	newer := tokenAt(t, t0.Add(2*time.Minute), "s1") // slid by the fast one
	g := newGatedServer(t, map[string]string{shared.PathAuthCheck: older, shared.PathMe: newer})
	c := client.New(g.srv.URL, nil)
	c.Tokens.SetToken(first)

	slow := make(chan error, 1)
	go func() { slow <- c.Check(t.Context()) }()
	recv(t, g.arrived)
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatalf("Me: %v", err)
	}
	if got := c.Tokens.Token(); got != newer {
		t.Fatalf("after the fast response the held token is %q, want the newer one", got)
	}
	close(g.release)
	if err := recv(t, slow); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := c.Tokens.Token(); got != newer {
		t.Errorf("the late, older response replaced the newer token: held %q", got)
	}
}

func TestLateResponseAfterLogoutDoesNotRestoreToken(t *testing.T) {
	t0 := time.Unix(1_900_000_000, 0)
	g := newGatedServer(t, map[string]string{shared.PathAuthCheck: tokenAt(t, t0.Add(time.Minute), "s1")})
	c := client.New(g.srv.URL, nil)
	c.Tokens.SetToken(tokenAt(t, t0, "s1"))

	slow := make(chan error, 1)
	go func() { slow <- c.Check(t.Context()) }()
	recv(t, g.arrived)
	if err := c.Logout(t.Context()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	close(g.release)
	if err := recv(t, slow); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := c.Tokens.Token(); got != "" {
		t.Errorf("a response to a request sent before Logout brought a token back: %q", got)
	}
}

func TestHeaderTokenUnderConcurrency(t *testing.T) {
	// Many responses carrying tokens of increasing exp, arriving in any
	// order: the newest must win.
	t0 := time.Unix(1_900_000_000, 0)
	const n = 50
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("page"))
		if err != nil {
			t.Errorf("page: %v", err)
		}
		w.Header().Set(shared.HeaderRefreshToken, tokenAt(t, t0.Add(time.Duration(i)*time.Second), "s1"))
		writeJSON(w, http.StatusOK, shared.Page[shared.User]{})
	}))
	defer srv.Close()
	c := client.New(srv.URL, nil)
	c.Tokens.SetToken(tokenAt(t, t0, "s1"))
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			// Page carries i to the server, which answers with exp t0+i s.
			if _, err := c.Users(t.Context(), client.UserQuery{Page: i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := c.Tokens.Token(), tokenAt(t, t0.Add(n*time.Second), "s1"); got != want {
		exp, _ := client.TokenExpiry(got)
		t.Errorf("held token expires %v, want %v", exp, t0.Add(n*time.Second))
	}
}
