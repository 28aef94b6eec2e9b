package ui

import (
	"net/http"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// pwFixture is a password form on a stub whose PUT is put, as drawn by
// an owner (its live context the rig's).
type pwFixture struct {
	r       *rig
	api     *stubAPI
	env     *Env
	f       *passwordForm
	host    *pageCtx
	askCode bool
	changed int
}

func newPWFixture(t *testing.T, askCode bool, put http.HandlerFunc) *pwFixture {
	t.Helper()
	x := &pwFixture{api: newStubAPI(t, map[string]http.HandlerFunc{"PUT /api/users/me/password": put}), r: newRig(t), f: &passwordForm{}, host: &pageCtx{}, askCode: askCode}
	x.env = newEnv(t, x.api, &vera)
	x.host.mounted(x.r.ctx)
	return x
}

func (x *pwFixture) submit() {
	x.f.submit(x.host.live(x.r.stale), x.env, x.askCode, func(app.Context) { x.changed++ })
	x.r.settle()
}

func (x *pwFixture) render(t *testing.T) *node {
	t.Helper()
	return parse(t, app.HTMLString(x.f.ui(x.host, x.env, "Change password", x.askCode, nil)))
}

func TestPasswordFormChange(t *testing.T) {
	x := newPWFixture(t, false, replyStatus(http.StatusNoContent))
	api, f, changed := x.api, x.f, &x.changed
	f.d = passwordDraft{current: "old-password", next: "new-password-1", repeat: "new-password-2"}
	x.submit()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("mismatched passwords were sent: %+v", w)
	}
	if got := x.render(t).one(t, "#repeat-password-error").Text(); got != "does not match the new password" {
		t.Errorf("#repeat-password-error = %q", got)
	}
	if n := x.render(t).count(t, "#password-code"); n != 0 {
		t.Errorf("an account without a second factor is asked for a code")
	}

	f.d.repeat = "new-password-1"
	x.submit()
	puts := api.callsTo("PUT", "/api/users/me/password")
	if len(puts) != 1 || strings.TrimSpace(puts[0].Body) != `{"current_password":"old-password","new_password":"new-password-1"}` {
		t.Fatalf("PUT = %+v", puts)
	}
	dom := x.render(t)
	if got := dom.one(t, "#password-message").Text(); !strings.Contains(got, "other sessions were signed out") {
		t.Errorf("#password-message = %q, want it to say the other sessions were signed out", got)
	}
	for _, id := range []string{"#current-password", "#new-password", "#repeat-password"} {
		if v := dom.one(t, id).attr("value"); v != "" {
			t.Errorf("%s still holds %q", id, v)
		}
	}
	if *changed != 1 {
		t.Errorf("OnChanged was called %d times, want once", *changed)
	}
}

func TestPasswordFormWrongCurrentPassword(t *testing.T) {
	x := newPWFixture(t, false, replyError(http.StatusUnprocessableEntity, shared.Error{
		Code: shared.CodeValidationFailed, Fields: map[string]string{"current_password": "is wrong"},
	}))
	f, changed := x.f, &x.changed
	f.d = passwordDraft{current: "guess-password", next: "new-password-1", repeat: "new-password-1"}
	x.submit()
	if got := x.render(t).one(t, "#current-password-error").Text(); got != "is wrong" {
		t.Errorf("#current-password-error = %q", got)
	}
	if *changed != 0 {
		t.Errorf("OnChanged was called after a refusal")
	}
}

// With a second factor the server wants a code in the same form: the form
// asks for it, checks it is six digits and sends it without spaces; the
// server's verdict on it shows beside the field.
func TestPasswordFormAsksTheCodeWithASecondFactor(t *testing.T) {
	wrong := true
	x := newPWFixture(t, true, func(w http.ResponseWriter, r *http.Request) {
		if wrong {
			replyError(http.StatusUnprocessableEntity, shared.Error{Code: shared.CodeValidationFailed,
				Fields: map[string]string{"otp": "is not the code your app shows now"}})(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	api, f, changed := x.api, x.f, &x.changed
	code := x.render(t).one(t, "#password-code")
	if code.attr("autocomplete") != "one-time-code" || code.attr("inputmode") != "numeric" {
		t.Errorf("#password-code = %v, want a one-time-code field with a numeric keyboard", code)
	}

	f.d = passwordDraft{current: "old-password", next: "new-password-1", repeat: "new-password-1"}
	x.submit()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("a change without the code was sent: %+v", w)
	}
	field := x.render(t).one(t, "#password-code")
	if !field.has("aria-invalid") || field.attr("aria-describedby") != "password-code-error" {
		t.Errorf("#password-code = %v, want it marked invalid and pointing at its error", field)
	}

	f.d.code = "123 456"
	x.submit()
	puts := api.callsTo("PUT", "/api/users/me/password")
	if len(puts) != 1 || !strings.Contains(puts[0].Body, `"otp":"123456"`) {
		t.Fatalf("PUT = %+v, want the code without its space", puts)
	}
	if got := x.render(t).one(t, "#password-code-error").Text(); got != "is not the code your app shows now" {
		t.Errorf("#password-code-error = %q", got)
	}

	wrong = false
	f.d.code = "654321"
	x.submit()
	if *changed != 1 {
		t.Errorf("OnChanged was called %d times after the change, want once", *changed)
	}
}

func TestPasswordDraftRequestCode(t *testing.T) {
	base := passwordDraft{current: "old-password", next: "new-password-1", repeat: "new-password-1"}
	for _, tt := range []struct {
		name, code, wantOTP, wantErr string
	}{
		{"six digits", "123456", "123456", ""},
		{"spaces and dashes go", " 123-456 ", "123456", ""},
		{"missing", "", "", "is required: your account signs in with an authenticator app"},
		{"too short", "12345", "", "must be the 6 digits your authenticator app shows"},
		{"letters", "12345a", "", "must be the 6 digits your authenticator app shows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := base
			d.code = tt.code
			in, err := d.request(true)
			if got := FieldErrors(err)["otp"]; got != tt.wantErr {
				t.Errorf("otp error %q, want %q", got, tt.wantErr)
			}
			if tt.wantErr == "" && in.OTP != tt.wantOTP {
				t.Errorf("OTP = %q, want %q", in.OTP, tt.wantOTP)
			}
		})
	}
}
