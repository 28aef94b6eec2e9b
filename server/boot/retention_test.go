package boot_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/boot"
	"gatehouse/server/store"
	"gatehouse/shared"
)

func TestPurgeKeepsWhatIsWithinRetention(t *testing.T) {
	cfg := newConfig(t, map[string]string{"GATEHOUSE_RETENTION": "30d", "GATEHOUSE_AUDIT_RETENTION": "400d", "GATEHOUSE_ADMIN_PASSWORD": "retention-pw",
		"GATEHOUSE_SESSION_MAX": "2000h"}) // the active session outlives the test's 31 days
	s := open(t, cfg)
	ctx := context.Background()
	if _, err := boot.EnsureAdmin(ctx, s, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	// Two sessions: one signed out now, one still active.
	ended, err := s.Auth.Login(ctx, "admin", "retention-pw", auth.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	active, err := s.Auth.Login(ctx, "admin", "retention-pw", auth.Meta{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Auth.Authenticate(ctx, ended.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Auth.Logout(ctx, p, auth.Meta{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Store.Update(ctx, func(tx store.Tx) error {
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now.Add(-401 * 24 * time.Hour), Actor: "ancient", Action: shared.ActionLogin})
	}); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sessions := func() int {
		_, n, err := s.Store.ListSessions(ctx, store.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	boot.Purge(ctx, s.Store, cfg, now.Add(29*24*time.Hour), log) // within 30 days: the ended session stays
	if n := sessions(); n != 2 {
		t.Fatalf("%d sessions after a purge within the retention, want 2", n)
	}
	if events, _, _ := s.Store.ListAudit(ctx, store.AuditFilter{Actor: "ancient"}); len(events) != 0 {
		t.Fatal("an audit event 401 days old was kept")
	}

	boot.Purge(ctx, s.Store, cfg, now.Add(31*24*time.Hour), log)
	if n := sessions(); n != 1 {
		t.Fatalf("%d sessions after the retention, want the active one only", n)
	}
	if _, err := s.Store.SessionByID(ctx, active.SessionID); err != nil {
		t.Fatalf("the active session was purged: %v", err)
	}
	if !strings.Contains(logs.String(), "retention: purged") || !strings.Contains(logs.String(), "sessions=1") {
		t.Fatalf("the purge was not logged as such:\n%s", logs.String())
	}
}
