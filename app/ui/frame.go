package ui

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// navItem is one entry of the navigation; Perm "" means everyone.
type navItem struct {
	Path, Label string
	Perm        shared.Permission
}

var nav = []navItem{
	{"/", "Dashboard", ""},
	{"/users", "Users", shared.PermUsersRead},
	{"/sessions", "Sessions", ""},
	{"/audit", "Audit log", shared.PermAuditRead},
	{"/profile", "Profile", ""},
}

// Frame is the chrome around every signed-in page: navigation filtered by
// role, the signed-in user, sign-out, and the offline, update and install
// banners. It sends a visitor without a token to the sign-in page and
// follows other tabs signing in or out.
type Frame struct {
	app.Compo

	Env     *Env
	Path    string // the current page, highlighted in the navigation
	Content []app.UI

	online      bool
	updatable   bool
	installable bool
	me          *shared.User
	release     []func()
}

// OnMount checks the sign-in, loads the user and watches the network and
// the other tabs.
func (f *Frame) OnMount(ctx app.Context) {
	f.online = f.Env.Online()
	f.updatable = ctx.AppUpdateAvailable()
	f.installable = ctx.IsAppInstallable()
	if !f.Env.SignedIn() {
		ctx.Navigate("/login")
		return
	}
	f.me = f.Env.Me()
	if f.me == nil {
		var cachedMe shared.User
		if _, ok := f.Env.Cache.Get("me", &cachedMe); ok {
			f.me = &cachedMe
		}
	}
	f.release = append(f.release,
		listen(ctx, "online", func(ctx app.Context) { f.online = true }),
		listen(ctx, "offline", func(ctx app.Context) { f.online = false }),
		listen(ctx, "storage", func(ctx app.Context) {
			if !f.Env.SignedIn() { // another tab signed out
				f.Env.Forget()
				ctx.Navigate("/login")
			}
		}),
	)
	env := f.Env
	ctx.Async(func() {
		me, err := env.API.Me(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				if errors.Is(err, client.ErrLoggedOut) {
					env.Forget()
					ctx.Navigate("/login")
				}
				return // offline: keep the cached profile
			}
			env.SetMe(me)
			env.Cache.Put("me", me)
			f.me = me
		})
	})
}

// OnDismount stops watching the window.
func (f *Frame) OnDismount() {
	for _, r := range f.release {
		r()
	}
	f.release = nil
}

// OnAppUpdate shows the update banner.
func (f *Frame) OnAppUpdate(ctx app.Context) { f.updatable = ctx.AppUpdateAvailable() }

// OnAppInstallChange shows or hides the install button.
func (f *Frame) OnAppInstallChange(ctx app.Context) { f.installable = ctx.IsAppInstallable() }

func (f *Frame) logout(ctx app.Context, e app.Event) {
	env := f.Env
	ctx.Async(func() {
		_ = env.API.Logout(context.Background()) // clears the token even when the call fails
		ctx.Dispatch(func(ctx app.Context) {
			env.Forget()
			ctx.Navigate("/login")
		})
	})
}

// Render draws the chrome around the content.
func (f *Frame) Render() app.UI {
	return app.Div().Class("frame").Body(
		app.Header().Class("topbar").Body(
			app.A().Class("brand").Href("/").Text("Gatehouse"),
			app.Nav().Class("nav").Body(
				app.Range(nav).Slice(func(i int) app.UI {
					it := nav[i]
					if it.Perm != "" && (f.me == nil || !f.me.Role.Can(it.Perm)) {
						return nil
					}
					cls := "nav-link"
					if it.Path == f.Path {
						cls += " active"
					}
					return app.A().Class(cls).Href(it.Path).ID("nav-" + it.Path[1:]).Text(it.Label)
				}),
			),
			app.Div().Class("who").Body(
				app.If(f.me != nil, func() app.UI {
					return app.Span().ID("who").Textf("%s (%s)", f.me.Username, f.me.Role)
				}),
				app.If(f.installable, func() app.UI {
					return app.Button().Class("btn small").ID("install").Text("Install").OnClick(func(ctx app.Context, e app.Event) { ctx.ShowAppInstallPrompt() })
				}),
				app.Button().Class("btn small").ID("logout").Text("Sign out").OnClick(f.logout),
			),
		),
		app.If(!f.online, func() app.UI {
			return app.Div().Class("banner offline").ID("offline-banner").Text("You are offline. Showing the last loaded data; changes can't be saved until the connection is back.")
		}),
		app.If(f.updatable, func() app.UI {
			return app.Div().Class("banner update").ID("update-banner").Body(
				app.Text("A new version of Gatehouse is available. "),
				app.Button().Class("btn small").Text("Reload").OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
			)
		}),
		app.Main().Class("content").Body(f.Content...),
	)
}

// listen calls f on the UI goroutine whenever window fires event, until the
// returned function is called.
func listen(ctx app.Context, event string, f func(app.Context)) func() {
	if !app.IsClient {
		return func() {}
	}
	fn := app.FuncOf(func(this app.Value, args []app.Value) any {
		ctx.Dispatch(f)
		return nil
	})
	app.Window().Call("addEventListener", event, fn)
	return func() {
		app.Window().Call("removeEventListener", event, fn)
		fn.Release()
	}
}
