package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var txTests = []test{
	{"Update rolls back every write of fn when fn returns an error", testRollback},
	{"Update returns exactly the error fn returns", testUpdateReturnsFnError},
	{"reads in a transaction see the transaction's own earlier writes", testReadOwnWrites},
	{"reads through the store see a transaction's writes only once it commits", testUncommittedInvisible},
	{"Update works on after many transactions that failed", testUpdateAfterFailures},
}

// state is what a store holds, as far as the transaction tests look.
type state struct {
	users    []*store.User
	roles    map[shared.Role]int
	sessions []*store.Session
	active   int
	attempts map[string]*store.Attempts
	events   []shared.AuditEvent
	signIns  []shared.HourCount
	admins   []int64
	// codes counts the recovery codes of each user, by username;
	// challenge is populateChallenge, nil when there is none.
	codes     map[string]int
	challenge *store.Challenge
}

// populateChallenge is the ID of the challenge populate makes.
const populateChallenge = "challenge-of-alice"

// attemptKeys are the keys state reads.
var attemptKeys = []string{"account:alice", "account:bob", "account:carol"}

// state reads what the store holds.
func (f *fixture) state() *state {
	f.t.Helper()
	var s state
	var err error
	s.users, _, err = f.s.ListUsers(f.ctx, store.UserFilter{})
	f.must(err, "ListUsers")
	s.roles, err = f.s.CountUsersByRole(f.ctx)
	f.must(err, "CountUsersByRole")
	s.sessions, _, err = f.s.ListSessions(f.ctx, store.SessionFilter{})
	f.must(err, "ListSessions")
	s.active, err = f.s.CountActiveSessions(f.ctx, base)
	f.must(err, "CountActiveSessions")
	s.attempts = map[string]*store.Attempts{}
	for _, k := range attemptKeys {
		s.attempts[k] = f.attempts(k)
	}
	s.events, _, err = f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit")
	s.signIns, err = f.s.CountSignIns(f.ctx, base.Add(-24*time.Hour))
	f.must(err, "CountSignIns")
	s.admins = f.enabledAdmins()
	s.codes = map[string]int{}
	for _, u := range s.users {
		s.codes[u.Username] = f.codesLeft(u.ID)
	}
	c, err := f.getChallenge(populateChallenge)
	if !errors.Is(err, store.ErrNotFound) {
		f.must(err, "LockChallenge")
		s.challenge = c
	}
	return &s
}

// checkState reports every difference between got and want.
func checkState(t *testing.T, got, want *state) {
	t.Helper()
	if !slices.Equal(usernames(got.users), usernames(want.users)) {
		t.Errorf("users %q, want %q", usernames(got.users), usernames(want.users))
	} else {
		for i := range got.users {
			checkUser(t, got.users[i], want.users[i])
		}
	}
	for _, r := range shared.Roles {
		if got.roles[r] != want.roles[r] {
			t.Errorf("CountUsersByRole: %s = %d, want %d", r, got.roles[r], want.roles[r])
		}
	}
	if !slices.Equal(sessionIDs(got.sessions), sessionIDs(want.sessions)) {
		t.Errorf("sessions %q, want %q", sessionIDs(got.sessions), sessionIDs(want.sessions))
	} else {
		for i := range got.sessions {
			checkSession(t, got.sessions[i], want.sessions[i])
		}
	}
	if got.active != want.active {
		t.Errorf("CountActiveSessions = %d, want %d", got.active, want.active)
	}
	for _, k := range attemptKeys {
		checkAttempts(t, got.attempts[k], want.attempts[k])
	}
	if len(got.events) != len(want.events) {
		t.Errorf("%d audit events, want %d", len(got.events), len(want.events))
	} else {
		for i := range got.events {
			checkEvent(t, got.events[i], want.events[i])
		}
	}
	if !slices.EqualFunc(got.signIns, want.signIns, func(a, b shared.HourCount) bool {
		return a.Hour.Equal(b.Hour) && a.OK == b.OK && a.Failed == b.Failed
	}) {
		t.Errorf("CountSignIns = %+v, want %+v", got.signIns, want.signIns)
	}
	if !slices.Equal(got.admins, want.admins) {
		t.Errorf("LockEnabledAdmins = %v, want %v", got.admins, want.admins)
	}
	if !maps.Equal(got.codes, want.codes) {
		t.Errorf("recovery codes left = %v, want %v", got.codes, want.codes)
	}
	switch {
	case (got.challenge == nil) != (want.challenge == nil):
		t.Errorf("challenge %s: %+v, want %+v", populateChallenge, got.challenge, want.challenge)
	case got.challenge != nil:
		checkChallenge(t, got.challenge, want.challenge)
	}
}

// populate fills the store with two users, their sessions, attempts and
// audit events, and returns the users and sessions.
func (f *fixture) populate() (alice, bob *store.User, ss []*store.Session) {
	f.t.Helper()
	alice = f.user("alice", shared.RoleViewer)
	bob = f.user("bob", shared.RoleAdmin)
	ss = []*store.Session{
		f.session(alice, base, nil),
		f.session(alice, base.Add(time.Minute), nil),
		f.session(bob, base.Add(2*time.Minute), nil),
	}
	f.saveAttempts(&store.Attempts{Key: "account:alice", Failures: 2, LastFailure: base})
	f.saveAttempts(&store.Attempts{Key: "account:bob", Failures: 1, LastFailure: base})
	f.audit(&shared.AuditEvent{Time: base, Actor: "alice", Action: shared.ActionLogin, Outcome: shared.OutcomeOK})
	f.replaceCodes(alice.ID, codes("a1", "a2", "a3"))
	f.replaceCodes(bob.ID, codes("b1"))
	f.challenge(alice, base, func(c *store.Challenge) { c.ID = populateChallenge })
	return alice, bob, ss
}

// writeAll makes every kind of write the store has, in tx.
func writeAll(ctx context.Context, tx store.Tx, alice, bob *store.User, ss []*store.Session) error {
	carol := newUser("carol", shared.RoleAdmin)
	if err := tx.CreateUser(ctx, carol); err != nil {
		return fmt.Errorf("CreateUser: %w", err)
	}
	if err := tx.CreateSession(ctx, newSession(carol, base.Add(time.Hour))); err != nil {
		return fmt.Errorf("CreateSession: %w", err)
	}
	a := *alice
	a.Role, a.FullName, a.PasswordHash, a.UpdatedAt = shared.RoleAdmin, "Changed", "changed", base.Add(time.Hour)
	a.MustChangePassword, a.TOTP = true, store.TOTP{Secret: []byte("secret"), KeyID: "k", LastStep: 7}
	if err := tx.SaveUser(ctx, &a); err != nil {
		return fmt.Errorf("SaveUser: %w", err)
	}
	s := *ss[0]
	s.RefreshGen, s.RotatedAt = s.RefreshGen+1, base.Add(time.Hour)
	s.AMR, s.AuthTime = []string{"pwd", "otp"}, base.Add(time.Hour)
	if err := tx.SaveSession(ctx, &s); err != nil {
		return fmt.Errorf("SaveSession: %w", err)
	}
	if _, err := tx.RevokeSessions(ctx, alice.ID, s.ID, shared.RevokedPasswordChange, base.Add(time.Hour)); err != nil {
		return fmt.Errorf("RevokeSessions: %w", err)
	}
	if used, _, err := tx.ConsumeRecoveryCode(ctx, alice.ID, code("a2")); err != nil || !used {
		return fmt.Errorf("ConsumeRecoveryCode = %t, %w", used, err)
	}
	if err := tx.ReplaceRecoveryCodes(ctx, carol.ID, codes("c1", "c2")); err != nil {
		return fmt.Errorf("ReplaceRecoveryCodes: %w", err)
	}
	c, err := tx.LockChallenge(ctx, populateChallenge)
	if err != nil {
		return fmt.Errorf("LockChallenge: %w", err)
	}
	c.Attempts, c.UsedAt = c.Attempts+1, ptr(base.Add(time.Hour))
	if err := tx.SaveChallenge(ctx, c); err != nil {
		return fmt.Errorf("SaveChallenge: %w", err)
	}
	if err := tx.CreateChallenge(ctx, newChallenge(carol, base)); err != nil {
		return fmt.Errorf("CreateChallenge: %w", err)
	}
	if err := tx.DeleteUser(ctx, bob.ID); err != nil {
		return fmt.Errorf("DeleteUser: %w", err)
	}
	for _, a := range []*store.Attempts{
		{Key: "account:alice", Failures: 3, LastFailure: base.Add(time.Hour)},
		{Key: "account:bob"},
		{Key: "account:carol", Failures: 1, LastFailure: base.Add(time.Hour)},
	} {
		if err := tx.SaveAttempts(ctx, a); err != nil {
			return fmt.Errorf("SaveAttempts: %w", err)
		}
	}
	for range 2 {
		e := &shared.AuditEvent{Time: base.Add(time.Hour), Actor: "carol", Action: shared.ActionLogin, Outcome: shared.OutcomeFailed}
		if err := tx.AddAudit(ctx, e); err != nil {
			return fmt.Errorf("AddAudit: %w", err)
		}
	}
	return nil
}

func testRollback(t *testing.T, f *fixture) {
	alice, bob, ss := f.populate()
	before := f.state()

	errBoom := errors.New("boom")
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := writeAll(f.ctx, tx, alice, bob, ss); err != nil {
			t.Errorf("writing: %v", err)
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Errorf("Update = %v, want %v", err, errBoom)
	}
	checkState(t, f.state(), before)
	_, err = f.s.UserByUsername(f.ctx, "carol")
	checkErr(t, "UserByUsername(carol, created in a transaction rolled back)", err, store.ErrNotFound)

	// The same writes committed change every part of the state the test
	// looks at, so that the comparison above can tell.
	f.update(func(tx store.Tx) error { return writeAll(f.ctx, tx, alice, bob, ss) })
	after := f.state()
	if slices.Equal(usernames(after.users), usernames(before.users)) || after.roles[shared.RoleViewer] == before.roles[shared.RoleViewer] ||
		after.active == before.active || after.attempts["account:carol"].Failures == 0 ||
		len(after.events) == len(before.events) || slices.Equal(after.admins, before.admins) ||
		after.codes["alice"] == before.codes["alice"] || after.challenge.Attempts == before.challenge.Attempts {
		t.Errorf("the committed writes left the state as it was: %+v", after)
	}
}

// ruleError is an error type of a caller of Update.
type ruleError struct{ reason string }

func (e *ruleError) Error() string { return e.reason }

// codeError is an error type of a caller of Update, used as a value.
type codeError struct{ code int }

func (e codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func testUpdateReturnsFnError(t *testing.T, f *fixture) {
	f.user("alice", shared.RoleViewer)
	for _, tc := range []struct {
		name  string
		fn    func(tx store.Tx) error // returns the error fn returns
		check func(t *testing.T, got, returned error)
	}{
		{"a sentinel error", func(store.Tx) error { return errSentinel }, identical},
		{"an error of a pointer type", func(store.Tx) error { return &ruleError{"may not"} },
			func(t *testing.T, got, returned error) {
				identical(t, got, returned)
				var re *ruleError
				if !errors.As(got, &re) || re != returned {
					t.Errorf("errors.As(%v, *ruleError) = %v, want the error returned", got, re)
				}
			}},
		{"an error of a value type", func(store.Tx) error { return codeError{7} },
			func(t *testing.T, got, returned error) {
				identical(t, got, returned)
				var ce codeError
				if !errors.As(got, &ce) || ce.code != 7 {
					t.Errorf("errors.As(%v, codeError) = %v, want code 7", got, ce)
				}
			}},
		{"a wrapped store error", func(store.Tx) error { return fmt.Errorf("rule: %w", store.ErrNotFound) },
			func(t *testing.T, got, returned error) {
				identical(t, got, returned)
				checkErr(t, "Update", got, store.ErrNotFound)
			}},
		{"a store's sentinel error itself", func(store.Tx) error { return store.ErrConflict }, identical},
		{"the error of a failed write", func(tx store.Tx) error {
			return tx.CreateUser(f.ctx, newUser("alice", shared.RoleViewer))
		}, func(t *testing.T, got, returned error) {
			identical(t, got, returned)
			checkErr(t, "Update", got, store.ErrConflict)
		}},
		{"the error of a failed lookup", func(tx store.Tx) error {
			_, err := tx.LockUser(f.ctx, 4242)
			return err
		}, func(t *testing.T, got, returned error) {
			identical(t, got, returned)
			checkErr(t, "Update", got, store.ErrNotFound)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var returned error
			got := f.s.Update(f.ctx, func(tx store.Tx) error {
				if err := tx.CreateUser(f.ctx, newUser("bob", shared.RoleViewer)); err != nil {
					return err
				}
				returned = tc.fn(tx)
				return returned
			})
			if returned == nil {
				t.Fatal("fn returned nil")
			}
			tc.check(t, got, returned)
			_, err := f.s.UserByUsername(f.ctx, "bob")
			checkErr(t, "UserByUsername(bob, created before the error)", err, store.ErrNotFound)
		})
	}
}

var errSentinel = errors.New("sentinel")

// identical reports a mistake unless got is the error fn returned.
func identical(t *testing.T, got, returned error) {
	t.Helper()
	if got != returned {
		t.Errorf("Update = %#v (%v), want exactly what fn returned: %#v (%v)", got, got, returned, returned)
	}
}

func testReadOwnWrites(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	f.update(func(tx store.Tx) error {
		// Users.
		carol := newUser("carol", shared.RoleManager)
		carol.CreatedAt = base.Add(time.Hour)
		if err := tx.CreateUser(f.ctx, carol); err != nil {
			return err
		}
		for _, read := range []func() (*store.User, error){
			func() (*store.User, error) { return tx.UserByID(f.ctx, carol.ID) },
			func() (*store.User, error) { return tx.UserByUsername(f.ctx, "carol") },
			func() (*store.User, error) { return tx.LockUser(f.ctx, carol.ID) },
		} {
			got, err := read()
			if err != nil {
				return err
			}
			checkUser(t, got, carol)
		}
		users, total, err := tx.ListUsers(f.ctx, store.UserFilter{Query: "CAROL"})
		if err != nil {
			return err
		}
		if !slices.Equal(usernames(users), []string{"carol"}) || total != 1 {
			t.Errorf("ListUsers(carol) in the transaction = %q, total %d; want carol", usernames(users), total)
		}
		roles, err := tx.CountUsersByRole(f.ctx)
		if err != nil {
			return err
		}
		if roles[shared.RoleManager] != 1 || roles[shared.RoleViewer] != 1 {
			t.Errorf("CountUsersByRole in the transaction = %v, want a viewer and a manager", roles)
		}
		carol.FullName, carol.UpdatedAt = "Carol Changed", base.Add(2*time.Hour)
		if err := tx.SaveUser(f.ctx, carol); err != nil {
			return err
		}
		if got, err := tx.UserByID(f.ctx, carol.ID); err != nil {
			return err
		} else {
			checkUser(t, got, carol)
		}

		// Sessions.
		s := newSession(carol, base)
		s.Username = "carol"
		if err := tx.CreateSession(f.ctx, s); err != nil {
			return err
		}
		if got, err := tx.SessionByID(f.ctx, s.ID); err != nil {
			return err
		} else {
			checkSession(t, got, s)
		}
		s.RefreshGen, s.LastSeenAt = 5, base.Add(time.Minute)
		if err := tx.SaveSession(f.ctx, s); err != nil {
			return err
		}
		if got, err := tx.LockSession(f.ctx, s.ID); err != nil {
			return err
		} else {
			checkSession(t, got, s)
		}
		sessions, total, err := tx.ListSessions(f.ctx, store.SessionFilter{UserID: carol.ID})
		if err != nil {
			return err
		}
		if !slices.Equal(sessionIDs(sessions), []string{s.ID}) || total != 1 {
			t.Errorf("ListSessions(carol) in the transaction = %q, total %d; want %q", sessionIDs(sessions), total, s.ID)
		}
		if n, err := tx.CountActiveSessions(f.ctx, base); err != nil || n != 1 {
			t.Errorf("CountActiveSessions in the transaction = %d, %v; want 1", n, err)
		}
		ids, err := tx.RevokeSessions(f.ctx, carol.ID, "", shared.RevokedByAdmin, base.Add(time.Minute))
		if err != nil {
			return err
		}
		if !slices.Equal(ids, []string{s.ID}) {
			t.Errorf("RevokeSessions in the transaction = %q, want %q", ids, s.ID)
		}
		if n, err := tx.CountActiveSessions(f.ctx, base); err != nil || n != 0 {
			t.Errorf("CountActiveSessions after RevokeSessions in the transaction = %d, %v; want 0", n, err)
		}
		if got, err := tx.SessionByID(f.ctx, s.ID); err != nil {
			return err
		} else if got.RevokedAt == nil || got.RevokedReason != shared.RevokedByAdmin {
			t.Errorf("SessionByID after RevokeSessions in the transaction: revoked at %s with reason %q, want revoked",
				fmtTime(got.RevokedAt), got.RevokedReason)
		}

		// Attempts.
		a := &store.Attempts{Key: "account:carol", Failures: 2, LastFailure: base}
		if err := tx.SaveAttempts(f.ctx, a); err != nil {
			return err
		}
		if got, err := tx.LockAttempts(f.ctx, a.Key); err != nil {
			return err
		} else {
			checkAttempts(t, got, a)
		}
		if err := tx.SaveAttempts(f.ctx, &store.Attempts{Key: a.Key}); err != nil {
			return err
		}
		if got, err := tx.LockAttempts(f.ctx, a.Key); err != nil {
			return err
		} else {
			checkAttempts(t, got, &store.Attempts{Key: a.Key})
		}

		// Audit.
		e := shared.AuditEvent{Time: base, Actor: "carol", Action: shared.ActionLogin, Outcome: shared.OutcomeOK}
		if err := tx.AddAudit(f.ctx, &e); err != nil {
			return err
		}
		events, total, err := tx.ListAudit(f.ctx, store.AuditFilter{Actor: "carol"})
		if err != nil {
			return err
		}
		if len(events) != 1 || total != 1 {
			t.Errorf("ListAudit(carol) in the transaction = %+v, total %d; want one event", events, total)
		} else {
			checkEvent(t, events[0], e)
		}
		counts, err := tx.CountSignIns(f.ctx, base)
		if err != nil {
			return err
		}
		if want := []shared.HourCount{{Hour: base, OK: 1}}; len(counts) != 1 || !counts[0].Hour.Equal(base) || counts[0].OK != 1 {
			t.Errorf("CountSignIns in the transaction = %+v, want %+v", counts, want)
		}

		// Deletion.
		if err := tx.DeleteUser(f.ctx, alice.ID); err != nil {
			return err
		}
		if _, err := tx.UserByID(f.ctx, alice.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(deleted in the transaction): %v, want ErrNotFound", err)
		}
		if err := tx.DeleteUser(f.ctx, carol.ID); err != nil {
			return err
		}
		if _, err := tx.SessionByID(f.ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionByID(session of a user deleted in the transaction): %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testUncommittedInvisible(t *testing.T, f *fixture) {
	alice, bob, ss := f.populate()
	before := f.state()
	var during *state
	f.update(func(tx store.Tx) error {
		if err := writeAll(f.ctx, tx, alice, bob, ss); err != nil {
			return err
		}
		// Read through the store, not the transaction; attempts, enabled
		// admins, recovery codes and challenges can be read in a
		// transaction only, and are left out.
		during = &state{attempts: before.attempts, admins: before.admins, codes: before.codes, challenge: before.challenge}
		var err error
		if during.users, _, err = f.s.ListUsers(f.ctx, store.UserFilter{}); err != nil {
			return err
		}
		if during.roles, err = f.s.CountUsersByRole(f.ctx); err != nil {
			return err
		}
		if during.sessions, _, err = f.s.ListSessions(f.ctx, store.SessionFilter{}); err != nil {
			return err
		}
		if during.active, err = f.s.CountActiveSessions(f.ctx, base); err != nil {
			return err
		}
		if during.events, _, err = f.s.ListAudit(f.ctx, store.AuditFilter{}); err != nil {
			return err
		}
		if during.signIns, err = f.s.CountSignIns(f.ctx, base.Add(-24*time.Hour)); err != nil {
			return err
		}
		if _, err := f.s.UserByUsername(f.ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByUsername(carol, created in an open transaction): %v, want ErrNotFound", err)
		}
		if got, err := f.s.UserByID(f.ctx, bob.ID); err != nil {
			t.Errorf("UserByID(bob, deleted in an open transaction): %v, want bob", err)
		} else {
			checkUser(t, got, bob)
		}
		if got, err := f.s.SessionByID(f.ctx, ss[1].ID); err != nil {
			t.Errorf("SessionByID(revoked in an open transaction): %v", err)
		} else {
			checkSession(t, got, ss[1])
		}
		return nil
	})
	checkState(t, during, before)

	after := f.state()
	if slices.Equal(usernames(after.users), usernames(before.users)) || len(after.events) == len(before.events) {
		t.Errorf("after the commit, the store shows users %q and %d events, as before it", usernames(after.users), len(after.events))
	}
	f.wantRevoked(ss[1].ID, shared.RevokedPasswordChange, base.Add(time.Hour))
	_, err := f.s.UserByID(f.ctx, bob.ID)
	checkErr(t, "UserByID(bob, deleted)", err, store.ErrNotFound)
}

func testUpdateAfterFailures(t *testing.T, f *fixture) {
	// More failures than a store is likely to have connections: a failed
	// transaction that is not ended keeps its connection, or its locks.
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	alice := f.user("alice", shared.RoleViewer)
	s := f.session(alice, base, nil)
	errBoom := errors.New("boom")
	for i := range 30 {
		var err error
		switch i % 3 {
		case 0: // a write the store refuses
			err = f.s.Update(ctx, func(tx store.Tx) error {
				return tx.CreateUser(ctx, newUser("alice", shared.RoleViewer))
			})
			checkErr(t, "CreateUser(taken username)", err, store.ErrConflict)
		case 1: // a lookup that finds nothing
			err = f.s.Update(ctx, func(tx store.Tx) error {
				_, err := tx.LockSession(ctx, "no-such-session")
				return err
			})
			checkErr(t, "LockSession(missing)", err, store.ErrNotFound)
		case 2: // fn fails after holding and writing
			err = f.s.Update(ctx, func(tx store.Tx) error {
				got, err := tx.LockSession(ctx, s.ID)
				if err != nil {
					return err
				}
				got.RefreshGen++
				if err := tx.SaveSession(ctx, got); err != nil {
					return err
				}
				return errBoom
			})
			if err != errBoom {
				t.Errorf("Update = %v, want %v", err, errBoom)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	err := f.s.Update(ctx, func(tx store.Tx) error {
		got, err := tx.LockSession(ctx, s.ID)
		if err != nil {
			return err
		}
		got.RefreshGen++
		return tx.SaveSession(ctx, got)
	})
	f.must(err, "Update after the failures")
	want := *s
	want.RefreshGen = 1
	checkSession(t, f.getSession(s.ID), &want)
}
