package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP as RFC 6238 and authenticator apps have it: 30-second steps, six
// digits, HMAC-SHA1, and one step of skew either way.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// Enrolment is what a user needs to add the factor to an authenticator
// app: the secret (base32), the otpauth:// URI and that URI as a PNG QR
// code in a data URI.
type Enrolment struct {
	Secret string
	URI    string
	QR     string
}

// newTOTP makes a new 160-bit secret for account at issuer.
func newTOTP(issuer, account string) (*Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: 20,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("new TOTP secret: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("TOTP QR code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("TOTP QR code: %w", err)
	}
	return &Enrolment{Secret: key.Secret(), URI: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())}, nil
}

// step returns the TOTP time step of t.
func step(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchTOTP returns the step whose code is code, among the steps within
// the skew of now and after lastStep (a code is accepted once), or false.
func matchTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != int(totpDigits) {
		return 0, false
	}
	for d := -totpSkew; d <= totpSkew; d++ {
		s := step(now) + int64(d)
		if s <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// Recovery codes: ten per user, each 80 random bits written as four
// groups of four Crockford-style base32 characters (xxxx-xxxx-xxxx-xxxx),
// stored only as SHA-256 hashes: a slow hash would add nothing to that much
// entropy and cost a bcrypt per code per try.
const recoveryCodes = 10

var recoveryEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newRecoveryCodes returns fresh codes and their hashes.
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range recoveryCodes {
		raw := recoveryEncoding.EncodeToString(randomBytes(10)) // 16 characters
		code := raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		codes = append(codes, strings.ToLower(code))
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes
}

// hashRecoveryCode returns the stored form of a code as typed: case,
// dashes and spaces do not matter; the look-alikes I, L and O read as 1,
// 1 and 0.
func hashRecoveryCode(code string) []byte {
	code = strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return -1
		case 'i', 'I', 'l', 'L':
			return '1'
		case 'o', 'O':
			return '0'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}
