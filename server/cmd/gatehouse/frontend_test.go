package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gatehouse/app/ui"
	"gatehouse/server/config"
	"gatehouse/server/static"
)

var discard = slog.New(slog.DiscardHandler)

// fakeWasm stands for a built app.wasm.
var fakeWasm = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("gatehouse wasm "), 200)...)

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The frontend registers go-app routes globally: build it once per test
// binary. Its directory outlives any one test, so TestMain removes it.
var (
	frontendOnce sync.Once
	frontend     http.Handler
	frontendDir  string
	frontendErr  error
)

// TestMain runs the tests, or, when the test binary was started as
// TestCrashSafety's server (childEnv=serve), `gatehouse serve`.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "serve" {
		os.Exit(serveChild())
	}
	code := m.Run()
	if frontendDir != "" {
		os.RemoveAll(frontendDir)
	}
	os.Exit(code)
}

func sharedFrontend(t *testing.T) http.Handler {
	t.Helper()
	frontendOnce.Do(func() {
		frontendDir, frontendErr = os.MkdirTemp("", "gatehouse-web-")
		if frontendErr != nil {
			return
		}
		for name, content := range map[string][]byte{"app.wasm": fakeWasm, "icon.svg": []byte("<svg/>")} {
			if frontendErr = os.WriteFile(filepath.Join(frontendDir, name), content, 0o644); frontendErr != nil {
				return
			}
		}
		// The compressed copies, as make build writes them.
		if _, frontendErr = static.Compress(filepath.Join(frontendDir, "app.wasm")); frontendErr != nil {
			return
		}
		var cfg *config.Config
		env := map[string]string{"GATEHOUSE_WEB_DIR": frontendDir}
		if cfg, frontendErr = config.Parse("test", nil, func(k string) string { return env[k] }, io.Discard); frontendErr != nil {
			return
		}
		frontend, frontendErr = newFrontend(cfg, discard)
	})
	if frontendErr != nil {
		t.Fatal(frontendErr)
	}
	return frontend
}

func TestFrontend(t *testing.T) {
	h := sharedFrontend(t)

	t.Run("the manifest lists local icons only", func(t *testing.T) {
		rec := get(h, "/manifest.webmanifest")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if strings.Contains(rec.Body.String(), "https://") {
			t.Errorf("the manifest refers to another site:\n%s", rec.Body)
		}
		var m struct {
			Icons []struct{ Src string } `json:"icons"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Icons) == 0 {
			t.Fatal("no icons")
		}
		for _, icon := range m.Icons {
			if !strings.HasPrefix(icon.Src, "/web/") {
				t.Errorf("icon %q is not served from /web/", icon.Src)
			}
		}
	})

	t.Run("the service worker caches every page path for deep links offline", func(t *testing.T) {
		rec := get(h, "/app-worker.js")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		for _, p := range append(ui.Paths, "/web/icon.svg", "/web/early.js") {
			if !strings.Contains(rec.Body.String(), `"`+p+`"`) {
				t.Errorf("app-worker.js does not cache %q", p)
			}
		}
		// A page with a query (/users?q=ann) is the page, offline.
		if !strings.Contains(rec.Body.String(), "ignoreSearch: true") {
			t.Errorf("app-worker.js has no fallback for page addresses with a query:\n%s", rec.Body)
		}
	})

	dir, err := static.Open(frontendDir, discard)
	if err != nil {
		t.Fatal(err)
	}
	hash := dir.Wasm().Hash

	t.Run("the service worker's version is the build and the wasm hash", func(t *testing.T) {
		want := `"` + Version() + "-" + hash + `"`
		if body := get(h, "/app-worker.js").Body.String(); !strings.Contains(body, want) {
			t.Errorf("app-worker.js does not carry the version %s", want)
		}
	})

	t.Run("app.js gives the loader the uncompressed size of app.wasm", func(t *testing.T) {
		want := fmt.Sprintf("const goappWasmContentLength = \"%d\"", len(fakeWasm))
		if body := get(h, "/app.js").Body.String(); !strings.Contains(body, want) {
			t.Errorf("app.js does not carry the size %s", want)
		}
	})

	t.Run("app.wasm is served in the best encoding through the frontend", func(t *testing.T) {
		for _, tt := range []struct{ acceptEncoding, wantCoding, wantETag string }{
			{"gzip, deflate, br", "br", `"` + hash + `-br"`},
			{"gzip, deflate", "gzip", `"` + hash + `-gz"`},
			{"", "", `"` + hash + `"`},
		} {
			rec := get(h, "/web/app.wasm", "Accept-Encoding", tt.acceptEncoding)
			got := rec.Header()
			if rec.Code != http.StatusOK || got.Get("Content-Encoding") != tt.wantCoding || got.Get("ETag") != tt.wantETag || got.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Accept-Encoding %q: status %d, Content-Encoding %q, ETag %s, Vary %q; want 200, %q, %s, Accept-Encoding",
					tt.acceptEncoding, rec.Code, got.Get("Content-Encoding"), got.Get("ETag"), got.Get("Vary"), tt.wantCoding, tt.wantETag)
			}
			if tt.wantCoding == "gzip" && !bytes.Equal(gunzip(t, rec.Body.Bytes()), fakeWasm) {
				t.Error("the body does not gunzip to app.wasm")
			}
		}
	})

	t.Run("a deep link is served the page", func(t *testing.T) {
		rec := get(h, "/users")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("status %d, body %.200q", rec.Code, rec.Body)
		}
	})
}

// The whole frontend hides them too: /web/ goes through the resources
// whatever go-app does in front of them, and a dotted path outside /web/
// is no page.
func TestFrontendHidesDotfiles(t *testing.T) {
	h := sharedFrontend(t)
	if err := os.WriteFile(filepath.Join(frontendDir, ".env"), []byte("leaked"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/web/.env", "/web/%2eenv", "/.env", "/.git/config"} {
		t.Run(p, func(t *testing.T) {
			if rec := get(h, p); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "leaked") {
				t.Errorf("status %d, body %.100q; want 404", rec.Code, rec.Body)
			}
		})
	}
	if rec := get(h, "/web/icon.svg"); rec.Code != http.StatusOK {
		t.Errorf("/web/icon.svg: status %d, want 200", rec.Code)
	}
}

// The pages the server prerenders hold nothing the pages' Content-Security-
// Policy (script-src and style-src 'self', no 'unsafe-inline') would block:
// no inline script, no <style> element, no style attribute, no inline event
// handler, no javascript: URL. The browser test (app/e2e) checks the same
// with Chromium enforcing the policy, after the WebAssembly program has run.
func TestPrerenderedPagesHaveNothingInline(t *testing.T) {
	h := sharedFrontend(t)
	inline := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"a <script> without src", regexp.MustCompile(`(?i)<script(?:\s+(?:[a-z-]+(?:="[^"]*")?))*\s*>`)},
		{"a <style> element", regexp.MustCompile(`(?i)<style[\s>]`)},
		{"a style attribute", regexp.MustCompile(`(?i)\sstyle\s*=`)},
		{"an inline event handler", regexp.MustCompile(`(?i)\son[a-z]+\s*=`)},
		{"a javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
	}
	for _, p := range ui.Paths {
		t.Run(p, func(t *testing.T) {
			rec := get(h, p)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.Contains(body, "<html") {
				t.Fatalf("status %d, body %.200q", rec.Code, body)
			}
			if n := strings.Count(body, "<script"); n < 2 {
				t.Fatalf("%d <script> elements, want go-app's two at least (the check would mean nothing)", n)
			}
			for _, c := range inline {
				for _, m := range c.re.FindAllString(body, -1) {
					if c.what == "a <script> without src" && strings.Contains(m, " src=") {
						continue
					}
					t.Errorf("%s: %q", c.what, m)
				}
			}
		})
	}
}

// og:url names the page under GATEHOUSE_PUBLIC_URL, and without it is left
// out rather than rendered as go-app's "https:///login"; og:image alike.
func TestOGURL(t *testing.T) {
	t.Run("without a public URL the pages have none", func(t *testing.T) {
		rec := get(sharedFrontend(t), "/login")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<form`) {
			t.Fatalf("GET /login: %d\n%s", rec.Code, rec.Body)
		}
		if body := rec.Body.String(); strings.Contains(body, "og:url") || strings.Contains(body, "og:image") || strings.Contains(body, `"https://`) {
			t.Errorf("GET /login has an og:url or og:image:\n%s", body)
		}
		if n := rec.Header().Get("Content-Length"); n != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %s, body %d bytes", n, rec.Body.Len())
		}
	})
	t.Run("with one, the page's address under it", func(t *testing.T) {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<head><meta property="og:url" content="https:///users"><meta content="https://" property="og:image"><title>x</title></head>`)
		})
		rec := get(withOGURL(page, "https://admin.example.com"), "/users")
		want := `<head><meta property="og:url" content="https://admin.example.com/users"><meta property="og:image" content="https://admin.example.com/web/icon-512.png"><title>x</title></head>`
		if rec.Body.String() != want {
			t.Errorf("GET /users:\n%s\nwant\n%s", rec.Body, want)
		}
		// Anything but a page passes untouched.
		if rec := get(withOGURL(page, "https://admin.example.com"), "/web/x"); !strings.Contains(rec.Body.String(), "https:///users") {
			t.Errorf("GET /web/x was rewritten: %s", rec.Body)
		}
	})
}
