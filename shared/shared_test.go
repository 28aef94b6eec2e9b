package shared

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRolePermissionsMatchTheContract(t *testing.T) {
	want := map[Permission][]Role{
		PermUsersRead:      {RoleViewer, RoleManager, RoleAdmin},
		PermUsersWrite:     {RoleManager, RoleAdmin},
		PermSessionsRead:   {RoleManager, RoleAdmin},
		PermSessionsRevoke: {RoleManager, RoleAdmin},
		PermAuditRead:      {RoleAdmin},
		PermRolesWrite:     {RoleAdmin},
	}
	for perm, roles := range want {
		for _, r := range Roles {
			allowed := false
			for _, w := range roles {
				allowed = allowed || w == r
			}
			if got := r.Can(perm); got != allowed {
				t.Errorf("%s.Can(%s) = %v, want %v", r, perm, got, allowed)
			}
		}
	}
	if Role("root").Can(PermUsersRead) || Role("").Valid() {
		t.Error("an unknown role must hold nothing and be invalid")
	}
	if !(RoleViewer.Rank() < RoleManager.Rank() && RoleManager.Rank() < RoleAdmin.Rank()) {
		t.Error("roles must be ordered viewer < manager < admin")
	}
	p := RoleAdmin.Permissions()
	p[0] = "changed"
	if RoleAdmin.Permissions()[0] == "changed" {
		t.Error("Permissions must return a copy")
	}
}

func TestValidateUserCreate(t *testing.T) {
	ok := UserCreate{Username: "alice", Password: "correct horse", FullName: "Alice A.", Email: "alice@example.com", Role: RoleViewer}
	tests := []struct {
		name   string
		change func(*UserCreate)
		fields []string
	}{
		{"a complete user is valid", func(*UserCreate) {}, nil},
		{"an empty e-mail is allowed", func(u *UserCreate) { u.Email = "" }, nil},
		{"the username is required", func(u *UserCreate) { u.Username = "" }, []string{"username"}},
		{"a two-letter username is too short", func(u *UserCreate) { u.Username = "al" }, []string{"username"}},
		{"upper case is refused", func(u *UserCreate) { u.Username = "Alice" }, []string{"username"}},
		{"spaces are refused", func(u *UserCreate) { u.Username = "al ice" }, []string{"username"}},
		{"a leading dot is refused", func(u *UserCreate) { u.Username = ".alice" }, []string{"username"}},
		{"33 characters are too many", func(u *UserCreate) { u.Username = strings.Repeat("a", 33) }, []string{"username"}},
		{"a short password is refused", func(u *UserCreate) { u.Password = "short" }, []string{"password"}},
		{"a password over 72 bytes is refused", func(u *UserCreate) { u.Password = strings.Repeat("é", 37) }, []string{"password"}},
		{"a password of spaces is refused", func(u *UserCreate) { u.Password = "          " }, []string{"password"}},
		{"a bad e-mail is refused", func(u *UserCreate) { u.Email = "alice@" }, []string{"email"}},
		{"an e-mail with a display name is refused", func(u *UserCreate) { u.Email = "Alice <alice@example.com>" }, []string{"email"}},
		{"a right-to-left override in the e-mail is refused", func(u *UserCreate) { u.Email = "moc.elgoog\u202E@example.com" }, []string{"email"}},
		{"a C1 control in the e-mail is refused", func(u *UserCreate) { u.Email = "ali\u0085ce@example.com" }, []string{"email"}},
		{"a non-ASCII local part is allowed (RFC 6532)", func(u *UserCreate) { u.Email = "zoë@example.com" }, nil},
		{"an unknown role is refused", func(u *UserCreate) { u.Role = "root" }, []string{"role"}},
		{"a control character in the name is refused", func(u *UserCreate) { u.FullName = "a\nb" }, []string{"full_name"}},
		{"a C1 control in the name is refused", func(u *UserCreate) { u.FullName = "a\u0085b" }, []string{"full_name"}},
		{"DEL in the name is refused", func(u *UserCreate) { u.FullName = "a\x7fb" }, []string{"full_name"}},
		{"a right-to-left override in the name is refused", func(u *UserCreate) { u.FullName = "Alice\u202Egnp.exe" }, []string{"full_name"}},
		{"a directional isolate in the name is refused", func(u *UserCreate) { u.FullName = "a\u2067b" }, []string{"full_name"}},
		{"a right-to-left mark in the name is refused", func(u *UserCreate) { u.FullName = "a\u200Fb" }, []string{"full_name"}},
		{"a line separator in the name is refused", func(u *UserCreate) { u.FullName = "a\u2028b" }, []string{"full_name"}},
		{"invalid UTF-8 in the name is refused", func(u *UserCreate) { u.FullName = "a\xffb" }, []string{"full_name"}},
		{"accents, CJK and emoji are fine", func(u *UserCreate) { u.FullName = "Zoë 李 🙂 O'Brien-Smith" }, nil},
		{"right-to-left script itself is fine", func(u *UserCreate) { u.FullName = "שלום" }, nil},
		{"every wrong field is reported", func(u *UserCreate) { *u = UserCreate{} }, []string{"username", "password", "role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ok
			tt.change(&u)
			err := u.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if len(ve.Fields) != len(tt.fields) {
				t.Fatalf("fields %v, want exactly %v", ve.Fields, tt.fields)
			}
			for _, f := range tt.fields {
				if ve.Fields[f] == "" {
					t.Errorf("no error for %q in %v", f, ve.Fields)
				}
			}
		})
	}
}

func TestValidateUpdatesOnlyCheckPresentFields(t *testing.T) {
	bad := Role("boss")
	empty := ""
	if err := (UserUpdate{}).Validate(); err != nil {
		t.Errorf("empty update: %v", err)
	}
	if !(UserUpdate{}).Empty() || (UserUpdate{FullName: &empty}).Empty() {
		t.Error("Empty is wrong")
	}
	if err := (UserUpdate{Role: &bad}).Validate(); err == nil {
		t.Error("a bad role must be refused")
	}
	if err := (ProfileUpdate{Email: &empty}).Validate(); err != nil {
		t.Errorf("clearing the e-mail: %v", err)
	}
	if err := (PasswordChange{CurrentPassword: "same-password", NewPassword: "same-password"}).Validate(); err == nil {
		t.Error("a new password equal to the current one must be refused")
	}
	if err := (PasswordReset{NewPassword: "long enough"}).Validate(); err != nil {
		t.Errorf("reset: %v", err)
	}
}

func TestWireShapes(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"user without the hash", User{ID: 7, Username: "bob", Role: RoleManager, CreatedAt: when, UpdatedAt: when},
			`{"id":7,"username":"bob","full_name":"","email":"","role":"manager","disabled":false,"mfa":false,"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`},
		{"token response per RFC 6749 5.1", TokenResponse{AccessToken: "a", TokenType: TokenTypeBearer, ExpiresIn: 1800, RefreshToken: "r", RefreshExpiresIn: 60},
			`{"access_token":"a","token_type":"bearer","expires_in":1800,"refresh_token":"r","refresh_expires_in":60}`},
		{"grace answer without a refresh token", TokenResponse{AccessToken: "a", TokenType: TokenTypeBearer, ExpiresIn: 1},
			`{"access_token":"a","token_type":"bearer","expires_in":1}`},
		{"error envelope", &Error{Code: CodeInvalidToken, Description: "expired", Status: 401},
			`{"error":"invalid_token","error_description":"expired"}`},
		{"error envelope with fields", &Error{Code: CodeValidationFailed, Description: "bad", Fields: map[string]string{"email": "is wrong"}},
			`{"error":"validation_failed","error_description":"bad","fields":{"email":"is wrong"}}`},
		{"empty page", Page[User]{Items: []User{}, Page: 1, PerPage: 20},
			`{"items":[],"total":0,"page":1,"per_page":20}`},
		{"partial update leaves absent fields out", UserUpdate{Disabled: new(bool)},
			`{"disabled":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestPagesAndErrors(t *testing.T) {
	for _, tt := range []struct{ total, per, want int }{{0, 20, 1}, {20, 20, 1}, {21, 20, 2}, {100, 7, 15}} {
		if got := (Page[int]{Total: tt.total, PerPage: tt.per}).Pages(); got != tt.want {
			t.Errorf("Pages(total %d, per %d) = %d, want %d", tt.total, tt.per, got, tt.want)
		}
	}
	e := &Error{Code: "validation_failed", Description: "bad", Fields: map[string]string{"b": "x", "a": "y"}}
	if got, want := e.Error(), "validation_failed: bad (a: y; b: x)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	s := Session{ExpiresAt: time.Unix(100, 0)}
	if !s.Active(time.Unix(99, 0)) || s.Active(time.Unix(100, 0)) {
		t.Error("Active must hold strictly before the expiry")
	}
}

func TestParseUserSort(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want UserSort
		ok   bool
		out  string // String of the result
	}{
		{"", UserSort{}, true, ""},
		{"-created", UserSort{Key: SortCreated, Desc: true}, true, ""},
		{"created", UserSort{Key: SortCreated}, true, "created"},
		{"username", UserSort{Key: SortUsername}, true, "username"},
		{"-username", UserSort{Key: SortUsername, Desc: true}, true, "-username"},
		{"role", UserSort{Key: SortRole}, true, "role"},
		{"-role", UserSort{Key: SortRole, Desc: true}, true, "-role"},
		{"Role", UserSort{}, false, ""},
		{"--role", UserSort{}, false, ""},
		{"+role", UserSort{}, false, ""},
		{"password_hash", UserSort{}, false, ""},
	} {
		got, err := ParseUserSort(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseUserSort(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if got.String() != tc.out {
			t.Errorf("ParseUserSort(%q).String() = %q, want %q", tc.in, got.String(), tc.out)
		}
	}
}
