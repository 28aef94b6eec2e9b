package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/server/auth"
	"gatehouse/server/boot"
	"gatehouse/server/config"
	"gatehouse/shared"
)

// BenchmarkHotPath compares, side by side, what an authenticated request
// costs: a bare handler, the same handler behind a plain golang-jwt
// ParseWithClaims middleware, a public route through Gatehouse's whole
// middleware stack (routing, headers, logging, recovery, body limit), and an
// authenticated route through that stack and the guard (verdict cache,
// cached session and user state, slide check). Report the ratios of the
// ns/op figures of one run.
func BenchmarkHotPath(b *testing.B) {
	vars := map[string]string{
		"GATEHOUSE_DATA_DIR":       b.TempDir(),
		"GATEHOUSE_JWT_SECRET":     "benchmark-secret-of-at-least-32-bytes!!",
		"GATEHOUSE_BCRYPT_COST":    "4",
		"GATEHOUSE_ADMIN_PASSWORD": "bench-password",
	}
	cfg, err := config.Parse("bench", nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys, err := boot.Open(context.Background(), cfg, log, boot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	if _, err := boot.EnsureAdmin(context.Background(), sys, io.Discard); err != nil {
		b.Fatal(err)
	}
	form := url.Values{"username": {"admin"}, "password": {"bench-password"}}
	req := httptest.NewRequest("POST", shared.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sys.API.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	tok := strings.Split(strings.Split(rec.Body.String(), `"access_token":"`)[1], `"`)[0]

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	secret := []byte(vars["GATEHOUSE_JWT_SECRET"])
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience), jwt.WithExpirationRequired(), jwt.WithLeeway(10*time.Second))
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c auth.Claims
		if _, err := parser.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), &c, func(*jwt.Token) (any, error) { return secret, nil }); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r)
	})
	cases := []struct {
		name string
		h    http.Handler
		path string
	}{
		{"unauthenticated", ok, "/x"},
		{"gatehouse-public-route", sys.API, shared.PathHealth},
		{"plain-jwt", plain, "/x"},
		{"gatehouse", sys.API, shared.PathAuthCheck},
		{"gatehouse-me", sys.API, shared.PathMe},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent && w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
