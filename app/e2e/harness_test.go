//go:build !(js && wasm)

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// What the servers under test are started with.
const (
	adminUser     = "admin"
	adminPassword = "e2e-admin-password"
	jwtSecret     = "e2e-jwt-secret-0123456789abcdef-0123456789abcdef"

	// The keys the frontend keeps in localStorage (app/ui/storage.go).
	tokenKey    = "gatehouse.token"
	cachePrefix = "gatehouse.cache."

	// waitTimeout bounds every wait for the page: the first load of the
	// ~10 MB app.wasm alone takes seconds on a small machine.
	waitTimeout = 60 * time.Second
)

// setup is what TestMain found: the programs the tests drive, or why the
// tests cannot run.
var setup struct {
	bin, web, chromium string
	skip               string // non-empty: why every test is skipped
}

func TestMain(m *testing.M) {
	setup.skip = prerequisites()
	if setup.skip != "" {
		if required() {
			fmt.Fprintln(os.Stderr, "app/e2e: GATEHOUSE_E2E_REQUIRE=1, so every test fails: "+setup.skip)
		} else {
			fmt.Fprintln(os.Stderr, "app/e2e: "+setup.skip)
		}
	}
	os.Exit(m.Run())
}

func required() bool { return os.Getenv("GATEHOUSE_E2E_REQUIRE") == "1" }

// prerequisites returns why the browser tests cannot run, or "".
func prerequisites() string {
	const viaMake = "run through make test, which builds bin/gatehouse and web/app.wasm"
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		return "browser tests skipped: chromium not found; run make deps"
	}
	bin, web := os.Getenv("GATEHOUSE_E2E_BIN"), os.Getenv("GATEHOUSE_E2E_WEB")
	if bin == "" || web == "" {
		return "browser tests skipped: GATEHOUSE_E2E_BIN or GATEHOUSE_E2E_WEB is not set; " + viaMake
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return fmt.Sprintf("browser tests skipped: GATEHOUSE_E2E_BIN=%s is not a program; %s", bin, viaMake)
	}
	if _, err := os.Stat(filepath.Join(web, "app.wasm")); err != nil {
		return fmt.Sprintf("browser tests skipped: GATEHOUSE_E2E_WEB=%s has no app.wasm; %s", web, viaMake)
	}
	var errs [2]error
	setup.bin, errs[0] = filepath.Abs(bin)
	setup.web, errs[1] = filepath.Abs(web)
	if err := errors.Join(errs[:]...); err != nil {
		return "browser tests skipped: " + err.Error()
	}
	setup.chromium = chromium
	return ""
}

// needBrowser skips t when the tests cannot run, or fails it when
// GATEHOUSE_E2E_REQUIRE=1.
func needBrowser(t *testing.T) {
	t.Helper()
	if setup.skip == "" {
		return
	}
	if required() {
		t.Fatal(setup.skip + " (and GATEHOUSE_E2E_REQUIRE=1 requires them)")
	}
	t.Skip(setup.skip)
}

// ---------------------------------------------------------------------------
// Servers

// server is a running `gatehouse serve`.
type server struct {
	Name string
	URL  string // "http://127.0.0.1:PORT", without a trailing slash
}

// startServer starts bin/gatehouse serve on a fresh data directory with the
// test settings, overridden and extended by extra (GATEHOUSE_* names), and
// waits until it says it listens. It is stopped (SIGTERM, then waited for)
// when t ends; its output goes to the test log if t failed.
func startServer(t *testing.T, name string, extra map[string]string) *server {
	t.Helper()
	vars := map[string]string{
		"GATEHOUSE_ADDR":           "127.0.0.1:0",
		"GATEHOUSE_DATA_DIR":       t.TempDir(),
		"GATEHOUSE_WEB_DIR":        setup.web,
		"GATEHOUSE_BCRYPT_COST":    "4",
		"GATEHOUSE_ADMIN_USERNAME": adminUser,
		"GATEHOUSE_ADMIN_PASSWORD": adminPassword,
		"GATEHOUSE_JWT_SECRET":     jwtSecret,
		"GATEHOUSE_LOG_LEVEL":      "debug",
	}
	maps.Copy(vars, extra)

	cmd := exec.Command(setup.bin, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") { // nothing of the caller's settings
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	urlc := make(chan string, 1)
	stdout := &lineWriter{onLine: func(line string) {
		if u, ok := strings.CutPrefix(line, "Gatehouse is running at "); ok {
			select {
			case urlc <- strings.TrimRight(strings.TrimSpace(u), "/"):
			default:
			}
		}
	}}
	stderr := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", setup.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil && t.Failed() {
				t.Logf("server %s exited: %v", name, err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("server %s did not stop within 20 s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("server %s (%s) stdout:\n%s", name, extraString(extra), stdout.String())
			t.Logf("server %s stderr:\n%s", name, stderr.String())
		}
	})

	select {
	case u := <-urlc:
		t.Logf("server %s at %s (%s)", name, u, extraString(extra))
		return &server{Name: name, URL: u}
	case err := <-exited:
		exited <- err // for the cleanup
		t.Fatalf("server %s exited before listening: %v\nstderr:\n%s", name, err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server %s did not say where it listens within 30 s\nstderr:\n%s", name, stderr.String())
	}
	return nil
}

func extraString(extra map[string]string) string {
	var parts []string
	for k, v := range extra {
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return "default test settings"
	}
	return strings.Join(parts, " ")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server whose address must be known before it starts.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// apiCtx returns a context for one API call from the test.
func apiCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// login signs in through the API with the real client.
func (s *server) login(t *testing.T, username, password string) *client.Client {
	t.Helper()
	c := client.New(s.URL, nil)
	if _, err := c.Login(apiCtx(t), username, password); err != nil {
		t.Fatalf("API login as %s at %s: %v", username, s.Name, err)
	}
	return c
}

// withToken returns a client that calls s with the access token tok, as
// the browser holding it would (without its refresh cookie).
func (s *server) withToken(tok string) *client.Client {
	store := new(client.MemoryTokenStore)
	store.SetToken(tok)
	return client.New(s.URL, store)
}

// lineWriter hands every complete line written to it to onLine and keeps
// everything.
type lineWriter struct {
	mu     sync.Mutex
	all    bytes.Buffer
	part   []byte
	onLine func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		w.onLine(string(w.part[:i]))
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ---------------------------------------------------------------------------
// Tokens

// tokenClaims are the claims of an access token the tests look at.
type tokenClaims struct {
	Sub string  `json:"sub"`
	Sid string  `json:"sid"`
	Iat float64 `json:"iat"`
	Exp float64 `json:"exp"`
}

func (c tokenClaims) expires() time.Time { return time.Unix(0, int64(c.Exp*1e9)) }

// claimsOf decodes the payload of a JWT without verifying it.
func claimsOf(t *testing.T, tok string) tokenClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	if c.Exp == 0 || c.Sid == "" {
		t.Fatalf("JWT payload %s has no exp or sid", raw)
	}
	return c
}

// ---------------------------------------------------------------------------
// Browser

// browser is one headless Chromium with one tab, looking at the PWA served
// at base.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab; no deadline (each step adds its own)
	base string          // origin of the PWA, without a trailing slash

	mu       sync.Mutex
	log      []string  // console, exceptions and API traffic, for failures
	requests []request // API requests in the order sent
	byID     map[network.RequestID]int
	output   lockedBuffer      // the browser's own stdout and stderr
	workers  []context.Context // sessions of the service workers goOffline cut off
}

// request is one request the page sent to an /api/ path.
type request struct {
	Method, URL string
	Status      int    // 0 until answered
	Failed      string // the network error, if any
}

// newBrowser starts a fresh Chromium (its own profile directory) whose tab
// is at about:blank. It is closed when t ends, after a full-page screenshot
// of where the tab ended goes to .screenshots/<TestName>.png.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	b := &browser{t: t, base: strings.TrimRight(base, "/"), byID: make(map[network.RequestID]int)}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(setup.chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		// A laptop's window, unless a test emulates another (emulate_test.go).
		chromedp.WindowSize(desktopWidth, desktopHigh),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&b.output),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
	})
	// The first Do starts the browser and binds its life to ctx, so it must
	// not carry a deadline; guard it with a timer instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v\n%s", err, b.output.String())
		}
	case <-time.After(waitTimeout):
		t.Fatalf("chromium did not start within %s\n%s", waitTimeout, b.output.String())
	}
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	t.Cleanup(b.screenshot)
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Logf("browser log (console, exceptions, API traffic):\n%s", strings.Join(b.log, "\n"))
		}
	})
	return b
}

// onEvent records what the tab does. It runs in the tab's event loop: it
// must return fast and send no command.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	stamp := time.Now().Format("15:04:05.000")
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		b.log = append(b.log, fmt.Sprintf("%s console.%s: %s", stamp, ev.Type, strings.Join(args, " ")))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		desc := d.Text
		if d.Exception != nil {
			desc += " " + d.Exception.Description
		}
		b.log = append(b.log, fmt.Sprintf("%s exception: %s (%s:%d)", stamp, desc, d.URL, d.LineNumber+1))
	case *network.EventRequestWillBeSent:
		if !isAPI(ev.Request.URL) {
			return
		}
		b.byID[ev.RequestID] = len(b.requests)
		b.requests = append(b.requests, request{Method: ev.Request.Method, URL: ev.Request.URL})
		auth := "no token"
		for k, v := range ev.Request.Headers {
			if s, ok := v.(string); ok && strings.EqualFold(k, "Authorization") && strings.HasPrefix(s, "Bearer ") {
				auth = "bearer …" + s[max(len(s)-8, 7):]
			}
		}
		body := ""
		if ev.Request.Method != http.MethodGet && !strings.HasSuffix(ev.Request.URL, shared.PathToken) {
			for _, e := range ev.Request.PostDataEntries {
				body += string(e.Bytes)
			}
			body = " " + secrets.ReplaceAllString(body, `"$1":"…"`)
		}
		b.log = append(b.log, fmt.Sprintf("%s -> %s %s (%s)%s", stamp, ev.Request.Method, ev.Request.URL, auth, body))
	case *network.EventResponseReceived:
		if i, ok := b.byID[ev.RequestID]; ok {
			b.requests[i].Status = int(ev.Response.Status)
			from := ""
			switch {
			case ev.Response.FromServiceWorker:
				from = " (from the service worker)"
			case ev.Response.FromDiskCache:
				from = " (from the disk cache)"
			case ev.Response.FromPrefetchCache:
				from = " (from the prefetch cache)"
			}
			b.log = append(b.log, fmt.Sprintf("%s <- %d %s %s%s", stamp, ev.Response.Status, b.requests[i].Method, ev.Response.URL, from))
		}
	case *network.EventLoadingFailed:
		if i, ok := b.byID[ev.RequestID]; ok {
			b.requests[i].Failed = ev.ErrorText
			b.log = append(b.log, fmt.Sprintf("%s <- failed %s %s: %s %s", stamp, b.requests[i].Method, b.requests[i].URL, ev.ErrorText, ev.BlockedReason))
		}
	}
}

// secrets matches the password fields of a JSON body, which the log
// leaves out.
var secrets = regexp.MustCompile(`"([a-z_]*password)"\s*:\s*"(?:[^"\\]|\\.)*"`)

func isAPI(u string) bool {
	p, err := url.Parse(u)
	return err == nil && strings.HasPrefix(p.Path, "/api/")
}

// mark returns the number of API requests sent so far, for requestsSince.
func (b *browser) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.requests)
}

// requestsSince returns the API requests sent since mark whose path is
// path (any path when "").
func (b *browser) requestsSince(mark int, method, path string) []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []request
	for _, r := range b.requests[mark:] {
		p, _ := url.Parse(r.URL)
		if (path == "" || p.Path == path) && (method == "" || r.Method == method) {
			out = append(out, r)
		}
	}
	return out
}

// screenshot saves a full-page screenshot of the tab to
// <repo>/.screenshots/<TestName>.png.
func (b *browser) screenshot() {
	t := b.t
	dir, err := screenshotDir()
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", name)
}

// screenshotDir returns <repo root>/.screenshots, made if need be. The
// tests run in app/e2e, two levels below the root.
func screenshotDir() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("repository root not found from the working directory: %w", err)
	}
	dir := filepath.Join(root, ".screenshots")
	return dir, os.MkdirAll(dir, 0o755)
}

// do runs steps with the usual deadline, failing t on error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.pageSummary())
	}
}

// eval evaluates a JavaScript expression (promises awaited) and decodes its
// value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := tryEval[T](b, expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func tryEval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitFor polls the JavaScript condition cond (promises awaited) until it
// is true, failing t after waitTimeout. what says what is waited for.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	b.waitForWithin(what, cond, waitTimeout)
}

func (b *browser) waitForWithin(what, cond string, timeout time.Duration) {
	b.t.Helper()
	if !b.poll(cond, timeout) {
		b.t.Fatalf("timed out after %s waiting for %s (%s)\npage: %s", timeout, what, cond, b.pageSummary())
	}
}

// poll reports whether cond became true within timeout. Evaluation errors
// (say, during a navigation) count as false.
func (b *browser) poll(cond string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryEval[bool](b, "(async () => !!("+cond+"))()")
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pageSummary describes where the tab is, for failure messages.
func (b *browser) pageSummary() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + "\n" + (document.body ? document.body.innerText : "(no body)").slice(0, 1500)`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// q is a JavaScript expression for the first element matching sel.
func q(sel string) string { return "document.querySelector(" + js(sel) + ")" }

// open loads base+path as a new page and waits for the app to start.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("navigate to "+path, chromedp.Navigate(b.base+path))
	b.waitApp()
}

// reload reloads the page and waits for the app to start.
func (b *browser) reload() {
	b.t.Helper()
	b.do("reload", chromedp.Reload())
	b.waitApp()
}

// waitApp waits until go-app has started the WebAssembly program: its
// loader is removed once the program runs, and until then the page is only
// the prerendered HTML, which does not react to input.
func (b *browser) waitApp() {
	b.t.Helper()
	b.waitFor("the app to start (the wasm loader to go)", `document.readyState !== "loading" && document.body && !document.getElementById("app-wasm-loader")`)
}

// visible is a JavaScript condition: an element matches sel and is shown.
func visible(sel string) string {
	return "(e => !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length))(" + q(sel) + ")"
}

func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	b.waitFor(sel+" to be visible", visible(sel))
}

func (b *browser) waitGone(sel string) {
	b.t.Helper()
	b.waitFor(sel+" to go", "!"+q(sel))
}

// waitText waits until the element matching sel shows text containing
// want, ignoring case.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s to contain %q", sel, want),
		fmt.Sprintf("(e => !!e && e.textContent.toLowerCase().includes(%s))(%s)", js(strings.ToLower(want)), q(sel)))
}

// waitPath waits until the page's path is path.
func (b *browser) waitPath(path string) {
	b.t.Helper()
	b.waitFor("the page to be "+path, "location.pathname === "+js(path))
}

func (b *browser) path() string {
	b.t.Helper()
	return eval[string](b, "location.pathname")
}

// text returns the textContent of the element matching sel, failing t
// when there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := tryEval[*string](b, "(e => e ? e.textContent : null)("+q(sel)+")")
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	if s == nil {
		b.t.Fatalf("no element matches %s\npage: %s", sel, b.pageSummary())
	}
	return strings.TrimSpace(*s)
}

// attr returns an attribute of the element matching sel, failing t when
// the element or the attribute is missing.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	s, err := tryEval[*string](b, "(e => e ? e.getAttribute("+js(name)+") : null)("+q(sel)+")")
	if err != nil {
		b.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	if s == nil {
		b.t.Fatalf("no element %s with attribute %s\npage: %s", sel, name, b.pageSummary())
	}
	return *s
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, "document.querySelectorAll("+js(sel)+").length")
}

// click clicks the element matching sel with the mouse, as a person would.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.waitVisible(sel)
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fill replaces the text of the input matching sel by typing text into it.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.waitVisible(sel)
	// Select what is there so that typing replaces it, as a person would.
	eval[chromedp.Void](b, "(e => { e.focus(); e.select && e.select(); })("+q(sel)+")")
	if text == "" {
		b.do("clear "+sel, chromedp.KeyEvent("\b"))
		return
	}
	b.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// choose selects the option with value in the select matching sel, and
// fires the events a person's choice fires.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	b.waitVisible(sel)
	ok := eval[bool](b, `(e => {
		if (![...e.options].some(o => o.value === `+js(value)+`)) return false;
		e.value = `+js(value)+`;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})(`+q(sel)+`)`)
	if !ok {
		b.t.Fatalf("%s has no option %q\npage: %s", sel, value, b.pageSummary())
	}
}

// storage returns localStorage[key] and whether it is set.
func (b *browser) storage(key string) (string, bool) {
	b.t.Helper()
	v := eval[*string](b, "localStorage.getItem("+js(key)+")")
	if v == nil {
		return "", false
	}
	return *v, true
}

// token returns the access token the app holds, failing t when none.
func (b *browser) token() string {
	b.t.Helper()
	tok, ok := b.storage(tokenKey)
	if !ok || tok == "" {
		b.t.Fatalf("localStorage[%q] is empty\npage: %s", tokenKey, b.pageSummary())
	}
	return tok
}

// storageKeys returns every localStorage key.
func (b *browser) storageKeys() []string {
	b.t.Helper()
	return eval[[]string](b, "Object.keys(localStorage)")
}

// waitTokenChange waits until the app holds a token other than old, and
// returns it.
func (b *browser) waitTokenChange(old string) string {
	b.t.Helper()
	// Compare the ends (signatures): the whole token would make a long
	// failure message.
	b.waitFor("the token in localStorage to change",
		"(v => !!v && v.slice(-16) !== "+js(old[max(len(old)-16, 0):])+")(localStorage.getItem("+js(tokenKey)+"))")
	return b.token()
}

// signIn fills and sends the sign-in form, and returns without waiting
// for the outcome.
func (b *browser) signIn(username, password string) {
	b.t.Helper()
	b.open("/login")
	b.fill("#username", username)
	b.fill("#password", password)
	b.click("#login-submit")
}

// signInAs signs in and waits for the dashboard to show the user.
func (b *browser) signInAs(username, password string) {
	b.t.Helper()
	b.signIn(username, password)
	b.waitPath("/")
	b.waitText("#who", username)
}

// clickNav follows a navigation link, waiting for the page to be path.
func (b *browser) clickNav(id, path string) {
	b.t.Helper()
	b.click(id)
	b.waitPath(path)
}

// row is the CSS selector of the users table row of username.
func row(username string) string {
	return "#users-table tbody tr[data-username=" + js(username) + "]"
}
