package store

import (
	"fmt"
	"strings"
)

// A session's AMR is stored as one text, its values in order separated by
// single spaces, as OAuth scopes are. Every value RFC 8176 registers is a
// short token of printable ASCII ("pwd", "otp", "mfa"), so nothing is
// lost; a value that would not read back exactly as written is refused.

// JoinAMR returns amr as a store keeps it: "" for none (nil or empty). A
// value that is empty or holds anything but printable ASCII other than
// the space fails.
func JoinAMR(amr []string) (string, error) {
	for _, v := range amr {
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return "", fmt.Errorf("AMR value %q is not a token of printable ASCII", v)
		}
	}
	return strings.Join(amr, " "), nil
}

// SplitAMR returns the AMR a store keeps as s: nil for "".
func SplitAMR(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}
