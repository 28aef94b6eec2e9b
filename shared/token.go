package shared

// OAuth 2.0 grant types accepted by POST /api/token.
const (
	GrantPassword     = "password"
	GrantRefreshToken = "refresh_token"
	// GrantMFAOTP completes a sign-in answered mfa_required: mfa_token with
	// otp (a TOTP code) or recovery_code.
	GrantMFAOTP = "mfa_otp"
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
	// RecoveryCodesLeft says, after a sign-in with a recovery code, how
	// many remain.
	RecoveryCodesLeft *int `json:"recovery_codes_left,omitempty"`
}

// TokenTypeBearer is the token_type of every access token.
const TokenTypeBearer = "bearer"
