// Package api is Gatehouse's HTTP interface: the JSON API of the design
// contract on gorilla/mux, every route registered with its Policy, and the
// middleware that authenticates, authorises, slides tokens, applies CORS
// and guards request sizes.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/cors"

	"gatehouse/server/admin"
	"gatehouse/server/auth"
	"gatehouse/server/proxy"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// Pinger reports whether the store answers; it backs /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configures a Server.
type Options struct {
	Auth  *auth.Service
	Admin *admin.Service
	Store Pinger
	Log   *slog.Logger // nil: discard
	// CORSOrigins may call the API from another origin, with credentials.
	// Empty: same origin only.
	CORSOrigins []string
	// CookieSecure is "auto" (Secure when the client used https: TLS to
	// this server, or a trusted proxy says so), "true" or "false".
	CookieSecure string
	// Proxies are the trusted reverse proxies, whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; nil: none.
	Proxies *proxy.Trusted
	// PublicURL is the origin browsers use to reach the server (scheme,
	// host and port), for the Origin check of the form endpoints. Empty:
	// the origin each request addressed, as the trusted proxies tell it.
	PublicURL string
	// Observe, when set, is told of every answered request by route
	// template ("unmatched" for 404 and 405 answers), method, status and
	// latency: the metrics' hook.
	Observe func(route, method string, status int, elapsed time.Duration)
	// Frontend serves every path that is not the API or a health check.
	// Nil: those paths answer 404.
	Frontend http.Handler
	// APIURL is where the frontend's pages call the API when it is not
	// their own origin (GATEHOUSE_API_URL); its origin joins their CSP
	// connect-src. Empty: the pages call only their own origin.
	APIURL string
}

// Server is the HTTP API.
type Server struct {
	auth    *auth.Service
	admin   *admin.Service
	store   Pinger
	log     *slog.Logger
	secure  string
	proxies *proxy.Trusted
	origins map[string]bool // besides the request's own: PublicURL and CORS origins
	public  bool            // origins holds PublicURL, so the request's own origin is not trusted
	router  *router
	handler http.Handler
}

// New builds the server and registers every route.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{auth: o.Auth, admin: o.Admin, store: o.Store, log: o.Log, secure: o.CookieSecure, proxies: o.Proxies, origins: make(map[string]bool)}
	for _, origin := range o.CORSOrigins {
		s.origins[strings.ToLower(origin)] = true
	}
	if o.PublicURL != "" {
		s.origins[strings.ToLower(strings.TrimRight(o.PublicURL, "/"))] = true
		s.public = true
	}
	m := mux.NewRouter()
	s.router = &router{mux: m, guard: s.guard, policies: make(map[*mux.Route]Route), observe: o.Observe}
	m.NotFoundHandler = s.router.observed("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, &shared.Error{Code: shared.CodeNotFound, Description: "no such resource"})
	}))
	m.MethodNotAllowedHandler = s.router.observed("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, &shared.Error{Code: shared.CodeMethodNotAllowed, Description: "method not allowed on this resource"})
	}))
	s.routes(s.frontend(o.Frontend, o.APIURL))

	var h http.Handler = s.router
	h = limitBody(h)
	if len(o.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins:   slices.Clone(o.CORSOrigins),
			AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowedHeaders:   []string{"Authorization", "Content-Type"},
			ExposedHeaders:   []string{shared.HeaderRefreshToken, "Retry-After", "WWW-Authenticate"},
			AllowCredentials: true,
			MaxAge:           600,
		}).Handler(h)
	}
	h = s.securityHeaders(h)
	h = s.recoverer(h)
	h = s.logRequests(h)
	s.handler = h
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes lists every registered route with its policy, in registration
// order.
func (s *Server) Routes() []Route {
	var out []Route
	_ = s.router.mux.Walk(func(mr *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if r, ok := s.router.policies[mr]; ok {
			out = append(out, r)
		} else {
			tpl, _ := mr.GetPathTemplate()
			out = append(out, Route{Path: tpl}) // zero policy: a test fails on it
		}
		return nil
	})
	return out
}

func (s *Server) routes(frontend http.Handler) {
	rt := s.router
	rt.handle(http.MethodPost, shared.PathToken, Public, s.token)
	rt.handle(http.MethodPost, shared.PathTokenRefresh, Public, s.refresh)
	// A restricted session — its user must enrol a second factor, or
	// change a password someone else set — may still ask who it is, check,
	// sign out, and do what lifts the restriction.
	always := Authenticated.Also(Enrolling | ChangingPassword)
	rt.handle(http.MethodPost, shared.PathLogout, always, s.logout)
	rt.handle(http.MethodGet, shared.PathAuthCheck, always, s.check)
	rt.handle(http.MethodPost, shared.PathReauth, Authenticated, s.reauth)

	rt.handle(http.MethodGet, shared.PathMe, always, s.me)
	rt.handle(http.MethodPatch, shared.PathMe, Authenticated, s.updateMe)
	rt.handle(http.MethodPut, shared.PathMePassword, Authenticated.Also(ChangingPassword), s.changePassword)
	rt.handle(http.MethodPost, shared.PathMeTOTP, Authenticated.Also(Enrolling), s.startTOTP)
	rt.handle(http.MethodPost, shared.PathMeTOTPConfirm, Authenticated.Also(Enrolling), s.confirmTOTP)
	rt.handle(http.MethodDelete, shared.PathMeMFA, Authenticated, s.removeMFA)
	rt.handle(http.MethodPost, shared.PathMeRecovery, Authenticated, s.recoveryCodes)
	rt.handle(http.MethodGet, shared.PathMeSessions, Authenticated, s.mySessions)
	rt.handle(http.MethodDelete, shared.PathMeSessions+"/{id}", Authenticated, s.revokeMySession)

	const user = shared.PathUsers + "/{id:[0-9]+}"
	rt.handle(http.MethodGet, shared.PathUsers, Require(shared.PermUsersRead), s.users)
	rt.handle(http.MethodPost, shared.PathUsers, Require(shared.PermUsersWrite), s.createUser)
	rt.handle(http.MethodGet, user, Require(shared.PermUsersRead), s.user)
	rt.handle(http.MethodPatch, user, Require(shared.PermUsersWrite), s.updateUser)
	rt.handle(http.MethodDelete, user, Require(shared.PermUsersWrite), s.deleteUser)
	rt.handle(http.MethodPut, user+"/password", Require(shared.PermUsersWrite), s.resetPassword)
	rt.handle(http.MethodDelete, user+"/sessions", Require(shared.PermSessionsRevoke), s.revokeUserSessions)
	rt.handle(http.MethodDelete, user+"/mfa", Require(shared.PermUsersWrite), s.resetMFA)
	rt.handle(http.MethodDelete, user+"/lockout", Require(shared.PermUsersWrite), s.liftLockout)

	rt.handle(http.MethodGet, shared.PathSessions, Require(shared.PermSessionsRead), s.sessions)
	rt.handle(http.MethodDelete, shared.PathSessions+"/{id}", Require(shared.PermSessionsRevoke), s.revokeSession)

	rt.handle(http.MethodGet, shared.PathAudit, Require(shared.PermAuditRead), s.audit)
	rt.handle(http.MethodGet, shared.PathStats, Require(shared.PermAuditRead), s.stats)

	rt.handle(http.MethodGet, shared.PathHealth, Public, s.health)
	rt.handle(http.MethodGet, shared.PathReady, Public, s.ready)

	rt.handle(http.MethodGet, shared.PathOpenAPI, Public, s.openAPI)
	rt.add(Route{Method: http.MethodGet, Path: shared.PathDocs, Policy: Public}, withPolicy(docsPolicy, http.HandlerFunc(s.docs)))

	// Every other GET or HEAD outside /api/ belongs to the frontend. An
	// unknown API path falls through to the JSON 404, and a known one asked
	// with the wrong method to the JSON 405.
	if frontend != nil {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			rt.add(Route{Method: m, Path: "/", Prefix: true, Policy: Public}, frontend)
		}
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.writeError(w, r, fmt.Errorf("%w: %w", store.ErrUnavailable, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
