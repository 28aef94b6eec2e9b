package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_REFRESH_GRACE=10s")
	resp, body := e.rawLogin(adminName, adminPass)
	login := grant(t, resp, body)
	sid := claimsOf(t, login.AccessToken).sid
	e.clock.Advance(time.Second) // so that new access tokens differ from the sign-in one

	var rotated shared.TokenResponse
	t.Run("a refresh rotates the refresh token", func(t *testing.T) {
		resp, body := e.refreshWith(login.RefreshToken)
		rotated = grant(t, resp, body)
		if rotated.RefreshToken == "" || rotated.RefreshToken == login.RefreshToken {
			t.Fatalf("refresh_token %q, want a new one", rotated.RefreshToken)
		}
		if rotated.RefreshExpiresIn <= 0 {
			t.Fatalf("refresh_expires_in %d", rotated.RefreshExpiresIn)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		if c := refreshCookie(resp); c == nil || c.Value != rotated.RefreshToken || !c.HttpOnly || c.Path != shared.CookiePath {
			t.Fatalf("Set-Cookie %q, want the new refresh token", resp.Header.Values("Set-Cookie"))
		}
		if ti := claimsOf(t, rotated.AccessToken); ti.sid != sid || rotated.AccessToken == login.AccessToken {
			t.Fatalf("new access token for session %s, want a new token for %s", ti.sid, sid)
		}
	})

	t.Run("the previous refresh token within the grace gets an access token without rotation", func(t *testing.T) {
		e.clock.Advance(5 * time.Second)
		resp, body := e.refreshWith(login.RefreshToken)
		tr := grant(t, resp, body)
		var keys map[string]any
		_ = json.Unmarshal(body, &keys)
		if _, ok := keys["refresh_token"]; ok {
			t.Fatalf("body %s carries a refresh_token", body)
		}
		if _, ok := keys["refresh_expires_in"]; ok {
			t.Fatalf("body %s carries refresh_expires_in", body)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("Set-Cookie %q on a refresh that did not rotate", sc)
		}
		if claimsOf(t, tr.AccessToken).sid != sid {
			t.Fatal("access token of another session")
		}
		if r, b := e.do("GET", shared.PathAuthCheck, tr.AccessToken, nil, nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("the grace-window token is refused: %d %s", r.StatusCode, b)
		}
	})

	t.Run("the previous refresh token after the grace is reuse: 400 invalid_grant and the session revoked", func(t *testing.T) {
		e.clock.Advance(6 * time.Second) // 11 s after the rotation
		resp, body := e.refreshWith(login.RefreshToken)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)

		r, b := e.do("GET", shared.PathAuthCheck, rotated.AccessToken, nil, nil)
		wantTokenError(t, r, b, true)
		resp, body = e.refreshWith(rotated.RefreshToken)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
	})

	t.Run("the reuse is audited as refresh_reuse", func(t *testing.T) {
		page, err := e.admin().Audit(bg, client.AuditQuery{Action: shared.ActionRefreshReuse})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 || len(page.Items) != 1 {
			t.Fatalf("%d refresh_reuse events, want 1: %+v", page.Total, page.Items)
		}
		ev := page.Items[0]
		if ev.Target != "session "+sid || ev.Actor != adminName || ev.Outcome != shared.OutcomeDenied {
			t.Fatalf("event %+v, want the session %s of %s, denied", ev, sid, adminName)
		}
		sessions, err := e.admin().Sessions(bg, client.SessionQuery{Active: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, s := range sessions.Items {
			if s.ID == sid {
				found = s.RevokedAt != nil && s.RevokedReason == shared.RevokedRefreshReuse
			}
		}
		if !found {
			t.Fatalf("session %s is not listed as revoked for refresh reuse: %+v", sid, sessions.Items)
		}
	})
}

func TestRefreshGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		send func(refresh string) (*http.Response, []byte)
		// inBody: the new refresh token is in the JSON body; a refresh
		// authenticated by the cookie answers it in the cookie only, so
		// that no page script ever sees one.
		inBody bool
	}{
		{"POST /api/token with grant_type=refresh_token rotates, in the body and the cookie", func(r string) (*http.Response, []byte) {
			form := url.Values{"grant_type": {shared.GrantRefreshToken}, "refresh_token": {r}}
			return e.do("POST", shared.PathToken, "", formHeader, strings.NewReader(form.Encode()))
		}, true},
		{"POST /api/token/refresh with the form field rotates, in the body and the cookie", func(r string) (*http.Response, []byte) {
			return e.refreshWith(r)
		}, true},
		{"POST /api/token/refresh with the cookie and no body rotates, in the cookie only", func(r string) (*http.Response, []byte) {
			return e.do("POST", shared.PathTokenRefresh, "", http.Header{"Cookie": {shared.CookieRefresh + "=" + r}}, nil)
		}, false},
		{"POST /api/token grant_type=refresh_token with only the cookie rotates, in the cookie only", func(r string) (*http.Response, []byte) {
			form := url.Values{"grant_type": {shared.GrantRefreshToken}}
			return e.do("POST", shared.PathToken, "", withHeader(formHeader, "Cookie", shared.CookieRefresh+"="+r), strings.NewReader(form.Encode()))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.rawLogin(adminName, adminPass)
			login := grant(t, resp, body)
			resp, body = tt.send(login.RefreshToken)
			tr := grant(t, resp, body)
			c := refreshCookie(resp)
			if c == nil || c.Value == "" || c.Value == login.RefreshToken || !c.HttpOnly {
				t.Fatalf("no rotated HttpOnly refresh cookie: %v", resp.Header["Set-Cookie"])
			}
			switch {
			case tt.inBody && tr.RefreshToken != c.Value:
				t.Fatalf("body refresh token %q, want the cookie's %q", tr.RefreshToken, c.Value)
			case !tt.inBody && (tr.RefreshToken != "" || strings.Contains(string(body), "refresh_token")):
				t.Fatalf("a refresh authenticated by the cookie answered a refresh token in the body: %s", body)
			}
		})
	}

	bad := []struct {
		name  string
		token string
	}{
		{"an unknown refresh token", "bm90LWEtcmVmcmVzaC10b2tlbi1hdC1hbGwtbm90LWF0LWFsbA"},
		{"an access token as refresh token", e.login(adminName, adminPass).Tokens.Token()},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is 400 invalid_grant", func(t *testing.T) {
			resp, body := e.refreshWith(tt.token)
			wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		})
	}
	// RFC 6749 §5.2: a missing parameter is invalid_request, not a bad grant.
	t.Run("no refresh token at all is 400 invalid_request", func(t *testing.T) {
		resp, body := e.refreshWith("")
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidRequest)
	})

	t.Run("a bad refresh cookie is 400 invalid_grant and cleared", func(t *testing.T) {
		resp, body := e.do("POST", shared.PathTokenRefresh, "", http.Header{"Cookie": {shared.CookieRefresh + "=forged"}}, nil)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
		if c := refreshCookie(resp); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Fatalf("Set-Cookie %q, want the refresh cookie cleared", resp.Header.Values("Set-Cookie"))
		}
	})

	t.Run("a refresh token past its lifetime is 400 invalid_grant", func(t *testing.T) {
		e2 := newEnv(t, "GATEHOUSE_REFRESH_TTL=1h", "GATEHOUSE_SESSION_MAX=12h")
		resp, body := e2.rawLogin(adminName, adminPass)
		login := grant(t, resp, body)
		if login.RefreshExpiresIn != 3600 {
			t.Fatalf("refresh_expires_in %d, want 3600", login.RefreshExpiresIn)
		}
		e2.clock.Advance(time.Hour)
		resp, body = e2.refreshWith(login.RefreshToken)
		wantEnvelope(t, resp, body, http.StatusBadRequest, shared.CodeInvalidGrant)
	})

	t.Run("the client refreshes through its cookie jar and rotates the cookie", func(t *testing.T) {
		c := e.login(adminName, adminPass)
		before, cookie := c.Tokens.Token(), e.jarRefresh(c)
		e.clock.Advance(time.Second)
		if err := c.Refresh(bg); err != nil {
			t.Fatal(err)
		}
		if c.Tokens.Token() == before || e.jarRefresh(c) == cookie || e.jarRefresh(c) == "" {
			t.Fatal("the client's token or refresh cookie did not change")
		}
		if err := c.Check(bg); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the client recovers from an expired access token through the cookie", func(t *testing.T) {
		c := e.login(adminName, adminPass)
		before := c.Tokens.Token()
		e.clock.Advance(e.sys.Config.AccessTTL + time.Minute)
		me, err := c.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		if me.Username != adminName || c.Tokens.Token() == before {
			t.Fatalf("me %+v; token changed = %v", me, c.Tokens.Token() != before)
		}
	})
}

func TestConcurrentRefreshRotatesOnce(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, store ...string) {
		for round := range 3 {
			t.Run(fmt.Sprintf("round %d", round+1), func(t *testing.T) { concurrentRefresh(t, store...) })
		}
	})
}

// concurrentRefresh sends one refresh token 50 times at once: exactly one
// answer rotates, the others get the grace answer, nobody gets a 5xx.
func concurrentRefresh(t *testing.T, settings ...string) {
	const n = 50
	e := newEnv(t, settings...)
	resp, body := e.rawLogin(adminName, adminPass)
	login := grant(t, resp, body)
	sid := claimsOf(t, login.AccessToken).sid

	hc := &http.Client{Timeout: 30 * time.Second, Transport: e.spec.transport(&http.Transport{MaxIdleConnsPerHost: n})}
	defer hc.CloseIdleConnections()
	form := []byte(url.Values{"refresh_token": {login.RefreshToken}}.Encode())
	results := make([]rawResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = send(hc, "POST", e.srv.URL+shared.PathTokenRefresh, "", formHeader, form)
		})
	}
	close(start)
	wg.Wait()

	var rotations int
	var newRefresh string
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		if r.status >= 500 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s, want 200 (the others are inside the grace)", i, r.status, r.body)
		}
		var tr shared.TokenResponse
		if err := json.Unmarshal(r.body, &tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("request %d: body %s", i, r.body)
		}
		if claimsOf(t, tr.AccessToken).sid != sid {
			t.Fatalf("request %d: token of another session", i)
		}
		if tr.RefreshToken != "" {
			rotations++
			newRefresh = tr.RefreshToken
			if ck := r.header.Values("Set-Cookie"); len(ck) != 1 {
				t.Fatalf("the rotating answer sets cookies %q", ck)
			}
		} else if ck := r.header.Values("Set-Cookie"); len(ck) != 0 {
			t.Fatalf("a grace answer sets cookies %q", ck)
		}
	}
	if rotations != 1 {
		t.Fatalf("%d answers carry a refresh_token, want exactly 1", rotations)
	}

	t.Run("the session is alive afterwards", func(t *testing.T) {
		if r, b := e.do("GET", shared.PathAuthCheck, login.AccessToken, nil, nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("access token refused: %d %s", r.StatusCode, b)
		}
		resp, body := e.refreshWith(newRefresh)
		tr := grant(t, resp, body)
		if tr.RefreshToken == "" {
			t.Fatal("the winning refresh token did not rotate")
		}
		page, err := e.admin().Audit(bg, client.AuditQuery{Action: shared.ActionRefreshReuse})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 0 {
			t.Fatalf("concurrent refreshes were taken for reuse: %+v", page.Items)
		}
	})
}

// FastAPI-style: POST /api/token/refresh with only a valid bearer access
// token answers a fresh access token for the same session — capped by the
// session's end, without a refresh token or a rotation.
func TestBearerRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	login := granted(t)(e.rawLogin(adminName, adminPass))
	sid := claimsOf(t, login.AccessToken).sid
	e.clock.Advance(2 * time.Minute)
	resp, body := e.do("POST", shared.PathTokenRefresh, login.AccessToken, nil, nil)
	tr := grant(t, resp, body)
	if tr.RefreshToken != "" || refreshCookie(resp) != nil {
		t.Fatalf("a bearer refresh answered a refresh token: %s %v", body, resp.Header["Set-Cookie"])
	}
	c := claimsOf(t, tr.AccessToken)
	if c.sid != sid || !c.exp.After(claimsOf(t, login.AccessToken).exp) {
		t.Fatalf("fresh token of session %s expiring %v, want session %s and a later expiry", c.sid, c.exp, sid)
	}
	// The refresh token still works: no rotation happened.
	rotated := granted(t)(e.refreshWith(login.RefreshToken))

	t.Run("capped by the session's end", func(t *testing.T) {
		e.clock.Advance(12*time.Hour - 10*time.Minute)
		near := granted(t)(e.refreshWith(rotated.RefreshToken))
		e.clock.Advance(2 * time.Minute)
		resp, body := e.do("POST", shared.PathTokenRefresh, near.AccessToken, nil, nil)
		if got := grant(t, resp, body).ExpiresIn; got > 8*60 {
			t.Fatalf("expires_in %d s, want at most the 8 minutes left of the session", got)
		}
	})
	t.Run("an invalid or revoked bearer token is 401 invalid_token", func(t *testing.T) {
		resp, body := e.do("POST", shared.PathTokenRefresh, "not-a-token", nil, nil)
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidToken)
		c := e.admin()
		tok := c.Tokens.Token()
		if err := c.Logout(bg); err != nil {
			t.Fatal(err)
		}
		resp, body = e.do("POST", shared.PathTokenRefresh, tok, nil, nil)
		wantEnvelope(t, resp, body, http.StatusUnauthorized, shared.CodeInvalidToken)
	})
	t.Run("a refresh cookie wins over the bearer token", func(t *testing.T) {
		l := granted(t)(e.rawLogin(adminName, adminPass))
		resp, body := e.do("POST", shared.PathTokenRefresh, l.AccessToken, http.Header{"Cookie": {shared.CookieRefresh + "=" + l.RefreshToken}}, nil)
		grant(t, resp, body)
		if c := refreshCookie(resp); c == nil || c.Value == l.RefreshToken {
			t.Fatal("the cookie was not rotated")
		}
	})
}
