package ui

import (
	"context"
	"errors"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// The forms of the users page. Each is a value field of Users (never
// replaced by a pointer to a new draft), because go-app keeps the input
// handlers made by ValueTo for as long as the inputs stay on the page.

// createDraft is the new-user form (#user-form).
type createDraft struct {
	open                                bool
	username, password, fullName, email string
	role                                shared.Role
	keepPassword                        bool // unticked "ask for a new password at the first sign-in"
	errs                                map[string]string
	err                                 string
	busy                                bool
}

// request checks the form with the shared rules, plus that the role is not
// above own, and returns what to send.
func (d *createDraft) request(own shared.Role) (shared.UserCreate, error) {
	in := shared.UserCreate{
		Username: strings.TrimSpace(d.username),
		Password: d.password,
		FullName: strings.TrimSpace(d.fullName),
		Email:    strings.TrimSpace(d.email),
		Role:     d.role,
		// Sent either way, so that the choice shows in the request.
		MustChangePassword: new(!d.keepPassword),
	}
	return in, withRoleLimit(in.Validate(), in.Role, own)
}

// editDraft is the form editing a user (#edit-form).
type editDraft struct {
	open                   bool
	id                     int64
	username               string
	fullName, email        string
	role                   shared.Role
	origFullName, origMail string
	origRole               shared.Role
	errs                   map[string]string
	err                    string
	busy                   bool
	// The sign-in panel beside the form (#user-security): the outcome of
	// its last action, and whether one is under way.
	secMsg, secErr string
	secBusy        string // what the sign-in panel is doing: "", secResetting or secLifting
}

// request returns the fields that changed, checked with the shared rules.
// The role is sent only by those who may change roles.
func (d *editDraft) request(canRoles bool, own shared.Role) (shared.UserUpdate, error) {
	var upd shared.UserUpdate
	if fn := strings.TrimSpace(d.fullName); fn != d.origFullName {
		upd.FullName = &fn
	}
	if em := strings.TrimSpace(d.email); em != d.origMail {
		upd.Email = &em
	}
	if canRoles && d.role != d.origRole {
		r := d.role
		upd.Role = &r
	}
	err := upd.Validate()
	if upd.Role != nil {
		err = withRoleLimit(err, *upd.Role, own)
	}
	return upd, err
}

// resetDraft is the password-reset form (#reset-form).
type resetDraft struct {
	open     bool
	id       int64
	username string
	password string
	errs     map[string]string
	err      string
	busy     bool
}

// withRoleLimit adds to err (a validation failure or nil) the rule that
// nobody gives a role above their own.
func withRoleLimit(err error, r, own shared.Role) error {
	f := shared.FieldErrors{}
	var ve *shared.ValidationError
	if errors.As(err, &ve) {
		for k, v := range ve.Fields {
			f[k] = v
		}
	} else if err != nil {
		return err
	}
	if r.Valid() && r.Rank() > own.Rank() {
		f.Add("role", "must not be above your own role ("+string(own)+")")
	}
	return f.Err()
}

// rolesUpTo lists the roles up to and including own.
func rolesUpTo(own shared.Role) []shared.Role {
	return shared.Roles[:max(own.Rank(), 1)]
}

func (u *Users) openCreate(ctx app.Context, e app.Event) {
	u.closePanels()
	u.create = createDraft{open: true, role: shared.RoleViewer}
	focusAfterRender(u.live(ctx), "new-username")
}

func (u *Users) openEdit(ctx app.Context, id int64) {
	t := u.user(id)
	if t == nil {
		return
	}
	u.closePanels()
	u.edit = editDraft{
		open: true, id: t.ID, username: t.Username,
		fullName: t.FullName, email: t.Email, role: t.Role,
		origFullName: t.FullName, origMail: t.Email, origRole: t.Role,
	}
	focusAfterRender(u.live(ctx), "edit-fullname")
}

func (u *Users) openReset(ctx app.Context, id int64) {
	t := u.user(id)
	if t == nil {
		return
	}
	u.closePanels()
	u.reset = resetDraft{open: true, id: t.ID, username: t.Username}
	focusAfterRender(u.live(ctx), "reset-password-input")
}

func (u *Users) cancelForms(ctx app.Context, e app.Event) {
	u.closePanels()
	focusAfterRender(u.live(ctx), pageTitleID)
}

func (u *Users) submitCreate(ctx app.Context, e app.Event) {
	e.PreventDefault()
	d := &u.create
	if d.busy {
		return
	}
	in, err := d.request(u.own())
	if d.err, d.errs = formError(err); err != nil {
		focusFirstInvalid(u.live(ctx), "user-form")
		return
	}
	d.busy = true
	ctx, env := u.live(ctx), u.Env
	write(ctx, env, func(c context.Context) error {
		if in.Role != "" && in.Role != shared.RoleViewer { // granting more than viewing needs a recent sign-in
			c = forStepUp(c, "create "+in.Username+" as "+string(in.Role))
		}
		_, err := env.API.CreateUser(c, in)
		return err
	}, func(ctx app.Context, err error) {
		d.busy = false
		if d.err, d.errs = formError(err); err != nil {
			focusFirstInvalid(u.live(ctx), "user-form")
			return
		}
		u.create = createDraft{}
		u.changed(ctx, "The user "+in.Username+" was created.")
	})
}

func (u *Users) submitEdit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	d := &u.edit
	if d.busy {
		return
	}
	upd, err := d.request(u.Env.Can(shared.PermRolesWrite), u.own())
	if d.err, d.errs = formError(err); err != nil {
		focusFirstInvalid(u.live(ctx), "edit-form")
		return
	}
	name := d.username
	if upd.Empty() {
		u.edit = editDraft{}
		u.msg = "Nothing to save: " + name + " is unchanged."
		return
	}
	d.busy = true
	ctx, env, id := u.live(ctx), u.Env, d.id
	write(ctx, env, func(c context.Context) error {
		if upd.Role != nil {
			c = forStepUp(c, "change the role of "+name)
		}
		_, err := env.API.UpdateUser(c, id, upd)
		return err
	}, func(ctx app.Context, err error) {
		d.busy = false
		if d.err, d.errs = formError(err); err != nil {
			focusFirstInvalid(u.live(ctx), "edit-form")
			refocusAfterDecline(u.live(ctx), err, "edit-submit")
			return
		}
		u.edit = editDraft{}
		u.changed(ctx, "The changes to "+name+" were saved.")
	})
}

func (u *Users) submitReset(ctx app.Context, e app.Event) {
	e.PreventDefault()
	d := &u.reset
	if d.busy {
		return
	}
	in := shared.PasswordReset{NewPassword: d.password}
	err := in.Validate()
	if d.err, d.errs = formError(err); err != nil {
		focusFirstInvalid(u.live(ctx), "reset-form")
		return
	}
	d.busy = true
	ctx, env, id, name := u.live(ctx), u.Env, d.id, d.username
	write(ctx, env, func(c context.Context) error {
		return env.API.ResetPassword(forStepUp(c, "reset the password of "+name), id, in)
	}, func(ctx app.Context, err error) {
		d.busy = false
		if d.err, d.errs = formError(err); err != nil {
			focusFirstInvalid(u.live(ctx), "reset-form")
			refocusAfterDecline(u.live(ctx), err, "reset-submit")
			return
		}
		u.reset = resetDraft{}
		u.changed(ctx, "The password of "+name+" was reset and they were signed out everywhere.")
	})
}

func (u *Users) createForm() app.UI {
	d := &u.create
	return app.Form().Class("card form").ID("user-form").NoValidate(true).OnSubmit(u.submitCreate).Body(
		app.H2().Text("New user"),
		errorNote(d.err),
		formRow("Username", "new-username", invalid(app.Input().Type("text").ID("new-username").Attr("autocomplete", "off").
			Value(d.username).OnInput(u.ValueTo(&d.username)).AutoFocus(true), "new-username", d.errs["username"]), d.errs["username"]),
		formRow("Password", "new-password", invalid(app.Input().Type("password").ID("new-password").Attr("autocomplete", "new-password").
			Value(d.password).OnInput(u.ValueTo(&d.password)), "new-password", d.errs["password"]), d.errs["password"]),
		formRow("Full name", "new-fullname", invalid(app.Input().Type("text").ID("new-fullname").
			Value(d.fullName).OnInput(u.ValueTo(&d.fullName)), "new-fullname", d.errs["full_name"]), d.errs["full_name"]),
		formRow("E-mail", "new-email", invalid(app.Input().Type("email").ID("new-email").
			Value(d.email).OnInput(u.ValueTo(&d.email)), "new-email", d.errs["email"]), d.errs["email"]),
		formRow("Role", "new-role", invalid(roleSelect("new-role", rolesUpTo(u.own()), d.role, u.ValueTo(&d.role)), "new-role", d.errs["role"]), d.errs["role"]),
		app.Label().Class("checkbox").For("new-must-change").Body(
			app.Input().Type("checkbox").ID("new-must-change").Checked(!d.keepPassword).
				OnChange(func(ctx app.Context, e app.Event) { d.keepPassword = !ctx.JSSrc().Get("checked").Bool() }),
			app.Text(" Ask for a new password at the first sign-in"),
		),
		app.Div().Class("actions").Body(
			submitButton("user-form-submit", "Create user", "Creating…", d.busy),
			button("user-form-cancel", "btn", "Cancel", false, u.cancelForms),
		),
	)
}

func (u *Users) editForm() app.UI {
	d := &u.edit
	return app.Form().Class("card form").ID("edit-form").NoValidate(true).OnSubmit(u.submitEdit).Body(
		app.H2().Textf("Edit %s", d.username),
		errorNote(d.err),
		formRow("Full name", "edit-fullname", invalid(app.Input().Type("text").ID("edit-fullname").
			Value(d.fullName).OnInput(u.ValueTo(&d.fullName)).AutoFocus(true), "edit-fullname", d.errs["full_name"]), d.errs["full_name"]),
		formRow("E-mail", "edit-email", invalid(app.Input().Type("email").ID("edit-email").
			Value(d.email).OnInput(u.ValueTo(&d.email)), "edit-email", d.errs["email"]), d.errs["email"]),
		app.If(u.Env.Can(shared.PermRolesWrite), func() app.UI {
			return formRow("Role", "edit-role", invalid(roleSelect("edit-role", rolesUpTo(u.own()), d.role, u.ValueTo(&d.role)), "edit-role", d.errs["role"]), d.errs["role"])
		}),
		app.Div().Class("actions").Body(
			submitButton("edit-submit", "Save", "Saving…", d.busy),
			button("edit-cancel", "btn", "Cancel", false, u.cancelForms),
		),
	)
}

func (u *Users) resetForm() app.UI {
	d := &u.reset
	return app.Form().Class("card form").ID("reset-form").NoValidate(true).OnSubmit(u.submitReset).Body(
		app.H2().Textf("Reset the password of %s", d.username),
		app.P().Class("muted").Text("They will be signed out everywhere and must sign in with the new password."),
		errorNote(d.err),
		formRow("New password", "reset-password-input", invalid(app.Input().Type("password").ID("reset-password-input").
			Attr("autocomplete", "new-password").Value(d.password).OnInput(u.ValueTo(&d.password)).AutoFocus(true),
			"reset-password-input", d.errs["new_password"]), d.errs["new_password"]),
		app.Div().Class("actions").Body(
			submitButton("reset-submit", "Reset password", "Resetting…", d.busy),
			button("reset-cancel", "btn", "Cancel", false, u.cancelForms),
		),
	)
}

// roleSelect is a select of roles with selected chosen.
func roleSelect(id string, roles []shared.Role, selected shared.Role, onChange app.EventHandler) app.HTMLSelect {
	return app.Select().ID(id).OnChange(onChange).Body(
		app.Range(roles).Slice(func(i int) app.UI {
			o := app.Option().Value(string(roles[i])).Text(roles[i])
			if roles[i] == selected {
				o = o.Selected(true)
			}
			return o
		}),
	)
}
