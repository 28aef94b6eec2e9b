package auth

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt.
type Passwords struct {
	// Cost is the bcrypt cost; values below bcrypt.MinCost use
	// bcrypt.DefaultCost.
	Cost int

	dummyOnce sync.Once
	dummy     []byte
}

// Hash returns the bcrypt hash of pw.
func (p *Passwords) Hash(pw string) (string, error) {
	cost := p.Cost
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Check reports whether pw matches hash.
func (p *Passwords) Check(hash, pw string) bool {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
	return err == nil
}

// CheckNothing spends the time a real check would, so that an unknown
// username answers as slowly as a wrong password.
func (p *Passwords) CheckNothing(pw string) {
	p.dummyOnce.Do(func() {
		h, err := p.Hash("not a password anyone has")
		if err != nil {
			panic(errors.New("bcrypt cannot hash a constant"))
		}
		p.dummy = []byte(h)
	})
	_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(pw))
}
