// Package shared holds the wire types, names and input rules that the
// Gatehouse server and its clients (the go-app frontend and the Go API
// client) agree on.
//
// It imports only the standard library and compiles for the host and for
// js/wasm, so the same validation runs in the browser before a form is sent
// and on the server when it arrives.
package shared
