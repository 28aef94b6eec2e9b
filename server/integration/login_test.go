package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/shared"
)

func TestLoginAnswersTheTokenResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.sys.Config
	resp, body := e.rawLogin(adminName, adminPass)
	tr := grant(t, resp, body)

	t.Run("the body has exactly the RFC 6749 §5.1 fields", func(t *testing.T) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("no %q in %s", k, body)
			}
		}
		if len(keys) != 5 {
			t.Errorf("%d keys in %s, want 5", len(keys), body)
		}
		if tr.ExpiresIn != int64(cfg.AccessTTL/time.Second) {
			t.Errorf("expires_in %d, want %d", tr.ExpiresIn, int64(cfg.AccessTTL/time.Second))
		}
		// The refresh token never outlives the session: 7 days capped by 12 h.
		if want := int64(min(cfg.RefreshTTL, cfg.SessionMax) / time.Second); tr.RefreshExpiresIn != want {
			t.Errorf("refresh_expires_in %d, want %d", tr.RefreshExpiresIn, want)
		}
		if len(tr.RefreshToken) < 43 { // 256 bits in unpadded base64url
			t.Errorf("refresh token %q is shorter than 256 bits", tr.RefreshToken)
		}
	})

	t.Run("the answer must not be cached", func(t *testing.T) {
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
	})

	t.Run("the access token is an at+jwt for the session, valid for the access TTL", func(t *testing.T) {
		ti := claimsOf(t, tr.AccessToken)
		if ti.header["typ"] != auth.TokenType || ti.header["alg"] != "HS256" || ti.header["kid"] == nil {
			t.Errorf("header %v, want typ at+jwt, alg HS256 and a kid", ti.header)
		}
		if got := ti.exp.Sub(ti.iat); got != cfg.AccessTTL {
			t.Errorf("exp - iat = %v, want %v", got, cfg.AccessTTL)
		}
		if !ti.iat.Equal(e.clock.Now()) {
			t.Errorf("iat %v, want the server clock's %v", ti.iat, e.clock.Now())
		}
		if r, b := e.do("GET", shared.PathAuthCheck, tr.AccessToken, nil, nil); r.StatusCode != http.StatusNoContent {
			t.Errorf("the new token is refused: %d %s", r.StatusCode, b)
		}
	})

	t.Run("the refresh cookie is HttpOnly, SameSite=Strict and scoped to /api/token", func(t *testing.T) {
		c := refreshCookie(resp)
		if c == nil {
			t.Fatalf("no %s cookie in %q", shared.CookieRefresh, resp.Header.Values("Set-Cookie"))
		}
		if c.Value != tr.RefreshToken {
			t.Errorf("cookie value differs from the body's refresh_token")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != shared.CookiePath {
			t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=%s", c.Raw, shared.CookiePath)
		}
		if c.Secure {
			t.Errorf("cookie %q is Secure on plain HTTP with cookie-secure=auto", c.Raw)
		}
		if int64(c.MaxAge) != tr.RefreshExpiresIn {
			t.Errorf("cookie Max-Age %d, want refresh_expires_in %d", c.MaxAge, tr.RefreshExpiresIn)
		}
	})

	t.Run("grant_type may be left out", func(t *testing.T) {
		form := url.Values{"username": {adminName}, "password": {adminPass}}
		resp, body := e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
		grant(t, resp, body)
	})

	t.Run("the client signs in and uses the token", func(t *testing.T) {
		c := e.client()
		got, err := c.Login(bg, adminName, adminPass)
		if err != nil {
			t.Fatal(err)
		}
		if c.Tokens.Token() != got.AccessToken {
			t.Fatal("the client did not store the access token")
		}
		if e.jarRefresh(c) != got.RefreshToken {
			t.Fatal("the cookie jar does not hold the refresh cookie")
		}
		me, err := c.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		if me.Username != adminName || me.Role != shared.RoleAdmin {
			t.Fatalf("me = %+v", me)
		}
	})
}

func TestLoginCookieIsSecureWhenConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_COOKIE_SECURE=true")
	resp, body := e.rawLogin(adminName, adminPass)
	grant(t, resp, body)
	if c := refreshCookie(resp); c == nil || !c.Secure {
		t.Fatalf("Set-Cookie %q, want a Secure refresh cookie", resp.Header.Values("Set-Cookie"))
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	disabled, _ := e.newUser(shared.RoleViewer)
	if _, err := e.admin().UpdateUser(bg, disabled.ID, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	wrongPwResp, wrongPwBody := e.rawLogin(adminName, "not-the-password")
	unknownResp, unknownBody := e.rawLogin("nobody-here", "not-the-password")

	tests := []struct {
		name     string
		username string
		password string
		status   int
		code     string
	}{
		{"a wrong password is 401 invalid_grant", adminName, "not-the-password", http.StatusUnauthorized, shared.CodeInvalidGrant},
		{"an unknown user is 401 invalid_grant", "nobody-here", "whatever-pass", http.StatusUnauthorized, shared.CodeInvalidGrant},
		{"a disabled user with the right password is 403 inactive_user", disabled.Username, userPassword, http.StatusForbidden, shared.CodeInactiveUser},
		{"a disabled user with a wrong password is 401 invalid_grant, revealing nothing", disabled.Username, "not-the-password", http.StatusUnauthorized, shared.CodeInvalidGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.rawLogin(tt.username, tt.password)
			wantEnvelope(t, resp, body, tt.status, tt.code)
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q on a failed grant, want no-store", resp.Header.Get("Cache-Control"))
			}
			if refreshCookie(resp) != nil {
				t.Errorf("a failed sign-in set a refresh cookie")
			}
			// The same through the client, which keeps no token.
			c := e.client()
			_, err := c.Login(bg, tt.username, tt.password)
			wantAPIError(t, err, tt.status, tt.code)
			if c.Tokens.Token() != "" {
				t.Errorf("the client holds a token after a failed sign-in")
			}
		})
	}

	t.Run("a wrong password and an unknown user answer exactly alike", func(t *testing.T) {
		if wrongPwResp.StatusCode != unknownResp.StatusCode || !bytes.Equal(wrongPwBody, unknownBody) {
			t.Fatalf("wrong password: %d %s; unknown user: %d %s", wrongPwResp.StatusCode, wrongPwBody, unknownResp.StatusCode, unknownBody)
		}
		if a, b := wrongPwResp.Header.Get("WWW-Authenticate"), unknownResp.Header.Get("WWW-Authenticate"); a != b {
			t.Fatalf("WWW-Authenticate %q vs %q", a, b)
		}
	})

	t.Run("missing credentials are 400 invalid_request", func(t *testing.T) {
		form := url.Values{"username": {adminName}}
		resp, body := e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)
	})

	t.Run("an unknown grant type is 400 unsupported_grant_type", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}}
		resp, body := e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeUnsupportedGrant)
	})
}

func TestLoginIsThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=3")
	other, _ := e.newUser(shared.RoleViewer)

	for i := range 3 {
		resp, body := e.rawLogin(adminName, "wrong-password-"+strconv.Itoa(i))
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidGrant)
	}

	var retry int
	t.Run("the next attempt is 429 too_many_attempts with Retry-After, even with the right password", func(t *testing.T) {
		resp, body := e.rawLogin(adminName, adminPass)
		wantEnvelope(t, resp, body, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
		var err error
		retry, err = strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 60 {
			t.Fatalf("Retry-After %q, want whole seconds in [1, 60]", resp.Header.Get("Retry-After"))
		}
		_, err = e.client().Login(bg, adminName, adminPass)
		wantAPIError(t, err, http.StatusTooManyRequests, shared.CodeTooManyAttempts)
	})

	t.Run("another username is not throttled", func(t *testing.T) {
		e.login(other.Username, userPassword)
	})

	t.Run("after Retry-After the right password works again", func(t *testing.T) {
		if retry == 0 {
			t.Skip("no Retry-After")
		}
		e.clock.Advance(time.Duration(retry) * time.Second)
		resp, body := e.rawLogin(adminName, adminPass)
		grant(t, resp, body)
	})
}
