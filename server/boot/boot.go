// Package boot wires Gatehouse together from its configuration — store,
// secret, token service, API — and runs it. The command and the
// integration tests both start Gatehouse through it, so that tests drive
// exactly what operators run.
package boot

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gatehouse/server/admin"
	"gatehouse/server/api"
	"gatehouse/server/auth"
	"gatehouse/server/cache"
	"gatehouse/server/config"
	"gatehouse/server/metrics"
	"gatehouse/server/postgres"
	"gatehouse/server/proxy"
	"gatehouse/server/seal"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// System is a wired Gatehouse: its HTTP handler and what it owns.
type System struct {
	Config *config.Config
	// Store is the cache in front of the database: everything reads and
	// writes through it.
	Store *cache.Store
	Auth  *auth.Service
	Admin *admin.Service
	API   *api.Server
	// Metrics are served on the internal listener; nil when it is off.
	Metrics *metrics.Metrics
	// Passwords hashes with the configured bcrypt cost and bounds.
	Passwords *auth.Passwords
	log       *slog.Logger
	stop      func() // stops the background work: following other instances, writing activity
}

// Options adds what the configuration cannot say.
type Options struct {
	// Frontend serves every non-API path; nil: 404.
	Frontend http.Handler
	// Now is the clock; nil: time.Now. Tests move it.
	Now func() time.Time
}

// Open opens the store, loads or creates the signing keys and builds the
// services and the API.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*System, error) {
	keys, err := LoadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	data, err := LoadDataKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	mfa, err := auth.ParseMFAPolicy(cfg.MFA)
	if err != nil {
		return nil, err
	}
	proxies, err := proxy.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	db, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	tokens, err := auth.NewTokens(auth.TokensConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: keys,
		Leeway: 10 * time.Second, Verdicts: auth.NewVerdicts(65536), Now: now,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	st := cache.New(db, cfg.AuthCacheTTL, 65536, now)
	stop := follow(db, st, log)
	pw := auth.NewPasswords(cfg.BcryptCost, cfg.HashConcurrency, cfg.HashWait)
	lockout, ipLockout := auth.DefaultLockouts(cfg.LoginFree, cfg.LockoutMax)
	as := auth.NewService(st, tokens, pw, data, auth.Config{
		AccessTTL: cfg.AccessTTL, SlideAfter: cfg.SlideAfter, SessionMax: cfg.SessionMax,
		RefreshTTL: cfg.RefreshTTL, RefreshGrace: cfg.RefreshGrace, DeviceTTL: DeviceTTL,
		Lockout: lockout, IPLockout: ipLockout,
		Issuer: cfg.Issuer, MFA: mfa, StepUpMaxAge: cfg.StepUpMaxAge,
	}, log, now)
	flushSeen := func(ctx context.Context) {
		if err := as.FlushSeen(ctx); err != nil {
			log.Warn("session activity not recorded", "err", err)
		}
	}
	stopSeen := every(SeenEvery, flushSeen)
	stopPurge := every(PurgeEvery, func(ctx context.Context) { Purge(ctx, st, cfg, now(), log) })
	ad := admin.New(st, as, pw, log)
	var m *metrics.Metrics
	var observe func(route, method string, status int, elapsed time.Duration)
	if cfg.MetricsAddr != "" {
		m = metrics.New(metrics.Sources{Auth: as, Cache: st, ActiveSessions: func(ctx context.Context) (int, error) {
			return st.CountActiveSessions(ctx, now())
		}})
		observe = m.Observe
	}
	srv := api.New(api.Options{
		Auth: as, Admin: ad, Store: st, Log: log,
		CORSOrigins: cfg.CORSOrigins, CookieSecure: cfg.CookieSecure,
		Proxies: proxies, PublicURL: cfg.PublicURL, Frontend: o.Frontend, APIURL: cfg.APIURL,
		Observe: observe,
	})
	return &System{Config: cfg, Store: st, Auth: as, Admin: ad, API: srv, Metrics: m, Passwords: pw, log: log,
		stop: func() {
			stopPurge()
			stopSeen()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			flushSeen(ctx) // what the last interval saw
			stop()
		}}, nil
}

// SeenEvery is how often the sessions' last-seen times recorded by sliding
// are written: at most one write per session per interval, off the
// request path.
const SeenEvery = 10 * time.Second

// PurgeEvery is how often ended sessions, stale throttle keys and old
// audit events are purged (see Purge); the first purge runs a minute after
// start.
const PurgeEvery = time.Hour

// Purge removes sessions that ended, and throttle keys whose last failure
// is, more than cfg.Retention ago, and audit events older than
// cfg.AuditRetention, and logs what went.
func Purge(ctx context.Context, st store.Store, cfg *config.Config, now time.Time, log *slog.Logger) {
	p := store.PurgeBefore{Sessions: now.Add(-cfg.Retention), Attempts: now.Add(-cfg.Retention), Audit: now.Add(-cfg.AuditRetention)}
	var got store.Purged
	err := st.Update(ctx, func(tx store.Tx) (err error) {
		got, err = tx.Purge(ctx, p)
		return err
	})
	if err != nil {
		log.Warn("retention: purge failed; it runs again later", "err", err)
		return
	}
	log.Info("retention: purged", "sessions", got.Sessions, "throttle_keys", got.Attempts, "challenges", got.Challenges, "audit_events", got.Audit,
		"retention", cfg.Retention.String(), "audit_retention", cfg.AuditRetention.String())
}

// every runs fn every interval (the first time after the first interval,
// or a minute when the interval is longer) until the returned function is
// called; it waits for a run under way.
func every(interval time.Duration, fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(min(interval, time.Minute))
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(ctx)
				t.Reset(interval)
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// announcer is a store that delivers other instances' announcements of
// what they changed (see cache.Store).
type announcer interface {
	Listen(ctx context.Context, deliver func(payload string), resync func()) error
}

// follow makes the cache follow the changes other instances announce,
// when the store can tell, until the returned function is called: their
// announcements drop entries, and after the store may have missed some
// (a lost connection) everything is dropped. While announcements cannot
// arrive, the cache TTL bounds how stale an entry may be.
func follow(db store.Store, c *cache.Store, log *slog.Logger) (stop func()) {
	a, ok := db.(announcer)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Listen(ctx, c.Apply, c.Flush); err != nil && ctx.Err() == nil {
			log.Error("no longer following other instances' changes", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// DeviceTTL is how long a browser's device token lasts.
const DeviceTTL = 90 * 24 * time.Hour

// Close stops the background work (writing what it still holds) and
// releases the store.
func (s *System) Close() error {
	s.stop()
	return s.Store.Close()
}

// ReloadKeys reads the signing keys again (GATEHOUSE_JWT_KEYS_FILE, or the
// secret) and puts them in use; verified tokens are forgotten, so a token
// whose key was removed is refused from the next request on. On error
// the keys in use stay.
func (s *System) ReloadKeys() error {
	keys, err := LoadKeys(s.Config, s.log)
	if err != nil {
		return fmt.Errorf("reload keys: %w", err)
	}
	s.Auth.Tokens().SetKeys(keys)
	s.log.Info("signing keys reloaded", "kids", strings.Join(keys.IDs(), ","), "signing", keys.Signing().ID)
	return nil
}

// OpenStore opens the configured store: SQLite in the data directory unless
// a database URL is given.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if u := cfg.DatabaseURL; u != "" {
		if !postgresURL(u) {
			return nil, fmt.Errorf("GATEHOUSE_DATABASE_URL: unsupported scheme in %q (want postgres://)", redact(u))
		}
		db, err := postgres.Open(ctx, u, postgres.Options{OpTimeout: cfg.DatabaseTimeout, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_DATABASE_URL %s: %w", redact(u), err)
		}
		log.Info("store opened", "driver", "postgres", "url", redact(u))
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "gatehouse.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	log.Info("store opened", "driver", "sqlite", "path", path)
	return db, nil
}

// Backup writes a consistent copy of the configured SQLite database to
// file (which must not exist) while a server may be running on it. On
// PostgreSQL it refuses: the database's own tools (pg_dump) do that job.
func Backup(ctx context.Context, cfg *config.Config, file string) error {
	if cfg.DatabaseURL != "" {
		return errors.New("backup: the store is PostgreSQL; back it up with pg_dump (see the README)")
	}
	path := filepath.Join(cfg.DataDir, "gatehouse.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup: no database at %s: %w", path, err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Backup(ctx, file)
}

// postgresURL reports whether u names a PostgreSQL database.
func postgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// redact hides the password of a URL-like string. A string without a
// scheme is hidden whole: it may be user:password@host or a key=value
// connection string holding a password.
func redact(u string) string {
	scheme := strings.Index(u, "://")
	if scheme < 0 {
		return "…"
	}
	if at := strings.LastIndex(u, "@"); at > scheme {
		return u[:scheme+3] + "…" + u[at:]
	}
	return u
}

// LoadKeys returns the server's signing keys: those of
// GATEHOUSE_JWT_KEYS_FILE when it is set, else one key made of the secret
// (see LoadSecret).
func LoadKeys(cfg *config.Config, log *slog.Logger) (*auth.Keyring, error) {
	if cfg.JWTKeysFile != "" {
		b, err := os.ReadFile(cfg.JWTKeysFile)
		if err != nil {
			return nil, fmt.Errorf("read JWT keys file: %w", err)
		}
		keys, err := auth.ParseKeyring(string(b))
		if err != nil {
			return nil, fmt.Errorf("JWT keys file %s: %w", cfg.JWTKeysFile, err)
		}
		return keys, nil
	}
	secret, err := LoadSecret(cfg, log)
	if err != nil {
		return nil, err
	}
	return auth.NewKeyring(auth.NewKey(secret))
}

// LoadDataKeys returns the keys that seal second-factor secrets:
// GATEHOUSE_DATA_KEYS_FILE when set, else the file data-key in the data
// directory, created with one random key (mode 0600) when missing. They
// are independent of the signing keys: rotating those never touches a
// sealed secret. Instances sharing a database need the same data keys.
func LoadDataKeys(cfg *config.Config, log *slog.Logger) (*seal.Keys, error) {
	path := cfg.DataKeysFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "data-key")
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			_, werr := f.WriteString(seal.Generate(time.Now().UTC().Format("2006-01-02")))
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return nil, fmt.Errorf("write data key file: %w", werr)
			}
			log.Warn("no data keys configured: generated one; keep it, or every second factor must be enrolled again", "file", path)
		case !errors.Is(err, os.ErrExist):
			return nil, fmt.Errorf("create data key file: %w", err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read data keys: %w", err)
	}
	keys, err := seal.Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("data keys file %s: %w", path, err)
	}
	return keys, nil
}

// LoadSecret returns the token signing secret: GATEHOUSE_JWT_SECRET, else
// the file GATEHOUSE_JWT_SECRET_FILE, else the file jwt-secret in the data
// directory, created with 32 random bytes (mode 0600) when missing. A
// secret shorter than 32 bytes is refused.
func LoadSecret(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	var secret []byte
	switch {
	case cfg.JWTSecret != "":
		secret = []byte(cfg.JWTSecret)
	case cfg.JWTSecretFile != "":
		b, err := os.ReadFile(cfg.JWTSecretFile)
		if err != nil {
			return nil, fmt.Errorf("read JWT secret file: %w", err)
		}
		secret = []byte(strings.TrimSpace(string(b)))
	default:
		path := filepath.Join(cfg.DataDir, "jwt-secret")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			secret = []byte(strings.TrimSpace(string(b)))
		case errors.Is(err, os.ErrNotExist):
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
			raw := make([]byte, 48)
			_, _ = rand.Read(raw)
			secret = []byte(base64.RawURLEncoding.EncodeToString(raw))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, fmt.Errorf("create JWT secret file: %w", err)
			}
			_, werr := f.Write(secret)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return nil, fmt.Errorf("write JWT secret file: %w", werr)
			}
			log.Warn("no JWT secret configured: generated one; keep it to keep sessions valid across restarts", "file", path)
		default:
			return nil, fmt.Errorf("read JWT secret file: %w", err)
		}
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("the JWT secret is %d bytes; at least 32 are required", len(secret))
	}
	return secret, nil
}

// EnsureAdmin creates the first admin when the store has no user at all.
// The password is the configured one or a random one, which is written to
// out once. It returns whether an admin was created.
func EnsureAdmin(ctx context.Context, s *System, out io.Writer) (bool, error) {
	counts, err := s.Store.CountUsersByRole(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total > 0 {
		return false, nil
	}
	password := s.Config.AdminPassword
	if err := CreateAdmin(ctx, s, s.Config.AdminUsername, &password); err != nil {
		if errors.Is(err, store.ErrConflict) { // another instance was first
			return false, nil
		}
		return false, err
	}
	if s.Config.AdminPassword == "" {
		fmt.Fprintf(out, "\nFirst start: created admin %q with password:\n\n    %s\n\nIt is shown only this once; change it after signing in.\n\n", s.Config.AdminUsername, password)
	} else {
		fmt.Fprintf(out, "First start: created admin %q with the configured password.\n", s.Config.AdminUsername)
	}
	return true, nil
}

// CreateAdmin creates an enabled admin through the account service, audited
// as the operator. An empty *password is replaced by a random one.
func CreateAdmin(ctx context.Context, s *System, username string, password *string) error {
	if *password == "" {
		raw := make([]byte, 15)
		_, _ = rand.Read(raw)
		*password = base64.RawURLEncoding.EncodeToString(raw)
	}
	_, err := s.Admin.CreateAdmin(ctx, shared.UserCreate{Username: username, Password: *password, FullName: "Administrator"})
	if err != nil {
		return fmt.Errorf("admin account: %w", err)
	}
	return nil
}

// Serve listens on the configured address until ctx is done, then shuts
// down gracefully, giving requests in flight up to 10 seconds. It speaks
// HTTPS when a certificate and key are configured, and reloads the signing
// keys on SIGHUP. ready, if not nil, receives the address listened on.
func Serve(ctx context.Context, s *System, ready func(addr string)) error {
	srv := &http.Server{
		Addr:              s.Config.Addr,
		Handler:           s.API,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	tlsOn := s.Config.TLSCert != ""
	if tlsOn {
		// Loaded before listening, so that a bad pair fails at start.
		cert, err := tls.LoadX509KeyPair(s.Config.TLSCert, s.Config.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Addr, err)
	}
	errc := make(chan error, 2)
	var internal *http.Server
	if s.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.Metrics.Handler())
		internal = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
		mln, err := lc.Listen(ctx, "tcp", s.Config.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for metrics: %w", s.Config.MetricsAddr, err)
		}
		s.log.Info("metrics listening", "addr", mln.Addr().String())
		go func() { errc <- internal.Serve(mln) }()
	}
	// SIGHUP is caught before anyone is told the server is up: one sent
	// right after must reload the keys, not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if ready != nil {
		ready(ln.Addr().String())
	}

	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-hup:
			if err := s.ReloadKeys(); err != nil {
				s.log.Error("SIGHUP: keys not reloaded; the old ones stay in use", "err", err)
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if internal != nil {
		_ = internal.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
