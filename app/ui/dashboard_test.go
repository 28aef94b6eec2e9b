package ui

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/shared"
)

// dashboardAPI stubs what the dashboard loads; its current session is
// curSession(me).
func dashboardAPI(t *testing.T, me shared.User, stats *shared.Stats) *stubAPI {
	t.Helper()
	routes := map[string]http.HandlerFunc{
		"GET /api/users/me":          reply(me),
		"GET /api/users/me/sessions": reply(pageOf(session("other", me, false), curSession(me))),
		"GET /api/auth/check":        replyStatus(http.StatusNoContent),
	}
	if stats != nil {
		routes["GET /api/stats"] = reply(stats)
	}
	return newStubAPI(t, routes)
}

var sessionEnd = time.Now().Add(11 * time.Hour).Truncate(time.Second)

func curSession(me shared.User) shared.Session {
	s := session("cur", me, true)
	s.ExpiresAt = sessionEnd
	return s
}

func TestDashboardShowsWhoAndHowLong(t *testing.T) {
	api := dashboardAPI(t, mark, nil)
	r := newRig(t)
	d := &Dashboard{Env: newEnv(t, api, nil)}
	exp := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	d.Env.Tokens.SetToken(fakeToken(exp, "cur"))
	d.OnMount(r.ctx)
	d.OnDismount() // no ticking in this test: the clock is moved by hand
	r.settle()

	dom := render(t, d)
	for sel, want := range map[string]string{"#me-username": "mark", "#me-fullname": "Mark", "#me-role": "manager"} {
		if got := dom.one(t, sel).Text(); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if got, want := dom.one(t, "#token-expiry-at").Text(), exp.Local().Format("15:04:05"); got != want {
		t.Errorf("#token-expiry-at = %q, want %q", got, want)
	}
	if got := dom.one(t, "#session-end").Text(); got != when(sessionEnd) {
		t.Errorf("#session-end = %q, want the current session's end %q", got, when(sessionEnd))
	}
	if n := dom.count(t, "#stats"); n != 0 {
		t.Errorf("a manager is shown #stats")
	}
	if got := api.callsTo("GET", "/api/stats"); len(got) != 0 {
		t.Errorf("a manager's dashboard asked for the statistics")
	}

	t.Run("the countdown follows the clock", func(t *testing.T) {
		d.tick(exp.Add(-5 * time.Minute))
		if got := render(t, d).one(t, "#token-expiry").Text(); got != "5:00" {
			t.Errorf("#token-expiry = %q five minutes before the end, want 5:00", got)
		}
		d.tick(exp.Add(-90 * time.Second))
		if got := render(t, d).one(t, "#token-expiry").Text(); got != "1:30" {
			t.Errorf("#token-expiry = %q, want 1:30", got)
		}
	})

	t.Run("a renewed token moves the expiry at the next tick", func(t *testing.T) {
		later := exp.Add(7 * time.Minute)
		d.Env.Tokens.SetToken(fakeToken(later, "cur"))
		d.tick(exp.Add(-90 * time.Second))
		dom := render(t, d)
		if got := dom.one(t, "#token-expiry").Text(); got != "8:30" {
			t.Errorf("#token-expiry = %q, want 8:30", got)
		}
		if got, want := dom.one(t, "#token-expiry-at").Text(), later.Local().Format("15:04:05"); got != want {
			t.Errorf("#token-expiry-at = %q, want %q", got, want)
		}
	})
}

func TestDashboardStatsForAuditors(t *testing.T) {
	hours := day()
	stats := &shared.Stats{
		UsersByRole:    map[shared.Role]int{shared.RoleViewer: 7, shared.RoleManager: 2, shared.RoleAdmin: 1},
		ActiveSessions: 4,
		SignIns:        hours,
	}
	api := dashboardAPI(t, alice, stats)
	r := newRig(t)
	d := &Dashboard{Env: newEnv(t, api, nil)}
	d.OnMount(r.ctx)
	d.OnDismount()
	r.settle()

	dom := render(t, d)
	for sel, want := range map[string]string{
		"#stats #stat-active-sessions": "4", "#stat-users-viewer": "7", "#stat-users-manager": "2", "#stat-users-admin": "1",
	} {
		if got := dom.one(t, sel).Text(); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	svg := dom.one(t, "#stats svg#signins-chart")
	if svg.attr("data-ok") != "36" || svg.attr("data-failed") != "5" {
		t.Errorf("chart totals ok=%q failed=%q, want 36 and 5", svg.attr("data-ok"), svg.attr("data-failed"))
	}
}

func TestDashboardCheckSession(t *testing.T) {
	api := dashboardAPI(t, vera, nil)
	r := newRig(t)
	d := &Dashboard{Env: newEnv(t, api, &vera)}
	d.OnMount(r.ctx)
	d.OnDismount()
	r.settle()
	d.check(r.stale, ev)
	r.settle()
	if got := api.callsTo("GET", "/api/auth/check"); len(got) != 1 {
		t.Fatalf("%d GET /api/auth/check, want 1", len(got))
	}
	if got := render(t, d).one(t, "#check-message").Text(); !strings.HasPrefix(got, "The session is valid.") {
		t.Errorf("#check-message = %q", got)
	}

	d.Env.Online = func() bool { return false }
	d.check(r.stale, ev)
	r.settle()
	if got := render(t, d).one(t, "p.error[role=alert]").Text(); !strings.Contains(got, "offline") {
		t.Errorf("offline check says %q", got)
	}
}

func TestDashboardClockTicksUntilDismounted(t *testing.T) {
	api := dashboardAPI(t, vera, nil)
	r := newRig(t)
	d := &Dashboard{Env: newEnv(t, api, &vera)}
	d.OnMount(r.ctx)
	started := d.now
	time.Sleep(1300 * time.Millisecond)
	d.OnDismount()
	r.settle() // returns only once the clock's goroutine has ended
	if !d.now.After(started) {
		t.Errorf("the clock did not tick: still at %s", started)
	}
	stopped := d.now
	time.Sleep(1200 * time.Millisecond)
	r.settle()
	if !d.now.Equal(stopped) {
		t.Errorf("the clock kept ticking after the page was dismounted")
	}
}

func TestDashboardOfflineShowsCachedData(t *testing.T) {
	api := dashboardAPI(t, vera, nil)
	env := newEnv(t, api, &vera)
	r := newRig(t)
	d := &Dashboard{Env: env}
	d.OnMount(r.ctx)
	d.OnDismount()
	r.settle()
	api.Close()

	again := &Dashboard{Env: env}
	again.OnMount(r.ctx)
	again.OnDismount()
	r.settle()
	dom := render(t, again)
	if got := dom.one(t, "#session-end").Text(); got == "—" {
		t.Errorf("the cached session end is not shown offline")
	}
	dom.one(t, "#stale-note")
	if n := dom.count(t, "p.error"); n != 0 {
		t.Errorf("an error is shown although cached data is: %s", dom.one(t, "p.error").Text())
	}
}
