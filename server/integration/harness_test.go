package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"gatehouse/app/client"
	"gatehouse/server/boot"
	"gatehouse/server/clocktest"
	"gatehouse/server/config"
	"gatehouse/shared"
)

const (
	testSecret   = "integration-test-secret-of-at-least-32-bytes"
	adminName    = "root"
	adminPass    = "root-password-1"
	userPassword = "user-password-1"
)

// env is one running server with its own empty database.
type env struct {
	t     testing.TB
	sys   *boot.System
	srv   *httptest.Server
	clock *clocktest.Clock
	users atomic.Int64
	// adminSecret is the first admin's TOTP secret once enrolAdmin ran.
	adminSecret string
	// spec validates every answer against the OpenAPI description
	// (openapi_test.go); hc is the plain HTTP client whose answers it
	// sees, for raw requests.
	spec *specCheck
	hc   *http.Client
	// log is what the server has logged so far (logText reads it).
	log *lockedWriter
}

// newEnv starts a server. settings are GATEHOUSE_* variables overriding the
// test defaults.
func newEnv(t testing.TB, settings ...string) *env {
	t.Helper()
	return newEnvAt(t, clocktest.Start(time.Second), settings...)
}

// newEnvAt starts a server reading clk: instances sharing a database share
// their clock too.
func newEnvAt(t testing.TB, clk *clocktest.Clock, settings ...string) *env {
	t.Helper()
	vars := map[string]string{
		"GATEHOUSE_DATA_DIR":       t.TempDir(),
		"GATEHOUSE_JWT_SECRET":     testSecret,
		"GATEHOUSE_BCRYPT_COST":    "4",
		"GATEHOUSE_ADMIN_USERNAME": adminName,
		"GATEHOUSE_ADMIN_PASSWORD": adminPass,
		"GATEHOUSE_LOGIN_FREE":     "50",
	}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	cfg, err := config.Parse("test", nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	lw := &lockedWriter{w: &logs}
	log := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sys, err := boot.Open(context.Background(), cfg, log, boot.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boot.EnsureAdmin(context.Background(), sys, io.Discard); err != nil {
		t.Fatal(err)
	}
	spec := newSpecCheck(t)
	srv := httptest.NewServer(sys.API)
	t.Cleanup(func() {
		srv.Close()
		sys.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &env{t: t, sys: sys, srv: srv, clock: clk, spec: spec, hc: &http.Client{Transport: spec.transport(http.DefaultTransport)}, log: lw}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logText returns everything the server has logged so far (at debug level
// and up).
func (e *env) logText() string {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	return e.log.w.(*bytes.Buffer).String()
}

// client returns a new client with its own cookie jar, as a new browser.
func (e *env) client() *client.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := client.New(e.srv.URL, &client.MemoryTokenStore{})
	c.HTTP = &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: e.spec.transport(http.DefaultTransport)}
	return c
}

// login signs in and returns the signed-in client.
func (e *env) login(username, password string) *client.Client {
	e.t.Helper()
	c := e.client()
	if _, err := c.Login(context.Background(), username, password); err != nil {
		e.t.Fatalf("login %s: %v", username, err)
	}
	return c
}

// admin signs the first admin in; once it has a second factor
// (enrolAdmin), with a code of the next step each time.
func (e *env) admin() *client.Client {
	e.t.Helper()
	c := e.client()
	if secret := e.adminSecret; secret != "" {
		c.SecondFactor = func(ctx context.Context) (client.Code, error) {
			e.clock.Advance(30 * time.Second) // a code is accepted once
			code, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			return client.Code{OTP: code}, err
		}
	}
	if _, err := c.Login(context.Background(), adminName, adminPass); err != nil {
		e.t.Fatalf("login %s: %v", adminName, err)
	}
	return c
}

// newUser creates a user with the role (through the admin API) and returns
// them with a signed-in client.
func (e *env) newUser(role shared.Role) (*shared.User, *client.Client) {
	e.t.Helper()
	name := fmt.Sprintf("%s%d", role, e.users.Add(1))
	u, err := e.admin().CreateUser(context.Background(), shared.UserCreate{Username: name, Password: userPassword, FullName: "Test " + name, Email: name + "@example.com", Role: role, MustChangePassword: ptr(false)})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return u, e.login(name, userPassword)
}

// do sends a raw request and returns the response with its body read.
func (e *env) do(method, path, token string, header http.Header, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}
