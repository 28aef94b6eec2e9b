package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle limits failed sign-in attempts per key (a username, an IP
// address) with a token bucket: Burst failures are allowed at once, and one
// more is regained every Every. Successful sign-ins cost nothing.
type Throttle struct {
	burst int
	every time.Duration
	max   int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewThrottle returns a throttle allowing burst failures per key, regaining
// one every interval. It tracks at most max keys at once; keys whose
// bucket is full again are forgotten first.
func NewThrottle(burst int, every time.Duration, max int) *Throttle {
	return &Throttle{burst: burst, every: every, max: max, limiters: make(map[string]*rate.Limiter)}
}

// Wait returns how long the key must wait before it may try again; zero
// when it may try now.
func (t *Throttle) Wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	lim, ok := t.limiters[key]
	t.mu.Unlock()
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(t.every))
}

// Fail records a failed attempt for key.
func (t *Throttle) Fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lim, ok := t.limiters[key]
	if !ok {
		if len(t.limiters) >= t.max {
			t.prune(now)
		}
		lim = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.limiters[key] = lim
	}
	lim.AllowN(now, 1)
}

// prune forgets keys whose bucket has refilled, or all when none has.
func (t *Throttle) prune(now time.Time) {
	for k, lim := range t.limiters {
		if lim.TokensAt(now) >= float64(t.burst) {
			delete(t.limiters, k)
		}
	}
	if len(t.limiters) >= t.max {
		clear(t.limiters)
	}
}
