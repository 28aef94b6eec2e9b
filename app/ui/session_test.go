package ui

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

func TestLoginURL(t *testing.T) {
	for _, tc := range []struct{ reason, next, want string }{
		{"", "", "/login"},
		{"", "/", "/login"},
		{shared.RevokedByAdmin, "", "/login?ended=revoked_by_admin"},
		{shared.EndedSessionExpired, "/users?q=ann&page=2", "/login?ended=session_expired&next=%2Fusers%3Fq%3Dann%26page%3D2"},
		{"", "//evil.example/x", "/login"},
		{"", "https://evil.example/", "/login"},
		{"", `/\evil.example`, "/login"},
		{"", "users", "/login"},
	} {
		if got := loginURL(tc.reason, tc.next); got != tc.want {
			t.Errorf("loginURL(%q, %q) = %q, want %q", tc.reason, tc.next, got, tc.want)
		}
	}
}

func TestEveryEndHasWords(t *testing.T) {
	for _, r := range []string{
		shared.EndedTokenExpired, shared.EndedSessionExpired, shared.RevokedLogout, shared.RevokedByUser,
		shared.RevokedByAdmin, shared.RevokedByManager, shared.RevokedPasswordGuess, shared.RevokedPasswordChange,
		shared.RevokedPasswordReset, shared.RevokedUserDisabled, shared.RevokedUserDeleted, shared.RevokedRefreshReuse,
		otherTab, signedOutEverywhere,
	} {
		if m := EndedMessage(r); m == "" || m == EndedMessage("something new") {
			t.Errorf("EndedMessage(%q) = %q: say what happened", r, m)
		}
	}
	if m := EndedMessage(""); m != "" {
		t.Errorf("EndedMessage(\"\") = %q, want nothing", m)
	}
}

// A change that finds the session over asks for the password again over
// the page, and once it is given makes the change with what was typed.
func TestAChangeSurvivesTheEndOfTheSession(t *testing.T) {
	var revoked atomic.Bool
	revoked.Store(true)
	var patches atomic.Int32
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users":    reply(pageOf(alice, mark, vera)),
		"GET /api/users/me": reply(mark),
		"PATCH /api/users/3": func(w http.ResponseWriter, r *http.Request) {
			patches.Add(1)
			if revoked.Load() {
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidToken, Description: "revoked", Reason: shared.EndedTokenExpired})(w, r)
				return
			}
			v := vera
			v.FullName = "Vera Kept"
			reply(v)(w, r)
		},
		"POST /api/token/refresh": replyError(http.StatusBadRequest, shared.Error{Code: shared.CodeInvalidGrant, Description: "refused", Reason: shared.RevokedByAdmin}),
		"POST /api/token": func(w http.ResponseWriter, r *http.Request) {
			if r.FormValue("username") != "mark" || r.FormValue("password") != "mark-password" {
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong"})(w, r)
				return
			}
			revoked.Store(false)
			reply(shared.TokenResponse{AccessToken: fakeToken(time.Now().Add(time.Hour), "s2"), TokenType: "bearer", ExpiresIn: 3600})(w, r)
		},
	})
	r := newRig(t)
	u := &Users{Env: newEnv(t, api, &mark)}
	u.OnMount(r.ctx)
	r.settle()

	u.openEdit(r.stale, vera.ID)
	u.edit.fullName = "Vera Kept"
	u.submitEdit(r.stale, ev)
	r.settle()
	req := u.Env.reauthenticating()
	if req == nil || req.reason != shared.RevokedByAdmin {
		t.Fatalf("after the refused change: question %+v, want one for revoked_by_admin", req)
	}
	if r.navigatedAway() {
		t.Fatal("the page was left: what was typed is lost")
	}
	if !u.edit.open || u.edit.fullName != "Vera Kept" {
		t.Fatalf("the form is %+v, want it open with what was typed", u.edit)
	}
	frame := &Frame{Env: u.Env}
	dom := render(t, frame)
	dom.one(t, "dialog#reauth #reauth-password")
	if got := dom.one(t, "#reauth-why").Text(); got != EndedMessage(shared.RevokedByAdmin) {
		t.Errorf("#reauth-why = %q", got)
	}

	// The dialog checks the password by signing in again as mark.
	d := frame.reauthDialog(u.Env.Me()).(*Reauth)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "wrong"}); err == nil {
		t.Fatal("a wrong password was taken")
	}
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "mark-password"}); err != nil {
		t.Fatalf("the right password: %v", err)
	}
	u.Env.finishReauth(r.ctx, true)
	r.settle()
	if got := patches.Load(); got != 2 {
		t.Errorf("%d PATCH requests, want the refused one and its retry", got)
	}
	if u.edit.open || !strings.Contains(u.msg, "saved") {
		t.Errorf("after signing in again: form open %v, message %q; want it saved", u.edit.open, u.msg)
	}
	if u.Env.reauthenticating() != nil {
		t.Error("the question is still open")
	}
}

// Giving up signs out, saying why, and comes back to the page after.
func TestGivingUpTheReauthSignsOut(t *testing.T) {
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users":          reply(pageOf(alice, mark, vera)),
		"GET /api/users/me":       reply(mark),
		"DELETE /api/users/3":     replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidToken, Description: "ended"}),
		"POST /api/token/refresh": replyError(http.StatusBadRequest, shared.Error{Code: shared.CodeInvalidGrant, Description: "refused", Reason: shared.EndedSessionExpired}),
	})
	r := newRig(t)
	u := &Users{Env: newEnv(t, api, &mark)}
	u.OnMount(r.ctx)
	r.settle()
	u.askDelete(r.stale, vera.ID)
	u.confirmed(r.stale)
	r.settle()
	if u.Env.reauthenticating() == nil {
		t.Fatal("no question after the session ended")
	}
	u.Env.finishReauth(r.ctx, false)
	r.settle()
	if !r.navigatedAway() || u.Env.SignedIn() || u.Env.Me() != nil {
		t.Error("giving up did not sign out")
	}
}

// A disabled account cannot sign in again: the page goes to the sign-in
// page, which says why.
func TestADisabledAccountIsSignedOut(t *testing.T) {
	_, ended := sessionEnded(&shared.Error{Code: shared.CodeInactiveUser, Status: http.StatusForbidden})
	if !ended || canSignInAgain(shared.RevokedUserDisabled) {
		t.Errorf("a disabled account: ended %v, may sign in again %v", ended, canSignInAgain(shared.RevokedUserDisabled))
	}
	if _, ended := sessionEnded(errors.New("network down")); ended {
		t.Error("a network failure ended the session")
	}
}

func TestReauthDialog(t *testing.T) {
	var got []ReauthAnswer
	var done, cancelled int
	d := &Reauth{
		Username: "mark", Why: "An administrator signed you out.",
		Verify: func(_ context.Context, a ReauthAnswer) error {
			got = append(got, a)
			if a.Password != "right" {
				return &shared.Error{Code: shared.CodeInvalidGrant, Status: http.StatusUnauthorized, Description: "wrong username or password"}
			}
			return nil
		},
		OnDone:   func(app.Context) { done++ },
		OnCancel: func(app.Context) { cancelled++ },
	}
	r := newRig(t)
	d.mounted(r.ctx)

	dom := render(t, d)
	if n := dom.count(t, "#reauth-code"); n != 0 {
		t.Errorf("a code is asked without AskCode")
	}
	d.submit(r.stale, ev)
	r.settle()
	if len(got) != 0 || d.errs["password"] != "is required" {
		t.Fatalf("an empty password: sent %v, errors %v", got, d.errs)
	}
	d.password = "wrong"
	d.submit(r.stale, ev)
	r.settle()
	if d.errs["password"] != "is not the right password" || d.password != "" || done != 0 {
		t.Fatalf("a wrong password: errors %v, kept %q, done %d", d.errs, d.password, done)
	}
	d.password = "right"
	d.submit(r.stale, ev)
	r.settle()
	if done != 1 || d.password != "" {
		t.Fatalf("the right password: done %d, kept %q", done, d.password)
	}
	d.cancel(r.ctx)
	if cancelled != 1 {
		t.Errorf("cancel: %d calls", cancelled)
	}

	t.Run("with a second factor", func(t *testing.T) {
		got = nil
		d := &Reauth{Username: "mark", AskCode: true, Verify: func(_ context.Context, a ReauthAnswer) error { got = append(got, a); return nil }}
		r := newRig(t)
		d.mounted(r.ctx)
		render(t, d).one(t, `#reauth-code[autocomplete="one-time-code"]`)
		d.password = "right"
		d.submit(r.stale, ev)
		r.settle()
		if len(got) != 0 || d.errs["otp"] == "" {
			t.Fatalf("no code: sent %v, errors %v", got, d.errs)
		}
		d.code = "123456"
		d.submit(r.stale, ev)
		r.settle()
		if len(got) != 1 || got[0] != (ReauthAnswer{Password: "right", Code: "123456"}) {
			t.Errorf("sent %+v", got)
		}
		// Without the phone: a recovery code, sent as one.
		d.toggleRecovery(r.stale, ev)
		dom := render(t, d)
		dom.one(t, "button#reauth-use-app")
		if got := dom.one(t, `label[for="reauth-code"]`).Text(); !strings.Contains(got, "Recovery code") {
			t.Errorf("the code field is labelled %q", got)
		}
		d.password, d.code = "right", "aaaa-bbbb"
		d.submit(r.stale, ev)
		r.settle()
		if len(got) != 2 || got[1] != (ReauthAnswer{Password: "right", Code: "aaaa-bbbb", Recovery: true}) {
			t.Errorf("sent %+v", got)
		}
		d.toggleRecovery(r.stale, ev)
		render(t, d).one(t, "button#reauth-recovery")
	})
}

// A background check of who is signed in (the tab regaining focus) that
// finds the session over leaves the page alone, and remembers why for the
// page's next read or change to say.
func TestABackgroundCheckLeavesThePage(t *testing.T) {
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users/me":       replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidToken, Description: "revoked", Reason: shared.RevokedByAdmin}),
		"POST /api/token/refresh": replyError(http.StatusBadRequest, shared.Error{Code: shared.CodeInvalidGrant, Description: "refused"}),
	})
	r := newRig(t)
	env := newEnv(t, api, &mark)
	refreshMe(r.ctx, env)
	r.settle()
	if r.navigatedAway() {
		t.Fatal("a background check took the page away")
	}
	if got := env.endedBefore(); got != shared.RevokedByAdmin {
		t.Errorf("noted reason %q, want %q", got, shared.RevokedByAdmin)
	}
}

// A 403 insufficient_scope reloads who is signed in: the page then shows
// what the new role allows.
func TestARefusalReloadsTheRole(t *testing.T) {
	demoted := mark
	demoted.Role = shared.RoleViewer
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users":    reply(pageOf(alice, mark, vera)),
		"GET /api/users/me": reply(demoted),
		"DELETE /api/users/3": replyError(http.StatusForbidden, shared.Error{
			Code: shared.CodeInsufficientScope, Description: "your role (viewer) lacks the users:write permission",
		}),
	})
	r := newRig(t)
	u := &Users{Env: newEnv(t, api, &mark)}
	u.OnMount(r.ctx)
	r.settle()
	if render(t, u).count(t, ".delete-user") == 0 {
		t.Fatal("a manager sees no delete buttons")
	}
	u.askDelete(r.stale, vera.ID)
	u.confirmed(r.stale)
	r.settle()
	if got := u.Env.Me().Role; got != shared.RoleViewer {
		t.Fatalf("after the refusal the role is %s, want viewer", got)
	}
	dom := render(t, u)
	for _, sel := range []string{"#user-create", ".edit-user", ".delete-user"} {
		if n := dom.count(t, sel); n != 0 {
			t.Errorf("after the refusal a viewer still sees %d %s", n, sel)
		}
	}
}
