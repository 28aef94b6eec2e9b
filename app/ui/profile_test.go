package ui

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse/shared"
)

func TestPasswordDraftRequest(t *testing.T) {
	tests := []struct {
		name                  string
		current, next, repeat string
		want                  map[string]string
	}{
		{"a good change passes", "old-password", "new-password-1", "new-password-1", nil},
		{"the repeat must match", "old-password", "new-password-1", "new-password-2",
			map[string]string{"repeat_password": "does not match the new password"}},
		{"the shared rules apply", "", "short", "short",
			map[string]string{"current_password": "is required", "new_password": shared.ValidatePassword("short")}},
		{"both at once", "same-password", "same-password", "",
			map[string]string{"new_password": "must differ from the current password", "repeat_password": "does not match the new password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := passwordDraft{current: tt.current, next: tt.next, repeat: tt.repeat}
			_, err := d.request(false)
			got := FieldErrors(err)
			if len(got) != len(tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("errors %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func profilePage(t *testing.T) (*rig, *stubAPI, *Profile) {
	t.Helper()
	api := newStubAPI(t, map[string]http.HandlerFunc{
		"GET /api/users/me": reply(vera),
		"PATCH /api/users/me": func(w http.ResponseWriter, r *http.Request) {
			v := vera
			v.FullName, v.Email = "Vera V", "vv@example.com"
			reply(v)(w, r)
		},
		"PUT /api/users/me/password": replyStatus(http.StatusNoContent),
	})
	r := newRig(t)
	p := &Profile{Env: newEnv(t, api, nil)}
	p.OnMount(r.ctx)
	r.settle()
	return r, api, p
}

func TestProfileEdit(t *testing.T) {
	r, api, p := profilePage(t)
	dom := render(t, p)
	if got := dom.one(t, "#profile-fullname").attr("value"); got != vera.FullName {
		t.Errorf("#profile-fullname = %q, want the loaded %q", got, vera.FullName)
	}
	if p.Env.Me() == nil || p.Env.Me().Username != "vera" {
		t.Errorf("the loaded profile was not recorded as the signed-in user")
	}

	p.email = "not an address"
	p.save(r.stale, ev)
	r.settle()
	if w := api.writes(); len(w) != 0 {
		t.Fatalf("a bad e-mail was sent: %+v", w)
	}
	if got := render(t, p).one(t, "#profile-email-error").Text(); got != shared.ValidateEmail("not an address") {
		t.Errorf("#profile-email-error = %q", got)
	}

	p.fullName, p.email = " Vera V ", "vv@example.com"
	p.save(r.stale, ev)
	r.settle()
	patches := api.callsTo("PATCH", "/api/users/me")
	if len(patches) != 1 || strings.TrimSpace(patches[0].Body) != `{"full_name":"Vera V","email":"vv@example.com"}` {
		t.Fatalf("PATCH = %+v", patches)
	}
	dom = render(t, p)
	if got := dom.one(t, "#profile-message").Text(); got != "Your profile was saved." {
		t.Errorf("#profile-message = %q", got)
	}
	if dom.count(t, "p.error") != 0 {
		t.Errorf("an error is still shown after saving")
	}
	if me := p.Env.Me(); me.FullName != "Vera V" {
		t.Errorf("the signed-in user was not updated: %+v", me)
	}
}

func TestProfileLoadDoesNotOverwriteTyping(t *testing.T) {
	p := &Profile{}
	p.fill(&vera)
	p.fullName = "typed"
	p.fill(&shared.User{FullName: "late answer"})
	if p.fullName != "typed" {
		t.Errorf("a late load replaced what was typed: %q", p.fullName)
	}
}
