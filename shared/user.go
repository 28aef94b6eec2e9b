package shared

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a user account as the API shows it. The password hash never
// leaves the server.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	Disabled bool   `json:"disabled"`
	// MFA is true when the user signs in with a second factor (TOTP).
	MFA bool `json:"mfa"`
	// MustChangePassword is true after someone else set the password: the
	// user may do nothing but change it.
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// MustEnrollMFA is true, in who-am-I only, when the MFA policy requires
	// a second factor the user has not enrolled: the session may do nothing
	// but enrol one (403 mfa_enrollment_required elsewhere). Like
	// MustChangePassword it lets a client lead the user there at once.
	MustEnrollMFA bool `json:"must_enroll_mfa,omitempty"`
	// MFAOff is true, in who-am-I only, when the server's MFA policy is
	// off: no second factor can be set up (one already set up still
	// works), so a client offers none.
	MFAOff bool `json:"mfa_off,omitempty"`
	// MFAMandatory is true, in who-am-I only, when the MFA policy requires
	// the user to have a second factor: it can be moved to a new phone but
	// not turned off (409 conflict), so a client offers no way to.
	MFAMandatory bool      `json:"mfa_mandatory,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Input limits.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72 // bytes; bcrypt ignores anything longer
	MaxFullNameLen = 100
	MaxEmailLen    = 254
)

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)

// ValidateUsername checks a username: 3 to 32 characters of lower-case
// letters, digits, '.', '_' and '-', starting with a letter or digit.
func ValidateUsername(s string) string {
	switch {
	case s == "":
		return "is required"
	case !usernameRE.MatchString(s):
		return "must be 3 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
	}
	return ""
}

// ValidatePassword checks a new password: 8 to 72 bytes, not only spaces.
func ValidatePassword(s string) string {
	switch {
	case s == "":
		return "is required"
	case utf8.RuneCountInString(s) < MinPasswordLen:
		return "must be at least 8 characters"
	case len(s) > MaxPasswordLen:
		return "must be at most 72 bytes"
	case strings.TrimSpace(s) == "":
		return "must not be only spaces"
	}
	return ""
}

// ValidateFullName checks a display name: valid UTF-8, at most 100
// characters, and none of the characters that can make a name shown in a
// list lie about itself or what follows it: C0 and C1 controls, bidirectional
// overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069, U+200E,
// U+200F, U+061C), and the line and paragraph separators.
func ValidateFullName(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if utf8.RuneCountInString(s) > MaxFullNameLen {
		return "must be at most 100 characters"
	}
	for _, r := range s {
		if unsafeInName(r) {
			return "must not contain control or text-direction characters"
		}
	}
	return ""
}

// unsafeInName reports whether r is a control, text-direction or
// separator character.
func unsafeInName(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// ValidateEmail checks an e-mail address. The empty string is allowed: the
// address is optional. Like a full name, it may hold no control or
// text-direction character (see ValidateFullName).
func ValidateEmail(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxEmailLen {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "must be a plain address like name@example.com"
	}
	// net/mail takes any non-ASCII character in the local part (RFC 6532),
	// C1 controls and text-direction overrides included: an address is
	// shown in lists as a name is, and must not lie about itself either.
	for _, r := range s {
		if unsafeInName(r) {
			return "must not contain control or text-direction characters"
		}
	}
	return ""
}

// ValidateRole checks that r names a role.
func ValidateRole(r Role) string {
	if !r.Valid() {
		return "must be one of viewer, manager, admin"
	}
	return ""
}

func check(f FieldErrors, field, msg string) {
	if msg != "" {
		f.Add(field, msg)
	}
}

// UserCreate is the body of POST /api/users.
type UserCreate struct {
	Username string `json:"username"`
	Password string `json:"password"`
	FullName string `json:"full_name"`
	Email    string `json:"email"`
	Role     Role   `json:"role"`
	// MustChangePassword, when absent or true, makes the new user change
	// the password at the first sign-in (someone else set it; until then
	// the session may do nothing else). False leaves it: an account whose
	// holder chose the password with the administrator.
	MustChangePassword *bool `json:"must_change_password,omitempty"`
}

// MustChange reports whether the new user must change the password at
// the first sign-in: unless MustChangePassword says false.
func (u UserCreate) MustChange() bool { return u.MustChangePassword == nil || *u.MustChangePassword }

// Validate checks every field and returns a *ValidationError listing all
// that are wrong.
func (u UserCreate) Validate() error {
	f := FieldErrors{}
	check(f, "username", ValidateUsername(u.Username))
	check(f, "password", ValidatePassword(u.Password))
	check(f, "full_name", ValidateFullName(u.FullName))
	check(f, "email", ValidateEmail(u.Email))
	check(f, "role", ValidateRole(u.Role))
	return f.Err()
}

// UserUpdate is the body of PATCH /api/users/{id}. A nil field is left
// unchanged.
type UserUpdate struct {
	FullName *string `json:"full_name,omitempty"`
	Email    *string `json:"email,omitempty"`
	Role     *Role   `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
}

// Empty reports whether the update changes nothing.
func (u UserUpdate) Empty() bool {
	return u.FullName == nil && u.Email == nil && u.Role == nil && u.Disabled == nil
}

// Validate checks the fields that are present.
func (u UserUpdate) Validate() error {
	f := FieldErrors{}
	if u.FullName != nil {
		check(f, "full_name", ValidateFullName(*u.FullName))
	}
	if u.Email != nil {
		check(f, "email", ValidateEmail(*u.Email))
	}
	if u.Role != nil {
		check(f, "role", ValidateRole(*u.Role))
	}
	return f.Err()
}

// ProfileUpdate is the body of PATCH /api/users/me: the fields a user may
// change on their own account.
type ProfileUpdate struct {
	FullName *string `json:"full_name,omitempty"`
	Email    *string `json:"email,omitempty"`
}

// Validate checks the fields that are present.
func (p ProfileUpdate) Validate() error {
	return UserUpdate{FullName: p.FullName, Email: p.Email}.Validate()
}

// PasswordChange is the body of PUT /api/users/me/password. OTP is
// required when the user has a second factor.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	OTP             string `json:"otp,omitempty"`
}

// Validate checks that the current password is given and the new one is
// acceptable and different.
func (p PasswordChange) Validate() error {
	f := FieldErrors{}
	if p.CurrentPassword == "" {
		f.Add("current_password", "is required")
	}
	check(f, "new_password", ValidatePassword(p.NewPassword))
	if p.NewPassword != "" && p.NewPassword == p.CurrentPassword {
		f.Add("new_password", "must differ from the current password")
	}
	return f.Err()
}

// PasswordReset is the body of PUT /api/users/{id}/password.
type PasswordReset struct {
	NewPassword string `json:"new_password"`
}

// Validate checks the new password.
func (p PasswordReset) Validate() error {
	f := FieldErrors{}
	check(f, "new_password", ValidatePassword(p.NewPassword))
	return f.Err()
}

// TOTPEnrolment answers POST /api/users/me/mfa/totp: the secret to add to
// an authenticator app, as base32 text, as an otpauth:// URI and as a PNG
// QR code of that URI (a data: URI).
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QR     string `json:"qr"`
}

// TOTPConfirm is the body of POST /api/users/me/mfa/totp/confirm: the
// first code from the app.
type TOTPConfirm struct {
	OTP string `json:"otp"`
}

// RecoveryCodes are single-use codes that stand in for the app, shown
// once.
type RecoveryCodes struct {
	Codes []string `json:"recovery_codes"`
}
