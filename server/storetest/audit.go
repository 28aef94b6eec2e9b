package storetest

import (
	"slices"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var auditTests = []test{
	{"AddAudit sets the ID and stores every field", testAddAudit},
	{"AddAudit sets a zero time to now", testAddAuditNow},
	{"ListAudit returns events newest first", testListAuditOrder},
	{"ListAudit filters by actor and action and pages", testListAuditFilter},
	{"ListAudit matches the start of the actor's name, literally and in any ASCII case", testListAuditActorPrefix},
	{"CountSignIns counts ok and failed logins by UTC hour from since on", testCountSignIns},
}

func testAddAudit(t *testing.T, f *fixture) {
	events := []shared.AuditEvent{
		{
			Time: time.Date(2025, 6, 1, 17, 45, 1, 999_999_999, india), ActorID: 7, Actor: "alice",
			Action: shared.ActionUserUpdate, Target: "user:9", IP: "2001:db8::7",
			Outcome: shared.OutcomeOK, Detail: `role: viewer → "manager"`,
		},
		{Time: base, Actor: "nobody", Action: shared.ActionLogin, Outcome: shared.OutcomeFailed},
	}
	for i := range events {
		given := events[i].Time
		f.audit(&events[i])
		if events[i].ID == 0 {
			t.Errorf("AddAudit left ID zero")
		}
		if !events[i].Time.Equal(given) {
			t.Errorf("AddAudit changed Time %v to %v", given, events[i].Time)
		}
	}
	if events[0].ID == events[1].ID {
		t.Errorf("two events have the ID %d", events[0].ID)
	}
	got, total, err := f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit")
	if len(got) != 2 || total != 2 {
		t.Fatalf("ListAudit = %d events, total %d; want 2", len(got), total)
	}
	checkEvent(t, got[0], events[0])
	checkEvent(t, got[1], events[1])
}

func testAddAuditNow(t *testing.T, f *fixture) {
	e := shared.AuditEvent{Actor: "alice", Action: shared.ActionLogout, Outcome: shared.OutcomeOK}
	before := time.Now().Truncate(time.Millisecond)
	f.audit(&e)
	after := time.Now()
	if e.Time.Before(before) || e.Time.After(after) {
		t.Errorf("Time = %v, want between %v and %v", e.Time, before, after)
	}
	if !sameTime(e.Time, ms(e.Time)) {
		t.Errorf("Time = %v, want it as stored: in UTC, at millisecond precision", e.Time)
	}
	got, _, err := f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit")
	if len(got) != 1 {
		t.Fatalf("ListAudit = %d events, want 1", len(got))
	}
	checkEvent(t, got[0], e)
}

func testListAuditOrder(t *testing.T, f *fixture) {
	got, total, err := f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit on an empty store")
	if len(got) != 0 || total != 0 {
		t.Errorf("ListAudit on an empty store = %d events, total %d; want none", len(got), total)
	}

	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, e := range []struct {
		detail string
		time   time.Time
	}{
		{"t2", at(2)}, {"t0", at(0)}, {"t1", at(1)}, {"t3 first", at(3)}, {"t3 second", at(3)},
	} {
		f.audit(&shared.AuditEvent{
			Time: e.time, Actor: "alice", Action: shared.ActionLogin, Outcome: shared.OutcomeOK, Detail: e.detail,
		})
	}
	events, total, err := f.s.ListAudit(f.ctx, store.AuditFilter{})
	f.must(err, "ListAudit")
	var details []string
	for _, e := range events {
		details = append(details, e.Detail)
	}
	if want := []string{"t3 second", "t3 first", "t2", "t1", "t0"}; !slices.Equal(details, want) || total != 5 {
		t.Errorf("ListAudit = %q, total %d; want %q, total 5", details, total, want)
	}
}

func testListAuditFilter(t *testing.T, f *fixture) {
	for i, e := range []struct{ actor, action string }{
		{"alice", shared.ActionLogin},            // 1
		{"bob", shared.ActionLogin},              // 2
		{"alice", shared.ActionUserCreate},       // 3
		{"alice", shared.ActionLogin},            // 4
		{"carol", shared.ActionSessionRevoke},    // 5
		{"alice", shared.ActionLogout},           // 6
		{"Alice", shared.ActionLogin},            // 7
		{"bob", shared.ActionPasswordChange},     // 8
		{"alice", shared.ActionLogin + ".other"}, // 9
	} {
		f.audit(&shared.AuditEvent{
			Time: base.Add(time.Duration(i) * time.Second), Actor: e.actor, Action: e.action,
			Outcome: shared.OutcomeOK, Detail: string(rune('1' + i)),
		})
	}
	for _, tc := range []struct {
		name   string
		filter store.AuditFilter
		want   string // details, newest first
		total  int
	}{
		{"no filter", store.AuditFilter{}, "987654321", 9},
		{"an actor, by the start of the name in any case", store.AuditFilter{Actor: "ali"}, "976431", 6},
		{"an action, matched exactly", store.AuditFilter{Action: shared.ActionLogin}, "7421", 4},
		{"an actor and an action", store.AuditFilter{Actor: "alice", Action: shared.ActionLogin}, "741", 3},
		{"an unknown actor", store.AuditFilter{Actor: "zed"}, "", 0},
		{"an actor's name from its middle", store.AuditFilter{Actor: "lice"}, "", 0},
		{"a page", store.AuditFilter{Offset: 2, Limit: 3}, "765", 9},
		{"a page of an actor's events", store.AuditFilter{Actor: "bob", Offset: 1, Limit: 2}, "2", 2},
		{"an offset without a limit", store.AuditFilter{Action: shared.ActionLogin, Offset: 3}, "1", 4},
		{"a page past the end", store.AuditFilter{Offset: 9, Limit: 3}, "", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, total, err := f.s.ListAudit(f.ctx, tc.filter)
			if err != nil {
				t.Fatalf("ListAudit(%+v): %v", tc.filter, err)
			}
			got := ""
			for _, e := range events {
				got += e.Detail
			}
			if got != tc.want || total != tc.total {
				t.Errorf("ListAudit(%+v) = events %q, total %d; want %q, total %d", tc.filter, got, total, tc.want, tc.total)
			}
		})
	}
}

func testCountSignIns(t *testing.T, f *fixture) {
	hour := func(h int) time.Time { return time.Date(2025, 6, 1, h, 0, 0, 0, time.UTC) }
	got, err := f.s.CountSignIns(f.ctx, hour(0))
	f.must(err, "CountSignIns on an empty store")
	if len(got) != 0 {
		t.Errorf("CountSignIns on an empty store = %+v, want none", got)
	}

	for _, e := range []struct {
		time            time.Time
		action, outcome string
	}{
		{hour(12).Add(5*time.Minute - time.Millisecond), shared.ActionLogin, shared.OutcomeOK}, // before since
		{hour(12).Add(5 * time.Minute), shared.ActionLogin, shared.OutcomeOK},
		{hour(12).Add(30 * time.Minute), shared.ActionLogin, shared.OutcomeFailed},
		{hour(13).Add(-time.Millisecond), shared.ActionLogin, shared.OutcomeOK},
		{hour(13).Add(10 * time.Minute), shared.ActionLogout, shared.OutcomeOK},
		{hour(13).Add(20 * time.Minute), shared.ActionRefreshReuse, shared.OutcomeFailed},
		{hour(13).Add(30 * time.Minute), shared.ActionLogin + "_other", shared.OutcomeOK},
		{hour(14), shared.ActionLogin, shared.OutcomeOK},
		{hour(14).Add(45 * time.Minute), shared.ActionLogin, shared.OutcomeFailed},
		{hour(14).Add(46 * time.Minute), shared.ActionLogin, shared.OutcomeFailed},
		{hour(14).Add(50 * time.Minute), shared.ActionLogin, shared.OutcomeDenied},
		{hour(14).Add(55 * time.Minute), shared.ActionUserCreate, shared.OutcomeOK},
		{time.Date(2025, 6, 1, 21, 59, 0, 0, india), shared.ActionLogin, shared.OutcomeOK}, // 16:29 UTC
	} {
		f.audit(&shared.AuditEvent{
			Time: e.time, Actor: "alice", Action: e.action, Outcome: e.outcome,
		})
	}

	all := []shared.HourCount{
		{Hour: hour(12), OK: 2, Failed: 1},
		{Hour: hour(14), OK: 1, Failed: 2},
		{Hour: hour(16), OK: 1, Failed: 0},
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		want  []shared.HourCount
	}{
		{"since within an hour", hour(12).Add(5 * time.Minute), all},
		{"since in another time zone", hour(12).Add(5 * time.Minute).In(india), all},
		{"since at the start of an hour", hour(14), all[1:]},
		{"since a millisecond into an hour", hour(14).Add(time.Millisecond), []shared.HourCount{{Hour: hour(14), OK: 0, Failed: 2}, all[2]}},
		{"since after every event", hour(17), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.CountSignIns(f.ctx, tc.since)
			if err != nil {
				t.Fatalf("CountSignIns: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("CountSignIns = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if !sameTime(got[i].Hour, tc.want[i].Hour) || got[i].OK != tc.want[i].OK || got[i].Failed != tc.want[i].Failed {
					t.Errorf("CountSignIns[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func testListAuditActorPrefix(t *testing.T, f *fixture) {
	// '_' and '.' are allowed in usernames: a filter holding '_' or '%'
	// must not match as a wildcard would.
	for i, actor := range []string{"a_b", "axb", "a%c", "abc", `a\d`, "ad", "AB.Z", "zab"} {
		f.audit(&shared.AuditEvent{
			Time: base.Add(time.Duration(i) * time.Second), Actor: actor, Action: shared.ActionLogin,
			Outcome: shared.OutcomeOK, Detail: actor,
		})
	}
	for _, tc := range []struct {
		actor string
		want  []string // actors, newest first
	}{
		{"a_", []string{"a_b"}},
		{"a%", []string{"a%c"}},
		{`a\`, []string{`a\d`}},
		{"ab", []string{"AB.Z", "abc"}},
		{"AB.", []string{"AB.Z"}},
		{"a", []string{"AB.Z", "ad", `a\d`, "abc", "a%c", "axb", "a_b"}},
		{"b", nil},
		{"a_b", []string{"a_b"}},
	} {
		events, total, err := f.s.ListAudit(f.ctx, store.AuditFilter{Actor: tc.actor})
		f.must(err, "ListAudit")
		var got []string
		for _, e := range events {
			got = append(got, e.Actor)
		}
		if !slices.Equal(got, tc.want) || total != len(tc.want) {
			t.Errorf("ListAudit(actor %q) = %q, total %d; want %q", tc.actor, got, total, tc.want)
		}
	}
}
