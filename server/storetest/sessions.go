package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var sessionTests = []test{
	{"CreateSession stores every field and reads return it with the username", testCreateSession},
	{"CreateSession for a user who does not exist fails with ErrNotFound", testCreateSessionNoUser},
	{"CreateSession with a taken ID fails with ErrConflict, and nothing changes", testCreateSessionConflict},
	{"SaveSession writes every field but the ID, the user and the creation time", testSaveSession},
	{"SaveSession of a session that does not exist fails with ErrNotFound and creates none", testSaveSessionNotFound},
	{"CreateSession and SaveSession refuse an AMR value that would not read back as written, and change nothing", testSessionAMRRefused},
	{"RevokeSessions revokes the user's unrevoked sessions but one and returns their IDs sorted", testRevokeSessions},
	{"RevokeSessions with nothing to revoke returns an empty list", testRevokeSessionsNone},
	{"ListSessions returns sessions newest first, filtered, paged and with usernames", testListSessions},
	{"CountActiveSessions ignores revoked and expired sessions", testCountActiveSessions},
}

func testCreateSession(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	revokedAt := base.Add(3 * time.Hour)
	for _, tc := range []struct {
		name   string
		modify func(*store.Session)
	}{
		{"a new session", nil},
		{"a rotated and revoked session", func(s *store.Session) {
			s.RefreshSalt = []byte("a salt of 32 bytes, \x00\x01\xfe\xff and more")
			s.RefreshGen = 7
			s.RotatedAt = base.Add(time.Hour)
			s.RefreshExpiresAt = base.Add(8 * 24 * time.Hour)
			s.LastSeenAt = base.Add(2 * time.Hour)
			s.RevokedAt = &revokedAt
			s.RevokedReason = shared.RevokedByAdmin
			s.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) “quoted” ünïcode 🦀 'single' \"double\""
			s.IP = "2001:db8::1"
		}},
		{"a session at a high generation", func(s *store.Session) { s.RefreshGen = 1<<53 + 1 }},
		{"a session without user agent and IP", func(s *store.Session) { s.UserAgent, s.IP = "", "" }},
		{"a session whose Username is wrong", func(s *store.Session) { s.Username = "mallory" }},
		{"a session signed in with two factors", func(s *store.Session) {
			s.AMR, s.AuthTime = []string{"pwd", "otp"}, base.Add(time.Second)
		}},
		{"a session re-authenticated in a time zone, below the millisecond", func(s *store.Session) {
			s.AuthTime = base.Add(2*time.Hour + 123_456_789).In(india)
		}},
		{"a session without AMR", func(s *store.Session) { s.AMR = nil }},
		{"a session with an empty AMR, which reads back nil", func(s *store.Session) { s.AMR = []string{} }},
		{"a session with many methods, in order", func(s *store.Session) {
			s.AMR = []string{"otp", "pwd", "hwk", "mfa", "x-custom_1.2"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			s := f.session(u, base, tc.modify)
			want := *s
			want.Username = u.Username
			checkSession(t, f.getSession(s.ID), &want)

			sessions, _, err := f.s.ListSessions(f.ctx, store.SessionFilter{UserID: u.ID})
			f.must(err, "ListSessions")
			i := slices.IndexFunc(sessions, func(g *store.Session) bool { return g.ID == s.ID })
			if i < 0 {
				t.Fatalf("ListSessions = %q, without %q", sessionIDs(sessions), s.ID)
			}
			checkSession(t, sessions[i], &want)

			f.update(func(tx store.Tx) error {
				got, err := tx.SessionByID(f.ctx, s.ID)
				if err != nil {
					return err
				}
				checkSession(t, got, &want)
				if got, err = tx.LockSession(f.ctx, s.ID); err != nil {
					return err
				}
				checkSession(t, got, &want)
				return nil
			})
		})
	}
}

func testCreateSessionNoUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	for _, id := range []int64{u.ID + 1000, 0} {
		ghost := &store.User{User: shared.User{ID: id, Username: "ghost"}}
		s := newSession(ghost, base)
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateSession(f.ctx, s) })
		checkErr(t, "CreateSession(user who does not exist)", err, store.ErrNotFound)
		_, err = f.s.SessionByID(f.ctx, s.ID)
		checkErr(t, "SessionByID(refused session)", err, store.ErrNotFound)
	}
	if sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{}); err != nil || len(sessions) != 0 || total != 0 {
		t.Errorf("ListSessions = %q, total %d, %v; want none", sessionIDs(sessions), total, err)
	}
}

func testCreateSessionConflict(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	s := f.session(alice, base, nil)

	dup := newSession(bob, base.Add(time.Hour))
	dup.ID = s.ID
	dup.RefreshGen, dup.UserAgent = 3, "intruder"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateSession(f.ctx, dup) })
	checkErr(t, "CreateSession(taken ID)", err, store.ErrConflict)
	checkSession(t, f.getSession(s.ID), s)
	if sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{}); err != nil || total != 1 || len(sessions) != 1 {
		t.Errorf("ListSessions = %q, total %d, %v; want only %q", sessionIDs(sessions), total, err, s.ID)
	}
}

func testSaveSession(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	later := func(d time.Duration) time.Time { return base.Add(d + 123_456_789).In(india) }
	revokedAt := later(5 * time.Hour)
	for _, tc := range []struct {
		name   string
		before func(*store.Session) // applied when the session is created
		change func(*store.Session)
	}{
		{"every field", nil, func(s *store.Session) {
			s.LastSeenAt = later(time.Hour)
			s.ExpiresAt = later(48 * time.Hour)
			s.RefreshSalt = []byte("another salt, of another length")
			s.RefreshGen = 42
			s.RefreshExpiresAt = later(24 * time.Hour)
			s.RotatedAt = later(2 * time.Hour)
			s.RevokedAt, s.RevokedReason = &revokedAt, shared.RevokedRefreshReuse
			s.UserAgent = "curl/8.0 “ünïcode”"
			s.IP = "2001:db8::42"
			s.AMR = []string{"pwd", "otp"}
			s.AuthTime = later(3 * time.Hour)
		}},
		{"a re-authentication with a second factor", nil, func(s *store.Session) {
			s.AMR, s.AuthTime = []string{"pwd", "otp"}, later(time.Hour)
		}},
		{"a re-authentication with the password only", func(s *store.Session) { s.AMR = []string{"pwd", "otp"} },
			func(s *store.Session) { s.AMR, s.AuthTime = []string{"pwd"}, later(2*time.Hour) }},
		{"the AMR cleared", nil, func(s *store.Session) { s.AMR = nil }},
		{"the AMR emptied", nil, func(s *store.Session) { s.AMR = []string{} }},
		{"an AMR given to a session without one", func(s *store.Session) { s.AMR = nil },
			func(s *store.Session) { s.AMR = []string{"pwd"} }},
		{"a rotation", nil, func(s *store.Session) {
			s.RefreshGen++
			s.RotatedAt, s.LastSeenAt = later(time.Hour), later(time.Hour)
			s.RefreshExpiresAt = later(7 * 24 * time.Hour)
		}},
		{"the next of many rotations", func(s *store.Session) { s.RefreshGen = 1_000_000 },
			func(s *store.Session) { s.RefreshGen++ }},
		{"a new salt", nil, func(s *store.Session) { s.RefreshSalt = []byte{0, 0, 0, 1} }},
		{"the last-seen time", nil, func(s *store.Session) { s.LastSeenAt = later(time.Minute) }},
		{"the absolute expiry", nil, func(s *store.Session) { s.ExpiresAt = later(time.Minute) }},
		{"a revocation", nil, func(s *store.Session) {
			s.RevokedAt, s.RevokedReason = &revokedAt, shared.RevokedLogout
		}},
		{"a revocation lifted", revokedAs(shared.RevokedByAdmin, base), func(s *store.Session) {
			s.RevokedAt, s.RevokedReason = nil, ""
		}},
		{"the user agent and IP", nil, func(s *store.Session) { s.UserAgent, s.IP = "agent/2", "198.51.100.7" }},
		{"nothing", nil, func(s *store.Session) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			s := f.session(alice, base, tc.before)
			bystander := f.session(alice, base, nil)
			want := *s
			want.RefreshSalt = slices.Clone(s.RefreshSalt)
			tc.change(&want)

			// The ID selects the row; the user and the creation time are
			// not written, and the username is ignored.
			save := want
			save.UserID, save.Username, save.CreatedAt = bob.ID, bob.Username, later(-time.Hour)
			f.update(func(tx store.Tx) error { return tx.SaveSession(f.ctx, &save) })
			checkSession(t, f.getSession(s.ID), &want)
			checkSession(t, f.getSession(bystander.ID), bystander)
			if _, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{UserID: bob.ID}); err != nil || total != 0 {
				t.Errorf("ListSessions(bob) total = %d, %v; want none", total, err)
			}
		})
	}
}

func testSaveSessionNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	ghost := newSession(u, base)
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveSession(f.ctx, ghost) })
	checkErr(t, "SaveSession(missing)", err, store.ErrNotFound)
	_, err = f.s.SessionByID(f.ctx, ghost.ID)
	checkErr(t, "SessionByID(missing)", err, store.ErrNotFound)
	checkSession(t, f.getSession(s.ID), s)
}

func testRevokeSessions(t *testing.T, f *fixture) {
	now := base.Add(time.Hour + 123_456_789).In(india)
	for _, tc := range []struct {
		name   string
		except string
		want   []string
	}{
		{"with no exception", "", []string{"s-a", "s-b", "s-c"}},
		{"except one", "s-a", []string{"s-b", "s-c"}},
		{"except an already revoked one", "s-d", []string{"s-a", "s-b", "s-c"}},
		{"except another user's session", "o-1", []string{"s-a", "s-b", "s-c"}},
		{"except an unknown session", "unknown", []string{"s-a", "s-b", "s-c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			u := f.user("alice", shared.RoleViewer)
			other := f.user("bob", shared.RoleViewer)
			withID := func(id string, then ...func(*store.Session)) func(*store.Session) {
				return func(s *store.Session) {
					s.ID = id
					for _, fn := range then {
						fn(s)
					}
				}
			}
			// Created in an order other than their IDs'.
			ss := map[string]*store.Session{
				"s-c": f.session(u, base, withID("s-c")),
				"s-a": f.session(u, base.Add(time.Minute), withID("s-a")),
				"s-b": f.session(u, base.Add(2*time.Minute), withID("s-b", func(s *store.Session) {
					s.ExpiresAt = base // expired, not revoked
				})),
				"s-d": f.session(u, base.Add(3*time.Minute), withID("s-d", revokedAs(shared.RevokedLogout, base.Add(4*time.Minute)))),
				"o-1": f.session(other, base, withID("o-1")),
			}

			var got []string
			f.update(func(tx store.Tx) (err error) {
				got, err = tx.RevokeSessions(f.ctx, u.ID, tc.except, shared.RevokedByUser, now)
				return err
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("RevokeSessions(except %q) = %q, want %q", tc.except, got, tc.want)
			}
			for id, s := range ss {
				want := *s
				if slices.Contains(tc.want, id) {
					want.RevokedAt, want.RevokedReason = &now, shared.RevokedByUser
				}
				checkSession(t, f.getSession(id), &want)
			}

			f.update(func(tx store.Tx) (err error) {
				got, err = tx.RevokeSessions(f.ctx, u.ID, tc.except, shared.RevokedByAdmin, now.Add(time.Hour))
				return err
			})
			if got == nil || len(got) != 0 {
				t.Errorf("RevokeSessions again = %#v, want an empty list", got)
			}
		})
	}
}

func testRevokeSessionsNone(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	only := f.session(u, base, nil)
	bobs := f.session(bob, base, nil)
	for _, tc := range []struct {
		name   string
		userID int64
		except string
	}{
		{"a user without sessions", f.user("carol", shared.RoleViewer).ID, ""},
		{"a user who does not exist", bob.ID + 1000, ""},
		{"a user whose only session is the exception", u.ID, only.ID},
	} {
		var got []string
		f.update(func(tx store.Tx) (err error) {
			got, err = tx.RevokeSessions(f.ctx, tc.userID, tc.except, shared.RevokedByAdmin, base)
			return err
		})
		if got == nil || len(got) != 0 {
			t.Errorf("RevokeSessions(%s) = %#v, want an empty list", tc.name, got)
		}
	}
	checkSession(t, f.getSession(only.ID), only)
	checkSession(t, f.getSession(bobs.ID), bobs)
}

// sessionSet creates the sessions testListSessions and
// testCountActiveSessions look at and returns them by name, with the time
// they are looked at.
func sessionSet(f *fixture) (map[string]*store.Session, time.Time) {
	f.t.Helper()
	now := base.Add(time.Hour)
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleManager)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	return map[string]*store.Session{
		"a1": f.session(alice, at(0), nil),
		"b1": f.session(bob, at(1), nil),
		"a2": f.session(alice, at(2), func(s *store.Session) {
			revokedAs(shared.RevokedLogout, at(10))(s)
			s.AMR = nil
		}),
		"a3": f.session(alice, at(3), func(s *store.Session) { s.ExpiresAt = now }),
		"b2": f.session(bob, at(4), func(s *store.Session) { s.ExpiresAt = now.Add(-time.Millisecond) }),
		"a4": f.session(alice, at(5), func(s *store.Session) {
			s.AMR, s.AuthTime = []string{"pwd", "otp"}, at(20)
		}),
		"b3": f.session(bob, at(6), func(s *store.Session) { s.ExpiresAt = now.Add(time.Millisecond) }),
	}, now
}

func testListSessions(t *testing.T, f *fixture) {
	sessions, total, err := f.s.ListSessions(f.ctx, store.SessionFilter{})
	f.must(err, "ListSessions on an empty store")
	if len(sessions) != 0 || total != 0 {
		t.Errorf("ListSessions on an empty store = %d sessions, total %d; want none", len(sessions), total)
	}

	ss, now := sessionSet(f)
	alice, bob := ss["a1"].UserID, ss["b1"].UserID
	for _, tc := range []struct {
		name   string
		filter store.SessionFilter
		want   []string
		total  int
	}{
		{"every session", store.SessionFilter{},
			[]string{"b3", "a4", "b2", "a3", "a2", "b1", "a1"}, 7},
		{"one user's sessions", store.SessionFilter{UserID: alice},
			[]string{"a4", "a3", "a2", "a1"}, 4},
		{"active sessions", store.SessionFilter{Active: ptr(true), Now: now},
			[]string{"b3", "a4", "b1", "a1"}, 4},
		{"inactive sessions", store.SessionFilter{Active: ptr(false), Now: now},
			[]string{"b2", "a3", "a2"}, 3},
		{"one user's active sessions", store.SessionFilter{UserID: alice, Active: ptr(true), Now: now},
			[]string{"a4", "a1"}, 2},
		{"one user's inactive sessions", store.SessionFilter{UserID: bob, Active: ptr(false), Now: now},
			[]string{"b2"}, 1},
		{"sessions active earlier", store.SessionFilter{Active: ptr(true), Now: base},
			[]string{"b3", "a4", "b2", "a3", "b1", "a1"}, 6},
		{"sessions active at a time in another zone", store.SessionFilter{Active: ptr(true), Now: now.In(india)},
			[]string{"b3", "a4", "b1", "a1"}, 4},
		{"a page", store.SessionFilter{Offset: 1, Limit: 2},
			[]string{"a4", "b2"}, 7},
		{"a page of one user's sessions", store.SessionFilter{UserID: alice, Offset: 2},
			[]string{"a2", "a1"}, 4},
		{"a page of active sessions", store.SessionFilter{Active: ptr(true), Now: now, Offset: 3, Limit: 2},
			[]string{"a1"}, 4},
		{"a page past the end", store.SessionFilter{Offset: 7, Limit: 2},
			[]string{}, 7},
		{"a user without sessions", store.SessionFilter{UserID: 4242},
			[]string{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sessions, total, err := f.s.ListSessions(f.ctx, tc.filter)
			if err != nil {
				t.Fatalf("ListSessions: %v", err)
			}
			got := []string{}
			for _, s := range sessions {
				got = append(got, nameOf(ss, s.ID))
			}
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Fatalf("ListSessions = %q, total %d; want %q, total %d", got, total, tc.want, tc.total)
			}
			for _, s := range sessions {
				want := *ss[nameOf(ss, s.ID)]
				want.Username = map[int64]string{alice: "alice", bob: "bob"}[want.UserID]
				checkSession(t, s, &want)
			}
		})
	}
}

// nameOf returns the name of the session with the given ID in ss.
func nameOf(ss map[string]*store.Session, id string) string {
	for name, s := range ss {
		if s.ID == id {
			return name
		}
	}
	return id
}

func testCountActiveSessions(t *testing.T, f *fixture) {
	n, err := f.s.CountActiveSessions(f.ctx, base)
	f.must(err, "CountActiveSessions on an empty store")
	if n != 0 {
		t.Errorf("CountActiveSessions on an empty store = %d, want 0", n)
	}

	_, now := sessionSet(f)
	for _, tc := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"now", now, 4},
		{"now, in another zone", now.In(india), 4},
		{"earlier", base, 6},
		{"a millisecond later", now.Add(time.Millisecond), 3},
		{"a year later", now.AddDate(1, 0, 0), 0},
	} {
		n, err := f.s.CountActiveSessions(f.ctx, tc.at)
		if err != nil {
			t.Fatalf("CountActiveSessions(%s): %v", tc.name, err)
		}
		if n != tc.want {
			t.Errorf("CountActiveSessions(%s) = %d, want %d", tc.name, n, tc.want)
		}
	}
}

func testSessionAMRRefused(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	stored := f.session(u, base, nil)
	for _, amr := range [][]string{
		{""},
		{"pwd", ""},
		{"pwd otp"},
		{"pwd\t"},
		{"pwd\n"},
		{"pwd\x00"},
		{"pässword"},
		{"\x7f"},
	} {
		t.Run(fmt.Sprintf("%q", amr), func(t *testing.T) {
			s := newSession(u, base)
			s.AMR = amr
			err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateSession(f.ctx, s) })
			if err == nil {
				t.Errorf("CreateSession with AMR %q succeeded", amr)
			}
			_, err = f.s.SessionByID(f.ctx, s.ID)
			checkErr(t, "SessionByID(refused session)", err, store.ErrNotFound)

			save := *stored
			save.AMR, save.RefreshGen = amr, 99
			if err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveSession(f.ctx, &save) }); err == nil {
				t.Errorf("SaveSession with AMR %q succeeded", amr)
			}
			checkSession(t, f.getSession(stored.ID), stored)
		})
	}
}
