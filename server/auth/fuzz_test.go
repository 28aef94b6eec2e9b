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
	for _, s := range []string{valid, "", ".", "..", "a.b.c", valid + "x", strings.ToUpper(valid), valid[:len(valid)/2],
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiYiJdfQ.e30.x"} {
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
	for _, s := range []string{minted, "", "a.1.b.c", "s.-1.k.m", "s.01.k.m", "s.9223372036854775807.k.m", strings.Repeat(".", 300)} {
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
	for _, s := range []string{minted, "", "d.1.k.m", "d.99999999999999999999.k.m", strings.Repeat("a.", 100)} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, tok, user string) {
		if _, ok := checkDevice(r, tok, user, now); ok && (tok != minted || user != "alice") {
			t.Fatalf("accepted device token %q for %q", tok, user)
		}
	})
}
