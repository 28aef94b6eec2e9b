package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"gatehouse/server/config"
)

// env returns a getenv reading from vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func parse(t *testing.T, args []string, vars map[string]string) *config.Config {
	t.Helper()
	c, err := config.Parse("gatehouse", args, env(vars), io.Discard)
	if err != nil {
		t.Fatalf("Parse(%q, %v): %v", args, vars, err)
	}
	return c
}

func TestParseDefaults(t *testing.T) {
	c := parse(t, nil, nil)
	// The defaults documented in the setting table of config.go.
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the listen address is :8000", c.Addr, ":8000"},
		{"the data directory is ./data", c.DataDir, "./data"},
		{"the database URL is empty (SQLite)", c.DatabaseURL, ""},
		{"no JWT secret is set", c.JWTSecret, ""},
		{"no JWT secret file is set", c.JWTSecretFile, ""},
		{"the issuer is gatehouse", c.Issuer, "gatehouse"},
		{"the audience is gatehouse-api", c.Audience, "gatehouse-api"},
		{"access tokens live 30 minutes", c.AccessTTL, 30 * time.Minute},
		{"tokens slide after 60 seconds", c.SlideAfter, 60 * time.Second},
		{"sessions last at most 12 hours", c.SessionMax, 12 * time.Hour},
		{"refresh tokens live a week", c.RefreshTTL, 168 * time.Hour},
		{"a rotated refresh token works 10 more seconds", c.RefreshGrace, 10 * time.Second},
		{"cached auth state is at most 5 seconds stale", c.AuthCacheTTL, 5 * time.Second},
		{"no CORS origin is allowed", c.CORSOrigins, []string(nil)},
		{"the cookie Secure attribute is auto", c.CookieSecure, "auto"},
		{"the bcrypt cost is 12", c.BcryptCost, 12},
		{"5 failed sign-ins cost nothing", c.LoginFree, 5},
		{"lockouts last at most 15 minutes", c.LockoutMax, 15 * time.Minute},
		{"hashes run on half the CPUs, at least one", c.HashConcurrency, max(runtime.NumCPU()/2, 1)},
		{"a password check waits at most 5 seconds for its turn", c.HashWait, 5 * time.Second},
		{"no keys file is set", c.JWTKeysFile, ""},
		{"no TLS certificate is set", c.TLSCert, ""},
		{"no TLS key is set", c.TLSKey, ""},
		{"no proxy is trusted", c.TrustedProxies, ""},
		{"no public URL is set", c.PublicURL, ""},
		{"ended sessions and stale throttle keys are kept 30 days", c.Retention, 30 * 24 * time.Hour},
		{"audit events are kept 400 days", c.AuditRetention, 400 * 24 * time.Hour},
		{"PostgreSQL calls wait at most 5 seconds", c.DatabaseTimeout, 5 * time.Second},
		{"the first admin is called admin", c.AdminUsername, "admin"},
		{"the admin password is empty (random)", c.AdminPassword, ""},
		{"the web directory is ./web", c.WebDir, "./web"},
		{"the API URL is empty (same origin)", c.APIURL, ""},
		{"the log level is info", c.LogLevel, slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestParseSources(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		got  func(*config.Config) any
		want any
	}{
		{
			name: "an environment variable overrides the default",
			vars: map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9000"},
			got:  func(c *config.Config) any { return c.Addr },
			want: "127.0.0.1:9000",
		},
		{
			name: "a flag overrides the environment",
			args: []string{"-addr", ":7000"},
			vars: map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9000"},
			got:  func(c *config.Config) any { return c.Addr },
			want: ":7000",
		},
		{
			name: "a flag overrides the default",
			args: []string{"-issuer=me"},
			got:  func(c *config.Config) any { return c.Issuer },
			want: "me",
		},
		{
			name: "a duration is parsed from the environment",
			vars: map[string]string{"GATEHOUSE_ACCESS_TTL": "1h30m"},
			got:  func(c *config.Config) any { return c.AccessTTL },
			want: 90 * time.Minute,
		},
		{
			name: "a duration flag overrides a duration variable",
			args: []string{"-refresh-grace", "3s"},
			vars: map[string]string{"GATEHOUSE_REFRESH_GRACE": "20s"},
			got:  func(c *config.Config) any { return c.RefreshGrace },
			want: 3 * time.Second,
		},
		{
			name: "a retention is read in days",
			vars: map[string]string{"GATEHOUSE_AUDIT_RETENTION": "7d"},
			got:  func(c *config.Config) any { return c.AuditRetention },
			want: 7 * 24 * time.Hour,
		},
		{
			name: "a retention may be a Go duration",
			args: []string{"-retention", "72h"},
			got:  func(c *config.Config) any { return c.Retention },
			want: 72 * time.Hour,
		},
		{
			name: "an int is parsed from the environment",
			vars: map[string]string{"GATEHOUSE_BCRYPT_COST": "4"},
			got:  func(c *config.Config) any { return c.BcryptCost },
			want: 4,
		},
		{
			name: "an int flag overrides an int variable",
			args: []string{"-login-free", "9"},
			vars: map[string]string{"GATEHOUSE_LOGIN_FREE": "2"},
			got:  func(c *config.Config) any { return c.LoginFree },
			want: 9,
		},
		{
			name: "the JWT secret comes from the environment",
			vars: map[string]string{"GATEHOUSE_JWT_SECRET": "s3cret"},
			got:  func(c *config.Config) any { return c.JWTSecret },
			want: "s3cret",
		},
		{
			name: "the admin password comes from the environment",
			vars: map[string]string{"GATEHOUSE_ADMIN_PASSWORD": "pa55word"},
			got:  func(c *config.Config) any { return c.AdminPassword },
			want: "pa55word",
		},
		{
			name: "the log level is parsed case-insensitively",
			vars: map[string]string{"GATEHOUSE_LOG_LEVEL": "DEBUG"},
			got:  func(c *config.Config) any { return c.LogLevel },
			want: slog.LevelDebug,
		},
		{
			name: "a log level flag overrides the variable",
			args: []string{"-log-level", "error"},
			vars: map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"},
			got:  func(c *config.Config) any { return c.LogLevel },
			want: slog.LevelError,
		},
		{
			name: "CORS origins are split on commas, trimmed and lose a trailing slash",
			vars: map[string]string{"GATEHOUSE_CORS_ORIGINS": " https://a.example/ ,http://b.example:8080,, https://c.example"},
			got:  func(c *config.Config) any { return c.CORSOrigins },
			want: []string{"https://a.example", "http://b.example:8080", "https://c.example"},
		},
		{
			name: "a CORS origins flag replaces the variable",
			args: []string{"-cors-origins", "https://flag.example/"},
			vars: map[string]string{"GATEHOUSE_CORS_ORIGINS": "https://env.example"},
			got:  func(c *config.Config) any { return c.CORSOrigins },
			want: []string{"https://flag.example"},
		},
		{
			name: "a zero slide-after is accepted",
			vars: map[string]string{"GATEHOUSE_SLIDE_AFTER": "0s"},
			got:  func(c *config.Config) any { return c.SlideAfter },
			want: time.Duration(0),
		},
		{
			name: "the bcrypt cost may be 4",
			args: []string{"-bcrypt-cost", "4"},
			got:  func(c *config.Config) any { return c.BcryptCost },
			want: 4,
		},
		{
			name: "the bcrypt cost may be 31",
			args: []string{"-bcrypt-cost", "31"},
			got:  func(c *config.Config) any { return c.BcryptCost },
			want: 31,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, tt.args, tt.vars)
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want []string // each must appear in the error
	}{
		{
			name: "a duration variable that is not a duration is refused",
			vars: map[string]string{"GATEHOUSE_ACCESS_TTL": "soon"},
			want: []string{"GATEHOUSE_ACCESS_TTL", `"soon"`},
		},
		{
			name: "a duration flag that is not a duration is refused",
			args: []string{"-session-max", "soon"},
			want: []string{"session-max", `"soon"`},
		},
		{
			name: "an int variable that is not a number is refused",
			vars: map[string]string{"GATEHOUSE_BCRYPT_COST": "ten"},
			want: []string{"GATEHOUSE_BCRYPT_COST", `"ten"`},
		},
		{
			name: "a bcrypt cost of 3 is refused",
			vars: map[string]string{"GATEHOUSE_BCRYPT_COST": "3"},
			want: []string{"bcrypt cost 3", "[4, 31]"},
		},
		{
			name: "a bcrypt cost of 32 is refused",
			args: []string{"-bcrypt-cost", "32"},
			want: []string{"bcrypt cost 32", "[4, 31]"},
		},
		{
			name: "a login-free of 0 is refused",
			vars: map[string]string{"GATEHOUSE_LOGIN_FREE": "0"},
			want: []string{"login-free must be at least 1"},
		},
		{
			name: "a hash concurrency of 0 is refused",
			vars: map[string]string{"GATEHOUSE_HASH_CONCURRENCY": "0"},
			want: []string{"hash-concurrency must be at least 1"},
		},
		{
			name: "a zero hash wait is refused",
			args: []string{"-hash-wait", "0s"},
			want: []string{"hash wait must be positive"},
		},
		{
			name: "a retention in days that is not a number is refused",
			vars: map[string]string{"GATEHOUSE_AUDIT_RETENTION": "manyd"},
			want: []string{`"manyd" is not a number of days`},
		},
		{
			name: "a zero retention is refused",
			args: []string{"-retention", "0d"},
			want: []string{"retention must be positive"},
		},
		{
			name: "a TLS certificate without a key is refused",
			vars: map[string]string{"GATEHOUSE_TLS_CERT": "cert.pem"},
			want: []string{"tls-cert and tls-key go together"},
		},
		{
			name: "a bad trusted proxy is refused",
			vars: map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"},
			want: []string{`trusted proxy "proxy.example"`},
		},
		{
			name: "a public URL with a path is refused",
			vars: map[string]string{"GATEHOUSE_PUBLIC_URL": "https://admin.example.com/gatehouse"},
			want: []string{"must be an origin"},
		},
		{
			name: "a public URL without a scheme is refused",
			vars: map[string]string{"GATEHOUSE_PUBLIC_URL": "admin.example.com"},
			want: []string{"must be an origin"},
		},
		{
			name: "a cookie-secure other than auto, true or false is refused",
			vars: map[string]string{"GATEHOUSE_COOKIE_SECURE": "maybe"},
			want: []string{`cookie-secure "maybe"`, "auto, true or false"},
		},
		{
			name: "a negative slide-after is refused",
			args: []string{"-slide-after", "-1s"},
			want: []string{"slide-after", "must not be negative"},
		},
		{
			name: "a negative refresh grace is refused",
			vars: map[string]string{"GATEHOUSE_REFRESH_GRACE": "-1s"},
			want: []string{"refresh-grace", "must not be negative"},
		},
		{
			name: "a negative auth cache TTL is refused",
			vars: map[string]string{"GATEHOUSE_AUTH_CACHE_TTL": "-1s"},
			want: []string{"auth-cache-ttl", "must not be negative"},
		},
		{
			name: "a zero access TTL is refused",
			vars: map[string]string{"GATEHOUSE_ACCESS_TTL": "0s"},
			want: []string{"access TTL must be positive"},
		},
		{
			name: "a zero session max is refused",
			vars: map[string]string{"GATEHOUSE_SESSION_MAX": "0s"},
			want: []string{"session max must be positive"},
		},
		{
			name: "a negative refresh TTL is refused",
			vars: map[string]string{"GATEHOUSE_REFRESH_TTL": "-1h"},
			want: []string{"refresh TTL must be positive"},
		},
		{
			name: "a zero lockout-max is refused",
			args: []string{"-lockout-max", "0s"},
			want: []string{"lockout max must be positive"},
		},
		{
			name: "the CORS origin * is refused",
			vars: map[string]string{"GATEHOUSE_CORS_ORIGINS": "*"},
			want: []string{`CORS origin "*" is refused`},
		},
		{
			name: "a CORS origin without a scheme is refused",
			vars: map[string]string{"GATEHOUSE_CORS_ORIGINS": "https://ok.example, example.com"},
			want: []string{`CORS origin "example.com" must start with http:// or https://`},
		},
		{
			name: "an API URL without a scheme is refused",
			vars: map[string]string{"GATEHOUSE_API_URL": "api.example.com"},
			want: []string{`API URL "api.example.com" must start with http:// or https://`},
		},
		{
			name: "a bad log level is refused",
			vars: map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"},
			want: []string{`log level "loud"`},
		},
		{
			name: "several problems are all reported",
			vars: map[string]string{"GATEHOUSE_BCRYPT_COST": "3", "GATEHOUSE_LOGIN_FREE": "0"},
			want: []string{"bcrypt cost 3", "login-free"},
		},
		{
			name: "an unexpected positional argument is refused",
			args: []string{"-addr", ":1", "extra"},
			want: []string{"unexpected arguments", `"extra"`},
		},
		{
			name: "an unknown flag is refused",
			args: []string{"-no-such-flag"},
			want: []string{"no-such-flag"},
		},
		{
			name: "the secret has no flag, so it cannot leak into the process list",
			args: []string{"-jwt-secret", "x"},
			want: []string{"jwt-secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("gatehouse", tt.args, env(tt.vars), io.Discard)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg+" returns flag.ErrHelp and prints every flag with its variable", func(t *testing.T) {
			var out bytes.Buffer
			_, err := config.Parse("gatehouse serve", []string{arg}, env(nil), &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			for _, w := range []string{"Usage of gatehouse serve", "-addr", "$GATEHOUSE_ADDR", `default ":8000"`, "-bcrypt-cost", "$GATEHOUSE_BCRYPT_COST"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("usage does not mention %q:\n%s", w, out.String())
				}
			}
		})
	}
}
