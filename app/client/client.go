// Package client is the typed Go client of the Gatehouse JSON API. The
// go-app frontend uses it in the browser (js/wasm, where net/http goes
// through fetch), and host programs and integration tests use it against a
// running server.
//
// The client looks after the access token:
//
//   - Every call but Login, Refresh, Health and Ready sends
//     "Authorization: Bearer <token>" when a token is held.
//   - A fresh token in the refreshtoken response header is stored when it
//     expires later than the held one (see Client for the exact rules), so
//     a user who keeps working is never signed out, and a slow response
//     never puts an older token back.
//   - A call answered 401 invalid_token refreshes the token once through
//     the HttpOnly refresh cookie and is retried once. Only one refresh runs
//     at a time per Client; calls that fail meanwhile wait for it and share
//     its outcome. When the server refuses the refresh the token is
//     cleared, OnLogout is called and the call fails with ErrLoggedOut.
//
// Failed calls return the server's error envelope as a *shared.Error with
// its HTTP status.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"gatehouse/shared"
)

// Client calls the Gatehouse API. Set its fields before the first call and
// do not change them afterwards; a Client is then safe for concurrent use.
// The zero value is usable in the browser (same origin, in-memory tokens).
//
// Tokens from the refreshtoken response header are handled like this: a
// token that does not parse as a JWT with an exp claim is ignored; when no
// token is held it is taken, except when the request carried a token (the
// store was cleared meanwhile, by a logout, and must stay cleared); a token
// of another session (sid claim) than the held one is ignored; otherwise it
// replaces the held token only if its exp is strictly later.
type Client struct {
	// BaseURL is the server's scheme and host, such as
	// "http://127.0.0.1:8000", without a trailing path. Empty means the
	// page's origin in the browser; host programs must set it.
	BaseURL string

	// HTTP sends the requests. Nil means a client with a 30 s timeout and
	// no cookie jar. Host programs that want the refresh cookie to work as
	// in a browser pass a client with a Jar (net/http/cookiejar). In the
	// browser (js/wasm) requests go to the browser's fetch directly, with
	// the browser's cookies; only HTTP.Timeout is used there.
	HTTP *http.Client

	// Tokens holds the access token. Nil means a new MemoryTokenStore,
	// set here on first use.
	Tokens TokenStore

	// CookieDelivery asks the server, at sign-in, to hand the refresh
	// token over only as its HttpOnly cookie: the answer's body then
	// carries none, so nothing a page script can read ever holds one.
	// Browsers set it; programs without a cookie jar must not, as they
	// need the refresh token from the body.
	CookieDelivery bool

	// SecondFactor, if set, is asked for a code when a sign-in needs one
	// (see Login).
	SecondFactor func(ctx context.Context) (Code, error)

	// Reauthenticate, if set, is asked for the password (and a TOTP code,
	// for a user with a second factor) when an authenticated call is
	// answered insufficient_user_authentication: the client then
	// re-authenticates (Reauth) and sends the call once more. Unset, the
	// call returns *StepUpRequiredError.
	Reauthenticate func(ctx context.Context, maxAge time.Duration) (password, otp string, err error)

	// StepUp, if set, is called instead of Reauthenticate when a call is
	// answered insufficient_user_authentication. It re-authenticates by
	// itself — typically a dialog that checks the password with Reauth,
	// says so when it is wrong and asks again, so that no code is spent
	// twice — and returns nil once that succeeded; the call is then sent
	// once more. An error is returned by the call as it is. Calls needing
	// a step-up at the same time each call StepUp: sharing one question
	// between them is up to it.
	StepUp func(ctx context.Context, maxAge time.Duration) error

	// OnLogout, if set, is called once each time a refresh is refused and
	// the token cleared, before the calls waiting for that refresh return
	// ErrLoggedOut. The frontend uses it to go to the login page. It runs
	// on the goroutine that did the refresh (in go-app, hand UI changes to
	// ctx.Dispatch) and must not block for long.
	OnLogout func()

	once sync.Once

	// mu makes read-compare-write sequences on Tokens atomic and guards
	// the fields below.
	mu sync.Mutex
	// epoch counts wholesale token changes (Login, Logout, a refused
	// refresh); a refresh started in an earlier epoch does not store its
	// token.
	epoch uint64
	// gen counts finished refreshes and lastRefresh is the outcome of the
	// latest one: a 401 to a request sent before a refresh finished is
	// answered by that refresh instead of a new one.
	gen         uint64
	lastRefresh error
	// reauths counts finished re-authentications (Reauth): a step-up
	// refusal of a request sent before one finished is answered by it,
	// and the request is sent again without asking.
	reauths uint64
	// inflight is the refresh under way, if any.
	inflight *refreshCall
}

// refreshCall is one refresh shared by every call that waits for it.
type refreshCall struct {
	done chan struct{} // closed when err is set
	err  error
}

// defaultTimeout bounds a request when Client.HTTP is nil.
const defaultTimeout = 30 * time.Second

// refreshTimeout bounds a refresh, which runs on its own so that one
// caller giving up does not fail the others waiting for it.
const refreshTimeout = 30 * time.Second

// New returns a Client for the server at baseURL that keeps its token in
// tokens (a new MemoryTokenStore when nil).
func New(baseURL string, tokens TokenStore) *Client {
	if tokens == nil {
		tokens = new(MemoryTokenStore)
	}
	return &Client{BaseURL: baseURL, Tokens: tokens}
}

func (c *Client) init() {
	c.once.Do(func() {
		if c.Tokens == nil {
			c.Tokens = new(MemoryTokenStore)
		}
	})
}

// request describes one API call. body is kept as bytes so that it can be
// sent again after a refresh.
type request struct {
	method      string
	path        string
	query       url.Values
	body        []byte
	contentType string
	auth        bool // send the bearer token; refresh and retry on 401
	out         any  // decoded from a 2xx JSON answer unless nil
}

// do runs r: it sends it, and when r.auth and the answer is 401
// invalid_token, gets a fresh token and sends it once more.
func (c *Client) do(ctx context.Context, r *request) error {
	c.init()
	sent, gen := c.snapshot(r.auth)
	reauths := c.reauthCount()
	resp, err := c.roundTrip(ctx, r, sent)
	if err != nil {
		return err
	}
	if r.auth && resp.StatusCode == http.StatusUnauthorized {
		apiErr := readError(resp)
		stepUp := apiErr.Code == shared.CodeInsufficientUserAuth && (c.Reauthenticate != nil || c.StepUp != nil) && r.path != shared.PathReauth
		if !refreshable(apiErr) && !stepUp {
			return typed(apiErr)
		}
		if stepUp {
			if c.reauthCount() == reauths { // else one finished since it was sent
				if err := c.stepUp(ctx, apiErr); err != nil {
					return err
				}
			}
		} else if err := c.afterUnauthorized(ctx, sent, gen, apiErr); err != nil {
			if errors.Is(err, ErrLoggedOut) {
				// Keep the call's own answer too: its reason says why the
				// session ended when the refused refresh does not.
				err = fmt.Errorf("%w (the call was refused: %w)", err, apiErr)
			}
			return err
		}
		sent, _ = c.snapshot(true)
		if resp, err = c.roundTrip(ctx, r, sent); err != nil {
			return err
		}
	}
	return finish(r, resp)
}

// stepUp answers insufficient_user_authentication (cause) through StepUp,
// or with the password (and code) Reauthenticate gives, so that the call
// can be sent again.
func (c *Client) stepUp(ctx context.Context, cause *shared.Error) error {
	maxAge := time.Duration(cause.MaxAge) * time.Second
	if c.StepUp != nil {
		return c.StepUp(ctx, maxAge)
	}
	password, otp, err := c.Reauthenticate(ctx, maxAge)
	if err != nil {
		return err
	}
	return c.Reauth(ctx, password, otp)
}

// reauthCount is the number of re-authentications finished so far.
func (c *Client) reauthCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reauths
}

// snapshot returns the token to send (none unless auth) and the refresh
// generation at the time of sending.
func (c *Client) snapshot(auth bool) (tok string, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if auth {
		tok = c.Tokens.Token()
	}
	return tok, c.gen
}

// roundTrip sends r once with the token tok (none when "") and offers the
// answer's refreshtoken header to the store.
func (c *Client) roundTrip(ctx context.Context, r *request, tok string) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = defaultBaseURL()
	}
	u := strings.TrimRight(base, "/") + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := send(c.HTTP, req)
	if err != nil {
		// *url.Error repeats method and URL; keep its cause, which still
		// answers errors.Is(err, context.Canceled) and net.Error.Timeout.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	if nt := resp.Header.Get(shared.HeaderRefreshToken); nt != "" {
		c.offerToken(tok, nt)
	}
	return resp, nil
}

// finish turns an answer into r's result: the decoded body for a 2xx, the
// error envelope otherwise. It closes the body.
func finish(r *request, resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return typed(readError(resp))
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if r.out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(r.out); err != nil {
		return fmt.Errorf("client: %s %s: decoding the answer: %w", r.method, r.path, err)
	}
	return nil
}

// afterUnauthorized is called when a request sent with token sent, at refresh
// generation gen, was answered 401 invalid_token (cause). It returns nil
// when the request should be retried with the now held token, and an error
// to return to the caller otherwise.
//
// A request is answered by the first refresh that finishes after it was
// sent: it joins the refresh under way, or shares the outcome of one that
// finished meanwhile, and starts one only when neither exists. So however
// many calls fail together, one refresh request reaches the server, and
// OnLogout is called once.
func (c *Client) afterUnauthorized(ctx context.Context, sent string, gen uint64, cause error) error {
	c.mu.Lock()
	call := c.inflight
	if call == nil {
		cur := c.Tokens.Token()
		refreshed, last := c.gen != gen, c.lastRefresh
		switch {
		case cur != "" && cur != sent:
			// Another call refreshed or slid the token, or someone signed
			// in, since this request left: retry with the new token.
			c.mu.Unlock()
			return nil
		case cur == "" && sent != "":
			// The token was cleared since this request left: by a refused
			// refresh, whose error says why, or by a logout.
			c.mu.Unlock()
			if refreshed && errors.Is(last, ErrLoggedOut) {
				return last
			}
			return loggedOut("token cleared", cause)
		case refreshed:
			// A refresh finished meanwhile, yet the token is the one sent:
			// it failed (share its error rather than asking again at
			// once), or it succeeded and stored the same token (retry).
			c.mu.Unlock()
			return last
		}
		call = c.startRefreshLocked(ctx)
	}
	c.mu.Unlock()
	return c.wait(ctx, call)
}

// Refresh gets a new access token with the refresh cookie (POST
// /api/token/refresh without a body) and stores it. If a refresh is already
// under way it waits for that one instead. When the server refuses the
// refresh, the token is cleared, OnLogout is called and the error matches
// ErrLoggedOut; other failures (network, 5xx) leave the token alone.
func (c *Client) Refresh(ctx context.Context) error {
	c.init()
	c.mu.Lock()
	call := c.inflight
	if call == nil {
		call = c.startRefreshLocked(ctx)
	}
	c.mu.Unlock()
	return c.wait(ctx, call)
}

// startRefreshLocked starts a refresh; c.mu must be held. The refresh keeps
// ctx's values but not its cancellation, since other calls may come to
// wait for it.
func (c *Client) startRefreshLocked(ctx context.Context) *refreshCall {
	call := &refreshCall{done: make(chan struct{})}
	c.inflight = call
	go c.runRefresh(context.WithoutCancel(ctx), call, c.epoch)
	return call
}

// runRefresh performs the refresh call, stores its outcome and releases
// the waiting calls.
func (c *Client) runRefresh(ctx context.Context, call *refreshCall, epoch uint64) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	tok, err := c.postRefresh(ctx)

	logout := false
	c.mu.Lock()
	if c.epoch == epoch { // else Login or Logout happened meanwhile: they win
		switch {
		case err == nil:
			c.Tokens.SetToken(tok)
		case refused(err):
			c.Tokens.Clear()
			c.epoch++
			logout = true
			err = loggedOut("refresh refused", err)
		}
	}
	c.gen++
	c.lastRefresh = err
	c.inflight = nil
	c.mu.Unlock()

	if logout && c.OnLogout != nil {
		c.OnLogout()
	}
	call.err = err
	close(call.done)
}

// postRefresh asks the server for a new access token.
func (c *Client) postRefresh(ctx context.Context) (string, error) {
	r := &request{method: http.MethodPost, path: shared.PathTokenRefresh, out: new(shared.TokenResponse)}
	resp, err := c.roundTrip(ctx, r, "")
	if err != nil {
		return "", err
	}
	if err := finish(r, resp); err != nil {
		return "", err
	}
	tr := r.out.(*shared.TokenResponse)
	if tr.AccessToken == "" {
		return "", fmt.Errorf("client: POST %s: the answer has no access_token", r.path)
	}
	return tr.AccessToken, nil
}

// wait waits for call to finish, or for ctx to end.
func (c *Client) wait(ctx context.Context, call *refreshCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for the token refresh: %w", ctx.Err())
	}
}
