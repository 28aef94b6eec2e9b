package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

func TestAuditFiltersAndPages(t *testing.T) {
	events := shared.Page[shared.AuditEvent]{Total: 41, Page: 1, PerPage: 20, Items: []shared.AuditEvent{
		{ID: 9, Time: time.Now(), Actor: "alice", Action: shared.ActionUserCreate, Target: "user vera (3)", IP: "192.0.2.1", Outcome: shared.OutcomeOK, Detail: "role viewer"},
		{ID: 8, Time: time.Now(), Actor: "mallory", Action: shared.ActionLogin, IP: "192.0.2.9", Outcome: shared.OutcomeFailed},
	}}
	api := newStubAPI(t, map[string]http.HandlerFunc{"GET /api/audit": reply(events)})
	r := newRig(t)
	a := &Audit{Env: newEnv(t, api, &alice)}
	a.OnMount(r.ctx)
	r.settle()

	dom := render(t, a)
	if n := dom.count(t, "#audit-table tbody tr"); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	cells := dom.all(t, `#audit-table tr[data-event-id="9"] td`)
	var got []string
	for _, c := range cells[1:] { // the time is local
		got = append(got, c.Text())
	}
	want := []string{"alice", "user.create", "user vera (3)", "192.0.2.1", "ok", "role viewer"}
	if len(got) != len(want) {
		t.Fatalf("cells %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cells %q, want %q", got, want)
			break
		}
	}
	dom.one(t, `#audit-table tr[data-event-id="8"] .outcome.failed`)
	if n := dom.count(t, "select#audit-action option"); n != len(auditActions)+1 {
		t.Errorf("%d actions offered, want every action and any", n)
	}
	if got := dom.one(t, "#audit-action option[selected]").attr("value"); got != anyAction {
		t.Errorf("the action filter starts at %q, want %q", got, anyAction)
	}

	urls := following(t, r.ctx, a)
	a.actor, a.action = " mallory ", shared.ActionLogin
	a.filter(r.stale, ev)
	r.settle()
	a.goPage(r.stale, 2)
	r.settle()
	if want := []string{"/audit?action=login&actor=mallory", "/audit?action=login&actor=mallory&page=2"}; strings.Join(*urls, " ") != strings.Join(want, " ") {
		t.Errorf("addresses %q, want %q", *urls, want)
	}
	calls := api.callsTo("GET", "/api/audit")
	if len(calls) != 3 {
		t.Fatalf("%d audit loads, want 3", len(calls))
	}
	if q := calls[1].Query; q["actor"] != "mallory" || q["action"] != "login" || q["page"] != "1" {
		t.Errorf("filtered query %v, want actor=mallory action=login page=1", q)
	}
	if q := calls[2].Query; q["actor"] != "mallory" || q["action"] != "login" || q["page"] != "2" {
		t.Errorf("next page query %v, want the same filter on page 2", q)
	}
	if got := render(t, a).one(t, "#audit-action option[selected]").attr("value"); got != "login" {
		t.Errorf("the action select shows %q, want login", got)
	}

	// Back to any action: no action filter at all.
	a.action = ""
	a.filter(r.stale, ev)
	r.settle()
	calls = api.callsTo("GET", "/api/audit")
	if q := calls[len(calls)-1].Query; q["action"] != "" || q["actor"] != "mallory" {
		t.Errorf("query after choosing any action %v, want no action", q)
	}
}

func TestAuditIsNotForEveryRole(t *testing.T) {
	api := newStubAPI(t, map[string]http.HandlerFunc{"GET /api/audit": reply(shared.Page[shared.AuditEvent]{})})
	r := newRig(t)
	a := &Audit{Env: newEnv(t, api, &mark)}
	a.OnMount(r.ctx)
	r.settle()
	dom := render(t, a)
	if got := dom.one(t, "#not-allowed").Text(); !strings.Contains(got, "not available for your role") {
		t.Errorf("#not-allowed = %q", got)
	}
	for _, sel := range []string{"#audit-filter-form", "#audit-table", "p.error"} {
		if n := dom.count(t, sel); n != 0 {
			t.Errorf("a manager is shown %s", sel)
		}
	}
	if n := len(api.callsTo("GET", "/api/audit")); n != 0 {
		t.Errorf("%d audit loads for a role that may not read it", n)
	}
}

func TestAuditShowsARefusal(t *testing.T) {
	api := newStubAPI(t, map[string]http.HandlerFunc{"GET /api/audit": replyError(http.StatusForbidden, shared.Error{
		Code: shared.CodeInsufficientScope, Description: "this needs the audit:read permission",
	})})
	r := newRig(t)
	a := &Audit{Env: newEnv(t, api, &alice)} // an admin, demoted meanwhile
	a.OnMount(r.ctx)
	r.settle()
	dom := render(t, a)
	if got := dom.one(t, "p.error[role=alert]").Text(); got != "You are not allowed to do that: this needs the audit:read permission." {
		t.Errorf("error = %q", got)
	}
	if n := dom.count(t, "#audit-table"); n != 0 {
		t.Errorf("a table is shown without data")
	}
}
