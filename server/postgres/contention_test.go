package postgres

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// TestContendedKeyRunsFewTimes checks the point of the advisory locks a
// run that follows a conflict takes before its snapshot: of n concurrent
// read-modify-writes of one new key, none is lost, none fails, and each
// runs about twice, not up to n times.
func TestContendedKeyRunsFewTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		inc  func(tx store.Tx, db *DB) error
		read func(db *DB) int
	}{
		{"attempts under a new key", func(tx store.Tx, db *DB) error {
			a, err := tx.LockAttempts(t.Context(), "account:alice")
			if err != nil {
				return err
			}
			a.Failures++
			a.LastFailure = time.Now()
			return tx.SaveAttempts(t.Context(), a)
		}, func(db *DB) (n int) {
			db.Update(t.Context(), func(tx store.Tx) error {
				a, err := tx.LockAttempts(t.Context(), "account:alice")
				n = a.Failures
				return err
			})
			return n
		}},
		{"a session's generation", func(tx store.Tx, db *DB) error {
			s, err := tx.LockSession(t.Context(), "s1")
			if err != nil {
				return err
			}
			s.RefreshGen++
			return tx.SaveSession(t.Context(), s)
		}, func(db *DB) int {
			s, err := db.SessionByID(t.Context(), "s1")
			if err != nil {
				t.Fatal(err)
			}
			return int(s.RefreshGen)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 50
			db := open(t, urlOf(t), Options{MaxConns: n})
			err := db.Update(t.Context(), func(tx store.Tx) error {
				u := &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}
				if err := tx.CreateUser(t.Context(), u); err != nil {
					return err
				}
				now := time.Now()
				return tx.CreateSession(t.Context(), &store.Session{ID: "s1", UserID: u.ID, CreatedAt: now,
					LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RefreshExpiresAt: now.Add(time.Hour), RotatedAt: now})
			})
			if err != nil {
				t.Fatal(err)
			}
			var runs atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, n)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					errs <- db.Update(t.Context(), func(tx store.Tx) error {
						runs.Add(1)
						return tc.inc(tx, db)
					})
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if got := tc.read(db); got != n {
				t.Errorf("%d increments left %d", n, got)
			}
			t.Logf("%d runs for %d transactions", runs.Load(), n)
			if runs.Load() > 3*n {
				t.Errorf("%d runs for %d transactions, want at most %d", runs.Load(), n, 3*n)
			}
		})
	}
}

// TestRetriesTakeLocksInTheirRunsOrder: every run of these transactions
// locks a user and then a throttle key — the order of a code check (at
// step-up and at sign-in). A run that follows a conflict takes the locks of
// the runs before it ahead of its snapshot, and must take them in that
// same order: in another (sorted by lock key, say) it holds the throttle
// key while waiting for the user, whom a first run holds while waiting for
// the throttle key. PostgreSQL breaks such a deadlock only after
// deadlock_timeout (1s), and the retry meets the next one: concurrent code
// checks of one account stalled for seconds and ran out of time (503).
func TestRetriesTakeLocksInTheirRunsOrder(t *testing.T) {
	const n = 20
	db := open(t, urlOf(t), Options{MaxConns: 4})
	u := &store.User{User: shared.User{Username: "alice", Role: shared.RoleViewer}}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateUser(t.Context(), u) }); err != nil {
		t.Fatal(err)
	}
	// A throttle key whose lock sorts before the user's: the order a sort
	// would put them in is the reverse of the runs'.
	userLock, key := lockKey("user", strconv.FormatInt(u.ID, 10)), ""
	for i := 0; key == ""; i++ {
		if k := "code:" + strconv.Itoa(i); lockKey("attempts", k) < userLock {
			key = k
		}
	}
	var runs atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for range n {
		wg.Go(func() {
			<-start
			errs <- db.Update(t.Context(), func(tx store.Tx) error {
				runs.Add(1)
				if _, err := tx.LockUser(t.Context(), u.ID); err != nil {
					return err
				}
				a, err := tx.LockAttempts(t.Context(), key)
				if err != nil {
					return err
				}
				a.Failures++
				a.LastFailure = time.Now()
				return tx.SaveAttempts(t.Context(), a)
			})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	took := time.Since(began)
	t.Logf("%d runs for %d transactions in %v", runs.Load(), n, took)
	if took >= time.Second {
		t.Errorf("%d transactions locking a user and then a key took %v: their retries met deadlocks (each broken only after deadlock_timeout)", n, took)
	}
}
