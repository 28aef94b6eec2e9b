// Package pgtest gives tests a PostgreSQL database of their own.
//
// The server is named by GATEHOUSE_TEST_DATABASE_URL, a postgres:// URL of
// a role allowed to create databases, for example
//
//	GATEHOUSE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// Without it, tests that ask for a database are skipped, unless
// GATEHOUSE_TEST_REQUIRE_PG=1, which makes them fail instead (for CI, so
// that a misconfigured job cannot pass by skipping). PostgreSQL 13 or later
// (DROP DATABASE … WITH (FORCE)).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables read by URL.
const (
	EnvURL     = "GATEHOUSE_TEST_DATABASE_URL"
	EnvRequire = "GATEHOUSE_TEST_REQUIRE_PG"
)

// timeout bounds each statement URL runs on the server.
const timeout = 30 * time.Second

// URL creates an empty database for the test, named gh_ and random hex
// digits, and returns its URL: the server's URL with the database name
// replaced. The database is dropped when the test ends, connections still
// open to it or not. URL skips the test when GATEHOUSE_TEST_DATABASE_URL is
// not set or the server does not answer, and fails it instead when
// GATEHOUSE_TEST_REQUIRE_PG=1.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		unavailable(t, "PostgreSQL tests skipped: set "+EnvURL)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s is not a postgres:// URL", EnvURL)
	}
	name := "gh_" + random()
	exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() { exec(t, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// exec runs sql on a connection of its own to the server at admin.
func exec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(t, "PostgreSQL at "+EnvURL+" does not answer: "+err.Error())
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// unavailable skips the test with msg, or fails it when PostgreSQL is
// required.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(msg + " (" + EnvRequire + "=1)")
	}
	t.Skip(msg)
}

func random() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
