package ui

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/app/client"
	"gatehouse/shared"
)

// ReauthAnswer is what the person typed into the Reauth dialog.
type ReauthAnswer struct {
	Password string
	// Code is the one-time code, asked only with Reauth.AskCode — or, with
	// Recovery, one of the recovery codes (the app is out of reach).
	Code     string
	Recovery bool
}

// maxRecoveryCode is the longest recovery code the API takes (they are
// 19 characters, dashes included).
const maxRecoveryCode = 40

// factor returns the code as the API takes it: a TOTP code without the
// spaces and dashes people type, or a recovery code trimmed. A malformed
// TOTP code is a validation error on otp, found before any request.
func (a ReauthAnswer) factor() (client.Code, error) {
	if a.Recovery {
		rc := strings.TrimSpace(a.Code)
		if len(rc) > maxRecoveryCode {
			return client.Code{}, &shared.ValidationError{Fields: shared.FieldErrors{"otp": "is not one of your recovery codes: they are shorter"}}
		}
		return client.Code{Recovery: rc}, nil
	}
	otp, ok := sixDigits(a.Code)
	if !ok {
		return client.Code{}, &shared.ValidationError{Fields: shared.FieldErrors{"otp": "enter the 6 digits your authenticator app shows"}}
	}
	return client.Code{OTP: otp}, nil
}

// ErrCodeNeeded is returned by a Reauth's Verify when the password was
// right but a one-time code is needed too (the account has a second
// factor the page did not know of): the dialog then shows the code field
// and asks for both again.
var ErrCodeNeeded = errors.New("ui: a one-time code is needed as well")

// Reauth asks the signed-in person to prove again who they are, in a modal
// dialog over the page (#reauth), without leaving it: what they typed on
// the page stays where it is, in memory. It knows nothing of why it asks
// or what checks the answer: Verify does (signing in again when a session
// ended, signInAgain; POST /api/reauth for a step-up, StepUp), and AskCode
// adds a one-time code field (#reauth-code) for a second factor, which a
// link (#reauth-recovery) turns into a recovery code field for one whose
// phone is out of reach. The password and code live in the component
// only, and are dropped once checked, right or wrong.
type Reauth struct {
	app.Compo

	Username string // whose password is asked
	Why      string // what happened, in a sentence
	AskCode  bool
	// Title, Note and Cancel word the dialog; empty, they are those of a
	// session that ended ("Sign in again to continue", "Sign out
	// instead").
	Title, Note, Cancel string
	// Verify checks the answer, off the UI goroutine; its error is shown
	// (a 401 invalid_grant as a wrong password or code, a validation
	// failure beside the fields, ErrCodeNeeded as the code field).
	Verify func(context.Context, ReauthAnswer) error
	// OnDone is called once Verify succeeded, OnCancel when the person
	// gives up (the cancel button, Escape).
	OnDone, OnCancel func(app.Context)

	password, code string
	recovery       bool // the code field takes a recovery code
	needCode       bool // Verify said a code is needed although AskCode is not set
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
	if r.asksCode() && strings.TrimSpace(r.code) == "" {
		f.Add("otp", "is required")
	}
	if r.err, r.errs = formError(f.Err()); r.errs != nil {
		focusFirstInvalid(ctx, "reauth-form")
		return
	}
	r.busy = true
	ctx = r.live(ctx)
	answer := ReauthAnswer{Password: r.password, Code: r.code, Recovery: r.asksCode() && r.recovery}
	ctx.Async(func() {
		err := r.Verify(context.Background(), answer)
		ctx.Dispatch(func(ctx app.Context) {
			r.busy = false
			r.password, r.code = "", ""
			setInputValue("reauth-password", "")
			setInputValue("reauth-code", "")
			if errors.Is(err, ErrCodeNeeded) {
				r.needCode = true
				r.err, r.errs = "Your account has two-step verification: enter your password again and the code from your authenticator app.", nil
				focusAfterRender(ctx, "reauth-password")
				return
			}
			if err != nil {
				r.err, r.errs = reauthError(err, answer)
				focusAfterRender(ctx, "reauth-password") // both are asked again
				return
			}
			r.err, r.errs = "", nil
			if r.OnDone != nil {
				r.OnDone(ctx)
			}
		})
	})
}

// asksCode reports whether the dialog shows the code field.
func (r *Reauth) asksCode() bool { return r.AskCode || r.needCode }

// toggleRecovery switches the code field between the app's code and a
// recovery code, keeping the password typed.
func (r *Reauth) toggleRecovery(ctx app.Context, e app.Event) {
	if r.busy {
		return
	}
	r.recovery, r.code = !r.recovery, ""
	setInputValue("reauth-code", "")
	delete(r.errs, "otp")
	focusAfterRender(ctx, "reauth-code")
}

// reauthError puts a failed check of the answer a into words: a wrong
// password is the password's fault, not a username's; when a code was sent
// and the server says the code is wrong, the code's (shown on the code
// field, "otp", whichever kind it took). The API answers both 401
// invalid_grant; its fields name the input that was wrong.
func reauthError(err error, a ReauthAnswer) (string, map[string]string) {
	switch {
	case a.Code != "" && a.Recovery && wrongCode(err):
		return "", map[string]string{"otp": "is not one of your recovery codes, or was used already"}
	case a.Code != "" && wrongCode(err):
		return "", map[string]string{"otp": "is not the right code, or was used already: wait for the next one"}
	}
	if errs := FieldErrors(err); errs["recovery_code"] != "" {
		return "", map[string]string{"otp": errs["recovery_code"]}
	}
	var e *shared.Error
	if errors.As(err, &e) && e.Code == shared.CodeInvalidGrant && e.Status == http.StatusUnauthorized {
		return "", map[string]string{"password": "is not the right password"}
	}
	return formError(err)
}

// wrongCode reports whether err is the API's refusal of a one-time or
// recovery code: a 401 invalid_grant whose fields name the code rather
// than the password.
func wrongCode(err error) bool {
	var e *shared.Error
	return errors.As(err, &e) && e.Code == shared.CodeInvalidGrant && e.Status == http.StatusUnauthorized &&
		(e.Fields["otp"] != "" || e.Fields["recovery_code"] != "")
}

// signInAgain is the Verify of the dialog shown when a session ended: it
// signs username in again with the password and, for an account with a
// second factor (the API answers mfa_required), the code (spaces and
// dashes dropped) or a recovery code — or, when no code was asked, says
// that one is needed (ErrCodeNeeded).
func signInAgain(api *client.Client, username string) func(context.Context, ReauthAnswer) error {
	return func(ctx context.Context, a ReauthAnswer) error {
		_, err := api.Login(ctx, username, a.Password)
		var mfa *client.MFARequiredError
		if !errors.As(err, &mfa) {
			return err
		}
		if a.Code == "" {
			return ErrCodeNeeded
		}
		code, err := a.factor()
		if err != nil {
			return err
		}
		_, err = api.LoginMFA(ctx, mfa.Token, code)
		return err
	}
}

// codeRow draws the code field — the app's code or, switched, a recovery
// code — and the link that switches.
func (r *Reauth) codeRow() app.UI {
	label, complete, keys := "One-time code", "one-time-code", "numeric"
	other, otherID := "Use a recovery code instead", "reauth-recovery"
	if r.recovery {
		label, complete, keys = "Recovery code (each works once)", "off", "text"
		other, otherID = "Use the code from your app instead", "reauth-use-app"
	}
	return app.Div().Body(
		formRow(label, "reauth-code", invalid(app.Input().Type("text").ID("reauth-code").
			Attr("autocomplete", complete).Attr("inputmode", keys).Attr("autocapitalize", "none").Attr("spellcheck", "false").
			Value(r.code).OnInput(r.ValueTo(&r.code)),
			"reauth-code", r.errs["otp"]), r.errs["otp"]),
		button(otherID, "btn link", other, r.busy, r.toggleRecovery),
	)
}

// Render draws the dialog.
func (r *Reauth) Render() app.UI {
	title := cmpOr(r.Title, "Sign in again to continue")
	note := cmpOr(r.Note, "What you typed on the page is kept, and is sent once you are back.")
	return app.Dialog().Class("dialog reauth").ID("reauth").Aria("labelledby", "reauth-title").Aria("describedby", "reauth-why").Body(
		app.Form().ID("reauth-form").NoValidate(true).OnSubmit(r.submit).Body(
			app.H2().ID("reauth-title").Text(title),
			app.P().ID("reauth-why").Text(r.Why),
			app.P().Class("muted").Textf("Signed in as %s. %s", r.Username, note),
			// For password managers: whose password this is.
			app.Input().Type("text").Class("visually-hidden").Name("username").Attr("autocomplete", "username").
				Value(r.Username).ReadOnly(true).TabIndex(-1).Aria("hidden", "true"),
			errorNote(r.err),
			formRow("Password", "reauth-password", invalid(app.Input().Type("password").ID("reauth-password").
				Attr("autocomplete", "current-password").Value(r.password).OnInput(r.ValueTo(&r.password)).AutoFocus(true),
				"reauth-password", r.errs["password"]), r.errs["password"]),
			app.If(r.asksCode(), r.codeRow),
			app.Div().Class("actions").Body(
				submitButton("reauth-submit", "Continue", "Checking…", r.busy),
				button("reauth-cancel", "btn", cmpOr(r.Cancel, "Sign out instead"), r.busy, r.cancelClick),
			),
		),
	)
}
