package integration

import (
	"net/http"
	"testing"

	"gatehouse/app/client"
	"gatehouse/shared"
)

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("on the wire: 204, the token refused, the cookie cleared, the refresh token dead", func(t *testing.T) {
		resp, body := e.rawLogin(adminName, adminPass)
		login := grant(t, resp, body)

		resp, body = e.do("POST", shared.PathLogout, login.AccessToken, nil, nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d %s, want 204", resp.StatusCode, body)
		}
		c := refreshCookie(resp)
		if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != shared.CookiePath {
			t.Fatalf("Set-Cookie %q, want the refresh cookie cleared on %s", resp.Header.Values("Set-Cookie"), shared.CookiePath)
		}
		if h := resp.Header.Get(shared.HeaderRefreshToken); h != "" {
			t.Fatal("logout handed out a fresh token")
		}

		resp, body = e.do("GET", shared.PathMe, login.AccessToken, nil, nil)
		wantTokenError(t, resp, body, true)
		wantReason(t, body, shared.RevokedLogout)

		resp, body = e.do("POST", shared.PathTokenRefresh, "", http.Header{"Cookie": {shared.CookieRefresh + "=" + login.RefreshToken}}, nil)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		wantReason(t, body, shared.RevokedLogout)
	})

	t.Run("through the client: the token and cookie are gone and the next call is logged out", func(t *testing.T) {
		c := e.login(adminName, adminPass)
		tok := c.Tokens.Token()
		if err := c.Logout(bg); err != nil {
			t.Fatal(err)
		}
		if c.Tokens.Token() != "" || e.jarRefresh(c) != "" {
			t.Fatal("the client kept its token or its refresh cookie")
		}
		resp, body := e.do("GET", shared.PathAuthCheck, tok, nil, nil)
		wantTokenError(t, resp, body, true)
		_, err := c.Me(bg)
		if err == nil {
			t.Fatal("a call after logout succeeded")
		}
		wantLoggedOut(t, c, err)
	})

	t.Run("the other sessions of the user are untouched", func(t *testing.T) {
		a, b := e.login(adminName, adminPass), e.login(adminName, adminPass)
		if err := a.Logout(bg); err != nil {
			t.Fatal(err)
		}
		if err := b.Check(bg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, current := e.newUser(shared.RoleViewer)
	other1, other2 := e.login(u.Username, userPassword), e.login(u.Username, userPassword)
	stale1, stale2 := other1.Tokens.Token(), other2.Tokens.Token()

	t.Run("a wrong current password is 422 and changes nothing", func(t *testing.T) {
		err := current.ChangePassword(bg, shared.PasswordChange{CurrentPassword: "not-my-password", NewPassword: "brand-new-pass-1"})
		ae := wantAPIError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
		if ae.Fields["current_password"] == "" {
			t.Fatalf("fields %v, want an error on current_password", ae.Fields)
		}
		if err := other1.Check(bg); err != nil {
			t.Fatalf("a failed change revoked another session: %v", err)
		}
	})

	t.Run("on success the other sessions end and the current one goes on", func(t *testing.T) {
		// Raw, because the 204 is part of the point.
		resp, body := e.do("PUT", shared.PathMePassword, current.Tokens.Token(), jsonHeader,
			jsonBody(t, shared.PasswordChange{CurrentPassword: userPassword, NewPassword: "brand-new-pass-1"}))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d %s, want 204", resp.StatusCode, body)
		}
		for _, tok := range []string{stale1, stale2} {
			resp, body := e.do("GET", shared.PathMe, tok, nil, nil)
			wantTokenError(t, resp, body, true)
			wantReason(t, body, shared.RevokedPasswordChange)
		}
		wantLoggedOut(t, other1, other1.Refresh(bg))
		_, err := other2.Me(bg)
		wantLoggedOut(t, other2, err)
		wantEndReason(t, err, shared.RevokedPasswordChange)

		if _, err := current.Me(bg); err != nil {
			t.Fatalf("the current session was revoked: %v", err)
		}
		if err := current.Refresh(bg); err != nil {
			t.Fatalf("the current session's refresh failed: %v", err)
		}
	})

	t.Run("the old password no longer signs in and the new one does", func(t *testing.T) {
		_, err := e.client().Login(bg, u.Username, userPassword)
		wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant)
		e.login(u.Username, "brand-new-pass-1")
	})
}

func TestPasswordResetByAnAdminEndsEverySession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, c := e.newUser(shared.RoleViewer)
	tok := c.Tokens.Token()
	if err := e.admin().ResetPassword(bg, u.ID, shared.PasswordReset{NewPassword: "reset-by-admin-1"}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", shared.PathMe, tok, nil, nil)
	wantTokenError(t, resp, body, true)
	wantReason(t, body, shared.RevokedPasswordReset)
	_, err := c.Me(bg)
	wantLoggedOut(t, c, err)
	wantEndReason(t, err, shared.RevokedPasswordReset)
	e.login(u.Username, "reset-by-admin-1")
}

// Disabling a user revokes all of their sessions (DESIGN, Sessions), and
// the next request with one of their tokens answers 403 inactive_user (the
// server checks the user before the session, so the reason is not hidden
// behind a 401 for the revoked session).
func TestDisablingAUserEndsTheirSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	u, c1 := e.newUser(shared.RoleManager)
	c2 := e.login(u.Username, userPassword)
	for _, c := range []*client.Client{c1, c2} {
		if err := c.Check(bg); err != nil { // warm the caches
			t.Fatal(err)
		}
	}
	toks := []string{c1.Tokens.Token(), c2.Tokens.Token()}

	if _, err := admin.UpdateUser(bg, u.ID, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	t.Run("every session is revoked with reason user_disabled", func(t *testing.T) {
		page, err := admin.Sessions(bg, client.SessionQuery{UserID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 2 {
			t.Fatalf("%d sessions, want 2", page.Total)
		}
		for _, s := range page.Items {
			if s.RevokedAt == nil || s.RevokedReason != shared.RevokedUserDisabled {
				t.Fatalf("session %+v, want revoked as user_disabled", s)
			}
		}
	})

	t.Run("the very next request with their token is 403 inactive_user", func(t *testing.T) {
		for _, tok := range toks {
			resp, body := e.do("GET", shared.PathMe, tok, nil, nil)
			wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeInactiveUser)
			wantReason(t, body, shared.RevokedUserDisabled)
		}
		_, err := c1.Me(bg)
		wantAPIError(t, err, http.StatusForbidden, shared.CodeInactiveUser)
		wantEndReason(t, err, shared.RevokedUserDisabled)
	})

	t.Run("their refresh tokens are refused: 400 invalid_grant, the client logs out", func(t *testing.T) {
		wantLoggedOut(t, c2, c2.Refresh(bg))
	})

	t.Run("signing in again is 403 inactive_user", func(t *testing.T) {
		_, err := e.client().Login(bg, u.Username, userPassword)
		wantAPIError(t, err, http.StatusForbidden, shared.CodeInactiveUser)
	})

	t.Run("enabled again, they sign in but the old sessions stay ended", func(t *testing.T) {
		if _, err := admin.UpdateUser(bg, u.ID, shared.UserUpdate{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		e.login(u.Username, userPassword)
		resp, body := e.do("GET", shared.PathMe, toks[1], nil, nil)
		wantTokenError(t, resp, body, true)
	})
}

func TestRoleDowngradeTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	m, mc := e.newUser(shared.RoleManager)
	create := func(name string) error {
		_, err := mc.CreateUser(bg, shared.UserCreate{Username: name, Password: userPassword, Role: shared.RoleViewer, MustChangePassword: ptr(false)})
		return err
	}
	// The manager's role is now in the server's cache.
	if err := create("made-by-manager-1"); err != nil {
		t.Fatal(err)
	}

	if _, err := admin.UpdateUser(bg, m.ID, shared.UserUpdate{Role: ptr(shared.RoleViewer)}); err != nil {
		t.Fatal(err)
	}
	t.Run("demoted to viewer: users:write routes are 403 at once", func(t *testing.T) {
		wantAPIError(t, create("made-by-manager-2"), http.StatusForbidden, shared.CodeInsufficientScope)
		_, err := mc.Sessions(bg, client.SessionQuery{})
		wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
	})
	t.Run("the session stays and reads still work", func(t *testing.T) {
		me, err := mc.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		if me.Role != shared.RoleViewer {
			t.Fatalf("role %s, want viewer", me.Role)
		}
		if _, err := mc.Users(bg, client.UserQuery{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("promoted back: the permission returns at once", func(t *testing.T) {
		if _, err := admin.UpdateUser(bg, m.ID, shared.UserUpdate{Role: ptr(shared.RoleManager)}); err != nil {
			t.Fatal(err)
		}
		if err := create("made-by-manager-3"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRevocationTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	u, _ := e.newUser(shared.RoleViewer)

	tests := []struct {
		name   string
		revoke func(t *testing.T, victim *client.Client) error
		reason string // the 401 says why
	}{
		{"an admin revokes the session", func(t *testing.T, v *client.Client) error {
			return admin.RevokeSession(bg, sidOf(t, v))
		}, shared.RevokedByAdmin},
		{"an admin logs the user out everywhere", func(t *testing.T, v *client.Client) error {
			return admin.RevokeUserSessions(bg, u.ID)
		}, shared.RevokedByAdmin},
		{"the user revokes it from another of their sessions", func(t *testing.T, v *client.Client) error {
			return e.login(u.Username, userPassword).RevokeMySession(bg, sidOf(t, v))
		}, shared.RevokedByUser},
	}
	for _, tt := range tests {
		t.Run(tt.name+": the next request is 401", func(t *testing.T) {
			victim := e.login(u.Username, userPassword)
			if err := victim.Check(bg); err != nil { // cached as valid
				t.Fatal(err)
			}
			tok := victim.Tokens.Token()
			if err := tt.revoke(t, victim); err != nil {
				t.Fatal(err)
			}
			resp, body := e.do("GET", shared.PathAuthCheck, tok, nil, nil)
			wantTokenError(t, resp, body, true)
			wantReason(t, body, tt.reason)
			err := victim.Check(bg)
			wantLoggedOut(t, victim, err)
			wantEndReason(t, err, tt.reason)
		})
	}

	t.Run("a user cannot revoke someone else's session through their own list", func(t *testing.T) {
		_, vc := e.newUser(shared.RoleViewer)
		err := vc.RevokeMySession(bg, sidOf(t, admin))
		wantAPIError(t, err, http.StatusNotFound, shared.CodeNotFound)
		if err := admin.Check(bg); err != nil {
			t.Fatal(err)
		}
	})
}
