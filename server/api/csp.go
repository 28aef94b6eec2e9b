package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Content-Security-Policy differs by what an answer is (DESIGN "Security
// headers"):
//
//   - JSON answers — every /api/ route, /healthz, /readyz and the JSON 404
//     and 405 — are never rendered as documents, so they allow nothing at
//     all. securityHeaders sets this policy on every answer.
//   - Everything the frontend serves (pages, /app.js, /app-worker.js,
//     /web/…, the manifest) gets pagePolicy instead: what the go-app PWA
//     needs and nothing more. Scripts and styles come only from this origin
//     (go-app's page has no inline <script>, <style> or style="" and none of
//     our components render one), WebAssembly may be compiled
//     ('wasm-unsafe-eval', never 'unsafe-eval'), and fetches may go to this
//     origin and to the API's when the PWA calls an API elsewhere.
//   - The page of /api/docs gets docsPolicy, on that route alone: what its
//     viewer, Swagger UI, needs. Its scripts and stylesheet are files under
//     /web/docs/ (no inline script, and no inline style: it styles through
//     the CSSOM, which style-src does not govern), it fetches
//     /api/openapi.json and, when someone tries an operation, the API
//     itself, and its images are its stylesheet's data: icons and the
//     page's favicon.
//
// The service worker script gets the page policy too: its fetches (the
// cache-first pass-through of every request, API calls included) are bound
// by its own connect-src.
const jsonPolicy = "default-src 'none'; frame-ancestors 'none'"

// docsPolicy is the Content-Security-Policy of the /api/docs page.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pagePolicy returns the policy of the frontend's answers. apiOrigin is
// added to connect-src when it is not "".
func pagePolicy(apiOrigin string) string {
	connect := "'self'"
	if apiOrigin != "" {
		connect += " " + apiOrigin
	}
	return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
}

// cspHost is what a host (with an optional port) may look like in a CSP
// source expression: a name, an IPv4 address or a bracketed IPv6 address.
// Anything else — say ";" or a space — could end the directive and start
// another, so it is refused.
var cspHost = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// apiOrigin returns the origin (scheme://host[:port]) of the API URL the
// PWA calls, as a CSP source expression. A path is dropped: connect-src
// names the origin, whatever path the API lives under. It returns false
// for a URL that is not http(s) with a plain host.
func apiOrigin(apiURL string) (string, bool) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !cspHost.MatchString(u.Host) {
		return "", false
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), true
}

// withPolicy serves h with the Content-Security-Policy policy in place of
// the JSON one securityHeaders set. Nil h stays nil.
func withPolicy(policy string, h http.Handler) http.Handler {
	if h == nil {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		h.ServeHTTP(w, r)
	})
}

// frontend returns the frontend handler with the page policy, calling the
// API at apiURL ("" for this origin). An unusable API URL is logged and
// left out, so connect-src stays 'self': the PWA then cannot reach that
// API, which is seen at once, rather than the policy being widened.
func (s *Server) frontend(h http.Handler, apiURL string) http.Handler {
	var origin string
	if apiURL != "" {
		o, ok := apiOrigin(apiURL)
		if !ok {
			s.log.Error("the API URL is not an http(s) origin: left out of the pages' connect-src", "api_url", apiURL)
		}
		origin = o
	}
	return withPolicy(pagePolicy(origin), h)
}
