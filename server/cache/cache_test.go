package cache_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gatehouse/server/cache"
	"gatehouse/server/clocktest"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// What the cache must never do: answer a request with a user or session
// older than a change this instance made, than a change another instance
// announced, or than the TTL.

var ctx = context.Background()

// ttl is long, and the clock stands still unless a test moves it, so that
// only an invalidation can make a cached entry be read again.
const ttl = time.Hour

// spy is a store that records the announcements of the transactions that
// commit, and can hold a read after it has loaded its row.
type spy struct {
	store.Store

	mu    sync.Mutex
	notes []string
	hold  chan struct{} // the next read waits for it to close …
	held  chan struct{} // … once it has loaded, which it says here
	// lostCommit makes the next Update report a failure although its
	// transaction committed, as when the connection breaks while the
	// commit is acknowledged.
	lostCommit bool
}

func (s *spy) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var notes []string
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		notes = nil
		return fn(&notifier{Tx: tx, notes: &notes})
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.notes = append(s.notes, notes...)
	}
	if err == nil && s.lostCommit {
		s.lostCommit = false
		return fmt.Errorf("commit: %w: connection reset", store.ErrUnavailable)
	}
	return err
}

// announced returns the payloads announced so far and forgets them.
func (s *spy) announced() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notes
	s.notes = nil
	return n
}

// holdNextRead makes the next read of a session or user wait, once it has
// loaded its row, until release is called.
func (s *spy) holdNextRead() (loaded <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.held = make(chan struct{}), make(chan struct{})
	hold := s.hold
	return s.held, func() { close(hold) }
}

func (s *spy) wait() {
	s.mu.Lock()
	hold, held := s.hold, s.held
	s.hold, s.held = nil, nil
	s.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
}

func (s *spy) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	sess, err := s.Store.SessionByID(ctx, id)
	s.wait()
	return sess, err
}

func (s *spy) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	s.wait()
	return u, err
}

type notifier struct {
	store.Tx
	notes *[]string
}

func (n *notifier) Notify(ctx context.Context, payload string) error {
	*n.notes = append(*n.notes, payload)
	return n.Tx.Notify(ctx, payload)
}

// fixture is one database with two instances in front of it, each with its
// own cache, and a user with a session.
type fixture struct {
	t     *testing.T
	db    *sqlite.DB
	spy   *spy
	a, b  *cache.Store
	user  *store.User
	sid   string
	clock *clocktest.Clock
	seq   int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clocktest.Start(time.Millisecond)
	f := &fixture{t: t, db: db, spy: &spy{Store: db}, clock: clk}
	f.a = cache.New(f.spy, ttl, 1024, clk.Now)
	f.b = cache.New(&spy{Store: db}, ttl, 1024, clk.Now)
	f.user = &store.User{User: shared.User{Username: "ann", Role: shared.RoleManager, CreatedAt: clk.Now(), UpdatedAt: clk.Now()}, PasswordHash: "hash"}
	f.around(func(tx store.Tx) error { return tx.CreateUser(ctx, f.user) })
	f.sid = f.newSession()
	return f
}

// newSession stores a new session of the fixture's user, around the caches.
func (f *fixture) newSession() string {
	f.t.Helper()
	f.seq++
	now := f.clock.Now()
	s := &store.Session{
		ID: fmt.Sprintf("session-%04d-of-a-realistic-length", f.seq), UserID: f.user.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(12 * time.Hour), RefreshSalt: []byte("0123456789abcdef"), RefreshExpiresAt: now.Add(12 * time.Hour), RotatedAt: now,
	}
	f.around(func(tx store.Tx) error { return tx.CreateSession(ctx, s) })
	return s.ID
}

// around writes to the database behind both caches' backs.
func (f *fixture) around(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.db.Update(ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// prime reads the user and the session through c, so that c holds them.
func (f *fixture) prime(c *cache.Store) {
	f.t.Helper()
	if _, err := c.User(ctx, f.user.ID); err != nil {
		f.t.Fatal(err)
	}
	if _, err := c.Session(ctx, f.sid); err != nil {
		f.t.Fatal(err)
	}
}

// state is what c answers for the fixture's user and session.
func (f *fixture) state(c *cache.Store) string {
	f.t.Helper()
	var user, sess string
	switch u, err := c.User(ctx, f.user.ID); {
	case errors.Is(err, store.ErrNotFound):
		user = "no user"
	case err != nil:
		f.t.Fatal(err)
	default:
		user = fmt.Sprintf("user disabled=%t", u.Disabled)
	}
	switch s, err := c.Session(ctx, f.sid); {
	case errors.Is(err, store.ErrNotFound):
		sess = "no session"
	case err != nil:
		f.t.Fatal(err)
	default:
		sess = fmt.Sprintf("session revoked=%t", s.RevokedAt != nil)
	}
	return user + ", " + sess
}

const fresh = "user disabled=false, session revoked=false"

// writes are the writes that change what a cache holds, each with what
// the cache must answer afterwards.
var writes = []struct {
	name  string
	write func(f *fixture, tx store.Tx) error
	want  string
}{
	{"saving a user", func(f *fixture, tx store.Tx) error {
		u, err := tx.LockUser(ctx, f.user.ID)
		if err != nil {
			return err
		}
		u.Disabled = true
		return tx.SaveUser(ctx, u)
	}, "user disabled=true, session revoked=false"},
	{"deleting a user", func(f *fixture, tx store.Tx) error {
		return tx.DeleteUser(ctx, f.user.ID)
	}, "no user, no session"},
	{"saving a session", func(f *fixture, tx store.Tx) error {
		s, err := tx.LockSession(ctx, f.sid)
		if err != nil {
			return err
		}
		now := f.clock.Now()
		s.RevokedAt, s.RevokedReason = &now, shared.RevokedByAdmin
		return tx.SaveSession(ctx, s)
	}, "user disabled=false, session revoked=true"},
	{"revoking a user's sessions", func(f *fixture, tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, f.user.ID, "", shared.RevokedByAdmin, f.clock.Now())
		return err
	}, "user disabled=false, session revoked=true"},
}

func TestAWriteAroundTheCacheIsNotSeenWithinTheTTL(t *testing.T) {
	// The premise of the tests below: the cache does hold what it read.
	t.Parallel()
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.prime(f.a)
			f.around(func(tx store.Tx) error { return w.write(f, tx) })
			if got := f.state(f.a); got != fresh {
				t.Fatalf("the cache answers %q, want the state it read, %q", got, fresh)
			}
		})
	}
}

func TestEveryWriteThroughTheCacheIsSeenByTheNextRead(t *testing.T) {
	t.Parallel()
	for _, w := range writes {
		t.Run(w.name+" is seen at once", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.prime(f.a)
			if err := f.a.Update(ctx, func(tx store.Tx) error { return w.write(f, tx) }); err != nil {
				t.Fatal(err)
			}
			if got := f.state(f.a); got != w.want {
				t.Fatalf("after %s the cache answers %q, want %q", w.name, got, w.want)
			}
		})
	}
}

func TestAWriteWhoseCommitWasReportedLostIsForgottenAnyway(t *testing.T) {
	// A commit that failed may still have reached the database: the cache
	// must not keep what the write may have changed.
	t.Parallel()
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.prime(f.a)
			f.spy.mu.Lock()
			f.spy.lostCommit = true
			f.spy.mu.Unlock()
			if err := f.a.Update(ctx, func(tx store.Tx) error { return w.write(f, tx) }); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Update: %v, want the lost commit's error", err)
			}
			if got := f.state(f.a); got != w.want {
				t.Fatalf("after %s whose commit was reported lost the cache answers %q, want %q", w.name, got, w.want)
			}
		})
	}
}

func TestAnnouncedWritesAreSeenByTheOtherInstance(t *testing.T) {
	t.Parallel()
	for _, w := range writes {
		t.Run(w.name+" on one instance is seen on the other", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.prime(f.b)
			if err := f.a.Update(ctx, func(tx store.Tx) error { return w.write(f, tx) }); err != nil {
				t.Fatal(err)
			}
			notes := f.spy.announced()
			if len(notes) != 1 {
				t.Fatalf("announced %q, want one announcement", notes)
			}
			f.b.Apply(notes[0])
			if got := f.state(f.b); got != w.want {
				t.Fatalf("after applying %q the other instance answers %q, want %q", notes[0], got, w.want)
			}
		})
	}
}

func TestAnnouncementsOfEverythingOrOfWhatIsNotUnderstoodDropEverything(t *testing.T) {
	t.Parallel()
	for name, drop := range map[string]func(c *cache.Store){
		`"*"`:                            func(c *cache.Store) { c.Apply("*") },
		"an unknown kind":                func(c *cache.Store) { c.Apply("x:1") },
		"a user id that is not a number": func(c *cache.Store) { c.Apply("u:ann") },
		"an empty session id":            func(c *cache.Store) { c.Apply("s:") },
		"a flush":                        func(c *cache.Store) { c.Flush() },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.prime(f.b)
			f.around(func(tx store.Tx) error { return writes[0].write(f, tx) }) // the user disabled
			f.around(func(tx store.Tx) error { return writes[2].write(f, tx) }) // the session revoked
			drop(f.b)
			if got, want := f.state(f.b), "user disabled=true, session revoked=true"; got != want {
				t.Fatalf("the instance answers %q, want %q", got, want)
			}
		})
	}
}

func TestALongListOfChangesIsAnnouncedAsEverything(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ids := []string{f.sid}
	for range 60 {
		ids = append(ids, f.newSession())
	}
	f.prime(f.b)
	err := f.a.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			s, err := tx.LockSession(ctx, id)
			if err != nil {
				return err
			}
			now := f.clock.Now()
			s.RevokedAt = &now
			if err := tx.SaveSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	notes := f.spy.announced()
	if len(notes) != 1 || len(notes[0]) > 900 {
		t.Fatalf("announced %d payloads of %d bytes, want one within the 900 bytes every store's Notify takes", len(notes), len(notes[0]))
	}
	f.b.Apply(notes[0])
	if got, want := f.state(f.b), "user disabled=false, session revoked=true"; got != want {
		t.Fatalf("after applying %q the other instance answers %q, want %q", notes[0], got, want)
	}
}

func TestAReadOverlappingAWriteDoesNotKeepWhatItRead(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		read  func(f *fixture) error
		write int // in writes
		want  string
	}{
		{"a session read while it is revoked", func(f *fixture) error { _, err := f.a.Session(ctx, f.sid); return err }, 2, "user disabled=false, session revoked=true"},
		{"a user read while they are disabled", func(f *fixture) error { _, err := f.a.User(ctx, f.user.ID); return err }, 0, "user disabled=true, session revoked=false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			loaded, release := f.spy.holdNextRead()
			done := make(chan error)
			go func() { done <- tt.read(f) }()
			select {
			case <-loaded: // the read has the row as it was before the write
			case <-time.After(10 * time.Second):
				t.Fatal("the read never reached the store")
			}
			if err := f.a.Update(ctx, func(tx store.Tx) error { return writes[tt.write].write(f, tx) }); err != nil {
				t.Fatal(err)
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := f.state(f.a); got != tt.want {
				t.Fatalf("after the write the cache answers %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntriesAreReadAgainOnceTheTTLHasPassed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.prime(f.a)
	f.around(func(tx store.Tx) error { return writes[2].write(f, tx) })
	f.clock.Advance(ttl - time.Millisecond)
	if got := f.state(f.a); got != fresh {
		t.Fatalf("within the TTL the cache answers %q, want %q", got, fresh)
	}
	f.clock.Advance(time.Millisecond)
	if got, want := f.state(f.a), "user disabled=false, session revoked=true"; got != want {
		t.Fatalf("at the TTL the cache answers %q, want %q", got, want)
	}
}
