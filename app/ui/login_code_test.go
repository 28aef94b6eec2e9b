package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// mfaToken is what the stub answers the password with.
const mfaToken = "challenge-1"

// mfaServer is a token endpoint for an account with a second factor:
// the password "right-password" gets mfa_required; then each code below
// gets the answer the real server gives it.
func mfaServer(t *testing.T) *stubAPI {
	t.Helper()
	granted := func(w http.ResponseWriter, r *http.Request, left *int) {
		reply(shared.TokenResponse{AccessToken: fakeToken(time.Now().Add(time.Hour), "s9"), TokenType: "bearer", ExpiresIn: 3600, RecoveryCodesLeft: left})(w, r)
	}
	return newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users/me": reply(mark),
		"POST /api/token": func(w http.ResponseWriter, r *http.Request) {
			switch r.FormValue("grant_type") {
			case shared.GrantPassword:
				if r.FormValue("password") == "throttled" {
					w.Header().Set("Retry-After", "120")
					replyError(http.StatusTooManyRequests, shared.Error{Code: shared.CodeTooManyAttempts, Description: "later"})(w, r)
					return
				}
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeMFARequired, Description: "code", MFAToken: mfaToken, MFAExpiresIn: 300})(w, r)
				return
			case shared.GrantMFAOTP:
			default:
				t.Errorf("grant %q", r.FormValue("grant_type"))
			}
			if r.FormValue("mfa_token") != mfaToken {
				t.Errorf("mfa_token %q, want %q", r.FormValue("mfa_token"), mfaToken)
			}
			if rc := r.FormValue("recovery_code"); rc != "" {
				if rc == "abcd-efgh-jkmn-pqrs" {
					two := 2
					granted(w, r, &two)
					return
				}
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code; 4 tries left", AttemptsLeft: ptrTo(4), Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
				return
			}
			switch r.FormValue("otp") {
			case "123456":
				granted(w, r, nil)
			case "000001":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code", AttemptsLeft: ptrTo(3), Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			case "000002":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code; 1 tries left", AttemptsLeft: ptrTo(1), Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			case "000003":
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code; 0 tries left", AttemptsLeft: ptrTo(0), Fields: map[string]string{"otp": "is wrong or was used already"}})(w, r)
			case "000004":
				replyError(http.StatusBadRequest, shared.Error{Code: shared.CodeInvalidGrant, Description: "the sign-in expired or is unknown; sign in again"})(w, r)
			case "000005":
				w.Header().Set("Retry-After", "30")
				replyError(http.StatusTooManyRequests, shared.Error{Code: shared.CodeTooManyAttempts, Description: "later"})(w, r)
			default:
				t.Errorf("otp %q", r.FormValue("otp"))
			}
		},
	})
}

// signedOutLogin is the sign-in page, mounted, of a browser holding no
// token, with what was typed.
func signedOutLogin(t *testing.T, api *stubAPI, username, password string) (*rig, *Login) {
	t.Helper()
	r := newRig(t)
	l := &Login{Env: NewEnv(api.URL)}
	l.OnMount(r.ctx)
	l.username, l.password = username, password
	return r, l
}

// atCode checks that Login shows the code's step, and only that.
func atCode(t *testing.T, l *Login) {
	t.Helper()
	main := render(t, l)
	main.one(t, "form#login-code-form")
	if n := main.count(t, "#login-form"); n != 0 {
		t.Fatalf("the password form still shows beside the code's")
	}
}

func tokenPosts(api *stubAPI, grant string) []url.Values {
	var out []url.Values
	for _, c := range api.callsTo("POST", "/api/token") {
		v, _ := url.ParseQuery(c.Body)
		if v.Get("grant_type") == grant {
			out = append(out, v)
		}
	}
	return out
}

// Issue 10: the password of an account with a second factor leads to the
// code's step — a field for a one-time code, the way to a recovery code
// and back to the password — and a right code signs in, loads who signed
// in (for the frame to know what the account must do) and goes on.
func TestSignInAsksForTheCodeAfterThePassword(t *testing.T) {
	api := mfaServer(t)
	r, l := signedOutLogin(t, api, "mark", "right-password")
	l.signIn(r.stale)
	r.settle()
	if l.mfa.token != mfaToken || l.password != "" {
		t.Fatalf("after the password: token %q, password %q; want the mfa_token held and the password gone", l.mfa.token, l.password)
	}
	dom := render(t, l)
	otp := dom.one(t, "#login-otp")
	if otp.attr("autocomplete") != "one-time-code" || otp.attr("inputmode") != "numeric" {
		t.Errorf("#login-otp = %v, want autocomplete=one-time-code and inputmode=numeric", otp)
	}
	if got := dom.one(t, `label[for="login-otp"]`).Text(); got != "Enter the 6-digit code from your authenticator app" {
		t.Errorf("the code's label is %q", got)
	}
	dom.one(t, "button#login-recovery")
	dom.one(t, "button#login-back")

	atCode(t, l)
	l.mfa.code = "123 456"
	l.submitCode(r.stale, ev)
	r.settle()
	posts := tokenPosts(api, shared.GrantMFAOTP)
	if len(posts) != 1 || posts[0].Get("otp") != "123456" || posts[0].Get("recovery_code") != "" {
		t.Fatalf("second step posts %v, want one with otp=123456", posts)
	}
	if me := l.Env.Me(); me == nil || me.Username != "mark" {
		t.Errorf("who signed in was not loaded before going on: %+v", me)
	}
	if !r.navigatedAway() {
		t.Error("a right code did not go on")
	}
}

// Issue 10: each refusal of a code in words; a spent or expired sign-in,
// or a last wrong try, goes back to the password saying why.
func TestRefusedCodes(t *testing.T) {
	for _, tt := range []struct {
		name, code string
		want       string
		back       bool
	}{
		{"a wrong code says how many tries are left", "000001", "That code is not right. 3 tries left.", false},
		{"one try left", "000002", "That code is not right. 1 try left.", false},
		{"the last try goes back", "000003", "That was the last try: enter your password again.", true},
		{"a spent or expired sign-in goes back", "000004", "Signing in took too long, or had too many wrong codes. Enter your password again.", true},
		{"throttled codes say when to try again", "000005", "Too many wrong codes. Try again in 30 seconds.", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := mfaServer(t)
			r, l := signedOutLogin(t, api, "mark", "right-password")
			l.signIn(r.stale)
			r.settle()
			atCode(t, l)
			l.mfa.code = tt.code
			l.submitCode(r.stale, ev)
			r.settle()
			if r.navigatedAway() {
				t.Fatal("a refused code signed in")
			}
			dom := render(t, l)
			if tt.back {
				if l.mfa.token != "" || dom.count(t, "#login-form #password") != 1 {
					t.Fatalf("not back at the password: token %q", l.mfa.token)
				}
				if got := dom.one(t, "#login-form p.error").Text(); !strings.Contains(got, tt.want) {
					t.Errorf("the password step says %q, want %q", got, tt.want)
				}
				if l.username != "mark" {
					t.Errorf("the username was lost: %q", l.username)
				}
				return
			}
			if l.mfa.token != mfaToken {
				t.Fatalf("the step was left")
			}
			got := render(t, l)
			if msg := got.one(t, "#login-code-error").Text(); msg != tt.want {
				t.Errorf("#login-code-error = %q, want %q", msg, tt.want)
			}
			if in := got.one(t, "#login-otp"); in.attr("aria-describedby") != "login-code-error" || !in.has("aria-invalid") {
				t.Errorf("#login-otp = %v, want it pointing at the error", in)
			}
			if l.mfa.busy {
				t.Error("the step stays busy after a refusal")
			}
		})
	}
}

// What is not six digits is not sent: the step says so.
func TestCodeStepChecksTheCodeFirst(t *testing.T) {
	api := mfaServer(t)
	r, l := signedOutLogin(t, api, "mark", "right-password")
	l.signIn(r.stale)
	r.settle()
	atCode(t, l)
	for _, code := range []string{"", "12345", "12a456", "1234567"} {
		l.mfa.code = code
		l.submitCode(r.stale, ev)
		r.settle()
		if got := l.mfa.err; got != "Enter the 6 digits your authenticator app shows." {
			t.Errorf("%q: %q", code, got)
		}
	}
	if n := len(tokenPosts(api, shared.GrantMFAOTP)); n != 0 {
		t.Errorf("%d codes were sent", n)
	}
}

// Issue 10: a recovery code instead of the app's; after signing in with
// one, the page says how many remain and, as they are few, suggests new
// ones before going on.
func TestRecoveryCodeSignInSaysHowManyAreLeft(t *testing.T) {
	api := mfaServer(t)
	r, l := signedOutLogin(t, api, "mark", "right-password")
	l.next = "/users"
	l.signIn(r.stale)
	r.settle()
	atCode(t, l)
	l.toggleCode(r.stale, ev)
	dom := render(t, l)
	if dom.count(t, "#login-otp") != 0 {
		t.Error("the app's code field still shows")
	}
	// On a phone, the keyboard neither capitalises nor corrects a code,
	// as in the step-up dialog's recovery code field.
	rc := dom.one(t, "#login-recovery-code")
	if rc.attr("autocapitalize") != "none" || rc.attr("spellcheck") != "false" || rc.attr("autocomplete") != "off" {
		t.Errorf("#login-recovery-code = %v, want autocapitalize=none, spellcheck=false, autocomplete=off", rc)
	}
	dom.one(t, "button#login-use-app")

	l.submitCode(r.stale, ev)
	r.settle()
	if l.mfa.err != "Enter one of your recovery codes." || len(tokenPosts(api, shared.GrantMFAOTP)) != 0 {
		t.Fatalf("an empty recovery code: %q", l.mfa.err)
	}
	l.mfa.code = " abcd-efgh-jkmn-pqrs "
	l.submitCode(r.stale, ev)
	r.settle()
	posts := tokenPosts(api, shared.GrantMFAOTP)
	if len(posts) != 1 || posts[0].Get("recovery_code") != "abcd-efgh-jkmn-pqrs" || posts[0].Get("otp") != "" {
		t.Fatalf("posts %v, want the recovery code, trimmed", posts)
	}
	if r.navigatedAway() {
		t.Fatal("went on without saying how many codes are left")
	}
	dom = render(t, l)
	if got := dom.one(t, "#recovery-left").Text(); got != "You signed in with a recovery code. You have 2 recovery codes left." {
		t.Errorf("#recovery-left = %q", got)
	}
	dom.one(t, "#recovery-advice")
	if got := dom.one(t, "a#login-new-codes").attr("href"); got != "/profile" {
		t.Errorf("new codes link to %q", got)
	}
	if got := dom.one(t, "a#login-continue").attr("href"); got != "/users" {
		t.Errorf("Continue goes to %q, want the page the sign-in was for", got)
	}

	for _, tt := range []struct {
		left   int
		says   string
		advice bool
	}{
		{9, "You have 9 recovery codes left.", false},
		{1, "You have 1 recovery code left.", true},
		{0, "You signed in with your last recovery code.", true},
	} {
		dom := parse(t, app.HTMLString(recoveryLeftNote(tt.left, "/")))
		if got := dom.one(t, "#recovery-left").Text(); !strings.Contains(got, tt.says) {
			t.Errorf("%d left: %q, want %q", tt.left, got, tt.says)
		}
		if got := dom.count(t, "#recovery-advice") == 1; got != tt.advice {
			t.Errorf("%d left: advice shown %v, want %v", tt.left, got, tt.advice)
		}
	}
}

// Back to the password is always a button away, and says nothing.
func TestCodeStepGoesBack(t *testing.T) {
	api := mfaServer(t)
	r, l := signedOutLogin(t, api, "mark", "right-password")
	l.signIn(r.stale)
	r.settle()
	atCode(t, l)
	l.backClick(r.stale, ev)
	if l.mfa.token != "" || l.err != "" || render(t, l).count(t, "#login-form") != 1 {
		t.Fatalf("back: token %q, error %q", l.mfa.token, l.err)
	}
}

// A throttled password says when to try again, from Retry-After.
func TestThrottledSignInSaysWhen(t *testing.T) {
	api := mfaServer(t)
	r, l := signedOutLogin(t, api, "mark", "throttled")
	l.signIn(r.stale)
	r.settle()
	if want := "Too many failed sign-in attempts. Try again in 2 minutes."; l.err != want {
		t.Errorf("err = %q, want %q", l.err, want)
	}
}

func TestTryAgainIn(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "Wait a minute and try again."},
		{time.Second, "Try again in 1 second."},
		{1500 * time.Millisecond, "Try again in 2 seconds."},
		{89 * time.Second, "Try again in 89 seconds."},
		{90 * time.Second, "Try again in 2 minutes."},
		{15 * time.Minute, "Try again in 15 minutes."},
	} {
		if got := tryAgainIn(tt.d); got != tt.want {
			t.Errorf("tryAgainIn(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// Signing in again under a page, for an account with a second factor,
// takes the code too, typed as people type it; a wrong one is the code's
// fault, and none asks for one.
func TestSignInAgainTakesTheCode(t *testing.T) {
	api := mfaServer(t)
	env := NewEnv(api.URL)
	again := signInAgain(env.API, "mark")
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: "000001"}); !wrongCode(err) {
		t.Errorf("a wrong code: %v", err)
	}
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: "12345"}); FieldErrors(err)["otp"] == "" {
		t.Errorf("five digits: %v", err)
	}
	if err := again(context.Background(), ReauthAnswer{Password: "right-password"}); !errors.Is(err, ErrCodeNeeded) {
		t.Errorf("no code: %v", err)
	}
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: "abcd-efgh-jkmn-zzzz", Recovery: true}); !wrongCode(err) {
		t.Errorf("a wrong recovery code: %v", err)
	}
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: strings.Repeat("abcd-", 9), Recovery: true}); FieldErrors(err)["otp"] == "" {
		t.Errorf("a recovery code longer than any: %v, want it said on the code field", err)
	}
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: "123 456"}); err != nil || !env.SignedIn() {
		t.Errorf("the right code: %v, signed in %v", err, env.SignedIn())
	}
	env.Forget()
	if err := again(context.Background(), ReauthAnswer{Password: "right-password", Code: " abcd-efgh-jkmn-pqrs ", Recovery: true}); err != nil || !env.SignedIn() {
		t.Errorf("the right recovery code: %v, signed in %v", err, env.SignedIn())
	}
}

// A sign-in sent with a field empty says so, and marks that field for a
// screen reader: aria-invalid, described by the message. Once both are
// filled the mark goes.
func TestSignInMarksTheEmptyField(t *testing.T) {
	api := mfaServer(t)
	for _, tc := range []struct{ username, password, empty, filled string }{
		{"", "right-password", "username", "password"},
		{"mark", "", "password", "username"},
	} {
		r, l := signedOutLogin(t, api, tc.username, tc.password)
		l.signIn(r.stale)
		dom := render(t, l)
		empty := dom.one(t, "#"+tc.empty)
		if !empty.has("aria-invalid") || empty.attr("aria-describedby") != "login-error" {
			t.Errorf("the empty %s is %v, want aria-invalid and described by #login-error", tc.empty, empty)
		}
		if got := dom.one(t, "#login-error").Text(); got != "Enter your username and password." {
			t.Errorf("#login-error = %q", got)
		}
		if dom.one(t, "#"+tc.filled).has("aria-invalid") {
			t.Errorf("the filled %s is marked invalid", tc.filled)
		}
		l.username, l.password = "mark", "right-password"
		l.signIn(r.stale)
		if dom := render(t, l); dom.one(t, "#"+tc.empty).has("aria-invalid") {
			t.Errorf("the %s stays marked once filled and sent", tc.empty)
		}
	}
}
