package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"gatehouse/shared"
)

// UserQuery selects a page of GET /api/users. Zero fields are left out of
// the query, so the server's defaults apply.
type UserQuery struct {
	Q       string          // search text
	Sort    shared.UserSort // the zero value: newest first
	Page    int             // 1-based
	PerPage int
}

// SessionQuery selects a page of GET /api/sessions. Zero fields are left
// out of the query.
type SessionQuery struct {
	UserID  int64 // only this user's sessions
	Active  *bool // only active (true) or only ended (false) sessions
	Page    int
	PerPage int
}

// AuditQuery selects a page of GET /api/audit. Zero fields are left out of
// the query.
type AuditQuery struct {
	Actor   string // the start of the actor's name
	Action  string // one of the shared.Action… names
	Page    int
	PerPage int
}

// Login signs in with the password grant (POST /api/token, form-encoded)
// and stores the access token. The server also sets the refresh cookie,
// which the browser (or HTTP's cookie jar) keeps; with CookieDelivery the
// answer carries the refresh token nowhere else. A user with a second
// factor gets *MFARequiredError — unless SecondFactor is set, which is
// then asked for a code to finish the sign-in (LoginMFA). A wrong username or
// password is a *shared.Error with status 401 and code invalid_grant.
func (c *Client) Login(ctx context.Context, username, password string) (*shared.TokenResponse, error) {
	form := url.Values{
		"grant_type": {shared.GrantPassword},
		"username":   {username},
		"password":   {password},
	}
	tr, err := c.grant(ctx, form)
	var mfa *MFARequiredError
	if errors.As(err, &mfa) && c.SecondFactor != nil {
		code, cerr := c.SecondFactor(ctx)
		if cerr != nil {
			return nil, cerr
		}
		return c.LoginMFA(ctx, mfa.Token, code)
	}
	return tr, err
}

// grant posts a grant to the token endpoint and stores the access token.
func (c *Client) grant(ctx context.Context, form url.Values) (*shared.TokenResponse, error) {
	if c.CookieDelivery {
		form.Set(shared.FieldTokenDelivery, shared.TokenDeliveryCookie)
	}
	tr := new(shared.TokenResponse)
	err := c.do(ctx, &request{
		method:      http.MethodPost,
		path:        shared.PathToken,
		body:        []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded",
		out:         tr,
	})
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("client: POST %s: the answer has no access_token", shared.PathToken)
	}
	c.mu.Lock()
	c.Tokens.SetToken(tr.AccessToken)
	c.epoch++
	c.mu.Unlock()
	return tr, nil
}

// Logout ends the current session on the server (POST /api/logout), which
// also clears the refresh cookie, and always clears the local token, even
// when the call fails. A session that had already ended is not an error.
func (c *Client) Logout(ctx context.Context) error {
	err := c.call(ctx, http.MethodPost, shared.PathLogout, nil, nil, nil)
	c.mu.Lock()
	c.Tokens.Clear()
	c.epoch++
	c.mu.Unlock()
	if errors.Is(err, ErrLoggedOut) {
		return nil
	}
	return err
}

// Check authenticates and nothing else (GET /api/auth/check, 204); like
// every authenticated call it may bring a fresh token.
func (c *Client) Check(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, shared.PathAuthCheck, nil, nil, nil)
}

// Me returns the signed-in user (GET /api/users/me).
func (c *Client) Me(ctx context.Context) (*shared.User, error) {
	return callFor[shared.User](ctx, c, http.MethodGet, shared.PathMe, nil, nil)
}

// UpdateMe changes the signed-in user's own profile (PATCH /api/users/me)
// and returns it as updated.
func (c *Client) UpdateMe(ctx context.Context, p shared.ProfileUpdate) (*shared.User, error) {
	return callFor[shared.User](ctx, c, http.MethodPatch, shared.PathMe, nil, p)
}

// ChangePassword changes the signed-in user's password (PUT
// /api/users/me/password, 204). The server ends the user's other sessions.
func (c *Client) ChangePassword(ctx context.Context, p shared.PasswordChange) error {
	return c.call(ctx, http.MethodPut, shared.PathMePassword, nil, p, nil)
}

// MySessions lists the signed-in user's sessions (GET
// /api/users/me/sessions), newest first. Zero page or perPage leave the
// server's defaults.
func (c *Client) MySessions(ctx context.Context, page, perPage int) (*shared.Page[shared.Session], error) {
	return callFor[shared.Page[shared.Session]](ctx, c, http.MethodGet, shared.PathMeSessions, paging(nil, page, perPage), nil)
}

// RevokeMySession ends one of the signed-in user's sessions (DELETE
// /api/users/me/sessions/{id}, 204).
func (c *Client) RevokeMySession(ctx context.Context, id string) error {
	p, err := idPath(shared.PathMeSessions, id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, p, nil, nil, nil)
}

// Users lists users (GET /api/users; users:read) in the order q.Sort,
// newest first by default.
func (c *Client) Users(ctx context.Context, q UserQuery) (*shared.Page[shared.User], error) {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if s := q.Sort.String(); s != "" {
		v.Set("sort", s)
	}
	return callFor[shared.Page[shared.User]](ctx, c, http.MethodGet, shared.PathUsers, paging(v, q.Page, q.PerPage), nil)
}

// CreateUser creates a user (POST /api/users, 201; users:write) and
// returns it.
func (c *Client) CreateUser(ctx context.Context, u shared.UserCreate) (*shared.User, error) {
	return callFor[shared.User](ctx, c, http.MethodPost, shared.PathUsers, nil, u)
}

// User returns one user (GET /api/users/{id}; users:read).
func (c *Client) User(ctx context.Context, id int64) (*shared.User, error) {
	return callFor[shared.User](ctx, c, http.MethodGet, userPath(id), nil, nil)
}

// UpdateUser changes the fields of u that are set (PATCH /api/users/{id};
// users:write, and roles:write for a role change) and returns the user as
// updated.
func (c *Client) UpdateUser(ctx context.Context, id int64, u shared.UserUpdate) (*shared.User, error) {
	return callFor[shared.User](ctx, c, http.MethodPatch, userPath(id), nil, u)
}

// DeleteUser deletes a user (DELETE /api/users/{id}, 204; users:write).
func (c *Client) DeleteUser(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, userPath(id), nil, nil, nil)
}

// ResetPassword sets another user's password (PUT /api/users/{id}/password,
// 204; users:write). The server ends that user's sessions.
func (c *Client) ResetPassword(ctx context.Context, id int64, p shared.PasswordReset) error {
	return c.call(ctx, http.MethodPut, userPath(id)+"/password", nil, p, nil)
}

// Sessions lists all users' sessions (GET /api/sessions; sessions:read),
// newest first.
func (c *Client) Sessions(ctx context.Context, q SessionQuery) (*shared.Page[shared.Session], error) {
	v := url.Values{}
	if q.UserID != 0 {
		v.Set("user_id", strconv.FormatInt(q.UserID, 10))
	}
	if q.Active != nil {
		v.Set("active", strconv.FormatBool(*q.Active))
	}
	return callFor[shared.Page[shared.Session]](ctx, c, http.MethodGet, shared.PathSessions, paging(v, q.Page, q.PerPage), nil)
}

// RevokeSession ends any session (DELETE /api/sessions/{id}, 204;
// sessions:revoke).
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	p, err := idPath(shared.PathSessions, id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, p, nil, nil, nil)
}

// RevokeUserSessions ends every session of a user (DELETE
// /api/users/{id}/sessions, 204; sessions:revoke).
func (c *Client) RevokeUserSessions(ctx context.Context, userID int64) error {
	return c.call(ctx, http.MethodDelete, userPath(userID)+"/sessions", nil, nil, nil)
}

// Audit lists audit events (GET /api/audit; audit:read), newest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*shared.Page[shared.AuditEvent], error) {
	v := url.Values{}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	return callFor[shared.Page[shared.AuditEvent]](ctx, c, http.MethodGet, shared.PathAudit, paging(v, q.Page, q.PerPage), nil)
}

// Stats returns the dashboard figures (GET /api/stats; audit:read).
func (c *Client) Stats(ctx context.Context) (*shared.Stats, error) {
	return callFor[shared.Stats](ctx, c, http.MethodGet, shared.PathStats, nil, nil)
}

// Health reports whether the server is alive (GET /healthz). It sends no
// token.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, &request{method: http.MethodGet, path: shared.PathHealth})
}

// Ready reports whether the server can serve, its store included (GET
// /readyz). It sends no token.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, &request{method: http.MethodGet, path: shared.PathReady})
}

// call runs an authenticated call, sending in as JSON unless nil and
// decoding the answer into out unless nil.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	r := &request{method: method, path: path, query: q, auth: true, out: out}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: %s %s: encoding the request: %w", method, path, err)
		}
		r.body, r.contentType = b, "application/json"
	}
	return c.do(ctx, r)
}

// callFor is call for an answer of type T.
func callFor[T any](ctx context.Context, c *Client, method, path string, q url.Values, in any) (*T, error) {
	out := new(T)
	if err := c.call(ctx, method, path, q, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// paging adds page and per_page to v (allocated if nil) when positive.
func paging(v url.Values, page, perPage int) url.Values {
	if v == nil {
		v = url.Values{}
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		v.Set("per_page", strconv.Itoa(perPage))
	}
	return v
}

func userPath(id int64) string {
	return shared.PathUsers + "/" + strconv.FormatInt(id, 10)
}

// idPath appends an escaped id segment to base.
func idPath(base, id string) (string, error) {
	if id == "" {
		return "", errors.New("client: empty session id")
	}
	return base + "/" + url.PathEscape(id), nil
}
