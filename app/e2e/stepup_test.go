//go:build !(js && wasm)

package e2e

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The tests of issue 10 about step-up in the browser (RFC 9470) and about
// administering others' second factors: a change that needs a recent
// sign-in asks for the password (and code) in a dialog over the page, keeps
// what was typed, and is then saved; the users page says who has two-step
// verification, resets it and lifts sign-in lockouts.

// stepUpAge is the servers' GATEHOUSE_STEP_UP_MAX_AGE here: short, so that
// a test can let a sign-in grow too old by waiting (stalePause), and long
// enough for the change to be sent again right after the password.
const stepUpAge = 3 * time.Second

var stepUpSettings = map[string]string{"GATEHOUSE_STEP_UP_MAX_AGE": stepUpAge.String()}

// stalePause waits until every sign-in made so far is too old for a
// change that needs a recent one.
func stalePause() { time.Sleep(stepUpAge + 1500*time.Millisecond) }

// nextCode is a code the server takes although this step's was used
// (each code works once; one step of skew is allowed).
func nextCode(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// editRole opens vera's form on the users page, types a new full name,
// chooses the manager role, and lets the sign-in grow too old.
func (b *browser) editRole(typed string) {
	b.t.Helper()
	b.clickNav("#nav-users", "/users")
	b.click(row("vera") + " .edit-user")
	b.waitVisible("#edit-form")
	b.fill("#edit-fullname", typed)
	b.choose("#edit-role", string(shared.RoleManager))
	stalePause()
}

// waitStepUp waits for the step-up dialog, modal over the page, with the
// focus on its password and the form behind it as typed.
func (b *browser) waitStepUp(typed string) {
	b.t.Helper()
	b.waitVisible("#reauth")
	if !eval[bool](b, `document.getElementById("reauth").matches(":modal")`) {
		b.t.Errorf("#reauth is not a modal dialog")
	}
	b.waitText("#reauth-title", "Confirm it's you")
	b.waitText("#reauth-why", "change the role of vera")
	b.waitFocus("#reauth-password")
	if got := eval[string](b, `document.getElementById("edit-fullname").value`); got != typed {
		b.t.Errorf("under the dialog the form holds %q, want %q", got, typed)
	}
	if got := eval[string](b, `document.getElementById("edit-role").value`); got != string(shared.RoleManager) {
		b.t.Errorf("under the dialog the role is %q, want manager", got)
	}
	if p := b.path(); p != "/users" {
		b.t.Errorf("the dialog took the page to %s", p)
	}
}

// wantRole checks vera's role and full name through the API.
func wantRole(t *testing.T, admin *client.Client, id int64, role shared.Role, fullName string) {
	t.Helper()
	got, err := admin.User(apiCtx(t), id)
	if err != nil || got.Role != role || got.FullName != fullName {
		t.Errorf("vera is %+v (%v); want role %s, full name %q", got, err, role, fullName)
	}
}

// Issue 10: a role change after the sign-in grew old asks for the password
// over the form, which keeps what was typed; a wrong password is said in
// the dialog, which stays; the right one saves the change as typed, and
// the form closes as usual. The dialog over the form is the README's
// picture stepup-1280-light.
func TestStepUpSavesARoleChange(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", stepUpSettings)
	admin := srv.login(t, adminUser, adminPassword)
	vera := createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.colorScheme("light")
	b.signInAs(adminUser, adminPassword)

	const typed = "Vera Promoted"
	b.editRole(typed)
	mark := b.mark()
	b.click("#edit-submit")
	b.waitStepUp(typed)
	if n := b.count("#reauth-code"); n != 0 {
		t.Errorf("a code is asked of an admin without a second factor")
	}
	b.waitQuiet(300 * time.Millisecond)
	b.shot("screens", "stepup-1280-light", true)

	b.key("not-the-password" + kb.Enter)
	b.waitText("#reauth-password-error", "not the right password")
	if !b.poll(visible("#reauth"), 0) {
		t.Fatal("a wrong password closed the dialog")
	}
	wantRole(t, admin, vera.ID, shared.RoleViewer, "Vera Test")

	b.fill("#reauth-password", adminPassword)
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitGone("#edit-form")
	b.waitText("#users-message", "saved")
	wantRole(t, admin, vera.ID, shared.RoleManager, typed)
	b.waitText(row("vera")+" .badge.role", "manager")

	patch := shared.PathUsers + "/" + strconv.FormatInt(vera.ID, 10)
	var statuses []int
	for _, r := range b.requestsSince(mark, http.MethodPatch, patch) {
		statuses = append(statuses, r.Status)
	}
	if len(statuses) != 2 || statuses[0] != http.StatusUnauthorized || statuses[1] != http.StatusOK {
		t.Errorf("PATCH %s answered %v; want 401 (step-up) then 200", patch, statuses)
	}
	if n := len(b.requestsSince(mark, http.MethodPost, shared.PathReauth)); n != 2 {
		t.Errorf("%d POST %s, want 2 (the wrong password, the right one)", n, shared.PathReauth)
	}
	for _, where := range []string{"localStorage", "sessionStorage"} {
		if eval[bool](b, `Object.values(`+where+`).some(v => v.includes(`+js(adminPassword)+`))`) {
			t.Errorf("%s holds the password", where)
		}
	}
}

// Issue 10: giving up the step-up — the Cancel button, or Escape — keeps
// the form and what was typed, says calmly that nothing was changed and
// gives focus back to Save; saving again asks again.
func TestStepUpCancelKeepsTheForm(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", stepUpSettings)
	admin := srv.login(t, adminUser, adminPassword)
	vera := createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)

	const typed = "Vera Not Yet"
	b.editRole(typed)
	for _, giveUp := range []func(){
		func() { b.click("#reauth-cancel") },
		func() { b.key(kb.Escape) },
	} {
		b.click("#edit-submit")
		b.waitStepUp(typed)
		giveUp()
		b.waitGone("#reauth")
		b.waitText("#edit-form p.error", "Nothing was changed")
		b.waitFocus("#edit-submit")
		if got := eval[string](b, `document.getElementById("edit-fullname").value`); got != typed {
			t.Errorf("after giving up the form holds %q, want %q", got, typed)
		}
		if got := eval[string](b, `document.getElementById("edit-role").value`); got != string(shared.RoleManager) {
			t.Errorf("after giving up the role is %q, want manager", got)
		}
		wantRole(t, admin, vera.ID, shared.RoleViewer, "Vera Test")
	}
	b.click("#edit-submit")
	b.waitStepUp(typed)
	b.fill("#reauth-password", adminPassword)
	b.key(kb.Enter)
	b.waitGone("#edit-form")
	wantRole(t, admin, vera.ID, shared.RoleManager, typed)
}

// Issue 10: an admin with a second factor is asked for the code as well;
// a wrong code is said in the dialog, which stays.
func TestStepUpAsksAnAdminWithMFAForTheCode(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", stepUpSettings)
	admin := srv.login(t, adminUser, adminPassword)
	vera := createUser(t, admin, "vera", "vera-password-1", shared.RoleViewer)
	b := newBrowser(t, srv.URL)
	b.signInAs(adminUser, adminPassword)
	// The admin sets up an authenticator app (through the API, as the
	// profile would), and the app learns of it when it loads who is
	// signed in again.
	secret, _ := enrolByAPI(t, admin)
	eval[chromedp.Void](b, `localStorage.removeItem(`+js(cachePrefix+"me")+`)`)
	b.open("/users")
	b.waitVisible(row("vera") + " .edit-user")
	b.waitText(row(adminUser)+" .cell-mfa", "On")

	const typed = "Vera Checked Twice"
	b.editRole(typed)
	b.click("#edit-submit")
	b.waitStepUp(typed)
	b.waitVisible("#reauth-code")
	if got := b.attr("#reauth-code", "autocomplete"); got != "one-time-code" {
		t.Errorf("the code field's autocomplete is %q", got)
	}

	b.fill("#reauth-password", adminPassword)
	b.fill("#reauth-code", "000000")
	b.key(kb.Enter)
	b.waitText("#reauth-code-error", "not the right code")
	wantRole(t, admin, vera.ID, shared.RoleViewer, "Vera Test")

	b.fill("#reauth-password", adminPassword)
	b.fill("#reauth-code", nextCode(t, secret))
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitGone("#edit-form")
	wantRole(t, admin, vera.ID, shared.RoleManager, typed)
}

// Issue 10, someone whose phone is gone: signed in with a recovery code,
// they set up a new phone from the profile once that sign-in has grown
// old. The set-up needs a recent sign-in, which a recovery code confirms
// in the dialog (a wrong one is said on its field); the page then says how
// many codes are left, the new app is set up, and from then on the old
// app's codes and recovery codes are refused and the new app's taken.
func TestMFANewPhoneConfirmedWithARecoveryCode(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", stepUpSettings)
	admin := srv.login(t, adminUser, adminPassword)
	const mona, monaPassword = "mona", "mona-password-1"
	createUser(t, admin, mona, monaPassword, shared.RoleManager)
	oldSecret, codes := enrolByAPI(t, srv.login(t, mona, monaPassword))

	b := newBrowser(t, srv.URL)
	b.viewport(phoneWidth, phoneHeight, true) // on a phone, by keyboard where it matters
	b.signInToCode(mona, monaPassword)
	b.click("#login-recovery")
	b.waitFocus("#login-recovery-code")
	b.key(codes[0] + kb.Enter)
	b.waitText("#recovery-left", "9 recovery codes left")
	b.key(kb.Enter)
	b.waitPath("/")
	b.clickNav("#nav-profile", "/profile")
	b.waitText("#mfa-status", "On")
	stalePause()

	// Giving up the dialog (Escape, Cancel) changes nothing, says so, and
	// gives the focus back where the person was, not to the page's top.
	b.click("#mfa-new-codes")
	b.waitVisible("#reauth")
	b.key(kb.Escape)
	b.waitGone("#reauth")
	b.waitText("#two-step p.error", "Nothing was changed")
	b.waitFocus("#mfa-new-codes")
	b.click("#mfa-remove")
	b.click("#confirm-yes")
	b.waitVisible("#reauth")
	b.click("#reauth-cancel")
	b.waitGone("#reauth")
	b.waitFocus("#mfa-remove")
	b.click("#mfa-new-phone")
	b.waitVisible("#reauth")
	b.key(kb.Escape)
	b.waitGone("#reauth")
	b.waitText("#two-step p.error", "Nothing was changed")
	b.waitFocus("#mfa-start") // "Try again", in place of the button that asked
	b.waitText("#mfa-status", "On")

	b.click("#mfa-start")
	b.waitVisible("#reauth")
	b.waitText("#reauth-title", "Confirm it's you")
	b.waitVisible("#reauth-code")
	b.waitFocus("#reauth-password")
	b.key(kb.Tab + kb.Tab + kb.Enter) // past the code field, to "Use a recovery code instead"
	b.waitFocus("#reauth-code")
	b.waitText(`label[for="reauth-code"]`, "Recovery code")
	if got := b.attr("#reauth-code", "autocomplete"); got != "off" {
		t.Errorf("the recovery code field's autocomplete is %q", got)
	}
	b.fill("#reauth-password", monaPassword)
	b.fill("#reauth-code", "zzzz-zzzz-zzzz-zzzz")
	b.key(kb.Enter)
	b.waitText("#reauth-code-error", "not one of your recovery codes")
	b.waitFocus("#reauth-password")

	b.fill("#reauth-password", monaPassword)
	b.fill("#reauth-code", codes[1])
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitText("#stepup-recovery-left", "8 recovery codes left")
	b.waitText("#mfa-enrol-title", "Set up your new phone")
	b.waitVisible("#mfa-keeps")
	b.checkReadable("the new phone's set-up under the note")
	b.shot("mfa", "new-phone-after-a-recovery-code-390", false)
	newSecret, newCodes := b.enrol()
	if newSecret == oldSecret {
		t.Fatal("the new phone got the old key")
	}
	b.waitGone("#stepup-recovery-left") // it counted the old codes
	b.click("#recovery-saved")
	b.waitText("#mfa-message", "new phone")

	// The old app and the old recovery codes are refused; the new app's
	// next code signs in.
	c := client.New(srv.URL, nil)
	challenge := func() string {
		t.Helper()
		_, err := c.Login(apiCtx(t), mona, monaPassword)
		var mfa *client.MFARequiredError
		if !errors.As(err, &mfa) {
			t.Fatalf("mona's password: %v, want mfa_required", err)
		}
		return mfa.Token
	}
	tok := challenge()
	if _, err := c.LoginMFA(apiCtx(t), tok, client.Code{OTP: code(t, oldSecret, time.Now())}); err == nil {
		t.Error("the old app's code signed in")
	}
	if _, err := c.LoginMFA(apiCtx(t), tok, client.Code{Recovery: codes[2]}); err == nil {
		t.Error("an old recovery code signed in")
	}
	if _, err := c.LoginMFA(apiCtx(t), tok, client.Code{OTP: nextCode(t, newSecret)}); err != nil {
		t.Errorf("the new app's code: %v", err)
	}
	if _, err := c.LoginMFA(apiCtx(t), challenge(), client.Code{Recovery: newCodes[0]}); err != nil {
		t.Errorf("a new recovery code: %v", err)
	}
}

// Issue 10: the users page says who has two-step verification (at 390 px
// too, without sideways scrolling: the README's picture
// users-mfa-390-dark), resets another user's after a confirmation and
// the step-up — signing them out — and lifts a sign-in lockout, saying
// what it did.
func TestStepUpResetsAnotherUsersMFAAndLiftsALockout(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_STEP_UP_MAX_AGE": stepUpAge.String(), "GATEHOUSE_LOGIN_FREE": "3"})
	admin := seed(t, srv)
	found, err := admin.Users(apiCtx(t), client.UserQuery{Q: "vera"})
	if err != nil || len(found.Items) != 1 {
		t.Fatalf("vera: %+v, %v", found, err)
	}
	vera := found.Items[0]
	veraClient := srv.login(t, "vera", "vera-password-1")
	enrolByAPI(t, veraClient)
	enrolByAPI(t, srv.login(t, "sam.ops", "sam.ops-password-1"))
	// Failed sign-ins lock vera's account (seed made two already).
	for i := 0; ; i++ {
		_, err := client.New(srv.URL, nil).Login(apiCtx(t), "vera", "not-her-password")
		var e *shared.Error
		if errors.As(err, &e) && e.Code == shared.CodeTooManyAttempts {
			break
		}
		if i == 10 {
			t.Fatalf("vera is not locked out after %d wrong passwords: %v", i+3, err)
		}
	}

	b := newBrowser(t, srv.URL)
	b.colorScheme("dark")
	b.viewport(phoneWidth, phoneHeight, true)
	b.signInAs(adminUser, adminPassword)
	b.clickNav("#nav-users", "/users")
	b.waitText(row("vera")+" .cell-mfa", "On")
	b.waitText(row("mona")+" .cell-mfa", "Off")
	b.checkReadable("users-mfa-390-dark")
	b.shot("screens", "users-mfa-390-dark", true)

	id := strconv.FormatInt(vera.ID, 10)
	b.click("#actions-toggle-" + id)
	b.click(row("vera") + " .edit-user")
	b.waitVisible("#user-security")
	b.waitText("#user-mfa-state", "On")
	stalePause()

	b.click("#reset-mfa")
	b.waitVisible("#confirm")
	b.waitText("#confirm-message", "signed out everywhere")
	b.click("#confirm-yes")
	b.waitVisible("#reauth")
	b.waitText("#reauth-why", "reset the two-step verification of vera")
	b.fill("#reauth-password", adminPassword)
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitText("#user-security-message", "was reset")
	b.waitText(row("vera")+" .cell-mfa", "Off")
	b.waitText("#user-mfa-state", "Off")
	b.waitGone("#reset-mfa")
	if got, err := admin.User(apiCtx(t), vera.ID); err != nil || got.MFA {
		t.Errorf("vera after the reset: %+v, %v; want no second factor", got, err)
	}
	if _, err := veraClient.Me(apiCtx(t)); err == nil {
		t.Error("vera's session survived the reset of her second factor")
	}
	if over := eval[[]string](b, noSidewaysScroll); len(over) != 0 {
		t.Errorf("with the panel open these scroll sideways: %q", over)
	}

	stalePause()
	b.click("#lift-lockout")
	b.waitVisible("#reauth")
	b.waitText("#reauth-why", "lift the sign-in lockout of vera")
	b.waitText("#lift-lockout", "Lifting…") // under the dialog, busy
	b.fill("#reauth-password", adminPassword)
	b.key(kb.Enter)
	b.waitGone("#reauth")
	b.waitText("#user-security-message", "lifted")
	b.waitFocus("#lift-lockout") // back where the person was
	if _, err := client.New(srv.URL, nil).Login(apiCtx(t), "vera", "vera-password-1"); err != nil {
		t.Errorf("vera cannot sign in after the lockout was lifted (and her factor reset): %v", err)
	}
}
