package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
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

func TestRun(t *testing.T) {
	old := version
	version = "v1.2.3-test"
	t.Cleanup(func() { version = old })

	tests := []struct {
		name       string
		args       []string
		wantErr    string // empty: no error
		wantStdout string // must appear; empty: stdout must be empty
		wantStderr string // must appear; empty: stderr must be empty
	}{
		{
			name:       "version prints the version",
			args:       []string{"version"},
			wantStdout: "gatehouse v1.2.3-test\n",
		},
		{
			name:       "no command is an error and prints the usage",
			args:       nil,
			wantErr:    "no command",
			wantStderr: usage,
		},
		{
			name:       "an unknown command is an error naming it and prints the usage",
			args:       []string{"frobnicate"},
			wantErr:    `unknown command "frobnicate"`,
			wantStderr: usage,
		},
		{
			name:       "help prints the usage on stdout",
			args:       []string{"help"},
			wantStdout: usage,
		},
		{
			name:       "-h prints the usage on stdout",
			args:       []string{"-h"},
			wantStdout: usage,
		},
		{
			name:       "serve with a bad setting is an error before anything starts",
			args:       []string{"serve", "-bcrypt-cost", "3"},
			wantErr:    "bcrypt cost 3",
			wantStderr: "",
		},
		{
			name:    "backup without a file is an error",
			args:    []string{"backup"},
			wantErr: "usage: gatehouse backup",
		},
		{
			name:    "backup with a flag last is an error",
			args:    []string{"backup", "-data-dir", "x", "-log-level"},
			wantErr: "usage: gatehouse backup",
		},
		{
			name:    "backup of a data directory without a database is an error",
			args:    []string{"backup", "-data-dir", "/nonexistent/gatehouse", "/tmp/never-written.db"},
			wantErr: "no database at /nonexistent/gatehouse/gatehouse.db",
		},
		{
			name:       "create-admin with an unexpected argument is an error",
			args:       []string{"create-admin", "-username", "bob", "extra"},
			wantErr:    "unexpected arguments",
			wantStderr: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			check := func(name, got, want string) {
				if want == "" && got != "" {
					t.Errorf("%s = %q, want it empty", name, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", name, got, want)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
		})
	}
}

func TestRunHelpFlags(t *testing.T) {
	for _, cmd := range []string{"serve", "create-admin", "migrate-store"} {
		t.Run(cmd+" -h returns flag.ErrHelp and prints its flags", func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{cmd, "-h"}, func(string) string { return "" }, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if !strings.Contains(stderr.String(), "gatehouse "+cmd) {
				t.Errorf("stderr does not show the flags of %s:\n%s", cmd, stderr.String())
			}
		})
	}
}

func TestRunCreateAdmin(t *testing.T) {
	env := map[string]string{
		"GATEHOUSE_DATA_DIR":    t.TempDir(),
		"GATEHOUSE_BCRYPT_COST": "4",
		"GATEHOUSE_JWT_SECRET":  "cmd-test-secret-of-at-least-32-bytes",
		"GATEHOUSE_LOG_LEVEL":   "error",
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name       string
		args       []string
		wantErr    string
		wantStdout string
		notStdout  string
	}{
		{
			name:       "create-admin prints a random password",
			args:       []string{"create-admin", "-username", "alice"},
			wantStdout: `created admin "alice" with password: `,
		},
		{
			name:       "create-admin with a password does not print it",
			args:       []string{"create-admin", "-username", "bob", "-password", "bob-password-1"},
			wantStdout: `created admin "bob"` + "\n",
			notStdout:  "bob-password-1",
		},
		{
			name:       "create-admin takes the settings flags too",
			args:       []string{"create-admin", "-data-dir", env["GATEHOUSE_DATA_DIR"], "-username", "carol", "-bcrypt-cost", "4"},
			wantStdout: `created admin "carol" with password: `,
		},
		{
			name:    "create-admin refuses a taken username",
			args:    []string{"create-admin", "-username", "alice"},
			wantErr: `create admin "alice"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, getenv, &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if tt.notStdout != "" && strings.Contains(stdout.String(), tt.notStdout) {
				t.Errorf("stdout = %q shows %q", stdout.String(), tt.notStdout)
			}
		})
	}
}

func TestRunMigrateStoreRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	existing := filepath.Join(dir, "gatehouse.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const pg = "postgres://gh:hunter2@127.0.0.1:1/gh"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"without -from", []string{"-to", pg}, "-from is required"},
		{"without -to", []string{"-from", existing}, "-to is required"},
		{"without either", nil, "-from is required"},
		{"with an argument beside the flags", []string{"-from", existing, "-to", pg, "extra"}, "unexpected arguments"},
		{"with a -to that is not PostgreSQL", []string{"-from", existing, "-to", "mysql://gh:hunter2@db/gh"},
			`the target "mysql://…@db/gh" is not a postgres:// or postgresql:// URL`},
		{"with a -to that is a file", []string{"-from", existing, "-to", "./data/other.db"}, "is not a postgres://"},
		{"with a -from that does not exist", []string{"-from", missing, "-to", pg},
			"the source database " + missing + " does not exist"},
		{"with a -from that is a directory", []string{"-from", dir, "-to", pg}, "is not a file"},
	}
	for _, tt := range tests {
		t.Run("migrate-store "+tt.name+" is an error saying so", func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"migrate-store"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err = %v shows the password", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the missing source was created: %v", err)
			}
		})
	}
}

func TestRunMigrateStore(t *testing.T) {
	to := pgtest.URL(t)
	dataDir := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{
			"GATEHOUSE_DATA_DIR": dataDir, "GATEHOUSE_BCRYPT_COST": "4", "GATEHOUSE_LOG_LEVEL": "error",
			"GATEHOUSE_JWT_SECRET": "cmd-test-secret-of-at-least-32-bytes",
		}[k]
	}
	if err := run(t.Context(), []string{"create-admin", "-username", "alice"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(dataDir, "gatehouse.db")
	migrate := func(extra ...string) (string, error) {
		var stdout bytes.Buffer
		err := run(t.Context(), append([]string{"migrate-store", "-from", from, "-to", to}, extra...), getenv, &stdout, io.Discard)
		return stdout.String(), err
	}

	t.Run("an empty target gets every row, and the command says how many", func(t *testing.T) {
		out, err := migrate()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Copied " + from, "into the empty database", "users                 1",
			"audit events          1", "Counts verified"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout does not say %q:\n%s", want, out)
			}
		}
	})
	t.Run("a target holding rows is refused, pointing at -replace", func(t *testing.T) {
		out, err := migrate()
		if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "-replace") {
			t.Fatalf("err = %v, want a refusal naming -replace", err)
		}
		if out != "" {
			t.Errorf("stdout = %q, want nothing", out)
		}
	})
	t.Run("a source without a user is refused: probably the wrong file", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.db")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := run(t.Context(), []string{"migrate-store", "-from", empty, "-to", to, "-replace"}, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "holds no user") {
			t.Fatalf("err = %v, want a refusal of the empty source", err)
		}
	})
	t.Run("-replace copies over what the target holds", func(t *testing.T) {
		out, err := migrate("-replace")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "replacing what the database held") {
			t.Errorf("stdout does not say the target was replaced:\n%s", out)
		}
	})
}

func TestVersion(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	t.Run("the -X version wins", func(t *testing.T) {
		version = "v9.9.9"
		if got := Version(); got != "v9.9.9" {
			t.Errorf("Version() = %q", got)
		}
	})
	t.Run("without -X a version is still given", func(t *testing.T) {
		version = ""
		if got := Version(); got == "" {
			t.Error("Version() is empty")
		}
	})
}

func TestDisplayURL(t *testing.T) {
	listen := func(addr string) string {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("listen on %s: %v", addr, err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	v4 := listen("127.0.0.1:0")
	_, v4port, _ := net.SplitHostPort(v4)
	wild := listen(":0")
	_, anyPort, _ := net.SplitHostPort(wild)

	tests := []struct {
		name, addr, want string
	}{
		{"a port alone shows localhost", ":8000", "http://localhost:8000/"},
		{"the IPv4 wildcard shows localhost", "0.0.0.0:8000", "http://localhost:8000/"},
		{"the IPv6 wildcard shows localhost", "[::]:8000", "http://localhost:8000/"},
		{"a real IPv4 listen address is shown as it is", v4, "http://127.0.0.1:" + v4port + "/"},
		{"a real wildcard listen address shows localhost", wild, "http://localhost:" + anyPort + "/"},
		{"an IPv6 loopback keeps its brackets", "[::1]:8000", "http://[::1]:8000/"},
		{"a host name is kept", "gate.example:443", "http://gate.example:443/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := displayURL(tt.addr); got != tt.want {
				t.Errorf("displayURL(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_JWT_SECRET": "backup-command-secret-of-32-bytes!!", "GATEHOUSE_BCRYPT_COST": "4"}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"create-admin", "-username", "keeper", "-password", "keeper-password"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, errOut.String())
	}
	file := filepath.Join(t.TempDir(), "copy.db")
	out.Reset()
	if err := run(context.Background(), []string{"backup", file}, getenv, &out, &errOut); err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "backed up to "+file) {
		t.Fatalf("stdout %q", out.String())
	}
	// The copy is a working data directory's database.
	restored := t.TempDir()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "gatehouse.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	env["GATEHOUSE_DATA_DIR"] = restored
	err = run(context.Background(), []string{"create-admin", "-username", "keeper"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("the restored copy should already hold keeper: %v", err)
	}
	env["GATEHOUSE_DATABASE_URL"] = "postgres://x@127.0.0.1:1/x"
	if err := run(context.Background(), []string{"backup", file + "2"}, getenv, &out, &errOut); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup on PostgreSQL: %v, want advice to use pg_dump", err)
	}
}

// The operator commands recover a locked-out last admin on the local
// store: a temporary password that must be changed, or no second factor.
func TestOperatorResets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_JWT_SECRET": "operator-command-secret-of-32-bytes!", "GATEHOUSE_BCRYPT_COST": "4"}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"create-admin", "-username", "boss", "-password", "forgotten-password"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, errOut.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"reset-password"}, "usage: gatehouse reset-password -username NAME"},
		{[]string{"reset-mfa", "-username", "nobody"}, "not found"},
	} {
		if err := run(ctx, tc.args, getenv, &out, &errOut); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}

	out.Reset()
	if err := run(ctx, []string{"reset-password", "-username", "boss"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("reset-password: %v\n%s", err, errOut.String())
	}
	var temp string
	for line := range strings.SplitSeq(out.String(), "\n") {
		if p, ok := strings.CutPrefix(line, "    "); ok {
			temp = p
		}
	}
	if len(temp) < 16 {
		t.Fatalf("no temporary password printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"reset-mfa", "-username", "boss"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("reset-mfa: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `removed the second factor of "boss"`) {
		t.Fatalf("stdout %q", out.String())
	}

	cfg, err := config.Parse("test", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := boot.Open(ctx, cfg, slog.New(slog.DiscardHandler), boot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	if _, err := sys.Auth.Login(ctx, "boss", "forgotten-password", auth.Meta{}); err == nil {
		t.Fatal("the old password still works")
	}
	g, err := sys.Auth.Login(ctx, "boss", temp, auth.Meta{})
	if err != nil {
		t.Fatalf("the temporary password: %v", err)
	}
	p, err := sys.Auth.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Auth.Restriction(p); !errors.Is(err, auth.ErrPasswordChangeRequired) {
		t.Fatalf("restriction %v, want password change required", err)
	}
	events, _, err := sys.Store.ListAudit(ctx, store.AuditFilter{Actor: "gatehouse"})
	if err != nil {
		t.Fatal(err)
	}
	var reset, mfa bool
	for _, e := range events {
		reset = reset || (e.Action == shared.ActionPasswordReset && strings.Contains(e.Detail, "local operator"))
		mfa = mfa || (e.Action == shared.ActionMFAReset && strings.Contains(e.Detail, "local operator"))
	}
	if !reset || !mfa {
		t.Fatalf("the operator's resets are not audited as such: %+v", events)
	}
}
