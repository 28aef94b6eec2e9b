package ui

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// The users table. On narrow screens (web/app.css) each row becomes a card
// headed by the username, with role and status beside it and the row's
// actions behind an "Actions" button, so that nothing needs a sideways
// scroll; on wide ones the actions sit in the last column.

func (u *Users) table(canWrite bool) app.UI {
	if u.list == nil {
		return app.If(!u.loaded, func() app.UI { return app.P().Class("muted").Text("Loading…") })
	}
	items := u.list.Items
	return app.Section().Class("card").Aria("labelledby", "users-count").Body(
		app.P().Class("muted").ID("users-count").Body(
			app.Span().ID("users-total").Text(u.list.Total),
			app.Text(map[bool]string{true: " user", false: " users"}[u.list.Total == 1]),
			app.If(u.query != "", func() app.UI { return app.Textf(" matching “%s”", u.query) }),
		),
		app.Table().Class("table cards").ID("users-table").Body(
			app.THead().Body(app.Tr().Body(
				u.sortHeader("Username", shared.SortUsername),
				app.Th().Scope("col").Text("Full name"),
				app.Th().Scope("col").Text("E-mail"),
				u.sortHeader("Role", shared.SortRole),
				app.Th().Scope("col").Text("Status"),
				app.Th().Scope("col").Body(app.Abbr().Title("Two-step verification (multi-factor authentication)").Text("MFA")),
				u.sortHeader("Created", shared.SortCreated),
				app.If(canWrite, func() app.UI { return app.Th().Scope("col").Class("col-actions").Text("Actions") }),
			)),
			app.TBody().Body(
				app.Range(items).Slice(func(i int) app.UI { return u.row(items[i], canWrite) }),
			),
		),
		app.If(len(items) == 0, func() app.UI { return app.P().Class("muted").Text("No users found.") }),
		&Pager{Page: u.page, PerPage: u.list.PerPage, Total: u.list.Total, OnPage: u.goPage},
	)
}

// sortHeader is a column heading that orders the list by key when pressed,
// and says (aria-sort) whether it does.
func (u *Users) sortHeader(label, key string) app.UI {
	cur := u.sort.Normal()
	sort, arrow := "none", ""
	if cur.Key == key {
		sort, arrow = "ascending", " ▲"
		if cur.Desc {
			sort, arrow = "descending", " ▼"
		}
	}
	return app.Th().Scope("col").Aria("sort", sort).Body(
		button("sort-"+key, "sort", label+arrow, false, func(ctx app.Context, e app.Event) { u.sortBy(ctx, key) }, key, sort),
	)
}

func (u *Users) row(t shared.User, canWrite bool) app.UI {
	id := t.ID
	status, statusClass := "Active", "status active"
	if t.Disabled {
		status, statusClass = "Disabled", "status disabled"
	}
	return app.Tr().DataSet("username", t.Username).DataSet("user-id", id).Body(
		app.Th().Scope("row").Class("cell-title").Text(t.Username),
		app.Td().DataSet("label", "Name").Text(orDash(t.FullName)),
		app.Td().DataSet("label", "E-mail").Class("cell-email").Text(orDash(t.Email)),
		app.Td().Class("cell-badge").Body(app.Span().Class("badge role "+string(t.Role)).Text(t.Role)),
		app.Td().Class("cell-badge").Body(app.Span().Class(statusClass).Text(status)),
		app.Td().DataSet("label", "MFA").Class("cell-mfa").Body(mfaState(t.MFA)),
		app.Td().DataSet("label", "Created").Class("cell-date").Text(when(t.CreatedAt)),
		app.If(canWrite, func() app.UI {
			if !u.mayChange(t) {
				return app.Td().Class("row-actions muted").Text("—")
			}
			return app.Td().Class("row-actions").Body(u.actions(t))
		}),
	)
}

// actions are a row's buttons: always shown on wide screens, behind the
// menu button (#actions-toggle-ID) on narrow ones.
func (u *Users) actions(t shared.User) app.UI {
	id := t.ID
	toggle := "Disable"
	if t.Disabled {
		toggle = "Enable"
	}
	menuID := "actions-" + strconv.FormatInt(id, 10)
	open := u.menu == id
	menuClass := "row-menu"
	if open {
		menuClass += " open"
	}
	toggleID := "actions-toggle-" + strconv.FormatInt(id, 10)
	return app.Div().Class("row-actions-inner").OnKeyDown(func(ctx app.Context, e app.Event) {
		// Escape closes an open menu, and focus stays on its button.
		if u.menu == id && e.Get("key").String() == "Escape" {
			u.menu = 0
			focusAfterRender(ctx, toggleID)
		}
	}, app.EventScope("menu-key", id, open)).Body(
		app.Button().Type("button").Class("btn small row-menu-toggle").ID(toggleID).
			Aria("expanded", strconv.FormatBool(open)).Aria("controls", menuID).
			Aria("label", "Actions for "+t.Username).Text("Actions ▾").
			OnClick(func(ctx app.Context, e app.Event) { u.toggleMenu(id) }, app.EventScope("menu", id, open)),
		app.Div().Class(menuClass).ID(menuID).Body(
			button("", "btn small edit-user", "Edit", false, func(ctx app.Context, e app.Event) { u.openEdit(ctx, id) }, "edit", id),
			button("", "btn small toggle-user", toggle, false, func(ctx app.Context, e app.Event) { u.toggle(ctx, id) }, "toggle", id),
			button("", "btn small reset-password", "Reset password", false, func(ctx app.Context, e app.Event) { u.openReset(ctx, id) }, "reset", id),
			button("", "btn small danger delete-user", "Delete", false, func(ctx app.Context, e app.Event) { u.askDelete(ctx, id) }, "delete", id),
		),
	)
}

// toggleMenu opens the actions menu of a row, or closes it.
func (u *Users) toggleMenu(id int64) {
	if u.menu == id {
		u.menu = 0
		return
	}
	u.menu = id
}

// mfaState says whether a user signs in with a second factor: "On" or
// "Off", in words (never by colour alone).
func mfaState(on bool) app.UI {
	if on {
		return app.Span().Class("mfa on").Text("On")
	}
	return app.Span().Class("mfa off").Text("Off")
}
