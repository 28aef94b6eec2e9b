package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"gatehouse/server/api"
	"gatehouse/shared"
)

// Every answer the tests receive from a server — through env.client(),
// env.clientVia, env.do and send with env.hc — is validated against the
// OpenAPI description the server serves (server/api/openapi.json): its
// status must be one the operation lists, the headers its response declares
// required must be there and match their schemas, and the body must match
// the schema of its content type. Failures are collected per env and fail
// the test that started it, when it ends.
//
// Two kinds of request are judged only as far as the description can:
//
//   - a path it does not have, or a method its path does not list (tests
//     send garbage on purpose): the answer must be 404 or 405 with the
//     body of the NotFound or MethodNotAllowed response;
//   - a CORS preflight (OPTIONS with Access-Control-Request-Method), which
//     the CORS layer answers before routing: not described, not judged.
//
// (The storm benchmark's load generator has its own client and is not
// validated; its sign-ins, sent with env.hc, are.)
//
// The description is also held to a few headers in the other direction:
// an answer carrying refreshtoken, WWW-Authenticate, Retry-After or
// Set-Cookie where its response does not declare it is a failure too.

// openAPISpec is the description, loaded once.
type openAPISpec struct {
	doc    *openapi3.T
	router routers.Router
}

var loadOpenAPI = sync.OnceValues(func() (*openAPISpec, error) {
	// /api/docs answers HTML; kin-openapi reads it as plain text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &openAPISpec{doc: doc, router: r}, nil
})

// specCheck validates the answers of one env's server.
type specCheck struct {
	spec     *openAPISpec
	mu       sync.Mutex
	checked  int
	failures []string
}

// newSpecCheck returns a check whose failures fail t when it ends.
func newSpecCheck(t testing.TB) *specCheck {
	t.Helper()
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("the OpenAPI description: %v", err)
	}
	c := &specCheck{spec: spec}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.failures) > 0 {
			t.Errorf("%d of %d answers do not match the OpenAPI description (server/api/openapi.json):\n%s",
				len(c.failures), c.checked, strings.Join(c.failures, "\n"))
		}
	})
	return c
}

// transport returns base validating every answer.
func (c *specCheck) transport(base http.RoundTripper) http.RoundTripper {
	return &validating{base: base, check: c}
}

type validating struct {
	base  http.RoundTripper
	check *specCheck
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// Hand the caller what came, then the error, and judge nothing.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.check.record(req, resp, body)
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach base.
func (v *validating) CloseIdleConnections() {
	if ci, ok := v.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (c *specCheck) record(req *http.Request, resp *http.Response, body []byte) {
	err := c.validate(req, resp, body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if err != nil {
		what := req.Method + " " + req.URL.Path
		if req.URL.RawQuery != "" {
			what += "?" + req.URL.RawQuery
		}
		c.failures = append(c.failures, fmt.Sprintf("  %s → %d: %v\n    body: %.300s", what, resp.StatusCode, err, body))
	}
}

// headersBothWays are the headers an answer may carry only where its
// response declares them.
var headersBothWays = []string{shared.HeaderRefreshToken, "WWW-Authenticate", "Retry-After", "Set-Cookie"}

// validate judges one answer.
func (c *specCheck) validate(req *http.Request, resp *http.Response, body []byte) error {
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		return nil // a CORS preflight
	}
	route, params, err := c.spec.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return c.validateUnrouted(req, resp, body, http.StatusNotFound, "NotFound")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return c.validateUnrouted(req, resp, body, http.StatusMethodNotAllowed, "MethodNotAllowed")
	case err != nil:
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return err
	}
	ref := route.Operation.Responses.Status(resp.StatusCode)
	if ref == nil || ref.Value == nil {
		// A status kin-openapi lets through unjudged (a redirect, 304).
		return fmt.Errorf("status %d is not described for %s %s", resp.StatusCode, req.Method, route.Path)
	}
	declared := ref.Value.Headers
	for _, h := range headersBothWays {
		if _, ok := resp.Header[http.CanonicalHeaderKey(h)]; !ok {
			continue
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(declared)), func(k string) bool { return strings.EqualFold(k, h) }) {
			return fmt.Errorf("the answer carries %s, which the %d response does not declare", h, resp.StatusCode)
		}
	}
	return nil
}

// validateUnrouted judges the answer to a request the description does not
// have: the status must be want, and the body that of the response named.
func (c *specCheck) validateUnrouted(req *http.Request, resp *http.Response, body []byte, want int, response string) error {
	if resp.StatusCode != want {
		return fmt.Errorf("the description has no such operation: want %d, got %d", want, resp.StatusCode)
	}
	if req.Method == http.MethodHead {
		return nil // no body to judge
	}
	ref := c.spec.doc.Components.Responses[response]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the description has no %s response", response)
	}
	mt := ref.Value.Content.Get(resp.Header.Get("Content-Type"))
	if mt == nil || mt.Schema == nil {
		return fmt.Errorf("the %s response has no schema for %q", response, resp.Header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not JSON: %v", err)
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("the body does not match the %s response: %v", response, err)
	}
	return nil
}

// The description and the page that renders it are answers like any other:
// validated by the same transport.
func TestOpenAPIAndDocsAreServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do("GET", shared.PathOpenAPI, "", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, api.OpenAPI()) {
		t.Fatalf("GET %s: %d, %d bytes", shared.PathOpenAPI, resp.StatusCode, len(body))
	}
	resp, body = e.do("GET", shared.PathDocs, "", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("swagger-ui")) {
		t.Fatalf("GET %s: %d %s", shared.PathDocs, resp.StatusCode, body)
	}
}

// Unknown paths and methods a path does not have are judged by the
// NotFound and MethodNotAllowed responses.
func TestUnroutedRequestsAnswerAsDescribed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/nothing-here", http.StatusNotFound, shared.CodeNotFound},
		{"GET", "/nothing-here", http.StatusNotFound, shared.CodeNotFound},
		{"DELETE", shared.PathToken, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed},
		{"PUT", shared.PathMe, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed},
		{"BREW", shared.PathMe, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed},
		{"POST", shared.PathDocs, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed},
	} {
		resp, body := e.do(tt.method, tt.path, "", nil, nil)
		wantEnvelope(t, resp, body, tt.status, tt.code)
	}
}

// The check itself fails answers that break the description: a stand-in
// server answers what Gatehouse must not, and each is reported.
func TestSpecCheckCatchesWhatTheDescriptionDoesNotAllow(t *testing.T) {
	t.Parallel()
	spec, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	const (
		user    = `{"id":1,"username":"root","full_name":"","email":"","role":"admin","disabled":false,"mfa":false,"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`
		noToken = `{"error":"invalid_token","error_description":"no token"}`
	)
	tests := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		wantFailure  bool
	}{
		{"a good answer", "GET", shared.PathMe, 200, http.Header{"Content-Type": {"application/json"}}, user, false},
		{"a good 401", "GET", shared.PathMe, 401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Bearer realm="gatehouse"`}}, noToken, false},
		{"a status the operation does not list", "GET", shared.PathMe, 418, http.Header{"Content-Type": {"application/json"}}, noToken, true},
		{"a field of the wrong type", "GET", shared.PathMe, 200, http.Header{"Content-Type": {"application/json"}}, strings.Replace(user, `"id":1`, `"id":"1"`, 1), true},
		{"a field the schema does not have", "GET", shared.PathMe, 200, http.Header{"Content-Type": {"application/json"}}, strings.Replace(user, `{`, `{"password_hash":"x",`, 1), true},
		{"a missing required field", "GET", shared.PathMe, 200, http.Header{"Content-Type": {"application/json"}}, strings.Replace(user, `"role":"admin",`, ``, 1), true},
		{"another content type", "GET", shared.PathMe, 200, http.Header{"Content-Type": {"text/plain"}}, user, true},
		{"a 401 without WWW-Authenticate", "GET", shared.PathMe, 401, http.Header{"Content-Type": {"application/json"}}, noToken, true},
		{"refreshtoken on a failed sign-in", "POST", shared.PathToken, 401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Bearer realm="gatehouse"`}, "Refreshtoken": {"x"}}, `{"error":"invalid_grant","error_description":"wrong"}`, true},
		{"an error code the response does not list", "GET", shared.PathMe, 401, http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Bearer realm="gatehouse"`}}, strings.Replace(noToken, "invalid_token", "invalid_grant", 1), true},
		{"a 429 without Retry-After", "POST", shared.PathToken, 429, http.Header{"Content-Type": {"application/json"}}, `{"error":"too_many_attempts","error_description":"wait"}`, true},
		{"a logout that keeps the cookie", "POST", shared.PathLogout, 204, nil, "", true},
		{"an unknown path answered 200", "GET", "/api/nothing-here", 200, http.Header{"Content-Type": {"application/json"}}, "{}", true},
		{"an unknown path answered with another envelope", "GET", "/api/nothing-here", 404, http.Header{"Content-Type": {"application/json"}}, `{"message":"no"}`, true},
		{"a wrong method answered 404", "DELETE", shared.PathToken, 404, http.Header{"Content-Type": {"application/json"}}, `{"error":"not_found","error_description":"no"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				maps.Copy(w.Header(), tt.header)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer stub.Close()
			c := &specCheck{spec: spec}
			req, err := http.NewRequest(tt.method, stub.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: c.transport(http.DefaultTransport)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := len(c.failures) > 0; got != tt.wantFailure {
				t.Errorf("reported %v, want a failure: %v", c.failures, tt.wantFailure)
			}
		})
	}
}
