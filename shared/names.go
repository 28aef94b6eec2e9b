package shared

// HTTP header and cookie names of the token protocol.
const (
	// HeaderRefreshToken carries a fresh access token on authenticated
	// responses once the presented token is older than the slide threshold.
	// It is exposed through CORS so that a frontend on another origin can
	// read it.
	HeaderRefreshToken = "refreshtoken"

	// CookieRefresh is the HttpOnly cookie holding the refresh token for
	// browser clients. It is scoped to CookiePath.
	CookieRefresh = "gatehouse_refresh"

	// CookiePath is the only path the refresh cookie is sent to.
	CookiePath = "/api/token"
)

// API paths. Paths with an id take it as the last segment or as the
// segment named in the server's route template.
const (
	PathToken          = "/api/token"
	PathTokenRefresh   = "/api/token/refresh"
	PathLogout         = "/api/logout"
	PathAuthCheck      = "/api/auth/check"
	PathMe             = "/api/users/me"
	PathMePassword     = "/api/users/me/password"
	PathMeSessions     = "/api/users/me/sessions"
	PathUsers          = "/api/users"
	PathSessions       = "/api/sessions"
	PathAudit          = "/api/audit"
	PathStats          = "/api/stats"
	PathHealth         = "/healthz"
	PathReady          = "/readyz"
	MaxRequestBodySize = 1 << 20 // bytes; larger bodies get 413
)
