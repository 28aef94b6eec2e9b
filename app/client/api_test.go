package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// recorder is a server that records the last request and answers with a
// fixed status and body.
type recorder struct {
	srv    *httptest.Server
	last   recorded
	status int
	body   string
	ctype  string
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{status: http.StatusOK, ctype: "application/json"}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.last = recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			Body: body, Header: r.Header.Clone(),
		}
		if rec.ctype != "" {
			w.Header().Set("Content-Type", rec.ctype)
		}
		w.WriteHeader(rec.status)
		io.WriteString(w, rec.body)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func TestRoutes(t *testing.T) {
	yes, no := true, false
	role := shared.RoleManager
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	userJSON := `{"id":5,"username":"ann","full_name":"Ann Lee","email":"ann@example.com","role":"viewer","disabled":false,"created_at":"2030-01-02T03:04:05Z","updated_at":"2030-01-02T03:04:05Z"}`
	wantUser := &shared.User{ID: 5, Username: "ann", FullName: "Ann Lee", Email: "ann@example.com", Role: shared.RoleViewer, CreatedAt: when, UpdatedAt: when}

	tests := []struct {
		name   string
		call   func(context.Context, *client.Client) (any, error)
		status int
		answer string
		method string
		path   string // escaped
		query  url.Values
		body   string // JSON sent, "" for none
		want   any    // decoded result, nil to skip
	}{
		{"Me", func(ctx context.Context, c *client.Client) (any, error) { return c.Me(ctx) },
			200, userJSON, "GET", "/api/users/me", nil, "", wantUser},
		{"UpdateMe", func(ctx context.Context, c *client.Client) (any, error) {
			n := "Ann Lee"
			return c.UpdateMe(ctx, shared.ProfileUpdate{FullName: &n})
		}, 200, userJSON, "PATCH", "/api/users/me", nil, `{"full_name":"Ann Lee"}`, wantUser},
		{"ChangePassword", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.ChangePassword(ctx, shared.PasswordChange{CurrentPassword: "old password", NewPassword: "new password"})
		}, 204, "", "PUT", "/api/users/me/password", nil, `{"current_password":"old password","new_password":"new password"}`, nil},
		{"MySessions default", func(ctx context.Context, c *client.Client) (any, error) { return c.MySessions(ctx, 0, 0) },
			200, `{"items":[{"id":"s1","user_id":5,"current":true}],"total":1,"page":1,"per_page":20}`,
			"GET", "/api/users/me/sessions", nil, "",
			&shared.Page[shared.Session]{Items: []shared.Session{{ID: "s1", UserID: 5, Current: true}}, Total: 1, Page: 1, PerPage: 20}},
		{"MySessions paged", func(ctx context.Context, c *client.Client) (any, error) { return c.MySessions(ctx, 2, 5) },
			200, `{"items":[],"total":0,"page":2,"per_page":5}`, "GET", "/api/users/me/sessions",
			url.Values{"page": {"2"}, "per_page": {"5"}}, "", nil},
		{"RevokeMySession", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeMySession(ctx, "s/1 x") },
			204, "", "DELETE", "/api/users/me/sessions/s%2F1%20x", nil, "", nil},
		{"Users no query", func(ctx context.Context, c *client.Client) (any, error) { return c.Users(ctx, client.UserQuery{}) },
			200, `{"items":[` + userJSON + `],"total":41,"page":1,"per_page":20}`, "GET", "/api/users", nil, "",
			&shared.Page[shared.User]{Items: []shared.User{*wantUser}, Total: 41, Page: 1, PerPage: 20}},
		{"Users full query", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Users(ctx, client.UserQuery{Q: "ann lee&co", Page: 3, PerPage: 50})
		}, 200, `{"items":[],"total":0,"page":3,"per_page":50}`, "GET", "/api/users",
			url.Values{"q": {"ann lee&co"}, "page": {"3"}, "per_page": {"50"}}, "", nil},
		{"Users negative paging omitted", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Users(ctx, client.UserQuery{Page: -1, PerPage: -1})
		}, 200, `{}`, "GET", "/api/users", nil, "", nil},
		{"CreateUser", func(ctx context.Context, c *client.Client) (any, error) {
			return c.CreateUser(ctx, shared.UserCreate{Username: "ann", Password: "long enough", FullName: "Ann Lee", Email: "ann@example.com", Role: shared.RoleViewer})
		}, 201, userJSON, "POST", "/api/users", nil,
			`{"username":"ann","password":"long enough","full_name":"Ann Lee","email":"ann@example.com","role":"viewer"}`, wantUser},
		{"User", func(ctx context.Context, c *client.Client) (any, error) { return c.User(ctx, 5) },
			200, userJSON, "GET", "/api/users/5", nil, "", wantUser},
		{"UpdateUser", func(ctx context.Context, c *client.Client) (any, error) {
			return c.UpdateUser(ctx, 5, shared.UserUpdate{Role: &role, Disabled: &no})
		}, 200, userJSON, "PATCH", "/api/users/5", nil, `{"role":"manager","disabled":false}`, wantUser},
		{"DeleteUser", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteUser(ctx, 5) },
			204, "", "DELETE", "/api/users/5", nil, "", nil},
		{"ResetPassword", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.ResetPassword(ctx, 5, shared.PasswordReset{NewPassword: "new password"})
		}, 204, "", "PUT", "/api/users/5/password", nil, `{"new_password":"new password"}`, nil},
		{"Sessions no query", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Sessions(ctx, client.SessionQuery{})
		},
			200, `{"items":[],"total":0,"page":1,"per_page":20}`, "GET", "/api/sessions", nil, "", nil},
		{"Sessions active of a user", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Sessions(ctx, client.SessionQuery{UserID: 7, Active: &yes, Page: 2, PerPage: 10})
		}, 200, `{}`, "GET", "/api/sessions",
			url.Values{"user_id": {"7"}, "active": {"true"}, "page": {"2"}, "per_page": {"10"}}, "", nil},
		{"Sessions ended", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Sessions(ctx, client.SessionQuery{Active: &no})
		}, 200, `{}`, "GET", "/api/sessions", url.Values{"active": {"false"}}, "", nil},
		{"RevokeSession", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeSession(ctx, "abc-123") },
			204, "", "DELETE", "/api/sessions/abc-123", nil, "", nil},
		{"RevokeUserSessions", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RevokeUserSessions(ctx, 9) },
			204, "", "DELETE", "/api/users/9/sessions", nil, "", nil},
		{"Audit no query", func(ctx context.Context, c *client.Client) (any, error) { return c.Audit(ctx, client.AuditQuery{}) },
			200, `{"items":[{"id":3,"time":"2030-01-02T03:04:05Z","actor":"root","action":"login","target":"","ip":"10.0.0.1","outcome":"ok"}],"total":1,"page":1,"per_page":20}`,
			"GET", "/api/audit", nil, "",
			&shared.Page[shared.AuditEvent]{Items: []shared.AuditEvent{{ID: 3, Time: when, Actor: "root", Action: "login", IP: "10.0.0.1", Outcome: "ok"}}, Total: 1, Page: 1, PerPage: 20}},
		{"Audit query", func(ctx context.Context, c *client.Client) (any, error) {
			return c.Audit(ctx, client.AuditQuery{Actor: "root", Action: shared.ActionUserCreate, Page: 4})
		}, 200, `{}`, "GET", "/api/audit", url.Values{"actor": {"root"}, "action": {"user.create"}, "page": {"4"}}, "", nil},
		{"Stats", func(ctx context.Context, c *client.Client) (any, error) { return c.Stats(ctx) },
			200, `{"users_by_role":{"admin":1,"viewer":4},"active_sessions":2,"sign_ins":[{"hour":"2030-01-02T03:00:00Z","ok":5,"failed":1}]}`,
			"GET", "/api/stats", nil, "",
			&shared.Stats{UsersByRole: map[shared.Role]int{"admin": 1, "viewer": 4}, ActiveSessions: 2,
				SignIns: []shared.HourCount{{Hour: when.Truncate(time.Hour), OK: 5, Failed: 1}}}},
		{"Check", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Check(ctx) },
			204, "", "GET", "/api/auth/check", nil, "", nil},
		{"Logout", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Logout(ctx) },
			204, "", "POST", "/api/logout", nil, "", nil},
		{"Health", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Health(ctx) },
			200, `{"status":"ok"}`, "GET", "/healthz", nil, "", nil},
		{"Ready", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Ready(ctx) },
			200, "", "GET", "/readyz", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			rec.status, rec.body = tt.status, tt.answer
			c := client.New(rec.srv.URL, nil)
			c.Tokens.SetToken("tok")
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			r := rec.last
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("sent %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			q, _ := url.ParseQuery(r.Query)
			if len(q) == 0 {
				q = nil
			}
			if !reflect.DeepEqual(q, tt.query) {
				t.Errorf("query %q, want %q", r.Query, tt.query.Encode())
			}
			if string(r.Body) != tt.body {
				t.Errorf("body %s, want %s", r.Body, tt.body)
			}
			wantCT := ""
			if tt.body != "" {
				wantCT = "application/json"
			}
			if r.ContentType != wantCT {
				t.Errorf("Content-Type %q, want %q", r.ContentType, wantCT)
			}
			if a := r.Header.Get("Accept"); a != "application/json" {
				t.Errorf("Accept %q", a)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEmptySessionID(t *testing.T) {
	rec := newRecorder(t)
	c := client.New(rec.srv.URL, nil)
	for name, f := range map[string]func(context.Context, string) error{
		"RevokeSession": c.RevokeSession, "RevokeMySession": c.RevokeMySession,
	} {
		if err := f(t.Context(), ""); err == nil {
			t.Errorf("%s(\"\") succeeded", name)
		}
	}
	if rec.last.Method != "" {
		t.Errorf("a request was sent: %+v", rec.last)
	}
}

func TestErrorEnvelope(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   shared.Error
	}{
		{"validation", 422, "application/json",
			`{"error":"validation_failed","error_description":"invalid input","fields":{"email":"must be a plain address","username":"is required"}}`,
			shared.Error{Code: "validation_failed", Description: "invalid input", Status: 422,
				Fields: map[string]string{"email": "must be a plain address", "username": "is required"}}},
		{"conflict", 409, "application/json", `{"error":"conflict","error_description":"username taken"}`,
			shared.Error{Code: "conflict", Description: "username taken", Status: 409}},
		{"forbidden", 403, "application/json", `{"error":"insufficient_scope","error_description":"needs users:write"}`,
			shared.Error{Code: "insufficient_scope", Description: "needs users:write", Status: 403}},
		{"throttled", 429, "application/json", `{"error":"too_many_attempts","error_description":"slow down"}`,
			shared.Error{Code: "too_many_attempts", Description: "slow down", Status: 429}},
		{"not json", 502, "text/html", `<html>Bad gateway</html>`,
			shared.Error{Code: "http_502", Description: "Bad Gateway", Status: 502}},
		{"empty body", 404, "", ``,
			shared.Error{Code: "http_404", Description: "Not Found", Status: 404}},
		{"json without code", 500, "application/json", `{"message":"boom"}`,
			shared.Error{Code: "http_500", Description: "Internal Server Error", Status: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			rec.status, rec.ctype, rec.body = tt.status, tt.ctype, tt.body
			_, err := client.New(rec.srv.URL, nil).CreateUser(t.Context(), shared.UserCreate{})
			var e *shared.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *shared.Error", err, err)
			}
			if !reflect.DeepEqual(*e, tt.want) {
				t.Errorf("error %#v, want %#v", *e, tt.want)
			}
		})
	}
}

func TestBadSuccessBody(t *testing.T) {
	rec := newRecorder(t)
	rec.body = `{"id":"not a number"`
	_, err := client.New(rec.srv.URL, nil).Me(t.Context())
	var e *shared.Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "decoding") {
		t.Errorf("Me with a broken answer: %v", err)
	}
}

func TestQueryValuesAreEscaped(t *testing.T) {
	rec := newRecorder(t)
	rec.body = `{}`
	c := client.New(rec.srv.URL, nil)
	if _, err := c.Audit(t.Context(), client.AuditQuery{Actor: "a&b=c d/é"}); err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(rec.last.Query)
	if err != nil || q.Get("actor") != "a&b=c d/é" || len(q) != 1 {
		t.Errorf("query %q decodes to %v", rec.last.Query, q)
	}
	var v any
	if json.Unmarshal(rec.last.Body, &v) == nil {
		t.Errorf("GET sent a body: %s", rec.last.Body)
	}
}
