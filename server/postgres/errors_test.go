package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gatehouse/server/postgres/pgtest"
	"gatehouse/server/store"
	"gatehouse/shared"
)

func TestOpenRefusesOtherURLs(t *testing.T) {
	for _, u := range []string{"", "sqlite:///data/gatehouse.db", "host=localhost dbname=gatehouse",
		"mysql://root@localhost/db", "postgres:/x", "postgres//x"} {
		if db, err := Open(t.Context(), u, Options{}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, tc := range []struct {
		name, url   string
		unavailable bool
	}{
		{"a server that is not there", "postgres://alice:" + secret + "@127.0.0.1:1/gatehouse?sslmode=disable", true},
		{"a URL that cannot be parsed", "postgres://alice:" + secret + "@127.0.0.1:port/gatehouse", false},
		{"an unknown setting", "postgresql://alice:" + secret + "@127.0.0.1/gatehouse?sslmode=sometimes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.url, Options{OpTimeout: time.Second})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open: error %q shows the password", err)
			}
			if got := errors.Is(err, store.ErrUnavailable); got != tc.unavailable {
				t.Errorf("Open: %v; wraps ErrUnavailable: %v, want %v", err, got, tc.unavailable)
			}
		})
	}
}

func TestWrongPasswordIsUnavailable(t *testing.T) {
	u, err := url.Parse(urlOf(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server may trust every local connection: ask it for a role
	// that does not exist instead.
	u.User = url.UserPassword("gatehouse_nobody", "s3cr3t-Pa55")
	db, err := Open(t.Context(), u.String(), Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open with an unknown role succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) || strings.Contains(err.Error(), "s3cr3t-Pa55") {
		t.Errorf("Open with an unknown role: %v, want ErrUnavailable without the password", err)
	}
}

// holdUser locks the user's row in a transaction of a connection of its
// own until the test ends.
func holdUser(t *testing.T, u string, id int64) {
	t.Helper()
	conn := rawConn(t, u)
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
}

func TestOperationTimeout(t *testing.T) {
	u := urlOf(t)
	const timeout = 300 * time.Millisecond
	db := open(t, u, Options{OpTimeout: timeout})
	alice := &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateUser(t.Context(), alice) }); err != nil {
		t.Fatal(err)
	}
	holdUser(t, u, alice.ID)
	lock := func(ctx context.Context) error {
		return db.Update(ctx, func(tx store.Tx) error {
			_, err := tx.LockUser(ctx, alice.ID)
			return err
		})
	}

	t.Run("a wait past the operation timeout is unavailable", func(t *testing.T) {
		start := time.Now()
		err := lock(t.Context())
		if took := time.Since(start); took < timeout || took > timeout+time.Second {
			t.Errorf("Update waiting for a held row returned after %v, want about %v", took, timeout)
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Update waiting for a held row: %v, want ErrUnavailable", err)
		}
	})
	t.Run("an earlier deadline of the caller wins", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := lock(ctx)
		if took := time.Since(start); took > timeout {
			t.Errorf("Update returned after %v, want about the caller's 50ms", took)
		}
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Update past the caller's deadline: %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
	t.Run("a caller that gives up is told so", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := lock(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Update canceled by its caller: %v, want context.Canceled, not ErrUnavailable", err)
		}
		ctx, cancel = context.WithCancel(t.Context())
		cancel()
		if _, err := db.UserByID(ctx, alice.ID); !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("UserByID with a canceled context: %v, want context.Canceled, not ErrUnavailable", err)
		}
	})
	t.Run("the store serves on", func(t *testing.T) {
		if got, err := db.UserByID(t.Context(), alice.ID); err != nil || got.Username != "alice" {
			t.Errorf("UserByID = %+v, %v", got, err)
		}
	})
}

func TestTxIsDeadAfterUpdate(t *testing.T) {
	db := openNew(t)
	var kept store.Tx
	if err := db.Update(t.Context(), func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.UserByID(t.Context(), 1); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID on a Tx after its Update: %v, want an error saying so", err)
	}
	err := kept.CreateUser(t.Context(), &store.User{User: shared.User{Username: "late", Role: shared.RoleViewer}})
	if err == nil {
		t.Error("CreateUser on a Tx after its Update succeeded")
	}
	if _, err := db.UserByUsername(t.Context(), "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByUsername(late): %v, want ErrNotFound", err)
	}
}

func TestPanicInUpdateReleasesItsConnection(t *testing.T) {
	db := open(t, urlOf(t), Options{MaxConns: 2})
	for range 5 {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic did not come through Update")
				}
			}()
			db.Update(t.Context(), func(tx store.Tx) error {
				if _, err := tx.LockAttempts(t.Context(), "account:alice"); err != nil {
					return err
				}
				panic("boom")
			})
		}()
	}
	err := db.Update(t.Context(), func(tx store.Tx) error {
		a, err := tx.LockAttempts(t.Context(), "account:alice")
		if err != nil {
			return err
		}
		a.Failures++
		return tx.SaveAttempts(t.Context(), a)
	})
	if err != nil {
		t.Errorf("Update after panics: %v", err)
	}
}

func TestTextPostgresCannotHold(t *testing.T) {
	db := openNew(t)
	ctx := t.Context()
	alice := &store.User{User: shared.User{Username: "alice", FullName: "Al\x00ice", Role: shared.RoleViewer}}
	s := &store.Session{ID: "s1", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
		UserAgent: "agent/1\x00 \xff\xfe", IP: "192.0.2.1"}
	e := &shared.AuditEvent{Actor: "m\x00allory\xc3", Action: shared.ActionLogin, Outcome: shared.OutcomeFailed}
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, alice); err != nil {
			return err
		}
		s.UserID = alice.ID
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		if err := tx.SaveAttempts(ctx, &store.Attempts{Key: "account:\x00\xff", Failures: 1, LastFailure: time.Now()}); err != nil {
			return err
		}
		return tx.AddAudit(ctx, e)
	})
	if err != nil {
		t.Fatalf("Update writing text with NUL bytes and invalid UTF-8: %v", err)
	}
	if got, err := db.UserByID(ctx, alice.ID); err != nil || got.FullName != "Al\uFFFDice" {
		t.Errorf("UserByID = %+v, %v; want the full name with U+FFFD for the NUL", got, err)
	}
	if got, err := db.SessionByID(ctx, "s1"); err != nil || got.UserAgent != "agent/1\uFFFD \uFFFD" {
		t.Errorf("SessionByID = %+v, %v; want the user agent with U+FFFD for what is not text", got, err)
	}
	if events, _, err := db.ListAudit(ctx, store.AuditFilter{Actor: "m\x00allory\xc3"}); err != nil || len(events) != 1 {
		t.Errorf("ListAudit by the same actor = %+v, %v; want the event", events, err)
	}
	if _, err := db.UserByUsername(ctx, "ali\x00ce"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByUsername with a NUL: %v, want ErrNotFound", err)
	}
	if users, _, err := db.ListUsers(ctx, store.UserFilter{Query: "\x00"}); err != nil || len(users) != 1 {
		t.Errorf("ListUsers matching a NUL: %d users, %v; want alice, whose name had one", len(users), err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		a, err := tx.LockAttempts(ctx, "account:\x00\xff")
		if err == nil && (a.Failures != 1 || a.Key != "account:\x00\xff") {
			err = fmt.Errorf("LockAttempts = %+v, want the failure saved under the key", a)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func TestConnectionSettings(t *testing.T) {
	const timeout = 1234 * time.Millisecond
	for _, tc := range []struct {
		name, query, app string
	}{
		{"defaults", "", "gatehouse"},
		{"an application name in the URL", "application_name=gatehouse-eu", "gatehouse-eu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(urlOf(t))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if tc.query != "" {
				k, v, _ := strings.Cut(tc.query, "=")
				q.Set(k, v)
			}
			u.RawQuery = q.Encode()
			db := open(t, u.String(), Options{OpTimeout: timeout, MaxConns: 3})
			if got := db.pool.Config().MaxConns; got != 3 {
				t.Errorf("MaxConns = %d, want 3", got)
			}
			for _, s := range []struct{ name, want string }{
				{"statement_timeout", "1235ms"},
				{"lock_timeout", "1235ms"},
				{"idle_in_transaction_session_timeout", "1235ms"},
				{"application_name", tc.app},
			} {
				var got string
				if err := db.pool.QueryRow(t.Context(), "SHOW "+s.name).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Errorf("%s = %q, want %q", s.name, got, s.want)
				}
			}
		})
	}
}

// TestQueriesFoldWithoutALocale checks ListUsers on a database whose
// LC_CTYPE is C, where lower() folds ASCII letters only: the store falls
// back on ICU.
func TestQueriesFoldWithoutALocale(t *testing.T) {
	admin := os.Getenv(pgtest.EnvURL)
	u := urlOf(t) // skips without a server, and makes sure it answers
	name := "gh_c_" + strings.TrimPrefix(u[strings.LastIndex(u, "/")+1:], "gh_")
	name, _, _ = strings.Cut(name, "?")
	conn := rawConn(t, admin)
	var icu bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')").Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("the server has no ICU")
	}
	if _, err := conn.Exec(t.Context(), "CREATE DATABASE "+name+" TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	cu, _ := url.Parse(u)
	cu.Path = "/" + name
	db := open(t, cu.String(), Options{})
	if db.fold == "" {
		t.Fatal("the store uses the database's lower(), which folds ASCII only")
	}
	err := db.Update(t.Context(), func(tx store.Tx) error {
		return tx.CreateUser(t.Context(), &store.User{User: shared.User{Username: "emile", FullName: "Émile Zola", Role: shared.RoleViewer}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ÉMILE", "émile", "ZOLA"} {
		if users, total, err := db.ListUsers(t.Context(), store.UserFilter{Query: q}); err != nil || total != 1 || len(users) != 1 {
			t.Errorf("ListUsers(%q) = %d users, total %d, %v; want emile", q, len(users), total, err)
		}
	}
}
