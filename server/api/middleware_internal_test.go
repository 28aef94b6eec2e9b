package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readerFromRecorder is a ResponseWriter with a ReadFrom, like the
// server's own, that records what it was handed.
type readerFromRecorder struct {
	*httptest.ResponseRecorder
	got io.Reader
}

func (r *readerFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.got = src
	return io.Copy(r.ResponseRecorder, src)
}

// A file served through the request log's wrapper reaches the server's
// ReadFrom as the file itself, which is what lets the kernel send it
// (sendfile); the wrapper still counts the status and bytes.
func TestStatusWriterHandsFilesOn(t *testing.T) {
	content := []byte("the bytes of a file in the web directory")
	path := filepath.Join(t.TempDir(), "app.wasm")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	rec := &readerFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	sw := &statusWriter{ResponseWriter: rec}
	http.ServeContent(sw, httptest.NewRequest(http.MethodGet, "/web/app.wasm", nil), "", time.Time{}, f)

	var file io.Reader = rec.got
	if lr, ok := file.(*io.LimitedReader); ok {
		file = lr.R
	}
	if file != f {
		t.Errorf("the ResponseWriter's ReadFrom got %T, want the *os.File (alone or in an *io.LimitedReader)", rec.got)
	}
	if rec.Body.String() != string(content) {
		t.Errorf("body %q, want %q", rec.Body, content)
	}
	if sw.status != http.StatusOK || sw.bytes != len(content) {
		t.Errorf("the wrapper counted status %d and %d bytes, want 200 and %d", sw.status, sw.bytes, len(content))
	}
}
