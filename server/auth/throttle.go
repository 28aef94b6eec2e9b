package auth

import (
	"context"
	"fmt"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Lockout turns failed attempts under a throttle key into lockouts, as
// OWASP's device-cookie scheme describes: Free failures cost nothing;
// from the Free-th on, each failure locks the key for Base, doubled with
// every further failure, at most Max. A key whose last failure is older
// than Forget starts over.
type Lockout struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// fresh returns a with its failures dropped when they are too old to count.
func (l Lockout) fresh(a *store.Attempts, now time.Time) *store.Attempts {
	if a.Failures > 0 && now.Sub(a.LastFailure) >= l.Forget {
		return &store.Attempts{Key: a.Key}
	}
	return a
}

// Until returns when the key's lockout ends: the zero time when it is not
// locked.
func (l Lockout) Until(a *store.Attempts) time.Time {
	if a.Failures < l.Free || a.Failures == 0 {
		return time.Time{}
	}
	d := l.Base
	for i := l.Free; i < a.Failures && d < l.Max; i++ {
		d *= 2
	}
	return a.LastFailure.Add(min(d, l.Max))
}

// lockedFor returns how long a key whose fresh attempts are a stays
// locked at now: 0 when it is not locked.
func (l Lockout) lockedFor(a *store.Attempts, now time.Time) time.Duration {
	if until := l.Until(a); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

// A throttle key with the lockout rules that apply to it.
type key struct {
	name string
	rule Lockout
}

// reserve checks every key and, unless one is locked, counts one failure
// against each before the attempt is made: N concurrent attempts cost N,
// whatever their outcome, because each is counted in the transaction that
// checked. A successful attempt gives its failure back (release). It
// returns the lockout that refused the attempt, if any, and the keys that
// this failure locked (for the audit log).
func reserve(ctx context.Context, tx store.Tx, keys []key, now time.Time) (wait time.Duration, locked []key, err error) {
	counts := make([]*store.Attempts, len(keys))
	for i, k := range keys {
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil {
			return 0, nil, fmt.Errorf("throttle: %w", err)
		}
		counts[i] = k.rule.fresh(a, now)
		wait = max(wait, k.rule.lockedFor(counts[i], now))
	}
	if wait > 0 {
		return wait, nil, nil
	}
	for i, k := range keys {
		a := counts[i]
		if err := fail(ctx, tx, a, now); err != nil {
			return 0, nil, err
		}
		if !k.rule.Until(a).IsZero() {
			locked = append(locked, k)
		}
	}
	return 0, locked, nil
}

// count counts one failure against k, whether or not it is locked.
func count(ctx context.Context, tx store.Tx, k key, now time.Time) error {
	a, err := tx.LockAttempts(ctx, k.name)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return fail(ctx, tx, k.rule.fresh(a, now), now)
}

func fail(ctx context.Context, tx store.Tx, a *store.Attempts, now time.Time) error {
	a.Failures++
	a.LastFailure = now
	if err := tx.SaveAttempts(ctx, a); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// release gives back the failure reserve counted against each key; with
// reset, the key's failures are forgotten altogether (a successful sign-in
// clears its account or device).
func release(ctx context.Context, tx store.Tx, keys []key, reset bool) error {
	for _, k := range keys {
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		if reset {
			a.Failures = 0
		} else {
			a.Failures = max(a.Failures-1, 0)
		}
		if err := tx.SaveAttempts(ctx, a); err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
	}
	return nil
}

// auditLockouts records each key that a failure has just locked.
func auditLockouts(ctx context.Context, tx store.Tx, locked []key, actor, ip string, now time.Time) error {
	for _, k := range locked {
		a, err := tx.LockAttempts(ctx, k.name)
		if err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		d := k.rule.Until(a).Sub(now).Round(time.Second)
		e := &shared.AuditEvent{Time: now, Actor: actor, Action: shared.ActionLockout, Target: k.name, IP: ip, Outcome: shared.OutcomeDenied,
			Detail: fmt.Sprintf("locked for %v after %d failures", d, a.Failures)}
		if err := tx.AddAudit(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
