//go:build !(js && wasm)

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Helpers that put the browser in the situations people meet: a phone's
// width, a dark scheme, a link too slow for app.wasm, a network that goes
// and comes back.

// The widths the suite looks at: a phone and a laptop.
const (
	phoneWidth   = 390
	phoneHeight  = 844
	desktopWidth = 1280
	desktopHigh  = 800
)

// viewport makes the tab width × height CSS pixels, as a phone (mobile:
// the viewport meta tag applies, scrollbars overlay) or a desktop window.
func (b *browser) viewport(width, height int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	} else {
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateLandscape}
	}
	b.do(fmt.Sprintf("emulate a %d×%d viewport", width, height), chromedp.EmulateViewport(width, height, opts...))
}

// colorScheme makes prefers-color-scheme match scheme ("light" or "dark").
func (b *browser) colorScheme(scheme string) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		b.t.Fatalf("emulate prefers-color-scheme: %s: %v", scheme, err)
	}
}

// hold holds back every request of the tab whose URL matches pattern
// (DevTools' request interception, "*" as wildcard) until release is
// called, as a link too slow for it would. Requests made after release
// pass at once.
func (b *browser) hold(pattern string) (release func()) {
	b.t.Helper()
	var (
		mu       sync.Mutex
		held     []fetch.RequestID
		released bool
	)
	cont := func(id fetch.RequestID) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
	}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			mu.Lock()
			defer mu.Unlock()
			if released {
				go cont(e.RequestID)
				return
			}
			held = append(held, e.RequestID)
		}
	})
	if err != nil {
		b.t.Fatalf("listen for paused requests: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		b.t.Fatalf("hold back %s: %v", pattern, err)
	}
	return func() {
		mu.Lock()
		released = true
		ids := held
		held = nil
		mu.Unlock()
		for _, id := range ids {
			cont(id)
		}
		_, _ = chromedp.Call(b.ctx, fetch.Disable, struct{}{})
	}
}

// urls records the URL of every request the tab sends (documents,
// scripts, fetches), not only the API's, from now on.
func (b *browser) urls() func() []string {
	b.t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			seen = append(seen, e.Request.URL+e.Request.URLFragment)
			mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatalf("listen for requests: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// errorsLogged records what the browser logs as an error from now on:
// console.error and the browser's own messages, such as "Failed to load
// resource: the server responded with a status of 401".
func (b *browser) errorsLogged() func() []string {
	b.t.Helper()
	var (
		mu     sync.Mutex
		errors []string
	)
	err := chromedp.Listen(b.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				errors = append(errors, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		}
	})
	if err != nil {
		b.t.Fatalf("listen for log entries: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, log.Enable, struct{}{}); err != nil {
		b.t.Fatalf("enable the log: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errors...)
	}
}

// goOnline undoes goOffline: the service worker's network first, so that
// the page, told it is online, finds the network there.
func (b *browser) goOnline() {
	b.t.Helper()
	online := false
	rule := network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &online,
		MatchedNetworkConditions: []*network.Conditions{{
			Offline: false, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1,
		}},
	}
	for _, ctx := range b.workers {
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, rule); err != nil {
			b.t.Fatalf("bring the service worker's network back: %v", err)
		}
	}
	b.workers = nil
	if _, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, rule); err != nil {
		b.t.Fatalf("bring the page's network back: %v", err)
	}
	_, err := chromedp.Call(b.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: false, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1,
	})
	if err != nil {
		b.t.Fatalf("override the network state: %v", err)
	}
}

// key presses keys (chromedp's kb names: "\t", "\r", kb.Escape) on the
// element that has focus, as a person would.
func (b *browser) key(keys string) {
	b.t.Helper()
	b.do(fmt.Sprintf("press %q", keys), chromedp.KeyEvent(keys))
}

// focused returns a description of the element that has focus: its id,
// or its tag and classes.
func (b *browser) focused() string {
	b.t.Helper()
	return eval[string](b, `(e => !e ? "" : e.id ? "#" + e.id : e.tagName.toLowerCase() + (e.className ? "." + String(e.className).trim().split(/\s+/).join(".") : ""))(document.activeElement)`)
}

// waitFocus waits until the element matching sel has focus.
func (b *browser) waitFocus(sel string) {
	b.t.Helper()
	b.waitFor("focus on "+sel, `(e => !!e && e === document.activeElement)(`+q(sel)+`)`)
}

// shot saves a screenshot of the viewport as .screenshots/<dir>/<name>.png,
// and, with GATEHOUSE_E2E_README_SHOTS=1, as web/screenshots/<name>.png
// when readme is set: the README's pictures are retaken that way.
func (b *browser) shot(dir, name string, readme bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	root, err := screenshotDir()
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	paths := []string{filepath.Join(root, dir, name+".png")}
	if readme && os.Getenv("GATEHOUSE_E2E_README_SHOTS") == "1" {
		paths = append(paths, filepath.Join(filepath.Dir(root), "web", "screenshots", name+".png"))
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s", p)
	}
}

// noSidewaysScroll is a JavaScript expression listing what is wider than
// its box: the page itself, or any element whose content overflows it
// sideways (a table, a card, a form), as "tag#id.class (scrollWidth >
// clientWidth)". Empty when nothing is.
const noSidewaysScroll = `(() => {
	const out = [];
	const de = document.documentElement;
	if (de.scrollWidth > window.innerWidth) out.push("the page (" + de.scrollWidth + " > " + window.innerWidth + ")");
	for (const e of document.querySelectorAll("main, main *")) {
		const cs = getComputedStyle(e);
		if (cs.display === "none" || cs.display === "inline") continue;
		if (e.scrollWidth > e.clientWidth + 1 && (cs.overflowX === "auto" || cs.overflowX === "scroll" || e.tagName === "TABLE" || e.getBoundingClientRect().right > window.innerWidth + 1)) {
			out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().replace(/\s+/g, ".") : "") + " (" + e.scrollWidth + " > " + e.clientWidth + ")");
		}
	}
	return out;
})()`
