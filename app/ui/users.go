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

// Users lists, searches and pages through the users (users:read) and,
// with users:write, creates, edits, disables and enables, resets the
// password of and deletes them. Role changes need roles:write. Delete and
// disable ask for confirmation first. The forms are in users_form.go.
type Users struct {
	app.Compo
	Env *Env

	search string // what the search box holds
	query  string // the search the list shows
	page   int
	list   *shared.Page[shared.User]
	at     time.Time // when the list shown was cached; zero when fresh
	loaded bool
	err    string // of loading the list

	msg    string // the outcome of the last change
	actErr string // the error of the last change made from a row

	create createDraft
	edit   editDraft
	reset  resetDraft
	confirmer
	pageCtx
}

// OnMount loads the signed-in user (for the permission checks) and the
// first page.
func (u *Users) OnMount(ctx app.Context) {
	u.mounted(ctx)
	u.page = 1
	loadMe(ctx, u.Env, func(app.Context, *shared.User, time.Time, error) {})
	u.reload(ctx)
}

// reload loads the page of the list the page is on.
func (u *Users) reload(ctx app.Context) {
	ctx = u.live(ctx)
	env, q, page := u.Env, u.query, max(u.page, 1)
	key := fmt.Sprintf("users?q=%s&page=%d", q, page)
	load(ctx, env, key, func(c context.Context) (*shared.Page[shared.User], error) {
		return env.API.Users(c, client.UserQuery{Q: q, Page: page, PerPage: shared.DefaultPerPage})
	}, func(ctx app.Context, p *shared.Page[shared.User], at time.Time, err error) {
		if q != u.query || page != u.page {
			return // the reader has moved on; another load is under way
		}
		u.loaded = true
		if err != nil {
			u.err = Message(err)
			return
		}
		u.err, u.list, u.at = "", p, at
		if last, past := pastEnd(page, p.PerPage, p.Total, len(p.Items)); past {
			// The page emptied (its last user was deleted): show the last one.
			u.page = last
			u.reload(ctx)
		}
	})
}

func (u *Users) submitSearch(ctx app.Context, e app.Event) {
	e.PreventDefault()
	u.query, u.page = strings.TrimSpace(u.search), 1
	u.reload(ctx)
}

func (u *Users) goPage(ctx app.Context, page int) {
	u.page = page
	u.reload(ctx)
}

// changed reports the outcome of a change: on success msg and a reload of
// the list.
func (u *Users) changed(ctx app.Context, msg string) {
	u.msg, u.actErr = msg, ""
	u.reload(ctx)
}

// closePanels closes the forms and the question, and clears old outcomes.
func (u *Users) closePanels() {
	u.create, u.edit, u.reset, u.ask = createDraft{}, editDraft{}, resetDraft{}, nil
	u.msg, u.actErr = "", ""
}

// user returns the listed user with id, or nil.
func (u *Users) user(id int64) *shared.User {
	if u.list == nil {
		return nil
	}
	for i := range u.list.Items {
		if u.list.Items[i].ID == id {
			return &u.list.Items[i]
		}
	}
	return nil
}

// own is the signed-in user's role; the lowest role while unknown.
func (u *Users) own() shared.Role {
	if me := u.Env.Me(); me != nil {
		return me.Role
	}
	return shared.RoleViewer
}

// mayChange reports whether the signed-in user may change target: with
// users:write, and never someone whose role is above one's own (the
// server refuses that too).
func (u *Users) mayChange(target shared.User) bool {
	return u.Env.Can(shared.PermUsersWrite) && target.Role.Rank() <= u.own().Rank()
}

func (u *Users) toggle(ctx app.Context, id int64) {
	t := u.user(id)
	if t == nil {
		return
	}
	name, disable := t.Username, !t.Disabled
	u.closePanels()
	if !disable {
		u.setDisabled(ctx, id, name, false)
		return
	}
	u.confirm(fmt.Sprintf("Disable %s? They are signed out everywhere and cannot sign in until enabled again.", name), "Disable",
		func(ctx app.Context) { u.setDisabled(ctx, id, name, true) })
}

func (u *Users) setDisabled(ctx app.Context, id int64, name string, disabled bool) {
	ctx, env := u.live(ctx), u.Env
	write(ctx, env, func(c context.Context) error {
		_, err := env.API.UpdateUser(c, id, shared.UserUpdate{Disabled: &disabled})
		return err
	}, func(ctx app.Context, err error) {
		if err != nil {
			u.msg, u.actErr = "", Message(err)
			return
		}
		if disabled {
			u.changed(ctx, name+" is disabled and was signed out everywhere.")
		} else {
			u.changed(ctx, name+" is enabled.")
		}
	})
}

func (u *Users) askDelete(ctx app.Context, id int64) {
	t := u.user(id)
	if t == nil {
		return
	}
	name := t.Username
	u.closePanels()
	u.confirm(fmt.Sprintf("Delete the user %s? This cannot be undone.", name), "Delete", func(ctx app.Context) {
		ctx, env := u.live(ctx), u.Env
		write(ctx, env, func(c context.Context) error { return env.API.DeleteUser(c, id) }, func(ctx app.Context, err error) {
			if err != nil {
				u.msg, u.actErr = "", Message(err)
				return
			}
			u.changed(ctx, "The user "+name+" was deleted.")
		})
	})
}

// Render draws the page.
func (u *Users) Render() app.UI {
	canWrite := u.Env.Can(shared.PermUsersWrite)
	return &Frame{Env: u.Env, Path: "/users", Content: []app.UI{
		app.Div().Class("page-head").Body(
			app.H1().Text("Users"),
			app.If(canWrite && !u.create.open, func() app.UI {
				return button("user-create", "btn primary", "New user", false, u.openCreate)
			}),
		),
		successNote("users-message", u.msg),
		errorNote(u.actErr),
		u.confirmUI(),
		app.If(canWrite && u.create.open, u.createForm),
		app.If(canWrite && u.edit.open, u.editForm),
		app.If(canWrite && u.reset.open, u.resetForm),
		app.Form().Class("search").ID("user-search-form").OnSubmit(u.submitSearch).Body(
			app.Input().Type("search").ID("user-search").Aria("label", "Search users").
				Placeholder("Search by username, name or e-mail").Value(u.search).OnInput(u.ValueTo(&u.search)),
			app.Button().Type("submit").Class("btn").ID("user-search-submit").Text("Search"),
		),
		staleNote(u.at),
		errorNote(u.err),
		u.table(canWrite),
	}}
}

func (u *Users) table(canWrite bool) app.UI {
	if u.list == nil {
		return app.If(!u.loaded, func() app.UI { return app.P().Class("muted").Text("Loading…") })
	}
	items := u.list.Items
	return app.Section().Class("card").Body(
		app.P().Class("muted").Body(
			app.Span().ID("users-total").Text(u.list.Total),
			app.Text(map[bool]string{true: " user", false: " users"}[u.list.Total == 1]),
			app.If(u.query != "", func() app.UI { return app.Textf(" matching “%s”", u.query) }),
		),
		app.Table().Class("table").ID("users-table").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Text("Username"), app.Th().Text("Full name"), app.Th().Text("E-mail"),
				app.Th().Text("Role"), app.Th().Text("Status"), app.Th().Text("Created"),
				app.If(canWrite, func() app.UI { return app.Th().Text("Actions") }),
			)),
			app.TBody().Body(
				app.Range(items).Slice(func(i int) app.UI { return u.row(items[i], canWrite) }),
			),
		),
		app.If(len(items) == 0, func() app.UI { return app.P().Class("muted").Text("No users found.") }),
		&Pager{Page: u.page, PerPage: u.list.PerPage, Total: u.list.Total, OnPage: u.goPage},
	)
}

func (u *Users) row(t shared.User, canWrite bool) app.UI {
	id := t.ID
	status, statusClass := "Active", "status active"
	if t.Disabled {
		status, statusClass = "Disabled", "status disabled"
	}
	toggle := "Disable"
	if t.Disabled {
		toggle = "Enable"
	}
	return app.Tr().DataSet("username", t.Username).DataSet("user-id", id).Body(
		app.Td().Text(t.Username),
		app.Td().Text(orDash(t.FullName)),
		app.Td().Text(orDash(t.Email)),
		app.Td().Body(app.Span().Class("badge role "+string(t.Role)).Text(t.Role)),
		app.Td().Body(app.Span().Class(statusClass).Text(status)),
		app.Td().Text(when(t.CreatedAt)),
		app.If(canWrite, func() app.UI {
			if !u.mayChange(t) {
				return app.Td().Class("muted").Text("—")
			}
			return app.Td().Class("actions").Body(
				button("", "btn small edit-user", "Edit", false, func(ctx app.Context, e app.Event) { u.openEdit(ctx, id) }, "edit", id),
				button("", "btn small toggle-user", toggle, false, func(ctx app.Context, e app.Event) { u.toggle(ctx, id) }, "toggle", id),
				button("", "btn small reset-password", "Reset password", false, func(ctx app.Context, e app.Event) { u.openReset(ctx, id) }, "reset", id),
				button("", "btn small danger delete-user", "Delete", false, func(ctx app.Context, e app.Event) { u.askDelete(ctx, id) }, "delete", id),
			)
		}),
	)
}
