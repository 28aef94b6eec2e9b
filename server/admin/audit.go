package admin

import (
	"context"
	"fmt"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Audit lists audit events, newest first: those of the actors whose name
// starts with actor (any ASCII case; all when empty), and of the action
// (all when empty). A filter that is not text or longer than
// shared.MaxFilterLen is *auth.RequestError.
func (s *Service) Audit(ctx context.Context, actor, action string, p Page) (*shared.Page[shared.AuditEvent], error) {
	for _, f := range []struct{ name, v string }{{"actor", actor}, {"action", action}} {
		if err := filterText(f.name, f.v); err != nil {
			return nil, err
		}
	}
	rows, total, err := s.store.ListAudit(ctx, store.AuditFilter{Actor: actor, Action: action, Offset: p.offset(), Limit: p.PerPage})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return page(rows, total, p), nil
}

// Stats counts users by role, active sessions, and sign-ins per hour over
// the last 24 hours (24 buckets, oldest first, the current hour last).
func (s *Service) Stats(ctx context.Context) (*shared.Stats, error) {
	now := s.now().UTC()
	byRole, err := s.store.CountUsersByRole(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	if byRole == nil {
		byRole = make(map[shared.Role]int)
	}
	for _, r := range shared.Roles {
		byRole[r] += 0 // every role present, zero or not
	}
	active, err := s.store.CountActiveSessions(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	first := now.Truncate(time.Hour).Add(-23 * time.Hour)
	counts, err := s.store.CountSignIns(ctx, first)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	buckets := make([]shared.HourCount, 24)
	for i := range buckets {
		buckets[i].Hour = first.Add(time.Duration(i) * time.Hour)
	}
	for _, c := range counts {
		if i := int(c.Hour.Sub(first) / time.Hour); i >= 0 && i < len(buckets) {
			buckets[i].OK += c.OK
			buckets[i].Failed += c.Failed
		}
	}
	return &shared.Stats{UsersByRole: byRole, ActiveSessions: active, SignIns: buckets}, nil
}
