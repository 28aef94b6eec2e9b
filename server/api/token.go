package api

import (
	"errors"
	"net/http"
	"time"

	"gatehouse/server/auth"
	"gatehouse/shared"
)

// token serves POST /api/token: the OAuth 2.0 password grant (the default
// when grant_type is absent) and the refresh_token grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "", shared.GrantPassword:
		username, password := form.Get("username"), form.Get("password")
		if username == "" || password == "" {
			s.writeError(w, r, badRequest("username and password are required"))
			return
		}
		g, err := s.auth.Login(r.Context(), username, password, meta(r))
		s.answerGrant(w, r, g, err, false)
	case shared.GrantRefreshToken:
		s.refresh(w, r)
	default:
		s.writeError(w, r, &httpError{http.StatusBadRequest, shared.CodeUnsupportedGrant, "grant_type must be password or refresh_token"})
	}
}

// refresh serves POST /api/token/refresh: the refresh grant, with the token
// from the form field refresh_token or else the HttpOnly cookie.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tok, fromCookie := form.Get("refresh_token"), false
	if tok == "" {
		if c, err := r.Cookie(shared.CookieRefresh); err == nil {
			tok, fromCookie = c.Value, true
		}
	}
	g, err := s.auth.Refresh(r.Context(), tok, meta(r))
	s.answerGrant(w, r, g, err, fromCookie)
}

// answerGrant writes the token response (RFC 6749 §5.1) and sets the
// refresh cookie, or writes the error; a refresh cookie that failed is
// cleared.
func (s *Server) answerGrant(w http.ResponseWriter, r *http.Request, g *auth.Grant, err error, fromCookie bool) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if err != nil {
		if fromCookie && errors.Is(err, auth.ErrBadRefresh) {
			s.setRefreshCookie(w, r, "", time.Time{}, time.Time{})
		}
		s.writeError(w, r, err)
		return
	}
	now := g.Issued
	resp := shared.TokenResponse{
		AccessToken: g.AccessToken,
		TokenType:   shared.TokenTypeBearer,
		ExpiresIn:   seconds(g.AccessExpires.Sub(now)),
	}
	if g.RefreshToken != "" {
		resp.RefreshToken = g.RefreshToken
		resp.RefreshExpiresIn = seconds(g.RefreshExpires.Sub(now))
		s.setRefreshCookie(w, r, g.RefreshToken, g.RefreshExpires, now)
	}
	writeJSON(w, http.StatusOK, &resp)
}

func seconds(d time.Duration) int64 { return int64(max(d, 0) / time.Second) }

// setRefreshCookie sets the HttpOnly refresh cookie, or clears it when
// value is empty.
func (s *Server) setRefreshCookie(w http.ResponseWriter, r *http.Request, value string, expires, now time.Time) {
	c := &http.Cookie{
		Name:     shared.CookieRefresh,
		Value:    value,
		Path:     shared.CookiePath,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   s.secure == "true" || (s.secure != "false" && r.TLS != nil),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
		c.MaxAge = int(seconds(expires.Sub(now)))
	}
	http.SetCookie(w, c)
}

// logout serves POST /api/logout: revokes the session in use and clears
// the refresh cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Del(shared.HeaderRefreshToken) // no fresh token for a session being closed
	if err := s.auth.Logout(r.Context(), principal(r), meta(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setRefreshCookie(w, r, "", time.Time{}, time.Time{})
	w.WriteHeader(http.StatusNoContent)
}

// check serves GET /api/auth/check: it exists to authenticate and slide.
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}
