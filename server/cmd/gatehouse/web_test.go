package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
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
)

var discard = slog.New(slog.DiscardHandler)

// fakeWasm stands for a built app.wasm.
var fakeWasm = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("gatehouse wasm "), 200)...)

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

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

// webDir writes a web directory: files maps names (with / for
// subdirectories) to contents.
func webDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
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

func TestGunzipMatches(t *testing.T) {
	raw := []byte("the raw bytes")
	full := gz(t, raw)
	tests := []struct {
		name string
		gz   []byte
		want bool
	}{
		{"the gzip of the raw bytes matches", full, true},
		{"the gzip of other bytes does not match", gz(t, []byte("older bytes")), false},
		{"the gzip of a prefix does not match", gz(t, raw[:5]), false},
		{"bytes that are not gzip do not match", raw, false},
		{"a truncated gzip does not match", full[:len(full)-6], false},
		{"nothing does not match", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gunzipMatches(tt.gz, raw); got != tt.want {
				t.Errorf("gunzipMatches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWebResourcesWasm(t *testing.T) {
	// A precompressed app.wasm.gz that matches, told apart from one
	// compressed at start by its header's name.
	var pre bytes.Buffer
	zw := gzip.NewWriter(&pre)
	zw.Name = "precompressed"
	zw.Write(fakeWasm)
	zw.Close()

	tests := []struct {
		name     string
		files    map[string][]byte
		encoding string // Accept-Encoding
		// wantGzip: the body is gzip and decompresses to fakeWasm;
		// otherwise it is fakeWasm itself.
		wantGzip bool
		// wantBody, if set, is the exact body.
		wantBody []byte
	}{
		{
			name:     "a client accepting gzip gets app.wasm compressed",
			files:    map[string][]byte{"app.wasm": fakeWasm},
			encoding: "gzip",
			wantGzip: true,
		},
		{
			name:     "a client not accepting gzip gets the raw app.wasm",
			files:    map[string][]byte{"app.wasm": fakeWasm},
			encoding: "",
		},
		{
			name:     "a client refusing gzip with q=0 gets the raw app.wasm",
			files:    map[string][]byte{"app.wasm": fakeWasm},
			encoding: "br, gzip;q=0",
		},
		{
			name:     "a stale app.wasm.gz beside app.wasm is not served",
			files:    map[string][]byte{"app.wasm": fakeWasm, "app.wasm.gz": gz(t, []byte("an older build"))},
			encoding: "gzip",
			wantGzip: true,
		},
		{
			name:     "an app.wasm.gz that is not gzip is not served",
			files:    map[string][]byte{"app.wasm": fakeWasm, "app.wasm.gz": []byte("garbage")},
			encoding: "gzip",
			wantGzip: true,
		},
		{
			name:     "a matching app.wasm.gz is served as it is",
			files:    map[string][]byte{"app.wasm": fakeWasm, "app.wasm.gz": pre.Bytes()},
			encoding: "gzip",
			wantGzip: true,
			wantBody: pre.Bytes(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := newWebResources(webDir(t, tt.files), discard)
			if err != nil {
				t.Fatal(err)
			}
			rec := get(res, "/web/app.wasm", "Accept-Encoding", tt.encoding)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type = %q, want application/wasm", got)
			}
			if got := h.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			body := rec.Body.Bytes()
			if tt.wantGzip {
				if got := h.Get("Content-Encoding"); got != "gzip" {
					t.Errorf("Content-Encoding = %q, want gzip", got)
				}
				if got := gunzip(t, body); !bytes.Equal(got, fakeWasm) {
					t.Errorf("body gunzips to %d bytes %.20q…, want the %d bytes of app.wasm", len(got), got, len(fakeWasm))
				}
			} else {
				if got := h.Get("Content-Encoding"); got != "" {
					t.Errorf("Content-Encoding = %q, want none", got)
				}
				if !bytes.Equal(body, fakeWasm) {
					t.Errorf("body is %d bytes %.20q…, want the raw app.wasm", len(body), body)
				}
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body is not the precompressed file")
			}
		})
	}
}

func TestWebResources(t *testing.T) {
	icon := []byte("<svg/>")
	dir := webDir(t, map[string][]byte{"app.wasm": fakeWasm, "icon.svg": icon, "sub/inner.css": []byte("b{}")})
	res, err := newWebResources(dir, discard)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		header   []string
		wantCode int
		wantBody []byte // nil: not checked
	}{
		{name: "another file is served as it is", path: "/web/icon.svg", wantCode: http.StatusOK, wantBody: icon},
		{name: "a file in a subdirectory is served", path: "/web/sub/inner.css", wantCode: http.StatusOK, wantBody: []byte("b{}")},
		{name: "the listing of /web/ is refused", path: "/web/", wantCode: http.StatusNotFound},
		{name: "the listing of a subdirectory is refused", path: "/web/sub/", wantCode: http.StatusNotFound},
		{name: "a subdirectory without its slash is refused", path: "/web/sub", wantCode: http.StatusNotFound},
		{name: "a missing file is not found", path: "/web/nope.js", wantCode: http.StatusNotFound},
		{
			name: "a client holding the raw ETag is told app.wasm did not change", path: "/web/app.wasm",
			header: []string{"If-None-Match", `"` + res.wasmHash + `"`}, wantCode: http.StatusNotModified,
		},
		{
			name: "a client holding the gzip ETag is told app.wasm did not change", path: "/web/app.wasm",
			header: []string{"Accept-Encoding", "gzip", "If-None-Match", `"` + res.wasmHash + `-gz"`}, wantCode: http.StatusNotModified,
		},
		{
			name: "the raw ETag does not stand for the gzip body", path: "/web/app.wasm",
			header: []string{"Accept-Encoding", "gzip", "If-None-Match", `"` + res.wasmHash + `"`}, wantCode: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(res, tt.path, tt.header...)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %.100q", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantBody != nil && !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("body = %q, want %q", rec.Body, tt.wantBody)
			}
		})
	}
	t.Run("the hash and size describe app.wasm", func(t *testing.T) {
		if len(res.wasmHash) != 12 || res.wasmHash == "nowasm" {
			t.Errorf("wasmHash = %q, want 12 hex digits", res.wasmHash)
		}
		if res.wasmSize != len(fakeWasm) {
			t.Errorf("wasmSize = %d, want %d", res.wasmSize, len(fakeWasm))
		}
	})
	t.Run("another app.wasm gets another hash", func(t *testing.T) {
		other, err := newWebResources(webDir(t, map[string][]byte{"app.wasm": []byte("\x00asm other")}), discard)
		if err != nil {
			t.Fatal(err)
		}
		if other.wasmHash == res.wasmHash {
			t.Errorf("both builds hash to %q", res.wasmHash)
		}
	})
}

func TestWebResourcesWithoutWasm(t *testing.T) {
	res, err := newWebResources(webDir(t, map[string][]byte{"icon.svg": []byte("<svg/>")}), discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the hash is nowasm", func(t *testing.T) {
		if res.wasmHash != "nowasm" {
			t.Errorf("wasmHash = %q", res.wasmHash)
		}
	})
	t.Run("app.wasm is not found instead of served specially", func(t *testing.T) {
		rec := get(res, "/web/app.wasm", "Accept-Encoding", "gzip")
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Content-Type") == "application/wasm" {
			t.Errorf("status %d with headers\n%s", rec.Code, fmtHeader(rec.Header()))
		}
	})
	t.Run("the other files are still served", func(t *testing.T) {
		if rec := get(res, "/web/icon.svg"); rec.Code != http.StatusOK {
			t.Errorf("icon.svg: status %d", rec.Code)
		}
	})
}

func fmtHeader(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
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

	t.Run("the service worker caches every page path for deep links offline, the SVG icon and the early script", func(t *testing.T) {
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

	t.Run("the service worker's version changes with app.wasm", func(t *testing.T) {
		res, err := newWebResources(frontendDir, discard)
		if err != nil {
			t.Fatal(err)
		}
		if body := get(h, "/app-worker.js").Body.String(); !strings.Contains(body, "-"+res.wasmHash) {
			t.Errorf("app-worker.js does not carry the wasm hash %q", res.wasmHash)
		}
	})

	t.Run("app.wasm is served compressed through the frontend", func(t *testing.T) {
		rec := get(h, "/web/app.wasm", "Accept-Encoding", "gzip")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("status %d, Content-Encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if got := gunzip(t, rec.Body.Bytes()); !bytes.Equal(got, fakeWasm) {
			t.Error("the body does not gunzip to app.wasm")
		}
	})

	t.Run("a deep link is served the page", func(t *testing.T) {
		rec := get(h, "/users")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("status %d, body %.200q", rec.Code, rec.Body)
		}
	})
}

// Nothing whose path has an element starting with a dot is served: not a
// dotfile, not anything under a dot-directory, however the path is
// spelled. Ordinary files beside them still are.
func TestWebResourcesHideDotfiles(t *testing.T) {
	dir := webDir(t, map[string][]byte{
		"app.wasm":        fakeWasm,
		"icon.svg":        []byte("<svg/>"),
		"app.css":         []byte("body{}"),
		".hidden":         []byte("hidden"),
		".env":            []byte("GATEHOUSE_JWT_SECRET=leaked"),
		".git/config":     []byte("[core]"),
		".git/HEAD":       []byte("ref: refs/heads/main"),
		"sub/.x":          []byte("x"),
		"sub/ok.css":      []byte("p{}"),
		".well/known.txt": []byte("k"),
	})
	// Beside the web directory, for the ".." spellings.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := newWebResources(dir, discard)
	if err != nil {
		t.Fatal(err)
	}
	hiddenPaths := []string{
		"/web/.hidden",
		"/web/.env",
		"/web/.git/config",
		"/web/.git/HEAD",
		"/web/.git/",
		"/web/.git",
		"/web/sub/.x",
		"/web/.well/known.txt",
		"/web/%2ehidden",          // an encoded dot
		"/web/%2Egit/config",      // upper-case escape
		"/web/.git%2fconfig",      // an encoded slash
		"/web/sub%2f.x",           // an encoded slash before the dot
		"/web/sub/%2e%2e/.hidden", // an encoded ".." back to a dotfile
		"/web/..%2foutside.txt",   // ".." with an encoded slash
		"/web/%2e%2e/outside.txt", // an encoded ".."
		"/web/../outside.txt",     // a plain ".."
		"/web/sub/../.env",        // ".." then a dotfile
		"/web/./.env",             // "." then a dotfile
	}
	for _, p := range hiddenPaths {
		t.Run("hidden "+p, func(t *testing.T) {
			if rec := get(res, p); rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404; body %.100q", rec.Code, rec.Body)
			}
		})
	}
	served := map[string]string{
		"/web/icon.svg":   "<svg/>",
		"/web/app.css":    "body{}",
		"/web/sub/ok.css": "p{}",
	}
	for p, want := range served {
		t.Run("served "+p, func(t *testing.T) {
			rec := get(res, p)
			if rec.Code != http.StatusOK || rec.Body.String() != want {
				t.Errorf("status %d body %.100q, want 200 %q", rec.Code, rec.Body, want)
			}
		})
	}
	t.Run("served /web/app.wasm", func(t *testing.T) {
		if rec := get(res, "/web/app.wasm"); rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), fakeWasm) {
			t.Errorf("status %d, %d bytes; want 200 and app.wasm", rec.Code, rec.Body.Len())
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
