package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var sessionTests = []test{
	{"CreateSession stores every field and SessionByID reads it back with the username", testCreateSession},
	{"CreateSession fails for a user who does not exist", testCreateSessionNoUser},
	{"SessionByRefreshHash finds a session by its current or its previous hash only", testSessionByRefreshHash},
	{"RotateRefresh makes next current and old previous, and moves the times", testRotateRefresh},
	{"RotateRefresh fails with ErrStale and changes nothing unless old is current and the session unrevoked", testRotateRefreshStale},
	{"RotateRefresh of a session that does not exist fails", testRotateRefreshUnknown},
	{"concurrent RotateRefresh calls from the same hash succeed exactly once", testRotateRefreshConcurrent},
	{"TouchSession sets LastSeenAt only", testTouchSession},
	{"RevokeSession revokes once and keeps the first reason and time", testRevokeSession},
	{"RevokeUserSessions revokes the user's unrevoked sessions but one and returns their IDs", testRevokeUserSessions},
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
			s.PrevRefreshHash = []byte("previous")
			s.RotatedAt = base.Add(time.Hour)
			s.LastSeenAt = base.Add(2 * time.Hour)
			s.RevokedAt = &revokedAt
			s.RevokedReason = shared.RevokedByAdmin
			s.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) “quoted” ünïcode"
			s.IP = "2001:db8::1"
		}},
		{"a session whose Username is wrong", func(s *store.Session) { s.Username = "mallory" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			s := f.session(u, base, tc.modify)
			want := *s
			want.Username = u.Username
			checkSession(t, f.getSession(s.ID), &want)
		})
	}
}

func testCreateSessionNoUser(t *testing.T, f *fixture) {
	ghost := &store.User{User: shared.User{ID: 4242, Username: "ghost"}}
	s := &store.Session{
		ID: "orphan", UserID: ghost.ID, CreatedAt: base, LastSeenAt: base,
		ExpiresAt: base.Add(time.Hour), RefreshHash: []byte("orphan"), RefreshExpiresAt: base.Add(time.Hour),
	}
	if err := f.s.CreateSession(f.ctx, s); err == nil {
		t.Error("CreateSession for a user who does not exist succeeded")
	}
}

func testSessionByRefreshHash(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	other := f.session(u, base, nil)
	first := s.RefreshHash
	now := base.Add(time.Hour)
	f.must(f.s.RotateRefresh(f.ctx, s.ID, first, []byte("second"), now.Add(time.Hour), now), "RotateRefresh")
	f.must(f.s.RotateRefresh(f.ctx, s.ID, []byte("second"), []byte("third"), now.Add(time.Hour), now), "RotateRefresh")

	for _, tc := range []struct {
		name string
		hash []byte
		want string // session ID; empty: ErrNotFound
	}{
		{"the current hash", []byte("third"), s.ID},
		{"the previous hash", []byte("second"), s.ID},
		{"another session's never rotated hash", other.RefreshHash, other.ID},
		{"a hash two rotations old", first, ""},
		{"an unknown hash", []byte("unknown"), ""},
		{"a prefix of the current hash", []byte("thir"), ""},
		{"an empty hash", []byte{}, ""},
		{"a nil hash", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.SessionByRefreshHash(f.ctx, tc.hash)
			if tc.want == "" {
				checkErr(t, fmt.Sprintf("SessionByRefreshHash(%q)", tc.hash), err, store.ErrNotFound)
				return
			}
			if err != nil {
				t.Fatalf("SessionByRefreshHash(%q): %v", tc.hash, err)
			}
			checkSession(t, got, f.getSession(tc.want))
		})
	}
}

func testRotateRefresh(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	other := f.session(u, base, nil)

	want := *s
	for i, now := range []time.Time{base.Add(time.Hour + 987654321), base.Add(2 * time.Hour)} {
		next := []byte(fmt.Sprintf("next-%d", i))
		expires := now.Add(7 * 24 * time.Hour)
		f.must(f.s.RotateRefresh(f.ctx, s.ID, want.RefreshHash, next, expires, now), "RotateRefresh #%d", i+1)
		want.PrevRefreshHash, want.RefreshHash = want.RefreshHash, next
		want.RotatedAt, want.RefreshExpiresAt, want.LastSeenAt = now, expires, now
		checkSession(t, f.getSession(s.ID), &want)
	}
	checkSession(t, f.getSession(other.ID), other)
}

func testRotateRefreshStale(t *testing.T, f *fixture) {
	now := base.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		setup func(f *fixture, s *store.Session) (old []byte)
	}{
		{"old is not a hash of the session", func(f *fixture, s *store.Session) []byte {
			return []byte("wrong")
		}},
		{"old is another session's hash", func(f *fixture, s *store.Session) []byte {
			u := f.getUser(s.UserID)
			return f.session(u, base, nil).RefreshHash
		}},
		{"old was rotated away already", func(f *fixture, s *store.Session) []byte {
			old := s.RefreshHash
			f.must(f.s.RotateRefresh(f.ctx, s.ID, old, []byte("winner"), now, now), "RotateRefresh")
			return old
		}},
		{"the session is revoked", func(f *fixture, s *store.Session) []byte {
			f.revoked(s, shared.RevokedLogout, now)
			return s.RefreshHash
		}},
		{"old is empty", func(f *fixture, s *store.Session) []byte {
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			s := f.session(f.user("alice", shared.RoleViewer), base, nil)
			old := tc.setup(f, s)
			before := f.getSession(s.ID)

			later := now.Add(time.Hour)
			err := f.s.RotateRefresh(f.ctx, s.ID, old, []byte("loser"), later.Add(time.Hour), later)
			checkErr(t, "RotateRefresh", err, store.ErrStale)
			checkSession(t, f.getSession(s.ID), before)
		})
	}
}

func testRotateRefreshUnknown(t *testing.T, f *fixture) {
	err := f.s.RotateRefresh(f.ctx, "no-such-session", []byte("old"), []byte("next"), base, base)
	if !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateRefresh(unknown session): error = %v, want ErrStale or ErrNotFound", err)
	}
}

func testRotateRefreshConcurrent(t *testing.T, f *fixture) {
	const n = 20
	u := f.user("alice", shared.RoleViewer)
	for round := range 10 {
		s := f.session(u, base, nil)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				now := base.Add(time.Duration(i+1) * time.Minute)
				errs[i] = f.s.RotateRefresh(f.ctx, s.ID, s.RefreshHash, []byte(fmt.Sprintf("%s-next-%d", s.ID, i)), now.Add(time.Hour), now)
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: RotateRefresh #%d and #%d both succeeded", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrStale):
				t.Errorf("round %d: RotateRefresh #%d: error = %v, want ErrStale", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no RotateRefresh succeeded", round)
		}
		got := f.getSession(s.ID)
		want := fmt.Sprintf("%s-next-%d", s.ID, winner)
		if string(got.RefreshHash) != want || string(got.PrevRefreshHash) != string(s.RefreshHash) {
			t.Fatalf("round %d: after the rotations the hash is %q, the previous %q; want the winner's %q, previous %q",
				round, got.RefreshHash, got.PrevRefreshHash, want, s.RefreshHash)
		}
	}
}

func testTouchSession(t *testing.T, f *fixture) {
	s := f.session(f.user("alice", shared.RoleViewer), base, nil)
	want := *s
	for _, now := range []time.Time{base.Add(time.Hour + 5*time.Microsecond), base.Add(2 * time.Hour)} {
		f.must(f.s.TouchSession(f.ctx, s.ID, now), "TouchSession")
		want.LastSeenAt = now
		checkSession(t, f.getSession(s.ID), &want)
	}
}

func testRevokeSession(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	s := f.session(u, base, nil)
	other := f.session(u, base, nil)
	first := base.Add(time.Hour)
	f.must(f.s.RevokeSession(f.ctx, s.ID, shared.RevokedLogout, first), "RevokeSession")
	want := *s
	want.RevokedAt, want.RevokedReason = &first, shared.RevokedLogout
	checkSession(t, f.getSession(s.ID), &want)

	f.must(f.s.RevokeSession(f.ctx, s.ID, shared.RevokedByAdmin, first.Add(time.Hour)), "RevokeSession again")
	checkSession(t, f.getSession(s.ID), &want)
	f.wantUnrevoked(other.ID)
}

func testRevokeUserSessions(t *testing.T, f *fixture) {
	now := base.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		except func(mine, others []*store.Session) string
		spared int // index into mine; -1: none
	}{
		{"with no exception", func(mine, others []*store.Session) string { return "" }, -1},
		{"except one", func(mine, others []*store.Session) string { return mine[1].ID }, 1},
		{"except another user's session", func(mine, others []*store.Session) string { return others[0].ID }, -1},
		{"except an unknown session", func(mine, others []*store.Session) string { return "unknown" }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			u := f.user("alice", shared.RoleViewer)
			other := f.user("bob", shared.RoleViewer)
			mine := []*store.Session{
				f.session(u, base, nil),
				f.session(u, base.Add(time.Minute), nil),
				f.session(u, base.Add(2*time.Minute), func(s *store.Session) { s.ExpiresAt = base }), // expired, not revoked
			}
			loggedOut := f.revoked(f.session(u, base.Add(3*time.Minute), nil), shared.RevokedLogout, base.Add(4*time.Minute))
			others := []*store.Session{f.session(other, base, nil)}

			except := tc.except(mine, others)
			got, err := f.s.RevokeUserSessions(f.ctx, u.ID, except, shared.RevokedByUser, now)
			f.must(err, "RevokeUserSessions(except %q)", except)

			var want []string
			for i, s := range mine {
				if i == tc.spared {
					f.wantUnrevoked(s.ID)
					continue
				}
				want = append(want, s.ID)
				f.wantRevoked(s.ID, shared.RevokedByUser, now)
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("RevokeUserSessions returned %q, want %q in any order", got, want)
			}
			f.wantRevoked(loggedOut.ID, shared.RevokedLogout, *loggedOut.RevokedAt)
			f.wantUnrevoked(others[0].ID)

			got, err = f.s.RevokeUserSessions(f.ctx, u.ID, except, shared.RevokedByUser, now)
			f.must(err, "RevokeUserSessions again")
			if len(got) != 0 {
				t.Errorf("RevokeUserSessions again returned %q, want none", got)
			}
		})
	}

	got, err := f.s.RevokeUserSessions(f.ctx, 4242, "", shared.RevokedByAdmin, now)
	f.must(err, "RevokeUserSessions(user without sessions)")
	if len(got) != 0 {
		t.Errorf("RevokeUserSessions(user without sessions) returned %q, want none", got)
	}
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
	ss := map[string]*store.Session{
		"a1": f.session(alice, at(0), nil),
		"b1": f.session(bob, at(1), nil),
		"a2": f.session(alice, at(2), nil),
		"a3": f.session(alice, at(3), func(s *store.Session) { s.ExpiresAt = now }),
		"b2": f.session(bob, at(4), func(s *store.Session) { s.ExpiresAt = now.Add(-time.Millisecond) }),
		"a4": f.session(alice, at(5), nil),
		"b3": f.session(bob, at(6), func(s *store.Session) { s.ExpiresAt = now.Add(time.Millisecond) }),
	}
	ss["a2"] = f.revoked(ss["a2"], shared.RevokedLogout, at(10))
	return ss, now
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
