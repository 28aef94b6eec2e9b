package sqlite

import (
	"context"
	"time"

	"gatehouse/server/store"
)

// Purge removes ended sessions, stale throttle keys, expired sign-in
// challenges and old audit events.
func (t *tx) Purge(ctx context.Context, p store.PurgeBefore) (store.Purged, error) {
	var out store.Purged
	for _, step := range []struct {
		before time.Time
		sql    string
		n      *int
	}{
		{p.Sessions, `DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1`, &out.Sessions},
		{p.Attempts, `DELETE FROM attempts WHERE last_failure < ?1`, &out.Attempts},
		{p.Attempts, `DELETE FROM challenges WHERE expires_at < ?1`, &out.Challenges},
		{p.Audit, `DELETE FROM audit_events WHERE time < ?1`, &out.Audit},
	} {
		if step.before.IsZero() {
			continue
		}
		res, err := t.q.ExecContext(ctx, step.sql, millis(step.before))
		if err != nil {
			return out, t.fail("purge", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return out, t.fail("purge", err)
		}
		*step.n = int(n)
	}
	return out, nil
}
