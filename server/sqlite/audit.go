package sqlite

import (
	"context"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

const auditColumns = `id, time, actor_id, actor, action, target, ip, outcome, detail`

// scanAudit reads a row of auditColumns.
func scanAudit(row interface{ Scan(...any) error }) (*shared.AuditEvent, error) {
	var (
		e  shared.AuditEvent
		ms int64
	)
	err := row.Scan(&e.ID, &ms, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Outcome, &e.Detail)
	if err != nil {
		return nil, err
	}
	e.Time = fromMillis(ms)
	return &e, nil
}

// AddAudit appends e, setting its ID, and its Time to now when it is zero.
func (t *tx) AddAudit(ctx context.Context, e *shared.AuditEvent) error {
	at := e.Time
	if at.IsZero() {
		at = fromMillis(millis(time.Now()))
	}
	res, err := t.q.ExecContext(ctx, `
		INSERT INTO audit_events (time, actor_id, actor, action, target, ip, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		millis(at), e.ActorID, e.Actor, e.Action, e.Target, e.IP, e.Outcome, e.Detail)
	if err != nil {
		return t.fail("add audit event", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return t.fail("add audit event", err)
	}
	e.ID, e.Time = id, at
	return nil
}

// ListAudit returns one page of audit events, newest first, and how many
// match in all. The actor filter matches a prefix.
func (r reads) ListAudit(ctx context.Context, f store.AuditFilter) ([]shared.AuditEvent, int, error) {
	where, args := "WHERE 1", []any(nil)
	if f.Actor != "" {
		// LIKE folds ASCII letters only, which is all a username holds.
		where += ` AND actor LIKE ? ESCAPE '\'`
		args = append(args, store.LikePrefix(f.Actor))
	}
	if f.Action != "" {
		where += " AND action = ?"
		args = append(args, f.Action)
	}
	n, off := limit(f.Offset, f.Limit)

	events := []shared.AuditEvent{}
	var total int
	err := r.snapshot(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM audit_events `+where, args...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx,
			`SELECT `+auditColumns+` FROM audit_events `+where+`
			ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`,
			append(args, n, off)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return err
			}
			events = append(events, *e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, r.fail("list audit events", err)
	}
	return events, total, nil
}

// CountSignIns counts the successful and the failed sign-ins (login events
// with outcome ok or failed) at or after since, by UTC hour, oldest first.
// Hours without such an event are left out.
func (r reads) CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error) {
	const hour = int64(time.Hour / time.Millisecond)
	rows, err := r.q.QueryContext(ctx, `
		SELECT time - time % ? AS hour, sum(outcome = ?), sum(outcome = ?)
		FROM audit_events
		WHERE action = ? AND time >= ? AND outcome IN (?, ?)
		GROUP BY hour ORDER BY hour`,
		hour, shared.OutcomeOK, shared.OutcomeFailed,
		shared.ActionLogin, millis(since), shared.OutcomeOK, shared.OutcomeFailed)
	if err != nil {
		return nil, r.fail("count sign-ins", err)
	}
	defer rows.Close()
	counts := []shared.HourCount{}
	for rows.Next() {
		var (
			c  shared.HourCount
			ms int64
		)
		if err := rows.Scan(&ms, &c.OK, &c.Failed); err != nil {
			return nil, r.fail("count sign-ins", err)
		}
		c.Hour = fromMillis(ms)
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, r.fail("count sign-ins", err)
	}
	return counts, nil
}
