package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var purgeTests = []test{
	{"Purge removes sessions that ended, throttle keys, challenges that expired and audit events older than their limits, and nothing else", testPurge},
	{"Purge with zero times removes nothing", testPurgeNothing},
}

// purgeSet makes, around the cut-off base: sessions expired or revoked
// before it (gone) and after it, or active (kept); throttle keys, sign-in
// challenges (see purgeChallenges) and audit events on either side.
func (f *fixture) purgeSet() (gone, kept []string) {
	f.t.Helper()
	u := f.user("alice", shared.RoleViewer)
	day := 24 * time.Hour
	mk := func(name string, created time.Time, modify func(*store.Session)) string {
		return f.session(u, created, func(s *store.Session) {
			s.ID = name
			if modify != nil {
				modify(s)
			}
		}).ID
	}
	expiredLongAgo := mk("expired-long-ago", base.Add(-40*day), func(s *store.Session) { s.ExpiresAt = base.Add(-30 * day) })
	revokedLongAgo := mk("revoked-long-ago", base.Add(-10*day), revokedAs(shared.RevokedLogout, base.Add(-9*day)))
	expiredLately := mk("expired-lately", base.Add(-2*day), func(s *store.Session) { s.ExpiresAt = base.Add(time.Hour) })
	revokedLately := mk("revoked-lately", base.Add(-10*day), revokedAs(shared.RevokedLogout, base.Add(time.Hour)))
	active := mk("active-and-old", base.Add(-60*day), func(s *store.Session) { s.ExpiresAt = base.Add(10 * day) })
	for _, a := range []*store.Attempts{
		{Key: "user:old", Failures: 3, LastFailure: base.Add(-time.Minute)},
		{Key: "user:new", Failures: 3, LastFailure: base.Add(time.Minute)},
	} {
		f.saveAttempts(a)
	}
	for _, e := range []*shared.AuditEvent{
		{Time: base.Add(-time.Second), Actor: "old", Action: shared.ActionLogin},
		{Time: base.Add(time.Second), Actor: "new", Action: shared.ActionLogin},
	} {
		f.audit(e)
	}
	for id, expires := range purgeChallenges {
		f.challenge(u, expires.Add(-5*time.Minute), func(c *store.Challenge) {
			c.ID, c.ExpiresAt = id, expires
			if id == "used-and-expired" {
				c.Attempts, c.UsedAt = 1, ptr(expires.Add(-time.Minute))
			}
		})
	}
	return []string{expiredLongAgo, revokedLongAgo}, []string{expiredLately, revokedLately, active}
}

// purgeChallenges are the challenges purgeSet makes, by ID, with when they
// expire; those that expired before base go.
var purgeChallenges = map[string]time.Time{
	"expired-long-ago":          base.Add(-time.Hour),
	"used-and-expired":          base.Add(-time.Millisecond),
	"expires-at-the-cut-off":    base,
	"expires-after-the-cut-off": base.Add(time.Millisecond),
	"live":                      base.Add(5 * time.Minute),
}

// wantChallenges checks which of purgeChallenges are left: those that
// expired before cut (none when cut is zero).
func (f *fixture) wantChallenges(cut time.Time) {
	f.t.Helper()
	for id, expires := range purgeChallenges {
		_, err := f.getChallenge(id)
		switch gone := !cut.IsZero() && expires.Before(cut); {
		case gone && !errors.Is(err, store.ErrNotFound):
			f.t.Errorf("challenge %s, expired at %v, is still there (%v)", id, expires, err)
		case !gone && err != nil:
			f.t.Errorf("challenge %s, expiring at %v: %v, want it kept", id, expires, err)
		}
	}
}

func testPurge(t *testing.T, f *fixture) {
	gone, kept := f.purgeSet()
	var got store.Purged
	f.update(func(tx store.Tx) (err error) {
		got, err = tx.Purge(f.ctx, store.PurgeBefore{Sessions: base, Attempts: base, Audit: base})
		return err
	})
	if want := (store.Purged{Sessions: 2, Attempts: 1, Audit: 1, Challenges: 2}); got != want {
		t.Errorf("Purge counted %+v, want %+v", got, want)
	}
	sessions, _, err := f.s.ListSessions(f.ctx, store.SessionFilter{})
	f.must(err, "ListSessions")
	left := sessionIDs(sessions)
	for _, id := range gone {
		if slices.Contains(left, id) {
			t.Errorf("session %s is still there", id)
		}
	}
	for _, id := range kept {
		if !slices.Contains(left, id) {
			t.Errorf("session %s was removed", id)
		}
	}
	if a := f.attempts("user:old"); a.Failures != 0 {
		t.Errorf("user:old still has %d failures", a.Failures)
	}
	if a := f.attempts("user:new"); a.Failures != 3 {
		t.Errorf("user:new has %d failures, want 3", a.Failures)
	}
	events, total, err := f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit")
	if total != 1 || events[0].Actor != "new" {
		t.Errorf("audit left: %+v, want only the new event", events)
	}
	f.wantChallenges(base)

	// Challenges go by the attempts' limit, not the sessions'.
	f.update(func(tx store.Tx) (err error) {
		got, err = tx.Purge(f.ctx, store.PurgeBefore{Sessions: base.Add(time.Hour), Audit: base.Add(time.Hour)})
		return err
	})
	if got.Challenges != 0 {
		t.Errorf("Purge without an attempts' limit removed %d challenges", got.Challenges)
	}
	f.wantChallenges(base)
}

func testPurgeNothing(t *testing.T, f *fixture) {
	f.purgeSet()
	var got store.Purged
	f.update(func(tx store.Tx) (err error) {
		got, err = tx.Purge(f.ctx, store.PurgeBefore{})
		return err
	})
	if got != (store.Purged{}) {
		t.Errorf("Purge of nothing counted %+v", got)
	}
	if _, total, _ := f.s.ListSessions(f.ctx, store.SessionFilter{}); total != 5 {
		t.Errorf("%d sessions left, want 5", total)
	}
	f.wantChallenges(time.Time{})
}
