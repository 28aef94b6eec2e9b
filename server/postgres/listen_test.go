package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/store"
)

// listener runs db.Listen until the test ends and collects what it
// delivers.
type listener struct {
	mu       sync.Mutex
	payloads []string
	resyncs  atomic.Int64
	done     chan error
}

func listen(t *testing.T, db *DB) *listener {
	t.Helper()
	l := &listener{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		l.done <- db.Listen(ctx, func(p string) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.payloads = append(l.payloads, p)
		}, func() { l.resyncs.Add(1) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-l.done; err != nil && !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Listen: %v", err)
		}
	})
	return l
}

func (l *listener) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.payloads)
}

// await waits up to 5 s for the payloads delivered to be want.
func (l *listener) await(t *testing.T, want ...string) {
	t.Helper()
	if !eventually(5*time.Second, func() bool { return slices.Equal(l.got(), want) }) {
		t.Fatalf("delivered %q, want %q", l.got(), want)
	}
}

// notify sends payload in an Update that commits, or rolls back with
// errBoom when commit is false.
func notify(t *testing.T, db *DB, payload string, commit bool) {
	t.Helper()
	errBoom := errors.New("boom")
	err := db.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Notify(t.Context(), payload); err != nil {
			return err
		}
		if !commit {
			return errBoom
		}
		return nil
	})
	if commit && err != nil || !commit && err != errBoom {
		t.Fatalf("Update sending %q: %v", payload, err)
	}
}

// listening waits until n stores listen on the database: until each
// listener's connection has run a statement (LISTEN first) and is idle.
func listening(t *testing.T, db *DB, n int) {
	t.Helper()
	var got int
	ok := eventually(5*time.Second, func() bool {
		err := db.pool.QueryRow(t.Context(), `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'gatehouse listen'
				AND query <> '' AND state = 'idle'`).Scan(&got)
		return err == nil && got == n
	})
	if !ok {
		t.Fatalf("%d listeners on the database, want %d", got, n)
	}
}

func TestNotifyReachesListenersOnCommitOnly(t *testing.T) {
	u := urlOf(t)
	a, b := open(t, u, Options{}), open(t, u, Options{})
	la, lb := listen(t, a), listen(t, b)
	listening(t, a, 2)

	notify(t, b, "user:1", true)
	la.await(t, "user:1")
	lb.await(t, "user:1") // the sender's own instance hears it too

	notify(t, b, "user:2", false)
	notify(t, a, "session:s1", true)
	// Notifications arrive in commit order: had the rolled-back one been
	// sent, it would be here before the last.
	la.await(t, "user:1", "session:s1")
	lb.await(t, "user:1", "session:s1")

	long := fmt.Sprintf("%01000d", 7)
	notify(t, a, long, true)
	la.await(t, "user:1", "session:s1", long)
	if n := la.resyncs.Load() + lb.resyncs.Load(); n != 0 {
		t.Errorf("resync called %d times without an outage", n)
	}
}

func TestListenSurvivesTermination(t *testing.T) {
	u := urlOf(t)
	l := &logs{}
	a := open(t, u, Options{Logger: slog.New(l)})
	b := open(t, u, Options{})
	la := listen(t, a)
	listening(t, b, 1)
	notify(t, b, "before", true)
	la.await(t, "before")

	want := []string{"before"}
	for round := 1; round <= 2; round++ {
		var n int
		err := b.pool.QueryRow(t.Context(), `
			SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'gatehouse listen'`).Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("terminating the listener: %d backends, %v", n, err)
		}
		if !eventually(10*time.Second, func() bool { return la.resyncs.Load() == int64(round) }) {
			t.Fatalf("resync called %d times after %d terminations", la.resyncs.Load(), round)
		}
		listening(t, b, 1)
		// Awaited before the next termination, which may otherwise come
		// before the listener's backend passed it on: such a loss is what
		// resync is for.
		want = append(want, fmt.Sprint("after ", round))
		notify(t, b, want[len(want)-1], true)
		la.await(t, want...)
	}
	const down = "cache invalidation from other instances is down; cached state may be stale for up to the cache TTL"
	if l.count(slog.LevelWarn, down) != 2 || l.count(slog.LevelInfo, "cache invalidation from other instances is back") != 2 {
		t.Errorf("logged %q, want a warning and a recovery for each of the 2 terminations", l.all())
	}
}

func TestListenPingsAQuietConnection(t *testing.T) {
	u := urlOf(t)
	a, b := open(t, u, Options{}), open(t, u, Options{})
	a.heartbeat = 20 * time.Millisecond
	la := listen(t, a)
	listening(t, b, 1)
	time.Sleep(200 * time.Millisecond) // several heartbeats
	notify(t, b, "still there", true)
	la.await(t, "still there")
	if n := la.resyncs.Load(); n != 0 {
		t.Errorf("resync called %d times, want none: the connection was never lost", n)
	}
}

func TestListenEnds(t *testing.T) {
	db := openNew(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- db.Listen(ctx, func(string) {}, func() {}) }()
	listening(t, db, 1)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Listen when its context ends = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when its context ended")
	}

	go func() { done <- db.Listen(t.Context(), func(string) {}, func() {}) }()
	listening(t, db, 1)
	db.Close()
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Listen when the store closes = %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when the store closed")
	}
	if err := db.Listen(t.Context(), func(string) {}, func() {}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Listen on a closed store = %v, want ErrUnavailable", err)
	}
}
