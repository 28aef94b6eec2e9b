package auth

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary strings to access-token verification: it must
// never panic, and only the tokens this server signed may pass.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	tk := newTestTokens(f, func() time.Time { return now }, NewKey(secretA))
	valid, err := tk.Issue(Subject{UserID: 7, SessionID: "session"}, now, now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range append([]string{valid, "", ".", "..", "a.b.c", valid + "x", strings.ToUpper(valid), valid[:len(valid)/2],
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiYiJdfQ.e30.x"}, respellings(valid)...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := tk.Verify(raw)
		if err != nil {
			return
		}
		if raw != valid {
			// Another encoding of the same signed token would be a
			// malleability bug; any other token is a forgery.
			t.Fatalf("verified a token the server did not issue: %q → %+v", raw, c)
		}
	})
}

// FuzzRefreshToken: parsing never panics, and no token but the minted one
// verifies for the session's salt.
func FuzzRefreshToken(f *testing.F) {
	r, err := NewKeyring(NewKey(secretA))
	if err != nil {
		f.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	minted := mintRefresh(r, "session", 3, salt)
	for _, s := range append([]string{minted, "", "a.1.b.c", "s.-1.k.m", "s.01.k.m", "s.9223372036854775807.k.m", strings.Repeat(".", 300)}, respellings(minted)...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		rt, err := parseRefresh(tok)
		if err != nil {
			return
		}
		if rt.valid(r, salt) && tok != minted {
			t.Fatalf("verified %q, which was never minted", tok)
		}
	})
}

// FuzzDeviceToken: checking never panics, and only the minted token names a
// device of the account.
func FuzzDeviceToken(f *testing.F) {
	r, err := NewKeyring(NewKey(secretA))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	minted := mintDevice(r, "alice", "dev", now.Add(time.Hour))
	for _, s := range append([]string{minted, "", "d.1.k.m", "d.99999999999999999999.k.m", strings.Repeat("a.", 100)}, respellings(minted)...) {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, tok, user string) {
		if _, ok := checkDevice(r, tok, user, now); ok && (tok != minted || user != "alice") {
			t.Fatalf("accepted device token %q for %q", tok, user)
		}
	})
}

// respellings returns other spellings of tok's trailing base64 MAC that a
// lenient decoder reads as the same bytes: line breaks inside it (which
// encoding/base64 skips even in Strict mode) and padding. Each must be
// refused, or one token has many spellings — a CI fuzz run found the first.
func respellings(tok string) []string {
	i := strings.LastIndexByte(tok, '.') + 1
	head, mac := tok[:i], tok[i:]
	return []string{
		head + mac[:4] + "\n" + mac[4:],
		head + mac[:4] + "\r\n" + mac[4:],
		head + mac + "\n",
		head + "\r" + mac,
		head + mac + "=",
	}
}

// TestOneSpellingPerToken: the tokens that carry a MAC in base64 verify
// only as they were minted.
func TestOneSpellingPerToken(t *testing.T) {
	r, err := NewKeyring(NewKey(secretA))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	salt := []byte("0123456789abcdef")
	cases := []struct {
		name  string
		token string
		ok    func(string) bool
	}{
		{"device", mintDevice(r, "alice", "dev", now.Add(time.Hour)), func(s string) bool {
			_, ok := checkDevice(r, s, "alice", now)
			return ok
		}},
		{"refresh", mintRefresh(r, "session", 3, salt), func(s string) bool {
			rt, err := parseRefresh(s)
			return err == nil && rt.valid(r, salt)
		}},
		{"challenge", mintChallenge(r, "challenge-id", "password-hash"), func(s string) bool {
			c, ok := parseChallenge(r, s)
			return ok && c.valid("password-hash")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok(c.token) {
				t.Fatalf("the minted token %q does not verify", c.token)
			}
			for _, s := range respellings(c.token) {
				if c.ok(s) {
					t.Errorf("verified %q, a respelling of %q", s, c.token)
				}
			}
		})
	}
}

// TestAChallengeIsBoundToItsPassword: a challenge token verifies only
// against the password hash it was minted under, so that changing the
// password voids a half-done sign-in made with the old one.
func TestAChallengeIsBoundToItsPassword(t *testing.T) {
	r, err := NewKeyring(NewKey(secretA))
	if err != nil {
		t.Fatal(err)
	}
	tok := mintChallenge(r, "challenge-id", "old-hash")
	c, ok := parseChallenge(r, tok)
	if !ok || c.id != "challenge-id" || !c.valid("old-hash") {
		t.Fatalf("the minted challenge %q does not verify", tok)
	}
	if c.valid("new-hash") || c.valid("") {
		t.Fatal("a challenge verified against another password hash")
	}
	other := mintChallenge(r, "challenge-id", "new-hash")
	if o, _ := parseChallenge(r, other); o == nil || o.valid("old-hash") {
		t.Fatal("a challenge minted under the new hash verified against the old one")
	}
}
