package boot_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/boot"
	"gatehouse/shared"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to files and
// returns their paths and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve runs boot.Serve until the test ends and returns its address.
func serve(t *testing.T, s *boot.System) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- boot.Serve(ctx, s, func(a string) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return a
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not listen")
	}
	return ""
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := newConfig(t, map[string]string{
		"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_TLS_CERT": certFile, "GATEHOUSE_TLS_KEY": keyFile,
		"GATEHOUSE_ADMIN_PASSWORD": "tls-admin-password",
	})
	s := open(t, cfg)
	if _, err := boot.EnsureAdmin(context.Background(), s, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}

	form := url.Values{"username": {"admin"}, "password": {"tls-admin-password"}}
	resp, err := hc.PostForm("https://"+addr+shared.PathToken, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("HTTPS sign-in: %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	t.Run("cookies are Secure over TLS", func(t *testing.T) {
		for _, c := range resp.Cookies() {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure", c.Name)
			}
		}
		if len(resp.Cookies()) < 2 {
			t.Errorf("cookies %v, want the refresh and device cookies", resp.Cookies())
		}
	})
	t.Run("HSTS is sent over TLS", func(t *testing.T) {
		if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
			t.Errorf("Strict-Transport-Security %q", h)
		}
	})
	t.Run("plain HTTP to the TLS port gets no answer of ours", func(t *testing.T) {
		r, err := http.Get("http://" + addr + shared.PathHealth)
		if err == nil {
			defer r.Body.Close()
			if r.StatusCode == http.StatusOK {
				t.Fatal("plain HTTP was served")
			}
		}
	})
	t.Run("a bad certificate pair fails at start", func(t *testing.T) {
		bad := newConfig(t, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_TLS_CERT": keyFile, "GATEHOUSE_TLS_KEY": keyFile})
		if err := boot.Serve(context.Background(), open(t, bad), nil); err == nil || !strings.Contains(err.Error(), "TLS certificate") {
			t.Fatalf("Serve with a key as certificate: %v", err)
		}
	})
}

// TestKeyRotationSignsNobodyOut follows the README's procedure: add the new
// key first and keep the old one (SIGHUP), later drop the old one.
func TestKeyRotationSignsNobodyOut(t *testing.T) {
	oldKey := "old " + strings.Repeat("o", 40) + "\n"
	newKey := "new " + strings.Repeat("n", 40) + "\n"
	keysFile := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		if err := os.WriteFile(keysFile, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(oldKey)
	cfg := newConfig(t, map[string]string{"GATEHOUSE_JWT_SECRET": "", "GATEHOUSE_JWT_KEYS_FILE": keysFile, "GATEHOUSE_ADMIN_PASSWORD": "rotate-admin-pw"})
	s := open(t, cfg)
	ctx := context.Background()
	if _, err := boot.EnsureAdmin(ctx, s, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	g, err := s.Auth.Login(ctx, "admin", "rotate-admin-pw", auth.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	kid := func(jwt string) string {
		var h struct{ Kid string }
		b, _ := base64URL(strings.Split(jwt, ".")[0])
		json.Unmarshal(b, &h)
		return h.Kid
	}
	if kid(g.AccessToken) != "old" {
		t.Fatalf("signed by %q, want old", kid(g.AccessToken))
	}

	write(newKey + oldKey)
	if err := s.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatalf("an access token of the old key after adding the new: %v", err)
	}
	g2, err := s.Auth.Refresh(ctx, g.RefreshToken, auth.Meta{})
	if err != nil {
		t.Fatalf("a refresh token of the old key after adding the new: %v", err)
	}
	if kid(g2.AccessToken) != "new" || !strings.Contains(g2.RefreshToken, ".new.") {
		t.Fatalf("after the reload tokens are signed by %q (refresh %q), want new", kid(g2.AccessToken), g2.RefreshToken)
	}

	write("# bad file: keeps the keys in use\nnew short\n")
	if err := s.ReloadKeys(); err == nil {
		t.Fatal("a bad keys file was accepted")
	}
	if _, err := s.Auth.Authenticate(ctx, g2.AccessToken); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}

	write(newKey)
	if err := s.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.Authenticate(ctx, g.AccessToken); err == nil {
		t.Fatal("an access token of a removed key still works")
	}
	if _, err := s.Auth.Authenticate(ctx, g2.AccessToken); err != nil {
		t.Fatalf("the new key's token after the old was removed: %v", err)
	}
	if _, err := s.Auth.Refresh(ctx, g2.RefreshToken, auth.Meta{}); err != nil {
		t.Fatalf("the new key's refresh token after the old was removed: %v", err)
	}
}

// The procedure of the README, with the signal itself: a running server
// sent SIGHUP reads the keys file again, and tokens are then signed with
// its first key; after a file that does not parse it still listens.
func TestSIGHUPReloadsTheKeys(t *testing.T) {
	keysFile := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		if err := os.WriteFile(keysFile, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old " + strings.Repeat("o", 40) + "\n")
	cfg := newConfig(t, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_JWT_SECRET": "",
		"GATEHOUSE_JWT_KEYS_FILE": keysFile, "GATEHOUSE_ADMIN_PASSWORD": "hup-admin-pw"})
	s := open(t, cfg)
	ctx := context.Background()
	if _, err := boot.EnsureAdmin(ctx, s, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	signer := func() string {
		t.Helper()
		g, err := s.Auth.Login(ctx, "admin", "hup-admin-pw", auth.Meta{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Kid string }
		b, _ := base64URL(strings.Split(g.AccessToken, ".")[0])
		json.Unmarshal(b, &h)
		return h.Kid
	}
	hup := func(want string) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for signer() != want {
			if time.Now().After(deadline) {
				t.Fatalf("after SIGHUP tokens are signed by %q, want %q", signer(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := signer(); got != "old" {
		t.Fatalf("signed by %q, want old", got)
	}
	write("new " + strings.Repeat("n", 40) + "\nold " + strings.Repeat("o", 40) + "\n")
	hup("new")
	// A file that does not parse is refused (TestKeyRotationSignsNobodyOut
	// checks the keys stay); the server goes on, and the next SIGHUP with a
	// good file is heard.
	write("# a bad file\nnewer short\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	write("newer " + strings.Repeat("w", 40) + "\nnew " + strings.Repeat("n", 40) + "\n")
	hup("newer")
}

func TestDataFilesAreOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := newConfig(t, map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_JWT_SECRET": "", "GATEHOUSE_ADMIN_PASSWORD": "files-admin-pw"})
	s := open(t, cfg)
	if _, err := boot.EnsureAdmin(context.Background(), s, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want mode 0700", st.Mode().Perm(), err)
	}
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "jwt-secret"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, m)
		}
	}
}

func base64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	s := open(t, newConfig(t, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_METRICS_ADDR": metricsAddr}))
	addr := serve(t, s)
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "gatehouse_sign_ins_total") {
		t.Fatalf("GET /metrics on %s: %d\n%.300s", metricsAddr, resp.StatusCode, b)
	}
	if r, err := http.Get("http://" + metricsAddr + shared.PathHealth); err == nil {
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			t.Error("the metrics listener serves the API")
		}
	}
	if r, err := http.Get("http://" + addr + "/metrics"); err == nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if strings.Contains(string(b), "gatehouse_sign_ins_total") {
			t.Error("the public listener serves the metrics")
		}
	}
}
