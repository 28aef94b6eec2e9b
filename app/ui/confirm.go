package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Confirm asks before something that cannot be undone, in a modal dialog
// (#confirm): #confirm-message holds the question, #confirm-yes goes ahead
// and #confirm-no (focused first, so that Enter does no harm) drops it, as
// Escape does. Focus returns to the control that asked.
type Confirm struct {
	app.Compo

	Message string
	// Yes labels the button that goes ahead ("Confirm" when empty).
	Yes   string
	OnYes func(app.Context)
	OnNo  func(app.Context)

	modal
}

// OnMount shows the dialog.
func (c *Confirm) OnMount(ctx app.Context) { c.open(ctx, "confirm", c.cancel) }

// OnDismount closes it and gives focus back.
func (c *Confirm) OnDismount() { c.close() }

func (c *Confirm) cancel(ctx app.Context) {
	if c.OnNo != nil {
		c.OnNo(ctx)
	}
}

func (c *Confirm) yes(ctx app.Context, e app.Event) {
	if c.OnYes != nil {
		c.OnYes(ctx)
	}
}

func (c *Confirm) no(ctx app.Context, e app.Event) { c.cancel(ctx) }

// Render draws the question and its two answers.
func (c *Confirm) Render() app.UI {
	yes := c.Yes
	if yes == "" {
		yes = "Confirm"
	}
	return app.Dialog().Class("dialog confirm").ID("confirm").Attr("role", "alertdialog").
		Aria("labelledby", "confirm-message").Body(
		app.P().ID("confirm-message").Text(c.Message),
		app.Div().Class("actions").Body(
			button("confirm-yes", "btn danger", yes, false, c.yes),
			button("confirm-no", "btn", "Cancel", false, c.no).AutoFocus(true),
		),
	)
}

// confirmation is a question a page is asking, and what to do on yes.
type confirmation struct {
	message, yes string
	run          func(ctx app.Context)
}

// confirmer is embedded by pages that ask before destructive actions.
type confirmer struct {
	ask *confirmation
}

// confirm asks message; run is called on the UI goroutine if the answer is
// yes.
func (c *confirmer) confirm(message, yes string, run func(ctx app.Context)) {
	c.ask = &confirmation{message: message, yes: yes, run: run}
}

func (c *confirmer) confirmed(ctx app.Context) {
	a := c.ask
	c.ask = nil
	if a != nil {
		a.run(ctx)
	}
}

func (c *confirmer) dropConfirm(ctx app.Context) { c.ask = nil }

// confirmUI renders the pending question, if any.
func (c *confirmer) confirmUI() app.UI {
	return app.If(c.ask != nil, func() app.UI {
		return &Confirm{Message: c.ask.message, Yes: c.ask.yes, OnYes: c.confirmed, OnNo: c.dropConfirm}
	})
}
