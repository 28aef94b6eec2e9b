package api_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"gatehouse/server/api"
	"gatehouse/shared"
)

// loadOpenAPI loads and validates the description the server serves.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("the OpenAPI description does not load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the OpenAPI description is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDescriptionIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info.Title == "" {
		t.Errorf("openapi %q, title %q", doc.OpenAPI, doc.Info.Title)
	}
	for _, name := range []string{"bearerAuth", "refreshCookie"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %s", name)
		}
	}
}

// gorillaVar matches a gorilla/mux path variable with its pattern, as in
// {id:[0-9]+}.
var gorillaVar = regexp.MustCompile(`\{([^{}:]+):[^{}]*\}`)

// openAPIPath turns a gorilla/mux path template into an OpenAPI path:
// /api/users/{id:[0-9]+} is /api/users/{id}.
func openAPIPath(template string) string { return gorillaVar.ReplaceAllString(template, "{$1}") }

// describedPolicy is the policy an operation of the description states,
// in the words of Policy.String: public when anonymous callers are allowed
// (no security requirement, or an empty one among them), else the
// permission named by x-gatehouse-permission, else authenticated; then
// each restricted state that x-gatehouse-also lists, in its order
// ("enrolling", "changing-password"). Anything else in x-gatehouse-also,
// or the extension on a public operation, yields a policy no route has.
func describedPolicy(doc *openapi3.T, op *openapi3.Operation) string {
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	var s string
	switch p, ok := op.Extensions["x-gatehouse-permission"].(string); {
	case len(sec) == 0 || slices.ContainsFunc(sec, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 }):
		s = "public"
	case ok:
		s = "permission " + p
	default:
		s = "authenticated"
	}
	also, present := op.Extensions["x-gatehouse-also"]
	if !present {
		return s
	}
	states, ok := also.([]any)
	if !ok || len(states) == 0 {
		return fmt.Sprintf("%s, x-gatehouse-also %v (want a list of states)", s, also)
	}
	for _, st := range states {
		switch st {
		case "enrolling":
			s += ", also while enrolling"
		case "changing-password":
			s += ", also while changing password"
		default:
			s += fmt.Sprintf(", also while %v (unknown state)", st)
		}
	}
	return s
}

func TestDescribedPolicy(t *testing.T) {
	bearer := openapi3.SecurityRequirements{{"bearerAuth": []string{}}}
	public := openapi3.SecurityRequirements{{}}
	for _, tt := range []struct {
		security openapi3.SecurityRequirements
		ext      map[string]any
		want     string
	}{
		{bearer, nil, "authenticated"},
		{public, nil, "public"},
		{bearer, map[string]any{"x-gatehouse-permission": "users:write"}, "permission users:write"},
		{bearer, map[string]any{"x-gatehouse-also": []any{"enrolling", "changing-password"}}, "authenticated, also while enrolling, also while changing password"},
		{bearer, map[string]any{"x-gatehouse-also": []any{"changing-password"}}, "authenticated, also while changing password"},
		// Strict: another order, an unknown state, a bare string or the
		// extension on a public operation match no route's policy.
		{bearer, map[string]any{"x-gatehouse-also": []any{"changing-password", "enrolling"}}, "authenticated, also while changing password, also while enrolling"},
		{bearer, map[string]any{"x-gatehouse-also": []any{"resting"}}, "authenticated, also while resting (unknown state)"},
		{bearer, map[string]any{"x-gatehouse-also": "enrolling"}, "authenticated, x-gatehouse-also enrolling (want a list of states)"},
		{public, map[string]any{"x-gatehouse-also": []any{"enrolling"}}, "public, also while enrolling"},
	} {
		op := &openapi3.Operation{Security: &tt.security, Extensions: tt.ext}
		if got := describedPolicy(&openapi3.T{}, op); got != tt.want {
			t.Errorf("security %v, extensions %v: %q, want %q", tt.security, tt.ext, got, tt.want)
		}
	}
}

// The description and the router agree: every route the router has (but
// the frontend's catch-all) is described with its method and policy, and
// every operation described is routed.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	described := make(map[string]string) // "METHOD /path" → policy
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			described[method+" "+path] = describedPolicy(doc, op)
		}
	}
	routed := make(map[string]string)
	for _, r := range api.New(api.Options{Frontend: http.NotFoundHandler()}).Routes() {
		if r.Prefix {
			continue // the frontend: every other GET and HEAD outside /api/
		}
		routed[r.Method+" "+openAPIPath(r.Path)] = r.Policy.String()
	}
	if len(routed) < 20 {
		t.Fatalf("only %d routes: %v", len(routed), routed)
	}
	for k, p := range routed {
		switch d, ok := described[k]; {
		case !ok:
			t.Errorf("%s (%s) is routed but not in the OpenAPI description", k, p)
		case d != p:
			t.Errorf("%s is routed as %s but described as %s", k, p, d)
		}
	}
	for k := range described {
		if _, ok := routed[k]; !ok {
			t.Errorf("%s is in the OpenAPI description but not routed", k)
		}
	}
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/users":                         "/api/users",
		"/api/users/{id:[0-9]+}":             "/api/users/{id}",
		"/api/users/{id:[0-9]+}/password":    "/api/users/{id}/password",
		"/api/users/me/sessions/{id}":        "/api/users/me/sessions/{id}",
		"/api/a/{x:[a-z]+}/b/{y:[0-9]{1,3}}": "/api/a/{x}/b/{y:[0-9]{1,3}}", // nested braces: not used, not translated
	} {
		if got := openAPIPath(in); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// The description is served as committed, as JSON, to anyone.
func TestOpenAPIIsServed(t *testing.T) {
	s := api.New(api.Options{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", shared.PathOpenAPI, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", shared.PathOpenAPI, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), committed) {
		t.Error("the served description differs from openapi.json")
	}
}

// assetRef matches what the docs page loads: src="…" and href="…".
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// The docs page loads only files of the repository's web directory — the
// viewer, pinned by web/docs/swagger-ui/SHA256SUMS, and our own — so it
// works offline and asks nothing of anyone else.
func TestDocsPageLoadsOnlyCommittedFiles(t *testing.T) {
	s := api.New(api.Options{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", shared.PathDocs, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %q", shared.PathDocs, rec.Code, rec.Header().Get("Content-Type"))
	}
	web := filepath.Join("..", "..", "web")
	refs := assetRef.FindAllStringSubmatch(rec.Body.String(), -1)
	if len(refs) < 3 {
		t.Fatalf("the page loads %d files: %s", len(refs), rec.Body)
	}
	for _, m := range refs {
		rel, ok := strings.CutPrefix(m[1], "/web/")
		if !ok {
			t.Errorf("the page loads %s, which is not a file of the web directory", m[1])
			continue
		}
		if _, err := os.Stat(filepath.Join(web, filepath.FromSlash(rel))); err != nil {
			t.Errorf("the page loads %s: %v", m[1], err)
		}
	}

	dir := filepath.Join(web, "docs", "swagger-ui")
	sums, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	listed := 0
	for sc := bufio.NewScanner(sums); sc.Scan(); {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s does not match SHA256SUMS: it is not the pinned release file", name)
		}
		listed++
	}
	if listed < 3 {
		t.Errorf("SHA256SUMS lists %d files", listed)
	}
}
