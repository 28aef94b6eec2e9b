package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var storeTests = []test{
	{"every time round-trips at millisecond precision in UTC", testTimes},
	{"lookups and writes fail with ErrNotFound when nothing matches, and change nothing", testNotFound},
	{"Ping answers", testPing},
	{"after Close every method fails with ErrUnavailable, Update without running fn", testClosed},
	{"error messages show no SQL", testErrorsShowNoSQL},
}

func testTimes(t *testing.T, f *fixture) {
	for i, tc := range []struct {
		name string
		t0   time.Time
	}{
		// In a zone off the UTC hours, with digits below the millisecond
		// that must go.
		{"in a time zone, below the millisecond", time.Date(2025, 6, 1, 17, 45, 1, 123_456_789, india)},
		{"in the past", time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.Local)},
		// The wall clock, monotonic reading included.
		{"from the wall clock", time.Now()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			t0 := tc.t0
			at := func(d time.Duration) time.Time { return t0.Add(d) }

			// Users.
			u := newUser(fmt.Sprintf("user-%d", i), shared.RoleViewer)
			u.CreatedAt, u.UpdatedAt = at(0), at(1)
			f.createUser(u)
			checkUser(t, f.getUser(u.ID), u)
			u.UpdatedAt = at(2*time.Hour + 2)
			f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, u) })
			checkUser(t, f.getUser(u.ID), u)

			// Sessions.
			s := f.session(u, at(0), func(s *store.Session) {
				s.LastSeenAt = at(1)
				s.ExpiresAt = at(time.Hour + 2)
				s.RefreshExpiresAt = at(time.Minute + 3)
				s.RotatedAt = at(time.Second + 4)
				s.RevokedAt, s.RevokedReason = ptr(at(5*time.Second+5)), shared.RevokedLogout
				s.AuthTime = at(14)
			})
			checkSession(t, f.getSession(s.ID), s)
			s.LastSeenAt = at(time.Hour + 6)
			s.ExpiresAt = at(2*time.Hour + 7)
			s.RefreshExpiresAt = at(time.Hour + 8)
			s.RotatedAt = at(time.Hour + 9)
			s.RevokedAt = ptr(at(time.Hour + 10))
			s.AuthTime = at(time.Hour + 15)
			f.update(func(tx store.Tx) error { return tx.SaveSession(f.ctx, s) })
			checkSession(t, f.getSession(s.ID), s)
			s2 := f.session(u, at(time.Second), nil)
			revoked := at(3*time.Hour + 11)
			f.update(func(tx store.Tx) error {
				_, err := tx.RevokeSessions(f.ctx, u.ID, "", shared.RevokedByAdmin, revoked)
				return err
			})
			s2.RevokedAt, s2.RevokedReason = &revoked, shared.RevokedByAdmin
			checkSession(t, f.getSession(s2.ID), s2)

			// Reads in a transaction.
			f.update(func(tx store.Tx) error {
				gu, err := tx.LockUser(f.ctx, u.ID)
				if err != nil {
					return err
				}
				checkUser(t, gu, u)
				gs, err := tx.LockSession(f.ctx, s.ID)
				if err != nil {
					return err
				}
				checkSession(t, gs, s)
				return nil
			})

			// Challenges.
			c := f.challenge(u, at(16), func(c *store.Challenge) { c.ExpiresAt = at(5*time.Minute + 17) })
			got, err := f.getChallenge(c.ID)
			f.must(err, "LockChallenge")
			checkChallenge(t, got, c)
			c.UsedAt = ptr(at(time.Minute + 18))
			f.update(func(tx store.Tx) error { return tx.SaveChallenge(f.ctx, c) })
			got, err = f.getChallenge(c.ID)
			f.must(err, "LockChallenge")
			checkChallenge(t, got, c)

			// Attempts.
			a := &store.Attempts{Key: "times:" + tc.name, Failures: 1, LastFailure: at(12)}
			f.saveAttempts(a)
			checkAttempts(t, f.attempts(a.Key), a)

			// Audit.
			e := shared.AuditEvent{Time: at(13), Actor: tc.name, Action: shared.ActionLogin, Outcome: shared.OutcomeOK}
			f.audit(&e)
			events, _, err := f.s.ListAudit(f.ctx, store.AuditFilter{Actor: tc.name})
			f.must(err, "ListAudit")
			if len(events) != 1 {
				t.Fatalf("ListAudit = %+v, want one event", events)
			}
			checkEvent(t, events[0], e)
			counts, err := f.s.CountSignIns(f.ctx, at(13))
			f.must(err, "CountSignIns")
			if len(counts) == 0 || !sameTime(counts[0].Hour, ms(at(13)).Truncate(time.Hour)) {
				t.Errorf("CountSignIns = %+v, want the first hour %v", counts, ms(at(13)).Truncate(time.Hour))
			}
		})
	}
}

func testNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	missing := u.ID + 1000
	ghost := newUser("ghost", shared.RoleAdmin)
	ghost.ID, ghost.UpdatedAt = missing, base
	orphan := newSession(ghost, base)

	reads := []struct {
		name string
		call func(ctx context.Context, r store.Reader) error
	}{
		{"UserByID", func(ctx context.Context, r store.Reader) error {
			_, err := r.UserByID(ctx, missing)
			return err
		}},
		{"UserByID with ID 0", func(ctx context.Context, r store.Reader) error {
			_, err := r.UserByID(ctx, 0)
			return err
		}},
		{"UserByUsername", func(ctx context.Context, r store.Reader) error {
			_, err := r.UserByUsername(ctx, "bob")
			return err
		}},
		{"SessionByID", func(ctx context.Context, r store.Reader) error {
			_, err := r.SessionByID(ctx, "no-such-session")
			return err
		}},
		{"SessionByID with an empty ID", func(ctx context.Context, r store.Reader) error {
			_, err := r.SessionByID(ctx, "")
			return err
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name+" through the store", func(t *testing.T) {
			checkErr(t, tc.name, tc.call(t.Context(), f.s), store.ErrNotFound)
		})
	}
	txCalls := []struct {
		name string
		call func(ctx context.Context, tx store.Tx) error
	}{
		{"LockUser", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.LockUser(ctx, missing)
			return err
		}},
		{"LockSession", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.LockSession(ctx, "no-such-session")
			return err
		}},
		{"SaveUser", func(ctx context.Context, tx store.Tx) error { return tx.SaveUser(ctx, ghost) }},
		{"DeleteUser", func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, missing) }},
		{"CreateSession of a user who does not exist", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateSession(ctx, orphan)
		}},
		{"SaveSession", func(ctx context.Context, tx store.Tx) error {
			return tx.SaveSession(ctx, orphan)
		}},
		{"ReplaceRecoveryCodes of a user who does not exist", func(ctx context.Context, tx store.Tx) error {
			return tx.ReplaceRecoveryCodes(ctx, missing, codes("x"))
		}},
		{"CreateChallenge of a user who does not exist", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateChallenge(ctx, newChallenge(ghost, base))
		}},
		{"LockChallenge", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.LockChallenge(ctx, "no-such-challenge")
			return err
		}},
		{"SaveChallenge", func(ctx context.Context, tx store.Tx) error {
			return tx.SaveChallenge(ctx, newChallenge(u, base))
		}},
	}
	for _, tc := range reads {
		txCalls = append(txCalls, struct {
			name string
			call func(ctx context.Context, tx store.Tx) error
		}{tc.name, func(ctx context.Context, tx store.Tx) error { return tc.call(ctx, tx) }})
	}
	for _, tc := range txCalls {
		t.Run(tc.name+" in a transaction", func(t *testing.T) {
			var inner error
			err := f.s.Update(t.Context(), func(tx store.Tx) error {
				inner = tc.call(t.Context(), tx)
				return inner
			})
			checkErr(t, tc.name, inner, store.ErrNotFound)
			checkErr(t, "Update", err, store.ErrNotFound)
		})
	}
	// Nothing that exists was touched, and nothing was made.
	checkUser(t, f.getUser(u.ID), u)
	checkSession(t, f.getSession(s.ID), s)
	if users, total, err := f.s.ListUsers(f.ctx, store.UserFilter{}); err != nil || total != 1 || len(users) != 1 {
		t.Errorf("ListUsers = %q, total %d, %v; want alice only", usernames(users), total, err)
	}
	if sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{}); err != nil || total != 1 || len(sessions) != 1 {
		t.Errorf("ListSessions = %q, total %d, %v; want %q only", sessionIDs(sessions), total, err, s.ID)
	}
}

func testPing(t *testing.T, f *fixture) {
	f.must(f.s.Ping(f.ctx), "Ping")
}

func testClosed(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	f.must(f.s.Close(), "Close")

	for _, tc := range closedCalls(u, s) {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.name, tc.call(t.Context(), f.s), store.ErrUnavailable)
		})
	}
	ran := false
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		ran = true
		return nil
	})
	checkErr(t, "Update", err, store.ErrUnavailable)
	if ran {
		t.Error("Update on a closed store ran fn")
	}
}

// closedCalls are the calls of every Store method but Update and Close.
func closedCalls(u *store.User, s *store.Session) []struct {
	name string
	call func(ctx context.Context, st store.Store) error
} {
	return []struct {
		name string
		call func(ctx context.Context, st store.Store) error
	}{
		{"Ping", func(ctx context.Context, st store.Store) error { return st.Ping(ctx) }},
		{"UserByID", func(ctx context.Context, st store.Store) error {
			_, err := st.UserByID(ctx, u.ID)
			return err
		}},
		{"UserByUsername", func(ctx context.Context, st store.Store) error {
			_, err := st.UserByUsername(ctx, u.Username)
			return err
		}},
		{"ListUsers", func(ctx context.Context, st store.Store) error {
			_, _, err := st.ListUsers(ctx, store.UserFilter{})
			return err
		}},
		{"CountUsersByRole", func(ctx context.Context, st store.Store) error {
			_, err := st.CountUsersByRole(ctx)
			return err
		}},
		{"SessionByID", func(ctx context.Context, st store.Store) error {
			_, err := st.SessionByID(ctx, s.ID)
			return err
		}},
		{"ListSessions", func(ctx context.Context, st store.Store) error {
			_, _, err := st.ListSessions(ctx, store.SessionFilter{})
			return err
		}},
		{"CountActiveSessions", func(ctx context.Context, st store.Store) error {
			_, err := st.CountActiveSessions(ctx, base)
			return err
		}},
		{"ListAudit", func(ctx context.Context, st store.Store) error {
			_, _, err := st.ListAudit(ctx, store.AuditFilter{})
			return err
		}},
		{"CountSignIns", func(ctx context.Context, st store.Store) error {
			_, err := st.CountSignIns(ctx, base)
			return err
		}},
	}
}

// sqlWords are words of SQL, or of a database's error reports, that no
// error message of a store shows.
var sqlWords = []string{
	"SELECT", "INSERT", "UPDATE ", "DELETE", "WHERE", "VALUES", "UNIQUE", "FOREIGN KEY",
	"constraint", "SQLSTATE", "users.username", "sessions.id", "sessions.user_id",
	"challenges.id", "challenges.user_id", "recovery_codes.", "bytea",
}

func testErrorsShowNoSQL(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	ghost := newUser("ghost", shared.RoleViewer)
	ghost.ID = u.ID + 1000
	type call struct {
		name string
		err  error
	}
	var calls []call
	tx := func(name string, fn func(tx store.Tx) error) {
		calls = append(calls, call{name, f.s.Update(f.ctx, fn)})
	}
	tx("CreateUser(taken username)", func(tx store.Tx) error { return tx.CreateUser(f.ctx, newUser("alice", shared.RoleViewer)) })
	tx("CreateSession(taken ID)", func(tx store.Tx) error {
		dup := newSession(u, base)
		dup.ID = s.ID
		return tx.CreateSession(f.ctx, dup)
	})
	tx("CreateSession(user who does not exist)", func(tx store.Tx) error { return tx.CreateSession(f.ctx, newSession(ghost, base)) })
	tx("SaveSession(missing)", func(tx store.Tx) error { return tx.SaveSession(f.ctx, newSession(u, base)) })
	tx("SaveUser(missing)", func(tx store.Tx) error { return tx.SaveUser(f.ctx, ghost) })
	tx("DeleteUser(missing)", func(tx store.Tx) error { return tx.DeleteUser(f.ctx, ghost.ID) })
	tx("LockUser(missing)", func(tx store.Tx) error {
		_, err := tx.LockUser(f.ctx, ghost.ID)
		return err
	})
	c := f.challenge(u, base, nil)
	tx("CreateChallenge(taken ID)", func(tx store.Tx) error {
		dup := newChallenge(u, base)
		dup.ID = c.ID
		return tx.CreateChallenge(f.ctx, dup)
	})
	tx("CreateChallenge(user who does not exist)", func(tx store.Tx) error {
		return tx.CreateChallenge(f.ctx, newChallenge(ghost, base))
	})
	tx("LockChallenge(missing)", func(tx store.Tx) error {
		_, err := tx.LockChallenge(f.ctx, "no-such-challenge")
		return err
	})
	tx("SaveChallenge(missing)", func(tx store.Tx) error { return tx.SaveChallenge(f.ctx, newChallenge(u, base)) })
	tx("ReplaceRecoveryCodes(user who does not exist)", func(tx store.Tx) error {
		return tx.ReplaceRecoveryCodes(f.ctx, ghost.ID, codes("x", "y"))
	})
	tx("CreateSession(AMR that does not read back)", func(tx store.Tx) error {
		s := newSession(u, base)
		s.AMR = []string{"pwd otp"}
		return tx.CreateSession(f.ctx, s)
	})
	_, err := f.s.UserByUsername(f.ctx, "ghost")
	calls = append(calls, call{"UserByUsername(missing)", err})
	_, err = f.s.SessionByID(f.ctx, "no-such-session")
	calls = append(calls, call{"SessionByID(missing)", err})

	f.must(f.s.Close(), "Close")
	for _, c := range closedCalls(u, s) {
		calls = append(calls, call{c.name + " after Close", c.call(f.ctx, f.s)})
	}
	tx("Update after Close", func(tx store.Tx) error { return nil })

	for _, c := range calls {
		if c.err == nil {
			t.Errorf("%s succeeded, want an error", c.name)
			continue
		}
		for _, word := range sqlWords {
			if strings.Contains(c.err.Error(), word) {
				t.Errorf("%s: error %q shows %q", c.name, c.err, word)
			}
		}
	}
}
