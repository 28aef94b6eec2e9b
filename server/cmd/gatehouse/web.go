package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/ui"
	"gatehouse/server/config"
)

// newFrontend returns the handler of the PWA: go-app's page, manifest and
// service worker handler, with static files from cfg.WebDir and app.wasm
// served gzip-compressed.
func newFrontend(cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	res, err := newWebResources(cfg.WebDir, log)
	if err != nil {
		return nil, err
	}
	ui.Routes(ui.NewEnv(cfg.APIURL))
	h := &app.Handler{
		Name:        "Gatehouse",
		ShortName:   "Gatehouse",
		Title:       "Gatehouse",
		Description: "Administer users, sessions and the audit log.",
		Lang:        "en",
		Icon: app.Icon{
			Default:  "/web/icon-192.png",
			Large:    "/web/icon-512.png",
			Maskable: "/web/icon-512.png",
			SVG:      "/web/icon.svg",
		},
		BackgroundColor: "#f6f7f9",
		ThemeColor:      "#1f3a5f",
		LoadingLabel:    "Loading Gatehouse… {progress}%",
		Styles:          []string{"/web/app.css"},
		// Every page path, so that a deep link reloads offline, and the
		// SVG icon the pages link to (go-app caches only the PNG ones).
		CacheableResources: append(slices.Clone(ui.Paths), "/web/icon.svg"),
		// The sign-in form's helper before the wasm runs (web/early.js).
		Scripts:               []string{"/web/early.js defer"},
		ServiceWorkerTemplate: workerWithPageFallback(app.DefaultAppWorkerJS),
		// The version changes with the server build and with app.wasm, so
		// clients are told about an update exactly when there is one.
		Version:           Version() + "-" + res.wasmHash,
		WasmContentLength: strconv.Itoa(res.wasmSize),
		Env:               map[string]string{"GATEHOUSE_API_URL": cfg.APIURL},
		Resources:         res,
	}
	return withOGURL(h, cfg.PublicURL), nil
}

// workerWithPageFallback is go-app's service worker, except that a page
// address with a query (/users?q=ann&page=2), which its cache does not
// hold, is answered offline by the page without the query: the app reads
// the query itself. Online nothing changes.
func workerWithPageFallback(worker string) string {
	const fetchLine = "  return await fetch(request);\n}"
	return strings.Replace(worker, fetchLine, `  try {
    return await fetch(request);
  } catch (err) {
    const page = request.mode === "navigate" && (await caches.match(request, { ignoreSearch: true }));
    if (page) {
      return page;
    }
    throw err;
  }
}`, 1)
}

// ogTags are the og:url and og:image meta tags go-app writes into every
// page, as "https://" + Handler.Domain + path: "https:///login" and
// "https://" without a domain. go-app writes attributes in map order.
var ogTags = regexp.MustCompile(`<meta (?:content="[^"]*" )?property="og:(?:url|image)"(?: content="[^"]*")?>`)

// withOGURL serves h with the og:url tag of its pages (ui.Paths) naming
// the page under publicURL (GATEHOUSE_PUBLIC_URL), and og:image the large
// icon there; without a public URL both are left out: the server cannot
// know its public address otherwise.
func withOGURL(h http.Handler, publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(ui.Paths, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		page := &pageBuffer{header: w.Header()}
		h.ServeHTTP(page, r)
		base := strings.TrimRight(publicURL, "/")
		body := ogTags.ReplaceAllFunc(page.body.Bytes(), func(tag []byte) []byte {
			if base == "" {
				return nil
			}
			prop, path := "og:url", r.URL.Path
			if bytes.Contains(tag, []byte(`"og:image"`)) {
				prop, path = "og:image", "/web/icon-512.png"
			}
			return []byte(`<meta property="` + prop + `" content="` + html.EscapeString(base+path) + `">`)
		})
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(cmp.Or(page.status, http.StatusOK))
		w.Write(body)
	})
}

// pageBuffer holds a page's answer (a few kilobytes) until it is rewritten.
type pageBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *pageBuffer) Header() http.Header { return p.header }
func (p *pageBuffer) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
func (p *pageBuffer) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.body.Write(b)
}

// webResources serves /web/ from a directory: app.wasm compressed when the
// client accepts gzip, everything else as files.
type webResources struct {
	files    http.Handler
	wasm     []byte // raw
	wasmGz   []byte // gzip
	wasmHash string
	wasmSize int
	modTime  time.Time
}

func newWebResources(dir string, log *slog.Logger) (*webResources, error) {
	r := &webResources{files: http.StripPrefix("/web/", http.FileServer(publicFiles{http.Dir(dir)})), wasmHash: "nowasm"}
	path := filepath.Join(dir, "app.wasm")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("the frontend is not built: run make build", "missing", path)
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	r.wasm, r.wasmSize, r.wasmHash, r.modTime = raw, len(raw), hex.EncodeToString(sum[:6]), st.ModTime()
	if gz, err := os.ReadFile(path + ".gz"); err == nil && gunzipMatches(gz, raw) {
		r.wasmGz = gz
	} else {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(raw)
		zw.Close()
		r.wasmGz = b.Bytes()
		log.Info("compressed app.wasm at start (make build does it ahead of time)", "raw", len(raw), "gzip", len(r.wasmGz))
	}
	return r, nil
}

// gunzipMatches reports whether gz decompresses to raw, so that a stale
// app.wasm.gz left beside a new app.wasm is never served.
func gunzipMatches(gz, raw []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return false
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		return false
	}
	return bytes.Equal(b.Bytes(), raw)
}

// Resolve leaves paths as they are: /web/ is served from this origin.
func (r *webResources) Resolve(location string) string { return location }

func (r *webResources) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/web/app.wasm" || r.wasm == nil {
		r.files.ServeHTTP(w, req)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", `"`+r.wasmHash+`"`)
	body := r.wasm
	if acceptsGzip(req.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", `"`+r.wasmHash+`-gz"`)
		body = r.wasmGz
	}
	http.ServeContent(w, req, "app.wasm", r.modTime, bytes.NewReader(body))
}

func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			f, err := strconv.ParseFloat(q, 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
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
// reaches a hidden file another way.
type publicFiles struct{ fs http.FileSystem }

func (n publicFiles) Open(name string) (http.File, error) {
	if hidden(name) {
		return nil, fs.ErrNotExist
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
