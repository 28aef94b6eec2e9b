package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"gatehouse/server/auth"
	"gatehouse/shared"
)

// token serves POST /api/token: the OAuth 2.0 password grant (the default
// when grant_type is absent) and the refresh_token grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, err := s.parseTokenForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := s.meta(r)
	m.CookieOnly = form.Get(shared.FieldTokenDelivery) == shared.TokenDeliveryCookie
	switch gt := form.Get("grant_type"); gt {
	case "", shared.GrantPassword:
		g, err := s.auth.Login(r.Context(), form.Get("username"), form.Get("password"), m)
		if err == nil {
			s.setDeviceCookie(w, r, g)
		}
		s.answerGrant(w, r, g, err, g != nil && g.CookieOnly, false)
	case shared.GrantRefreshToken:
		s.answerRefresh(w, r, form.Get("refresh_token"))
	case shared.GrantMFAOTP:
		g, err := s.auth.CompleteMFA(r.Context(), form.Get("mfa_token"), form.Get("otp"), form.Get("recovery_code"), m)
		if err == nil {
			s.setDeviceCookie(w, r, g)
		}
		s.answerGrant(w, r, g, err, g != nil && g.CookieOnly, false)
	default:
		s.writeError(w, r, &httpError{http.StatusBadRequest, shared.CodeUnsupportedGrant, "grant_type must be password, refresh_token or mfa_otp"})
	}
}

// refresh serves POST /api/token/refresh: the refresh grant, with the token
// from the form field refresh_token or else the HttpOnly cookie; without
// either, a request carrying only a valid bearer access token gets a fresh
// access token for the same session (what clients written against
// FastAPI's /token/refresh examples expect), capped by the session's end,
// with no refresh token and no rotation.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	form, err := s.parseTokenForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, noCookie := r.Cookie(shared.CookieRefresh)
	if tok, present := bearer(r); present && form.Get("refresh_token") == "" && noCookie != nil {
		s.renew(w, r, tok)
		return
	}
	s.answerRefresh(w, r, form.Get("refresh_token"))
}

// renew answers a fresh access token for the session of the bearer token
// tok.
func (s *Server) renew(w http.ResponseWriter, r *http.Request, tok string) {
	if tok == "" {
		s.writeError(w, r, fmt.Errorf("%w: malformed Authorization header", auth.ErrInvalidToken))
		return
	}
	p, err := s.auth.Authenticate(r.Context(), tok)
	var g *auth.Grant
	if err == nil {
		g, err = s.auth.Renew(r.Context(), p)
	}
	s.answerGrant(w, r, g, err, true, false)
}

// parseTokenForm refuses a cross-site form POST (see sameOrigin) and reads
// the form.
func (s *Server) parseTokenForm(r *http.Request) (url.Values, error) {
	if !s.sameOrigin(r) {
		return nil, &httpError{http.StatusForbidden, shared.CodeInvalidRequest, "cross-origin form posts are refused"}
	}
	return parseForm(r)
}

// answerRefresh runs the refresh grant with tok, or with the refresh cookie
// when tok is empty. A refresh authenticated by the cookie answers the new
// refresh token in the cookie only.
func (s *Server) answerRefresh(w http.ResponseWriter, r *http.Request, tok string) {
	fromCookie := false
	if tok == "" {
		if c, err := r.Cookie(shared.CookieRefresh); err == nil {
			tok, fromCookie = c.Value, true
		}
	}
	g, err := s.auth.Refresh(r.Context(), tok, s.meta(r))
	s.answerGrant(w, r, g, err, fromCookie, fromCookie)
}

// answerGrant writes the token response (RFC 6749 §5.1) and sets the
// refresh cookie, or writes the error. With cookieOnly the body carries no
// refresh token. A refresh cookie that failed (clearCookie) is cleared.
func (s *Server) answerGrant(w http.ResponseWriter, r *http.Request, g *auth.Grant, err error, cookieOnly, clearCookie bool) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if err != nil {
		if clearCookie && errors.Is(err, auth.ErrBadRefresh) {
			s.setCookie(w, r, shared.CookieRefresh, shared.CookiePath, "", time.Time{}, time.Time{})
		}
		s.writeError(w, r, err)
		return
	}
	now := g.Issued
	resp := shared.TokenResponse{
		AccessToken:       g.AccessToken,
		TokenType:         shared.TokenTypeBearer,
		ExpiresIn:         seconds(g.AccessExpires.Sub(now)),
		RecoveryCodesLeft: g.RecoveryCodesLeft,
	}
	if g.RefreshToken != "" {
		if !cookieOnly {
			resp.RefreshToken = g.RefreshToken
			resp.RefreshExpiresIn = seconds(g.RefreshExpires.Sub(now))
		}
		s.setCookie(w, r, shared.CookieRefresh, shared.CookiePath, g.RefreshToken, g.RefreshExpires, now)
	}
	writeJSON(w, http.StatusOK, &resp)
}

// setDeviceCookie gives the browser the device token of a complete
// sign-in.
func (s *Server) setDeviceCookie(w http.ResponseWriter, r *http.Request, g *auth.Grant) {
	if g.Device != "" {
		s.setCookie(w, r, shared.CookieDevice, shared.DeviceCookiePath, g.Device, g.DeviceExpires, g.Issued)
	}
}

func seconds(d time.Duration) int64 { return int64(max(d, 0) / time.Second) }

// setCookie sets an HttpOnly, SameSite=Strict cookie, Secure when the
// client uses https (or as configured), or clears it when value is empty.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, path, value string, expires, now time.Time) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   s.secure == "true" || (s.secure != "false" && s.https(r)),
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
// the refresh cookie. The device cookie stays: the device did sign in.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Del(shared.HeaderRefreshToken) // no fresh token for a session being closed
	if err := s.auth.Logout(r.Context(), principal(r), s.meta(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookie(w, r, shared.CookieRefresh, shared.CookiePath, "", time.Time{}, time.Time{})
	w.WriteHeader(http.StatusNoContent)
}

// check serves GET /api/auth/check: it exists to authenticate and slide.
func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}
