package auth

import (
	"context"
	"sync"
	"time"

	"gatehouse/server/store"
)

// State wraps a store.Store for the per-request checks. Session and User
// answer from a cache whose entries are at most TTL old; every write made
// through State that changes whether a session or user may act (revoking,
// disabling, demoting, deleting, changing a password) drops the affected
// entries before it returns, so on this instance a change is seen by the
// very next request. Another instance sharing the database sees it within
// TTL.
//
// Use the State in place of the store it wraps, so that no such write can
// bypass it.
type State struct {
	store.Store

	ttl time.Duration
	max int
	now func() time.Time

	mu       sync.RWMutex
	gen      uint64 // bumped by every invalidation
	sessions map[string]cached[store.Session]
	users    map[int64]cached[store.User]
}

type cached[T any] struct {
	v  T
	at time.Time
}

// NewState wraps s with a cache of at most max sessions and max users,
// each entry trusted for ttl. now may be nil (time.Now).
func NewState(s store.Store, ttl time.Duration, max int, now func() time.Time) *State {
	if now == nil {
		now = time.Now
	}
	return &State{
		Store: s, ttl: ttl, max: max, now: now,
		sessions: make(map[string]cached[store.Session]),
		users:    make(map[int64]cached[store.User]),
	}
}

// CachedSession returns the session, from the cache when the entry is fresh.
// The result is a copy.
func (st *State) CachedSession(ctx context.Context, id string) (*store.Session, error) {
	return lookup(st, st.sessions, id, func() (*store.Session, error) { return st.Store.SessionByID(ctx, id) })
}

// CachedUser returns the user, from the cache when the entry is fresh. The
// result is a copy.
func (st *State) CachedUser(ctx context.Context, id int64) (*store.User, error) {
	return lookup(st, st.users, id, func() (*store.User, error) { return st.Store.UserByID(ctx, id) })
}

func lookup[K comparable, T any](st *State, m map[K]cached[T], key K, load func() (*T, error)) (*T, error) {
	now := st.now()
	st.mu.RLock()
	e, ok := m[key]
	gen := st.gen
	st.mu.RUnlock()
	if ok && now.Sub(e.at) < st.ttl {
		v := e.v
		return &v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	if st.gen == gen { // nothing was invalidated while loading
		if len(m) >= st.max {
			clear(m)
		}
		m[key] = cached[T]{v: *v, at: now}
	}
	st.mu.Unlock()
	return v, nil
}

// ForgetSession drops a session from the cache.
func (st *State) ForgetSession(id string) {
	st.mu.Lock()
	st.gen++
	delete(st.sessions, id)
	st.mu.Unlock()
}

// ForgetUser drops a user and all of their sessions from the cache.
func (st *State) ForgetUser(id int64) {
	st.mu.Lock()
	st.gen++
	delete(st.users, id)
	for k, e := range st.sessions {
		if e.v.UserID == id {
			delete(st.sessions, k)
		}
	}
	st.mu.Unlock()
}

// UpdateUser updates the user and forgets them.
func (st *State) UpdateUser(ctx context.Context, id int64, upd store.UserUpdate, now time.Time) (*store.User, error) {
	defer st.ForgetUser(id)
	return st.Store.UpdateUser(ctx, id, upd, now)
}

// SetPassword sets the password, revoking the user's other sessions, and
// forgets the user.
func (st *State) SetPassword(ctx context.Context, id int64, hash, keep, reason string, now time.Time) error {
	defer st.ForgetUser(id)
	return st.Store.SetPassword(ctx, id, hash, keep, reason, now)
}

// DeleteUser deletes the user and forgets them.
func (st *State) DeleteUser(ctx context.Context, id int64) error {
	defer st.ForgetUser(id)
	return st.Store.DeleteUser(ctx, id)
}

// RevokeSession revokes the session and forgets it.
func (st *State) RevokeSession(ctx context.Context, id, reason string, now time.Time) error {
	defer st.ForgetSession(id)
	return st.Store.RevokeSession(ctx, id, reason, now)
}

// RevokeUserSessions revokes the user's sessions and forgets the user.
func (st *State) RevokeUserSessions(ctx context.Context, userID int64, except, reason string, now time.Time) ([]string, error) {
	defer st.ForgetUser(userID)
	return st.Store.RevokeUserSessions(ctx, userID, except, reason, now)
}
