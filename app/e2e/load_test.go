//go:build !(js && wasm)

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// BenchmarkLoad measures, in Chromium against the real server, when a
// person can act: the sign-in form painted (first contentful paint), the
// wasm running (go-app's loader gone), and a sign-in made at once
// completed (the dashboard showing the user) — on loopback and on a 4G
// profile (DevTools emulation: 9 Mbps down and up, 40 ms latency), on a
// first visit (empty profile) and a repeat visit (same profile: HTTP cache
// and service worker warm). Times count from the navigation's start.
// Reported, not gated: the machine is shared, so make bench runs it
// (GATEHOUSE_LOAD_FIGURES=1) and make test skips it.
func TestLoadFigures(t *testing.T) {
	if os.Getenv("GATEHOUSE_LOAD_FIGURES") != "1" {
		t.Skip("load figures are a report of make bench (GATEHOUSE_LOAD_FIGURES=1)")
	}
	needBrowser(t)
	var table strings.Builder
	fmt.Fprintf(&table, "%-9s %-7s %12s %12s %12s\n", "network", "visit", "form painted", "wasm running", "signed in")
	for _, p := range []loadProfile{
		{name: "loopback"},
		{name: "4G", latency: 40 * time.Millisecond, bitsPerS: 9e6, emulation: true},
	} {
		srv := startServer(t, "load-"+p.name, nil)
		br := newBrowser(t, srv.URL)
		if p.emulation {
			br.throttle(p)
		}
		for _, visit := range []string{"first", "repeat"} {
			painted, running, signed := br.measureLoad()
			fmt.Fprintf(&table, "%-9s %-7s %12v %12v %12v\n", p.name, visit, painted, running, signed)
			eval[any](br, `localStorage.clear()`)
		}
	}
	t.Logf("load: Chromium %s, the real server, times from the navigation's start\n%s", setup.chromium, table.String())
}

type loadProfile struct {
	name      string
	latency   time.Duration
	bitsPerS  float64 // 0: no throttling
	emulation bool
}

// throttle emulates the profile's network for the page's requests (the
// first visit's, before a service worker exists, are all the page's).
func (b *browser) throttle(p loadProfile) {
	b.t.Helper()
	rule := network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{
			Latency: float64(p.latency.Milliseconds()), DownloadThroughput: p.bitsPerS / 8, UploadThroughput: p.bitsPerS / 8,
		}},
	}
	if _, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, rule); err != nil {
		b.t.Fatalf("emulate %s: %v", p.name, err)
	}
}

// measureLoad navigates to /login and times what a person sees.
func (b *browser) measureLoad() (painted, running, signed time.Duration) {
	b.do("navigate to /login", chromedp.Navigate(b.base+"/login"))
	ms := func(expr string) time.Duration {
		return time.Duration(eval[float64](b, expr) * float64(time.Millisecond))
	}
	b.waitFor("the first paint", `performance.getEntriesByName("first-contentful-paint").length > 0`)
	painted = ms(`performance.getEntriesByName("first-contentful-paint")[0].startTime`)
	b.waitApp()
	running = ms(`performance.now()`)
	b.fill("#username", adminUser)
	b.fill("#password", adminPassword)
	b.click("#login-submit")
	b.waitFor("the dashboard", `!!document.getElementById("me-username") && document.getElementById("me-username").textContent === `+js(adminUser))
	signed = ms(`performance.now()`)
	return painted.Round(time.Millisecond), running.Round(time.Millisecond), signed.Round(time.Millisecond)
}
