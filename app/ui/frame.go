package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

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

// warnBefore is how long before the session's absolute end the frame
// warns that it is coming.
const warnBefore = 5 * time.Minute

// Frame is the chrome around every signed-in page: a skip link,
// navigation filtered by the role, the signed-in user, sign-out, the
// offline, update, install and session-end banners, the dialog that
// asks for the password again when a change found the session over, and
// the one that asks for it when a change needs a recent sign-in (StepUp).
// While the user must first change a password or set up a second factor,
// it shows AccountSetup instead of the page, without navigation. It
// sends a visitor without a token to the sign-in page, follows other tabs
// signing out, and reloads who is signed in when the tab comes back into
// focus, so that navigation and controls follow a role changed meanwhile.
type Frame struct {
	app.Compo

	Env     *Env
	Path    string // the current page, highlighted in the navigation
	Content []app.UI
	// Reload, when set, loads the page's data again once the network is
	// back, so that what the offline note described goes with it.
	Reload func(app.Context)

	online      bool
	updatable   bool
	installable bool
	now         time.Time // of the session clock's last tick
	release     []func()
	stopClock   context.CancelFunc
	setupOpen   bool // AccountSetup shows until it is done
	pageCtx
}

// OnMount checks the sign-in, loads the user and the session's end, and
// watches the network, the other tabs and the tab's focus.
func (f *Frame) OnMount(ctx app.Context) {
	f.mounted(ctx)
	f.online = f.Env.Online()
	f.updatable = ctx.AppUpdateAvailable()
	f.installable = ctx.IsAppInstallable()
	f.now = time.Now()
	env := f.Env
	if !env.SignedIn() {
		if env.reauthenticating() == nil {
			endSession(ctx, env, env.endedBefore())
		}
		return
	}
	if env.Me() == nil {
		var cachedMe shared.User
		if _, ok := env.Cache.Get("me", &cachedMe); ok {
			env.SetMe(&cachedMe)
		}
	}
	f.release = append(f.release,
		listen(ctx, "online", func(ctx app.Context) {
			f.online = true
			if f.Reload != nil {
				f.Reload(ctx)
			}
		}),
		listen(ctx, "offline", func(ctx app.Context) { f.online = false }),
		listen(ctx, "storage", func(ctx app.Context) {
			if !env.SignedIn() && env.reauthenticating() == nil { // another tab signed out
				endSession(ctx, env, otherTab)
			}
		}),
		listen(ctx, "focus", func(ctx app.Context) { refreshMe(ctx, env) }),
	)
	refreshMe(ctx, env)
	f.loadSessionEnd(ctx)
	f.startClock(ctx)
}

// OnDismount stops watching the window and the clock.
func (f *Frame) OnDismount() {
	for _, r := range f.release {
		r()
	}
	f.release = nil
	if f.stopClock != nil {
		f.stopClock()
		f.stopClock = nil
	}
}

// OnAppUpdate shows the update banner.
func (f *Frame) OnAppUpdate(ctx app.Context) { f.updatable = ctx.AppUpdateAvailable() }

// OnAppInstallChange shows or hides the install button.
func (f *Frame) OnAppInstallChange(ctx app.Context) { f.installable = ctx.IsAppInstallable() }

// loadSessionEnd learns when the session ends, once per session.
func (f *Frame) loadSessionEnd(ctx app.Context) {
	env := f.Env
	if !env.SessionEnds().IsZero() {
		return
	}
	load(ctx, env, "my-sessions", func(c context.Context) (*shared.Page[shared.Session], error) {
		return env.API.MySessions(c, 1, shared.MaxPerPage)
	}, func(ctx app.Context, p *shared.Page[shared.Session], _ time.Time, err error) {
		if err == nil {
			env.noteSession(currentSession(p.Items))
		}
	})
}

// startClock ticks for the session-end warning: every second while it
// shows, otherwise when it is due (at least once a minute, as the end may
// become known or move).
func (f *Frame) startClock(ctx app.Context) {
	clock, stop := context.WithCancel(ctx)
	f.stopClock = stop
	env := f.Env
	ctx.Async(func() {
		for {
			wait := time.Minute
			if end := env.SessionEnds(); !end.IsZero() {
				switch left := time.Until(end); {
				case left <= warnBefore+time.Second:
					wait = time.Second
				case left-warnBefore < wait:
					wait = left - warnBefore
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-clock.Done():
				t.Stop()
				return
			case now := <-t.C:
				ctx.Dispatch(func(app.Context) { f.now = now })
			}
		}
	})
}

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

// setupDone leaves AccountSetup for the page, which loads what the
// restriction kept from it, and puts focus on the page's heading. ctx is
// the panel's, which this very change takes off the page: what is
// deferred on it would be dropped, so the frame's own carries the work.
func (f *Frame) setupDone(ctx app.Context) {
	ctx = f.live(ctx)
	f.setupOpen = false
	for _, it := range nav {
		if it.Path == f.Path {
			ctx.Page().SetTitle("%s · Gatehouse", it.Label)
		}
	}
	f.loadSessionEnd(ctx)
	if f.Reload != nil {
		f.Reload(ctx)
	}
	focusAfterRender(ctx, pageTitleID)
}

// skip moves focus to the page's content, past the navigation.
func (f *Frame) skip(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if m := element("main"); m.Truthy() {
		m.Call("focus")
	}
}

// Render draws the chrome around the content.
func (f *Frame) Render() app.UI {
	me := f.Env.Me()
	setup := f.setupOpen || restrictionOf(me) != unrestricted
	content := f.Content
	if setup {
		content = []app.UI{&AccountSetup{Env: f.Env, OnOpen: func(app.Context) { f.setupOpen = true }, OnDone: f.setupDone}}
	}
	return app.Div().Class("frame").Body(
		app.A().Class("skip-link").ID("skip-link").Href("#main").Text("Skip to the content").OnClick(f.skip),
		app.Header().Class("topbar").Body(
			app.A().Class("brand").Href("/").Text("Gatehouse"),
			app.Nav().Class("nav").Aria("label", "Main").Body(
				app.Range(nav).Slice(func(i int) app.UI {
					it := nav[i]
					if setup || it.Perm != "" && (me == nil || !me.Role.Can(it.Perm)) {
						return nil
					}
					a := app.A().Class("nav-link").Href(it.Path).ID("nav-" + it.Path[1:]).Text(it.Label)
					if it.Path == f.Path {
						a = a.Class("active").Aria("current", "page")
					}
					return a
				}),
			),
			app.Div().Class("who").Body(
				app.If(me != nil, func() app.UI {
					return app.Span().ID("who").Textf("%s (%s)", me.Username, me.Role)
				}),
				app.If(f.installable, func() app.UI {
					return app.Button().Type("button").Class("btn small").ID("install").Text("Install").OnClick(func(ctx app.Context, e app.Event) { ctx.ShowAppInstallPrompt() })
				}),
				app.Button().Type("button").Class("btn small").ID("logout").Text("Sign out").OnClick(f.logout),
			),
		),
		slot(f.offlineBanner(), f.updateBanner(), f.sessionWarning()),
		// Its dialog is modal (over everything); its note on recovery
		// codes left is a banner, in line with the others.
		&StepUp{Env: f.Env, Held: f.Env.reauthenticating() != nil, Path: f.Path},
		app.Main().Class("content").ID("main").TabIndex(-1).Body(content...),
		slot(f.reauthDialog(me)),
	)
}

// offlineBanner says the network is gone, while it is.
func (f *Frame) offlineBanner() app.UI {
	if f.online {
		return nil
	}
	return app.Div().Class("banner offline").ID("offline-banner").Attr("role", "status").
		Text("You are offline. Showing the last loaded data; changes can't be saved until the connection is back.")
}

// updateBanner offers a new version.
func (f *Frame) updateBanner() app.UI {
	if !f.updatable {
		return nil
	}
	return app.Div().Class("banner update").ID("update-banner").Body(
		app.Text("A new version of Gatehouse is available. "),
		app.Button().Type("button").Class("btn small").Text("Reload").OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
	)
}

// sessionWarning is the banner shown during the session's last minutes.
func (f *Frame) sessionWarning() app.UI {
	end := f.Env.SessionEnds()
	left := end.Sub(f.now)
	if end.IsZero() || left > warnBefore {
		return nil
	}
	msg := "Your session has ended. Your next change asks for your password again, and keeps what you typed."
	if left > 0 {
		msg = "Your session ends at " + end.Local().Format("15:04") + " (in " + Countdown(left) + "). " +
			"Then a change asks for your password again, and keeps what you typed."
	}
	return app.Div().Class("banner warning").ID("session-warning").Attr("role", "status").Text(msg)
}

// reauthDialog asks for the password again while a change waits for it.
func (f *Frame) reauthDialog(me *shared.User) app.UI {
	env := f.Env
	req := env.reauthenticating()
	if req == nil || me == nil {
		return nil
	}
	username := me.Username
	return &Reauth{
		Username: username,
		Why:      EndedMessage(req.reason),
		AskCode:  me.MFA,
		Verify:   signInAgain(env.API, username),
		OnDone: func(ctx app.Context) {
			env.finishReauth(ctx, true)
			f.loadSessionEnd(f.live(ctx)) // of the new session
		},
		OnCancel: func(ctx app.Context) { env.finishReauth(ctx, false) },
	}
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
