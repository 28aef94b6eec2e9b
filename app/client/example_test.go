package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// exampleServer stands in for a Gatehouse server: it signs in one user and
// answers GET /api/users/me.
func exampleServer() *httptest.Server {
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoyMDAwMDAwMDAwfQ.c2ln"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+shared.PathToken, func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("username") != "admin" || r.PostFormValue("password") != "s3cret-pass" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong username or password"})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: shared.CookieRefresh, Value: "opaque", Path: shared.CookiePath, HttpOnly: true})
		json.NewEncoder(w).Encode(shared.TokenResponse{AccessToken: token, TokenType: shared.TokenTypeBearer, ExpiresIn: 1800})
	})
	mux.HandleFunc("GET "+shared.PathMe, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(shared.Error{Code: shared.CodeInvalidToken})
			return
		}
		json.NewEncoder(w).Encode(shared.User{ID: 1, Username: "admin", FullName: "Ada Admin", Role: shared.RoleAdmin})
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := exampleServer()
	defer srv.Close()

	// A cookie jar keeps the HttpOnly refresh cookie, as a browser would.
	jar, _ := cookiejar.New(nil)
	c := client.New(srv.URL, nil)
	c.HTTP = &http.Client{Jar: jar}
	c.OnLogout = func() { log.Print("signed out: show the login page") }

	ctx := context.Background()
	if _, err := c.Login(ctx, "admin", "wrong"); err != nil {
		fmt.Println("login failed:", err)
	}
	if _, err := c.Login(ctx, "admin", "s3cret-pass"); err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	exp, _ := client.TokenExpiry(c.Tokens.Token())
	fmt.Printf("signed in as %s (%s), token valid until %s\n", me.Username, me.Role, exp.UTC().Format("2006-01-02 15:04"))
	// Output:
	// login failed: invalid_grant: wrong username or password
	// signed in as admin (admin), token valid until 2033-05-18 03:33
}
