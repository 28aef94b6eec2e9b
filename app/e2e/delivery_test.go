//go:build !(js && wasm)

package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The first visit fetches app.wasm compressed, the body exactly the
// compressed file (Content-Length and all), and the program decodes and
// runs (open waits for it): in brotli, which Chromium offers even over
// plain http on 127.0.0.1 (a secure context); and in gzip when the web
// directory has no brotli file. Each case logs what Chromium offered.
func TestWasmArrivesCompressed(t *testing.T) {
	needBrowser(t)
	tests := []struct {
		name    string
		without string // a file of the web directory left out
		want    string // Content-Encoding
		file    string // the file the body must be
	}{
		{name: "brotli", want: "br", file: "app.wasm.br"},
		{name: "gzip without a brotli file", without: "app.wasm.br", want: "gzip", file: "app.wasm.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			web := setup.web
			if tt.without != "" {
				web = linkWebDir(t, tt.without)
			}
			srv := startServer(t, "gatehouse", map[string]string{"GATEHOUSE_WEB_DIR": web})
			b := newBrowser(t, srv.URL)
			got := watchWasmFetch(t, b)
			b.open("/login")
			f := got.wait(t)
			t.Logf("Chromium sent Accept-Encoding: %q for app.wasm and got %d, Content-Encoding %q, Content-Length %s, %.0f bytes received",
				f.acceptEncoding, f.status, f.contentEncoding, f.contentLength, f.received)

			if !strings.Contains(f.acceptEncoding, tt.want) {
				t.Fatalf("Chromium did not offer %s", tt.want)
			}
			if f.status != 200 || f.contentEncoding != tt.want || f.vary != "Accept-Encoding" {
				t.Errorf("app.wasm: status %d, Content-Encoding %q, Vary %q; want 200, %q, Accept-Encoding",
					f.status, f.contentEncoding, f.vary, tt.want)
			}
			st, err := os.Stat(filepath.Join(setup.web, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if want := strconv.FormatInt(st.Size(), 10); f.contentLength != want {
				t.Errorf("Content-Length %q, want the size of %s, %s", f.contentLength, tt.file, want)
			}
			// The body and, a few kilobytes at most, the headers.
			if size := float64(st.Size()); f.received < size || f.received > size+4096 {
				t.Errorf("the tab received %.0f bytes for app.wasm, want the %d of %s and its headers", f.received, st.Size(), tt.file)
			}
		})
	}
}

// linkWebDir returns a web directory holding a symbolic link to each file
// of the built one, except those named.
func linkWebDir(t *testing.T, except ...string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(setup.web)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || slices.Contains(except, e.Name()) {
			continue
		}
		if err := os.Symlink(filepath.Join(setup.web, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wasmFetch is what the tab saw of its request for /web/app.wasm.
type wasmFetch struct {
	acceptEncoding  string // as sent on the wire
	status          int64
	contentEncoding string
	contentLength   string
	vary            string
	received        float64 // bytes received, headers included, before decoding
	finished        bool
}

// wasmWatch follows the tab's first request for /web/app.wasm.
type wasmWatch struct {
	mu    sync.Mutex
	id    network.RequestID
	fetch wasmFetch
	sent  map[network.RequestID]network.Headers // the headers on the wire, by request
}

// watchWasmFetch starts following b's network events; call it before the
// page loads.
func watchWasmFetch(t *testing.T, b *browser) *wasmWatch {
	t.Helper()
	w := &wasmWatch{sent: map[network.RequestID]network.Headers{}}
	if err := chromedp.Listen(b.ctx, w.onEvent); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *wasmWatch) onEvent(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if u, err := url.Parse(ev.Request.URL); err == nil && u.Path == "/web/app.wasm" && w.id == "" {
			w.id = ev.RequestID
		}
	case *network.EventRequestWillBeSentExtraInfo:
		w.sent[ev.RequestID] = ev.Headers
	case *network.EventResponseReceived:
		if ev.RequestID == w.id {
			h := ev.Response.Headers
			w.fetch.status = ev.Response.Status
			w.fetch.contentEncoding = header(h, "Content-Encoding")
			w.fetch.contentLength = header(h, "Content-Length")
			w.fetch.vary = header(h, "Vary")
		}
	case *network.EventLoadingFinished:
		if ev.RequestID == w.id {
			w.fetch.received = ev.EncodedDataLength
			w.fetch.finished = true
		}
	}
}

// wait returns the fetch once it finished, or fails t after a while.
func (w *wasmWatch) wait(t *testing.T) wasmFetch {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		w.mu.Lock()
		f, id := w.fetch, w.id
		f.acceptEncoding = header(w.sent[id], "Accept-Encoding")
		w.mu.Unlock()
		if f.finished {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab did not fetch /web/app.wasm to the end within %v (request %q, %+v)", waitTimeout, id, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// header returns the value of the named header, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if s, ok := v.(string); ok && strings.EqualFold(k, name) {
			return s
		}
	}
	return ""
}
