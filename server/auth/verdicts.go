package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// Verdicts remembers tokens that verified, keyed by the exact token string,
// until they expire. A token is presented many times before it slides, so
// this spares the HMAC and JSON work on all but the first. Memory is
// bounded: when full, expired entries are swept and, if that is not enough,
// everything is forgotten (the next request simply verifies again).
type Verdicts struct {
	mu      sync.RWMutex
	max     int
	entries map[string]verdict

	hits, misses atomic.Int64
}

// Stats returns how many lookups found a verdict (hits) and how many did
// not (misses) so far.
func (v *Verdicts) Stats() (hits, misses int64) { return v.hits.Load(), v.misses.Load() }

type verdict struct {
	claims *Claims
	exp    time.Time
}

// NewVerdicts returns a cache holding at most max tokens.
func NewVerdicts(max int) *Verdicts {
	if max < 1 {
		max = 1
	}
	return &Verdicts{max: max, entries: make(map[string]verdict)}
}

// Get returns the claims of raw if it verified before and its exp is after
// now. The claims are shared: callers must not modify them.
func (v *Verdicts) Get(raw string, now time.Time) (*Claims, bool) {
	v.mu.RLock()
	e, ok := v.entries[raw]
	v.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		v.misses.Add(1)
		return nil, false
	}
	v.hits.Add(1)
	return e.claims, true
}

// Put remembers that raw verified with claims c until exp.
func (v *Verdicts) Put(raw string, c *Claims, exp, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		for k, e := range v.entries {
			if !now.Before(e.exp) {
				delete(v.entries, k)
			}
		}
		if len(v.entries) >= v.max {
			clear(v.entries)
		}
	}
	v.entries[raw] = verdict{claims: c, exp: exp}
}

// Clear forgets every verdict.
func (v *Verdicts) Clear() {
	v.mu.Lock()
	clear(v.entries)
	v.mu.Unlock()
}

// Len returns how many tokens are remembered.
func (v *Verdicts) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.entries)
}
