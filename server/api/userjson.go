package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"gatehouse/shared"
)

// Who-am-I is answered on every page of the PWA, and encoding/json spends
// more on one user — reflection, time.Time's MarshalJSON and the
// compaction of its output — than the rest of the request. appendUser
// writes the same bytes directly; TestAppendUserMatchesEncodingJSON and
// FuzzAppendUser hold it to encoding/json's output.

var userBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeUser answers u as JSON with status, as writeJSON would.
func writeUser(w http.ResponseWriter, status int, u *shared.User) {
	bp := userBuffers.Get().(*[]byte)
	b := appendUser((*bp)[:0], u)
	b = append(b, '\n')
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	_, _ = w.Write(b)
	*bp = b
	userBuffers.Put(bp)
}

// appendUser appends u as encoding/json marshals it.
func appendUser(b []byte, u *shared.User) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"username":`...)
	b = appendString(b, u.Username)
	b = append(b, `,"full_name":`...)
	b = appendString(b, u.FullName)
	b = append(b, `,"email":`...)
	b = appendString(b, u.Email)
	b = append(b, `,"role":`...)
	b = appendString(b, string(u.Role))
	b = append(b, `,"disabled":`...)
	b = strconv.AppendBool(b, u.Disabled)
	b = append(b, `,"mfa":`...)
	b = strconv.AppendBool(b, u.MFA)
	if u.MustChangePassword {
		b = append(b, `,"must_change_password":true`...)
	}
	if u.MustEnrollMFA {
		b = append(b, `,"must_enroll_mfa":true`...)
	}
	if u.MFAOff {
		b = append(b, `,"mfa_off":true`...)
	}
	if u.MFAMandatory {
		b = append(b, `,"mfa_mandatory":true`...)
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, u.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, u.UpdatedAt)
	return append(b, '}')
}

// appendTime appends t as time.Time.MarshalJSON does.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json writes
// it by default: HTML-safe (<, > and & escaped), U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
