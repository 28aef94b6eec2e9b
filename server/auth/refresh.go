package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// newRandom returns n random bytes encoded as unpadded base64url.
func newRandom(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return b
}

// NewSessionID returns a new unguessable session ID (128 random bits).
func NewSessionID() string { return newRandom(16) }

// newRefreshSalt returns a session's refresh salt (128 random bits).
func newRefreshSalt() []byte { return randomBytes(16) }

// A refresh token names its session and generation and proves, with an
// HMAC under a server key, that the server issued it:
//
//	SESSION.GENERATION.KID.MAC
//
// MAC is HMAC-SHA256 under the key KID (derived for refresh tokens) of the
// session ID, the generation and the session's salt. The server can thus
// check a token of any generation the session ever had with a row of
// constant size; a token nobody issued never names a session it could
// harm; and a database dump, which holds salts but no key, mints nothing.
type refreshToken struct {
	session string
	gen     int64
	kid     string
	mac     []byte
}

const refreshPurpose = "refresh-token"

// maxRefreshLen bounds what is parsed: a real token is under 120 bytes.
const maxRefreshLen = 256

// mintRefresh returns the refresh token of generation gen of the session
// with the given salt, under the keyring's signing key.
func mintRefresh(ring *Keyring, session string, gen int64, salt []byte) string {
	k := ring.Signing()
	mac := refreshMAC(k, session, gen, salt)
	return session + "." + strconv.FormatInt(gen, 10) + "." + k.ID + "." + base64.RawURLEncoding.EncodeToString(mac)
}

func refreshMAC(k Key, session string, gen int64, salt []byte) []byte {
	m := hmac.New(sha256.New, k.derive(refreshPurpose))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(session)))
	m.Write(n[:])
	m.Write([]byte(session))
	binary.BigEndian.PutUint64(n[:], uint64(gen))
	m.Write(n[:])
	m.Write(salt)
	return m.Sum(nil)
}

// parseRefresh splits a refresh token without checking its MAC.
func parseRefresh(tok string) (*refreshToken, error) {
	if len(tok) > maxRefreshLen {
		return nil, fmt.Errorf("%w: malformed", ErrBadRefresh)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] == "" || parts[2] == "" {
		return nil, fmt.Errorf("%w: malformed", ErrBadRefresh)
	}
	gen, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || gen < 0 || parts[1] != strconv.FormatInt(gen, 10) {
		return nil, fmt.Errorf("%w: malformed", ErrBadRefresh)
	}
	mac, ok := decodeMAC(parts[3])
	if !ok || len(mac) != sha256.Size {
		return nil, fmt.Errorf("%w: malformed", ErrBadRefresh)
	}
	return &refreshToken{session: parts[0], gen: gen, kid: parts[2], mac: mac}, nil
}

// valid reports whether the token's MAC is right for the session's salt
// under a key of the ring.
func (t *refreshToken) valid(ring *Keyring, salt []byte) bool {
	k, ok := ring.Lookup(t.kid)
	if !ok {
		return false
	}
	return hmac.Equal(t.mac, refreshMAC(k, t.session, t.gen, salt))
}

// TemporaryPassword returns a random password (90 bits) for an operator
// to hand over; its owner must change it at the next sign-in.
func TemporaryPassword() string { return newRandom(15) }
