package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/server/auth"
	"gatehouse/shared"
)

// forge signs claims with the given method, key and header fields; a nil
// key leaves the signature empty.
func forge(t *testing.T, m jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	return s
}

// rewrite decodes a JWT segment, lets f change it, and encodes it back
// without re-signing.
func rewrite(t *testing.T, tok string, seg int, f func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[seg])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ := json.Marshal(m)
	parts[seg] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestBadAccessTokensAreRejected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := e.sys.Config
	good := e.admin()
	me, err := good.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	valid := good.Tokens.Token()
	claims, _, err := jwt.NewParser().ParseUnverified(valid, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	sid := claims.Claims.(jwt.MapClaims)["sid"].(string)
	secret := []byte(testSecret)
	kid := auth.NewKey(secret).ID
	now := e.clock.Now()

	// claims returns a complete, valid claim set for the admin's session,
	// changed by f.
	base := func(f func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": cfg.Issuer, "aud": cfg.Audience, "sub": strconv.FormatInt(me.ID, 10), "sid": sid,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if f != nil {
			f(c)
		}
		return c
	}
	hs256 := func(header map[string]any, f func(jwt.MapClaims)) string {
		h := map[string]any{"typ": auth.TokenType, "kid": kid}
		for k, v := range header {
			h[k] = v
		}
		return forge(t, jwt.SigningMethodHS256, secret, h, base(f))
	}
	// The forged control token must pass, or the table proves nothing.
	if resp, body := e.do("GET", shared.PathAuthCheck, hs256(nil, nil), nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("control token refused: %d %s", resp.StatusCode, body)
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// A second user's session, a refresh token and a deleted user's token.
	_, otherClient := e.newUser(shared.RoleViewer)
	otherTok := otherClient.Tokens.Token()
	otherClaims, _, _ := jwt.NewParser().ParseUnverified(otherTok, jwt.MapClaims{})
	otherSID := otherClaims.Claims.(jwt.MapClaims)["sid"].(string)
	refresh, err := e.client().Login(ctx, adminName, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	gone, goneClient := e.newUser(shared.RoleViewer)
	goneTok := goneClient.Tokens.Token()
	if err := good.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	loggedOut := e.admin()
	loggedOutTok := loggedOut.Tokens.Token()
	if err := loggedOut.Logout(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
	}{
		{"garbage", "not-a-token"},
		{"three empty segments", ".."},
		{"three garbage segments", "a.b.c"},
		{"many dots", "a.b.c.d.e.f.g"},
		{"two segments", strings.Join(strings.Split(valid, ".")[:2], ".")},
		{"a megabyte-ish of garbage", strings.Repeat("x", 32<<10)},
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"alg none header on a valid payload", rewrite(t, valid, 0, func(h map[string]any) { h["alg"] = "none" })},
		{"HS384 with the right secret", forge(t, jwt.SigningMethodHS384, secret, map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"HS512 with the right secret", forge(t, jwt.SigningMethodHS512, secret, map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"RS256", forge(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"ES256", forge(t, jwt.SigningMethodES256, ecKey, map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"RS256 header on an HS256 signature", rewrite(t, valid, 0, func(h map[string]any) { h["alg"] = "RS256" })},
		{"wrong key, right kid", forge(t, jwt.SigningMethodHS256, []byte("another-secret-that-is-also-32-bytes-long"), map[string]any{"typ": auth.TokenType, "kid": kid}, base(nil))},
		{"unknown kid", hs256(map[string]any{"kid": "0123456789ab"}, nil)},
		{"no kid", hs256(map[string]any{"kid": nil}, nil)},
		{"typ JWT", hs256(map[string]any{"typ": "JWT"}, nil)},
		{"an unknown critical header extension (RFC 7515 4.1.11)", hs256(map[string]any{"crit": []string{"urn:example:must-understand"}, "urn:example:must-understand": true}, nil)},
		{"an empty crit list", hs256(map[string]any{"crit": []string{}}, nil)},
		{"no typ", hs256(map[string]any{"typ": nil}, nil)},
		{"tampered payload", rewrite(t, valid, 1, func(c map[string]any) { c["sub"] = "2" })},
		{"tampered signature", valid[:len(valid)-4] + flip(valid[len(valid)-4:])},
		{"signature stripped", valid[:strings.LastIndex(valid, ".")+1]},
		{"no exp", hs256(nil, func(c jwt.MapClaims) { delete(c, "exp") })},
		{"expired beyond the leeway", hs256(nil, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })},
		{"exp not a number", hs256(nil, func(c jwt.MapClaims) { c["exp"] = "tomorrow" })},
		{"nbf in the future", hs256(nil, func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() })},
		{"iat in the future", hs256(nil, func(c jwt.MapClaims) { c["iat"] = now.Add(5 * time.Minute).Unix() })},
		{"no iat", hs256(nil, func(c jwt.MapClaims) { delete(c, "iat") })},
		{"wrong iss", hs256(nil, func(c jwt.MapClaims) { c["iss"] = "someone-else" })},
		{"no iss", hs256(nil, func(c jwt.MapClaims) { delete(c, "iss") })},
		{"wrong aud", hs256(nil, func(c jwt.MapClaims) { c["aud"] = "another-api" })},
		{"no aud", hs256(nil, func(c jwt.MapClaims) { delete(c, "aud") })},
		{"no sub", hs256(nil, func(c jwt.MapClaims) { delete(c, "sub") })},
		{"sub not a user id", hs256(nil, func(c jwt.MapClaims) { c["sub"] = "root" })},
		{"sub of another user than the session's", hs256(nil, func(c jwt.MapClaims) { c["sub"] = "999" })},
		{"no sid", hs256(nil, func(c jwt.MapClaims) { delete(c, "sid") })},
		{"unknown sid", hs256(nil, func(c jwt.MapClaims) { c["sid"] = auth.NewSessionID() })},
		{"another user's sid", hs256(nil, func(c jwt.MapClaims) { c["sid"] = otherSID })},
		{"refresh token used as access token", refresh.RefreshToken},
		{"token of a deleted user", goneTok},
		{"token of a logged-out session", loggedOutTok},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d bad tokens", len(tests))
	}
	// Only a token the server signed learns why it is refused; a forged one
	// (say, expired and wrongly signed) learns nothing.
	reasons := map[string]string{
		"expired beyond the leeway":     shared.EndedTokenExpired,
		"token of a logged-out session": shared.RevokedLogout,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do("GET", shared.PathMe, tt.token, nil, nil)
			wantTokenError(t, resp, body, true)
			wantReason(t, body, reasons[tt.name])
		})
	}
	t.Run("expired and wrongly signed", func(t *testing.T) {
		tok := forge(t, jwt.SigningMethodHS256, []byte("another-secret-that-is-also-32-bytes-long"), map[string]any{"typ": auth.TokenType, "kid": kid},
			base(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }))
		resp, body := e.do("GET", shared.PathMe, tok, nil, nil)
		wantTokenError(t, resp, body, true)
		wantReason(t, body, "")
	})

	headers := []struct{ name, value string }{
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"+adminPass))},
		{"Bearer with nothing after it", "Bearer "},
		{"a token without a scheme", valid},
	}
	for _, h := range headers {
		t.Run(h.name, func(t *testing.T) {
			resp, body := e.do("GET", shared.PathMe, "", http.Header{"Authorization": {h.value}}, nil)
			wantTokenError(t, resp, body, true)
		})
	}
	t.Run("no token at all", func(t *testing.T) {
		resp, body := e.do("GET", shared.PathMe, "", nil, nil)
		wantTokenError(t, resp, body, false)
	})
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// wantTokenError checks a 401 invalid_token answer; withError says whether
// WWW-Authenticate must name the error (it must not when no token was sent).
func wantTokenError(t *testing.T, resp *http.Response, body []byte, withError bool) {
	t.Helper()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401; body %s", resp.StatusCode, body)
	}
	var env shared.Error
	if err := json.Unmarshal(body, &env); err != nil || env.Code != shared.CodeInvalidToken || env.Description == "" {
		t.Fatalf("body %s, want the invalid_token envelope", body)
	}
	www := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(www, "Bearer") {
		t.Fatalf("WWW-Authenticate %q, want Bearer", www)
	}
	if got := strings.Contains(www, `error="invalid_token"`); got != withError {
		t.Fatalf("WWW-Authenticate %q: error attribute present = %v, want %v", www, got, withError)
	}
}
