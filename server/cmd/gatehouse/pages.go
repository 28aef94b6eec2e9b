package main

import (
	"bytes"
	"cmp"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gatehouse/app/ui"
)

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
