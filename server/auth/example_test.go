package auth_test

import (
	"fmt"
	"time"

	"gatehouse/server/auth"
)

// Tokens signs access tokens with one key and verifies them with any key
// still in rotation; a verified token is remembered until it expires.
func ExampleTokens() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	keys, err := auth.NewKeyring(auth.NewKey([]byte("an example secret of at least 32 bytes")))
	if err != nil {
		panic(err)
	}
	tokens, err := auth.NewTokens(auth.TokensConfig{
		Issuer:   "https://gatehouse.example",
		Audience: "gatehouse-api",
		Keys:     keys,
		Leeway:   10 * time.Second,
		Verdicts: auth.NewVerdicts(1024),
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	tok, _ := tokens.Issue(auth.Subject{UserID: 7, SessionID: "session-1"}, now, now.Add(30*time.Minute))
	c, err := tokens.Verify(tok)
	fmt.Println(c.Subject, c.SessionID, c.ExpiresAt.Sub(now), err)

	_, err = tokens.Verify(tok[:len(tok)-2] + "xx")
	fmt.Println(err != nil)
	// Output:
	// 7 session-1 30m0s <nil>
	// true
}
