package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the JOSE "typ" header of access tokens (RFC 9068).
const TokenType = "at+jwt"

// MaxLeeway bounds the clock skew tolerated when checking exp, nbf and iat.
const MaxLeeway = 30 * time.Second

// Key is an HMAC key named by its ID (the JOSE "kid").
type Key struct {
	ID     string
	Secret []byte
}

// NewKey names secret by a short digest of it, so that the same secret
// always gets the same kid and different secrets practically never share
// one.
func NewKey(secret []byte) Key {
	sum := sha256.Sum256(secret)
	return Key{ID: hex.EncodeToString(sum[:6]), Secret: secret}
}

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
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
// and audience, required exp, iat, sub and sid, the at+jwt type, and a kid
// naming one of the verification keys.
type Tokens struct {
	issuer   string
	audience string
	sign     Key
	keys     map[string][]byte
	parser   *jwt.Parser
	verdicts *Verdicts
	now      func() time.Time
	leeway   time.Duration
}

// TokensConfig configures NewTokens.
type TokensConfig struct {
	Issuer   string
	Audience string
	// Sign signs new tokens; it also verifies.
	Sign Key
	// Verify are further keys that still verify (keys being rotated out).
	Verify []Key
	// Leeway is the clock skew allowed; at most MaxLeeway.
	Leeway time.Duration
	// Verdicts remembers verified tokens; nil: verify every time.
	Verdicts *Verdicts
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// NewTokens checks the configuration and returns a Tokens.
func NewTokens(c TokensConfig) (*Tokens, error) {
	if len(c.Sign.Secret) < 32 {
		return nil, errors.New("signing secret must be at least 32 bytes")
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
	t := &Tokens{
		issuer: c.Issuer, audience: c.Audience, sign: c.Sign,
		keys: map[string][]byte{c.Sign.ID: c.Sign.Secret}, verdicts: c.Verdicts,
		now: now, leeway: c.Leeway,
	}
	for _, k := range c.Verify {
		if len(k.Secret) < 32 {
			return nil, fmt.Errorf("verification key %q: secret must be at least 32 bytes", k.ID)
		}
		t.keys[k.ID] = k.Secret
	}
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

// Issue signs an access token for the user's session, issued at iat and
// valid until exp.
func (t *Tokens) Issue(userID int64, sessionID string, iat, exp time.Time) (string, error) {
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{t.audience},
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		SessionID: sessionID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["typ"] = TokenType
	tok.Header["kid"] = t.sign.ID
	s, err := tok.SignedString(t.sign.Secret)
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
	c, err := t.parse(raw)
	if err != nil {
		return nil, err
	}
	if t.verdicts != nil {
		t.verdicts.Put(raw, c, c.ExpiresAt.Time, now.Add(-t.leeway))
	}
	return c, nil
}

func (t *Tokens) parse(raw string) (*Claims, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	var c Claims
	_, err := t.parser.ParseWithClaims(raw, &c, t.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
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

func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if typ, _ := tok.Header["typ"].(string); typ != TokenType {
		return nil, errors.New("wrong typ")
	}
	kid, _ := tok.Header["kid"].(string)
	k, ok := t.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return k, nil
}
