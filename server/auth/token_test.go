package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	secretA = []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	secretB = []byte("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
)

func newTestTokens(t testing.TB, now func() time.Time, sign Key, verify ...Key) *Tokens {
	t.Helper()
	tk, err := NewTokens(TokensConfig{Issuer: "iss", Audience: "aud", Sign: sign, Verify: verify, Leeway: 5 * time.Second, Verdicts: NewVerdicts(16), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTokensRoundTripAndRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	old := newTestTokens(t, clock, NewKey(secretA))
	tok, err := old.Issue(42, "sess", now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c, err := old.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := c.UserID(); id != 42 || c.SessionID != "sess" || !c.ExpiresAt.Time.Equal(now.Add(time.Minute)) {
		t.Fatalf("claims %+v", c)
	}

	rotated := newTestTokens(t, clock, NewKey(secretB), NewKey(secretA))
	if _, err := rotated.Verify(tok); err != nil {
		t.Fatalf("a key being rotated out must still verify: %v", err)
	}
	dropped := newTestTokens(t, clock, NewKey(secretB))
	if _, err := dropped.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a dropped key must not verify: %v", err)
	}
}

func TestTokensHonourExpiryWithLeeway(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := newTestTokens(t, func() time.Time { return now }, NewKey(secretA))
	tok, _ := tk.Issue(1, "s", now, now.Add(time.Minute))
	for _, tt := range []struct {
		after time.Duration
		ok    bool
	}{{0, true}, {time.Minute, true}, {time.Minute + 4*time.Second, true}, {time.Minute + 6*time.Second, false}} {
		now = time.Unix(1_800_000_000, 0).Add(tt.after)
		_, err := tk.Verify(tok) // the second and later calls come from the verdict cache
		if (err == nil) != tt.ok {
			t.Errorf("after %v: err = %v, want ok=%v", tt.after, err, tt.ok)
		}
	}
}

func TestNewTokensRefusesWeakConfiguration(t *testing.T) {
	tests := []TokensConfig{
		{Issuer: "i", Audience: "a", Sign: NewKey([]byte("short"))},
		{Issuer: "", Audience: "a", Sign: NewKey(secretA)},
		{Issuer: "i", Audience: "a", Sign: NewKey(secretA), Leeway: time.Minute},
		{Issuer: "i", Audience: "a", Sign: NewKey(secretA), Verify: []Key{NewKey([]byte("short"))}},
	}
	for i, c := range tests {
		if _, err := NewTokens(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}

func TestVerdictsStayBounded(t *testing.T) {
	v := NewVerdicts(3)
	now := time.Unix(100, 0)
	for i := range 10 {
		v.Put(strings.Repeat("t", i+1), &Claims{}, now.Add(time.Minute), now)
		if v.Len() > 3 {
			t.Fatalf("%d entries, max 3", v.Len())
		}
	}
	v.Put("late", &Claims{}, now.Add(time.Second), now)
	if _, ok := v.Get("late", now); !ok {
		t.Fatal("a fresh entry must be found")
	}
	if _, ok := v.Get("late", now.Add(time.Second)); ok {
		t.Fatal("an entry must not outlive its expiry")
	}
	if _, ok := v.Get("never", now); ok {
		t.Fatal("an unknown token must not be found")
	}
}

func TestThrottle(t *testing.T) {
	th := NewThrottle(3, time.Minute, 2)
	now := time.Unix(1000, 0)
	for range 3 {
		if d := th.Wait("u:a", now); d != 0 {
			t.Fatalf("throttled too early: %v", d)
		}
		th.Fail("u:a", now)
	}
	d := th.Wait("u:a", now)
	if d <= 0 || d > time.Minute {
		t.Fatalf("after 3 failures wait %v, want (0, 1m]", d)
	}
	if th.Wait("u:b", now) != 0 {
		t.Fatal("another key must not be throttled")
	}
	if th.Wait("u:a", now.Add(time.Minute)) != 0 {
		t.Fatal("one attempt must be regained after a minute")
	}
	th.Fail("u:b", now)
	th.Fail("u:c", now) // over max keys: full buckets are forgotten first
	if len(th.limiters) > 2 {
		t.Fatalf("%d keys tracked, max 2", len(th.limiters))
	}
}
