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
	// CookieDevice is the HttpOnly device cookie a browser gets after a
	// complete sign-in: its failed sign-ins to that account count against
	// the device alone. It is scoped to DeviceCookiePath.
	CookieDevice = "gatehouse_device"
	// DeviceCookiePath is the only path the device cookie is sent to.
	DeviceCookiePath = "/api"
	// FieldTokenDelivery is the sign-in form field by which a browser asks
	// for the refresh token as the HttpOnly cookie only (value
	// TokenDeliveryCookie): the JSON answer then carries none, so no page
	// script ever sees it.
	FieldTokenDelivery  = "token_delivery"
	TokenDeliveryCookie = "cookie"
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
	PathMeMFA          = "/api/users/me/mfa"
	PathMeTOTP         = "/api/users/me/mfa/totp"
	PathMeTOTPConfirm  = "/api/users/me/mfa/totp/confirm"
	PathMeRecovery     = "/api/users/me/mfa/recovery-codes"
	PathReauth         = "/api/reauth"
	PathOpenAPI        = "/api/openapi.json" // the OpenAPI 3 description of the API
	PathDocs           = "/api/docs"         // that description, rendered
	PathHealth         = "/healthz"
	PathReady          = "/readyz"
	MaxRequestBodySize = 1 << 20 // bytes; larger bodies get 413
)
