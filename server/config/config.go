// Package config reads Gatehouse's settings from command-line flags and
// GATEHOUSE_* environment variables. A flag given on the command line wins
// over the environment, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gatehouse/server/proxy"
)

// Config is the server's configuration.
type Config struct {
	Addr        string // listen address
	DataDir     string // where the SQLite database and generated secret live
	DatabaseURL string // postgres://… to use PostgreSQL; empty: SQLite in DataDir
	// DatabaseTimeout bounds every PostgreSQL call, so that an unreachable
	// database answers 503 in that time instead of hanging requests.
	DatabaseTimeout time.Duration

	JWTSecret     string // the signing secret itself (from the environment only)
	JWTSecretFile string // or a file holding it
	// JWTKeysFile holds several keys, "KID SECRET" per line, the first
	// signing; it is read again on SIGHUP. It replaces the secret.
	JWTKeysFile string
	Issuer      string
	Audience    string

	AccessTTL    time.Duration
	SlideAfter   time.Duration
	SessionMax   time.Duration
	RefreshTTL   time.Duration
	RefreshGrace time.Duration
	// AuthCacheTTL bounds how stale the cached session and user state
	// behind each request may be on an instance that did not make a change.
	AuthCacheTTL time.Duration

	CORSOrigins []string
	// CookieSecure is "auto" (Secure when the client uses https), "true"
	// or "false".
	CookieSecure string
	BcryptCost   int
	// HashConcurrency bounds the bcrypt hashes running at once; a hash
	// waits at most HashWait for its turn.
	HashConcurrency int
	HashWait        time.Duration

	// LoginFree failed sign-ins per account (and per known device; ten
	// times as many per client address) cost nothing; then lockouts
	// start at 30 s and double up to LockoutMax.
	LoginFree  int
	LockoutMax time.Duration

	// Retention is how long ended sessions and stale throttle keys are
	// kept; AuditRetention how long audit events are.
	Retention      time.Duration
	AuditRetention time.Duration

	// TLSCert and TLSKey, both set, make the server speak HTTPS itself.
	TLSCert string
	TLSKey  string
	// TrustedProxies lists the CIDRs of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies string
	// PublicURL is the origin browsers use (Origin checks, og:url).
	PublicURL string
	// DataKeysFile holds the keys that seal second-factor secrets, "KID
	// BASE64" per line, the first sealing; empty: a data-key file generated
	// in the data directory.
	DataKeysFile string
	// MFA is who must have a second factor: off, optional, admins or all.
	MFA string
	// StepUpMaxAge is how recent a sign-in sensitive actions need.
	StepUpMaxAge time.Duration
	// MetricsAddr is where Prometheus metrics are served (/metrics), on a
	// listener of their own meant to stay internal; empty: off.
	MetricsAddr string

	AdminUsername string
	AdminPassword string // empty: random, printed once

	// WebDir holds the PWA's static files (web/ of the repository, with the
	// built app.wasm).
	WebDir string
	// APIURL is the origin the PWA calls; empty: the origin that served it.
	APIURL string

	LogLevel slog.Level
}

// setting binds one flag to its environment variable.
type setting struct {
	flag, env, usage string
	set              func(string) error
	def              string
}

// Parse reads args (without the program name) and the environment through
// getenv. extra may register further flags of a command on the same flag
// set, so that they mix freely with the settings.
func Parse(name string, args []string, getenv func(string) string, output io.Writer, extra ...func(*flag.FlagSet)) (*Config, error) {
	var c Config
	var origins, level string
	settings := []setting{
		{"addr", "GATEHOUSE_ADDR", "listen address", str(&c.Addr), ":8000"},
		{"data-dir", "GATEHOUSE_DATA_DIR", "data directory (SQLite database, generated secret)", str(&c.DataDir), "./data"},
		{"database-url", "GATEHOUSE_DATABASE_URL", "postgres://… to use PostgreSQL; empty: SQLite in the data directory", str(&c.DatabaseURL), ""},
		{"database-timeout", "GATEHOUSE_DATABASE_TIMEOUT", "longest wait for PostgreSQL before a request answers 503", dur(&c.DatabaseTimeout), "5s"},
		{"", "GATEHOUSE_JWT_SECRET", "", str(&c.JWTSecret), ""},
		{"jwt-secret-file", "GATEHOUSE_JWT_SECRET_FILE", "file holding the token signing secret (≥ 32 bytes)", str(&c.JWTSecretFile), ""},
		{"jwt-keys-file", "GATEHOUSE_JWT_KEYS_FILE", "file of signing keys, \"KID SECRET\" per line, the first signing; reread on SIGHUP", str(&c.JWTKeysFile), ""},
		{"issuer", "GATEHOUSE_ISSUER", "token issuer (iss)", str(&c.Issuer), "gatehouse"},
		{"audience", "GATEHOUSE_AUDIENCE", "token audience (aud)", str(&c.Audience), "gatehouse-api"},
		{"access-ttl", "GATEHOUSE_ACCESS_TTL", "access token lifetime", dur(&c.AccessTTL), "30m"},
		{"slide-after", "GATEHOUSE_SLIDE_AFTER", "token age after which responses carry a fresh one", dur(&c.SlideAfter), "60s"},
		{"session-max", "GATEHOUSE_SESSION_MAX", "absolute session lifetime", dur(&c.SessionMax), "12h"},
		{"refresh-ttl", "GATEHOUSE_REFRESH_TTL", "refresh token lifetime", dur(&c.RefreshTTL), "168h"},
		{"refresh-grace", "GATEHOUSE_REFRESH_GRACE", "how long a just-rotated refresh token still works", dur(&c.RefreshGrace), "10s"},
		{"auth-cache-ttl", "GATEHOUSE_AUTH_CACHE_TTL", "how stale cached session and user state may be", dur(&c.AuthCacheTTL), "5s"},
		{"cors-origins", "GATEHOUSE_CORS_ORIGINS", "comma-separated origins allowed to call the API (none: same origin only)", str(&origins), ""},
		{"cookie-secure", "GATEHOUSE_COOKIE_SECURE", "refresh cookie Secure attribute: auto, true or false", str(&c.CookieSecure), "auto"},
		{"bcrypt-cost", "GATEHOUSE_BCRYPT_COST", "bcrypt cost", num(&c.BcryptCost), "12"},
		{"hash-concurrency", "GATEHOUSE_HASH_CONCURRENCY", "bcrypt hashes running at once (default: half the CPUs, at least 1)", num(&c.HashConcurrency), strconv.Itoa(max(runtime.NumCPU()/2, 1))},
		{"hash-wait", "GATEHOUSE_HASH_WAIT", "how long a password check waits for its turn before 503", dur(&c.HashWait), "5s"},
		{"login-free", "GATEHOUSE_LOGIN_FREE", "failed sign-ins per account or device before lockouts start (10× per client address)", num(&c.LoginFree), "5"},
		{"lockout-max", "GATEHOUSE_LOCKOUT_MAX", "longest sign-in lockout (they start at 30s and double)", dur(&c.LockoutMax), "15m"},
		{"retention", "GATEHOUSE_RETENTION", "how long ended sessions and stale throttle keys are kept (Go duration or days, e.g. 30d)", days(&c.Retention), "30d"},
		{"audit-retention", "GATEHOUSE_AUDIT_RETENTION", "how long audit events are kept (Go duration or days, e.g. 400d)", days(&c.AuditRetention), "400d"},
		{"tls-cert", "GATEHOUSE_TLS_CERT", "PEM certificate file: serve HTTPS (with -tls-key)", str(&c.TLSCert), ""},
		{"tls-key", "GATEHOUSE_TLS_KEY", "PEM private key file of the certificate", str(&c.TLSKey), ""},
		{"trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed", str(&c.TrustedProxies), ""},
		{"data-keys-file", "GATEHOUSE_DATA_KEYS_FILE", "file of the keys sealing second-factor secrets, \"KID BASE64\" per line (default: data-key in the data directory, generated)", str(&c.DataKeysFile), ""},
		{"mfa", "GATEHOUSE_MFA", "who must have a second factor: off, optional, admins (managers and admins) or all", str(&c.MFA), "optional"},
		{"step-up-max-age", "GATEHOUSE_STEP_UP_MAX_AGE", "how recent a sign-in sensitive actions need (RFC 9470)", dur(&c.StepUpMaxAge), "5m"},
		{"metrics-addr", "GATEHOUSE_METRICS_ADDR", "internal listen address of the Prometheus /metrics endpoint (empty: off)", str(&c.MetricsAddr), ""},
		{"public-url", "GATEHOUSE_PUBLIC_URL", "origin browsers use to reach the server, e.g. https://admin.example.com", str(&c.PublicURL), ""},
		{"admin-username", "GATEHOUSE_ADMIN_USERNAME", "first admin's username (used only when no user exists)", str(&c.AdminUsername), "admin"},
		{"", "GATEHOUSE_ADMIN_PASSWORD", "", str(&c.AdminPassword), ""},
		{"web-dir", "GATEHOUSE_WEB_DIR", "directory of the PWA's static files (icons, CSS, app.wasm)", str(&c.WebDir), "./web"},
		{"api-url", "GATEHOUSE_API_URL", "origin of the API the PWA calls (empty: the origin that served it)", str(&c.APIURL), ""},
		{"log-level", "GATEHOUSE_LOG_LEVEL", "debug, info, warn or error", str(&level), "info"},
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	for _, s := range settings {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if err := s.set(v); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", s.env, v, err)
		}
		if s.flag != "" {
			fs.Func(s.flag, s.usage+" ($"+s.env+", default "+strconv.Quote(s.def)+")", s.set)
		}
	}
	for _, f := range extra {
		f(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for o := range strings.SplitSeq(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, strings.TrimRight(o, "/"))
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	positive := map[string]time.Duration{
		"access TTL": c.AccessTTL, "session max": c.SessionMax, "refresh TTL": c.RefreshTTL,
		"lockout max": c.LockoutMax, "hash wait": c.HashWait, "database timeout": c.DatabaseTimeout,
		"retention": c.Retention, "audit retention": c.AuditRetention, "step-up max age": c.StepUpMaxAge,
	}
	for name, d := range positive {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if c.SlideAfter < 0 || c.RefreshGrace < 0 || c.AuthCacheTTL < 0 {
		errs = append(errs, errors.New("slide-after, refresh-grace and auth-cache-ttl must not be negative"))
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		errs = append(errs, fmt.Errorf("bcrypt cost %d out of range [4, 31]", c.BcryptCost))
	}
	if c.LoginFree < 1 {
		errs = append(errs, errors.New("login-free must be at least 1"))
	}
	switch c.MFA {
	case "off", "optional", "admins", "all":
	default:
		errs = append(errs, fmt.Errorf("MFA policy %q: want off, optional, admins or all", c.MFA))
	}
	if c.HashConcurrency < 1 {
		errs = append(errs, errors.New("hash-concurrency must be at least 1"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together: set both or neither"))
	}
	if _, err := proxy.Parse(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("public URL %q must be an origin such as https://admin.example.com", c.PublicURL))
		}
	}
	switch c.CookieSecure {
	case "auto", "true", "false":
	default:
		errs = append(errs, fmt.Errorf("cookie-secure %q: want auto, true or false", c.CookieSecure))
	}
	if c.APIURL != "" && !strings.HasPrefix(c.APIURL, "http://") && !strings.HasPrefix(c.APIURL, "https://") {
		errs = append(errs, fmt.Errorf("API URL %q must start with http:// or https://", c.APIURL))
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			errs = append(errs, errors.New("CORS origin \"*\" is refused: list the origins"))
		} else if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			errs = append(errs, fmt.Errorf("CORS origin %q must start with http:// or https://", o))
		}
	}
	return errors.Join(errs...)
}

func str(p *string) func(string) error {
	return func(s string) error { *p = s; return nil }
}

func dur(p *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*p = d
		return nil
	}
}

// days parses a Go duration or a whole number of days such as "400d".
func days(p *time.Duration) func(string) error {
	return func(s string) error {
		if n, ok := strings.CutSuffix(s, "d"); ok {
			d, err := strconv.Atoi(n)
			if err != nil || d < 0 || d > 100*365 {
				return fmt.Errorf("%q is not a number of days", s)
			}
			*p = time.Duration(d) * 24 * time.Hour
			return nil
		}
		return dur(p)(s)
	}
}

func num(p *int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		*p = n
		return nil
	}
}
