package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// waitAsk waits until s has an open question with n calls waiting for it.
func waitAsk(t *testing.T, s *stepUps, n int) *stepUpAsk {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		a := s.cur
		ok := a != nil && a.waiters == n
		s.mu.Unlock()
		if ok {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("no question with %d calls waiting after 10 s (open: %v)", n, a != nil)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitDone waits for the outcome of a call running in the background.
func waitDone(t *testing.T, what string, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s is still waiting after 10 s", what)
		return nil
	}
}

// Two changes that need a step-up at once get one question; both wait for
// it, and both go on once it is answered.
func TestStepUpsAskOnceForConcurrentChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer error
	}{
		{"answered", nil},
		{"given up", declined(5 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := new(stepUps)
			var notified atomic.Int32
			defer s.attach(func() { notified.Add(1) })()

			role, del := make(chan error, 1), make(chan error, 1)
			go func() { role <- s.wait(forStepUp(context.Background(), "change the role of vera"), 5*time.Minute) }()
			a := waitAsk(t, s, 1)
			if got := s.why(a); got != "To change the role of vera, confirm your password." {
				t.Errorf("why = %q", got)
			}
			go func() { del <- s.wait(forStepUp(context.Background(), "delete the user olga"), 5*time.Minute) }()
			if b := waitAsk(t, s, 2); b != a {
				t.Fatal("the second change opened a question of its own")
			}
			if got := s.why(a); got != genericWhy {
				t.Errorf("two kinds of change wait, and why = %q; want the generic %q", got, genericWhy)
			}
			select {
			case err := <-role:
				t.Fatalf("a change went on before the answer: %v", err)
			default:
			}
			if !s.finish(a, tc.answer) {
				t.Fatal("finish: the question was not open")
			}
			for what, c := range map[string]chan error{"the role change": role, "the deletion": del} {
				if err := waitDone(t, what, c); !errors.Is(err, tc.answer) {
					t.Errorf("%s: %v, want %v", what, err, tc.answer)
				}
			}
			if s.pending() != nil || s.finish(a, nil) {
				t.Error("the question is still open after its answer")
			}
			if n := notified.Load(); n != 3 {
				t.Errorf("the widget was told %d times, want 3 (opened, changed, answered)", n)
			}
		})
	}
}

// A change that stops waiting (its context ends) leaves the question to
// the others; the last one to leave takes it away.
func TestStepUpsFollowTheContext(t *testing.T) {
	s := new(stepUps)
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	c1, c2 := make(chan error, 1), make(chan error, 1)
	go func() { c1 <- s.wait(ctx1, time.Minute) }()
	a := waitAsk(t, s, 1)
	go func() { c2 <- s.wait(ctx2, time.Minute) }()
	waitAsk(t, s, 2)

	cancel1()
	if err := waitDone(t, "the first change", c1); !errors.Is(err, context.Canceled) {
		t.Errorf("the first change: %v, want context.Canceled", err)
	}
	if s.pending() != a {
		t.Fatal("the question went while a change still waits")
	}
	cancel2()
	if err := waitDone(t, "the second change", c2); !errors.Is(err, context.Canceled) {
		t.Errorf("the second change: %v, want context.Canceled", err)
	}
	if s.pending() != nil {
		t.Error("the question stays with nobody waiting")
	}
}

// Pages replace each other in no promised order: a widget going away
// never detaches the one that came after it.
func TestStepUpsKeepTheLatestWidget(t *testing.T) {
	s := new(stepUps)
	var old, cur atomic.Int32
	detachOld := s.attach(func() { old.Add(1) })
	detachCur := s.attach(func() { cur.Add(1) })
	detachOld()
	go func() { _ = s.wait(context.Background(), time.Minute) }()
	s.finish(waitAsk(t, s, 1), nil)
	if old.Load() != 0 || cur.Load() != 2 {
		t.Errorf("told the old widget %d times and the current one %d; want 0 and 2", old.Load(), cur.Load())
	}
	detachCur()
	if s.notify != nil {
		t.Error("still attached")
	}
}

// Signing out fails the change waiting for the password: nothing was
// changed, and the page says so calmly.
func TestStepUpGivenUpSaysNothingChanged(t *testing.T) {
	s := new(stepUps)
	errc := make(chan error, 1)
	go func() { errc <- s.wait(context.Background(), time.Minute) }()
	waitAsk(t, s, 1)
	s.cancel()
	err := waitDone(t, "the change", errc)
	var e *shared.Error
	if !errors.Is(err, ErrStepUpDeclined) || !errors.As(err, &e) || e.Code != shared.CodeInsufficientUserAuth {
		t.Fatalf("after giving up: %v", err)
	}
	if isNetwork(err) || isScope(err) {
		t.Error("giving up reads as a network failure or a refusal")
	}
	if m := Message(err); !strings.HasPrefix(m, "Nothing was changed") {
		t.Errorf("Message = %q", m)
	}
}

// stepUpAPI is a stub API whose PATCH /api/users/3 and DELETE
// /api/users/3 need a recent sign-in, which POST /api/reauth gives for
// the password "alice-password" (and, when code is set, that code).
type stepUpAPI struct {
	*stubAPI
	recent atomic.Bool
}

func newStepUpAPI(t *testing.T, me shared.User, code string, extra map[string]http.HandlerFunc) *stepUpAPI {
	t.Helper()
	s := &stepUpAPI{}
	needsRecent := func(ok http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !s.recent.Load() {
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "this action needs a recent sign-in", MaxAge: 300})(w, r)
				return
			}
			ok(w, r)
		}
	}
	routes := map[string]http.HandlerFunc{
		"GET /api/users":    reply(pageOf(alice, mark, vera)),
		"GET /api/users/me": reply(me),
		"PATCH /api/users/3": needsRecent(func(w http.ResponseWriter, r *http.Request) {
			v := vera
			v.Role = shared.RoleManager
			reply(v)(w, r)
		}),
		"DELETE /api/users/3": needsRecent(replyStatus(http.StatusNoContent)),
		"POST /api/reauth": func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.FormValue("password") != "alice-password":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "the password is wrong", Fields: map[string]string{"password": "is not the right password"}})(w, r)
			case code != "" && r.FormValue("recovery_code") != "":
				if r.FormValue("recovery_code") != "aaaa-bbbb" || r.FormValue("otp") != "" {
					replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code", Fields: map[string]string{"recovery_code": "is wrong or was used already"}})(w, r)
					return
				}
				s.recent.Store(true)
				left := 2
				reply(shared.TokenResponse{AccessToken: fakeToken(time.Now().Add(time.Hour), "s1"), TokenType: "bearer", ExpiresIn: 3600, RecoveryCodesLeft: &left})(w, r)
			case code != "" && r.FormValue("otp") == "":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code: a code from your authenticator app is required", Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			case code != "" && r.FormValue("otp") != code:
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code", Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			default:
				s.recent.Store(true)
				reply(shared.TokenResponse{AccessToken: fakeToken(time.Now().Add(time.Hour), "s1"), TokenType: "bearer", ExpiresIn: 3600})(w, r)
			}
		},
	}
	for k, v := range extra {
		routes[k] = v
	}
	s.stubAPI = newStubAPI(t, routes)
	return s
}

// stepUpDialog returns the dialog the StepUp widget shows, failing the
// test when it shows none.
func stepUpDialog(t *testing.T, env *Env) *Reauth {
	t.Helper()
	d, ok := (&StepUp{Env: env}).dialog().(*Reauth)
	if !ok {
		t.Fatal("the StepUp widget shows no dialog")
	}
	return d
}

// editRoleWaiting opens the users page as alice (an admin, MFA as
// given), types into vera's form — a new name and the manager role — and
// saves: the change waits for the password.
func editRoleWaiting(t *testing.T, api *stepUpAPI, me shared.User) (*rig, *Users, *stepUpAsk) {
	t.Helper()
	r := newRig(t)
	u := &Users{Env: newEnv(t, api.stubAPI, &me)}
	u.OnMount(r.ctx)
	r.settle()
	u.openEdit(r.stale, vera.ID)
	u.edit.fullName, u.edit.role = "Vera Typed", shared.RoleManager
	u.submitEdit(r.stale, ev)
	a := waitAsk(t, u.Env.stepUp, 1)
	if !u.edit.open || !u.edit.busy || u.edit.fullName != "Vera Typed" || u.edit.role != shared.RoleManager {
		t.Fatalf("while the password is asked the form is %+v; want it open and busy with what was typed", u.edit)
	}
	if r.navigatedAway() {
		t.Fatal("the page was left")
	}
	return r, u, a
}

// A role change answered insufficient_user_authentication asks for the
// password over the page; a wrong one is refused in the dialog, the right
// one saves the change as typed, and the form closes as usual.
func TestStepUpSavesTheRoleChange(t *testing.T) {
	api := newStepUpAPI(t, alice, "", nil)
	r, u, _ := editRoleWaiting(t, api, alice)
	env := u.Env

	dom := parse(t, app.HTMLString(&StepUp{Env: env}))
	dom.one(t, "dialog#reauth #reauth-password")
	if got := dom.one(t, "#reauth-title").Text(); got != "Confirm it's you" {
		t.Errorf("title %q", got)
	}
	if got := dom.one(t, "#reauth-why").Text(); got != "To change the role of vera, confirm your password." {
		t.Errorf("why %q", got)
	}
	if got := dom.one(t, "#reauth-cancel").Text(); got != "Cancel" {
		t.Errorf("the cancel button says %q", got)
	}
	if n := dom.count(t, "#reauth-code"); n != 0 {
		t.Error("a code is asked of an admin without a second factor")
	}
	if n := parse(t, app.HTMLString(&StepUp{Env: env, Held: true})).count(t, "#reauth"); n != 0 {
		t.Error("the step-up dialog shows while the session's own question is open")
	}

	d := stepUpDialog(t, env)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "wrong"}); err == nil {
		t.Fatal("a wrong password was taken")
	} else if _, fields := reauthError(err, ReauthAnswer{}); fields["password"] == "" {
		t.Errorf("a wrong password reads %v", fields)
	}
	if env.stepUp.pending() == nil {
		t.Fatal("a wrong password closed the question")
	}
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); err != nil {
		t.Fatalf("the right password: %v", err)
	}
	d.OnDone(r.ctx)
	r.settle()
	if n := len(api.callsTo(http.MethodPatch, "/api/users/3")); n != 2 {
		t.Errorf("%d PATCH requests, want the refused one and its retry", n)
	}
	if p := api.callsTo(http.MethodPatch, "/api/users/3"); len(p) == 2 && p[1].Body != p[0].Body {
		t.Errorf("the retry sent %s, the first try %s", p[1].Body, p[0].Body)
	}
	if u.edit.open || !strings.Contains(u.msg, "saved") {
		t.Errorf("after confirming: form open %v, message %q; want it saved and closed", u.edit.open, u.msg)
	}
	if env.stepUp.pending() != nil {
		t.Error("the question is still open")
	}
}

// Giving up keeps the form with what was typed, and says calmly that
// nothing was changed.
func TestStepUpCancelKeepsTheForm(t *testing.T) {
	api := newStepUpAPI(t, alice, "", nil)
	r, u, _ := editRoleWaiting(t, api, alice)
	stepUpDialog(t, u.Env).OnCancel(r.ctx)
	r.settle()
	if !u.edit.open || u.edit.busy || u.edit.fullName != "Vera Typed" || u.edit.role != shared.RoleManager {
		t.Fatalf("after cancelling the form is %+v; want it open, not busy, with what was typed", u.edit)
	}
	if !strings.HasPrefix(u.edit.err, "Nothing was changed") {
		t.Errorf("the form says %q", u.edit.err)
	}
	if n := len(api.callsTo(http.MethodPatch, "/api/users/3")); n != 1 {
		t.Errorf("%d PATCH requests after cancelling, want 1", n)
	}
	if n := len(api.callsTo(http.MethodPost, "/api/reauth")); n != 0 {
		t.Errorf("%d reauth requests, want none", n)
	}
	// The person tries again, and confirms this time.
	u.submitEdit(r.stale, ev)
	waitAsk(t, u.Env.stepUp, 1)
	d := stepUpDialog(t, u.Env)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); err != nil {
		t.Fatal(err)
	}
	d.OnDone(r.ctx)
	r.settle()
	if u.edit.open {
		t.Errorf("the second try did not save: %q", u.edit.err)
	}
}

// For an account with a second factor the dialog asks for the code too;
// when the page did not know of one, the server's answer reveals it.
func TestStepUpAsksForTheCode(t *testing.T) {
	withMFA := alice
	withMFA.MFA = true
	t.Run("known", func(t *testing.T) {
		api := newStepUpAPI(t, withMFA, "123456", nil)
		r, u, _ := editRoleWaiting(t, api, withMFA)
		parse(t, app.HTMLString(&StepUp{Env: u.Env})).one(t, `#reauth-code[autocomplete="one-time-code"]`)
		d := stepUpDialog(t, u.Env)
		err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password", Code: "654321"})
		if _, fields := reauthError(err, ReauthAnswer{Code: "123456"}); fields["otp"] == "" || fields["password"] != "" {
			t.Errorf("a wrong code: %v reads %v; want it on the code", err, fields)
		}
		if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password", Code: "123456"}); err != nil {
			t.Fatalf("the right password and code: %v", err)
		}
		if got := api.callsTo(http.MethodPost, "/api/reauth"); len(got) != 2 || !strings.Contains(got[1].Body, "otp=123456") {
			t.Errorf("reauth requests %+v", got)
		}
		d.OnDone(r.ctx)
		r.settle()
		if u.edit.open {
			t.Errorf("not saved: %q", u.edit.err)
		}
	})
	t.Run("a recovery code instead", func(t *testing.T) {
		api := newStepUpAPI(t, withMFA, "123456", nil)
		r, u, _ := editRoleWaiting(t, api, withMFA)
		st := &StepUp{Env: u.Env}
		d := stepUpDialog(t, u.Env)
		d.mounted(r.ctx)
		d.toggleRecovery(r.stale, ev)
		code := render(t, d).one(t, "#reauth-code")
		if code.attr("autocomplete") != "off" || code.attr("inputmode") != "text" {
			t.Errorf("the recovery code field is %v", code)
		}
		verify := func(code string) error {
			t.Helper()
			return d.Verify(context.Background(), ReauthAnswer{Password: "alice-password", Code: code, Recovery: true})
		}
		err := verify(" zzzz-zzzz ")
		if _, fields := reauthError(err, ReauthAnswer{Code: "zzzz-zzzz", Recovery: true}); !strings.Contains(fields["otp"], "recovery codes") || fields["password"] != "" {
			t.Errorf("a wrong recovery code: %v reads %v; want it on the code field", err, fields)
		}
		if err := verify(" aaaa-bbbb "); err != nil {
			t.Fatalf("the right password and recovery code: %v", err)
		}
		if got := api.callsTo(http.MethodPost, "/api/reauth"); len(got) != 2 || !strings.Contains(got[1].Body, "recovery_code=aaaa-bbbb") || strings.Contains(got[1].Body, "otp=") {
			t.Errorf("reauth requests %+v", got)
		}
		d.OnDone(r.ctx)
		r.settle()
		if u.edit.open {
			t.Errorf("not saved: %q", u.edit.err)
		}
		note := parse(t, app.HTMLString(st)).one(t, "#stepup-recovery-left")
		if got := note.Text(); !strings.Contains(got, "2 recovery codes left") || !strings.Contains(got, "new phone") {
			t.Errorf("#stepup-recovery-left = %q", got)
		}
		note.one(t, "#stepup-profile")
		// On the profile page itself the note points below, not to a link
		// that goes nowhere.
		onProfile := parse(t, app.HTMLString(&StepUp{Env: u.Env, Path: "/profile"})).one(t, "#stepup-recovery-left")
		if onProfile.count(t, "#stepup-profile") != 0 || !strings.Contains(onProfile.Text(), "below") {
			t.Errorf("on the profile page the note reads %q, with a link to it", onProfile.Text())
		}
		u.Env.stepUp.noteLeft(nil)
		if parse(t, app.HTMLString(st)).count(t, "#stepup-recovery-left") != 0 {
			t.Error("the note stays after it was dismissed")
		}
	})
	t.Run("found out", func(t *testing.T) {
		api := newStepUpAPI(t, alice, "123456", nil) // the page thinks alice has none
		_, u, _ := editRoleWaiting(t, api, alice)
		d := stepUpDialog(t, u.Env)
		if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); !errors.Is(err, ErrCodeNeeded) {
			t.Fatalf("the right password without the code: %v, want ErrCodeNeeded", err)
		}
		if err := d.Verify(context.Background(), ReauthAnswer{Password: "wrong"}); errors.Is(err, ErrCodeNeeded) {
			t.Fatal("a wrong password asks for a code")
		}
	})
}

// The dialog's own behaviour with ErrCodeNeeded: the code field appears,
// the password is asked again, and both go to Verify.
func TestReauthDialogRevealsTheCode(t *testing.T) {
	var got []ReauthAnswer
	d := &Reauth{Username: "alice", Verify: func(_ context.Context, a ReauthAnswer) error {
		got = append(got, a)
		if a.Code == "" {
			return ErrCodeNeeded
		}
		return nil
	}}
	r := newRig(t)
	d.mounted(r.ctx)
	d.password = "right"
	d.submit(r.stale, ev)
	r.settle()
	dom := render(t, d)
	dom.one(t, "#reauth-code")
	if d.password != "" || !strings.Contains(dom.one(t, "#reauth-form p.error").Text(), "authenticator app") {
		t.Fatalf("after ErrCodeNeeded: password kept %v, says %q", d.password != "", dom.one(t, "#reauth-form p.error").Text())
	}
	d.password, d.code = "right", "123456"
	d.submit(r.stale, ev)
	r.settle()
	if len(got) != 2 || got[1] != (ReauthAnswer{Password: "right", Code: "123456"}) {
		t.Errorf("Verify got %+v", got)
	}
}

// A session found over while confirming (say, ended by too many wrong
// passwords) fails the change as such: the page asks to sign in again
// over the form, which keeps what was typed.
func TestStepUpOnAnEndedSession(t *testing.T) {
	api := newStepUpAPI(t, alice, "", map[string]http.HandlerFunc{
		"POST /api/reauth":        replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidToken, Description: "revoked", Reason: shared.RevokedPasswordGuess}),
		"POST /api/token/refresh": replyError(http.StatusBadRequest, shared.Error{Code: shared.CodeInvalidGrant, Description: "refused", Reason: shared.RevokedPasswordGuess}),
	})
	r, u, _ := editRoleWaiting(t, api, alice)
	d := stepUpDialog(t, u.Env)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); err != nil {
		t.Fatalf("Verify: %v; want the question closed instead", err)
	}
	d.OnDone(r.ctx) // as the dialog does after a nil Verify: nothing more
	r.settle()
	if u.Env.reauthenticating() == nil {
		t.Fatal("the session's end did not ask for the password again")
	}
	if !u.edit.open || u.edit.fullName != "Vera Typed" || r.navigatedAway() {
		t.Errorf("the form is %+v; want it kept on the page", u.edit)
	}
	if n := len(api.callsTo(http.MethodPatch, "/api/users/3")); n != 1 {
		t.Errorf("%d PATCH requests, want only the refused one", n)
	}
}

// Two changes in flight through the real client share one question and
// one re-authentication.
func TestStepUpOneQuestionForTwoChanges(t *testing.T) {
	api := newStepUpAPI(t, alice, "", nil)
	env := newEnv(t, api.stubAPI, &alice)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, errs[0] = env.API.UpdateUser(forStepUp(context.Background(), "change the role of vera"), vera.ID, shared.UserUpdate{Role: ptrTo(shared.RoleManager)})
	}()
	go func() {
		defer wg.Done()
		errs[1] = env.API.DeleteUser(forStepUp(context.Background(), "delete the user vera"), vera.ID)
	}()
	a := waitAsk(t, env.stepUp, 2)
	d := stepUpDialog(t, env)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); err != nil {
		t.Fatal(err)
	}
	env.stepUp.finish(a, nil)
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("after one confirmation: %v", errs)
	}
	if n := len(api.callsTo(http.MethodPost, "/api/reauth")); n != 1 {
		t.Errorf("%d reauth requests, want 1", n)
	}
}

func ptrTo[T any](v T) *T { return &v }

// Signing in again after a session ended, for an account with a second
// factor: the dialog asks for the code and finishes with it.
func TestSignInAgainWithASecondFactor(t *testing.T) {
	withMFA := mark
	withMFA.MFA = true
	var grants []url.Values
	var mu sync.Mutex
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"POST /api/token": func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			grants = append(grants, r.PostForm)
			mu.Unlock()
			switch {
			case r.FormValue("grant_type") == shared.GrantPassword && r.FormValue("password") == "mark-password":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeMFARequired, Description: "code due", MFAToken: "challenge", MFAExpiresIn: 300})(w, r)
			case r.FormValue("grant_type") == shared.GrantMFAOTP && r.FormValue("mfa_token") == "challenge" && r.FormValue("otp") == "123456":
				reply(shared.TokenResponse{AccessToken: fakeToken(time.Now().Add(time.Hour), "s2"), TokenType: "bearer", ExpiresIn: 3600})(w, r)
			case r.FormValue("grant_type") == shared.GrantMFAOTP:
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code", Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			default:
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong username or password"})(w, r)
			}
		},
	})
	env := newEnv(t, api, &withMFA)
	env.Tokens.Clear()
	env.reauth = &reauthRequest{reason: shared.RevokedByAdmin}
	d, ok := (&Frame{Env: env}).reauthDialog(&withMFA).(*Reauth)
	if !ok || !d.AskCode {
		t.Fatalf("the dialog for an account with a second factor does not ask for the code: %+v", d)
	}
	ctx := context.Background()
	if err := d.Verify(ctx, ReauthAnswer{Password: "mark-password"}); !errors.Is(err, ErrCodeNeeded) {
		t.Errorf("no code: %v, want ErrCodeNeeded", err)
	}
	err := d.Verify(ctx, ReauthAnswer{Password: "mark-password", Code: "000000"})
	if _, fields := reauthError(err, ReauthAnswer{Code: "123456"}); fields["otp"] == "" {
		t.Errorf("a wrong code: %v reads %v", err, fields)
	}
	err = d.Verify(ctx, ReauthAnswer{Password: "nope", Code: "123456"})
	if _, fields := reauthError(err, ReauthAnswer{Code: "123456"}); fields["password"] == "" {
		t.Errorf("a wrong password: %v reads %v", err, fields)
	}
	if err := d.Verify(ctx, ReauthAnswer{Password: "mark-password", Code: "123456"}); err != nil {
		t.Fatalf("the right password and code: %v", err)
	}
	if !env.SignedIn() {
		t.Error("signed in again, yet no token is held")
	}
	mu.Lock()
	defer mu.Unlock()
	last := grants[len(grants)-1]
	if last.Get("grant_type") != shared.GrantMFAOTP || last.Get("password") != "" {
		t.Errorf("the last grant sent %v", last)
	}
}

// Creating a user with more than the viewer role grants it, and needs a
// recent sign-in as a role change does: the dialog says what for, and the
// right password creates the user as typed.
func TestStepUpCreatesAManager(t *testing.T) {
	var api *stepUpAPI
	api = newStepUpAPI(t, alice, "", map[string]http.HandlerFunc{"POST /api/users": func(w http.ResponseWriter, r *http.Request) {
		if !api.recent.Load() {
			replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "this action needs a recent sign-in", MaxAge: 300})(w, r)
			return
		}
		reply(shared.User{ID: 9, Username: "nina", Role: shared.RoleManager})(w, r)
	}})
	r := newRig(t)
	u := &Users{Env: newEnv(t, api.stubAPI, &alice)}
	u.OnMount(r.ctx)
	r.settle()
	u.create = createDraft{open: true, username: "nina", password: "nina-password-1", role: shared.RoleManager}
	u.submitCreate(r.stale, ev)
	waitAsk(t, u.Env.stepUp, 1)
	if got := parse(t, app.HTMLString(&StepUp{Env: u.Env})).one(t, "#reauth-why").Text(); got != "To create nina as manager, confirm your password." {
		t.Errorf("why %q", got)
	}
	d := stepUpDialog(t, u.Env)
	if err := d.Verify(context.Background(), ReauthAnswer{Password: "alice-password"}); err != nil {
		t.Fatal(err)
	}
	d.OnDone(r.ctx)
	r.settle()
	if u.create.busy || u.create.username != "" {
		t.Errorf("after the password the form is %+v; want it done", u.create)
	}
	if n := len(api.callsTo("POST", "/api/users")); n != 2 {
		t.Errorf("%d creations sent, want the refused one and its retry", n)
	}
}
