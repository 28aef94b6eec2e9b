package ui

import (
	"net/http"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

func TestRestrictionOf(t *testing.T) {
	both := vera
	both.MustChangePassword, both.MustEnrollMFA = true, true
	enrol := vera
	enrol.MustEnrollMFA = true
	for _, tt := range []struct {
		name string
		me   *shared.User
		want restriction
	}{
		{"nobody known", nil, unrestricted},
		{"free", &vera, unrestricted},
		{"enrolling", &enrol, mustEnroll},
		{"the password comes first", &both, mustChangePassword},
	} {
		if got := restrictionOf(tt.me); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// frameAround is the frame of a page whose content is a marker.
func frameAround(env *Env, reload func(app.Context)) *Frame {
	return &Frame{Env: env, Path: "/", Reload: reload, Content: []app.UI{app.P().ID("page-content").Text("the page")}}
}

// Issue 10: a 403 password_change_required met by any page — the session
// learned it mid-way — leads the frame to the panel that only changes the
// password: no page, no navigation, sign-out still there.
func TestAForbiddenCallLeadsToTheSetup(t *testing.T) {
	must := vera
	must.MustChangePassword = true
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users/me": reply(must),
		"GET /api/users/me/sessions": replyError(http.StatusForbidden, shared.Error{
			Code: shared.CodePasswordChangeRequired, Description: "choose a new password before anything else"}),
	})
	r := newRig(t)
	env := newEnv(t, api, &vera)
	dom := render(t, frameAround(env, nil))
	dom.one(t, "#page-content")
	dom.one(t, "#nav-profile")

	s := &Sessions{Env: env}
	s.OnMount(r.ctx)
	r.settle()
	if me := env.Me(); me == nil || !me.MustChangePassword {
		t.Fatalf("after the 403 the signed-in user is %+v, want must_change_password", me)
	}
	dom = render(t, frameAround(env, nil))
	if dom.count(t, "#page-content") != 0 {
		t.Error("the page still shows under a restriction")
	}
	if n := dom.count(t, ".nav-link"); n != 0 {
		t.Errorf("%d navigation links show under a restriction", n)
	}
	dom.one(t, "button#logout")
	dom.one(t, "#account-setup #password-form")
	if got := dom.one(t, "#account-setup h1#page-title").Text(); got != "Choose a new password" {
		t.Errorf("the panel's heading is %q", got)
	}
	if dom.count(t, "#password-code") != 0 {
		t.Error("a code is asked of an account without a second factor")
	}
}

// Issue 10: a forced password change, then — when the policy also wants a
// second factor — the enrolment, whose recovery codes stay on the page
// until saved even once who-am-I says nothing is required any more; then
// the page is back and loads what it could not.
func TestForcedChangeThenEnrolmentThenThePage(t *testing.T) {
	must := vera
	must.MustChangePassword, must.MustEnrollMFA = true, true
	api := mfaAPI(t, must, map[string]http.HandlerFunc{
		"PUT /api/users/me/password": replyStatus(http.StatusNoContent),
		"GET /api/users/me/sessions": reply(pageOf(curSession(vera))),
	})
	r := newRig(t)
	env := newEnv(t, api, &must)
	reloads := 0
	f := frameAround(env, func(app.Context) { reloads++ })
	done := 0
	s := &AccountSetup{Env: env, OnOpen: func(app.Context) { f.setupOpen = true }, OnDone: func(ctx app.Context) { done++; f.setupDone(ctx) }}
	s.OnMount(r.ctx)
	if !f.setupOpen {
		t.Fatal("the panel did not tell the frame it is open")
	}

	s.pw.d = passwordDraft{current: "temporary-1", next: "my-own-password", repeat: "my-own-password"}
	s.pw.submit(s.live(r.stale), env, false, s.passwordChanged)
	r.settle()
	if done != 0 {
		t.Fatal("the panel ended with the enrolment still required")
	}
	dom := render(t, s)
	if got := dom.one(t, "h1#page-title").Text(); got != "Set up two-step verification" {
		t.Errorf("after the password the panel says %q", got)
	}
	dom.one(t, "#mfa-enrol #mfa-qr") // asked for at once
	if dom.count(t, "#mfa-cancel") != 0 {
		t.Error("a required enrolment can be cancelled")
	}

	if n := len(api.callsTo("POST", "/api/users/me/mfa/totp")); n != 1 {
		t.Fatalf("the set-up was asked %d times once the password was changed, want once", n)
	}
	s.enrol.code = "123456"
	s.enrol.confirm(s.live(r.stale), env, s.enrolled)
	r.settle()
	if restrictionOf(env.Me()) != unrestricted {
		t.Fatalf("after enrolling the user is %+v", env.Me())
	}
	// Who-am-I says nothing is required now; the codes stay until saved.
	if render(t, f).count(t, "#account-setup") != 1 {
		t.Fatal("the panel went before the recovery codes were saved")
	}
	if n := render(t, s).count(t, "#recovery-codes code"); n != 10 {
		t.Fatalf("%d recovery codes show, want 10", n)
	}
	s.saved(r.stale)
	r.settle()
	if done != 1 || reloads != 1 {
		t.Errorf("after saving: done %d, page reloads %d; want 1 and 1", done, reloads)
	}
	dom = render(t, f)
	if dom.count(t, "#account-setup") != 0 || dom.count(t, "#page-content") != 1 {
		t.Error("the page did not come back")
	}
	if dom.count(t, "#nav-profile") != 1 {
		t.Error("the navigation did not come back")
	}
}

// A forced change of an account with a second factor asks the code in
// the same form.
func TestForcedChangeAsksTheCodeOfAnEnrolledAccount(t *testing.T) {
	must := vera
	must.MustChangePassword, must.MFA = true, true
	env := newEnv(t, newStubAPI(t, nil), &must)
	render(t, frameAround(env, nil)).one(t, "#account-setup #password-form #password-code")
}
