package postgres

import (
	"context"
	"time"

	"gatehouse/server/store"
)

// Purge removes ended sessions, stale throttle keys, expired sign-in
// challenges and old audit events.
func (t *tx) Purge(ctx context.Context, p store.PurgeBefore) (store.Purged, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return store.Purged{}, err
	}
	defer exit()
	var out store.Purged
	for _, step := range []struct {
		before time.Time
		sql    string
		n      *int
	}{
		{p.Sessions, `DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, &out.Sessions},
		{p.Attempts, `DELETE FROM attempts WHERE last_failure < $1`, &out.Attempts},
		{p.Attempts, `DELETE FROM challenges WHERE expires_at < $1`, &out.Challenges},
		{p.Audit, `DELETE FROM audit_events WHERE time < $1`, &out.Audit},
	} {
		if step.before.IsZero() {
			continue
		}
		tag, err := t.q.Exec(ctx, step.sql, ms(step.before))
		if err != nil {
			return out, t.fail(ctx, "purge", err)
		}
		*step.n = int(tag.RowsAffected())
	}
	return out, nil
}
