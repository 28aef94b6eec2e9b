package auth

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/server/store"
	"strings"
	"testing"
	"time"
)

var (
	secretA = []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	secretB = []byte("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
)

func ring(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTestTokens(t testing.TB, now func() time.Time, keys ...Key) *Tokens {
	t.Helper()
	tk, err := NewTokens(TokensConfig{Issuer: "iss", Audience: "aud", Keys: ring(t, keys...), Leeway: 5 * time.Second, Verdicts: NewVerdicts(16), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTokensRoundTripAndRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	old := newTestTokens(t, clock, NewKey(secretA))
	tok, err := old.Issue(Subject{UserID: 42, SessionID: "sess"}, now, now.Add(time.Minute))
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
	tok, _ := tk.Issue(Subject{UserID: 1, SessionID: "s"}, now, now.Add(time.Minute))
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
	good := ring(t, NewKey(secretA))
	tests := []TokensConfig{
		{Issuer: "i", Audience: "a"},
		{Issuer: "", Audience: "a", Keys: good},
		{Issuer: "i", Audience: "a", Keys: good, Leeway: time.Minute},
	}
	for i, c := range tests {
		if _, err := NewTokens(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	for _, keys := range [][]Key{
		nil,
		{NewKey([]byte("short"))},
		{NewKey(secretA), NewKey([]byte("short"))},
		{NewKey(secretA), NewKey(secretA)},
		{{ID: "", Secret: secretA}},
		{{ID: "has.dot", Secret: secretA}},
	} {
		if _, err := NewKeyring(keys...); err == nil {
			t.Errorf("keyring %v accepted", keys)
		}
	}
}

func TestParseKeyring(t *testing.T) {
	r, err := ParseKeyring("# rotation: new first\n\n2026-11  " + string(secretB) + "\n\t2026-05\t" + string(secretA) + "  \n")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.IDs(); len(got) != 2 || got[0] != "2026-11" || got[1] != "2026-05" || r.Signing().ID != "2026-11" {
		t.Fatalf("IDs %v, signing %q", got, r.Signing().ID)
	}
	if k, ok := r.Lookup("2026-05"); !ok || string(k.Secret) != string(secretA) {
		t.Fatalf("Lookup = %v, %v", k, ok)
	}
	for _, bad := range []string{"", "# only a comment", "kid", "kid secret extra", "kid short"} {
		if _, err := ParseKeyring(bad); err == nil {
			t.Errorf("ParseKeyring(%q) accepted it", bad)
		}
	}
}

func TestSetKeysRotatesAndForgetsVerdicts(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := newTestTokens(t, func() time.Time { return now }, NewKey(secretA))
	old, _ := tk.Issue(Subject{UserID: 1, SessionID: "s"}, now, now.Add(time.Hour))
	if _, err := tk.Verify(old); err != nil { // cached from now on
		t.Fatal(err)
	}
	tk.SetKeys(ring(t, NewKey(secretB), NewKey(secretA)))
	if _, err := tk.Verify(old); err != nil {
		t.Fatalf("a key still in the ring must verify: %v", err)
	}
	fresh, _ := tk.Issue(Subject{UserID: 1, SessionID: "s"}, now, now.Add(time.Hour))
	if kid := strings.Split(fresh, ".")[0]; kid == strings.Split(old, ".")[0] {
		t.Fatal("new tokens must be signed by the new first key")
	}
	tk.SetKeys(ring(t, NewKey(secretB)))
	if _, err := tk.Verify(old); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a token of a removed key, verified before: %v, want ErrInvalidToken at once", err)
	}
	if _, err := tk.Verify(fresh); err != nil {
		t.Fatal(err)
	}
}

func TestCriticalHeaderIsRefused(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := newTestTokens(t, func() time.Time { return now }, NewKey(secretA))
	c := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Audience: jwt.ClaimStrings{"aud"}, Subject: "1",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, SessionID: "s"}
	for _, crit := range []any{[]string{"exp"}, []string{"b64"}, []string{}, "x"} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = TokenType
		tok.Header["kid"] = NewKey(secretA).ID
		tok.Header["crit"] = crit
		raw, err := tok.SignedString(secretA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Verify(raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("crit %v: %v, want ErrInvalidToken", crit, err)
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

func TestLockoutDoublesToItsCap(t *testing.T) {
	l := Lockout{Free: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	at := time.Unix(1000, 0)
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {4, 0}, {5, 30 * time.Second}, {6, time.Minute}, {7, 2 * time.Minute}, {9, 8 * time.Minute}, {10, 15 * time.Minute}, {50, 15 * time.Minute}} {
		until := l.Until(&store.Attempts{Failures: tt.failures, LastFailure: at})
		got := time.Duration(0)
		if !until.IsZero() {
			got = until.Sub(at)
		}
		if got != tt.want {
			t.Errorf("%d failures lock for %v, want %v", tt.failures, got, tt.want)
		}
	}
	stale := l.fresh(&store.Attempts{Key: "k", Failures: 9, LastFailure: at}, at.Add(time.Hour))
	if stale.Failures != 0 || stale.Key != "k" {
		t.Errorf("failures an hour old must be forgotten: %+v", stale)
	}
	if kept := l.fresh(&store.Attempts{Failures: 9, LastFailure: at}, at.Add(59*time.Minute)); kept.Failures != 9 {
		t.Errorf("recent failures must be kept: %+v", kept)
	}
}

func TestRefreshTokens(t *testing.T) {
	r := ring(t, NewKey(secretA))
	salt := []byte("0123456789abcdef")
	tok := mintRefresh(r, "sess", 7, salt)
	rt, err := parseRefresh(tok)
	if err != nil || rt.session != "sess" || rt.gen != 7 || !rt.valid(r, salt) {
		t.Fatalf("round trip: %+v, %v", rt, err)
	}
	if rt.valid(r, []byte("another salt....")) {
		t.Error("a token must not verify with another session's salt")
	}
	if rt.valid(ring(t, NewKey(secretB)), salt) {
		t.Error("a token must not verify without its key")
	}
	if !rt.valid(ring(t, NewKey(secretB), NewKey(secretA)), salt) {
		t.Error("a token must verify while its key is still in the ring")
	}
	// A generation or session changed by hand no longer verifies.
	parts := strings.Split(tok, ".")
	for _, forged := range []string{
		strings.Join([]string{parts[0], "8", parts[2], parts[3]}, "."),
		strings.Join([]string{"other", parts[1], parts[2], parts[3]}, "."),
	} {
		if ft, err := parseRefresh(forged); err != nil || ft.valid(r, salt) {
			t.Errorf("forged %q verified (%v)", forged, err)
		}
	}
	for _, bad := range []string{"", "a.b.c", "s.-1.k.mac", "s.07.k." + parts[3], "s.1.k.!!!", "s.1.k.AAAA", ".1.k." + parts[3], strings.Repeat("x", 300), respell(tok)} {
		if _, err := parseRefresh(bad); !errors.Is(err, ErrBadRefresh) {
			t.Errorf("parseRefresh(%q) = %v, want ErrBadRefresh", bad, err)
		}
	}
}

func TestDeviceTokens(t *testing.T) {
	r := ring(t, NewKey(secretA))
	now := time.Unix(1_800_000_000, 0)
	tok := mintDevice(r, "alice", "dev1", now.Add(time.Hour))
	if d, ok := checkDevice(r, tok, "alice", now); !ok || d.device != "dev1" {
		t.Fatalf("checkDevice = %+v, %v", d, ok)
	}
	for name, c := range map[string]struct {
		tok, user string
		at        time.Time
		ring      *Keyring
	}{
		"another account":         {tok, "bob", now, r},
		"expired":                 {tok, "alice", now.Add(time.Hour), r},
		"unknown key":             {tok, "alice", now, ring(t, NewKey(secretB))},
		"expiry changed":          {strings.Replace(tok, ".", "9.", 1), "alice", now, r},
		"empty":                   {"", "alice", now, r},
		"a refresh token":         {mintRefresh(r, "dev1", 0, nil), "alice", now, r},
		"garbage":                 {"a.b.c.d", "alice", now, r},
		"far too long":            {strings.Repeat("a", 300), "alice", now, r},
		"made by hand, no key":    {"dev1." + strings.Split(tok, ".")[1] + "." + r.Signing().ID + ".AAAA", "alice", now, r},
		"the MAC spelt otherwise": {respell(tok), "alice", now, r},
	} {
		if _, ok := checkDevice(c.ring, c.tok, c.user, c.at); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// respell returns tok with the last character of its MAC changed to
// another spelling of the same bytes: 32 bytes take 43 base64 characters,
// whose last carries 2 bits that decode to nothing. A lenient decoder
// accepts all four spellings, so a token changed by hand would still pass
// for the one the server issued.
func respell(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i|1])
}
