package postgres

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/postgres/pgtest"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// TestOutage puts a forwarder between a store and PostgreSQL, cuts or
// stalls it, and checks that calls fail with ErrUnavailable within the
// operation timeout rather than hang, that the listener notices, and that
// everything works again once the network is back, without reopening.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outage  func(f *pgtest.Forwarder)
		listens bool // whether the listener is sure to notice
	}{
		{"the server goes away", (*pgtest.Forwarder).Cut, true},
		{"the network goes silent", (*pgtest.Forwarder).Stall, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 500 * time.Millisecond
			fwd, u := pgtest.NewForwarder(t, urlOf(t))
			l := &logs{}
			db := open(t, u, Options{OpTimeout: timeout, Logger: slog.New(l)})
			ctx := t.Context()
			var alice *store.User
			err := db.Update(ctx, func(tx store.Tx) error {
				alice = &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}
				return tx.CreateUser(ctx, alice)
			})
			if err != nil {
				t.Fatal(err)
			}
			var resyncs atomic.Int64
			listening := make(chan error, 1)
			go func() { listening <- db.Listen(ctx, func(string) {}, func() { resyncs.Add(1) }) }()

			calls := []struct {
				name string
				call func() error
			}{
				{"Ping", func() error { return db.Ping(ctx) }},
				{"UserByID", func() error { _, err := db.UserByID(ctx, alice.ID); return err }},
				{"ListUsers", func() error { _, _, err := db.ListUsers(ctx, store.UserFilter{}); return err }},
				{"Update", func() error {
					return db.Update(ctx, func(tx store.Tx) error {
						u, err := tx.LockUser(ctx, alice.ID)
						if err != nil {
							return err
						}
						u.FullName += "x"
						return tx.SaveUser(ctx, u)
					})
				}},
			}
			for _, c := range calls {
				if err := c.call(); err != nil {
					t.Fatalf("%s before the outage: %v", c.name, err)
				}
			}

			tc.outage(fwd)
			for _, c := range calls {
				start := time.Now()
				err := c.call()
				took := time.Since(start)
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s during the outage: %v, want ErrUnavailable", c.name, err)
				}
				if took > timeout+time.Second {
					t.Errorf("%s during the outage took %v, want about the operation timeout %v", c.name, took, timeout)
				}
			}
			// An Update in progress when the network goes.
			fwd.Restore()
			err = db.Update(ctx, func(tx store.Tx) error {
				if _, err := tx.LockUser(ctx, alice.ID); err != nil {
					return err
				}
				tc.outage(fwd)
				_, err := tx.UserByID(ctx, alice.ID)
				return err
			})
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Update losing the network midway: %v, want ErrUnavailable", err)
			}
			const down = "cache invalidation from other instances is down; cached state may be stale for up to the cache TTL"
			if tc.listens && !eventually(5*time.Second, func() bool { return l.count(slog.LevelWarn, down) == 1 }) {
				t.Errorf("the listener did not warn that it is down: logged %q", l.all())
			}

			fwd.Restore()
			for _, c := range calls {
				var err error
				// Connections broken by the outage may fail a call each
				// before the pool drops them.
				tries := 0
				if !eventually(3*time.Second, func() bool { tries++; err = c.call(); return err == nil }) {
					t.Errorf("%s after the outage: %v", c.name, err)
				}
				if tries > 1 {
					t.Logf("%s after the outage succeeded on try %d", c.name, tries)
				}
			}
			if tc.listens {
				if !eventually(10*time.Second, func() bool { return resyncs.Load() == 1 }) {
					t.Errorf("the listener called resync %d times after the outage, want once", resyncs.Load())
				}
				if n := l.count(slog.LevelInfo, "cache invalidation from other instances is back"); n != 1 {
					t.Errorf("the listener said it is back %d times, want once: logged %q", n, l.all())
				}
				if n := l.count(slog.LevelWarn, down); n != 1 {
					t.Errorf("the listener warned %d times, want once: logged %q", n, l.all())
				}
			}
			db.Close()
			if err := <-listening; !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Listen after Close = %v, want ErrUnavailable", err)
			}
		})
	}
}
