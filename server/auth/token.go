package auth

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/shared"
)

// TokenType is the JOSE "typ" header of access tokens (RFC 9068).
const TokenType = "at+jwt"

// MaxLeeway bounds the clock skew tolerated when checking exp, nbf and iat.
const MaxLeeway = 30 * time.Second

// Claims are the claims of an access token. AMR and AuthTime are the
// session's (RFC 9470): how and when the user last authenticated.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string           `json:"sid"`
	AMR       []string         `json:"amr,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
}

// Subject is who an access token is for: a user's session, with how and
// when the user last authenticated.
type Subject struct {
	UserID    int64
	SessionID string
	AMR       []string
	AuthTime  time.Time
}

// UserID returns the subject as a user ID.
func (c *Claims) UserID() (int64, error) {
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: bad subject", ErrInvalidToken)
	}
	return id, nil
}

// Tokens issues and verifies access tokens: HS256 only, with pinned issuer
// and audience, required exp, iat, sub and sid, the at+jwt type, a kid
// naming one of the keyring's keys, and no critical header extension.
type Tokens struct {
	issuer   string
	audience string
	keys     atomic.Pointer[Keyring]
	parser   *jwt.Parser
	verdicts *Verdicts
	now      func() time.Time
	leeway   time.Duration
}

// TokensConfig configures NewTokens.
type TokensConfig struct {
	Issuer   string
	Audience string
	// Keys sign (the first) and verify (all).
	Keys *Keyring
	// Leeway is the clock skew allowed; at most MaxLeeway.
	Leeway time.Duration
	// Verdicts remembers verified tokens; nil: verify every time.
	Verdicts *Verdicts
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// NewTokens checks the configuration and returns a Tokens.
func NewTokens(c TokensConfig) (*Tokens, error) {
	if c.Keys == nil {
		return nil, errors.New("no signing keys")
	}
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("issuer and audience are required")
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		return nil, fmt.Errorf("leeway %v out of range [0, %v]", c.Leeway, MaxLeeway)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	t := &Tokens{issuer: c.Issuer, audience: c.Audience, verdicts: c.Verdicts, now: now, leeway: c.Leeway}
	t.keys.Store(c.Keys)
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(c.Issuer),
		jwt.WithAudience(c.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(c.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
	return t, nil
}

// Verdicts returns the verdict cache (nil when there is none).
func (t *Tokens) Verdicts() *Verdicts { return t.verdicts }

// Keys returns the keyring in use.
func (t *Tokens) Keys() *Keyring { return t.keys.Load() }

// SetKeys replaces the keyring and forgets every verdict, so that a token
// signed by a key no longer in the ring is refused from now on.
func (t *Tokens) SetKeys(k *Keyring) {
	t.keys.Store(k)
	if t.verdicts != nil {
		t.verdicts.Clear()
	}
}

// Issue signs an access token for the subject, issued at iat and valid
// until exp.
func (t *Tokens) Issue(sub Subject, iat, exp time.Time) (string, error) {
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{t.audience},
			Subject:   strconv.FormatInt(sub.UserID, 10),
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		SessionID: sub.SessionID,
		AMR:       sub.AMR,
	}
	if !sub.AuthTime.IsZero() {
		c.AuthTime = jwt.NewNumericDate(sub.AuthTime)
	}
	key := t.Keys().Signing()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["typ"] = TokenType
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.Secret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// Verify checks an access token and returns its claims. Every failure wraps
// ErrInvalidToken. A token verified before is answered from the verdict
// cache until it expires.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	now := t.now()
	if t.verdicts != nil {
		if c, ok := t.verdicts.Get(raw, now.Add(-t.leeway)); ok {
			return c, nil
		}
	}
	ring := t.Keys()
	c, err := t.parse(raw, ring)
	if err != nil {
		return nil, err
	}
	// Remember the verdict unless the keys changed meanwhile: SetKeys
	// clears the verdicts after replacing the ring, so a verdict reached
	// with a key since removed must not be put back.
	if t.verdicts != nil && t.Keys() == ring {
		t.verdicts.Put(raw, c, c.ExpiresAt.Time, now.Add(-t.leeway))
	}
	return c, nil
}

func (t *Tokens) parse(raw string, ring *Keyring) (*Claims, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	if !compact(raw) {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	var c Claims
	_, err := t.parser.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) { return signingKey(tok, ring) })
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrInvalidToken, err)
		if errors.Is(err, jwt.ErrTokenExpired) { // and signed by us: the signature is checked first
			err = ended(shared.EndedTokenExpired, err)
		}
		return nil, err
	}
	if c.IssuedAt == nil {
		return nil, fmt.Errorf("%w: missing iat", ErrInvalidToken)
	}
	if c.SessionID == "" {
		return nil, fmt.Errorf("%w: missing sid", ErrInvalidToken)
	}
	if _, err := c.UserID(); err != nil {
		return nil, err
	}
	return &c, nil
}

// compact reports whether raw holds only the characters of a compact JWS
// (RFC 7515 §7.1): base64url and dots. encoding/base64 skips line breaks,
// so without this one signed token would verify in many spellings, each a
// miss in the verdict cache.
func compact(raw string) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// signingKey returns the secret that must have signed tok.
func signingKey(tok *jwt.Token, ring *Keyring) (any, error) {
	if typ, _ := tok.Header["typ"].(string); typ != TokenType {
		return nil, errors.New("wrong typ")
	}
	// RFC 7515 §4.1.11: a recipient that does not understand every
	// extension listed in "crit" must refuse the token; we understand none.
	if _, ok := tok.Header["crit"]; ok {
		return nil, errors.New("critical header extension not understood")
	}
	kid, _ := tok.Header["kid"].(string)
	k, ok := ring.Lookup(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return k.Secret, nil
}
