// Package seal encrypts small secrets at rest — the users' TOTP secrets —
// with AES-256-GCM under data keys of their own, kept apart from the
// token-signing keys so that rotating one never breaks the other. Each
// ciphertext is stored beside the ID of the key that sealed it; the first
// key of a Keys seals, every key opens, so data keys rotate like signing
// keys do. A database dump without the keys yields no secret.
package seal

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeyLen is the length of a data key: AES-256.
const KeyLen = 32

// Key is a data key named by its ID.
type Key struct {
	ID     string
	Secret []byte
}

// Keys seals with its first key and opens with any of them.
type Keys struct {
	keys  []Key
	aeads map[string]cipher.AEAD
}

// NewKeys checks the keys (unique non-empty IDs without spaces, 32-byte
// secrets) and returns them, the first sealing.
func NewKeys(keys ...Key) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("no data keys")
	}
	k := &Keys{aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, key := range keys {
		switch {
		case key.ID == "" || strings.ContainsAny(key.ID, " \t"):
			return nil, fmt.Errorf("data key id %q: must be non-empty, without spaces", key.ID)
		case k.aeads[key.ID] != nil:
			return nil, fmt.Errorf("data key id %q appears twice", key.ID)
		case len(key.Secret) != KeyLen:
			return nil, fmt.Errorf("data key %q: %d bytes, want %d", key.ID, len(key.Secret), KeyLen)
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, fmt.Errorf("data key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("data key %q: %w", key.ID, err)
		}
		k.aeads[key.ID] = aead
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// Parse reads a data keys file: one key per line, "KID BASE64" where
// BASE64 is 32 bytes in standard or URL-safe base64, the first line
// sealing; blank lines and lines starting with '#' are ignored.
func Parse(text string) (*Keys, error) {
	var keys []Key
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"KID BASE64\"", n)
		}
		secret, err := decode(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: the key is not base64: %w", n, err)
		}
		keys = append(keys, Key{ID: f[0], Secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return NewKeys(keys...)
}

func decode(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("invalid base64")
}

// Generate returns the text of a keys file holding one new random key
// named id.
func Generate(id string) string {
	b := make([]byte, KeyLen)
	_, _ = rand.Read(b)
	return id + " " + base64.StdEncoding.EncodeToString(b) + "\n"
}

// IDs lists the key IDs, the sealing one first.
func (k *Keys) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	return ids
}

// Seal encrypts plain, bound to aad (the same aad must be given to Open:
// the owner's ID, so that a ciphertext moved to another row does not
// open), and returns the ciphertext (nonce first) and the sealing key's ID.
func (k *Keys) Seal(plain, aad []byte) (sealed []byte, keyID string) {
	key := k.keys[0]
	aead := k.aeads[key.ID]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, aad), key.ID
}

// ErrUnknownKey: the key that sealed a ciphertext is not among the keys.
var ErrUnknownKey = errors.New("unknown data key")

// Open decrypts what Seal returned.
func (k *Keys) Open(sealed []byte, keyID string, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed data too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed data with key %q: %w", keyID, err)
	}
	return plain, nil
}
