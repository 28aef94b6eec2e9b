package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"gatehouse/shared"
)

// Policy says who may call a route. The zero Policy is invalid, and the
// router refuses to register a route with it, so no route can exist
// without a decision about who may call it.
type Policy struct {
	kind policyKind
	perm shared.Permission
	// while lists the restrictions under which a session may still call
	// the route (see Also).
	while restriction
}

// restriction is a set of the states in which a session may do only a
// few things: its user must enrol a second factor, or change a password
// someone else set.
type restriction uint8

const (
	// Enrolling: the MFA policy requires a factor the user has not
	// enrolled (403 mfa_enrollment_required elsewhere).
	Enrolling restriction = 1 << iota
	// ChangingPassword: someone else set the user's password (403
	// password_change_required elsewhere).
	ChangingPassword
)

// Also returns the policy with the route open to restricted sessions too.
func (p Policy) Also(r restriction) Policy {
	p.while |= r
	return p
}

type policyKind int

const (
	policyNone policyKind = iota
	policyPublic
	policyAuthenticated
	policyPermission
)

// Public routes need no token: sign-in, refresh, health, the PWA.
var Public = Policy{kind: policyPublic}

// Authenticated routes need a valid access token and nothing more: a
// user's own account.
var Authenticated = Policy{kind: policyAuthenticated}

// Require returns the policy of routes that need permission p.
func Require(p shared.Permission) Policy { return Policy{kind: policyPermission, perm: p} }

// IsPublic reports whether the policy lets anyone in.
func (p Policy) IsPublic() bool { return p.kind == policyPublic }

// Permission returns the permission the policy needs ("" when none).
func (p Policy) Permission() shared.Permission { return p.perm }

func (p Policy) String() string {
	var s string
	switch p.kind {
	case policyPublic:
		return "public"
	case policyAuthenticated:
		s = "authenticated"
	case policyPermission:
		s = "permission " + string(p.perm)
	default:
		return "no policy"
	}
	if p.while&Enrolling != 0 {
		s += ", also while enrolling"
	}
	if p.while&ChangingPassword != 0 {
		s += ", also while changing password"
	}
	return s
}

// Route describes a registered route.
type Route struct {
	Method string // "" for every method
	Path   string // gorilla/mux path template
	Prefix bool   // Path is a prefix (never matching under /api/)
	Policy Policy
}

// router registers every route together with its policy.
type router struct {
	mux      *mux.Router
	guard    func(Policy, http.Handler) http.Handler
	policies map[*mux.Route]Route
	// static holds the routes whose path has no variable, by path and
	// method: ServeHTTP answers them with a map lookup, sparing
	// gorilla/mux's regular expressions and the two request copies it
	// makes to store vars and route. mux still serves everything else,
	// and every answer about a known path asked with another method.
	static map[string]map[string]http.Handler
	// observe, when set, is told of every answered request, by the
	// template of the route that served it.
	observe func(route, method string, status int, elapsed time.Duration)
}

// observed wraps h so that its answers are observed under the route label.
func (rt *router) observed(route string, h http.Handler) http.Handler {
	if rt.observe == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		rt.observe(route, r.Method, sw.status, time.Since(start))
	})
}

// handle registers h for method and path behind policy p. It panics on the
// zero Policy.
func (rt *router) handle(method, path string, p Policy, h http.HandlerFunc) {
	rt.add(Route{Method: method, Path: path, Policy: p}, h)
}

func (rt *router) add(r Route, h http.Handler) {
	if r.Policy.kind == policyNone || (r.Policy.kind == policyPermission && r.Policy.perm == "") {
		panic(fmt.Sprintf("api: route %s %s registered without a policy", r.Method, r.Path))
	}
	var mr *mux.Route
	if r.Prefix {
		// One matcher only: gorilla/mux forgets an earlier method mismatch
		// when any matcher of a later route matches, so a separate
		// PathPrefix("/") would turn every 405 into this route's 404.
		prefix := r.Path
		mr = rt.mux.MatcherFunc(func(req *http.Request, _ *mux.RouteMatch) bool {
			p := req.URL.Path
			return strings.HasPrefix(p, prefix) && !strings.HasPrefix(p, "/api/")
		})
	} else {
		mr = rt.mux.Path(r.Path)
	}
	if r.Method != "" {
		mr = mr.Methods(r.Method)
	}
	label := r.Path
	if r.Prefix {
		label = "frontend"
	}
	guarded := rt.observed(label, rt.guard(r.Policy, h))
	mr.Handler(guarded)
	rt.policies[mr] = r
	if !r.Prefix && r.Method != "" && !strings.Contains(r.Path, "{") {
		if rt.static == nil {
			rt.static = make(map[string]map[string]http.Handler)
		}
		if rt.static[r.Path] == nil {
			rt.static[r.Path] = make(map[string]http.Handler)
		}
		rt.static[r.Path][r.Method] = guarded
	}
}

// ServeHTTP serves a static route directly, anything else through mux.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := rt.static[r.URL.Path][r.Method]; ok {
		h.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}
