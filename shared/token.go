package shared

// OAuth 2.0 grant types accepted by POST /api/token.
const (
	GrantPassword     = "password"
	GrantRefreshToken = "refresh_token"
)

// TokenResponse is the successful answer of the token endpoint
// (RFC 6749 §5.1). ExpiresIn and RefreshExpiresIn are in seconds.
// RefreshToken is empty when a refresh was answered inside the grace window
// without a rotation: the caller keeps the refresh token it has.
type TokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresIn int64  `json:"refresh_expires_in,omitempty"`
}

// TokenTypeBearer is the token_type of every access token.
const TokenTypeBearer = "bearer"
