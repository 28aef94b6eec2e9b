package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// newRandom returns n random bytes encoded as unpadded base64url.
func newRandom(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewRefreshToken returns a new opaque refresh token of 256 random bits and
// the hash under which it is stored.
func NewRefreshToken() (token string, hash []byte) {
	token = newRandom(32)
	return token, HashRefreshToken(token)
}

// HashRefreshToken returns the stored form of a refresh token. A fast hash
// is enough: the token has 256 bits of entropy, so there is nothing to
// guess.
func HashRefreshToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewSessionID returns a new unguessable session ID (128 random bits).
func NewSessionID() string { return newRandom(16) }
