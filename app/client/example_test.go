package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

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

// mfaServer stands in for a Gatehouse server whose admin has a second
// factor, and whose DELETE /api/users/{id} needs a recent sign-in.
func mfaServer() *httptest.Server {
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoyMDAwMDAwMDAwfQ.c2ln"
	recent := false
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+shared.PathToken, func(w http.ResponseWriter, r *http.Request) {
		switch r.PostFormValue("grant_type") {
		case shared.GrantPassword:
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(shared.Error{Code: shared.CodeMFARequired, Description: "a code is due", MFAToken: "challenge-1", MFAExpiresIn: 300})
		case shared.GrantMFAOTP:
			if r.PostFormValue("mfa_token") != "challenge-1" || r.PostFormValue("otp") != "123456" {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(shared.Error{Code: shared.CodeInvalidGrant, Description: "wrong code"})
				return
			}
			json.NewEncoder(w).Encode(shared.TokenResponse{AccessToken: token, TokenType: shared.TokenTypeBearer, ExpiresIn: 1800})
		}
	})
	mux.HandleFunc("POST "+shared.PathReauth, func(w http.ResponseWriter, r *http.Request) {
		recent = r.PostFormValue("password") == "s3cret-pass" && r.PostFormValue("otp") == "654321"
		json.NewEncoder(w).Encode(shared.TokenResponse{AccessToken: token, TokenType: shared.TokenTypeBearer, ExpiresIn: 1800})
	})
	mux.HandleFunc("DELETE "+shared.PathUsers+"/2", func(w http.ResponseWriter, r *http.Request) {
		if !recent {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(shared.Error{Code: shared.CodeInsufficientUserAuth, Description: "confirm your password", MaxAge: 300})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return httptest.NewServer(mux)
}

// A user with a second factor: the client asks SecondFactor for a code
// when the password alone is not enough.
func ExampleClient_SecondFactor() {
	srv := mfaServer()
	defer srv.Close()
	c := client.New(srv.URL, nil)
	c.SecondFactor = func(ctx context.Context) (client.Code, error) {
		return client.Code{OTP: "123456"}, nil // ask the user for the code their app shows
	}
	if _, err := c.Login(context.Background(), "admin", "s3cret-pass"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in with a code")

	// Without the callback, the error says what to do next.
	_, err := client.New(srv.URL, nil).Login(context.Background(), "admin", "s3cret-pass")
	var mfa *client.MFARequiredError
	if errors.As(err, &mfa) {
		fmt.Printf("a code is due within %v (token %s)\n", mfa.ExpiresIn, mfa.Token)
	}
	// Output:
	// signed in with a code
	// a code is due within 5m0s (token challenge-1)
}

// Sensitive actions need a recent sign-in (RFC 9470 step-up): with
// Reauthenticate set, the client asks for the password (and a code),
// re-authenticates and retries the action once.
func ExampleClient_Reauthenticate() {
	srv := mfaServer()
	defer srv.Close()
	c := client.New(srv.URL, nil)
	c.SecondFactor = func(ctx context.Context) (client.Code, error) { return client.Code{OTP: "123456"}, nil }
	ctx := context.Background()
	if _, err := c.Login(ctx, "admin", "s3cret-pass"); err != nil {
		log.Fatal(err)
	}

	err := c.DeleteUser(ctx, 2)
	var stepUp *client.StepUpRequiredError
	fmt.Println("without a callback:", errors.As(err, &stepUp), stepUp.MaxAge)

	c.Reauthenticate = func(ctx context.Context, maxAge time.Duration) (password, otp string, err error) {
		return "s3cret-pass", "654321", nil // ask the user again, in a dialog over the page
	}
	fmt.Println("with it:", c.DeleteUser(ctx, 2))
	// Output:
	// without a callback: true 5m0s
	// with it: <nil>
}

// A dialog that checks the password itself, and asks again when it is
// wrong, re-authenticates in StepUp: the client then only retries the
// action. However many actions need it at once, the dialog may ask once.
func ExampleClient_StepUp() {
	srv := mfaServer()
	defer srv.Close()
	c := client.New(srv.URL, nil)
	c.SecondFactor = func(ctx context.Context) (client.Code, error) { return client.Code{OTP: "123456"}, nil }
	ctx := context.Background()
	if _, err := c.Login(ctx, "admin", "s3cret-pass"); err != nil {
		log.Fatal(err)
	}
	c.StepUp = func(ctx context.Context, maxAge time.Duration) error {
		// In a dialog over the page: a wrong answer is shown there and
		// asked again; the call waits until it is right, or given up.
		if err := c.Reauth(ctx, "s3cret-pass", "654321"); err != nil {
			return err
		}
		fmt.Println("confirmed, a sign-in at most", maxAge, "old")
		return nil
	}
	fmt.Println("deleted:", c.DeleteUser(ctx, 2) == nil)
	// Output:
	// confirmed, a sign-in at most 5m0s old
	// deleted: true
}
