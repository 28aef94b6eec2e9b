package ui

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"gatehouse/shared"
)

// The list says who signs in with two-step verification, in words.
func TestUsersShowWhoHasTwoStepVerification(t *testing.T) {
	withMFA := vera
	withMFA.MFA = true
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users":    reply(pageOf(alice, mark, withMFA)),
		"GET /api/users/me": reply(vera),
	})
	r := newRig(t)
	u := &Users{Env: newEnv(t, api, &vera)}
	u.OnMount(r.ctx)
	r.settle()
	dom := render(t, u)
	dom.one(t, "#users-table thead abbr[title]")
	for name, want := range map[string]string{"alice": "Off", "vera": "On"} {
		cell := dom.one(t, `#users-table tr[data-username="`+name+`"] td.cell-mfa[data-label="MFA"]`)
		if got := cell.Text(); got != want {
			t.Errorf("%s's MFA cell says %q, want %q", name, got, want)
		}
	}
}

// The panel beside the edit form: resetting two-step verification only
// for a user who has it, lifting lockouts for anyone one may change,
// neither for oneself.
func TestUsersSignInPanel(t *testing.T) {
	withMFA := vera
	withMFA.MFA = true
	listed := atomic.Value{}
	listed.Store(pageOf(alice, mark, withMFA))
	var resets, lifts atomic.Int32
	extra := map[string]http.HandlerFunc{
		"GET /api/users": func(w http.ResponseWriter, r *http.Request) { reply(listed.Load())(w, r) },
		"DELETE /api/users/3/mfa": func(w http.ResponseWriter, r *http.Request) {
			resets.Add(1)
			listed.Store(pageOf(alice, mark, vera))
			w.WriteHeader(http.StatusNoContent)
		},
		"DELETE /api/users/3/lockout": func(w http.ResponseWriter, r *http.Request) {
			lifts.Add(1)
			w.WriteHeader(http.StatusNoContent)
		},
		"DELETE /api/users/2/lockout": replyError(http.StatusForbidden, shared.Error{Code: shared.CodeInsufficientScope, Description: "mark's role is above yours"}),
	}
	r, _, u := usersPage(t, alice, extra)

	u.openEdit(r.stale, vera.ID)
	u.edit.fullName = "Vera Typed"
	dom := render(t, u)
	dom.one(t, "#user-security #reset-mfa")
	dom.one(t, "#user-security #lift-lockout")
	if got := dom.one(t, "#user-security #user-mfa-state").Text(); got != "Two-step verification: On" {
		t.Errorf("the panel says %q", got)
	}

	t.Run("reset asks first, then resets and says so", func(t *testing.T) {
		u.askResetMFA(r.stale, ev)
		if u.ask == nil || !strings.Contains(u.ask.message, "signed out everywhere") {
			t.Fatalf("no confirmation asked: %+v", u.ask)
		}
		u.dropConfirm(r.stale)
		if resets.Load() != 0 {
			t.Fatal("reset without a yes")
		}
		u.askResetMFA(r.stale, ev)
		u.confirmed(r.stale)
		// While it works (on a slow network, or while the password is
		// asked), the button says so and takes no second tap.
		if b := render(t, u).one(t, "#reset-mfa"); !b.has("disabled") || b.Text() != "Resetting…" {
			t.Errorf("while resetting the button is %v", b)
		}
		r.settle()
		if resets.Load() != 1 || !strings.Contains(u.edit.secMsg, "was reset") || u.edit.secErr != "" {
			t.Fatalf("after yes: %d resets, message %q, error %q", resets.Load(), u.edit.secMsg, u.edit.secErr)
		}
		if !u.edit.open || u.edit.fullName != "Vera Typed" {
			t.Errorf("the edit form is %+v; want it open with what was typed", u.edit)
		}
		dom := render(t, u)
		if got := dom.one(t, `#users-table tr[data-username="vera"] td.cell-mfa`).Text(); got != "Off" {
			t.Errorf("after the reset vera's MFA cell says %q", got)
		}
		if n := dom.count(t, "#reset-mfa"); n != 0 {
			t.Error("the reset button stays for a user without two-step verification")
		}
		dom.one(t, "#user-security #lift-lockout")
	})

	t.Run("lift says what it did", func(t *testing.T) {
		u.liftLockout(r.stale, ev)
		if b := render(t, u).one(t, "#lift-lockout"); !b.has("disabled") || b.Text() != "Lifting…" {
			t.Errorf("while lifting the button is %v", b)
		}
		u.liftLockout(r.stale, ev) // a second tap
		r.settle()
		if b := render(t, u).one(t, "#lift-lockout"); b.has("disabled") || b.Text() != "Lift sign-in lockout" {
			t.Errorf("once lifted the button is %v", b)
		}
		if lifts.Load() != 1 || !strings.Contains(u.edit.secMsg, "lifted") {
			t.Errorf("%d lifts, message %q", lifts.Load(), u.edit.secMsg)
		}
	})

	t.Run("the rank rule's refusal is shown in the panel", func(t *testing.T) {
		u.openEdit(r.stale, mark.ID)
		u.liftLockout(r.stale, ev)
		r.settle()
		if !strings.Contains(u.edit.secErr, "not allowed") || !strings.Contains(u.edit.secErr, "above yours") || u.edit.secMsg != "" {
			t.Errorf("error %q, message %q", u.edit.secErr, u.edit.secMsg)
		}
		if got := render(t, u).one(t, "#user-security p.error[role=alert]").Text(); got != u.edit.secErr {
			t.Errorf("the panel shows %q", got)
		}
	})

	t.Run("not for oneself", func(t *testing.T) {
		u.openEdit(r.stale, alice.ID)
		dom := render(t, u)
		for _, sel := range []string{"#reset-mfa", "#lift-lockout"} {
			if n := dom.count(t, sel); n != 0 {
				t.Errorf("one's own panel has %s", sel)
			}
		}
	})

	t.Run("a viewer sees none of it", func(t *testing.T) {
		_, _, u := usersPage(t, vera, nil)
		if n := render(t, u).count(t, "#user-security"); n != 0 {
			t.Error("a viewer is shown the panel")
		}
	})
}
