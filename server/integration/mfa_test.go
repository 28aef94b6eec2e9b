package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// code returns the TOTP code of secret at t, as an authenticator app shows
// it.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol gives c's user an authenticator app and returns its secret and the
// recovery codes. The clock moves on a step, so that the next code is new.
func (e *env) enrol(c *client.Client) (string, []string) {
	e.t.Helper()
	t := e.t.(*testing.T)
	en, err := c.StartTOTP(bg)
	if err != nil {
		t.Fatalf("start TOTP: %v", err)
	}
	if !strings.HasPrefix(en.URI, "otpauth://totp/") || !strings.HasPrefix(en.QR, "data:image/png;base64,") || len(en.Secret) < 32 {
		t.Fatalf("enrolment %+v", en)
	}
	codes, err := c.ConfirmTOTP(bg, code(t, en.Secret, e.clock.Now()))
	if err != nil {
		t.Fatalf("confirm TOTP: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	return en.Secret, codes
}

// enrolAdmin gives the first admin an authenticator app; admin() then
// signs in with it.
func (e *env) enrolAdmin() {
	e.t.Helper()
	e.adminSecret, _ = e.enrol(e.admin())
}

// mfaLogin posts the password grant and expects mfa_required; it returns
// the mfa_token.
func (e *env) mfaLogin(username, password string) string {
	e.t.Helper()
	t := e.t.(*testing.T)
	resp, body := e.rawLogin(username, password)
	env := wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeMFARequired)
	if env.MFAToken == "" || env.MFAExpiresIn != 300 {
		t.Fatalf("mfa_required without an mfa_token of 5 minutes: %s", body)
	}
	if refreshCookie(resp) != nil {
		t.Fatal("a half-done sign-in set a refresh cookie")
	}
	return env.MFAToken
}

// mfaGrant posts the second step.
func (e *env) mfaGrant(token, otpCode, recovery string) (*http.Response, []byte) {
	e.t.Helper()
	form := url.Values{"grant_type": {shared.GrantMFAOTP}, "mfa_token": {token}}
	if otpCode != "" {
		form.Set("otp", otpCode)
	}
	if recovery != "" {
		form.Set("recovery_code", recovery)
	}
	return e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
}

func TestMFASignIn(t *testing.T) {
	t.Parallel()
	onEachStore(t, mfaSignIn)
}

func mfaSignIn(t *testing.T, settings ...string) {
	e := newEnv(t, append(settings, "GATEHOUSE_LOGIN_FREE=3")...)
	u, c := e.newUser(shared.RoleManager)
	secret, codes := e.enrol(c)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	if me, _ := c.Me(bg); !me.MFA {
		t.Fatal("the user JSON does not say mfa")
	}

	t.Run("the password alone gets mfa_required; a code completes the sign-in", func(t *testing.T) {
		tok := e.mfaLogin(u.Username, userPassword)
		resp, body := e.mfaGrant(tok, code(t, secret, e.clock.Now()), "")
		tr := granted(t)(resp, body)
		if got := claimsOf(t, tr.AccessToken); got.sid == "" {
			t.Fatal("no session")
		}
		resp, body = e.mfaGrant(tok, code(t, secret, e.clock.Now()), "")
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant) // the token is spent
	})
	t.Run("a code already used is refused", func(t *testing.T) {
		used := code(t, secret, e.clock.Now())
		resp, body := e.mfaGrant(e.mfaLogin(u.Username, userPassword), used, "")
		wantField(t, wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant), "otp")
	})
	t.Run("a code two steps old is refused; the next step's is accepted", func(t *testing.T) {
		e.clock.Advance(30 * time.Second)
		tok := e.mfaLogin(u.Username, userPassword)
		resp, body := e.mfaGrant(tok, code(t, secret, e.clock.Now().Add(-60*time.Second)), "")
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
		granted(t)(e.mfaGrant(tok, code(t, secret, e.clock.Now().Add(30*time.Second)), "")) // a typo did not spend it
		e.clock.Advance(60 * time.Second)
	})
	t.Run("a recovery code works once, and says how many remain", func(t *testing.T) {
		tr := granted(t)(e.mfaGrant(e.mfaLogin(u.Username, userPassword), "", strings.ToUpper(codes[0])))
		if tr.RecoveryCodesLeft == nil || *tr.RecoveryCodesLeft != 9 {
			t.Fatalf("recovery_codes_left %v, want 9", tr.RecoveryCodesLeft)
		}
		resp, body := e.mfaGrant(e.mfaLogin(u.Username, userPassword), "", codes[0])
		wantField(t, wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant), "recovery_code")
		if ev := e.audit(shared.ActionRecoveryUsed); len(ev) != 1 || ev[0].Detail != "9 left" {
			t.Fatalf("recovery code use audited as %+v", ev)
		}
	})
	t.Run("an mfa_token expires after 5 minutes", func(t *testing.T) {
		tok := e.mfaLogin(u.Username, userPassword)
		e.clock.Advance(5*time.Minute + time.Second)
		resp, body := e.mfaGrant(tok, code(t, secret, e.clock.Now()), "")
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
	})
	t.Run("an mfa_token takes 5 codes, then is spent", func(t *testing.T) {
		e := newEnv(t, append(settings, "GATEHOUSE_LOGIN_FREE=10")...) // the account's code throttle stays out of the way
		v, vc := e.newUser(shared.RoleViewer)
		vsecret, _ := e.enrol(vc)
		tok := e.mfaLogin(v.Username, userPassword)
		for i := range 5 {
			resp, body := e.mfaGrant(tok, "000000", "")
			env := wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
			if want := strconv.Itoa(4-i) + " tries left"; !strings.Contains(env.Description, want) {
				t.Fatalf("attempt %d: %q does not say %q", i+1, env.Description, want)
			}
			if env.AttemptsLeft == nil || *env.AttemptsLeft != 4-i {
				t.Fatalf("attempt %d: attempts_left %v, want %d", i+1, env.AttemptsLeft, 4-i)
			}
		}
		resp, body := e.mfaGrant(tok, code(t, vsecret, e.clock.Now()), "")
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		granted(t)(e.mfaGrant(e.mfaLogin(v.Username, userPassword), code(t, vsecret, e.clock.Now()), ""))
	})
	t.Run("codes are throttled per account, whatever the device", func(t *testing.T) {
		w, wc := e.newUser(shared.RoleViewer)
		wsecret, _ := e.enrol(wc)
		for range 3 {
			resp, body := e.mfaGrant(e.mfaLogin(w.Username, userPassword), "222222", "")
			wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
		}
		// The right code from a fresh challenge: the account's codes are
		// locked out.
		resp, body := e.mfaGrant(e.mfaLogin(w.Username, userPassword), code(t, wsecret, e.clock.Now()), "")
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	})
	t.Run("a refresh token asked for as a cookie at the password step stays out of the body", func(t *testing.T) {
		// The second step is a request of its own: a client that asked
		// for cookie delivery with the password, and not again, must not
		// get the refresh token where page scripts read it.
		e.clock.Advance(30 * time.Second)
		form := url.Values{"grant_type": {shared.GrantPassword}, "username": {u.Username}, "password": {userPassword},
			shared.FieldTokenDelivery: {shared.TokenDeliveryCookie}}
		resp, body := e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
		tok := wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeMFARequired).MFAToken
		resp, body = e.mfaGrant(tok, code(t, secret, e.clock.Now()), "")
		if tr := granted(t)(resp, body); tr.RefreshToken != "" || refreshCookie(resp) == nil {
			t.Fatalf("refresh token in the body %t, as a cookie %t; want the cookie only", tr.RefreshToken != "", refreshCookie(resp) != nil)
		}
		// Without it at either step, the body carries it as before.
		e.clock.Advance(30 * time.Second)
		resp, body = e.mfaGrant(e.mfaLogin(u.Username, userPassword), code(t, secret, e.clock.Now()), "")
		if tr := granted(t)(resp, body); tr.RefreshToken == "" {
			t.Fatal("no refresh token in the body of a sign-in that did not ask for the cookie")
		}
	})
	t.Run("the device cookie comes only after every factor", func(t *testing.T) {
		resp, _ := e.rawLogin(u.Username, userPassword)
		for _, ck := range resp.Cookies() {
			if ck.Name == shared.CookieDevice {
				t.Fatal("the password alone earned a device cookie")
			}
		}
	})
}

func TestMFAClientCallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, c := e.newUser(shared.RoleViewer)
	secret, _ := e.enrol(c)

	fresh := e.client()
	_, err := fresh.Login(bg, u.Username, userPassword)
	var mfa *client.MFARequiredError
	if !errors.As(err, &mfa) || mfa.Token == "" {
		t.Fatalf("login: %v, want *client.MFARequiredError", err)
	}
	if _, err := fresh.LoginMFA(bg, mfa.Token, client.Code{OTP: code(t, secret, e.clock.Now())}); err != nil {
		t.Fatalf("LoginMFA: %v", err)
	}
	e.clock.Advance(30 * time.Second)

	auto := e.client()
	auto.SecondFactor = func(ctx context.Context) (client.Code, error) {
		return client.Code{OTP: code(t, secret, e.clock.Now())}, nil
	}
	if _, err := auto.Login(bg, u.Username, userPassword); err != nil {
		t.Fatalf("Login with SecondFactor: %v", err)
	}
}

func TestMFAPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy          string
		viewer, manager bool // must enrol
	}{
		{"off", false, false},
		{"optional", false, false},
		{"admins", false, true},
		{"all", true, true},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "GATEHOUSE_MFA="+tc.policy)
			if tc.policy != "off" {
				e.enrolAdmin() // under admins and all, the admin must enrol first
			}
			for _, role := range []shared.Role{shared.RoleViewer, shared.RoleManager} {
				must := tc.viewer
				if role == shared.RoleManager {
					must = tc.manager
				}
				_, c := e.newUser(role)
				// Who-am-I says what the session must do, so that a client
				// leads the user there without trying anything else first.
				if me, err := c.Me(bg); err != nil || me.MustEnrollMFA != must || me.MFAOff != (tc.policy == "off") || me.MFAMandatory != must {
					t.Fatalf("%s under %s: who-am-I %+v, %v; want must_enroll_mfa %v, mfa_off %v, mfa_mandatory %v", role, tc.policy, me, err, must, tc.policy == "off", must)
				}
				if tc.policy == "off" {
					if _, err := c.StartTOTP(bg); err == nil {
						t.Fatalf("%s set up a factor under off", role)
					}
					if u, err := e.admin().User(bg, mustMe(t, c).ID); err != nil || u.MFAOff {
						t.Fatalf("mfa_off outside who-am-I: %+v, %v", u, err)
					}
				}
				_, err := c.Users(bg, client.UserQuery{})
				if !must {
					if err != nil {
						t.Fatalf("%s under %s: %v", role, tc.policy, err)
					}
					continue
				}
				if !errors.Is(err, client.ErrEnrollmentRequired) {
					t.Fatalf("%s under %s: %v, want mfa_enrollment_required", role, tc.policy, err)
				}
				// What the restricted session may still do.
				if _, err := c.Me(bg); err != nil {
					t.Fatalf("who-am-I while enrolling: %v", err)
				}
				if err := c.Check(bg); err != nil {
					t.Fatalf("check while enrolling: %v", err)
				}
				e.enrol(c)
				if _, err := c.Users(bg, client.UserQuery{}); err != nil {
					t.Fatalf("%s after enrolling: %v", role, err)
				}
				if me, err := c.Me(bg); err != nil || me.MustEnrollMFA || !me.MFAMandatory {
					t.Fatalf("%s after enrolling: who-am-I %+v, %v; want no must_enroll_mfa, mfa_mandatory", role, me, err)
				}
				// A factor the policy requires stays: turning it off would
				// let the password alone enrol a new one. Moving it to a new
				// phone (re-enrolling) is the way.
				err = c.RemoveMFA(bg)
				wantAPIError(t, err, http.StatusConflict, shared.CodeConflict)
				if me := mustMe(t, c); !me.MFA {
					t.Fatalf("%s under %s: the factor was removed although refused", role, tc.policy)
				}
			}
			if tc.policy == "off" {
				_, c := e.newUser(shared.RoleViewer)
				_, err := c.StartTOTP(bg)
				wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
			}
		})
	}
	t.Run("tightening the policy restricts live sessions from their next request", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		e := newEnv(t, "GATEHOUSE_DATA_DIR="+dir, "GATEHOUSE_MFA=optional")
		_, c := e.newUser(shared.RoleManager)
		tok := c.Tokens.Token()
		if s := e.status("GET", shared.PathUsers, tok); s != http.StatusOK {
			t.Fatalf("before: %d", s)
		}
		e.srv.Close()
		e.sys.Close()
		tight := newEnvAt(t, e.clock, "GATEHOUSE_DATA_DIR="+dir, "GATEHOUSE_MFA=admins")
		resp, body := tight.do("GET", shared.PathUsers, tok, nil, nil)
		wantEnvelope(t, resp, body, http.StatusForbidden, shared.CodeMFAEnrollmentRequired)
		resp, body = tight.do("GET", shared.PathMe, tok, nil, nil)
		var me shared.User
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &me) != nil || !me.MustEnrollMFA {
			t.Fatalf("who-am-I of a restricted session: %d %s; want must_enroll_mfa", resp.StatusCode, body)
		}
	})
}

// stepUpActions are the actions that need a recent sign-in, each run by an
// admin client on a fresh target.
func TestStepUp(t *testing.T) {
	t.Parallel()
	onEachStore(t, stepUp)
}

func stepUp(t *testing.T, settings ...string) {
	e := newEnv(t, settings...)
	admin := e.admin()
	actions := []struct {
		name string
		do   func(c *client.Client, target int64) error
	}{
		{"a role change", func(c *client.Client, id int64) error {
			_, err := c.UpdateUser(bg, id, shared.UserUpdate{Role: ptr(shared.RoleManager)})
			return err
		}},
		{"resetting another user's password", func(c *client.Client, id int64) error {
			return c.ResetPassword(bg, id, shared.PasswordReset{NewPassword: "reset-by-admin-1"})
		}},
		{"deleting a user", func(c *client.Client, id int64) error { return c.DeleteUser(bg, id) }},
		{"resetting another user's MFA", func(c *client.Client, id int64) error { return c.ResetMFA(bg, id) }},
		{"lifting a lockout", func(c *client.Client, id int64) error { return c.LiftLockout(bg, id) }},
	}
	e.clock.Advance(6 * time.Minute) // the admin's sign-in is now too old
	for _, a := range actions {
		t.Run(a.name+" needs a recent sign-in", func(t *testing.T) {
			target, _ := e.newUser(shared.RoleViewer)
			err := a.do(admin, target.ID)
			var su *client.StepUpRequiredError
			if !errors.As(err, &su) || su.MaxAge != 5*time.Minute {
				t.Fatalf("%s with a stale sign-in: %v, want insufficient_user_authentication with max_age 300", a.name, err)
			}
			resp, _ := e.do("DELETE", userPath(target.ID), admin.Tokens.Token(), nil, nil)
			if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_user_authentication"`) || !strings.Contains(h, "max_age=300") {
				t.Fatalf("WWW-Authenticate %q", h)
			}
			// The callback re-authenticates and the action goes through.
			c := e.admin()
			e.clock.Advance(6 * time.Minute)
			asked := 0
			c.Reauthenticate = func(ctx context.Context, maxAge time.Duration) (string, string, error) {
				asked++
				return adminPass, "", nil
			}
			if err := a.do(c, target.ID); err != nil || asked != 1 {
				t.Fatalf("after re-authentication: %v (asked %d times)", err, asked)
			}
		})
	}
	t.Run("auth_time survives sliding and refresh", func(t *testing.T) {
		login := granted(t)(e.rawLogin(adminName, adminPass))
		before := claimsOf(t, login.AccessToken)
		e.clock.Advance(10 * time.Minute)
		form := url.Values{"password": {adminPass}}
		resp, body := e.do("POST", shared.PathReauth, login.AccessToken, formHeader, strings.NewReader(form.Encode()))
		reauthed := granted(t)(resp, body)
		at := authTime(t, reauthed.AccessToken)
		if !at.After(authTime(t, login.AccessToken)) || before.sid != claimsOf(t, reauthed.AccessToken).sid {
			t.Fatal("reauth did not move auth_time on the same session")
		}
		e.clock.Advance(2 * time.Minute)
		resp, _ = e.do("GET", shared.PathAuthCheck, login.AccessToken, nil, nil) // the old token slides
		slid := resp.Header.Get(shared.HeaderRefreshToken)
		if slid == "" || !authTime(t, slid).Equal(at) {
			t.Fatalf("a slid token carries auth_time %v, want the re-authentication's %v", authTime(t, slid), at)
		}
		refreshed := granted(t)(e.refreshWith(login.RefreshToken))
		if !authTime(t, refreshed.AccessToken).Equal(at) {
			t.Fatal("a refreshed token lost the re-authentication's auth_time")
		}
	})
	t.Run("a wrong password at re-authentication is refused", func(t *testing.T) {
		c := e.admin()
		err := c.Reauth(bg, "not-the-password", "")
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "password")
	})
	t.Run("with a factor, re-authentication needs a code", func(t *testing.T) {
		_, c := e.newUser(shared.RoleManager)
		secret, _ := e.enrol(c)
		me, _ := c.Me(bg)
		err := c.Reauth(bg, userPassword, "")
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "otp")
		if err := c.Reauth(bg, userPassword, code(t, secret, e.clock.Now())); err != nil {
			t.Fatalf("reauth with a code: %v", err)
		}
		if amr := amrOf(t, c.Tokens.Token()); strings.Join(amr, " ") != "pwd otp" {
			t.Fatalf("amr %v after a re-authentication with a code, of %s", amr, me.Username)
		}
	})
	t.Run("without the app, a recovery code re-authenticates once", func(t *testing.T) {
		_, c := e.newUser(shared.RoleManager)
		_, codes := e.enrol(c)
		e.clock.Advance(6 * time.Minute)
		before := authTime(t, c.Tokens.Token())
		left, err := c.ReauthRecovery(bg, userPassword, codes[0])
		if err != nil || left != len(codes)-1 {
			t.Fatalf("reauth with a recovery code: %d left, %v; want %d", left, err, len(codes)-1)
		}
		if !authTime(t, c.Tokens.Token()).After(before) {
			t.Fatal("a recovery code did not move auth_time")
		}
		if _, err := c.NewRecoveryCodes(bg); err != nil {
			t.Fatalf("a step-up action after re-authenticating with a recovery code: %v", err)
		}
		e.clock.Advance(6 * time.Minute)
		_, err = c.ReauthRecovery(bg, userPassword, codes[1]) // replaced by the new ones
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "recovery_code")
		_, err = c.ReauthRecovery(bg, "not-the-password", codes[2])
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "password")
		form := url.Values{"password": {userPassword}, "otp": {"123456"}, "recovery_code": {codes[2]}}
		resp, body := e.do("POST", shared.PathReauth, c.Tokens.Token(), formHeader, strings.NewReader(form.Encode()))
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("both a code and a recovery code: %d %s", resp.StatusCode, body)
		}
		who, _ := c.Me(bg)
		var used []string
		for _, ev := range e.audit(shared.ActionRecoveryUsed) {
			if ev.Actor == who.Username {
				used = append(used, ev.Detail)
			}
		}
		if strings.Join(used, ",") != "9 left" {
			t.Fatalf("recovery-code-used audit events %q, want one saying 9 left", used)
		}
	})
	t.Run("without a factor, a recovery code is not needed", func(t *testing.T) {
		_, c := e.newUser(shared.RoleViewer)
		if left, err := c.ReauthRecovery(bg, userPassword, "aaaa-bbbb-cccc-dddd"); err != nil || left != 0 {
			t.Fatalf("reauth of an account without a factor, with a recovery code: %d, %v", left, err)
		}
	})
	t.Run("a recovery code is spent once at re-authentication", func(t *testing.T) {
		_, c := e.newUser(shared.RoleManager)
		_, codes := e.enrol(c)
		if _, err := c.ReauthRecovery(bg, userPassword, codes[3]); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, err := c.ReauthRecovery(bg, userPassword, codes[3])
		wantField(t, *wantAPIError(t, err, http.StatusUnauthorized, shared.CodeInvalidGrant), "recovery_code")
	})
	t.Run("removing and re-enrolling one's own factor need a recent sign-in", func(t *testing.T) {
		_, c := e.newUser(shared.RoleViewer)
		e.enrol(c)
		e.clock.Advance(6 * time.Minute)
		var su *client.StepUpRequiredError
		if _, err := c.StartTOTP(bg); !errors.As(err, &su) {
			t.Fatalf("re-enrolling with a stale sign-in: %v", err)
		}
		if err := c.RemoveMFA(bg); !errors.As(err, &su) {
			t.Fatalf("removing with a stale sign-in: %v", err)
		}
		if _, err := c.NewRecoveryCodes(bg); !errors.As(err, &su) {
			t.Fatalf("new recovery codes with a stale sign-in: %v", err)
		}
		if err := c.Reauth(bg, userPassword, ""); err == nil {
			t.Fatal("reauth without the code of an enrolled user succeeded")
		}
	})
}

// mustMe is who-am-I of c.
func mustMe(t *testing.T, c *client.Client) *shared.User {
	t.Helper()
	me, err := c.Me(bg)
	if err != nil {
		t.Fatal(err)
	}
	return me
}

func authTime(t *testing.T, tok string) time.Time {
	t.Helper()
	var c struct {
		AuthTime float64 `json:"auth_time"`
	}
	decodePayload(t, tok, &c)
	return time.Unix(int64(c.AuthTime), 0)
}

func amrOf(t *testing.T, tok string) []string {
	t.Helper()
	var c struct {
		AMR []string `json:"amr"`
	}
	decodePayload(t, tok, &c)
	return c.AMR
}

func TestForcedPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	u, _ := e.newUser(shared.RoleManager)
	if err := admin.ResetPassword(bg, u.ID, shared.PasswordReset{NewPassword: "temporary-pass-1"}); err != nil {
		t.Fatal(err)
	}
	c := e.login(u.Username, "temporary-pass-1")
	_, err := c.Users(bg, client.UserQuery{})
	if !errors.Is(err, client.ErrPasswordChangeRequired) {
		t.Fatalf("a user whose password was reset: %v, want password_change_required", err)
	}
	me, err := c.Me(bg)
	if err != nil || !me.MustChangePassword {
		t.Fatalf("who-am-I: %+v, %v", me, err)
	}
	if err := c.ChangePassword(bg, shared.PasswordChange{CurrentPassword: "temporary-pass-1", NewPassword: "my-own-password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users(bg, client.UserQuery{}); err != nil {
		t.Fatalf("after the change: %v", err)
	}
	t.Run("a new user's password, set by an admin, must be changed at the first sign-in unless the admin said not", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			must *bool
			want bool
		}{{"said nothing", nil, true}, {"said true", ptr(true), true}, {"said false", ptr(false), false}} {
			name := fmt.Sprintf("new-%d", e.users.Add(1))
			u, err := admin.CreateUser(bg, shared.UserCreate{Username: name, Password: "set-by-admin-1", Role: shared.RoleViewer, MustChangePassword: tt.must})
			if err != nil {
				t.Fatal(err)
			}
			c := e.login(name, "set-by-admin-1")
			_, err = c.Users(bg, client.UserQuery{})
			if forced := errors.Is(err, client.ErrPasswordChangeRequired); forced != tt.want || u.MustChangePassword != tt.want {
				t.Fatalf("%s: created %+v; a first call answered %v; want forced %v", tt.name, u, err, tt.want)
			}
		}
	})
	t.Run("an admin resetting their own password is not forced", func(t *testing.T) {
		me, _ := admin.Me(bg)
		if err := admin.ResetPassword(bg, me.ID, shared.PasswordReset{NewPassword: adminPass + "-2"}); err != nil {
			t.Fatal(err)
		}
		c := e.login(adminName, adminPass+"-2")
		if _, err := c.Users(bg, client.UserQuery{}); err != nil {
			t.Fatalf("own reset: %v", err)
		}
	})
}

func TestAdminResetsMFAAndLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=2")
	admin := e.admin()
	_, manager := e.newUser(shared.RoleManager)
	target, tc := e.newUser(shared.RoleViewer)
	e.enrol(tc)
	higher, _ := e.newUser(shared.RoleAdmin)

	t.Run("a manager resets a viewer's MFA; the viewer is signed out and signs in with the password alone", func(t *testing.T) {
		if err := manager.ResetMFA(bg, target.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.Me(bg); err == nil {
			t.Fatal("the viewer's session survived the reset")
		}
		e.login(target.Username, userPassword)
	})
	t.Run("nobody resets the MFA of a higher role", func(t *testing.T) {
		err := manager.ResetMFA(bg, higher.ID)
		wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
	})
	t.Run("a manager lifts a viewer's lockout, not an admin's", func(t *testing.T) {
		for range 2 {
			e.rawLogin(target.Username, "wrong-password")
		}
		resp, body := e.rawLogin(target.Username, userPassword)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		if err := manager.LiftLockout(bg, target.ID); err != nil {
			t.Fatal(err)
		}
		granted(t)(e.rawLogin(target.Username, userPassword))
		if ev := e.audit(shared.ActionLockoutLift); len(ev) != 1 || ev[0].Detail != "lifted: account" {
			t.Fatalf("lockout-lift events %+v; want one saying \"lifted: account\"", ev)
		}
		err := manager.LiftLockout(bg, higher.ID)
		wantAPIError(t, err, http.StatusForbidden, shared.CodeInsufficientScope)
		if n := len(e.audit(shared.ActionLockoutLift)); n != 2 {
			t.Fatalf("%d lockout-lift events (one ok, one denied), want 2", n)
		}
	})
	t.Run("lifting reaches the lockout of the user's own browser, and the audit says what was lifted", func(t *testing.T) {
		// The browser the user signed in with before carries a device
		// cookie, and its failures lock that device only: the lockout an
		// administrator is asked to lift is usually this one.
		u, _ := e.newUser(shared.RoleViewer)
		browser := e.client()
		if _, err := browser.Login(bg, u.Username, userPassword); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := browser.Login(bg, u.Username, "wrong-password"); err == nil {
				t.Fatal("a wrong password signed in")
			}
		}
		_, err := browser.Login(bg, u.Username, userPassword)
		wantAPIError(t, err, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		if err := manager.LiftLockout(bg, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := browser.Login(bg, u.Username, userPassword); err != nil {
			t.Fatalf("the browser is still locked out after the lift: %v", err)
		}
		if ev := e.audit(shared.ActionLockoutLift); len(ev) == 0 || ev[len(ev)-1].Detail != "lifted: 1 device" {
			t.Fatalf("lockout-lift events %+v; want the newest to say \"lifted: 1 device\"", ev)
		}
		// Nothing locked: the audit says so.
		if err := manager.LiftLockout(bg, u.ID); err != nil {
			t.Fatal(err)
		}
		if ev := e.audit(shared.ActionLockoutLift); ev[len(ev)-1].Detail != "nothing was locked" {
			t.Fatalf("a lift with nothing locked audited as %q", ev[len(ev)-1].Detail)
		}
	})
	_ = admin
}

// Secrets and recovery codes never reach the database file in clear, and
// rotating the signing keys leaves MFA working.
func TestMFASecretsAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("k1 "+strings.Repeat("1", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "GATEHOUSE_DATA_DIR="+dir, "GATEHOUSE_JWT_SECRET=", "GATEHOUSE_JWT_KEYS_FILE="+keys)
	u, c := e.newUser(shared.RoleViewer)
	secret, codes := e.enrol(c)
	if err := e.sys.Auth.FlushSeen(bg); err != nil {
		t.Fatal(err)
	}
	var db []byte
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("no database file read")
	}
	for _, s := range append([]string{secret}, codes...) {
		for _, form := range []string{s, strings.ToUpper(s), strings.ReplaceAll(strings.ToUpper(s), "-", "")} {
			if bytes.Contains(db, []byte(form)) {
				t.Fatalf("%q is in the database file in clear", form)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "data-key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("data-key: %v, %v; want a 0600 file", st, err)
	}

	if err := os.WriteFile(keys, []byte("k2 "+strings.Repeat("2", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.sys.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	tok := e.mfaLogin(u.Username, userPassword)
	granted(t)(e.mfaGrant(tok, code(t, secret, e.clock.Now()), ""))
}

// decodePayload decodes the claims of a JWT without verifying it.
func decodePayload(t *testing.T, tok string, v any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// The first code of an enrolment is a guess like any other: a session
// (perhaps a stolen access token) confirming a set-up it did not see — one
// its owner started and left — is throttled per account, as codes at
// sign-in are, and cannot try the million codes.
func TestEnrolmentCodesAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=3")
	_, c := e.newUser(shared.RoleViewer)
	en, err := c.StartTOTP(bg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := c.ConfirmTOTP(bg, wrongTOTP(t, en.Secret, e.clock.Now()))
		wantAPIError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
	}
	_, err = c.ConfirmTOTP(bg, code(t, en.Secret, e.clock.Now()))
	wantAPIError(t, err, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	if me := mustMe(t, c); me.MFA {
		t.Fatal("a throttled confirmation enrolled the factor")
	}
	// The lockout passes; the right code then enrols, and only one guess
	// was counted per try (a right one gives its count back).
	e.clock.Advance(time.Hour)
	if _, err := c.ConfirmTOTP(bg, code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

// wrongTOTP is a six-digit code that is none of the codes the window
// around at accepts.
func wrongTOTP(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	taken := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		taken[code(t, secret, at.Add(d))] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", i); !taken[c] {
			return c
		}
	}
}
