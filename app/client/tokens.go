package client

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"
)

// TokenStore keeps the access token between calls. The browser frontend
// keeps it in localStorage so that other tabs see changes; host programs
// and tests use a MemoryTokenStore.
//
// The Client serialises its own read-compare-write sequences on a store, but
// a store shared with other code must still be safe for concurrent use.
type TokenStore interface {
	// Token returns the held access token, or "" when none is held.
	Token() string
	// SetToken replaces the held token.
	SetToken(tok string)
	// Clear forgets the held token.
	Clear()
}

// MemoryTokenStore is a TokenStore kept in memory. It is safe for concurrent
// use, and its zero value is an empty store ready to use.
type MemoryTokenStore struct {
	mu  sync.Mutex
	tok string
}

// Token returns the held token, or "".
func (s *MemoryTokenStore) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

// SetToken replaces the held token.
func (s *MemoryTokenStore) SetToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = tok
}

// Clear forgets the held token.
func (s *MemoryTokenStore) Clear() { s.SetToken("") }

// claims are the parts of an access token the client looks at. The client
// cannot verify a token (it does not hold the key) and does not need to: it
// only compares tokens the server sent it, to keep the newest.
type claims struct {
	exp time.Time
	sid string // session id; "" when the token has none
}

// parseClaims decodes the payload of a JWT without verifying it. It fails
// when the token is not three dot-separated parts, the payload is not
// base64url JSON, or there is no positive exp claim.
func parseClaims(tok string) (claims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return claims{}, false
	}
	// JWTs use unpadded base64url (RFC 7515 §2); tolerate padding anyway.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, false
	}
	var p struct {
		Exp json.Number `json:"exp"` // NumericDate: may carry a fraction
		Sid string      `json:"sid"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return claims{}, false
	}
	exp, err := p.Exp.Float64()
	if err != nil || exp <= 0 || math.IsInf(exp, 0) || exp > math.MaxInt64/1e9 {
		return claims{}, false
	}
	sec, frac := math.Modf(exp)
	return claims{exp: time.Unix(int64(sec), int64(frac*1e9)), sid: p.Sid}, true
}

// TokenExpiry returns the exp claim of an access token, read without
// verifying the token; ok is false when tok is not a JWT with an exp claim.
// The frontend uses it to show when the held token runs out.
func TokenExpiry(tok string) (exp time.Time, ok bool) {
	c, ok := parseClaims(tok)
	return c.exp, ok
}

// offerToken considers tok, received in the refreshtoken header of a
// response to a request that was sent with the token sent (or "" when it
// carried none), and stores it when it is newer than the held token.
//
// The rules, applied atomically with respect to other goroutines using c:
//   - a tok that does not parse, or has no exp, is ignored;
//   - when no token is held, tok is taken, unless the request carried a
//     token: then the store was cleared while the request was in flight
//     (a logout), and taking tok would bring the ended session back;
//   - when both tokens name a session (sid) and the sessions differ, tok is
//     ignored: it belongs to a session this client has left;
//   - otherwise tok replaces the held token only if its exp is strictly
//     later, so an older response arriving late never replaces a newer
//     token. A held token that does not parse is always replaced.
func (c *Client) offerToken(sent, tok string) {
	next, ok := parseClaims(tok)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.Tokens.Token()
	switch {
	case cur == tok:
		return
	case cur == "":
		if sent != "" {
			return
		}
	default:
		if held, ok := parseClaims(cur); ok {
			if held.sid != "" && next.sid != "" && held.sid != next.sid {
				return
			}
			if !next.exp.After(held.exp) {
				return
			}
		}
	}
	c.Tokens.SetToken(tok)
}

// TokenSession returns the session (sid claim) of an access token, read
// without verifying it; "" when tok has none.
func TokenSession(tok string) string {
	c, _ := parseClaims(tok)
	return c.sid
}
