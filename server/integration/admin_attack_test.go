package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The attack review of the admin API, across requests: what a low-privileged
// user, a stolen access token or a second instance can do to users,
// sessions and the audit log. The first tests are holes that were found and
// closed; the rest are attacks that held, kept so that they keep holding.

// stale moves the clock past the step-up window: every session signed in
// before is no longer a recent sign-in, while its access token (which the
// client slides) stays valid.
func (e *env) stale() { e.clock.Advance(6 * time.Minute) }

// wantStepUp checks that a call was refused for want of a recent sign-in.
func wantStepUp(t *testing.T, err error) {
	t.Helper()
	wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInsufficientUserAuth)
}

// deniedEvents counts the refusals audited with the action.
func (e *env) deniedEvents(action string) int {
	n := 0
	for _, ev := range e.audit(action) {
		if ev.Outcome == shared.OutcomeDenied {
			n++
		}
	}
	return n
}

// Found: PUT /api/users/{own id}/password asked for neither the current
// password nor a recent sign-in, so a stolen access token of a manager or
// admin set its owner's password — and, the owner's sessions revoked,
// signed in with it: the account was the thief's. Now it needs a recent
// sign-in like every other reset.
func TestAStolenTokenCannotResetItsOwnersPassword(t *testing.T) {
	t.Parallel()
	for _, role := range []shared.Role{shared.RoleManager, shared.RoleAdmin} {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			u, owner := e.newUser(role)
			thief := e.client()
			thief.Tokens.SetToken(owner.Tokens.Token()) // the access token only, as an XSS would take it
			e.stale()

			err := thief.ResetPassword(bg, u.ID, shared.PasswordReset{NewPassword: "thief-chosen-1"})
			wantStepUp(t, err)
			if _, err := e.client().Login(bg, u.Username, "thief-chosen-1"); err == nil {
				t.Fatal("the thief's password signs in")
			}
			if err := owner.Check(bg); err != nil {
				t.Fatalf("the owner was signed out: %v", err)
			}
			e.login(u.Username, userPassword)
			if n := e.deniedEvents(shared.ActionPasswordReset); n != 1 {
				t.Fatalf("%d refused resets audited, want 1", n)
			}

			// The owner, confirming the password, may still reset their own,
			// and is not made to change it again.
			if err := owner.Reauth(bg, userPassword, ""); err != nil {
				t.Fatal(err)
			}
			if err := owner.ResetPassword(bg, u.ID, shared.PasswordReset{NewPassword: "owner-chosen-1"}); err != nil {
				t.Fatal(err)
			}
			c := e.login(u.Username, "owner-chosen-1")
			if _, err := c.Users(bg, client.UserQuery{}); err != nil {
				t.Fatalf("after an own reset: %v", err)
			}
		})
	}
}

// Found: creating an account needed no recent sign-in whatever its role,
// so a stolen access token made its thief a manager or an admin of their
// own — a password they chose, no change forced — that outlived the owner
// revoking every session and changing the password. Promoting a user
// needs a recent sign-in; granting the role by creation now does too.
func TestCreatingAManagerOrAdminNeedsARecentSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.newUser(shared.RoleAdmin)
	_, manager := e.newUser(shared.RoleManager)
	e.stale()
	create := func(c *client.Client, name string, role shared.Role) error {
		_, err := c.CreateUser(bg, shared.UserCreate{Username: name, Password: "backdoor-pass-1", Role: role, MustChangePassword: ptr(false)})
		return err
	}
	for _, tt := range []struct {
		name  string
		c     *client.Client
		role  shared.Role
		allow bool
	}{
		{"an admin creating an admin", admin, shared.RoleAdmin, false},
		{"an admin creating a manager", admin, shared.RoleManager, false},
		{"a manager creating a manager", manager, shared.RoleManager, false},
		{"an admin creating a viewer", admin, shared.RoleViewer, true},
		{"a manager creating a viewer", manager, shared.RoleViewer, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("made%d", e.users.Add(1))
			err := create(tt.c, name, tt.role)
			if tt.allow {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantStepUp(t, err)
			if _, err := e.client().Login(bg, name, "backdoor-pass-1"); err == nil {
				t.Fatal("the refused account signs in")
			}
		})
	}
	if n := e.deniedEvents(shared.ActionUserCreate); n != 3 {
		t.Fatalf("%d refused creations audited, want 3", n)
	}
	t.Run("after re-authenticating the admin creates an admin", func(t *testing.T) {
		if err := admin.Reauth(bg, userPassword, ""); err != nil {
			t.Fatal(err)
		}
		if err := create(admin, "second-root", shared.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a manager asking for an admin is refused for the rank before the step-up", func(t *testing.T) {
		wantAPIError(t, create(manager, "would-be-admin", shared.RoleAdmin), http.StatusForbidden, shared.CodeInsufficientScope)
	})
}

// Found: the audit log's actor filter went to SQLite's LIKE unbounded; a
// pattern over 50,000 bytes is an SQLite error, answered 500. Every list's
// text filter is now bounded and checked before any query: 400.
func TestListFiltersAreBoundedBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, settings ...string) {
		e := newEnv(t, settings...)
		tok := e.admin().Tokens.Token()
		long := strings.Repeat("a", shared.MaxFilterLen)
		for _, tt := range []struct {
			path, param, value string
			ok                 bool
		}{
			{shared.PathAudit, "actor", strings.Repeat("%", 60000), false},
			{shared.PathAudit, "actor", strings.Repeat("a", 60000), false},
			{shared.PathAudit, "actor", long + "a", false},
			{shared.PathAudit, "actor", long, true},
			{shared.PathAudit, "actor", strings.Repeat("é", shared.MaxFilterLen), true},
			{shared.PathAudit, "actor", "\xff", false},
			{shared.PathAudit, "actor", "ro\x00", false},
			{shared.PathAudit, "action", strings.Repeat("a", 100000), false},
			{shared.PathAudit, "action", "\xfe", false},
			{shared.PathUsers, "q", strings.Repeat("a", 100000), false},
			{shared.PathUsers, "q", long + "a", false},
			{shared.PathUsers, "q", long, true},
			{shared.PathUsers, "q", "\xff\xfe", false},
			{shared.PathUsers, "q", "\x00", false},
		} {
			name := fmt.Sprintf("%s %s of %d bytes", tt.path, tt.param, len(tt.value))
			t.Run(name, func(t *testing.T) {
				resp, body := e.do("GET", tt.path+"?"+tt.param+"="+url.QueryEscape(tt.value), tok, nil, nil)
				if tt.ok {
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d, want 200; body %.300s", resp.StatusCode, body)
					}
					return
				}
				wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)
			})
		}
	})
}
