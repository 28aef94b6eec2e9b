package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

func session(id string, u shared.User, current bool) shared.Session {
	now := time.Now()
	return shared.Session{ID: id, UserID: u.ID, Username: u.Username, CreatedAt: now.Add(-time.Hour), LastSeenAt: now,
		ExpiresAt: now.Add(11 * time.Hour), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130", IP: "192.0.2.1", Current: current}
}

func revoked(s shared.Session, reason string) shared.Session {
	at := time.Now().Add(-time.Minute)
	s.RevokedAt, s.RevokedReason = &at, reason
	return s
}

// sessionsPage mounts the sessions page for me: my sessions are "cur"
// (this browser), "old" (revoked) and "tab" (another active one); all
// sessions add "vs1", vera's.
func sessionsPage(t *testing.T, me shared.User) (*rig, *stubAPI, *Sessions) {
	t.Helper()
	mine := pageOf(session("cur", me, true), revoked(session("old", me, false), shared.RevokedPasswordChange), session("tab", me, false))
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users/me/sessions":         reply(mine),
		"GET /api/sessions":                  reply(pageOf(session("vs1", vera, false), mine.Items[0], mine.Items[2])),
		"DELETE /api/users/me/sessions/{id}": replyStatus(http.StatusNoContent),
		"DELETE /api/sessions/{id}":          replyStatus(http.StatusNoContent),
		"DELETE /api/users/{id}/sessions":    replyStatus(http.StatusNoContent),
		"GET /api/users/me":                  reply(me),
	})
	r := newRig(t)
	s := &Sessions{Env: newEnv(t, api, &me)}
	s.OnMount(r.ctx)
	r.settle()
	return r, api, s
}

func TestSessionsOwnList(t *testing.T) {
	_, api, s := sessionsPage(t, vera)
	dom := render(t, s)
	if n := dom.count(t, "#my-sessions tbody tr[data-session-id]"); n != 3 {
		t.Fatalf("%d own sessions shown, want 3", n)
	}
	if got := dom.one(t, `#my-sessions tr.current`).attr("data-session-id"); got != "cur" {
		t.Errorf("the current session is marked on %q, want cur", got)
	}
	if n := dom.count(t, `#my-sessions tr[data-session-id="old"] .revoke-session`); n != 0 {
		t.Errorf("a revoked session offers revoking")
	}
	if got := dom.one(t, `#my-sessions tr[data-session-id="old"] .status`).Text(); got != "revoked: password changed" {
		t.Errorf("status of the revoked session = %q", got)
	}
	dom.one(t, `#my-sessions tr[data-session-id="tab"] .revoke-session`)
	if n := dom.count(t, "#all-sessions") + dom.count(t, "#active-only"); n != 0 {
		t.Errorf("a viewer is shown all sessions")
	}
	if got := api.callsTo("GET", "/api/sessions"); len(got) != 0 {
		t.Errorf("a viewer's page asked for all sessions: %+v", got)
	}
}

func TestSessionsRevokeAnotherOwnSession(t *testing.T) {
	r, api, s := sessionsPage(t, vera)
	loads := len(api.callsTo("GET", "/api/users/me/sessions"))
	s.revokeMine(r.stale, "tab")
	r.settle()
	if got := api.callsTo("DELETE", "/api/users/me/sessions/tab"); len(got) != 1 {
		t.Fatalf("%d DELETE of session tab, want 1", len(got))
	}
	if r.navigatedAway() || !s.Env.SignedIn() {
		t.Fatalf("revoking another session signed this browser out")
	}
	if n := len(api.callsTo("GET", "/api/users/me/sessions")); n != loads+1 {
		t.Errorf("the list was not reloaded after the revoke")
	}
	if got := render(t, s).one(t, "#sessions-message").Text(); got != "The session was revoked." {
		t.Errorf("#sessions-message = %q", got)
	}
}

func TestSessionsRevokingTheCurrentOneSignsOut(t *testing.T) {
	r, api, s := sessionsPage(t, vera)
	s.Env.Cache.Put("users", "something")
	s.revokeMine(r.stale, "cur")
	r.settle()
	if got := api.callsTo("DELETE", "/api/users/me/sessions/cur"); len(got) != 1 {
		t.Fatalf("%d DELETE of the current session, want 1", len(got))
	}
	if s.Env.SignedIn() || s.Env.Me() != nil {
		t.Errorf("still signed in after revoking the current session")
	}
	var v string
	if _, ok := s.Env.Cache.Get("users", &v); ok {
		t.Errorf("cached views survive the sign-out")
	}
	if !r.navigatedAway() {
		t.Errorf("did not go to the sign-in page")
	}
}

func TestSessionsAllSessions(t *testing.T) {
	t.Run("a manager sees everyone's sessions with revoke and sign-out-everywhere", func(t *testing.T) {
		_, api, s := sessionsPage(t, mark)
		dom := render(t, s)
		if n := dom.count(t, "#all-sessions tbody tr[data-session-id]"); n != 3 {
			t.Fatalf("%d sessions in #all-sessions, want 3", n)
		}
		dom.one(t, `#all-sessions tr[data-session-id="vs1"] .revoke-session`)
		dom.one(t, `#all-sessions tr[data-session-id="vs1"] .revoke-user-sessions`)
		if dom.one(t, "#active-only").has("checked") {
			t.Errorf("#active-only starts checked")
		}
		q := api.callsTo("GET", "/api/sessions")[0].Query
		if _, ok := q["active"]; ok || q["page"] != "1" {
			t.Errorf("all sessions asked with %v, want page 1 and no active filter", q)
		}
	})

	t.Run("only active ones when asked", func(t *testing.T) {
		r, api, s := sessionsPage(t, mark)
		s.activeOnly = true
		s.loadAll(r.stale)
		r.settle()
		calls := api.callsTo("GET", "/api/sessions")
		if q := calls[len(calls)-1].Query; q["active"] != "true" {
			t.Errorf("query %v, want active=true", q)
		}
		if !render(t, s).one(t, "#active-only").has("checked") {
			t.Errorf("#active-only is not checked")
		}
	})

	t.Run("revoking one of someone else's", func(t *testing.T) {
		r, api, s := sessionsPage(t, mark)
		s.revokeAny(r.stale, "vs1")
		r.settle()
		if got := api.callsTo("DELETE", "/api/sessions/vs1"); len(got) != 1 {
			t.Fatalf("%d DELETE /api/sessions/vs1, want 1", len(got))
		}
		if r.navigatedAway() {
			t.Errorf("revoking vera's session signed mark out")
		}
	})

	t.Run("signing a user out everywhere", func(t *testing.T) {
		r, api, s := sessionsPage(t, mark)
		s.revokeUser(r.stale, vera.ID, vera.Username)
		if !strings.Contains(render(t, s).one(t, "dialog#confirm").Text(), "vera") {
			t.Errorf("the question does not name vera")
		}
		if got := api.callsTo("DELETE", "/api/users/3/sessions"); len(got) != 0 {
			t.Fatalf("sent before confirming: %+v", got)
		}
		s.confirmed(r.stale)
		r.settle()
		if got := api.callsTo("DELETE", "/api/users/3/sessions"); len(got) != 1 {
			t.Fatalf("%d DELETE /api/users/3/sessions, want 1", len(got))
		}
		if got := render(t, s).one(t, "#sessions-message").Text(); !strings.Contains(got, "vera") {
			t.Errorf("#sessions-message = %q", got)
		}
		if r.navigatedAway() {
			t.Errorf("signing vera out signed mark out")
		}
	})

	t.Run("signing oneself out everywhere ends this browser's session too", func(t *testing.T) {
		r, api, s := sessionsPage(t, mark)
		s.revokeUser(r.stale, mark.ID, mark.Username)
		if got := render(t, s).one(t, "dialog#confirm").Text(); !strings.Contains(got, "this one included") {
			t.Errorf("the question %q does not say this session ends too", got)
		}
		s.dropConfirm(r.stale)
		r.settle()
		if r.navigatedAway() || len(api.writes()) != 0 {
			t.Fatalf("cancelling still signed out")
		}
		s.revokeUser(r.stale, mark.ID, mark.Username)
		s.confirmed(r.stale)
		r.settle()
		if !r.navigatedAway() || s.Env.SignedIn() {
			t.Errorf("still signed in here after signing out everywhere")
		}
	})

	t.Run("revoking this browser's session from the full list signs out", func(t *testing.T) {
		r, _, s := sessionsPage(t, mark)
		s.revokeAny(r.stale, "cur")
		r.settle()
		if !r.navigatedAway() || s.Env.SignedIn() {
			t.Errorf("still signed in after revoking the current session")
		}
	})
}

func TestSessionStatus(t *testing.T) {
	now := time.Now()
	s := session("x", vera, false)
	tests := []struct {
		name string
		s    shared.Session
		want string
	}{
		{"an open session is active", s, "active"},
		{"a session past its end has expired", func() shared.Session { e := s; e.ExpiresAt = now.Add(-time.Second); return e }(), "expired"},
		{"a revoked session says why", revoked(s, shared.RevokedByAdmin), "revoked: by an administrator"},
		{"an unknown reason is shown as is", revoked(s, "cosmic_rays"), "revoked: cosmic_rays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := sessionStatus(tt.s, now); got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
		})
	}
}
