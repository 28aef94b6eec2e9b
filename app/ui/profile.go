package ui

import (
	"context"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// Profile lets the signed-in user change their full name and e-mail, set
// up or turn off two-step verification (twoStep), and change their
// password (passwordForm, which signs out their other sessions).
type Profile struct {
	app.Compo
	Env *Env

	at              time.Time
	filled          bool // the form holds the loaded profile
	fullName, email string
	errs            map[string]string
	err, msg        string
	busy            bool
	mfa             twoStep
	pw              passwordForm
	pageCtx
}

// profileRequest returns the profile change, checked with the shared rules.
func profileRequest(fullName, email string) (shared.ProfileUpdate, error) {
	fn, em := strings.TrimSpace(fullName), strings.TrimSpace(email)
	in := shared.ProfileUpdate{FullName: &fn, Email: &em}
	return in, in.Validate()
}

// OnNav gives the page its title and focus.
func (p *Profile) OnNav(ctx app.Context) { p.navigated(ctx, "Profile") }

// OnMount loads the profile into the form.
func (p *Profile) OnMount(ctx app.Context) {
	p.mounted(ctx)
	p.reload(ctx)
}

// reload loads the profile; what was typed into the form stays.
func (p *Profile) reload(ctx app.Context) {
	ctx, env := p.live(ctx), p.Env
	load(ctx, env, "me", env.API.Me, func(ctx app.Context, me *shared.User, at time.Time, err error) {
		if err != nil {
			p.err = Message(err)
			return
		}
		p.at = at
		if at.IsZero() || env.Me() == nil {
			env.SetMe(me)
		}
		p.fill(me)
	})
}

// fill puts u into the form unless the user already started typing.
func (p *Profile) fill(u *shared.User) {
	if p.filled {
		return
	}
	p.filled, p.fullName, p.email = true, u.FullName, u.Email
}

func (p *Profile) save(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.busy {
		return
	}
	p.msg = ""
	in, err := profileRequest(p.fullName, p.email)
	if p.err, p.errs = formError(err); err != nil {
		focusFirstInvalid(p.live(ctx), "profile-form")
		return
	}
	p.busy = true
	ctx, env := p.live(ctx), p.Env
	var saved *shared.User
	write(ctx, env, func(c context.Context) (err error) {
		saved, err = env.API.UpdateMe(c, in)
		return err
	}, func(ctx app.Context, err error) {
		p.busy = false
		if p.err, p.errs = formError(err); err != nil {
			focusFirstInvalid(ctx, "profile-form")
			return
		}
		env.SetMe(saved)
		env.Cache.Put("me", saved)
		p.fullName, p.email, p.at = saved.FullName, saved.Email, time.Time{}
		p.msg = "Your profile was saved."
	})
}

// Render draws the page.
func (p *Profile) Render() app.UI {
	username, mfa := "", false
	if me := p.Env.Me(); me != nil {
		username, mfa = me.Username, me.MFA
	}
	return &Frame{Env: p.Env, Path: "/profile", Reload: p.reload, Content: []app.UI{
		pageTitle("Profile"),
		staleNote(p.at),
		app.Form().Class("card form").ID("profile-form").NoValidate(true).OnSubmit(p.save).Body(
			app.H2().Text("Your details"),
			app.If(username != "", func() app.UI {
				return app.P().Class("muted").Textf("Signed in as %s.", username)
			}),
			errorNote(p.err),
			formRow("Full name", "profile-fullname", invalid(app.Input().Type("text").ID("profile-fullname").Attr("autocomplete", "name").
				Value(p.fullName).OnInput(p.typed(&p.fullName)), "profile-fullname", p.errs["full_name"]), p.errs["full_name"]),
			formRow("E-mail", "profile-email", invalid(app.Input().Type("email").ID("profile-email").Attr("autocomplete", "email").
				Value(p.email).OnInput(p.typed(&p.email)), "profile-email", p.errs["email"]), p.errs["email"]),
			app.Div().Class("actions").Body(submitButton("profile-save", "Save", "Saving…", p.busy)),
			successNote("profile-message", p.msg),
		),
		p.mfa.ui(p, p.Env),
		p.pw.ui(p, p.Env, "Change password", mfa, nil),
	}}
}

// typed stores an input's value in v and marks the form as the user's, so
// that a late load does not overwrite it.
func (p *Profile) typed(v *string) app.EventHandler {
	store := p.ValueTo(v)
	return func(ctx app.Context, e app.Event) {
		p.filled = true
		store(ctx, e)
	}
}
