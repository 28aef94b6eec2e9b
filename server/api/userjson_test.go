package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/shared"
)

var userJSONCases = []shared.User{
	{},
	{ID: 7, Username: "bob", FullName: "Bob Builder", Email: "bob@example.com", Role: shared.RoleManager,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 27, 10, 0, 0, 123000000, time.UTC)},
	{ID: -1, Username: `q"uo\te`, FullName: "<script>&amp;</script>", Email: "a\u2028b\u2029c", Role: "admin",
		Disabled: true, MFA: true, MustChangePassword: true, MustEnrollMFA: true, MFAOff: true, MFAMandatory: true,
		CreatedAt: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), UpdatedAt: time.Unix(0, 1).UTC()},
	{FullName: "tab\tnew\nline\rcr\bbs\fff\x00nul\x1fus\x7fdel", Email: "\xff\xfeinvalid\xc3", Role: "Zoë 李 🙂"},
}

func TestAppendUserMatchesEncodingJSON(t *testing.T) {
	for i, u := range userJSONCases {
		want, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendUser(nil, &u); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got  %s\n want %s", i, got, want)
		}
	}
	w := httptest.NewRecorder()
	writeUser(w, 200, &userJSONCases[1])
	want, _ := json.Marshal(userJSONCases[1])
	if w.Body.String() != string(want)+"\n" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("writeUser wrote %q with %q", w.Body, w.Header().Get("Content-Type"))
	}
}

func FuzzAppendUser(f *testing.F) {
	for _, u := range userJSONCases {
		f.Add(u.ID, u.Username, u.FullName, u.Email, string(u.Role), u.Disabled, u.MFA, u.MustChangePassword, u.MustEnrollMFA, u.MFAOff, u.MFAMandatory, u.CreatedAt.UnixNano())
	}
	f.Fuzz(func(t *testing.T, id int64, username, fullName, email, role string, disabled, mfa, must, enrol, off, mandatory bool, nanos int64) {
		u := shared.User{ID: id, Username: username, FullName: fullName, Email: email, Role: shared.Role(role),
			Disabled: disabled, MFA: mfa, MustChangePassword: must, MustEnrollMFA: enrol, MFAOff: off, MFAMandatory: mandatory, CreatedAt: time.Unix(0, nanos).UTC(), UpdatedAt: time.Unix(0, nanos/3)}
		want, err := json.Marshal(u)
		if err != nil {
			return // a time outside what JSON can hold
		}
		if got := appendUser(nil, &u); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
