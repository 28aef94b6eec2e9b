package static

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Each encoding's answer: the right file, its own ETag and length, and
// the headers every answer for app.wasm carries.
func TestServeWasmByEncoding(t *testing.T) {
	dir := precompressed(t, nil)
	d := open(t, dir)
	hash := d.Wasm().Hash
	tests := []struct {
		name           string
		acceptEncoding string
		wantCoding     string // Content-Encoding
		wantFile       string // the file whose bytes are the body
		wantETag       string
	}{
		{"a brotli browser gets br", "gzip, deflate, br, zstd", "br", "app.wasm.br", `"` + hash + `-br"`},
		{"a client refusing br gets gzip", "br;q=0, gzip", "gzip", "app.wasm.gz", `"` + hash + `-gz"`},
		{"a gzip-only client gets gzip", "gzip, deflate", "gzip", "app.wasm.gz", `"` + hash + `-gz"`},
		{"a client without Accept-Encoding gets the raw file", "", "", "app.wasm", `"` + hash + `"`},
		{"a client refusing both gets the raw file", "br;q=0, gzip;q=0", "", "app.wasm", `"` + hash + `"`},
	}
	for _, tt := range tests {
		file, err := os.ReadFile(filepath.Join(dir, tt.wantFile))
		if err != nil {
			t.Fatal(err)
		}
		check := func(t *testing.T, rec interface {
			Result() *http.Response
		}, method string) {
			res := rec.Result()
			h := res.Header
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d, want 200", method, res.StatusCode)
			}
			for k, want := range map[string]string{
				"Content-Type":     "application/wasm",
				"Vary":             "Accept-Encoding",
				"Content-Encoding": tt.wantCoding,
				"ETag":             tt.wantETag,
				"Content-Length":   strconv.Itoa(len(file)),
				"Accept-Ranges":    "bytes",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %s = %q, want %q", method, k, got, want)
				}
			}
			if h.Get("Last-Modified") == "" {
				t.Errorf("%s: no Last-Modified", method)
			}
		}
		t.Run(tt.name, func(t *testing.T) {
			rec := get(d, "/app.wasm", "Accept-Encoding", tt.acceptEncoding)
			check(t, rec, "GET")
			if body := rec.Body.Bytes(); !bytes.Equal(body, file) {
				t.Errorf("the body (%d bytes) is not %s (%d bytes)", len(body), tt.wantFile, len(file))
			}
			if got := decoded(t, tt.wantCoding, rec.Body.Bytes()); !bytes.Equal(got, fakeWasm) {
				t.Errorf("the body does not decode to app.wasm")
			}
		})
		t.Run(tt.name+", also for HEAD", func(t *testing.T) {
			rec := request(d, http.MethodHead, "/app.wasm", "Accept-Encoding", tt.acceptEncoding)
			check(t, rec, "HEAD")
			if rec.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

// Ranges and conditional requests are those of the file served: the
// encoded bytes, under the encoding's own ETag.
func TestServeWasmRangesAndConditions(t *testing.T) {
	dir := precompressed(t, nil)
	d := open(t, dir)
	hash := d.Wasm().Hash
	brFile, err := os.ReadFile(filepath.Join(dir, "app.wasm.br"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a range of the br answer is a range of app.wasm.br", func(t *testing.T) {
		rec := get(d, "/app.wasm", "Accept-Encoding", "br", "Range", "bytes=2-11")
		if rec.Code != http.StatusPartialContent {
			t.Fatalf("status %d, want 206", rec.Code)
		}
		h := rec.Header()
		if got, want := h.Get("Content-Range"), fmt.Sprintf("bytes 2-11/%d", len(brFile)); got != want {
			t.Errorf("Content-Range = %q, want %q", got, want)
		}
		if h.Get("Content-Encoding") != "br" || h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Length") != "10" {
			t.Errorf("headers:\n%s", fmtHeader(h))
		}
		if !bytes.Equal(rec.Body.Bytes(), brFile[2:12]) {
			t.Errorf("body %x, want %x", rec.Body.Bytes(), brFile[2:12])
		}
	})
	t.Run("a range of the raw answer is a range of app.wasm", func(t *testing.T) {
		rec := get(d, "/app.wasm", "Range", "bytes=-4")
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), fakeWasm[len(fakeWasm)-4:]) {
			t.Errorf("status %d, body %q", rec.Code, rec.Body)
		}
	})
	t.Run("a range past the end is not satisfiable", func(t *testing.T) {
		rec := get(d, "/app.wasm", "Accept-Encoding", "gzip", "Range", "bytes=99999999-")
		if rec.Code != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("status %d, want 416", rec.Code)
		}
	})
	t.Run("If-Range with another encoding's ETag gets the whole file", func(t *testing.T) {
		rec := get(d, "/app.wasm", "Accept-Encoding", "br", "Range", "bytes=0-9", "If-Range", `"`+hash+`-gz"`)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), brFile) {
			t.Errorf("status %d, %d bytes; want 200 and all of app.wasm.br", rec.Code, rec.Body.Len())
		}
	})
	conditional := []struct {
		name, acceptEncoding, ifNoneMatch string
		want                              int
	}{
		{"a client holding the br ETag is told nothing changed", "br", `"` + hash + `-br"`, http.StatusNotModified},
		{"a client holding the gzip ETag is told nothing changed", "gzip", `"` + hash + `-gz"`, http.StatusNotModified},
		{"a client holding the raw ETag is told nothing changed", "", `"` + hash + `"`, http.StatusNotModified},
		{"the raw ETag does not stand for the br body", "br", `"` + hash + `"`, http.StatusOK},
		{"the gzip ETag does not stand for the br body", "br", `"` + hash + `-gz"`, http.StatusOK},
		{"the br ETag does not stand for the raw body", "", `"` + hash + `-br"`, http.StatusOK},
		{"an older build's ETag gets the file", "br", `"000000000000-br"`, http.StatusOK},
	}
	for _, tt := range conditional {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(d, "/app.wasm", "Accept-Encoding", tt.acceptEncoding, "If-None-Match", tt.ifNoneMatch)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if got := rec.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q on a %d", got, rec.Code)
			}
		})
	}
}

// A compressed file that does not hold exactly app.wasm is never served;
// the next acceptable encoding is.
func TestStaleCompressedFilesAreIgnored(t *testing.T) {
	goodBr, goodGz := br(t, fakeWasm), gz(t, fakeWasm)
	older := append(bytes.Clone(fakeWasm[:len(fakeWasm)-1]), 'X') // same size, one byte changed
	tests := []struct {
		name          string
		br, gz        []byte // nil: no file
		wantEncodings []string
	}{
		{"both matching are both used", goodBr, goodGz, []string{"br", "gzip"}},
		{"a br of an older build is ignored", br(t, older), goodGz, []string{"gzip"}},
		{"a gzip of an older build is ignored", goodBr, gz(t, older), []string{"br"}},
		{"a br of a prefix is ignored", br(t, fakeWasm[:100]), goodGz, []string{"gzip"}},
		{"a gzip holding more is ignored", goodBr, gz(t, append(bytes.Clone(fakeWasm), '!')), []string{"br"}},
		{"a truncated br is ignored", goodBr[:len(goodBr)/2], goodGz, []string{"gzip"}},
		{"a truncated gzip is ignored", goodBr, goodGz[:len(goodGz)-6], []string{"br"}},
		{"a br with bytes after its end is ignored", append(bytes.Clone(goodBr), "junk"...), goodGz, []string{"gzip"}},
		{"a gzip with bytes after its end is ignored", goodBr, append(bytes.Clone(goodGz), "junk"...), []string{"br"}},
		{"a br that is not brotli is ignored", []byte("garbage"), goodGz, []string{"gzip"}},
		{"a gzip that is not gzip is ignored", goodBr, fakeWasm, []string{"br"}},
		{"empty files are ignored", []byte{}, []byte{}, nil},
		{"missing files are not used", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"app.wasm": fakeWasm}
			if tt.br != nil {
				files["app.wasm.br"] = tt.br
			}
			if tt.gz != nil {
				files["app.wasm.gz"] = tt.gz
			}
			d := open(t, webDir(t, files))
			if got := d.Wasm().Encodings; !slices.Equal(got, tt.wantEncodings) {
				t.Errorf("Encodings = %q, want %q", got, tt.wantEncodings)
			}
			rec := get(d, "/app.wasm", "Accept-Encoding", "br, gzip")
			coding := rec.Header().Get("Content-Encoding")
			if want := append(tt.wantEncodings, "")[0]; coding != want {
				t.Errorf("Content-Encoding = %q, want %q", coding, want)
			}
			if got := decoded(t, coding, rec.Body.Bytes()); rec.Code != http.StatusOK || !bytes.Equal(got, fakeWasm) {
				t.Errorf("status %d; the body does not decode to app.wasm", rec.Code)
			}
		})
	}
}

// A file changed after Open checked it is not served in its encoding; when
// app.wasm itself changed, the server's version names a program that is
// gone, and clients that cannot take a checked copy are told to come back.
func TestFilesChangedAfterStart(t *testing.T) {
	replace := func(t *testing.T, path string, content []byte) {
		t.Helper()
		tmp := path + ".new"
		writeFile(t, tmp, content)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a br replaced since start is skipped for gzip", func(t *testing.T) {
		dir := precompressed(t, nil)
		d := open(t, dir)
		replace(t, filepath.Join(dir, "app.wasm.br"), br(t, []byte("a newer build")))
		rec := get(d, "/app.wasm", "Accept-Encoding", "br, gzip")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("status %d, Content-Encoding %q; want 200 gzip", rec.Code, rec.Header().Get("Content-Encoding"))
		}
	})
	t.Run("a gzip rewritten in place since start is skipped", func(t *testing.T) {
		dir := precompressed(t, nil)
		d := open(t, dir)
		path := filepath.Join(dir, "app.wasm.gz")
		writeFile(t, path, gz(t, []byte("a newer build")))
		rec := get(d, "/app.wasm", "Accept-Encoding", "gzip")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), fakeWasm) {
			t.Errorf("status %d, Content-Encoding %q; want 200 and the raw file", rec.Code, rec.Header().Get("Content-Encoding"))
		}
	})
	t.Run("an app.wasm replaced since start is not served", func(t *testing.T) {
		dir := precompressed(t, nil)
		d := open(t, dir)
		replace(t, filepath.Join(dir, "app.wasm"), []byte("\x00asm a newer build"))
		rec := get(d, "/app.wasm")
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("status %d, headers\n%s; want 503 with Retry-After", rec.Code, fmtHeader(rec.Header()))
		}
		// The checked br still holds the program the version names.
		rec = get(d, "/app.wasm", "Accept-Encoding", "br")
		if rec.Code != http.StatusOK || !bytes.Equal(decoded(t, "br", rec.Body.Bytes()), fakeWasm) {
			t.Errorf("br: status %d; want 200 and the checked app.wasm.br", rec.Code)
		}
	})
	t.Run("an app.wasm removed since start is not served", func(t *testing.T) {
		dir := webDir(t, map[string][]byte{"app.wasm": fakeWasm})
		d := open(t, dir)
		if err := os.Remove(filepath.Join(dir, "app.wasm")); err != nil {
			t.Fatal(err)
		}
		if rec := get(d, "/app.wasm"); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", rec.Code)
		}
	})
}

func TestNotAcceptable(t *testing.T) {
	d := open(t, webDir(t, map[string][]byte{"app.wasm": fakeWasm}))
	rec := get(d, "/app.wasm", "Accept-Encoding", "br, gzip, identity;q=0")
	if rec.Code != http.StatusNotAcceptable || rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Errorf("status %d, headers\n%s; want 406 with Vary", rec.Code, fmtHeader(rec.Header()))
	}
}

func TestWasmDescription(t *testing.T) {
	d := open(t, precompressed(t, nil))
	w := d.Wasm()
	t.Run("the hash is 12 hex digits", func(t *testing.T) {
		if _, err := strconv.ParseUint(w.Hash, 16, 64); len(w.Hash) != 12 || err != nil {
			t.Errorf("Hash = %q, want 12 hex digits", w.Hash)
		}
	})
	t.Run("the size is the uncompressed size", func(t *testing.T) {
		if w.Size != int64(len(fakeWasm)) {
			t.Errorf("Size = %d, want %d", w.Size, len(fakeWasm))
		}
	})
	t.Run("both encodings are served, br first", func(t *testing.T) {
		if !slices.Equal(w.Encodings, []string{"br", "gzip"}) {
			t.Errorf("Encodings = %q", w.Encodings)
		}
	})
	t.Run("another app.wasm gets another hash", func(t *testing.T) {
		other := open(t, webDir(t, map[string][]byte{"app.wasm": []byte("\x00asm other")}))
		if other.Wasm().Hash == w.Hash {
			t.Errorf("both builds hash to %q", w.Hash)
		}
	})
}

func TestWithoutWasm(t *testing.T) {
	d := open(t, webDir(t, map[string][]byte{"icon.svg": []byte("<svg/>"), "app.wasm.gz": gz(t, fakeWasm)}))
	t.Run("the hash is nowasm and the size 0", func(t *testing.T) {
		if w := d.Wasm(); w.Hash != "nowasm" || w.Size != 0 || len(w.Encodings) != 0 {
			t.Errorf("Wasm() = %+v", w)
		}
	})
	t.Run("app.wasm is not found instead of served specially", func(t *testing.T) {
		rec := get(d, "/app.wasm", "Accept-Encoding", "gzip")
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Content-Type") == "application/wasm" {
			t.Errorf("status %d with headers\n%s", rec.Code, fmtHeader(rec.Header()))
		}
	})
	t.Run("the other files are still served", func(t *testing.T) {
		if rec := get(d, "/icon.svg"); rec.Code != http.StatusOK {
			t.Errorf("icon.svg: status %d", rec.Code)
		}
	})
}

func TestOtherFiles(t *testing.T) {
	icon := []byte("<svg/>")
	d := open(t, precompressed(t, map[string][]byte{"icon.svg": icon, "sub/inner.css": []byte("b{}")}))
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantBody []byte // nil: not checked
	}{
		{name: "another file is served as it is", path: "/icon.svg", wantCode: http.StatusOK, wantBody: icon},
		{name: "a file in a subdirectory is served", path: "/sub/inner.css", wantCode: http.StatusOK, wantBody: []byte("b{}")},
		{name: "the listing of the directory is refused", path: "/", wantCode: http.StatusNotFound},
		{name: "the listing of a subdirectory is refused", path: "/sub/", wantCode: http.StatusNotFound},
		{name: "a subdirectory without its slash is refused", path: "/sub", wantCode: http.StatusNotFound},
		{name: "a missing file is not found", path: "/nope.js", wantCode: http.StatusNotFound},
		{name: "app.wasm.br has no URL of its own", path: "/app.wasm.br", wantCode: http.StatusNotFound},
		{name: "app.wasm.gz has no URL of its own", path: "/app.wasm.gz", wantCode: http.StatusNotFound},
		{name: "nor by another spelling", path: "/sub/../app.wasm.gz", wantCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(d, tt.path, "Accept-Encoding", "br, gzip")
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %.100q", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantBody != nil && !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("body = %q, want %q", rec.Body, tt.wantBody)
			}
			if rec.Header().Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding %q on a file served as it is", rec.Header().Get("Content-Encoding"))
			}
		})
	}
}

// Nothing whose path has an element starting with a dot is served: not a
// dotfile, not anything under a dot-directory, however the path is
// spelled. Ordinary files beside them still are.
func TestHideDotfiles(t *testing.T) {
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
		// What Compress leaves while it writes.
		".app.wasm.br.123456": []byte("half a file"),
	})
	// Beside the web directory, for the ".." spellings.
	writeFile(t, filepath.Join(filepath.Dir(dir), "outside.txt"), []byte("outside"))
	d := open(t, dir)
	hiddenPaths := []string{
		"/.hidden",
		"/.env",
		"/.git/config",
		"/.git/HEAD",
		"/.git/",
		"/.git",
		"/sub/.x",
		"/.well/known.txt",
		"/.app.wasm.br.123456",
		"/%2ehidden",          // an encoded dot
		"/%2Egit/config",      // upper-case escape
		"/.git%2fconfig",      // an encoded slash
		"/sub%2f.x",           // an encoded slash before the dot
		"/sub/%2e%2e/.hidden", // an encoded ".." back to a dotfile
		"/..%2foutside.txt",   // ".." with an encoded slash
		"/%2e%2e/outside.txt", // an encoded ".."
		"/../outside.txt",     // a plain ".."
		"/sub/../.env",        // ".." then a dotfile
		"/./.env",             // "." then a dotfile
	}
	for _, p := range hiddenPaths {
		t.Run("hidden "+p, func(t *testing.T) {
			if rec := get(d, p); rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404; body %.100q", rec.Code, rec.Body)
			}
		})
	}
	served := map[string]string{
		"/icon.svg":   "<svg/>",
		"/app.css":    "body{}",
		"/sub/ok.css": "p{}",
	}
	for p, want := range served {
		t.Run("served "+p, func(t *testing.T) {
			rec := get(d, p)
			if rec.Code != http.StatusOK || rec.Body.String() != want {
				t.Errorf("status %d body %.100q, want 200 %q", rec.Code, rec.Body, want)
			}
		})
	}
	t.Run("served /app.wasm", func(t *testing.T) {
		if rec := get(d, "/app.wasm"); rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), fakeWasm) {
			t.Errorf("status %d, %d bytes; want 200 and app.wasm", rec.Code, rec.Body.Len())
		}
	})
}

// Open checks the files as streams and the answers are the files: neither
// holds app.wasm in memory, however big it is.
func TestFilesAreNotHeldInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 32 MiB")
	}
	const size = 16 << 20
	big := make([]byte, size)
	for i := range big {
		big[i] = byte(i*7 + i>>12) // compressible, but not trivially
	}
	dir := webDir(t, map[string][]byte{"app.wasm": big, "app.wasm.gz": gz(t, big)})
	big = nil
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var d *Dir
	const limit = 2 << 20
	n := allocated(func() { d = open(t, dir) })
	t.Logf("Open allocated %d bytes for a %d-byte app.wasm and its gzip", n, size)
	if n > limit {
		t.Errorf("Open allocated %d bytes for a %d-byte app.wasm and its gzip, want at most %d", n, size, limit)
	}
	if got := d.Wasm(); got.Size != size || !slices.Equal(got.Encodings, []string{"gzip"}) {
		t.Fatalf("Wasm() = %+v", got)
	}
	for _, enc := range []string{"gzip", ""} {
		srv := newCountingServer(t, d)
		if n := allocated(func() { srv.get(t, "/app.wasm", enc) }); n > limit {
			t.Errorf("serving app.wasm (Accept-Encoding %q) allocated %d bytes, want at most %d", enc, n, limit)
		}
	}
}

// countingServer serves a handler over a real connection, whose body the
// client counts without keeping, so that only the server's allocations
// and the transport's buffers count.
type countingServer struct {
	url    string
	client *http.Client
}

func newCountingServer(t *testing.T, h http.Handler) *countingServer {
	t.Helper()
	srv := httptestServer(t, h)
	return &countingServer{url: srv, client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableCompression: true}}}
}

func (s *countingServer) get(t *testing.T, path, acceptEncoding string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf [32 << 10]byte
	var n int64
	for {
		m, err := res.Body.Read(buf[:])
		n += int64(m)
		if err != nil {
			break
		}
	}
	if res.StatusCode != http.StatusOK || n != res.ContentLength {
		t.Errorf("status %d, read %d of %d bytes", res.StatusCode, n, res.ContentLength)
	}
}
