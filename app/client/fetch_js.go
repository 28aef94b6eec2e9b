//go:build js && wasm

package client

import (
	"net/http"
	"syscall/js"
)

// setFetchOptions asks the browser's fetch to send and accept cookies even
// when the API is on another origin, so that the HttpOnly refresh cookie
// works (net/http in js/wasm reads js.fetch:* headers as fetch options and
// does not send them).
func setFetchOptions(h http.Header) {
	h.Set("js.fetch:credentials", "include")
}

// defaultBaseURL is the page's origin: an empty BaseURL means same origin.
func defaultBaseURL() string {
	loc := js.Global().Get("location")
	if loc.Type() != js.TypeObject {
		return ""
	}
	if o := loc.Get("origin"); o.Type() == js.TypeString {
		return o.String()
	}
	return ""
}
