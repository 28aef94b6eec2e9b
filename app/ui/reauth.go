package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// ReauthAnswer is what the person typed into the Reauth dialog.
type ReauthAnswer struct {
	Password string
	// Code is the one-time code, asked only with Reauth.AskCode.
	Code string
}

// Reauth asks the signed-in person to prove again who they are, in a modal
// dialog over the page (#reauth), without leaving it: what they typed on
// the page stays where it is, in memory. It knows nothing of why it asks
// or what checks the answer: Verify does (signing in again when a session
// ended; POST /api/reauth for a step-up), and AskCode adds a one-time code
// field (#reauth-code) for a second factor. The password and code live in
// the component only, and are dropped once checked.
type Reauth struct {
	app.Compo

	Username string // whose password is asked
	Why      string // what happened, in a sentence
	AskCode  bool
	// Verify checks the answer, off the UI goroutine; its error is shown
	// (a 401 invalid_grant as a wrong password, a validation failure
	// beside the fields).
	Verify func(context.Context, ReauthAnswer) error
	// OnDone is called once Verify succeeded, OnCancel when the person
	// gives up (the cancel button, Escape).
	OnDone, OnCancel func(app.Context)

	password, code string
	errs           map[string]string
	err            string
	busy           bool
	modal
	pageCtx
}

// OnMount shows the dialog.
func (r *Reauth) OnMount(ctx app.Context) {
	r.mounted(ctx)
	r.open(ctx, "reauth", r.cancel)
}

// OnDismount closes it and gives focus back.
func (r *Reauth) OnDismount() { r.close() }

func (r *Reauth) cancel(ctx app.Context) {
	if r.busy {
		return
	}
	r.password, r.code = "", ""
	if r.OnCancel != nil {
		r.OnCancel(ctx)
	}
}

func (r *Reauth) cancelClick(ctx app.Context, e app.Event) { r.cancel(ctx) }

func (r *Reauth) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if r.busy {
		return
	}
	f := shared.FieldErrors{}
	if r.password == "" {
		f.Add("password", "is required")
	}
	if r.AskCode && r.code == "" {
		f.Add("otp", "is required")
	}
	if r.err, r.errs = formError(f.Err()); r.errs != nil {
		focusFirstInvalid(ctx, "reauth-form")
		return
	}
	r.busy = true
	ctx = r.live(ctx)
	answer := ReauthAnswer{Password: r.password, Code: r.code}
	ctx.Async(func() {
		err := r.Verify(context.Background(), answer)
		ctx.Dispatch(func(ctx app.Context) {
			r.busy = false
			r.password, r.code = "", ""
			setInputValue("reauth-password", "")
			setInputValue("reauth-code", "")
			if err != nil {
				r.err, r.errs = reauthError(err)
				focusAfterRender(ctx, "reauth-password")
				return
			}
			r.err, r.errs = "", nil
			if r.OnDone != nil {
				r.OnDone(ctx)
			}
		})
	})
}

// reauthError puts a failed check into words: a wrong password is the
// password's fault, not a username's.
func reauthError(err error) (string, map[string]string) {
	var e *shared.Error
	if errors.As(err, &e) && e.Code == shared.CodeInvalidGrant && e.Status == http.StatusUnauthorized {
		return "", map[string]string{"password": "is not the right password"}
	}
	return formError(err)
}

// Render draws the dialog.
func (r *Reauth) Render() app.UI {
	return app.Dialog().Class("dialog reauth").ID("reauth").Aria("labelledby", "reauth-title").Aria("describedby", "reauth-why").Body(
		app.Form().ID("reauth-form").NoValidate(true).OnSubmit(r.submit).Body(
			app.H2().ID("reauth-title").Text("Sign in again to continue"),
			app.P().ID("reauth-why").Text(r.Why),
			app.P().Class("muted").Textf("Signed in as %s. What you typed on the page is kept, and is sent once you are back.", r.Username),
			// For password managers: whose password this is.
			app.Input().Type("text").Class("visually-hidden").Name("username").Attr("autocomplete", "username").
				Value(r.Username).ReadOnly(true).TabIndex(-1).Aria("hidden", "true"),
			errorNote(r.err),
			formRow("Password", "reauth-password", invalid(app.Input().Type("password").ID("reauth-password").
				Attr("autocomplete", "current-password").Value(r.password).OnInput(r.ValueTo(&r.password)).AutoFocus(true),
				"reauth-password", r.errs["password"]), r.errs["password"]),
			app.If(r.AskCode, func() app.UI {
				return formRow("One-time code", "reauth-code", invalid(app.Input().Type("text").ID("reauth-code").
					Attr("autocomplete", "one-time-code").Attr("inputmode", "numeric").Value(r.code).OnInput(r.ValueTo(&r.code)),
					"reauth-code", r.errs["otp"]), r.errs["otp"])
			}),
			app.Div().Class("actions").Body(
				submitButton("reauth-submit", "Continue", "Checking…", r.busy),
				button("reauth-cancel", "btn", "Sign out instead", r.busy, r.cancelClick),
			),
		),
	)
}
