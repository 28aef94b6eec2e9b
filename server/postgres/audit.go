package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
	"gatehouse/shared"
)

const auditColumns = `id, time, actor_id, actor, action, target, ip, outcome, detail`

// AddAudit appends e, setting its ID, and its Time to now when it is zero.
func (t *tx) AddAudit(ctx context.Context, e *shared.AuditEvent) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	at := e.Time
	if at.IsZero() {
		at = ms(time.Now())
	}
	var id int64
	err = t.q.QueryRow(ctx, `
		INSERT INTO audit_events (time, actor_id, actor, action, target, ip, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		ms(at), e.ActorID, text(e.Actor), text(e.Action), text(e.Target), text(e.IP),
		text(e.Outcome), text(e.Detail)).Scan(&id)
	if err != nil {
		return t.fail(ctx, "add audit event", err)
	}
	e.ID, e.Time = id, at
	return nil
}

// ListAudit returns one page of audit events, newest first, and how many
// match in all, both from one snapshot.
func (r reads) ListAudit(ctx context.Context, f store.AuditFilter) ([]shared.AuditEvent, int, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer exit()
	var (
		conds []string
		args  []any
	)
	if f.Actor != "" {
		args = append(args, text(store.LikePrefix(f.Actor)))
		conds = append(conds, fmt.Sprintf(`actor ILIKE $%d ESCAPE '\'`, len(args)))
	}
	if f.Action != "" {
		args = append(args, text(f.Action))
		conds = append(conds, fmt.Sprintf("action = $%d", len(args)))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	n, off := limit(f.Offset, f.Limit)
	page := fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)+1, len(args)+2)

	var (
		events []shared.AuditEvent
		total  int
	)
	err = r.snapshot(ctx, func(q querier) error {
		err := q.QueryRow(ctx, `SELECT count(*) FROM audit_events `+where, args...).Scan(&total)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx,
			`SELECT `+auditColumns+` FROM audit_events `+where+` ORDER BY time DESC, id DESC`+page,
			append(args, n, off)...)
		if err != nil {
			return err
		}
		events, err = collect(rows, func(rows pgx.Rows) (shared.AuditEvent, error) {
			var e shared.AuditEvent
			err := rows.Scan(&e.ID, &e.Time, &e.ActorID, &e.Actor, &e.Action, &e.Target,
				&e.IP, &e.Outcome, &e.Detail)
			e.Time = e.Time.UTC()
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, 0, r.fail(ctx, "list audit events", err)
	}
	return events, total, nil
}

// CountSignIns counts the successful and the failed sign-ins (login events
// with outcome ok or failed) at or after since, by UTC hour, oldest first.
// Hours without such an event are left out.
func (r reads) CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	rows, err := r.q.Query(ctx, `
		SELECT date_trunc('hour', time, 'UTC') AS hour,
			count(*) FILTER (WHERE outcome = $1), count(*) FILTER (WHERE outcome = $2)
		FROM audit_events
		WHERE action = $3 AND time >= $4 AND outcome IN ($1, $2)
		GROUP BY hour ORDER BY hour`,
		shared.OutcomeOK, shared.OutcomeFailed, shared.ActionLogin, ms(since))
	var counts []shared.HourCount
	if err == nil {
		counts, err = collect(rows, func(rows pgx.Rows) (shared.HourCount, error) {
			var c shared.HourCount
			err := rows.Scan(&c.Hour, &c.OK, &c.Failed)
			c.Hour = c.Hour.UTC()
			return c, err
		})
	}
	if err != nil {
		return nil, r.fail(ctx, "count sign-ins", err)
	}
	return counts, nil
}
