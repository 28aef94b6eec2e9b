//go:build !(js && wasm)

package client

import "net/http"

// defaultHTTP sends requests when Client.HTTP is nil.
var defaultHTTP = &http.Client{Timeout: defaultTimeout}

// send sends req through hc (defaultHTTP when nil).
func send(hc *http.Client, req *http.Request) (*http.Response, error) {
	if hc == nil {
		hc = defaultHTTP
	}
	return hc.Do(req)
}

// defaultBaseURL is "" outside the browser: there is no page origin, so
// host programs must set BaseURL.
func defaultBaseURL() string { return "" }
