//go:build js && wasm

package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall/js"
)

// send hands req to the browser's fetch directly, never to net/http's
// Transport: a program that never calls http.Client.Do leaves the
// Transport's own dialling, TLS and HTTP/2 out of app.wasm (about 45 % of
// its code; see the README's Delivery and memory). Cookies are sent and
// accepted on every origin (credentials "include"), so that the HttpOnly
// refresh cookie works when the API is on another origin. Only hc.Timeout
// is used (30 s when hc is nil). The answer's body is read whole before
// send returns: API answers are small, and a cancelled context then stops
// the one fetch.
func send(hc *http.Client, req *http.Request) (*http.Response, error) {
	timeout := defaultTimeout
	if hc != nil && hc.Timeout > 0 {
		timeout = hc.Timeout
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()

	opt := js.Global().Get("Object").New()
	opt.Set("method", req.Method)
	opt.Set("credentials", "include")
	abort := js.Global().Get("AbortController")
	if abort.Truthy() {
		abort = abort.New()
		opt.Set("signal", abort.Get("signal"))
	}
	headers := js.Global().Get("Headers").New()
	for k, vs := range req.Header {
		for _, v := range vs {
			headers.Call("append", k, v)
		}
	}
	opt.Set("headers", headers)
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > 0 {
			buf := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(buf, b)
			opt.Set("body", buf)
		}
	}

	res, err := await(ctx, abort, js.Global().Call("fetch", req.URL.String(), opt))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	header := http.Header{}
	entries := res.Get("headers").Call("entries")
	for {
		n := entries.Call("next")
		if n.Get("done").Bool() {
			break
		}
		pair := n.Get("value")
		k := http.CanonicalHeaderKey(pair.Index(0).String())
		header[k] = append(header[k], pair.Index(1).String())
	}
	buf, err := await(ctx, abort, res.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("fetch: reading the answer: %w", err)
	}
	body := make([]byte, buf.Get("byteLength").Int())
	js.CopyBytesToGo(body, js.Global().Get("Uint8Array").New(buf))
	code := res.Get("status").Int()
	return &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Header:        header,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(bytes.NewReader(body)),
		Request:       req,
	}, nil
}

// await waits for promise to settle, or for ctx to end, which aborts the
// fetch (through abort, an AbortController, when the browser has one).
func await(ctx context.Context, abort, promise js.Value) (js.Value, error) {
	type settled struct {
		v   js.Value
		err error
	}
	done := make(chan settled, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		done <- settled{v: args[0]}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ok.Release()
		fail.Release()
		done <- settled{err: jsError(args[0])}
		return nil
	})
	promise.Call("then", ok, fail)
	select {
	case s := <-done:
		return s.v, s.err
	case <-ctx.Done():
		// The promise settles later (at once, rejected, when aborted) and
		// releases its functions then; done has room for its answer.
		if abort.Truthy() {
			abort.Call("abort")
		}
		return js.Value{}, ctx.Err()
	}
}

// jsError turns a rejection into a Go error, with its cause when it has
// one (Chromium's "Failed to fetch" says little on its own).
func jsError(v js.Value) error {
	msg := v.Call("toString").String()
	if c := v.Get("cause"); c.Truthy() {
		msg += ": " + c.Call("toString").String()
	}
	return fmt.Errorf("%s", msg)
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
