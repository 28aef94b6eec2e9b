package ui

import (
	"context"
	"fmt"
	"net/url"
	"slices"
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

// anyAction is the value of the filter's "Any action" option. go-app
// writes no value attribute for an empty value, and an option without one
// has its label as its value, so "" cannot stand for it.
const anyAction = "any"

// Audit is the audit log (audit:read): events newest first, filtered by
// the start of the actor's name and by action, a page at a time. The
// filter and the page live in the address (/audit?actor=&action=&page=).
// A role without audit:read is told the page is not for it.
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

// OnMount loads the list the address asks for, when the role may read it.
func (a *Audit) OnMount(ctx app.Context) {
	a.mounted(ctx)
	a.apply(pageQuery(ctx))
	loadMe(ctx, a.Env, func(ctx app.Context, _ *shared.User, _ time.Time, err error) {
		if err == nil {
			a.reload(ctx)
		}
	})
}

// OnNav follows the address: a filter or page chosen, or Back.
func (a *Audit) OnNav(ctx app.Context) {
	a.navigated(ctx, "Audit log")
	if app.IsClient {
		a.follow(ctx, pageQuery(ctx))
	}
}

// follow shows the events an address's query asks for, if they are others.
func (a *Audit) follow(ctx app.Context, q url.Values) {
	if !a.apply(q) {
		return
	}
	setInputValue("audit-actor", a.actor)
	setInputValue("audit-action", cmpOr(a.action, anyAction))
	scrollToTop()
	a.reload(ctx)
}

// apply takes the filter and page from a query, and reports whether they
// changed.
func (a *Audit) apply(q url.Values) bool {
	actor, action, page := strings.TrimSpace(q.Get("actor")), q.Get("action"), pageNumber(q)
	if !slices.Contains(auditActions, action) {
		action = ""
	}
	if actor == a.fActor && action == a.fAction && page == a.page {
		return false
	}
	a.fActor, a.fAction, a.page = actor, action, page
	a.actor, a.action = actor, action
	return true
}

func (a *Audit) reload(ctx app.Context) {
	if !a.Env.Can(shared.PermAuditRead) {
		return
	}
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

// chooseAction keeps the chosen action; "Any action" is no filter.
func (a *Audit) chooseAction(ctx app.Context, e app.Event) {
	a.action = ctx.JSSrc().Get("value").String()
	if a.action == anyAction {
		a.action = ""
	}
}

func (a *Audit) filter(ctx app.Context, e app.Event) {
	e.PreventDefault()
	navigate(ctx, listURL("/audit", 1, "actor", strings.TrimSpace(a.actor), "action", a.action))
}

func (a *Audit) goPage(ctx app.Context, page int) {
	navigate(ctx, listURL("/audit", page, "actor", a.fActor, "action", a.fAction))
}

// Render draws the page.
func (a *Audit) Render() app.UI {
	me := a.Env.Me()
	var body []app.UI
	switch {
	case me == nil:
		body = []app.UI{app.P().Class("muted").Text("Loading…")}
	case !me.Role.Can(shared.PermAuditRead):
		body = []app.UI{notAllowed("The audit log")}
	default:
		body = []app.UI{
			app.Form().Class("filters").ID("audit-filter-form").Attr("role", "search").OnSubmit(a.filter).Body(
				formRow("Actor (start of the name)", "audit-actor", app.Input().Type("text").ID("audit-actor").Placeholder("username").
					Attr("autocapitalize", "none").Attr("spellcheck", "false").
					Value(a.actor).OnInput(a.ValueTo(&a.actor)), ""),
				formRow("Action", "audit-action", app.Select().ID("audit-action").OnChange(a.chooseAction).Body(
					actionOption(anyAction, "Any action", cmpOr(a.action, anyAction)),
					app.Range(auditActions).Slice(func(i int) app.UI {
						return actionOption(auditActions[i], auditActions[i], a.action)
					}),
				), ""),
				app.Button().Type("submit").Class("btn").ID("audit-filter").Text("Filter"),
			),
			staleNote(a.at),
			errorNote(a.err),
			slot(a.table()),
		}
	}
	return &Frame{Env: a.Env, Path: "/audit", Reload: a.reload, Content: append([]app.UI{pageTitle("Audit log")}, body...)}
}

func actionOption(value, label, selected string) app.UI {
	o := app.Option().Value(value).Text(label)
	if value == selected {
		o = o.Selected(true)
	}
	return o
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
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
		app.Table().Class("table cards").ID("audit-table").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Scope("col").Text("Time"), app.Th().Scope("col").Text("Actor"), app.Th().Scope("col").Text("Action"),
				app.Th().Scope("col").Text("Target"), app.Th().Scope("col").Text("IP"), app.Th().Scope("col").Text("Outcome"),
				app.Th().Scope("col").Text("Detail"),
			)),
			app.TBody().Body(app.Range(items).Slice(func(i int) app.UI {
				ev := items[i]
				return app.Tr().DataSet("event-id", ev.ID).DataSet("action", ev.Action).Body(
					app.Td().Class("cell-date").DataSet("label", "Time").Text(when(ev.Time)),
					app.Td().DataSet("label", "Actor").Text(orDash(ev.Actor)),
					app.Td().DataSet("label", "Action").Body(app.Code().Text(ev.Action)),
					app.Td().DataSet("label", "Target").Text(orDash(ev.Target)),
					app.Td().DataSet("label", "IP").Text(orDash(ev.IP)),
					app.Td().DataSet("label", "Outcome").Body(app.Span().Class("outcome "+ev.Outcome).Text(ev.Outcome)),
					app.Td().Class("detail").DataSet("label", "Detail").Text(orDash(ev.Detail)),
				)
			})),
		),
		app.If(len(items) == 0, func() app.UI { return app.P().Class("muted").Text("No events match.") }),
		&Pager{Page: a.page, PerPage: a.list.PerPage, Total: a.list.Total, OnPage: a.goPage},
	)
}
