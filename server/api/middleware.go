package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"gatehouse/server/admin"
	"gatehouse/server/auth"
	"gatehouse/shared"
)

type ctxKey struct{}

// principal returns the authenticated caller stored by guard.
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(ctxKey{}).(*auth.Principal)
	return p
}

// actor returns the caller and where the request came from.
func (s *Server) actor(r *http.Request) admin.Actor {
	return admin.Actor{Principal: principal(r), Meta: s.meta(r)}
}

// meta describes where r comes from: the client's address as the trusted
// proxies tell it, its user agent and its device token.
func (s *Server) meta(r *http.Request) auth.Meta {
	m := auth.Meta{IP: s.proxies.ClientIP(r), UserAgent: r.UserAgent()}
	if c, err := r.Cookie(shared.CookieDevice); err == nil {
		m.Device = c.Value
	}
	return m
}

// https reports whether the client reached us over https.
func (s *Server) https(r *http.Request) bool { return s.proxies.Scheme(r) == "https" }

// sameOrigin reports whether a form POST may be served: browsers send
// Origin with every POST, and one that is neither the server's own (the
// public URL when configured, else the origin the request addressed) nor
// a configured CORS origin is a cross-site form — login CSRF. Requests
// without Origin (command-line clients) pass.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	o = strings.ToLower(o)
	if s.origins[o] {
		return true
	}
	return !s.public && o == s.proxies.Origin(r)
}

// bearer returns the token of an "Authorization: Bearer" header, "" when
// there is none. The scheme is case-insensitive (RFC 7235 §2.1).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// guard wraps h with what policy p demands: for any policy but Public, a
// valid access token whose session and user still hold, the permission
// if one is named, and the sliding refreshtoken header.
func (s *Server) guard(p Policy, h http.Handler) http.Handler {
	if p.IsPublic() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, present := bearer(r)
		if present && tok == "" {
			s.writeError(w, r, fmt.Errorf("%w: malformed Authorization header", auth.ErrInvalidToken))
			return
		}
		pr, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// Every authenticated answer slides, refusals (403) included: the
		// token is good, and a client that keeps working keeps its session.
		fresh, _, err := s.auth.Slide(r.Context(), pr)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if fresh != "" {
			w.Header().Set(shared.HeaderRefreshToken, fresh)
		}
		if perm := p.Permission(); perm != "" && !pr.Can(perm) {
			s.writeError(w, r, &httpError{http.StatusForbidden, shared.CodeInsufficientScope, "your role (" + string(pr.Role) + ") lacks the " + string(perm) + " permission"})
			return
		}
		switch err := s.auth.Restriction(pr); {
		case errors.Is(err, auth.ErrEnrollmentRequired) && p.while&Enrolling == 0,
			errors.Is(err, auth.ErrPasswordChangeRequired) && p.while&ChangingPassword == 0:
			s.writeError(w, r, err)
			return
		}
		w.Header()["Cache-Control"] = noStore
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, pr)))
	})
}

// limitBody refuses bodies over 1 MiB: at once when Content-Length says
// so, and while reading otherwise.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > shared.MaxRequestBodySize {
			writeJSON(w, http.StatusRequestEntityTooLarge, &shared.Error{Code: shared.CodeInvalidRequest, Description: "request body larger than 1 MiB"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, shared.MaxRequestBodySize)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets headers every response should carry, with the
// JSON answers' Content-Security-Policy (the frontend's route replaces it
// with the pages' one; see csp.go), and HSTS when the client used https,
// directly or through a trusted proxy.
//
// The values are shared slices assigned to canonical keys: Header.Set
// would allocate one per header per request. net/http never writes into a
// value slice, and Set or Add elsewhere replace or grow it.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = jsonPolicyValue
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["X-Frame-Options"] = deny
		h["Cross-Origin-Opener-Policy"] = sameOrigin
		if s.https(r) {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

var (
	jsonPolicyValue = []string{jsonPolicy}
	nosniff         = []string{"nosniff"}
	noReferrer      = []string{"no-referrer"}
	deny            = []string{"DENY"}
	sameOrigin      = []string{"same-origin"}
	hsts            = []string{"max-age=31536000"}
	noStore         = []string{"no-store"}
	jsonType        = []string{"application/json; charset=utf-8"}
)

// recoverer turns a panic into a 500 "internal" answer and a log line.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Security-Policy", jsonPolicy) // the frontend's may be set
				writeJSON(w, http.StatusInternalServerError, &shared.Error{Code: shared.CodeInternal, Description: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// ReadFrom hands what ServeContent copies (a file of the web directory) to
// the ResponseWriter's own ReadFrom, so that the kernel sends the file
// (sendfile) instead of the bytes going through a buffer here.
func (w *statusWriter) ReadFrom(src io.Reader) (n int64, err error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.bytes += int(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs one line per request at debug level (no query strings,
// no headers: nothing that could hold a token).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes, "duration", time.Since(start))
	})
}
