// Package boot wires Gatehouse together from its configuration — store,
// secret, token service, API — and runs it. The command and the
// integration tests both start Gatehouse through it, so that tests drive
// exactly what operators run.
package boot

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatehouse/server/admin"
	"gatehouse/server/api"
	"gatehouse/server/auth"
	"gatehouse/server/config"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// System is a wired Gatehouse: its HTTP handler and what it owns.
type System struct {
	Config *config.Config
	Store  store.Store
	State  *auth.State
	Auth   *auth.Service
	Admin  *admin.Service
	API    *api.Server
	// Passwords hashes with the configured bcrypt cost.
	Passwords *auth.Passwords
	log       *slog.Logger
}

// Options adds what the configuration cannot say.
type Options struct {
	// Frontend serves every non-API path; nil: 404.
	Frontend http.Handler
	// Now is the clock; nil: time.Now. Tests move it.
	Now func() time.Time
}

// Open opens the store, loads or creates the signing secret and builds the
// services and the API.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (*System, error) {
	secret, err := LoadSecret(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	tokens, err := auth.NewTokens(auth.TokensConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience,
		Sign: auth.NewKey(secret), Leeway: 10 * time.Second,
		Verdicts: auth.NewVerdicts(65536), Now: now,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	state := auth.NewState(st, cfg.AuthCacheTTL, 65536, now)
	pw := &auth.Passwords{Cost: cfg.BcryptCost}
	as := auth.NewService(state, tokens, pw, auth.Config{
		AccessTTL: cfg.AccessTTL, SlideAfter: cfg.SlideAfter, SessionMax: cfg.SessionMax,
		RefreshTTL: cfg.RefreshTTL, RefreshGrace: cfg.RefreshGrace,
		LoginBurst: cfg.LoginBurst, LoginEvery: cfg.LoginEvery,
	}, log, now)
	ad := admin.New(state, as, pw, log)
	srv := api.New(api.Options{
		Auth: as, Admin: ad, Store: st, Log: log,
		CORSOrigins: cfg.CORSOrigins, CookieSecure: cfg.CookieSecure, Frontend: o.Frontend,
		APIURL: cfg.APIURL,
	})
	return &System{Config: cfg, Store: st, State: state, Auth: as, Admin: ad, API: srv, Passwords: pw, log: log}, nil
}

// Close releases the store.
func (s *System) Close() error { return s.Store.Close() }

// OpenStore opens the configured store: SQLite in the data directory unless
// a database URL is given.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	if u := cfg.DatabaseURL; u != "" {
		if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
			return nil, errors.New("GATEHOUSE_DATABASE_URL: PostgreSQL is not supported by this build yet; leave it empty to use SQLite")
		}
		return nil, fmt.Errorf("GATEHOUSE_DATABASE_URL: unsupported scheme in %q (want postgres://)", redact(u))
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

// CreateAdmin creates an enabled admin. An empty *password is replaced by
// a random one.
func CreateAdmin(ctx context.Context, s *System, username string, password *string) error {
	if *password == "" {
		raw := make([]byte, 15)
		_, _ = rand.Read(raw)
		*password = base64.RawURLEncoding.EncodeToString(raw)
	}
	in := shared.UserCreate{Username: username, Password: *password, Role: shared.RoleAdmin, FullName: "Administrator"}
	if err := in.Validate(); err != nil {
		return fmt.Errorf("admin account: %w", err)
	}
	hash, err := s.Passwords.Hash(*password)
	if err != nil {
		return err
	}
	now := s.Auth.Now()
	u := &store.User{User: shared.User{Username: username, FullName: in.FullName, Role: shared.RoleAdmin, CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return fmt.Errorf("create admin %q: %w", username, err)
	}
	if err := s.Store.AddAudit(ctx, &shared.AuditEvent{Time: now, Actor: "gatehouse", Action: shared.ActionAdminBootstrap, Target: "user " + username, Outcome: shared.OutcomeOK}); err != nil {
		s.log.Error("audit event not recorded", "action", shared.ActionAdminBootstrap, "err", err)
	}
	return nil
}

// Serve listens on the configured address until ctx is done, then shuts
// down gracefully, giving requests in flight up to 10 seconds. ready, if
// not nil, receives the address listened on.
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
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
