package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gatehouse/server/boot"
	"gatehouse/server/config"
	"gatehouse/shared"
)

// fuzzServer is a wired Gatehouse on a fresh SQLite database with an admin
// (password "fuzz-admin-pw") and that admin's access token.
func fuzzServer(f *testing.F) (http.Handler, string) {
	f.Helper()
	env := map[string]string{
		"GATEHOUSE_DATA_DIR": f.TempDir(), "GATEHOUSE_BCRYPT_COST": "4",
		"GATEHOUSE_JWT_SECRET": "fuzz-secret-of-at-least-thirty-two-bytes", "GATEHOUSE_ADMIN_PASSWORD": "fuzz-admin-pw",
		"GATEHOUSE_LOGIN_FREE": "1000",
	}
	cfg, err := config.Parse("fuzz", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	sys, err := boot.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), boot.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sys.Close() })
	if _, err := boot.EnsureAdmin(context.Background(), sys, io.Discard); err != nil {
		f.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", shared.PathToken, strings.NewReader("username=admin&password=fuzz-admin-pw"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sys.API.ServeHTTP(w, r)
	var tr shared.TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" {
		f.Fatalf("sign-in: %d %s", w.Code, w.Body)
	}
	// User 2, a viewer, is the target of the routes that take an id: the
	// admin's own account and session stay usable whatever a body does.
	w = httptest.NewRecorder()
	r = httptest.NewRequest("POST", shared.PathUsers, strings.NewReader(`{"username":"target","password":"password-1","role":"viewer"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	sys.API.ServeHTTP(w, r)
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"id":2`) {
		f.Fatalf("create user 2: %d %s", w.Code, w.Body)
	}
	return sys.API, tr.AccessToken
}

// checkAnswer fails unless the answer is a success or a JSON error
// envelope with a status the contract names — never a 500.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if w.Code >= 400 {
		var e shared.Error
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Description == "" {
			t.Fatalf("status %d without the error envelope: %q", w.Code, w.Body)
		}
	}
}

// FuzzTokenForms sends arbitrary bodies and content types to the sign-in
// and refresh endpoints.
func FuzzTokenForms(f *testing.F) {
	h, _ := fuzzServer(f)
	form := "application/x-www-form-urlencoded"
	for _, s := range []struct{ path, ct, body string }{
		{shared.PathToken, form, "username=admin&password=fuzz-admin-pw"},
		{shared.PathToken, form, "grant_type=password&username=admin&password=wrong&token_delivery=cookie"},
		{shared.PathToken, form, "grant_type=refresh_token&refresh_token=a.0.b.c"},
		{shared.PathToken, form, "grant_type=client_credentials"},
		{shared.PathToken, form, "username=%ZZ&password=%"},
		{shared.PathToken, "application/json", `{"username":"admin"}`},
		{shared.PathTokenRefresh, form, "refresh_token=" + url.QueryEscape(strings.Repeat("x.", 200))},
		{shared.PathTokenRefresh, "", ""},
	} {
		f.Add(s.path == shared.PathToken, s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, token bool, ct, body string) {
		path := shared.PathTokenRefresh
		if token {
			path = shared.PathToken
		}
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, w)
		if w.Code == http.StatusOK && strings.Contains(body, "token_delivery=cookie") && strings.Contains(w.Body.String(), "refresh_token") {
			t.Fatalf("cookie delivery answered a refresh token in the body: %s", w.Body)
		}
	})
}

// FuzzJSONBodies sends arbitrary JSON-ish bodies to every route that takes
// a JSON body.
func FuzzJSONBodies(f *testing.F) {
	h, tok := fuzzServer(f)
	routes := []struct{ method, path string }{
		{"PATCH", shared.PathMe},
		{"PUT", shared.PathMePassword},
		{"POST", shared.PathUsers},
		{"PATCH", shared.PathUsers + "/2"},
		{"PUT", shared.PathUsers + "/2/password"},
	}
	seeds := []string{
		`{"full_name":"Ann","email":"ann@example.com"}`,
		`{"Full_Name":"x"}`, `{"full_name":"a","full_name":"b"}`,
		`{"current_password":"fuzz-admin-pw","new_password":"fuzz-admin-pw"}`,
		`{"username":"new.user","password":"password-1","full_name":"N","email":"","role":"viewer"}`,
		`{"role":"admin","disabled":false}`, `{"new_password":"` + strings.Repeat("p", 80) + `"}`,
		`[]`, `null`, `{"full_name":"\u202e"}`, `{} {}`, `{"full_name":1e999}`, "\xff\xfe",
	}
	for i := range routes {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := routes[int(route)%len(routes)]
		r := httptest.NewRequest(rt.method, rt.path, bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, w)
	})
}
