// Package clocktest provides the clock the server's tests share: it stands
// still until a test moves it, and is safe to read from the server's
// goroutines while the test moves it.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a settable clock. Its Now method is the func() time.Time the
// server's constructors take.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Start returns a clock standing at the present, truncated to precision
// so that times survive a round trip through a store unchanged.
func Start(precision time.Duration) *Clock {
	return New(time.Now().UTC().Truncate(precision))
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
