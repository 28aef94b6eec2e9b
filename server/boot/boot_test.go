package boot_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/server/auth"
	"gatehouse/server/boot"
	"gatehouse/server/config"
	"gatehouse/server/postgres/pgtest"
	"gatehouse/server/store"
	"gatehouse/shared"
)

const testSecret = "boot-test-secret-of-at-least-32-bytes!"

var discard = slog.New(slog.DiscardHandler)

// newConfig parses a configuration from the test defaults (a fresh data
// directory, bcrypt cost 4, a valid secret) overridden by vars; a variable
// set to "" is removed.
func newConfig(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	env := map[string]string{
		"GATEHOUSE_DATA_DIR":    t.TempDir(),
		"GATEHOUSE_BCRYPT_COST": "4",
		"GATEHOUSE_JWT_SECRET":  testSecret,
	}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Parse("test", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func open(t *testing.T, cfg *config.Config) *boot.System {
	t.Helper()
	s, err := boot.Open(context.Background(), cfg, discard, boot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSecret(t *testing.T) {
	fromFile := strings.Repeat("f", 40)
	tests := []struct {
		name string
		vars func(t *testing.T) map[string]string
		want string
	}{
		{
			name: "the secret comes from GATEHOUSE_JWT_SECRET",
			vars: func(*testing.T) map[string]string { return nil },
			want: testSecret,
		},
		{
			name: "a secret of exactly 32 bytes is accepted",
			vars: func(*testing.T) map[string]string {
				return map[string]string{"GATEHOUSE_JWT_SECRET": strings.Repeat("x", 32)}
			},
			want: strings.Repeat("x", 32),
		},
		{
			name: "the secret comes from the file, trimmed",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{
					"GATEHOUSE_JWT_SECRET":      "",
					"GATEHOUSE_JWT_SECRET_FILE": writeFile(t, "  \n"+fromFile+"\n\n"),
				}
			},
			want: fromFile,
		},
		{
			name: "the variable wins over the file",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{"GATEHOUSE_JWT_SECRET_FILE": writeFile(t, fromFile)}
			},
			want: testSecret,
		},
		{
			name: "an existing jwt-secret in the data directory is used, trimmed",
			vars: func(t *testing.T) map[string]string {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte(fromFile+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return map[string]string{"GATEHOUSE_JWT_SECRET": "", "GATEHOUSE_DATA_DIR": dir}
			},
			want: fromFile,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig(t, tt.vars(t))
			got, err := boot.LoadSecret(cfg, discard)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("secret = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadSecretRefuses(t *testing.T) {
	short := strings.Repeat("s", 31)
	tests := []struct {
		name string
		vars func(t *testing.T) map[string]string
		want string
	}{
		{
			name: "a variable shorter than 32 bytes is refused",
			vars: func(*testing.T) map[string]string {
				return map[string]string{"GATEHOUSE_JWT_SECRET": short}
			},
			want: "the JWT secret is 31 bytes; at least 32 are required",
		},
		{
			name: "a file shorter than 32 bytes once trimmed is refused",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{
					"GATEHOUSE_JWT_SECRET":      "",
					"GATEHOUSE_JWT_SECRET_FILE": writeFile(t, short+"\n   \n"),
				}
			},
			want: "the JWT secret is 31 bytes",
		},
		{
			name: "a missing secret file is an error, not a generated secret",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{
					"GATEHOUSE_JWT_SECRET":      "",
					"GATEHOUSE_JWT_SECRET_FILE": filepath.Join(t.TempDir(), "nope"),
				}
			},
			want: "read JWT secret file",
		},
		{
			name: "a short jwt-secret in the data directory is refused",
			vars: func(t *testing.T) map[string]string {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte(short), 0o600); err != nil {
					t.Fatal(err)
				}
				return map[string]string{"GATEHOUSE_JWT_SECRET": "", "GATEHOUSE_DATA_DIR": dir}
			},
			want: "the JWT secret is 31 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig(t, tt.vars(t))
			got, err := boot.LoadSecret(cfg, discard)
			if err == nil {
				t.Fatalf("LoadSecret = %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadSecretGenerates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	cfg := newConfig(t, map[string]string{"GATEHOUSE_JWT_SECRET": "", "GATEHOUSE_DATA_DIR": dir})
	first, err := boot.LoadSecret(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jwt-secret")

	t.Run("the generated secret is at least 32 bytes", func(t *testing.T) {
		if len(first) < 32 {
			t.Errorf("secret is %d bytes", len(first))
		}
	})
	t.Run("the secret is written to jwt-secret in the data directory with mode 0600", func(t *testing.T) {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("mode = %v, want 0600", m)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Errorf("file holds %q, LoadSecret returned %q", b, first)
		}
	})
	t.Run("a second call returns the same secret", func(t *testing.T) {
		second, err := boot.LoadSecret(cfg, discard)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("second secret %q differs from the first %q", second, first)
		}
	})
	t.Run("another data directory gets another secret", func(t *testing.T) {
		other, err := boot.LoadSecret(newConfig(t, map[string]string{"GATEHOUSE_JWT_SECRET": ""}), discard)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(first, other) {
			t.Errorf("two data directories got the same secret %q", first)
		}
	})
}

func TestOpenStoreRefuses(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{
			name: "an unreachable postgres:// URL is unavailable, without its password",
			url:  "postgres://gh:hunter2@127.0.0.1:1/gh?connect_timeout=2",
			want: []string{"GATEHOUSE_DATABASE_URL", "postgres://…@127.0.0.1:1/gh", "unavailable"},
		},
		{
			name: "an unreachable postgresql:// URL is unavailable too",
			url:  "postgresql://gh:hunter2@127.0.0.1:1/gh?connect_timeout=2",
			want: []string{"unavailable"},
		},
		{
			name: "an unknown scheme is refused, naming it but not the password",
			url:  "mysql://gh:hunter2@db.example/gh",
			want: []string{"unsupported scheme", `"mysql://…@db.example/gh"`, "want postgres://"},
		},
		{
			name: "a password holding @ is hidden whole",
			url:  "mysql://gh:hun@ter2@db.example/gh",
			want: []string{`"mysql://…@db.example/gh"`},
		},
		{
			name: "a URL without credentials is named as it is",
			url:  "sqlite:///var/lib/gh.db",
			want: []string{`"sqlite:///var/lib/gh.db"`},
		},
		{
			name: "a value without a scheme is refused without its password",
			url:  "gh:hunter2@db.example/gh",
			want: []string{"unsupported scheme"},
		},
		{
			name: "a key=value connection string is refused without its password",
			url:  "host=db.example user=gh password=hunter2 dbname=gh",
			want: []string{"unsupported scheme"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig(t, map[string]string{"GATEHOUSE_DATABASE_URL": tt.url})
			st, err := boot.OpenStore(context.Background(), cfg, discard)
			if err == nil {
				st.Close()
				t.Fatal("OpenStore succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "ter2") { // of hunter2 or hun@ter2
				t.Errorf("error %q shows the password", err)
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "gatehouse.db")); err == nil {
				t.Error("a SQLite database was created anyway")
			}
		})
	}
}

func TestOpenStorePostgres(t *testing.T) {
	url := pgtest.URL(t)
	cfg := newConfig(t, map[string]string{"GATEHOUSE_DATABASE_URL": url})
	st, err := boot.OpenStore(context.Background(), cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CountUsersByRole(context.Background()); err != nil {
		t.Errorf("the store does not work: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "gatehouse.db")); err == nil {
		t.Error("a SQLite database was created beside PostgreSQL")
	}
}

func TestOpenStoreSQLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := newConfig(t, map[string]string{"GATEHOUSE_DATA_DIR": dir})
	st, err := boot.OpenStore(context.Background(), cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Run("without a database URL, SQLite opens gatehouse.db in the data directory", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err != nil {
			t.Error(err)
		}
		if _, err := st.CountUsersByRole(context.Background()); err != nil {
			t.Errorf("the store does not work: %v", err)
		}
	})
}

// login signs in through the wired auth service.
func login(t *testing.T, s *boot.System, username, password string) error {
	t.Helper()
	_, err := s.Auth.Login(context.Background(), username, password, auth.Meta{IP: "192.0.2.1"})
	return err
}

// printedPassword returns the password of EnsureAdmin's banner: the one
// line indented by four spaces.
func printedPassword(t *testing.T, out string) string {
	t.Helper()
	var found []string
	for line := range strings.SplitSeq(out, "\n") {
		if p, ok := strings.CutPrefix(line, "    "); ok {
			found = append(found, p)
		}
	}
	if len(found) != 1 || found[0] == "" {
		t.Fatalf("want one indented password line in:\n%s", out)
	}
	return found[0]
}

func TestEnsureAdminRandomPassword(t *testing.T) {
	ctx := context.Background()
	s := open(t, newConfig(t, map[string]string{"GATEHOUSE_ADMIN_USERNAME": "root"}))
	var out bytes.Buffer
	created, err := boot.EnsureAdmin(ctx, s, &out)
	if err != nil {
		t.Fatal(err)
	}
	password := printedPassword(t, out.String())

	t.Run("an empty store gets an admin", func(t *testing.T) {
		if !created {
			t.Error("EnsureAdmin = false, want true")
		}
		u, err := s.Store.UserByUsername(ctx, "root")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != shared.RoleAdmin || u.Disabled {
			t.Errorf("role %q, disabled %v; want an enabled admin", u.Role, u.Disabled)
		}
	})
	t.Run("the random password is printed exactly once", func(t *testing.T) {
		if n := strings.Count(out.String(), password); n != 1 {
			t.Errorf("password printed %d times:\n%s", n, out.String())
		}
		if !strings.Contains(out.String(), `created admin "root"`) {
			t.Errorf("output does not name the admin:\n%s", out.String())
		}
	})
	t.Run("the random password is long enough to be valid", func(t *testing.T) {
		if msg := shared.ValidatePassword(password); msg != "" {
			t.Errorf("password %q %s", password, msg)
		}
	})
	t.Run("the printed password signs in", func(t *testing.T) {
		if err := login(t, s, "root", password); err != nil {
			t.Errorf("login: %v", err)
		}
	})
	t.Run("another password does not sign in", func(t *testing.T) {
		if err := login(t, s, "root", password+"x"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login = %v, want ErrBadCredentials", err)
		}
	})
	t.Run("the bootstrap is audited", func(t *testing.T) {
		events, _, err := s.Store.ListAudit(ctx, store.AuditFilter{Action: shared.ActionAdminBootstrap})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Target != "user root" || events[0].Outcome != shared.OutcomeOK {
			t.Errorf("audit events = %+v, want one bootstrap of user root", events)
		}
	})
	t.Run("a second call creates nothing and prints nothing", func(t *testing.T) {
		var again bytes.Buffer
		created, err := boot.EnsureAdmin(ctx, s, &again)
		if err != nil {
			t.Fatal(err)
		}
		if created {
			t.Error("EnsureAdmin = true the second time")
		}
		if again.Len() != 0 {
			t.Errorf("printed %q the second time", again.String())
		}
		counts, err := s.Store.CountUsersByRole(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[shared.RoleAdmin] != 1 {
			t.Errorf("%d admins, want 1", counts[shared.RoleAdmin])
		}
	})
}

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	const configured = "configured-pass-1"
	tests := []struct {
		name string
		vars map[string]string
		// before prepares the store; nil: leave it empty.
		before      func(t *testing.T, s *boot.System)
		wantCreated bool
		wantErr     bool
		check       func(t *testing.T, s *boot.System, out string)
	}{
		{
			name:        "the configured password is used and not printed",
			vars:        map[string]string{"GATEHOUSE_ADMIN_PASSWORD": configured},
			wantCreated: true,
			check: func(t *testing.T, s *boot.System, out string) {
				if strings.Contains(out, configured) {
					t.Errorf("the configured password is printed:\n%s", out)
				}
				if !strings.Contains(out, `created admin "admin" with the configured password`) {
					t.Errorf("output does not say the configured password is used:\n%s", out)
				}
				if err := login(t, s, "admin", configured); err != nil {
					t.Errorf("login with the configured password: %v", err)
				}
			},
		},
		{
			name: "a store with a user already gets no admin",
			before: func(t *testing.T, s *boot.System) {
				pw := "someone-pass-1"
				if err := boot.CreateAdmin(ctx, s, "someone", &pw); err != nil {
					t.Fatal(err)
				}
			},
			wantCreated: false,
			check: func(t *testing.T, s *boot.System, out string) {
				if out != "" {
					t.Errorf("printed %q", out)
				}
				if _, err := s.Store.UserByUsername(ctx, "admin"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("UserByUsername(admin) = %v, want ErrNotFound", err)
				}
			},
		},
		{
			name:    "an invalid configured username is an error",
			vars:    map[string]string{"GATEHOUSE_ADMIN_USERNAME": "No Spaces Allowed"},
			wantErr: true,
			check: func(t *testing.T, s *boot.System, out string) {
				if out != "" {
					t.Errorf("printed %q", out)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, newConfig(t, tt.vars))
			if tt.before != nil {
				tt.before(t, s)
			}
			var out bytes.Buffer
			created, err := boot.EnsureAdmin(ctx, s, &out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			tt.check(t, s, out.String())
		})
	}
}

func TestCreateAdmin(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		username string
		password string
		// before prepares the store; nil: leave it empty.
		before func(t *testing.T, s *boot.System)
		check  func(t *testing.T, err error)
	}{
		{
			name:     "an invalid username is refused with a validation error",
			username: "Bad Name!",
			password: "good-password-1",
			check: func(t *testing.T, err error) {
				var ve *shared.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a *shared.ValidationError", err)
				}
				if _, ok := ve.Fields["username"]; !ok {
					t.Errorf("fields %v do not name the username", ve.Fields)
				}
			},
		},
		{
			name:     "a too short password is refused with a validation error",
			username: "alice",
			password: "short",
			check: func(t *testing.T, err error) {
				var ve *shared.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a *shared.ValidationError", err)
				}
				if _, ok := ve.Fields["password"]; !ok {
					t.Errorf("fields %v do not name the password", ve.Fields)
				}
			},
		},
		{
			name:     "a taken username is refused with store.ErrConflict",
			username: "alice",
			password: "good-password-1",
			before: func(t *testing.T, s *boot.System) {
				pw := "first-password-1"
				if err := boot.CreateAdmin(ctx, s, "alice", &pw); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("err = %v, want store.ErrConflict", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, newConfig(t, nil))
			if tt.before != nil {
				tt.before(t, s)
			}
			pw := tt.password
			err := boot.CreateAdmin(ctx, s, tt.username, &pw)
			if err == nil {
				t.Fatal("CreateAdmin succeeded, want an error")
			}
			tt.check(t, err)
		})
	}
}

func TestCreateAdminRandomPassword(t *testing.T) {
	ctx := context.Background()
	s := open(t, newConfig(t, nil))
	var pw string
	if err := boot.CreateAdmin(ctx, s, "carol", &pw); err != nil {
		t.Fatal(err)
	}
	t.Run("an empty password is replaced by a random valid one", func(t *testing.T) {
		if msg := shared.ValidatePassword(pw); msg != "" {
			t.Errorf("password %q %s", pw, msg)
		}
	})
	t.Run("the random password signs in", func(t *testing.T) {
		if err := login(t, s, "carol", pw); err != nil {
			t.Errorf("login: %v", err)
		}
	})
	t.Run("two random passwords differ", func(t *testing.T) {
		var other string
		if err := boot.CreateAdmin(ctx, s, "dave", &other); err != nil {
			t.Fatal(err)
		}
		if other == pw {
			t.Errorf("both admins got %q", pw)
		}
	})
}
