package api

import (
	"bytes"
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3 description of every route, served at
// /api/openapi.json exactly as committed. It is written by hand, not
// generated from the router or the wire types, so that the tests can hold
// the two against each other: openapi_test.go compares it with the router
// (every route described with its method and policy, every operation
// routed), and the integration tests validate every answer of the real
// server against it (status, declared headers, body).
//
//go:embed openapi.json
var openAPIDoc []byte

// docsPage is the page of /api/docs: Swagger UI, from the web directory
// (web/docs), rendering /api/openapi.json. It loads nothing from anywhere
// but this server, and runs under docsPolicy (csp.go).
//
//go:embed docs.html
var docsPage []byte

// OpenAPI returns the OpenAPI 3 description the server serves at
// /api/openapi.json.
func OpenAPI() []byte { return bytes.Clone(openAPIDoc) }

// openAPI serves GET /api/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
}

// docs serves GET /api/docs.
func (s *Server) docs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(docsPage)
}
