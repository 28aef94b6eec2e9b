package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	old, err := Parse(Generate("2026-05"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, kid := old.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user 7"))
	if kid != "2026-05" || bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatalf("sealed %q under %q", sealed, kid)
	}
	plain, err := old.Open(sealed, kid, []byte("user 7"))
	if err != nil || string(plain) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := old.Open(sealed, kid, []byte("user 8")); err == nil {
		t.Error("a ciphertext opened for another owner")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := old.Open(tampered, kid, []byte("user 7")); err == nil {
		t.Error("a tampered ciphertext opened")
	}
	again, _ := old.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user 7"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}

	rotated, err := Parse("# new key first\n" + Generate("2026-11") + strings.Replace(Generate("x"), "x", "2026-05", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Open(sealed, kid, []byte("user 7")); err == nil {
		t.Error("a key of the same name but another secret opened the data")
	}
	text := Generate("2026-11")
	both, err := Parse(text + "2026-05 " + strings.Fields(strings.TrimSpace(mustText(t, old)))[1] + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := both.Open(sealed, kid, []byte("user 7")); err != nil || string(p) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("after rotation the old key must still open: %q, %v", p, err)
	}
	if _, k := both.Seal([]byte("x"), nil); k != "2026-11" {
		t.Fatalf("the first key must seal; got %q", k)
	}
	if _, err := both.Open(sealed, "gone", nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
}

// mustText returns a keys file line of k's first key.
func mustText(t *testing.T, k *Keys) string {
	t.Helper()
	return k.keys[0].ID + " " + encode(k.keys[0].Secret)
}

func TestParseRefusesBadKeys(t *testing.T) {
	for _, bad := range []string{"", "# nothing", "kid", "kid notbase64!!", "kid c2hvcnQ=", Generate("a") + Generate("a")} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
