// Command gatehouse runs the Gatehouse admin server.
//
//	gatehouse serve          start the server (flags: gatehouse serve -h)
//	gatehouse create-admin   create an admin account
//	gatehouse migrate-store  copy an SQLite database into PostgreSQL (server stopped)
//	gatehouse version        print the version
//
// Every flag has a GATEHOUSE_* environment variable; see the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"gatehouse/server/boot"
	"gatehouse/server/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve         start the server
  create-admin  create an admin account (-username, -password; random password if none;
                the settings flags of serve apply too, e.g. -data-dir)
  reset-password -username NAME
                give NAME a temporary password (printed) that must be changed at the next
                sign-in, and sign them out everywhere: for a locked-out last admin
  reset-mfa -username NAME
                remove NAME's second factor and recovery codes, and sign them out
                (both act on the local store, audited as the operator; settings flags apply)
  backup FILE   write a consistent copy of the SQLite database to FILE while the server
                runs (settings flags apply, e.g. -data-dir; on PostgreSQL use pg_dump)
  migrate-store copy users, sessions, audit events and throttle state from an SQLite file
                to PostgreSQL, in one transaction: -from FILE -to postgres://… [-replace,
                to empty a target that holds rows first]. Stop the server first; start the
                PostgreSQL instances with the same JWT secret or keys, and sessions go on
  version       print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "create-admin":
		return createAdmin(ctx, rest, getenv, stdout, stderr)
	case "reset-password", "reset-mfa":
		return operatorReset(ctx, cmd, rest, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, rest, getenv, stdout, stderr)
	case "migrate-store":
		return migrateStore(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "gatehouse", Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// Version returns the build's version: the -X flag, else the module
// version or VCS revision recorded by the Go toolchain.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "dev"
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse("gatehouse serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	frontend, err := newFrontend(cfg, log)
	if err != nil {
		return err
	}
	sys, err := boot.Open(ctx, cfg, log, boot.Options{Frontend: frontend})
	if err != nil {
		return err
	}
	defer sys.Close()
	if _, err := boot.EnsureAdmin(ctx, sys, stdout); err != nil {
		return err
	}
	// Starting leaves garbage behind, most of it from checking the
	// compressed copies of app.wasm (brotli decodes through a window of up
	// to 16 MiB). Left alone it stays in the heap, and resident, until the
	// heap grows to twice what was live then, or until the two-minute
	// forced collection; returned now, the idle server is about 15 MB
	// smaller (see the README's Memory).
	debug.FreeOSMemory()
	return boot.Serve(ctx, sys, func(addr string) {
		log.Info("gatehouse listening", "addr", addr, "version", Version())
		fmt.Fprintf(stdout, "Gatehouse is running at %s\n", displayURL(addr))
	})
}

// displayURL turns a listen address into a URL a person can open.
func displayURL(addr string) string {
	host, port := "localhost", addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		if h := addr[:i]; h != "" && h != "0.0.0.0" && h != "[::]" && h != "::" {
			host = h
		}
		port = addr[i+1:]
	}
	return "http://" + host + ":" + port + "/"
}

func createAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var username, password string
	cfg, err := config.Parse("gatehouse create-admin", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "username of the new admin (default $GATEHOUSE_ADMIN_USERNAME or admin)")
		fs.StringVar(&password, "password", "", "password (default $GATEHOUSE_ADMIN_PASSWORD, else random and printed)")
	})
	if err != nil {
		return err
	}
	if username == "" {
		username = cfg.AdminUsername
	}
	if password == "" {
		password = cfg.AdminPassword
	}
	printed := password == ""
	sys, err := boot.Open(ctx, cfg, newLogger(stderr, cfg.LogLevel), boot.Options{})
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := boot.CreateAdmin(ctx, sys, username, &password); err != nil {
		return err
	}
	if printed {
		fmt.Fprintf(stdout, "created admin %q with password: %s\n", username, password)
	} else {
		fmt.Fprintf(stdout, "created admin %q\n", username)
	}
	return nil
}

// operatorReset runs reset-password or reset-mfa.
func operatorReset(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var username string
	cfg, err := config.Parse("gatehouse "+cmd, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the user to reset")
	})
	if err != nil {
		return err
	}
	if username == "" {
		return fmt.Errorf("usage: gatehouse %s -username NAME", cmd)
	}
	sys, err := boot.Open(ctx, cfg, newLogger(stderr, cfg.LogLevel), boot.Options{})
	if err != nil {
		return err
	}
	defer sys.Close()
	if cmd == "reset-mfa" {
		if err := sys.Admin.OperatorResetMFA(ctx, username); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed the second factor of %q and signed them out\n", username)
		return nil
	}
	password, err := sys.Admin.OperatorResetPassword(ctx, username)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%q has the temporary password:\n\n    %s\n\nThey must change it at the next sign-in; every session of theirs ended.\n", username, password)
	return nil
}

func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		return errors.New("usage: gatehouse backup [settings flags] FILE")
	}
	file := args[len(args)-1]
	cfg, err := config.Parse("gatehouse backup", args[:len(args)-1], getenv, stderr)
	if err != nil {
		return err
	}
	if err := boot.Backup(ctx, cfg, file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up to %s\n", file)
	return nil
}

// migrateStore parses the flags of migrate-store and runs boot.MigrateStore.
func migrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the SQLite database file to copy, e.g. ./data/gatehouse.db")
	to := fs.String("to", "", "the PostgreSQL database to copy into, postgres://USER@HOST/DB "+
		"(give the password in PGPASSWORD or ~/.pgpass: a command line is visible to other users)")
	replace := fs.Bool("replace", false, "delete every row the target holds first, in the same transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	case *from == "":
		return errors.New("migrate-store: -from is required: the SQLite database file to copy")
	case *to == "":
		return errors.New("migrate-store: -to is required: the postgres:// URL of the database to copy into")
	}
	return boot.MigrateStore(ctx, *from, *to, *replace, stdout)
}
