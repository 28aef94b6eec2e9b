package auth

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinSecretLen is the shortest secret a key may have, in bytes.
const MinSecretLen = 32

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

// derive returns the key of k for one purpose, so that a MAC made for one
// kind of token can never pass for another kind.
func (k Key) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("gatehouse/" + purpose))
	return m.Sum(nil)
}

// Keyring holds the server's secret keys: the first signs (access tokens,
// refresh and device tokens), every one verifies, so a key can be rotated
// in while its predecessor still verifies what it signed.
type Keyring struct {
	keys []Key
}

// NewKeyring returns a keyring whose first key signs. Keys need a unique,
// non-empty ID and a secret of at least MinSecretLen bytes.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, " \t.\"\\"):
			return nil, fmt.Errorf("key id %q: must be non-empty, without spaces, dots, quotes or backslashes", k.ID)
		case seen[k.ID]:
			return nil, fmt.Errorf("key id %q appears twice", k.ID)
		case len(k.Secret) < MinSecretLen:
			return nil, fmt.Errorf("key %q: the secret is %d bytes; at least %d are required", k.ID, len(k.Secret), MinSecretLen)
		}
		seen[k.ID] = true
	}
	return &Keyring{keys: append([]Key(nil), keys...)}, nil
}

// ParseKeyring reads a keys file: one key per line, "KID SECRET" (any run
// of spaces or tabs between them), the first line signing; blank lines and
// lines starting with '#' are ignored.
func ParseKeyring(text string) (*Keyring, error) {
	var keys []Key
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"KID SECRET\"", n)
		}
		keys = append(keys, Key{ID: f[0], Secret: []byte(f[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return NewKeyring(keys...)
}

// Signing returns the key that signs.
func (r *Keyring) Signing() Key { return r.keys[0] }

// Lookup returns the key with the given ID.
func (r *Keyring) Lookup(id string) (Key, bool) {
	for _, k := range r.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// IDs lists the key IDs, the signing one first.
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	return ids
}

// decodeMAC decodes the unpadded base64url MAC at the end of a token, and
// only its one canonical spelling: encoding/base64 skips line breaks even
// in Strict mode, which would give a token many spellings.
func decodeMAC(s string) ([]byte, bool) {
	mac, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodedLen(len(mac)) != len(s) {
		return nil, false
	}
	return mac, true
}
