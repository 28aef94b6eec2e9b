package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"gatehouse/server/seal"
)

// TestUnknownUserRunsTheSameBcryptWork proves the code path, not the time:
// the check for an unknown user compares against a real bcrypt hash of the
// configured cost, exactly once, as the check of a wrong password does.
func TestUnknownUserRunsTheSameBcryptWork(t *testing.T) {
	const cost = 6
	p := NewPasswords(cost, 1, time.Second)
	var mu sync.Mutex
	var costs []int
	p.compare = func(hash, pw []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Errorf("compared against something that is not a bcrypt hash: %v", err)
		}
		mu.Lock()
		costs = append(costs, c)
		mu.Unlock()
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	ctx := context.Background()
	real, err := p.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Check(ctx, real, "wrong"); ok || err != nil {
		t.Fatalf("Check(wrong) = %v, %v", ok, err)
	}
	if err := p.CheckNothing(ctx, "wrong"); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckNothing(ctx, "the real password"); err != nil {
		t.Fatal(err)
	}
	if len(costs) != 3 || costs[0] != cost || costs[1] != cost || costs[2] != cost {
		t.Fatalf("bcrypt costs compared: %v, want [%d %d %d]", costs, cost, cost, cost)
	}
}

func TestPasswordHashesAreBounded(t *testing.T) {
	p := NewPasswords(4, 1, 50*time.Millisecond)
	ctx := context.Background()
	release, err := p.acquire(ctx) // the only slot is taken
	if err != nil {
		t.Fatal(err)
	}
	var be *BusyError
	if _, err := p.Hash(ctx, "password"); !errors.As(err, &be) || be.RetryAfter <= 0 {
		t.Fatalf("Hash with no free slot: %v, want *BusyError with a Retry-After", err)
	}
	if _, err := p.Check(ctx, "$2a$04$x", "password"); !errors.As(err, &be) {
		t.Fatalf("Check with no free slot: %v, want *BusyError", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewPasswords(4, 1, time.Hour).Hash(cancelled, "x"); err != nil {
		t.Fatalf("a free slot is taken even with an ended context: %v", err)
	}
	release()
	if _, err := p.Hash(ctx, "password"); err != nil {
		t.Fatalf("Hash once the slot is free: %v", err)
	}
	if NewPasswords(4, 0, time.Second).sem == nil || cap(NewPasswords(4, 0, time.Second).sem) != 1 {
		t.Fatal("a concurrency below 1 must mean 1")
	}
}

// testDataKeys returns a fresh data key for sealing second factors.
func testDataKeys(t testing.TB) *seal.Keys {
	t.Helper()
	k, err := seal.Parse(seal.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
