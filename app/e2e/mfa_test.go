//go:build !(js && wasm)

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// The tests of issue 10 in the browser: two-step verification set up from
// the profile, signing in with a code or a recovery code, and the accounts
// that must change a password or set up a second factor before anything
// else.
//
// Codes come from github.com/pquerna/otp/totp, as an authenticator app
// makes them. The server takes each 30-second step once, one step either
// side of its clock: a second code within the same step is the next step's
// (totp.GenerateCode(secret, time.Now().Add(30*time.Second))), so nothing
// waits for the clock.

// code is the TOTP code of secret at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatalf("TOTP code: %v", err)
	}
	return c
}

// wrongCode is six digits that are no code of secret within the server's
// window.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	var near []string
	for d := -2; d <= 2; d++ {
		near = append(near, code(t, secret, time.Now().Add(time.Duration(d)*30*time.Second)))
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !slices.Contains(near, c) {
			return c
		}
	}
	t.Fatal("every candidate is a code")
	return ""
}

var base32Secret = regexp.MustCompile(`^[A-Z2-7]{32}$`)

// enrol finishes an enrolment shown on the page (in the profile or the
// panel of a required one): the QR code has loaded, the key is read, a
// first code is typed; it returns the secret and the recovery codes.
func (b *browser) enrol() (secret string, codes []string) {
	t := b.t
	t.Helper()
	b.waitVisible("#mfa-qr")
	b.waitFor("the QR code to load (the policy allows data: images)", q("#mfa-qr")+".complete && "+q("#mfa-qr")+".naturalWidth > 0")
	secret = b.text("#mfa-secret")
	if !base32Secret.MatchString(secret) {
		t.Fatalf("#mfa-secret reads %q, want 32 base32 characters as one word", secret)
	}
	if groups := b.count("#mfa-secret span"); groups != 8 {
		t.Errorf("the key shows in %d groups, want 8 of four", groups)
	}
	// What a person selects and copies is the key as one word.
	if sel := eval[string](b, `(() => { const s = getSelection(); s.selectAllChildren(`+q("#mfa-secret")+`); const v = s.toString(); s.removeAllRanges(); return v; })()`); sel != secret {
		t.Errorf("selecting the key copies %q, want %q", sel, secret)
	}
	if uri := b.attr("#mfa-uri", "href"); !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Errorf("#mfa-uri = %q", uri)
	}
	b.fill("#mfa-confirm-code", code(t, secret, time.Now()))
	b.key(kb.Enter)
	b.waitVisible("#recovery-codes")
	codes = eval[[]string](b, `[...document.querySelectorAll("#recovery-codes code")].map(e => e.textContent.trim())`)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10: %q", len(codes), codes)
	}
	b.waitFocus("#recovery-codes-title")
	return secret, codes
}

// signOut signs out with the frame's button.
func (b *browser) signOut() {
	b.t.Helper()
	b.click("#logout")
	b.waitPath("/login")
	b.waitVisible("#username")
}

// signInToCode sends the password of an account with a second factor and
// waits for the code's step, its field focused.
func (b *browser) signInToCode(username, password string) {
	b.t.Helper()
	b.signIn(username, password)
	b.waitVisible("#login-otp")
	b.waitFocus("#login-otp")
}

// nothingStored fails t when localStorage or sessionStorage holds any of
// secrets.
func (b *browser) nothingStored(secrets ...string) {
	b.t.Helper()
	for _, where := range []string{"localStorage", "sessionStorage"} {
		for _, s := range secrets {
			if eval[bool](b, `Object.values(`+where+`).some(v => v.includes(`+js(s)+`))`) {
				b.t.Errorf("%s holds %.8s…", where, s)
			}
		}
	}
}

// downloads makes the tab save downloads in a directory of the test's and
// returns a function that waits for the next finished one and reads it.
func (b *browser) downloads() func() string {
	b.t.Helper()
	dir := b.t.TempDir()
	on := true
	_, err := chromedp.Call(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &on,
	})
	if err != nil {
		b.t.Fatalf("allow downloads: %v", err)
	}
	done := make(chan string, 4)
	var once sync.Map
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && e.State == cdpbrowser.DownloadProgressStateCompleted {
			if _, seen := once.LoadOrStore(e.GUID, true); !seen {
				done <- e.GUID
			}
		}
	}); err != nil {
		b.t.Fatalf("listen for downloads: %v", err)
	}
	return func() string {
		b.t.Helper()
		select {
		case guid := <-done:
			data, err := os.ReadFile(filepath.Join(dir, guid))
			if err != nil {
				b.t.Fatalf("the download: %v", err)
			}
			return string(data)
		case <-time.After(waitTimeout):
			b.t.Fatalf("no download finished within %s", waitTimeout)
		}
		return ""
	}
}

// allowClipboard lets the page of origin write and read the clipboard
// without asking, as a person's click would for writing.
func (b *browser) allowClipboard(origin string) {
	b.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.Call(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin,
		})
		if err != nil {
			b.t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// Issue 10, items 2 and 4: set up from the profile — QR code, key, a
// wrong first code refused beside its field, the recovery codes copied and
// downloaded — then sign out and in with a code (a wrong one first: the
// step stays and says how many tries are left), and with a recovery code,
// which the page then counts and which is refused the second time.
func TestMFAEnrolFromTheProfileThenSignInWithCodes(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	const mona, monaPassword = "mona", "mona-password-1"
	m := createUser(t, admin, mona, monaPassword, shared.RoleManager)
	b := newBrowser(t, srv.URL)
	b.allowClipboard(srv.URL)
	download := b.downloads()
	b.signInAs(mona, monaPassword)

	// Set up, with a wrong first code before the right one.
	b.clickNav("#nav-profile", "/profile")
	b.waitText("#mfa-status", "Off")
	b.click("#mfa-setup")
	b.waitVisible("#mfa-qr")
	b.waitFocus("#mfa-enrol-title")
	secret := b.text("#mfa-secret")
	b.fill("#mfa-confirm-code", wrongCode(t, secret))
	b.click("#mfa-confirm")
	b.waitText("#mfa-confirm-code-error", "not the code your app shows")
	if got := b.attr("#mfa-confirm-code", "aria-describedby"); got != "mfa-confirm-code-error" {
		t.Errorf("the code's field points at %q, not at its error", got)
	}
	b.waitFocus("#mfa-confirm-code")
	if u, err := admin.User(apiCtx(t), m.ID); err != nil || u.MFA {
		t.Fatalf("after a wrong first code mona is %+v, %v; want no factor yet", u, err)
	}
	secret2, codes := b.enrol()
	if secret2 != secret {
		t.Fatalf("the key changed under the form: %s, then %s", secret, secret2)
	}

	b.click("#recovery-copy")
	b.waitText("#recovery-status", "copied")
	if got := eval[string](b, "navigator.clipboard.readText()"); got != strings.Join(codes, "\n")+"\n" {
		t.Errorf("the clipboard holds %q, want the ten codes", got)
	}
	if href := b.attr("#recovery-download", "href"); !strings.HasPrefix(href, "data:text/plain") {
		t.Errorf("Download links to %.40q…", href)
	}
	b.click("#recovery-download")
	file := download()
	for _, c := range codes {
		if !strings.Contains(file, c+"\n") {
			t.Errorf("the downloaded file lacks %s:\n%s", c, file)
		}
	}
	if b.path() != "/profile" {
		t.Errorf("downloading left the page for %s", b.path())
	}
	b.nothingStored(append([]string{secret}, codes...)...)

	b.click("#recovery-saved")
	b.waitGone("#recovery-codes")
	b.waitText("#mfa-status", "On")
	b.waitText("#mfa-message", "is on")
	b.waitVisible("#mfa-new-codes")
	b.waitVisible("#password-code") // changing the password now takes a code too
	if u, err := admin.User(apiCtx(t), m.ID); err != nil || !u.MFA {
		t.Fatalf("after enrolling mona is %+v, %v; want mfa", u, err)
	}

	t.Run("a code signs in; a wrong one first keeps the step", func(t *testing.T) {
		b.signOut()
		b.signInToCode(mona, monaPassword)
		for attr, want := range map[string]string{"autocomplete": "one-time-code", "inputmode": "numeric"} {
			if got := b.attr("#login-otp", attr); got != want {
				t.Errorf("#login-otp %s = %q, want %q", attr, got, want)
			}
		}
		b.key(wrongCode(t, secret) + kb.Enter)
		b.waitText("#login-code-error", "4 tries left")
		b.waitFocus("#login-otp")
		if got := b.path(); got != "/login" {
			t.Fatalf("a wrong code left the page for %s", got)
		}
		// The enrolment used this step's code: the next is the next step's.
		b.key(code(t, secret, time.Now().Add(30*time.Second)) + kb.Enter)
		b.waitPath("/")
		b.waitText("#who", mona)
	})

	t.Run("a recovery code signs in once, and the page counts what is left", func(t *testing.T) {
		b.signOut()
		b.signInToCode(mona, monaPassword)
		b.click("#login-recovery")
		b.waitFocus("#login-recovery-code")
		b.key(strings.ToUpper(codes[0]) + kb.Enter)
		b.waitText("#recovery-left", "9 recovery codes left")
		b.waitFocus("#login-continue")
		if n := b.count("#recovery-advice"); n != 0 {
			t.Errorf("with 9 codes left the page urges new ones")
		}
		if tok, ok := b.storage(tokenKey); !ok || tok == "" {
			t.Fatal("not signed in after a recovery code")
		}
		b.key(kb.Enter)
		b.waitPath("/")
		b.waitText("#who", mona)

		b.signOut()
		b.signInToCode(mona, monaPassword)
		b.click("#login-recovery")
		b.key(codes[0] + kb.Enter)
		b.waitText("#login-code-error", "used already")
		if tok, ok := b.storage(tokenKey); ok && tok != "" {
			t.Fatal("a used recovery code signed in")
		}
		b.click("#login-back")
		b.waitFocus("#password")
		if got := eval[string](b, `document.getElementById("username").value`); got != mona {
			t.Errorf("back at the password the username is %q", got)
		}
	})
}

// enrolByAPI gives the user of c an authenticator app through the API and
// returns its secret and recovery codes. It confirms with the previous
// step's code (the server takes one step either side), so that two codes
// remain to be used without waiting: this step's, then the next one's.
func enrolByAPI(t *testing.T, c *client.Client) (string, []string) {
	t.Helper()
	en, err := c.StartTOTP(apiCtx(t))
	if err != nil {
		t.Fatalf("start TOTP: %v", err)
	}
	codes, err := c.ConfirmTOTP(apiCtx(t), code(t, en.Secret, time.Now().Add(-30*time.Second)))
	if err != nil {
		t.Fatalf("confirm TOTP: %v", err)
	}
	return en.Secret, codes
}

// Issue 10, item 1: a sign-in sent before the app runs, by keyboard,
// that the server answers mfa_required, lands on the code's step with the
// focus in its field, and the keyboard finishes it.
func TestMFAHeldSignInLandsOnTheCode(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	createUser(t, admin, "mona", "mona-password-1", shared.RoleManager)
	secret, _ := enrolByAPI(t, srv.login(t, "mona", "mona-password-1"))

	b := newBrowser(t, srv.URL)
	sent := b.urls()
	release := b.hold("*app.wasm*")
	b.do("open /login", chromedp.Navigate(srv.URL+"/login"))
	b.waitVisible("#login-form")
	b.waitFocus("#username")
	b.key("mona" + kb.Tab + "mona-password-1" + kb.Enter)
	b.waitText("#login-status", "starting")
	release()

	b.waitVisible("#login-otp")
	b.waitFocus("#login-otp")
	if got := b.text("#login-code-form h1"); got != "Two-step verification" {
		t.Errorf("the step's heading is %q", got)
	}
	b.key(code(t, secret, time.Now()) + kb.Enter)
	b.waitPath("/")
	b.waitText("#who", "mona")
	for _, u := range sent() {
		if strings.Contains(u, "mona-password-1") || strings.Contains(u, "otp=") {
			t.Errorf("a request carried a secret in its address: %s", u)
		}
	}
}

// Issue 10, item 3: a password an administrator reset must be changed
// before anything else. Signing in leads to a panel that only changes it
// — with the code in the same form when the account has a second factor —
// no navigation, the same panel at any address, sign-out there; then the
// page the person came for.
func TestMFAForcedPasswordChange(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	for _, tt := range []struct {
		name     string
		user     string
		enrolled bool
	}{
		{"without a second factor", "vera", false},
		{"with a second factor, the code in the same form", "walt", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const temporary, chosen = "temporary-pass-1", "my-own-password-1"
			u := createUser(t, admin, tt.user, tt.user+"-password-1", shared.RoleViewer)
			var secret string
			if tt.enrolled {
				secret, _ = enrolByAPI(t, srv.login(t, tt.user, tt.user+"-password-1"))
			}
			if err := admin.ResetPassword(apiCtx(t), u.ID, shared.PasswordReset{NewPassword: temporary}); err != nil {
				t.Fatal(err)
			}

			b := newBrowser(t, srv.URL)
			if tt.enrolled {
				b.signInToCode(tt.user, temporary)
				b.key(code(t, secret, time.Now()) + kb.Enter)
			} else {
				b.signIn(tt.user, temporary)
			}
			b.waitVisible("#account-setup #password-form")
			b.waitText("#account-setup h1", "Choose a new password")
			b.waitFocus("#page-title")
			if n := b.count(".nav-link"); n != 0 {
				t.Errorf("%d navigation links show while the password must be changed", n)
			}
			b.waitVisible("#logout")
			if got := eval[string](b, "document.title"); !strings.Contains(got, "Choose a new password") {
				t.Errorf("the title is %q", got)
			}
			if got := b.count("#password-code"); (got == 1) != tt.enrolled {
				t.Errorf("%d code fields, want one only with a second factor", got)
			}

			// Another address shows the same panel, never a broken page.
			b.open("/users")
			b.waitVisible("#account-setup #password-form")
			if n := b.count("#users-table") + b.count("p.error"); n != 0 {
				t.Errorf("the users page shows under the panel: %s", b.pageSummary())
			}

			b.fill("#current-password", temporary)
			b.fill("#new-password", chosen)
			b.fill("#repeat-password", chosen)
			if tt.enrolled {
				b.fill("#password-code", wrongCode(t, secret))
				b.click("#password-save")
				b.waitText("#password-code-error", "not the code")
				// The form keeps the passwords; only the code is typed again.
				b.fill("#password-code", code(t, secret, time.Now().Add(30*time.Second)))
			}
			b.click("#password-save")
			b.waitGone("#account-setup")
			b.waitVisible(row(tt.user)) // the users page it was at, loaded
			b.waitFocus("#page-title")  // its heading, as after any navigation
			b.waitVisible("#nav-sessions")
			if got := eval[string](b, "document.title"); !strings.HasPrefix(got, "Users") {
				t.Errorf("after the change the title is %q", got)
			}
			if _, err := client.New(srv.URL, nil).Login(apiCtx(t), tt.user, temporary); err == nil {
				t.Error("the temporary password still works")
			}
		})
	}
}

// Issue 10, item 3, under GATEHOUSE_MFA=all: the first sign-in of an
// account without a factor leads to setting one up, and only that — no
// navigation, no cancelling, the same at any address — then the recovery
// codes, and then the page.
func TestMFAMandatoryEnrolment(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_MFA": "all"})
	b := newBrowser(t, srv.URL)
	b.signIn(adminUser, adminPassword)
	b.waitVisible("#account-setup #mfa-enrol")
	b.waitText("#account-setup h1", "Set up two-step verification")
	if n := b.count(".nav-link") + b.count("#mfa-cancel"); n != 0 {
		t.Errorf("navigation or Cancel show while a factor is required (%d)", n)
	}
	b.open("/audit")
	b.waitVisible("#account-setup #mfa-qr")
	if n := b.count("#audit-table") + b.count("main p.error"); n != 0 {
		t.Errorf("the audit page shows under the panel: %s", b.pageSummary())
	}
	// On a phone, in the dark: nothing sideways, every text readable.
	b.viewport(phoneWidth, phoneHeight, true)
	b.colorScheme("dark")
	b.checkReadable("setup-enrol-390-dark")
	b.shot("mfa", "setup-enrol-390-dark", false)

	b.waitFocus("#mfa-enrol-title")
	secret, codes := b.enrol()
	if got := b.text("#account-setup h1"); got != "Save your recovery codes" {
		t.Errorf("with the codes the panel says %q", got)
	}
	b.waitVisible("#logout")
	b.click("#recovery-saved")
	b.waitGone("#account-setup")
	b.waitVisible("#audit-table tbody tr") // the page it was at, loaded
	b.waitFocus("#page-title")             // its heading, not the body
	b.waitVisible("#nav-users")
	b.nothingStored(append([]string{secret}, codes...)...)

	// The next sign-in asks for a code.
	b.signOut()
	b.signInToCode(adminUser, adminPassword)
	b.key(code(t, secret, time.Now().Add(30*time.Second)) + kb.Enter)
	b.waitPath("/")
	b.waitVisible("#nav-audit")
	if n := b.count("#account-setup"); n != 0 {
		t.Error("the panel shows again after enrolling")
	}
}

// Issue 10, items 1, 2 and 5: the enrolment, the recovery codes and the
// code's step at 390 and 1280 px, light and dark: nothing scrolls sideways,
// every text is at 4.5:1 against its background, and on the phone every
// control is big enough to tap. Each view is saved
// as .screenshots/mfa/NAME-WIDTH-SCHEME.png; with
// GATEHOUSE_E2E_README_SHOTS=1 the README's go to web/screenshots.
func TestMFAScreensAtTwoWidthsLightAndDark(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)
	admin := srv.login(t, adminUser, adminPassword)
	readme := map[string]bool{"mfa-enrol-390-dark": true, "signin-code-1280-light": true}
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			user := "mona-" + scheme
			createUser(t, admin, user, user+"-password", shared.RoleManager)
			b := newBrowser(t, srv.URL)
			b.colorScheme(scheme)
			check := func(view string) {
				t.Helper()
				b.checkReadable(view)
				b.shot("mfa", view, readme[view])
			}
			widths := func(name, ready string) {
				t.Helper()
				for _, w := range []int64{phoneWidth, desktopWidth} {
					h := int64(desktopHigh)
					if w == phoneWidth {
						h = phoneHeight
					}
					b.viewport(w, h, w == phoneWidth)
					b.waitVisible(ready)
					eval[chromedp.Void](b, q(ready)+`.scrollIntoView({block: "start"})`)
					check(fmt.Sprintf("%s-%d-%s", name, w, scheme))
					if w == phoneWidth {
						b.checkTargets(fmt.Sprintf("%s-%d-%s", name, w, scheme))
					}
				}
			}
			b.signInAs(user, user+"-password")
			b.clickNav("#nav-profile", "/profile")
			b.click("#mfa-setup")
			b.waitVisible("#mfa-qr")
			b.waitFor("the QR code to load", q("#mfa-qr")+".complete && "+q("#mfa-qr")+".naturalWidth > 0")
			widths("mfa-enrol", "#two-step")
			secret := b.text("#mfa-secret")
			b.fill("#mfa-confirm-code", code(t, secret, time.Now()))
			b.key(kb.Enter)
			widths("mfa-codes", "#recovery-codes-panel")
			b.click("#recovery-saved")
			b.waitText("#mfa-status", "On")
			b.signOut()
			b.signInToCode(user, user+"-password")
			widths("signin-code", "#login-code-form")
			b.fill("#login-otp", wrongCode(t, secret))
			b.key(kb.Enter)
			b.waitVisible("#login-code-error")
			widths("signin-code-refused", "#login-code-form")
		})
	}
}
