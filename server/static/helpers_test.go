package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

var discard = slog.New(slog.DiscardHandler)

// fakeWasm stands for a built app.wasm.
var fakeWasm = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("gatehouse wasm "), 2000)...)

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

func br(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := brotli.NewWriterLevel(&buf, brotli.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decoded returns what body holds in the Content-Encoding coding.
func decoded(t testing.TB, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	switch coding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(r)
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", coding, err)
	}
	return out
}

// webDir writes a web directory: files maps names (with / for
// subdirectories) to contents.
func webDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	return dir
}

func writeFile(t testing.TB, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// precompressed is a web directory holding fakeWasm with both compressed
// files, as make build leaves it.
func precompressed(t testing.TB, extra map[string][]byte) string {
	t.Helper()
	files := map[string][]byte{"app.wasm": fakeWasm}
	for k, v := range extra {
		files[k] = v
	}
	dir := webDir(t, files)
	if _, err := Compress(filepath.Join(dir, "app.wasm")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t testing.TB, dir string) *Dir {
	t.Helper()
	d, err := Open(dir, discard)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func request(h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	return request(h, http.MethodGet, path, header...)
}

func fmtHeader(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}

// httptestServer serves h on a loopback port until the test ends and
// returns its URL.
func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
