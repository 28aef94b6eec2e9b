package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt, never running more
// than a set number of hashes at once: bcrypt takes a whole core for a
// quarter of a second at cost 12, and a burst of sign-ins must not starve
// every other request. A hash that cannot start within the wait fails with
// *BusyError.
type Passwords struct {
	cost int
	wait time.Duration
	sem  chan struct{}

	// compare is bcrypt.CompareHashAndPassword; tests replace it to see
	// which hash each check used.
	compare func(hash, pw []byte) error

	dummyOnce sync.Once
	dummy     []byte
	dummyErr  error
}

// NewPasswords returns Passwords hashing at cost (bcrypt.DefaultCost when
// below bcrypt.MinCost), running at most concurrency hashes at once (at
// least one), and letting a hash wait at most wait for its turn.
func NewPasswords(cost, concurrency int, wait time.Duration) *Passwords {
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost
	}
	return &Passwords{
		cost: cost, wait: wait,
		sem:     make(chan struct{}, max(concurrency, 1)),
		compare: bcrypt.CompareHashAndPassword,
	}
}

// BusyError says that the server is too busy hashing passwords to take
// another one now.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string { return "too many password checks at once; try again shortly" }

// acquire waits for a hashing slot, at most p.wait.
func (p *Passwords) acquire(ctx context.Context) (release func(), err error) {
	select {
	case p.sem <- struct{}{}:
		return func() { <-p.sem }, nil
	default:
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return func() { <-p.sem }, nil
	case <-t.C:
		return nil, &BusyError{RetryAfter: time.Second}
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to hash a password: %w", ctx.Err())
	}
}

// Hash returns the bcrypt hash of pw.
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), p.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Check reports whether pw matches hash.
func (p *Passwords) Check(ctx context.Context, hash, pw string) (bool, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return p.compare([]byte(hash), []byte(pw)) == nil, nil
}

// CheckNothing does the work of a Check against a hash of the configured
// cost that matches no password, so that an unknown username takes as long
// to refuse as a wrong password.
func (p *Passwords) CheckNothing(ctx context.Context, pw string) error {
	p.dummyOnce.Do(func() {
		var h []byte
		h, p.dummyErr = bcrypt.GenerateFromPassword(randomBytes(32), p.cost)
		p.dummy = h
	})
	if p.dummyErr != nil {
		return errors.Join(errors.New("bcrypt cannot hash a random password"), p.dummyErr)
	}
	_, err := p.Check(ctx, string(p.dummy), pw)
	return err
}
