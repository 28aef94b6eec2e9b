package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// auditActions are the actions the filter offers, in the order shown.
var auditActions = []string{
	shared.ActionLogin, shared.ActionLogout, shared.ActionRefreshReuse,
	shared.ActionUserCreate, shared.ActionUserUpdate, shared.ActionUserDelete,
	shared.ActionPasswordChange, shared.ActionPasswordReset, shared.ActionProfileUpdate,
	shared.ActionSessionRevoke, shared.ActionSessionsRevoke, shared.ActionAdminBootstrap,
}

// Audit is the audit log (audit:read): events newest first, filtered by
// actor and action, a page at a time.
type Audit struct {
	app.Compo
	Env *Env

	actor, action   string // what the filter form holds
	fActor, fAction string // the filter the list shows
	page            int
	list            *shared.Page[shared.AuditEvent]
	at              time.Time
	err             string
	pageCtx
}

// OnMount loads the first page.
func (a *Audit) OnMount(ctx app.Context) {
	a.mounted(ctx)
	a.page = 1
	a.reload(ctx)
}

func (a *Audit) reload(ctx app.Context) {
	ctx = a.live(ctx)
	env, actor, action, page := a.Env, a.fActor, a.fAction, max(a.page, 1)
	key := fmt.Sprintf("audit?actor=%s&action=%s&page=%d", actor, action, page)
	load(ctx, env, key, func(c context.Context) (*shared.Page[shared.AuditEvent], error) {
		return env.API.Audit(c, client.AuditQuery{Actor: actor, Action: action, Page: page, PerPage: shared.DefaultPerPage})
	}, func(ctx app.Context, p *shared.Page[shared.AuditEvent], at time.Time, err error) {
		if actor != a.fActor || action != a.fAction || page != a.page {
			return // the reader has moved on; another load is under way
		}
		if err != nil {
			a.err = Message(err)
			return
		}
		a.err, a.list, a.at = "", p, at
	})
}

func (a *Audit) filter(ctx app.Context, e app.Event) {
	e.PreventDefault()
	a.fActor, a.fAction, a.page = strings.TrimSpace(a.actor), a.action, 1
	a.reload(ctx)
}

func (a *Audit) goPage(ctx app.Context, page int) {
	a.page = page
	a.reload(ctx)
}

// Render draws the page.
func (a *Audit) Render() app.UI {
	return &Frame{Env: a.Env, Path: "/audit", Content: []app.UI{
		app.H1().Text("Audit log"),
		app.Form().Class("filters").ID("audit-filter-form").OnSubmit(a.filter).Body(
			formRow("Actor", "audit-actor", app.Input().Type("text").ID("audit-actor").Placeholder("username").
				Value(a.actor).OnInput(a.ValueTo(&a.actor)), ""),
			formRow("Action", "audit-action", app.Select().ID("audit-action").OnChange(a.ValueTo(&a.action)).Body(
				actionOption("", "Any action", a.action),
				app.Range(auditActions).Slice(func(i int) app.UI {
					return actionOption(auditActions[i], auditActions[i], a.action)
				}),
			), ""),
			app.Button().Type("submit").Class("btn").ID("audit-filter").Text("Filter"),
		),
		staleNote(a.at),
		errorNote(a.err),
		a.table(),
	}}
}

func actionOption(value, label, selected string) app.UI {
	o := app.Option().Value(value).Text(label)
	if value == selected {
		o = o.Selected(true)
	}
	return o
}

func (a *Audit) table() app.UI {
	if a.list == nil {
		return app.If(a.err == "", func() app.UI { return app.P().Class("muted").Text("Loading…") })
	}
	items := a.list.Items
	return app.Section().Class("card").Body(
		app.P().Class("muted").Body(
			app.Span().ID("audit-total").Text(a.list.Total),
			app.Text(map[bool]string{true: " event", false: " events"}[a.list.Total == 1]),
		),
		app.Table().Class("table").ID("audit-table").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Text("Time"), app.Th().Text("Actor"), app.Th().Text("Action"), app.Th().Text("Target"),
				app.Th().Text("IP"), app.Th().Text("Outcome"), app.Th().Text("Detail"),
			)),
			app.TBody().Body(app.Range(items).Slice(func(i int) app.UI {
				ev := items[i]
				return app.Tr().DataSet("event-id", ev.ID).DataSet("action", ev.Action).Body(
					app.Td().Text(when(ev.Time)),
					app.Td().Text(orDash(ev.Actor)),
					app.Td().Body(app.Code().Text(ev.Action)),
					app.Td().Text(orDash(ev.Target)),
					app.Td().Text(orDash(ev.IP)),
					app.Td().Body(app.Span().Class("outcome "+ev.Outcome).Text(ev.Outcome)),
					app.Td().Class("detail").Text(orDash(ev.Detail)),
				)
			})),
		),
		app.If(len(items) == 0, func() app.UI { return app.P().Class("muted").Text("No events match.") }),
		&Pager{Page: a.page, PerPage: a.list.PerPage, Total: a.list.Total, OnPage: a.goPage},
	)
}
