package integration

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"gatehouse/shared"
)

func TestSlidingToken(t *testing.T) {
	t.Parallel()
	const slideAfter = 2 * time.Minute
	e := newEnv(t, "GATEHOUSE_SLIDE_AFTER=2m", "GATEHOUSE_ACCESS_TTL=30m")
	rec := &recorder{}
	c := e.clientVia(func(rt http.RoundTripper) http.RoundTripper { rec.base = rt; return rec })
	if _, err := c.Login(bg, adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	tok0 := c.Tokens.Token()
	info0 := claimsOf(t, tok0)

	t.Run("no refreshtoken header before the slide threshold", func(t *testing.T) {
		e.clock.Advance(slideAfter - time.Second)
		resp, body := e.do("GET", shared.PathAuthCheck, tok0, nil, nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d; body %s", resp.StatusCode, body)
		}
		if h := resp.Header.Get(shared.HeaderRefreshToken); h != "" {
			t.Fatalf("refreshtoken header %q on a token %v old", h, slideAfter-time.Second)
		}
		if err := c.Check(bg); err != nil {
			t.Fatal(err)
		}
		if c.Tokens.Token() != tok0 {
			t.Fatal("the client's token changed without a refreshtoken header")
		}
	})

	var fresh string
	t.Run("a fresh token once the threshold is reached", func(t *testing.T) {
		e.clock.Advance(time.Second)
		resp, body := e.do("GET", shared.PathMe, tok0, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d; body %s", resp.StatusCode, body)
		}
		fresh = resp.Header.Get(shared.HeaderRefreshToken)
		if fresh == "" {
			t.Fatal("no refreshtoken header on a token as old as the threshold")
		}
		ti := claimsOf(t, fresh)
		now := e.clock.Now()
		if ti.sid != info0.sid || ti.sub != info0.sub {
			t.Errorf("fresh token for sid %s sub %s, want %s %s", ti.sid, ti.sub, info0.sid, info0.sub)
		}
		if !ti.iat.Equal(now) || !ti.exp.Equal(now.Add(30*time.Minute)) {
			t.Errorf("fresh token iat %v exp %v, want %v and 30m later", ti.iat, ti.exp, now)
		}
		if r, b := e.do("GET", shared.PathAuthCheck, fresh, nil, nil); r.StatusCode != http.StatusNoContent || r.Header.Get(shared.HeaderRefreshToken) != "" {
			t.Errorf("the fresh token: %d %s, header %q; want 204 without another slide", r.StatusCode, b, r.Header.Get(shared.HeaderRefreshToken))
		}
	})

	t.Run("the client stores the fresh token it receives", func(t *testing.T) {
		if err := c.Check(bg); err != nil {
			t.Fatal(err)
		}
		got := c.Tokens.Token()
		if got == tok0 {
			t.Fatal("the client kept the old token")
		}
		if got != rec.last(shared.PathAuthCheck) {
			t.Fatal("the client's token is not the one the refreshtoken header carried")
		}
		if !claimsOf(t, got).exp.After(info0.exp) {
			t.Fatal("the stored token does not expire later than the old one")
		}
	})

	// DESIGN: every authenticated response slides — a refusal by role
	// (403) too, as a 404 or 422 of the same request would: the token is
	// good and its holder is at work. A bad token (401) slides nothing.
	t.Run("a refusal of a good token carries a fresh one; a bad token none", func(t *testing.T) {
		e.clock.Advance(slideAfter)
		_, viewer := e.newUser(shared.RoleViewer)
		e.clock.Advance(slideAfter)
		resp, body := e.do("GET", shared.PathAudit, viewer.Tokens.Token(), nil, nil)
		wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInsufficientScope)
		if h := resp.Header.Get(shared.HeaderRefreshToken); h == "" || claimsOf(t, h).sid != claimsOf(t, viewer.Tokens.Token()).sid {
			t.Fatalf("a 403 to an old good token carries refreshtoken %q, want a fresh token of its session", h)
		}
		resp, _ = e.do("GET", shared.PathAudit, viewer.Tokens.Token()+"x", nil, nil)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get(shared.HeaderRefreshToken) != "" {
			t.Fatalf("a bad token: %d, refreshtoken %q", resp.StatusCode, resp.Header.Get(shared.HeaderRefreshToken))
		}
	})
}

func TestSlidingNeverPassesTheSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_SESSION_MAX=45m", "GATEHOUSE_ACCESS_TTL=30m", "GATEHOUSE_SLIDE_AFTER=60s")
	c := e.login(adminName, adminPass)
	sessions, err := c.MySessions(bg, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sessionEnd time.Time
	for _, s := range sessions.Items {
		if s.Current {
			sessionEnd = s.ExpiresAt
		}
	}
	if !sessionEnd.Equal(e.clock.Now().Add(45 * time.Minute)) {
		t.Fatalf("session expires at %v, want 45m after sign-in (%v)", sessionEnd, e.clock.Now())
	}

	// At +25 m and at +40 m a full access TTL would pass the session's end.
	for _, step := range []time.Duration{25 * time.Minute, 15 * time.Minute} {
		e.clock.Advance(step)
		left := sessionEnd.Sub(e.clock.Now())
		t.Run("a token slid "+left.String()+" before the session's end expires with the session", func(t *testing.T) {
			resp, body := e.do("GET", shared.PathAuthCheck, c.Tokens.Token(), nil, nil)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d; body %s", resp.StatusCode, body)
			}
			h := resp.Header.Get(shared.HeaderRefreshToken)
			if h == "" {
				t.Fatal("no refreshtoken header")
			}
			ti := claimsOf(t, h)
			if !ti.exp.Equal(sessionEnd) {
				t.Fatalf("slid token expires at %v, want the session's end %v", ti.exp, sessionEnd)
			}
			if !ti.iat.Equal(e.clock.Now()) {
				t.Fatalf("slid token issued at %v, want now (%v)", ti.iat, e.clock.Now())
			}
			if err := c.Check(bg); err != nil {
				t.Fatal(err)
			}
			if got := claimsOf(t, c.Tokens.Token()).exp; !got.Equal(sessionEnd) {
				t.Fatalf("the client holds a token expiring at %v, want %v", got, sessionEnd)
			}
		})
	}

	t.Run("at the session's end the token is refused and cannot be refreshed", func(t *testing.T) {
		e.clock.Advance(sessionEnd.Sub(e.clock.Now()))
		resp, body := e.do("GET", shared.PathAuthCheck, c.Tokens.Token(), nil, nil)
		wantTokenError(t, resp, body, true)
		wantReason(t, body, shared.EndedSessionExpired)
		err := c.Check(bg)
		wantLoggedOut(t, c, err)
		wantEndReason(t, err, shared.EndedSessionExpired)
	})
}

// holdTransport holds the answers to requests for chosen paths until the
// test releases them; the server has answered by then.
type holdTransport struct {
	base    http.RoundTripper
	mu      sync.Mutex
	holds   map[string]*hold
	headers map[string]string // path → refreshtoken header of its answer
}

type hold struct {
	answered chan struct{}
	release  chan struct{}
}

func (h *holdTransport) holdPath(path string) *hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holds == nil {
		h.holds = make(map[string]*hold)
	}
	hd := &hold{answered: make(chan struct{}), release: make(chan struct{})}
	h.holds[path] = hd
	return hd
}

func (h *holdTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(req)
	h.mu.Lock()
	hd := h.holds[req.URL.Path]
	delete(h.holds, req.URL.Path)
	if err == nil {
		if h.headers == nil {
			h.headers = make(map[string]string)
		}
		h.headers[req.URL.Path] = resp.Header.Get(shared.HeaderRefreshToken)
	}
	h.mu.Unlock()
	if hd != nil {
		close(hd.answered)
		<-hd.release
	}
	return resp, err
}

func (h *holdTransport) header(path string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers[path]
}

func TestClientKeepsTheNewerOfTwoSlidTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		newerFirst bool
	}{
		{"when the newer token's answer arrives first, the late older one is ignored", true},
		{"when the answers arrive in order, the newer one replaces the older", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ht := &holdTransport{}
			c := e.clientVia(func(rt http.RoundTripper) http.RoundTripper { ht.base = rt; return ht })
			if _, err := c.Login(bg, adminName, adminPass); err != nil {
				t.Fatal(err)
			}
			tok0 := c.Tokens.Token()

			// Request A (GET /api/users/me) slides at +61 s; its answer is
			// held. Request B (GET /api/auth/check), sent with the same
			// sign-in token, slides at +92 s — after the half interval in
			// which A's token would be handed out again — so its token is
			// a new one, and the newer.
			e.clock.Advance(61 * time.Second)
			holdA, holdB := ht.holdPath(shared.PathMe), ht.holdPath(shared.PathAuthCheck)
			doneA, doneB := make(chan error, 1), make(chan error, 1)
			go func() { _, err := c.Me(bg); doneA <- err }()
			<-holdA.answered
			e.clock.Advance(31 * time.Second)
			go func() { doneB <- c.Check(bg) }()
			<-holdB.answered

			first, second := holdA, holdB
			firstDone, secondDone := doneA, doneB
			if tt.newerFirst {
				first, second, firstDone, secondDone = holdB, holdA, doneB, doneA
			}
			close(first.release)
			if err := <-firstDone; err != nil {
				t.Fatal(err)
			}
			close(second.release)
			if err := <-secondDone; err != nil {
				t.Fatal(err)
			}

			older, newer := ht.header(shared.PathMe), ht.header(shared.PathAuthCheck)
			if older == "" || newer == "" || older == newer {
				t.Fatalf("want two different slid tokens, got %q and %q", older, newer)
			}
			if !claimsOf(t, newer).exp.After(claimsOf(t, older).exp) {
				t.Fatal("B's token does not expire after A's: the setup is wrong")
			}
			switch got := c.Tokens.Token(); got {
			case newer:
			case older:
				t.Fatal("the client ended with the older token")
			case tok0:
				t.Fatal("the client ended with the sign-in token")
			default:
				t.Fatal("the client ended with an unknown token")
			}
		})
	}
}

// Sliding is cheap when repeated: parallel requests with one old token, or
// a client that never swaps, get the same fresh token for half the slide
// interval, and the session's last-seen time is written off the request
// path, once per session per flush.
func TestRepeatedSlidesShareOneToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.admin()
	old := c.Tokens.Token()
	sid := sidOf(t, c)
	e.clock.Advance(61 * time.Second)
	var tokens []string
	for range 5 {
		resp, _ := e.do("GET", shared.PathAuthCheck, old, nil, nil)
		tokens = append(tokens, resp.Header.Get(shared.HeaderRefreshToken))
	}
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("five slides within the half interval answered %q", tokens)
		}
	}
	e.clock.Advance(31 * time.Second)
	resp, _ := e.do("GET", shared.PathAuthCheck, old, nil, nil)
	if again := resp.Header.Get(shared.HeaderRefreshToken); again == "" || again == tokens[0] {
		t.Fatalf("after the half interval a new token is due; got %q", again)
	}
	if exp := claimsOf(t, tokens[0]).exp; !exp.After(claimsOf(t, old).exp) {
		t.Fatal("the shared token does not outlive the presented one")
	}

	before, err := e.sys.Store.SessionByID(bg, sid)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sys.Auth.FlushSeen(bg); err != nil {
		t.Fatal(err)
	}
	after, err := e.sys.Store.SessionByID(bg, sid)
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastSeenAt.Equal(e.clock.Now()) || !after.LastSeenAt.After(before.LastSeenAt) {
		t.Fatalf("last seen %v (before the flush %v), want %v", after.LastSeenAt, before.LastSeenAt, e.clock.Now())
	}
}
