package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"strings"
	"testing"
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
	for _, cmd := range []string{"serve", "create-admin"} {
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
