package auth

import (
	"testing"
	"time"
)

// BenchmarkVerify compares verifying an access token from scratch (HMAC,
// base64, JSON, claim checks) with answering it from the verdict cache.
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	clock := func() time.Time { return now }
	for _, c := range []struct {
		name     string
		verdicts *Verdicts
	}{{"parse-every-time", nil}, {"verdict-cache", NewVerdicts(1024)}} {
		b.Run(c.name, func(b *testing.B) {
			tk, err := NewTokens(TokensConfig{Issuer: "i", Audience: "a", Keys: ring(b, NewKey(secretA)), Leeway: 10 * time.Second, Verdicts: c.verdicts, Now: clock})
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := tk.Issue(Subject{UserID: 1, SessionID: "session"}, now, now.Add(30*time.Minute))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tk.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
