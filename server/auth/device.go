package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// A device token is OWASP's "device cookie": a browser that completed a
// sign-in to an account gets one, and its failed attempts on that account
// count against the device alone, so a guesser elsewhere cannot lock the
// owner out. It is
//
//	DEVICE.EXPIRES.KID.MAC
//
// with DEVICE a random ID, EXPIRES Unix seconds, and MAC HMAC-SHA256 under
// the key KID (derived for device tokens) of the account's username, the
// device and the expiry. Nothing of it is stored: the lockouts of a device
// are the only state, under the throttle key "device:USERNAME:DEVICE", which
// names the account so that an administrator can lift them.
type deviceToken struct {
	device  string
	expires time.Time
}

const devicePurpose = "device-token"

// maxDeviceLen bounds what is parsed: a real token is under 100 bytes.
const maxDeviceLen = 200

func mintDevice(ring *Keyring, username, device string, expires time.Time) string {
	k := ring.Signing()
	exp := strconv.FormatInt(expires.Unix(), 10)
	mac := deviceMAC(k, username, device, exp)
	return device + "." + exp + "." + k.ID + "." + base64.RawURLEncoding.EncodeToString(mac)
}

func deviceMAC(k Key, username, device, exp string) []byte {
	m := hmac.New(sha256.New, k.derive(devicePurpose))
	m.Write([]byte(username + "\x00" + device + "\x00" + exp))
	return m.Sum(nil)
}

// checkDevice returns the device of tok when tok is a device token the
// server issued for username and it has not expired at now.
func checkDevice(ring *Keyring, tok, username string, now time.Time) (*deviceToken, bool) {
	if tok == "" || len(tok) > maxDeviceLen {
		return nil, false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] == "" {
		return nil, false
	}
	k, ok := ring.Lookup(parts[2])
	if !ok {
		return nil, false
	}
	mac, ok := decodeMAC(parts[3])
	if !ok || !hmac.Equal(mac, deviceMAC(k, username, parts[0], parts[1])) {
		return nil, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return nil, false
	}
	return &deviceToken{device: parts[0], expires: time.Unix(exp, 0)}, true
}
