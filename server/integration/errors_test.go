package integration

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // registers the "sqlite" driver for TestInternalErrorsLeakNothing

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Every row of DESIGN's Errors table: status, code and the JSON envelope.
func TestErrorsTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "GATEHOUSE_LOGIN_FREE=3")
	admin := e.admin()
	atok := admin.Tokens.Token()
	_, viewer := e.newUser(shared.RoleViewer)
	disabled, disabledClient := e.newUser(shared.RoleViewer)
	if _, err := admin.UpdateUser(bg, disabled.ID, shared.UserUpdate{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	loggedOut := e.login(adminName, adminPass)
	loggedOutTok := loggedOut.Tokens.Token()
	if err := loggedOut.Logout(bg); err != nil {
		t.Fatal(err)
	}
	throttled, _ := e.newUser(shared.RoleViewer)
	for range 3 {
		e.rawLogin(throttled.Username, "wrong-password")
	}

	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	str := strings.NewReader
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		header http.Header
		body   io.Reader
		status int
		code   string
		check  func(t *testing.T, resp *http.Response, env shared.Error)
	}{
		{name: "no token", method: "GET", path: shared.PathMe,
			status: 401, code: shared.CodeInvalidToken,
			check: func(t *testing.T, resp *http.Response, _ shared.Error) {
				if www := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(www, "Bearer") || strings.Contains(www, "error=") {
					t.Errorf("WWW-Authenticate %q, want a bare Bearer challenge", www)
				}
			}},
		{name: "malformed token", method: "GET", path: shared.PathMe, token: "not.a.token",
			status: 401, code: shared.CodeInvalidToken, check: wantInvalidTokenChallenge},
		{name: "token of a revoked session", method: "GET", path: shared.PathMe, token: loggedOutTok,
			status: 401, code: shared.CodeInvalidToken, check: wantInvalidTokenChallenge},
		{name: "valid token, missing permission", method: "GET", path: shared.PathAudit, token: viewer.Tokens.Token(),
			status: 403, code: shared.CodeInsufficientScope},
		{name: "disabled user signing in", method: "POST", path: shared.PathToken, header: formHeader,
			body:   form(url.Values{"username": {disabled.Username}, "password": {userPassword}}),
			status: 403, code: shared.CodeInactiveUser},
		{name: "disabled user's token", method: "GET", path: shared.PathMe, token: disabledClient.Tokens.Token(),
			status: 403, code: shared.CodeInactiveUser},
		{name: "wrong password", method: "POST", path: shared.PathToken, header: formHeader,
			body:   form(url.Values{"username": {adminName}, "password": {"wrong-password"}}),
			status: 401, code: shared.CodeInvalidGrant},
		{name: "unknown user", method: "POST", path: shared.PathToken, header: formHeader,
			body:   form(url.Values{"username": {"no-such-user"}, "password": {"wrong-password"}}),
			status: 401, code: shared.CodeInvalidGrant},
		{name: "bad refresh token", method: "POST", path: shared.PathTokenRefresh, header: formHeader,
			body:   form(url.Values{"refresh_token": {"forged"}}),
			status: 400, code: shared.CodeInvalidGrant},
		{name: "malformed JSON", method: "PATCH", path: shared.PathMe, token: atok, header: jsonHeader,
			body: str(`{"full_name":`), status: 400, code: shared.CodeInvalidRequest},
		{name: "JSON of the wrong shape", method: "PATCH", path: shared.PathMe, token: atok, header: jsonHeader,
			body: str(`{"full_name":42}`), status: 400, code: shared.CodeInvalidRequest},
		{name: "unknown JSON field", method: "PATCH", path: shared.PathMe, token: atok, header: jsonHeader,
			body: str(`{"full_name":"X","role":"admin"}`), status: 400, code: shared.CodeInvalidRequest},
		{name: "data after the JSON object", method: "PATCH", path: shared.PathMe, token: atok, header: jsonHeader,
			body: str(`{"full_name":"X"} {}`), status: 400, code: shared.CodeInvalidRequest},
		{name: "empty JSON body", method: "POST", path: shared.PathUsers, token: atok, header: jsonHeader,
			body: str(``), status: 400, code: shared.CodeInvalidRequest},
		{name: "wrong content type for JSON", method: "PATCH", path: shared.PathMe, token: atok,
			header: http.Header{"Content-Type": {"text/plain"}}, body: str(`{"full_name":"X"}`),
			status: 415, code: shared.CodeInvalidRequest},
		{name: "JSON to the form-encoded token endpoint", method: "POST", path: shared.PathToken, header: jsonHeader,
			body:   str(`{"username":"root","password":"root-password-1"}`),
			status: 415, code: shared.CodeInvalidRequest},
		{name: "validation failure", method: "POST", path: shared.PathUsers, token: atok, header: jsonHeader,
			body:   str(`{"username":"X!","password":"short","email":"not-an-address","role":"god"}`),
			status: 422, code: shared.CodeValidationFailed,
			check: func(t *testing.T, _ *http.Response, env shared.Error) {
				for _, f := range []string{"username", "password", "email", "role"} {
					if env.Fields[f] == "" {
						t.Errorf("no field error for %s in %v", f, env.Fields)
					}
				}
			}},
		{name: "duplicate username", method: "POST", path: shared.PathUsers, token: atok, header: jsonHeader,
			body:   str(`{"username":"` + adminName + `","password":"long-enough-1","role":"viewer"}`),
			status: 409, code: shared.CodeConflict},
		{name: "throttled login", method: "POST", path: shared.PathToken, header: formHeader,
			body:   form(url.Values{"username": {throttled.Username}, "password": {userPassword}}),
			status: 429, code: shared.CodeTooManyAttempts,
			check: func(t *testing.T, resp *http.Response, _ shared.Error) {
				if resp.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			}},
		{name: "unknown user id", method: "GET", path: userPath(999999), token: atok,
			status: 404, code: shared.CodeNotFound},
		{name: "unknown API route", method: "GET", path: "/api/no-such-thing", token: atok,
			status: 404, code: shared.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is "+http.StatusText(tt.status)+" "+tt.code, func(t *testing.T) {
			resp, body := e.do(tt.method, tt.path, tt.token, tt.header, tt.body)
			env := wantEnvelope(t, resp, body, tt.status, tt.code)
			if tt.check != nil {
				tt.check(t, resp, env)
			}
		})
	}

	t.Run("the refused writes changed nothing", func(t *testing.T) {
		me, err := admin.Me(bg)
		if err != nil {
			t.Fatal(err)
		}
		if me.FullName != "Administrator" || me.Role != shared.RoleAdmin {
			t.Fatalf("admin changed: %+v", me)
		}
	})
}

func wantInvalidTokenChallenge(t *testing.T, resp *http.Response, _ shared.Error) {
	t.Helper()
	if www := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(www, "Bearer") || !strings.Contains(www, `error="invalid_token"`) {
		t.Errorf(`WWW-Authenticate %q, want Bearer with error="invalid_token"`, www)
	}
}

// hiddenLength hides a reader's length, so that net/http sends it chunked.
type hiddenLength struct{ r io.Reader }

func (h hiddenLength) Read(p []byte) (int, error) { return h.r.Read(p) }

func TestBodiesOverOneMebibyteAre413(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.admin().Tokens.Token()
	big := strings.Repeat("a", shared.MaxRequestBodySize+1024)
	jsonBig := `{"full_name":"` + big + `"}`
	formBig := "username=" + adminName + "&password=" + big

	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		header  http.Header
		body    string
		chunked bool
	}{
		{"a JSON body with Content-Length", "PATCH", shared.PathMe, tok, jsonHeader, jsonBig, false},
		{"a JSON body sent chunked", "PATCH", shared.PathMe, tok, jsonHeader, jsonBig, true},
		{"a sign-in form with Content-Length", "POST", shared.PathToken, "", formHeader, formBig, false},
		{"a sign-in form sent chunked", "POST", shared.PathToken, "", formHeader, formBig, true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is 413", func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = hiddenLength{body}
			}
			req, err := http.NewRequest(tt.method, e.srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := e.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			wantEnvelope(t, resp, b, http.StatusRequestEntityTooLarge, shared.CodeInvalidRequest)
		})
	}

	// The limit in literal sizes: exactly 1 MiB is read, one byte more is
	// not, whether the length is announced or the body comes chunked.
	for _, chunked := range []bool{false, true} {
		for _, tt := range []struct {
			size   int
			status int
		}{{1 << 20, http.StatusUnprocessableEntity}, {1<<20 + 1, http.StatusRequestEntityTooLarge}} {
			t.Run(fmt.Sprintf("a JSON body of %d bytes (chunked %t) is %d", tt.size, chunked, tt.status), func(t *testing.T) {
				prefix := `{"full_name":"` + strings.Repeat("a", 101) + `"}`
				var body io.Reader = strings.NewReader(prefix + strings.Repeat(" ", tt.size-len(prefix)))
				if chunked {
					body = hiddenLength{body}
				}
				req, err := http.NewRequest("PATCH", e.srv.URL+shared.PathMe, body)
				if err != nil {
					t.Fatal(err)
				}
				if chunked {
					req.ContentLength = -1
				} else if req.ContentLength != int64(tt.size) {
					t.Fatalf("Content-Length %d, want %d", req.ContentLength, tt.size)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := e.hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				code := shared.CodeValidationFailed // the name is too long: the body was read
				if tt.status == http.StatusRequestEntityTooLarge {
					code = shared.CodeInvalidRequest
				}
				wantEnvelope(t, resp, b, tt.status, code)
			})
		}
	}

	t.Run("a body just under the limit is not 413", func(t *testing.T) {
		under := `{"full_name":"` + strings.Repeat("a", 200) + `"}` + strings.Repeat(" ", shared.MaxRequestBodySize-300)
		resp, body := e.do("PATCH", shared.PathMe, tok, jsonHeader, strings.NewReader(under))
		// 422: the name is over 100 characters; what matters is that the
		// body was read to the end.
		wantEnvelope(t, resp, body, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
	})
}

func TestStoreUnavailableIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if err := e.sys.Store.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("sign-in is 503 unavailable", func(t *testing.T) {
		resp, body := e.rawLogin(adminName, adminPass)
		wantEnvelope(t, resp, body, http.StatusServiceUnavailable, shared.CodeUnavailable)
		_, err := c.Login(bg, adminName, adminPass)
		wantAPIError(t, err, http.StatusServiceUnavailable, shared.CodeUnavailable)
	})
	t.Run("readiness is 503 unavailable", func(t *testing.T) {
		resp, body := e.do("GET", shared.PathReady, "", nil, nil)
		wantEnvelope(t, resp, body, http.StatusServiceUnavailable, shared.CodeUnavailable)
		if err := c.Ready(bg); err == nil {
			t.Fatal("Ready succeeded with the store closed")
		}
		if err := c.Health(bg); err != nil {
			t.Fatalf("liveness depends on the store: %v", err)
		}
	})
}

// An unexpected store failure — here a table dropped behind the server's
// back — is 500 internal and tells the caller nothing about it.
func TestInternalErrorsLeakNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin()
	if _, err := admin.Audit(bg, client.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(e.sys.Config.DataDir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TABLE audit_events`); err != nil {
		t.Fatal(err)
	}

	resp, body := e.do("GET", shared.PathAudit, admin.Tokens.Token(), nil, nil)
	env := wantEnvelope(t, resp, body, http.StatusInternalServerError, shared.CodeInternal)
	for _, leak := range []string{"sqlite", "sql", "select", "audit_events", "no such table", "goroutine", ".go:"} {
		if bytes.Contains(bytes.ToLower(body), []byte(leak)) {
			t.Fatalf("the 500 answer mentions %q: %s", leak, body)
		}
	}
	if env.Fields != nil {
		t.Fatalf("fields on a 500: %v", env.Fields)
	}
	_, err = admin.Audit(bg, client.AuditQuery{})
	wantAPIError(t, err, http.StatusInternalServerError, shared.CodeInternal)
}
