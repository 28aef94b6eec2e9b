package ui

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// Users lists, searches, sorts and pages through the users (users:read),
// saying who signs in with two-step verification, and, with users:write,
// creates, edits, disables and enables, resets the password of and
// deletes them, resets their two-step verification and lifts their
// sign-in lockouts. Role changes need roles:write. Delete, disable and
// resetting two-step verification ask for confirmation first; the changes
// that need a recent sign-in ask for the password over the page (StepUp)
// and keep what was typed. The search, the order and the page live in the
// address (/users?q=&sort=&page=). The forms are in users_form.go, the
// sign-in panel in users_signin.go, the table in users_table.go.
type Users struct {
	app.Compo
	Env *Env

	search string          // what the search box holds
	query  string          // the search the list shows
	sort   shared.UserSort // the order the list shows
	page   int
	list   *shared.Page[shared.User]
	at     time.Time // when the list shown was cached; zero when fresh
	loaded bool
	err    string // of loading the list

	msg    string // the outcome of the last change
	actErr string // the error of the last change made from a row
	menu   int64  // the user whose actions menu is open (narrow screens)

	create createDraft
	edit   editDraft
	reset  resetDraft
	confirmer
	pageCtx
}

// OnMount loads the signed-in user (for the permission checks) and the
// list the address asks for.
func (u *Users) OnMount(ctx app.Context) {
	u.mounted(ctx)
	u.apply(pageQuery(ctx))
	loadMe(ctx, u.Env, func(app.Context, *shared.User, time.Time, error) {})
	u.reload(ctx)
}

// OnNav follows the address: a search, order or page chosen (or Back)
// shows that list, and the messages about the previous one go.
func (u *Users) OnNav(ctx app.Context) {
	u.navigated(ctx, "Users")
	if app.IsClient {
		u.follow(ctx, pageQuery(ctx))
	}
}

// follow shows the list an address's query asks for, if it is another one.
func (u *Users) follow(ctx app.Context, q url.Values) {
	if !u.apply(q) {
		return
	}
	u.msg, u.actErr, u.menu = "", "", 0
	setInputValue("user-search", u.search)
	scrollToTop()
	u.reload(ctx)
}

// apply takes the list's search, order and page from a query, and reports
// whether they changed.
func (u *Users) apply(q url.Values) bool {
	sort, _ := shared.ParseUserSort(q.Get("sort"))
	query, page := strings.TrimSpace(q.Get("q")), pageNumber(q)
	if query == u.query && sort == u.sort && page == u.page {
		return false
	}
	u.query, u.search, u.sort, u.page = query, query, sort, page
	return true
}

// address is the address of the list with the given search, order and
// page.
func (u *Users) address(query string, sort shared.UserSort, page int) string {
	return listURL("/users", page, "q", query, "sort", sort.String())
}

// reload loads the page of the list the page is on.
func (u *Users) reload(ctx app.Context) {
	ctx = u.live(ctx)
	env, q, sort, page := u.Env, u.query, u.sort, max(u.page, 1)
	key := fmt.Sprintf("users?q=%s&sort=%s&page=%d", q, sort, page)
	load(ctx, env, key, func(c context.Context) (*shared.Page[shared.User], error) {
		return env.API.Users(c, client.UserQuery{Q: q, Sort: sort, Page: page, PerPage: shared.DefaultPerPage})
	}, func(ctx app.Context, p *shared.Page[shared.User], at time.Time, err error) {
		if q != u.query || sort != u.sort || page != u.page {
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
	navigate(ctx, u.address(strings.TrimSpace(u.search), u.sort, 1))
}

func (u *Users) goPage(ctx app.Context, page int) {
	navigate(ctx, u.address(u.query, u.sort, page))
}

// sortBy orders the list by key: the other way when it already is, else
// in the key's natural direction (names A to Z, roles lowest first, the
// newest first).
func (u *Users) sortBy(ctx app.Context, key string) {
	cur := u.sort.Normal()
	next := shared.UserSort{Key: key, Desc: key == shared.SortCreated}
	if cur.Key == key {
		next.Desc = !cur.Desc
	}
	navigate(ctx, u.address(u.query, next, 1))
}

// changed reports the outcome of a change: on success msg and a reload of
// the list.
func (u *Users) changed(ctx app.Context, msg string) {
	u.msg, u.actErr = msg, ""
	u.reload(ctx)
}

// closePanels closes the forms, the question and the row menu, and clears
// old outcomes.
func (u *Users) closePanels() {
	u.create, u.edit, u.reset, u.ask = createDraft{}, editDraft{}, resetDraft{}, nil
	u.msg, u.actErr, u.menu = "", "", 0
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

// failed reports a change refused from a row.
func (u *Users) failed(err error) {
	u.msg, u.actErr = "", Message(err)
}

func (u *Users) toggle(ctx app.Context, id int64) {
	t := u.user(id)
	if t == nil {
		return
	}
	name, disable := t.Username, !t.Disabled
	u.closePanels()
	u.menu = id // the dialog gives focus back to the button in it
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
			u.failed(err)
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
	u.menu = id
	u.confirm(fmt.Sprintf("Delete the user %s? This cannot be undone.", name), "Delete", func(ctx app.Context) {
		ctx, env := u.live(ctx), u.Env
		write(ctx, env, func(c context.Context) error {
			return env.API.DeleteUser(forStepUp(c, "delete the user "+name), id)
		}, func(ctx app.Context, err error) {
			if err != nil {
				u.failed(err)
				return
			}
			u.changed(ctx, "The user "+name+" was deleted.")
		})
	})
}

// Render draws the page.
func (u *Users) Render() app.UI {
	canWrite := u.Env.Can(shared.PermUsersWrite)
	return &Frame{Env: u.Env, Path: "/users", Reload: u.reload, Content: []app.UI{
		app.Div().Class("page-head").Body(
			pageTitle("Users"),
			app.If(canWrite && !u.create.open, func() app.UI {
				return button("user-create", "btn primary", "New user", false, u.openCreate)
			}),
		),
		successNote("users-message", u.msg),
		errorNote(u.actErr),
		slot(
			app.If(canWrite && u.create.open, u.createForm),
			app.If(canWrite && u.edit.open, u.editForm),
			app.If(canWrite && u.edit.open, u.signInPanel),
			app.If(canWrite && u.reset.open, u.resetForm),
		),
		app.Form().Class("search").ID("user-search-form").Attr("role", "search").OnSubmit(u.submitSearch).Body(
			app.Input().Type("search").ID("user-search").Aria("label", "Search users").
				Placeholder("Search by username, name or e-mail").Value(u.search).OnInput(u.ValueTo(&u.search)),
			app.Button().Type("submit").Class("btn").ID("user-search-submit").Text("Search"),
		),
		staleNote(u.at),
		errorNote(u.err),
		slot(u.table(canWrite)),
		slot(u.confirmUI()),
	}}
}
