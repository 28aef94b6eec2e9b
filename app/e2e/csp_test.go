//go:build !(js && wasm)

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"gatehouse/shared"
)

// pagePolicy is the Content-Security-Policy the PWA's pages must carry
// (DESIGN "Security headers"), with the API's origin in connect-src when
// the API is elsewhere. It is written out here, not taken from the server.
func pagePolicy(apiOrigin string) string {
	connect := "'self'"
	if apiOrigin != "" {
		connect += " " + apiOrigin
	}
	return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
}

// cspViolation is what a securitypolicyviolation event says.
type cspViolation struct {
	Directive   string `json:"directive"`
	Blocked     string `json:"blocked"`
	Source      string `json:"source"`
	Line        int    `json:"line"`
	Sample      string `json:"sample"`
	Disposition string `json:"disposition"`
	Document    string `json:"document"`
}

func (v cspViolation) String() string {
	return fmt.Sprintf("%s blocked %q (%s at %s:%d, sample %q) on %s", v.Directive, v.Blocked, v.Disposition, v.Source, v.Line, v.Sample, v.Document)
}

// cspWatch records, for one tab, every Content-Security-Policy violation
// two ways — the page's securitypolicyviolation events, reported to Go
// through an exposed function that survives navigations, and the browser
// log's and console's messages about the policy — and the policy header
// of every document the tab loaded.
type cspWatch struct {
	mu         sync.Mutex
	violations []cspViolation
	messages   []string
	documents  map[string][]string // URL → its Content-Security-Policy headers
}

// cspListener runs in every document before the page's own scripts and
// hands each violation to Go.
const cspListener = `document.addEventListener("securitypolicyviolation", e => {
	window.gatehouseCSPViolation({
		directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
		source: e.sourceFile, line: e.lineNumber, sample: e.sample,
		disposition: e.disposition, document: e.documentURI,
	});
}, true);`

// watchCSP starts recording before the tab's first navigation.
func watchCSP(b *browser) *cspWatch {
	b.t.Helper()
	w := &cspWatch{documents: make(map[string][]string)}
	b.do("expose the violation recorder", chromedp.ExposeFunc("gatehouseCSPViolation",
		func(_ context.Context, v cspViolation) (chromedp.Void, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.violations = append(w.violations, v)
			return chromedp.Void{}, nil
		}))
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		b.t.Fatalf("add the violation listener: %v", err)
	}
	if err := chromedp.Listen(b.ctx, w.onEvent); err != nil {
		b.t.Fatalf("listen to the tab: %v", err)
	}
	// A test that stopped early (say, a fetch the policy blocked left the
	// page waiting) still says what the policy blocked.
	b.t.Cleanup(func() {
		if !b.t.Failed() {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, v := range w.violations {
			b.t.Logf("Content-Security-Policy violation: %s", v)
		}
		for _, m := range w.messages {
			b.t.Logf("the browser about the Content-Security-Policy: %s", m)
		}
	})
	return w
}

func mentionsCSP(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "content security policy") || strings.Contains(s, "content-security-policy")
}

func (w *cspWatch) onEvent(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *log.EventEntryAdded:
		if e := ev.Entry; mentionsCSP(e.Text) {
			w.messages = append(w.messages, fmt.Sprintf("log %s/%s: %s (%s:%d)", e.Source, e.Level, e.Text, e.URL, e.LineNumber))
		}
	case *runtime.EventConsoleAPICalled:
		for _, a := range ev.Args {
			if text := string(a.Value) + a.Description; mentionsCSP(text) {
				w.messages = append(w.messages, fmt.Sprintf("console.%s: %s", ev.Type, text))
			}
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		if mentionsCSP(text) {
			w.messages = append(w.messages, "exception: "+text)
		}
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument {
			return
		}
		var policies []string
		for k, v := range ev.Response.Headers {
			if strings.EqualFold(k, "Content-Security-Policy") {
				s, _ := v.(string)
				policies = append(policies, strings.Split(s, "\n")...) // repeated headers are joined by \n
			}
		}
		w.documents[ev.Response.URL] = policies
	}
}

// check fails t on any violation or message about the policy, and on a
// document of origin served without exactly the policy want; it wants a
// document for each of paths.
func (w *cspWatch) check(t *testing.T, origin, want string, paths ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.violations {
		t.Errorf("Content-Security-Policy violation: %s", v)
	}
	for _, m := range w.messages {
		t.Errorf("the browser complained about the Content-Security-Policy: %s", m)
	}
	seen := make(map[string]bool)
	for u, got := range w.documents {
		p, err := url.Parse(u)
		if err != nil || p.Scheme+"://"+p.Host != origin {
			continue
		}
		seen[p.Path] = true
		if len(got) != 1 || got[0] != want {
			t.Errorf("document %s came with Content-Security-Policy %q,\nwant %q", u, got, want)
		}
	}
	for _, p := range paths {
		if !seen[p] {
			t.Errorf("no document %s%s was loaded; loaded: %v", origin, p, w.documents)
		}
	}
}

// The PWA runs under its Content-Security-Policy without a single
// violation: go-app's page, its loader and the WebAssembly program, and
// every page an admin sees, with its forms and dialogs — whether the API is
// the page's own origin or another one, which the policy then names. A
// component that set a style attribute, an inline script, or a fetch to an
// origin the policy does not list would show up here.
func TestPagesRunUnderTheContentSecurityPolicy(t *testing.T) {
	needBrowser(t)
	for _, crossOrigin := range []bool{false, true} {
		name := "same origin"
		if crossOrigin {
			name = "API on another origin"
		}
		t.Run(name, func(t *testing.T) {
			var pwa, api *server
			if crossOrigin {
				portA := freePort(t)
				originA := "http://127.0.0.1:" + strconv.Itoa(portA)
				api = startServer(t, "B (API)", map[string]string{"GATEHOUSE_CORS_ORIGINS": originA})
				pwa = startServer(t, "A (PWA)", map[string]string{
					"GATEHOUSE_ADDR":    "127.0.0.1:" + strconv.Itoa(portA),
					"GATEHOUSE_API_URL": api.URL,
				})
			} else {
				pwa = startServer(t, "gatehouse", nil)
				api = pwa
			}
			want := pagePolicy("")
			if crossOrigin {
				want = pagePolicy(api.URL)
			}
			admin := api.login(t, adminUser, adminPassword)
			createUser(t, admin, "olga", "olga-password-1", shared.RoleViewer)

			b := newBrowser(t, pwa.URL)
			w := watchCSP(b)
			visitEveryPage(b)
			b.waitQuiet(500 * time.Millisecond) // late reports of the last page
			w.check(t, pwa.URL, want, "/login", "/", "/users", "/sessions", "/audit", "/profile")
		})
	}
}

// visitEveryPage signs in as the admin and goes through every page, first
// by the navigation (the WebAssembly program renders them), then by
// loading each afresh (the server's prerendered page, then the program
// taking over), waiting each time for what the page loads from the API.
func visitEveryPage(b *browser) {
	b.t.Helper()
	// A failed sign-in shows its error note.
	b.signIn(adminUser, "not-the-password")
	b.waitVisible(`p.error[role=alert]`)

	b.signInAs(adminUser, adminPassword)
	ready := map[string]string{
		"/":         "#signins-chart",
		"/users":    row("olga"),
		"/sessions": "#all-sessions tbody tr",
		"/audit":    "#audit-table tbody tr",
		"/profile":  "#profile-form",
	}
	b.waitVisible(ready["/"])

	b.clickNav("#nav-users", "/users")
	b.waitVisible(ready["/users"])
	// A form and a confirmation dialog, opened and closed.
	b.click("#user-create")
	b.waitVisible("#user-form")
	b.click("#user-form-cancel")
	b.waitGone("#user-form")
	b.click(row("olga") + " .delete-user")
	b.waitVisible("#confirm")
	b.click("#confirm-no")
	b.waitGone("#confirm")

	for _, p := range []string{"/sessions", "/audit", "/profile"} {
		b.clickNav("#nav-"+p[1:], p)
		b.waitVisible(ready[p])
	}
	b.clickNav("#nav-", "/")
	b.waitVisible(ready["/"])

	for _, p := range []string{"/", "/users", "/sessions", "/audit", "/profile"} {
		b.open(p)
		b.waitVisible(ready[p])
	}
}
