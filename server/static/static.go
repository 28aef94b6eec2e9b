// Package static serves the PWA's web directory: its files as they are,
// nothing hidden (no dotfile, nothing under a dot-directory, no listing),
// and app.wasm in the best encoding the client accepts — brotli, gzip or
// none — from files compressed ahead of time (Compress, run by make build).
//
// Nothing is held in memory: every answer is a file opened for that
// request and handed to http.ServeContent, which takes care of HEAD,
// Range and the conditional requests (and lets the kernel send the file
// with sendfile). At start, Open hashes app.wasm and decompresses each
// compressed file as a stream, so that one whose content is not exactly
// app.wasm (left by an older build, or damaged) is never served.
package static

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WasmName is the file name of the WebAssembly program in the directory.
const WasmName = "app.wasm"

// wasmPath is its path in the URLs the Dir serves.
const wasmPath = "/" + WasmName

// Dir serves a web directory. Build it with Open.
type Dir struct {
	files http.Handler
	log   *slog.Logger
	wasm  Wasm
	// variants are the files app.wasm is served from, best first; the
	// last is app.wasm itself. Empty when app.wasm is not built.
	variants []variant
}

// Wasm describes the app.wasm a Dir serves.
type Wasm struct {
	// Hash is the first 12 hex digits of app.wasm's SHA-256, or "nowasm"
	// when it is not built.
	Hash string
	// Size is the size of app.wasm in bytes (uncompressed).
	Size int64
	// Encodings are the content codings it is served in besides identity,
	// in the order they are preferred: those of the compressed files that
	// were found and hold exactly app.wasm.
	Encodings []string
}

// variant is one file app.wasm is served from.
type variant struct {
	coding coding
	path   string
	etag   string
	// info is the file as it was when Open checked it: a file that is no
	// longer this one (replaced or rewritten since) is not served.
	info fs.FileInfo
}

// Open checks the web directory dir and returns its handler. A missing
// app.wasm is logged and then not found, like any missing file; a
// compressed file that is missing or does not hold app.wasm is logged and
// not used.
func Open(dir string, log *slog.Logger) (*Dir, error) {
	d := &Dir{
		files: http.FileServer(publicFiles{http.Dir(dir)}),
		log:   log,
		wasm:  Wasm{Hash: "nowasm"},
	}
	path := filepath.Join(dir, WasmName)
	raw, err := digestFile(path, identity)
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("the frontend is not built: run make build", "missing", path)
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.wasm.Hash, d.wasm.Size = hex.EncodeToString(raw.sum[:6]), raw.size
	for _, c := range compressed {
		p := path + c.ext
		got, err := digestFile(p, c)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			log.Warn("no precompressed app.wasm for this encoding: run make build", "missing", p, "encoding", c.name)
			continue
		case err == nil && got.sum != raw.sum:
			err = errors.New("it holds another app.wasm (an older build?)")
		}
		if err != nil {
			log.Warn("not serving a precompressed app.wasm that does not match app.wasm: run make build", "file", p, "err", err)
			continue
		}
		d.wasm.Encodings = append(d.wasm.Encodings, c.name)
		d.variants = append(d.variants, variant{coding: c, path: p, etag: `"` + d.wasm.Hash + "-" + c.tag + `"`, info: got.info})
	}
	d.variants = append(d.variants, variant{coding: identity, path: path, etag: `"` + d.wasm.Hash + `"`, info: raw.info})
	log.Info("serving app.wasm", "hash", d.wasm.Hash, "size", d.wasm.Size, "encodings", d.wasm.Encodings)
	return d, nil
}

// Wasm describes the app.wasm the Dir serves.
func (d *Dir) Wasm() Wasm { return d.wasm }

// ServeHTTP serves the file named by the request's path, relative to the
// directory (so /app.wasm is dir/app.wasm: strip any prefix before).
func (d *Dir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == wasmPath && len(d.variants) > 0 {
		d.serveWasm(w, r)
		return
	}
	d.files.ServeHTTP(w, r)
}

// serveWasm serves app.wasm from the variant the client prefers among
// those it accepts, always with Vary: Accept-Encoding: 406 Not Acceptable
// when it refuses them all (identity included, with identity;q=0 or
// *;q=0), 503 when app.wasm itself changed since Open checked it (the
// server's version names the old one: it must be restarted).
func (d *Dir) serveWasm(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	accepted := negotiate(strings.Join(r.Header.Values("Accept-Encoding"), ","), d.variants)
	if len(accepted) == 0 {
		http.Error(w, "app.wasm is available only in the encodings "+d.available()+"; the request accepts none", http.StatusNotAcceptable)
		return
	}
	for _, v := range accepted {
		f, info, err := openSame(v)
		if err != nil {
			d.log.Error("app.wasm changed since the server started: not serving it in this encoding; restart the server", "file", v.path, "err", err)
			continue
		}
		defer f.Close()
		h.Set("Content-Type", "application/wasm")
		if v.coding.name != "" {
			h.Set("Content-Encoding", v.coding.name)
			// ServeContent leaves Content-Length out of a whole answer
			// that has a Content-Encoding (for handlers that compress as
			// they write); this one is the file. It sets its own for a
			// range and drops it from a 304 or an error.
			h.Set("Content-Length", strconv.FormatInt(info.Size(), 10))
		}
		h.Set("ETag", v.etag)
		http.ServeContent(w, r, "", info.ModTime(), f)
		return
	}
	w.Header().Set("Retry-After", "60")
	http.Error(w, "app.wasm changed since the server started: it must be restarted", http.StatusServiceUnavailable)
}

// available lists the codings the wasm is served in, for a 406 answer.
func (d *Dir) available() string {
	names := make([]string, 0, len(d.variants))
	for _, v := range d.variants {
		names = append(names, v.coding.token())
	}
	return strings.Join(names, ", ")
}

// openSame opens v's file and returns it with its FileInfo when it is
// still the file Open checked: the same file (not one renamed over it),
// with the same size and modification time.
func openSame(v variant) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(v.path)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !sameFile(info, v.info) {
		err = errors.New("not the file checked at start")
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func sameFile(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// digest is what a file holds once decoded: the SHA-256 and size of its
// content, and the file's FileInfo as it was when read.
type digest struct {
	sum  [sha256.Size]byte
	size int64
	info fs.FileInfo
}

// digestFile decodes the file at path with c as a stream and returns the
// digest of what it holds. It fails when the file changed while it was
// read, or does not decode completely.
func digestFile(path string, c coding) (digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return digest{}, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return digest{}, err
	}
	if !before.Mode().IsRegular() {
		return digest{}, fmt.Errorf("%s is not a regular file", path)
	}
	d, err := digestReader(f, c)
	if err != nil {
		return digest{}, fmt.Errorf("%s: %w", path, err)
	}
	after, err := f.Stat()
	if err != nil {
		return digest{}, err
	}
	if !sameFile(before, after) {
		return digest{}, fmt.Errorf("%s changed while it was read", path)
	}
	d.info = after
	return d, nil
}

// digestReader decodes r with c and hashes what it holds.
func digestReader(r io.Reader, c coding) (digest, error) {
	dec, err := c.decode(r)
	if err != nil {
		return digest{}, err
	}
	hash := sha256.New()
	n, err := io.Copy(hash, dec)
	if err != nil {
		return digest{}, err
	}
	if err := dec.Close(); err != nil {
		return digest{}, err
	}
	var d digest
	hash.Sum(d.sum[:0])
	d.size = n
	return d, nil
}

// hidden reports whether a slash-separated path has an element starting
// with a dot: a dotfile (.env) or anything under a dot-directory
// (.git/config).
func hidden(path string) bool {
	for elem := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}

// publicFiles is the web directory as served: no directory listings, no
// dotfiles and nothing under a dot-directory (404, as for a missing file).
// An editor's swap file, a checkout's .git or a deployment's .env left in
// the web directory must not be published. The file server hands Open the
// decoded, cleaned path, so no spelling of the URL (%2e, %2f, "..")
// reaches a hidden file another way. The compressed copies of app.wasm are
// not published under their own names either: app.wasm has one URL, and
// those files are checked only when served as it.
type publicFiles struct{ fs http.FileSystem }

func (n publicFiles) Open(name string) (http.File, error) {
	if hidden(name) {
		return nil, fs.ErrNotExist
	}
	for _, c := range compressed {
		if name == wasmPath+c.ext {
			return nil, fs.ErrNotExist
		}
	}
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}
