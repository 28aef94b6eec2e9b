package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Login is the sign-in page.
type Login struct {
	app.Compo
	Env *Env

	username, password string
	busy               bool
	err                string
	release            func()
}

// OnMount skips the page when already signed in, and follows another tab
// signing in.
func (l *Login) OnMount(ctx app.Context) {
	if l.Env.SignedIn() {
		ctx.Navigate("/")
		return
	}
	l.release = listen(ctx, "storage", func(ctx app.Context) {
		if l.Env.SignedIn() {
			ctx.Navigate("/")
		}
	})
}

// OnDismount stops following other tabs.
func (l *Login) OnDismount() {
	if l.release != nil {
		l.release()
	}
}

func (l *Login) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if l.busy {
		return
	}
	l.username = strings.TrimSpace(l.username)
	if l.username == "" || l.password == "" {
		l.err = "Enter your username and password."
		return
	}
	l.busy, l.err = true, ""
	env, username, password := l.Env, l.username, l.password
	write(ctx, env, func(c context.Context) error {
		env.Cache.Clear() // nothing of a previous user stays
		_, err := env.API.Login(c, username, password)
		return err
	}, func(ctx app.Context, err error) {
		l.busy = false
		if err != nil {
			l.err = Message(err)
			l.password = ""
			// go-app updates the value attribute, not what the user typed
			// into the field; clear the field itself so that it shows what
			// the form holds.
			if app.IsClient {
				app.Window().GetElementByID("password").Set("value", "")
			}
			return
		}
		l.password = ""
		ctx.Navigate("/")
	})
}

// Render draws the form.
func (l *Login) Render() app.UI {
	return app.Div().Class("login").Body(
		app.Form().Class("card login-card").ID("login-form").OnSubmit(l.submit).Body(
			app.H1().Text("Gatehouse"),
			app.P().Class("muted").Text("Sign in to administer users and sessions."),
			app.Label().For("username").Text("Username"),
			app.Input().ID("username").Name("username").Type("text").AutoComplete(true).Attr("autocomplete", "username").
				Value(l.username).OnInput(l.ValueTo(&l.username)).AutoFocus(true),
			app.Label().For("password").Text("Password"),
			app.Input().ID("password").Name("password").Type("password").Attr("autocomplete", "current-password").
				Value(l.password).OnInput(l.ValueTo(&l.password)),
			errorNote(l.err),
			submitButton("login-submit", "Sign in", "Signing in…", l.busy),
		),
	)
}
