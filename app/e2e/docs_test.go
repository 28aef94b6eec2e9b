//go:build !(js && wasm)

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
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

	"gatehouse/shared"
)

// docsPolicy is the Content-Security-Policy the page of /api/docs must
// carry, written out here rather than taken from the server: scripts,
// styles and fetches from the server only, the viewer's icons as data:
// images, nothing inline.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// netLog records the URL of every request a tab sends, whatever it is for.
type netLog struct {
	mu   sync.Mutex
	urls []string
}

func watchNetwork(b *browser) *netLog {
	b.t.Helper()
	n := new(netLog)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			n.mu.Lock()
			n.urls = append(n.urls, ev.Request.URL)
			n.mu.Unlock()
		}
	}); err != nil {
		b.t.Fatalf("listen to the tab: %v", err)
	}
	return n
}

// offOrigin returns the URLs that were not on origin. data: URLs (the
// viewer's icons, inlined in its stylesheet) never leave the browser.
func (n *netLog) offOrigin(origin string) (off []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, u := range n.urls {
		if strings.HasPrefix(u, "data:") {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme+"://"+p.Host != origin {
			off = append(off, u)
		}
	}
	return off
}

// sent reports whether a request for u (its fragment aside) was sent.
func (n *netLog) sent(u string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.ContainsFunc(n.urls, func(s string) bool { s, _, _ = strings.Cut(s, "#"); return s == u })
}

// /api/docs renders the API's OpenAPI description with the viewer the
// repository carries: every operation is listed, one can be opened and
// tried against the server, no request leaves the server, and nothing
// breaks the page's Content-Security-Policy. The first view is saved as
// web/screenshots/api-docs.png, the README's picture (byte for byte the
// same from run to run with the same Chromium, so git sees a change only
// when the page or the browser changed).
func TestAPIDocs(t *testing.T) {
	needBrowser(t)
	srv := startServer(t, "gatehouse", nil)

	// What the page must list: every operation of the description the
	// server serves.
	resp, err := http.Get(srv.URL + shared.PathOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Info  struct{ Title string }
		Paths map[string]map[string]json.RawMessage
	}
	err = json.NewDecoder(resp.Body).Decode(&spec)
	resp.Body.Close()
	if err != nil || spec.Info.Title == "" {
		t.Fatalf("GET %s: %v (title %q)", shared.PathOpenAPI, err, spec.Info.Title)
	}
	ops := 0
	for _, item := range spec.Paths {
		ops += len(item)
	}

	b := newBrowser(t, srv.URL)
	w := watchCSP(b)
	n := watchNetwork(b)
	b.do("size the window", chromedp.EmulateViewport(1280, 1500))
	b.do("open "+shared.PathDocs, chromedp.Navigate(srv.URL+shared.PathDocs))

	b.waitText(".swagger-ui .info .title", spec.Info.Title)
	b.waitFor("every operation to be listed", "document.querySelectorAll('.swagger-ui .opblock').length === "+strconv.Itoa(ops))
	if got := b.count(".swagger-ui .opblock"); got != ops {
		t.Errorf("the page lists %d operations, the description has %d", got, ops)
	}
	if b.count(".swagger-ui .errors-wrapper") != 0 {
		t.Errorf("the viewer reports errors: %s", b.text(".swagger-ui .errors-wrapper"))
	}
	b.waitQuiet(300 * time.Millisecond)
	saveScreenshot(t, b, filepath.Join("web", "screenshots", "api-docs.png"))

	// Open the token endpoint: its form, its responses and their schemas
	// render too.
	const token = "#operations-auth-token"
	b.click(token + " .opblock-summary-control")
	b.waitVisible(token + " .responses-wrapper")
	b.waitText(token+" .responses-wrapper", "invalid_grant")

	// Try the liveness check against the server.
	const health = "#operations-operations-health"
	b.click(health + " .opblock-summary-control")
	b.click(health + " .try-out__btn")
	b.click(health + " .execute")
	b.waitText(health+" .live-responses-table tbody .response-col_status", "200")
	b.waitText(health+" .live-responses-table tbody .response-col_description", `"status": "ok"`)

	b.waitQuiet(500 * time.Millisecond)
	w.check(t, srv.URL, docsPolicy, shared.PathDocs)
	for _, u := range n.offOrigin(srv.URL) {
		t.Errorf("the page sent a request off the server: %s", u)
	}
	// The log saw what the page did load, so its silence above means
	// something.
	for _, p := range []string{shared.PathDocs, "/web/docs/swagger-ui/swagger-ui-bundle.js", shared.PathOpenAPI, shared.PathHealth} {
		if !n.sent(srv.URL + p) {
			t.Errorf("no request for %s was recorded: the network log is not working", p)
		}
	}
}

// saveScreenshot saves what the tab shows (the viewport) to rel, a path
// from the repository root.
func saveScreenshot(t *testing.T, b *browser, rel string) {
	t.Helper()
	dir, err := screenshotDir() // <root>/.screenshots
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	name := filepath.Join(filepath.Dir(dir), rel)
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot: %s", name)
}
