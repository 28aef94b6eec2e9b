package ui

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// ev is an event for calling handlers directly; on the host every
// JavaScript value is inert.
var ev = app.Event{Value: app.Null()}

// harness is a component whose only job is to hand the test live
// app.Contexts of a test engine: go-app calls OnPreRender on the host
// (where OnMount is never called), so the contexts arrive with the first
// ConsumeAll. Pages under test get OnMount(r.ctx), the harness's own
// context, as go-app would give them theirs; the engine runs what they
// Async and Dispatch when the test calls ConsumeAll.
//
// Event handlers are called with r.stale instead: the context of an
// element that has since left the page, as a clicked button or a submitted
// form often has by the time the handler's work ends. go-app drops what is
// dispatched on such a context, so a page that kept using it would lose
// its results; the tests catch that.
type harness struct {
	app.Compo
	ctx   app.Context
	show  bool
	inner *harness
}

func (h *harness) OnPreRender(ctx app.Context) { h.ctx = ctx }
func (h *harness) Render() app.UI {
	return app.Div().Body(app.If(h.show, func() app.UI { return h.inner }))
}

type rig struct {
	t     *testing.T
	eng   app.TestEngine
	h     *harness
	ctx   app.Context // of the (mounted) harness: the page's own
	stale app.Context // of an element no longer mounted: an event's
}

func newRig(t *testing.T) *rig {
	t.Helper()
	eng := app.NewTestEngine()
	h := &harness{show: true, inner: &harness{}}
	if err := eng.Load(h); err != nil {
		t.Fatal(err)
	}
	eng.ConsumeAll()
	if h.ctx.Context == nil || h.inner.ctx.Context == nil {
		t.Fatal("the harness got no context")
	}
	h.ctx.Dispatch(func(app.Context) { h.show = false })
	eng.ConsumeAll()
	if h.inner.Mounted() || !h.Mounted() {
		t.Fatal("the inner harness did not go away")
	}
	return &rig{t: t, eng: eng, h: h, ctx: h.ctx, stale: h.inner.ctx}
}

// settle runs everything pending (async calls, then what they dispatch),
// failing the test if that takes more than 10 s.
func (r *rig) settle() {
	r.t.Helper()
	done := make(chan struct{})
	go func() { r.eng.ConsumeAll(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the engine did not settle: something keeps running")
	}
}

// navigatedAway reports whether the page called ctx.Navigate: the test
// engine has no routes, so navigating replaces the harness by a not-found
// page.
func (r *rig) navigatedAway() bool { return !r.h.Mounted() }

// --- A stub of the API ------------------------------------------------------

type apiCall struct {
	Method, Path string
	Query        map[string]string
	Body         string
}

// stubAPI answers the routes it is given (Go 1.22 patterns such as
// "GET /api/users") and records every request; anything else is 404.
type stubAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []apiCall
}

func newStubAPI(t *testing.T, routes map[string]http.HandlerFunc) *stubAPI {
	t.Helper()
	s := &stubAPI{}
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = strings.Join(v, ",")
		}
		s.mu.Lock()
		s.calls = append(s.calls, apiCall{Method: r.Method, Path: r.URL.Path, Query: q, Body: string(b)})
		s.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// callsTo returns the recorded calls with method and path.
func (s *stubAPI) callsTo(method, path string) []apiCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []apiCall
	for _, c := range s.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (s *stubAPI) writes() []apiCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []apiCall
	for _, c := range s.calls {
		if c.Method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

func reply(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
}

func replyStatus(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func replyError(status int, e shared.Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(e)
	}
}

// newEnv is an Env on the stub, signed in (with a token expiring in 30
// minutes) as me, online.
func newEnv(t *testing.T, api *stubAPI, me *shared.User) *Env {
	t.Helper()
	env := NewEnv(api.URL)
	env.Tokens.SetToken(fakeToken(time.Now().Add(30*time.Minute), "s1"))
	env.SetMe(me)
	return env
}

// fakeToken is an unsigned JWT with exp and sid claims: enough for the
// client, which reads tokens without verifying them.
func fakeToken(exp time.Time, sid string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"exp": exp.Unix(), "sid": sid})
	return enc([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + enc(claims) + ".c2ln"
}

func user(id int64, name string, role shared.Role) shared.User {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	return shared.User{ID: id, Username: name, FullName: strings.ToUpper(name[:1]) + name[1:], Email: name + "@example.com", Role: role, CreatedAt: t0, UpdatedAt: t0}
}

func pageOf[T any](items ...T) shared.Page[T] {
	return shared.Page[T]{Items: items, Total: len(items), Page: 1, PerPage: shared.DefaultPerPage}
}

// --- Reading what a component renders ----------------------------------------

// node is an element (or, with tag "", a text) of rendered HTML.
type node struct {
	tag    string
	attrs  map[string]string
	kids   []*node
	text   string
	parent *node
}

// render renders c as the server would prerender it and parses the HTML.
func render(t *testing.T, c interface{ Render() app.UI }) *node {
	t.Helper()
	return parse(t, app.HTMLString(c.Render()))
}

// parse reads the HTML go-app writes (void elements unclosed, boolean
// attributes without values) with encoding/xml in its lenient mode.
func parse(t *testing.T, s string) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	root := &node{tag: "#root"}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse rendered HTML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{tag: tok.Name.Local, attrs: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			cur.kids = append(cur.kids, n)
			cur = n
		case xml.EndElement:
			if cur.parent != nil {
				cur = cur.parent
			}
		case xml.CharData:
			cur.kids = append(cur.kids, &node{text: string(tok), parent: cur})
		}
	}
	return root
}

// Text is the element's text content with white space collapsed.
func (n *node) Text() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		if n.tag == "" {
			b.WriteString(n.text)
			b.WriteByte(' ')
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (n *node) attr(name string) string { return n.attrs[name] }

func (n *node) has(name string) bool { _, ok := n.attrs[name]; return ok }

// disabled reads the disabled attribute as a browser would.
func (n *node) disabled() bool { return n.has("disabled") }

func (n *node) classes() []string { return strings.Fields(n.attrs["class"]) }

var compoundRE = regexp.MustCompile(`^([a-z0-9]*)((?:[#.][a-zA-Z0-9_-]+|\[[a-z-]+(?:=(?:"[^"]*"|[a-zA-Z0-9_-]+))?\])*)$`)
var partRE = regexp.MustCompile(`[#.][a-zA-Z0-9_-]+|\[([a-z-]+)(?:=(?:"([^"]*)"|([a-zA-Z0-9_-]+)))?\]`)

// matches reports whether n matches one compound selector such as
// `tr.session[data-session-id="s1"]` or `#page-next`.
func (n *node) matches(t *testing.T, compound string) bool {
	m := compoundRE.FindStringSubmatch(compound)
	if m == nil {
		t.Fatalf("unsupported selector %q", compound)
	}
	if n.tag == "" || (m[1] != "" && n.tag != m[1]) {
		return false
	}
	for _, p := range partRE.FindAllStringSubmatch(m[2], -1) {
		switch {
		case strings.HasPrefix(p[0], "#"):
			if n.attrs["id"] != p[0][1:] {
				return false
			}
		case strings.HasPrefix(p[0], "."):
			found := false
			for _, c := range n.classes() {
				found = found || c == p[0][1:]
			}
			if !found {
				return false
			}
		default:
			v, ok := n.attrs[p[1]]
			if !ok || (strings.Contains(p[0], "=") && v != p[2]+p[3]) {
				return false
			}
		}
	}
	return true
}

// all returns the elements under n matching sel: compound selectors
// joined by spaces (descendant), as in CSS.
func (n *node) all(t *testing.T, sel string) []*node {
	t.Helper()
	parts := strings.Fields(sel)
	set := []*node{n}
	for _, p := range parts {
		var next []*node
		seen := map[*node]bool{}
		for _, s := range set {
			s.walk(func(d *node) {
				if d != s && !seen[d] && d.matches(t, p) {
					seen[d] = true
					next = append(next, d)
				}
			})
		}
		set = next
	}
	return set
}

func (n *node) walk(f func(*node)) {
	f(n)
	for _, k := range n.kids {
		k.walk(f)
	}
}

// one returns the single element matching sel, failing the test otherwise.
func (n *node) one(t *testing.T, sel string) *node {
	t.Helper()
	got := n.all(t, sel)
	if len(got) != 1 {
		t.Fatalf("%d elements match %q, want 1", len(got), sel)
	}
	return got[0]
}

// count returns how many elements match sel.
func (n *node) count(t *testing.T, sel string) int {
	t.Helper()
	return len(n.all(t, sel))
}

func (n *node) String() string { return fmt.Sprintf("<%s %v>%s", n.tag, n.attrs, n.Text()) }

// following makes a page's own navigations (a search, a filter, a page, an
// order) arrive as they do in the browser, where go-app calls OnNav with
// the new address: here they call the page's follow with its query, on
// ctx. It returns the addresses navigated to, in order.
func following(t *testing.T, ctx app.Context, p interface {
	follow(app.Context, url.Values)
}) *[]string {
	t.Helper()
	var urls []string
	old := navigate
	navigate = func(_ app.Context, to string) {
		urls = append(urls, to)
		u, err := url.Parse(to)
		if err != nil {
			t.Fatalf("navigate to %q: %v", to, err)
		}
		p.follow(ctx, u.Query())
	}
	t.Cleanup(func() { navigate = old })
	return &urls
}
