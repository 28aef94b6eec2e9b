// Command gatehouse runs the Gatehouse admin server.
//
//	gatehouse serve         start the server (flags: gatehouse serve -h)
//	gatehouse create-admin  create an admin account
//	gatehouse version       print the version
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
