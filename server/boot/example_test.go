package boot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"gatehouse/app/client"
	"gatehouse/server/boot"
	"gatehouse/server/config"
	"gatehouse/shared"
)

// The guard every route but sign-in passes through, seen from a client: no
// token is 401 with a Bearer challenge; a valid one reaches the handler; a
// role without the route's permission is 403 insufficient_scope — each in
// the JSON error envelope. System.API is the whole HTTP handler, so the
// same wiring serves tests and `gatehouse serve`.
func Example_authentication() {
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	env := map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_BCRYPT_COST": "4", "GATEHOUSE_ADMIN_PASSWORD": "example-admin-pw"}
	cfg, err := config.Parse("example", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	sys, err := boot.Open(ctx, cfg, slog.New(slog.DiscardHandler), boot.Options{})
	if err != nil {
		panic(err)
	}
	defer sys.Close()
	if _, err := boot.EnsureAdmin(ctx, sys, io.Discard); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sys.API)
	defer srv.Close()

	// No token: the guard answers before any handler.
	resp, _ := http.Get(srv.URL + shared.PathAuthCheck)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))

	// A token: the handler answers.
	admin := client.New(srv.URL, nil)
	if _, err := admin.Login(ctx, "admin", "example-admin-pw"); err != nil {
		panic(err)
	}
	fmt.Println(admin.Check(ctx))

	// A viewer's token on a route that needs audit:read.
	no := false
	if _, err := admin.CreateUser(ctx, shared.UserCreate{Username: "vera", Password: "vera-password", Role: shared.RoleViewer, MustChangePassword: &no}); err != nil {
		panic(err)
	}
	viewer := client.New(srv.URL, nil)
	if _, err := viewer.Login(ctx, "vera", "vera-password"); err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+shared.PathAudit+"?"+url.Values{"per_page": {"1"}}.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+viewer.Tokens.Token())
	resp, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	// Output:
	// 401 Bearer realm="gatehouse"
	// <nil>
	// 403 {"error":"insufficient_scope","error_description":"your role (viewer) lacks the audit:read permission"}
}
