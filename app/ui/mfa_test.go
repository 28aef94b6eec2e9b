package ui

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

var testEnrolment = shared.TOTPEnrolment{
	Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
	URI:    "otpauth://totp/gatehouse:vera?issuer=gatehouse&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
	QR:     "data:image/png;base64,iVBORw0KGgo=",
}

func testCodes() []string {
	var codes []string
	for _, c := range "abcdefghjk" {
		codes = append(codes, strings.Repeat(string(c), 4)+"-2345-6789-0abc")
	}
	return codes
}

// mfaAPI answers the enrolment and the factor's own actions; confirm
// accepts 123456 only.
func mfaAPI(t *testing.T, me shared.User, extra map[string]http.HandlerFunc) *stubAPI {
	t.Helper()
	routes := map[string]http.HandlerFunc{
		"GET /api/users/me":           reply(me),
		"POST /api/users/me/mfa/totp": reply(testEnrolment),
		"POST /api/users/me/mfa/totp/confirm": func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(readBody(r), `"otp":"123456"`) {
				replyError(http.StatusUnprocessableEntity, shared.Error{Code: shared.CodeValidationFailed,
					Fields: map[string]string{"otp": "is not the code your app shows now"}})(w, r)
				return
			}
			reply(shared.RecoveryCodes{Codes: testCodes()})(w, r)
		},
		"POST /api/users/me/mfa/recovery-codes": reply(shared.RecoveryCodes{Codes: testCodes()}),
		"DELETE /api/users/me/mfa":              replyStatus(http.StatusNoContent),
	}
	for k, v := range extra {
		routes[k] = v
	}
	return newStubAPI(t, routes)
}

func readBody(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// Issue 10: the profile's section says two-step verification is off and
// offers to set it up; setting up shows the server's QR code, the secret
// in groups that copy as one word and the otpauth link, takes a first
// code (checked for six digits before sending, the server's verdict beside
// the field) and then shows the ten recovery codes once.
func TestTwoStepSetUp(t *testing.T) {
	api := mfaAPI(t, vera, nil)
	r := newRig(t)
	env := newEnv(t, api, &vera)
	ts, host := &twoStep{}, &pageCtx{}
	host.mounted(r.ctx)
	view := func() *node { t.Helper(); return parse(t, app.HTMLString(ts.ui(host, env))) }
	dom := view()
	if got := dom.one(t, "#mfa-status").Text(); !strings.HasPrefix(got, "Off") {
		t.Errorf("#mfa-status = %q, want it to say Off", got)
	}
	dom.one(t, "button#mfa-setup")
	if dom.count(t, "#mfa-remove")+dom.count(t, "#mfa-new-codes") != 0 {
		t.Error("an account without a factor is offered to remove it")
	}

	ts.setUp(r.stale, ev)
	r.settle()
	if n := len(api.callsTo("POST", "/api/users/me/mfa/totp")); n != 1 {
		t.Fatalf("%d enrolments started, want 1", n)
	}
	en := &ts.enrol
	confirm := func() {
		en.confirm(host.live(r.stale), env, ts.enrolled)
		r.settle()
	}
	dom = view()
	if got := dom.one(t, "img#mfa-qr"); got.attr("src") != testEnrolment.QR || got.attr("alt") == "" {
		t.Errorf("#mfa-qr = %v, want the server's QR code with a text alternative", got)
	}
	secret := dom.one(t, "#mfa-secret")
	if n := len(secret.all(t, "span")); n != 8 {
		t.Errorf("the secret is in %d groups, want 8 of four", n)
	}
	// In the browser the groups are elements with nothing between them
	// (HTMLString indents, which the DOM go-app builds does not).
	var raw strings.Builder
	secret.walk(func(n *node) { raw.WriteString(strings.TrimSpace(n.text)) })
	if raw.String() != testEnrolment.Secret {
		t.Errorf("the secret's text is %q, want %q (copied, it must be one word)", raw.String(), testEnrolment.Secret)
	}
	if got := dom.one(t, "a#mfa-uri").attr("href"); got != testEnrolment.URI {
		t.Errorf("#mfa-uri = %q", got)
	}
	code := dom.one(t, "#mfa-confirm-code")
	if code.attr("autocomplete") != "one-time-code" || code.attr("inputmode") != "numeric" {
		t.Errorf("#mfa-confirm-code = %v", code)
	}

	en.code = "12345"
	confirm()
	if n := len(api.callsTo("POST", "/api/users/me/mfa/totp/confirm")); n != 0 {
		t.Fatalf("five digits were sent")
	}
	en.code = "654 321"
	confirm()
	if got := view().one(t, "#mfa-confirm-code-error").Text(); got != "is not the code your app shows now" {
		t.Errorf("#mfa-confirm-code-error = %q", got)
	}
	if ts.phase != twoStepEnrolling {
		t.Fatalf("a wrong code left the enrolment")
	}

	// Offline nothing is sent, and the code typed stays for when the
	// network is back: only a code the server saw is spent.
	env.Online = func() bool { return false }
	en.code = "123456"
	confirm()
	if en.code != "123456" || !strings.Contains(en.err, "offline") {
		t.Fatalf("offline: code %q, error %q; want the code kept and the reason said", en.code, en.err)
	}
	env.Online = func() bool { return true }
	confirm()
	if en.en != nil {
		t.Error("the secret is still held after the enrolment")
	}
	if me := env.Me(); !me.MFA {
		t.Error("the signed-in user does not say mfa after enrolling")
	}
	dom = view()
	if n := dom.count(t, "#recovery-codes code"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	ts.saved(r.stale)
	dom = view()
	if dom.count(t, "#recovery-codes") != 0 || ts.codes.codes != nil {
		t.Error("the codes still show after they were saved")
	}
	if got := dom.one(t, "#mfa-message").Text(); !strings.Contains(got, "is on") {
		t.Errorf("#mfa-message = %q", got)
	}
	if got := dom.one(t, "#mfa-status").Text(); !strings.HasPrefix(got, "On") {
		t.Errorf("#mfa-status = %q, want On", got)
	}
}

// Issue 10: with a factor, new recovery codes replace the old ones (shown
// once), and turning it off asks first; an action whose step-up was left
// undone says so instead of "something went wrong".
func TestTwoStepNewCodesAndTurningOff(t *testing.T) {
	on := vera
	on.MFA = true
	stale := false
	api := mfaAPI(t, vera, map[string]http.HandlerFunc{
		"DELETE /api/users/me/mfa": func(w http.ResponseWriter, r *http.Request) {
			if stale {
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "recent", MaxAge: 300})(w, r)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		},
		"POST /api/users/me/mfa/recovery-codes": func(w http.ResponseWriter, r *http.Request) {
			if stale {
				replyError(http.StatusUnauthorized, shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "recent", MaxAge: 300})(w, r)
				return
			}
			reply(shared.RecoveryCodes{Codes: testCodes()})(w, r)
		},
	})
	r := newRig(t)
	env := newEnv(t, api, &on)
	ts, host := &twoStep{}, &pageCtx{}
	host.mounted(r.ctx)
	view := func() *node { t.Helper(); return parse(t, app.HTMLString(ts.ui(host, env))) }
	dom := view()
	dom.one(t, "button#mfa-new-codes")
	dom.one(t, "button#mfa-remove")
	if dom.count(t, "#mfa-setup") != 0 {
		t.Error("an enrolled account is offered to set up")
	}

	two := 2
	env.stepUp.noteLeft(&two)
	ts.newCodes(r.stale, ev)
	r.settle()
	if n := view().count(t, "#recovery-codes code"); n != 10 {
		t.Fatalf("%d new codes shown, want 10", n)
	}
	if env.stepUp.recoveryLeft() != nil {
		t.Error("the count of the old recovery codes still shows beside the new ones")
	}
	ts.saved(r.stale)
	if !strings.Contains(ts.msg, "old ones no longer work") {
		t.Errorf("after new codes: %q", ts.msg)
	}

	stale = true
	ts.askRemove(r.stale, ev)
	view().one(t, "dialog#confirm")
	ts.confirmed(r.stale)
	// The change waits for the password (the Frame's StepUp asks, saying
	// what for); the person gives up.
	a := waitAsk(t, env.stepUp, 1)
	if got, want := env.stepUp.why(a), "To turn off two-step verification, confirm your password."; got != want {
		t.Errorf("the step-up for turning off says %q, want %q", got, want)
	}
	env.stepUp.cancel()
	r.settle()
	if ts.err != "Nothing was changed: this needs you to confirm your password. Try again when you are ready." || !env.Me().MFA {
		t.Fatalf("a step-up left undone: %q, mfa %v", ts.err, env.Me().MFA)
	}
	ts.newCodes(r.stale, ev)
	a = waitAsk(t, env.stepUp, 1)
	if got, want := env.stepUp.why(a), "To make new recovery codes, confirm your password."; got != want {
		t.Errorf("the step-up for new codes says %q, want %q", got, want)
	}
	env.stepUp.cancel()
	r.settle()
	if !strings.HasPrefix(ts.err, "Nothing was changed") || ts.phase != twoStepIdle {
		t.Fatalf("new codes given up: %q, phase %v", ts.err, ts.phase)
	}

	stale = false
	ts.askRemove(r.stale, ev)
	ts.confirmed(r.stale)
	r.settle()
	if n := len(api.callsTo("DELETE", "/api/users/me/mfa")); n != 2 {
		t.Fatalf("%d DELETEs, want 2", n)
	}
	if env.Me().MFA {
		t.Error("the signed-in user still says mfa after turning it off")
	}
	if !strings.Contains(ts.msg, "is off") || ts.err != "" {
		t.Errorf("after turning off: message %q, error %q", ts.msg, ts.err)
	}

	// Signing out forgets a count of recovery codes, with the rest.
	env.stepUp.noteLeft(&two)
	env.Forget()
	if env.stepUp.recoveryLeft() != nil {
		t.Error("the count of recovery codes outlives the sign-out")
	}
}

// The codes go to a text file by a data: link with the download attribute
// (the page's policy allows no script to make one), holding every code.
func TestRecoveryCodesDownload(t *testing.T) {
	codes := testCodes()
	rc := &recoveryCodes{codes: codes, username: "vera"}
	r := newRig(t)
	host := &pageCtx{}
	host.mounted(r.ctx)
	dom := parse(t, app.HTMLString(rc.ui(host, nil)))
	a := dom.one(t, "a#recovery-download")
	if a.attr("download") != "gatehouse-recovery-codes.txt" {
		t.Errorf("download = %q", a.attr("download"))
	}
	href := a.attr("href")
	b64, ok := strings.CutPrefix(href, "data:text/plain;charset=utf-8;base64,")
	if !ok {
		t.Fatalf("href = %.60q…, want a base64 text data: URL", href)
	}
	text, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if !strings.Contains(string(text), c+"\n") {
			t.Errorf("the file lacks %s:\n%s", c, text)
		}
	}
	if !strings.Contains(string(text), "vera") {
		t.Errorf("the file does not say whose codes they are:\n%s", text)
	}
	if n := dom.count(t, "#recovery-codes code"); n != len(codes) {
		t.Errorf("%d codes shown, want %d", n, len(codes))
	}
	dom.one(t, "button#recovery-saved")

	rc.copy(r.ctx) // no clipboard outside a browser
	if !strings.Contains(rc.status, "did not allow copying") {
		t.Errorf("a failed copy says %q", rc.status)
	}
}

// Someone with a new phone sets it up again from the profile: the set-up
// says the app in use keeps working until the switch, confirms with
// "Switch to this app", and then says the old codes stopped working;
// cancelling puts focus back on the button that began it.
func TestTwoStepNewPhone(t *testing.T) {
	on := vera
	on.MFA = true
	api := mfaAPI(t, on, nil)
	r := newRig(t)
	env := newEnv(t, api, &on)
	ts, host := &twoStep{}, &pageCtx{}
	host.mounted(r.ctx)
	view := func() *node { t.Helper(); return parse(t, app.HTMLString(ts.ui(host, env))) }
	view().one(t, "button#mfa-new-phone")

	ts.newPhone(r.stale, ev)
	r.settle()
	dom := view()
	if got := dom.one(t, "#mfa-enrol-title").Text(); got != "Set up your new phone" {
		t.Errorf("#mfa-enrol-title = %q", got)
	}
	dom.one(t, "#mfa-keeps")
	if got := dom.one(t, "#mfa-confirm").Text(); got != "Switch to this app" {
		t.Errorf("#mfa-confirm = %q", got)
	}
	ts.cancelled(r.stale)
	if ts.phase != twoStepIdle {
		t.Fatal("cancel left the set-up open")
	}

	ts.newPhone(r.stale, ev)
	r.settle()
	eight := 8
	env.stepUp.noteLeft(&eight) // the step-up took a recovery code
	ts.enrol.code = "123456"
	ts.enrol.confirm(host.live(r.stale), env, ts.enrolled)
	r.settle()
	if n := view().count(t, "#recovery-codes code"); n != 10 {
		t.Fatalf("%d new recovery codes shown, want 10", n)
	}
	if env.stepUp.recoveryLeft() != nil {
		t.Error("the count of the old recovery codes still shows beside the new ones")
	}
	ts.saved(r.stale)
	if !strings.Contains(ts.msg, "new phone") || !strings.Contains(ts.msg, "no longer work") {
		t.Errorf("after the switch: %q", ts.msg)
	}
	if n := len(api.callsTo("POST", "/api/users/me/mfa/totp")); n != 2 {
		t.Errorf("%d set-ups started, want 2", n)
	}

	// A first set-up afterwards (after turning it off) is worded as one.
	ts.again = false
	off := on
	off.MFA = false
	env.SetMe(&off)
	ts.setUp(r.stale, ev)
	r.settle()
	if view().count(t, "#mfa-keeps") != 0 || ts.enrol.again {
		t.Error("a first set-up speaks of a new phone")
	}

	// The server asks for a recent sign-in to start a set-up on a new phone
	// and again to confirm it long after: the dialog says what for.
	if got := stepUpWhy((&totpEnrol{again: true}).why(context.Background())); !strings.Contains(got, "set up two-step verification on a new phone") {
		t.Errorf("the step-up for a new phone says %q", got)
	}
	if got := stepUpWhy((&totpEnrol{}).why(context.Background())); got != genericWhy {
		t.Errorf("the step-up for a first set-up says %q", got)
	}
}

// Under a server whose MFA policy is off (who-am-I says mfa_off), nothing
// offers to set a factor up: the section says so. One set up before still
// works, and can be given new codes or turned off, not moved to a new
// phone.
func TestTwoStepWhenTheServerTurnedItOff(t *testing.T) {
	r := newRig(t)
	host := &pageCtx{}
	host.mounted(r.ctx)
	for _, tt := range []struct {
		mfa        bool
		want, none []string
	}{
		{false, nil, []string{"#mfa-setup", "#mfa-new-phone", "#mfa-new-codes", "#mfa-remove"}},
		{true, []string{"#mfa-new-codes", "#mfa-remove"}, []string{"#mfa-setup", "#mfa-new-phone"}},
	} {
		me := vera
		me.MFA, me.MFAOff = tt.mfa, true
		env := newEnv(t, mfaAPI(t, me, nil), &me)
		dom := parse(t, app.HTMLString((&twoStep{}).ui(host, env)))
		for _, sel := range tt.want {
			dom.one(t, sel)
		}
		for _, sel := range tt.none {
			if dom.count(t, sel) != 0 {
				t.Errorf("mfa %v under off: %s is offered", tt.mfa, sel)
			}
		}
		if status := dom.one(t, "#mfa-status").Text(); !tt.mfa && !strings.Contains(status, "turned off on this server") {
			t.Errorf("#mfa-status = %q", status)
		}
	}
}

// A factor the policy requires is offered a move to a new phone and new
// recovery codes, never "Turn off" (the server refuses it with 409), and
// the section says why.
func TestTwoStepWhenThePolicyRequiresIt(t *testing.T) {
	r := newRig(t)
	host := &pageCtx{}
	host.mounted(r.ctx)
	me := vera
	me.MFA, me.MFAMandatory = true, true
	env := newEnv(t, mfaAPI(t, me, nil), &me)
	dom := parse(t, app.HTMLString((&twoStep{}).ui(host, env)))
	dom.one(t, "#mfa-new-phone")
	dom.one(t, "#mfa-new-codes")
	if dom.count(t, "#mfa-remove") != 0 {
		t.Error("a factor the policy requires can be turned off")
	}
	if status := dom.one(t, "#mfa-status").Text(); !strings.Contains(status, "requires it for your role") {
		t.Errorf("#mfa-status = %q", status)
	}
}
