// Package cache keeps the session and user state behind every
// authenticated request in memory for a bounded time, in front of a store.
//
// A Store wraps a store.Store explicitly: it implements store.Store itself,
// passing reads through, and every Update runs on a transaction wrapper that
// records which users and sessions it writes. When the transaction has
// committed, those entries are dropped before Update returns, so on this
// instance a change is seen by the very next request; the same list is
// announced to other instances through the store (Tx.Notify), which drop
// them too (Apply). An instance that may have missed announcements calls
// Flush. The TTL bounds staleness when announcements fail.
//
// Services are given the cache, never the store it wraps, so no write can
// reach the store around it.
package cache

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Store is a store.Store with cached reads of sessions and users.
type Store struct {
	next store.Store
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu       sync.RWMutex
	gen      uint64 // bumped by every invalidation
	sessions map[string]entry[store.Session]
	users    map[int64]entry[store.User]

	sessionHits, sessionMisses, userHits, userMisses atomic.Int64
}

// Stats counts the cached lookups answered from memory (hits) and from the
// store (misses) since the cache was made.
type Stats struct {
	SessionHits, SessionMisses, UserHits, UserMisses int64
}

// Stats returns the lookups so far.
func (c *Store) Stats() Stats {
	return Stats{
		SessionHits: c.sessionHits.Load(), SessionMisses: c.sessionMisses.Load(),
		UserHits: c.userHits.Load(), UserMisses: c.userMisses.Load(),
	}
}

var _ store.Store = (*Store)(nil)

type entry[T any] struct {
	v  T
	at time.Time
}

// New wraps next with a cache of at most max sessions and max users, each
// entry trusted for ttl. now may be nil (time.Now).
func New(next store.Store, ttl time.Duration, max int, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		next: next, ttl: ttl, max: max, now: now,
		sessions: make(map[string]entry[store.Session]),
		users:    make(map[int64]entry[store.User]),
	}
}

// Session returns the session, from the cache when the entry is younger
// than the TTL. The result is a copy.
func (c *Store) Session(ctx context.Context, id string) (*store.Session, error) {
	return lookup(c, c.sessions, id, &c.sessionHits, &c.sessionMisses, func() (*store.Session, error) { return c.next.SessionByID(ctx, id) })
}

// User returns the user, from the cache when the entry is younger than the
// TTL. The result is a copy.
func (c *Store) User(ctx context.Context, id int64) (*store.User, error) {
	return lookup(c, c.users, id, &c.userHits, &c.userMisses, func() (*store.User, error) { return c.next.UserByID(ctx, id) })
}

func lookup[K comparable, T any](c *Store, m map[K]entry[T], key K, hits, misses *atomic.Int64, load func() (*T, error)) (*T, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := m[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < c.ttl {
		hits.Add(1)
		v := e.v
		return &v, nil
	}
	misses.Add(1)
	v, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen { // nothing was invalidated while loading
		if len(m) >= c.max {
			clear(m)
		}
		m[key] = entry[T]{v: *v, at: now}
	}
	c.mu.Unlock()
	return v, nil
}

// Update runs fn in a transaction of the wrapped store and, once it has
// ended, forgets every user and session fn wrote (whether or not it
// committed: a failed commit may still have reached the database). The
// same list is announced to other instances from inside the transaction.
func (c *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var ch changes
	err := c.next.Update(ctx, func(tx store.Tx) error {
		ch = changes{} // fn may run more than once
		if err := fn(&recorder{tx: tx, ch: &ch}); err != nil {
			return err
		}
		if ch.empty() {
			return nil
		}
		return tx.Notify(ctx, ch.payload())
	})
	c.forget(&ch)
	return err
}

// Apply drops what an announcement from another instance names.
func (c *Store) Apply(payload string) {
	ch, ok := parse(payload)
	if !ok {
		c.Flush()
		return
	}
	c.forget(ch)
}

// Flush drops every entry.
func (c *Store) Flush() {
	c.mu.Lock()
	c.gen++
	clear(c.sessions)
	clear(c.users)
	c.mu.Unlock()
}

func (c *Store) forget(ch *changes) {
	if ch.empty() {
		return
	}
	if ch.all {
		c.Flush()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range ch.sessions {
		delete(c.sessions, id)
	}
	for _, uid := range ch.users {
		delete(c.users, uid)
		for k, e := range c.sessions {
			if e.v.UserID == uid {
				delete(c.sessions, k)
			}
		}
	}
}

// Reads pass through to the wrapped store, uncached: rules must see the
// stored state.

func (c *Store) UserByID(ctx context.Context, id int64) (*store.User, error) {
	return c.next.UserByID(ctx, id)
}

func (c *Store) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	return c.next.UserByUsername(ctx, username)
}

func (c *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	return c.next.ListUsers(ctx, f)
}

func (c *Store) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	return c.next.CountUsersByRole(ctx)
}

func (c *Store) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	return c.next.SessionByID(ctx, id)
}

func (c *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	return c.next.ListSessions(ctx, f)
}

func (c *Store) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	return c.next.CountActiveSessions(ctx, now)
}

func (c *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]shared.AuditEvent, int, error) {
	return c.next.ListAudit(ctx, f)
}

func (c *Store) CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error) {
	return c.next.CountSignIns(ctx, since)
}

// Ping checks the wrapped store.
func (c *Store) Ping(ctx context.Context) error { return c.next.Ping(ctx) }

// Close closes the wrapped store.
func (c *Store) Close() error { return c.next.Close() }

// changes lists what a transaction wrote that a cache may hold.
type changes struct {
	users    []int64
	sessions []string
	all      bool
}

func (ch *changes) empty() bool { return !ch.all && len(ch.users) == 0 && len(ch.sessions) == 0 }

// maxPayload keeps announcements within what a store's Notify takes;
// longer lists are announced as "flush everything".
const maxPayload = 900

// payload encodes ch as "u:1 u:2 s:abc", or "*" for everything.
func (ch *changes) payload() string {
	if ch.all {
		return "*"
	}
	var b strings.Builder
	for _, id := range ch.users {
		b.WriteString(" u:")
		b.WriteString(strconv.FormatInt(id, 10))
	}
	for _, id := range ch.sessions {
		b.WriteString(" s:")
		b.WriteString(id)
	}
	if b.Len() > maxPayload {
		return "*"
	}
	return strings.TrimPrefix(b.String(), " ")
}

// parse decodes a payload; ok is false for one it does not understand.
func parse(p string) (*changes, bool) {
	ch := &changes{}
	if p == "*" {
		ch.all = true
		return ch, true
	}
	for f := range strings.FieldsSeq(p) {
		kind, v, _ := strings.Cut(f, ":")
		switch kind {
		case "u":
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, false
			}
			ch.users = append(ch.users, id)
		case "s":
			if v == "" {
				return nil, false
			}
			ch.sessions = append(ch.sessions, v)
		default:
			return nil, false
		}
	}
	return ch, true
}
