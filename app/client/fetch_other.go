//go:build !(js && wasm)

package client

import "net/http"

// setFetchOptions does nothing outside the browser: js.fetch:* is not a
// valid header name, and net/http would refuse to send it.
func setFetchOptions(http.Header) {}

// defaultBaseURL is "" outside the browser: there is no page origin, so
// host programs must set BaseURL.
func defaultBaseURL() string { return "" }
