package storetest

import (
	"context"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var storeTests = []test{
	{"times round-trip at millisecond precision in UTC", testTimes},
	{"lookups and changes fail with ErrNotFound when nothing matches", testNotFound},
	{"Ping answers", testPing},
	{"after Close every method fails with ErrUnavailable", testClosed},
}

func testTimes(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	// Far apart in a zone off the UTC hours, with digits below the
	// millisecond that must go; and the wall clock, monotonic reading
	// included.
	at := func(d time.Duration) time.Time {
		return time.Date(2025, 6, 1, 17, 45, 1, 123_456_789, india).Add(d)
	}
	for _, tc := range []struct {
		name string
		t0   time.Time
	}{
		{"in a time zone, below the millisecond", at(0)},
		{"in the past", time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.Local)},
		{"from the wall clock", time.Now()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			t0 := tc.t0
			s := f.session(u, t0, func(s *store.Session) {
				s.LastSeenAt = t0.Add(1)
				s.ExpiresAt = t0.Add(time.Hour + 2)
				s.RefreshExpiresAt = t0.Add(time.Minute + 3)
				s.RotatedAt = t0.Add(time.Second + 4)
			})
			checkSession(t, f.getSession(s.ID), s)

			revokedAt := t0.Add(5 * time.Second)
			f.must(f.s.RevokeSession(f.ctx, s.ID, shared.RevokedLogout, revokedAt), "RevokeSession")
			s.RevokedAt, s.RevokedReason = &revokedAt, shared.RevokedLogout
			checkSession(t, f.getSession(s.ID), s)

			got, err := f.s.UpdateUser(f.ctx, u.ID, store.UserUpdate{}, t0)
			f.must(err, "UpdateUser")
			if !sameTime(got.UpdatedAt, ms(t0)) {
				t.Errorf("UpdateUser returned UpdatedAt %v, want %v", got.UpdatedAt, ms(t0))
			}
			if got := f.getUser(u.ID).UpdatedAt; !sameTime(got, ms(t0)) {
				t.Errorf("UserByID: UpdatedAt = %v, want %v", got, ms(t0))
			}

			e := shared.AuditEvent{Time: t0, Actor: tc.name, Action: shared.ActionLogin, Outcome: shared.OutcomeOK}
			f.must(f.s.AddAudit(f.ctx, &e), "AddAudit")
			events, _, err := f.s.ListAudit(f.ctx, store.AuditFilter{Actor: tc.name})
			f.must(err, "ListAudit")
			if len(events) != 1 || !sameTime(events[0].Time, ms(t0)) {
				t.Errorf("ListAudit = %+v, want one event at %v", events, ms(t0))
			}
		})
	}
}

func testNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	missing := u.ID + 1000
	now := base.Add(time.Hour)
	for _, tc := range []struct {
		name string
		call func(ctx context.Context, st store.Store) error
	}{
		{"UserByID", func(ctx context.Context, st store.Store) error {
			_, err := st.UserByID(ctx, missing)
			return err
		}},
		{"UserByID with ID 0", func(ctx context.Context, st store.Store) error {
			_, err := st.UserByID(ctx, 0)
			return err
		}},
		{"UserByUsername", func(ctx context.Context, st store.Store) error {
			_, err := st.UserByUsername(ctx, "bob")
			return err
		}},
		{"UpdateUser", func(ctx context.Context, st store.Store) error {
			_, err := st.UpdateUser(ctx, missing, store.UserUpdate{FullName: ptr("x")}, now)
			return err
		}},
		{"UpdateUser with no field", func(ctx context.Context, st store.Store) error {
			_, err := st.UpdateUser(ctx, missing, store.UserUpdate{}, now)
			return err
		}},
		{"SetPassword", func(ctx context.Context, st store.Store) error {
			return st.SetPassword(ctx, missing, "hash", "", shared.RevokedPasswordReset, now)
		}},
		{"DeleteUser", func(ctx context.Context, st store.Store) error {
			return st.DeleteUser(ctx, missing)
		}},
		{"SessionByID", func(ctx context.Context, st store.Store) error {
			_, err := st.SessionByID(ctx, "no-such-session")
			return err
		}},
		{"SessionByRefreshHash", func(ctx context.Context, st store.Store) error {
			_, err := st.SessionByRefreshHash(ctx, []byte("no-such-hash"))
			return err
		}},
		{"TouchSession", func(ctx context.Context, st store.Store) error {
			return st.TouchSession(ctx, "no-such-session", now)
		}},
		{"RevokeSession", func(ctx context.Context, st store.Store) error {
			return st.RevokeSession(ctx, "no-such-session", shared.RevokedByAdmin, now)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.name, tc.call(t.Context(), f.s), store.ErrNotFound)
		})
	}
	// Nothing that exists was touched.
	checkUser(t, f.getUser(u.ID), u)
	checkSession(t, f.getSession(s.ID), s)
}

func testPing(t *testing.T, f *fixture) {
	f.must(f.s.Ping(f.ctx), "Ping")
}

func testClosed(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	f.must(f.s.Close(), "Close")

	now := base.Add(time.Hour)
	for _, tc := range []struct {
		name string
		call func(ctx context.Context, st store.Store) error
	}{
		{"Ping", func(ctx context.Context, st store.Store) error { return st.Ping(ctx) }},
		{"CreateUser", func(ctx context.Context, st store.Store) error {
			return st.CreateUser(ctx, newUser("bob", shared.RoleViewer))
		}},
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
		{"UpdateUser", func(ctx context.Context, st store.Store) error {
			_, err := st.UpdateUser(ctx, u.ID, store.UserUpdate{FullName: ptr("x")}, now)
			return err
		}},
		{"SetPassword", func(ctx context.Context, st store.Store) error {
			return st.SetPassword(ctx, u.ID, "hash", "", shared.RevokedPasswordReset, now)
		}},
		{"DeleteUser", func(ctx context.Context, st store.Store) error {
			return st.DeleteUser(ctx, u.ID)
		}},
		{"CountUsersByRole", func(ctx context.Context, st store.Store) error {
			_, err := st.CountUsersByRole(ctx)
			return err
		}},
		{"CreateSession", func(ctx context.Context, st store.Store) error {
			c := *s
			c.ID, c.RefreshHash = "another", []byte("another")
			return st.CreateSession(ctx, &c)
		}},
		{"SessionByID", func(ctx context.Context, st store.Store) error {
			_, err := st.SessionByID(ctx, s.ID)
			return err
		}},
		{"SessionByRefreshHash", func(ctx context.Context, st store.Store) error {
			_, err := st.SessionByRefreshHash(ctx, s.RefreshHash)
			return err
		}},
		{"RotateRefresh", func(ctx context.Context, st store.Store) error {
			return st.RotateRefresh(ctx, s.ID, s.RefreshHash, []byte("next"), now, now)
		}},
		{"TouchSession", func(ctx context.Context, st store.Store) error {
			return st.TouchSession(ctx, s.ID, now)
		}},
		{"RevokeSession", func(ctx context.Context, st store.Store) error {
			return st.RevokeSession(ctx, s.ID, shared.RevokedLogout, now)
		}},
		{"RevokeUserSessions", func(ctx context.Context, st store.Store) error {
			_, err := st.RevokeUserSessions(ctx, u.ID, "", shared.RevokedByAdmin, now)
			return err
		}},
		{"ListSessions", func(ctx context.Context, st store.Store) error {
			_, _, err := st.ListSessions(ctx, store.SessionFilter{})
			return err
		}},
		{"CountActiveSessions", func(ctx context.Context, st store.Store) error {
			_, err := st.CountActiveSessions(ctx, now)
			return err
		}},
		{"AddAudit", func(ctx context.Context, st store.Store) error {
			return st.AddAudit(ctx, &shared.AuditEvent{Actor: "alice", Action: shared.ActionLogin})
		}},
		{"ListAudit", func(ctx context.Context, st store.Store) error {
			_, _, err := st.ListAudit(ctx, store.AuditFilter{})
			return err
		}},
		{"CountSignIns", func(ctx context.Context, st store.Store) error {
			_, err := st.CountSignIns(ctx, base)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.name, tc.call(t.Context(), f.s), store.ErrUnavailable)
		})
	}
}
