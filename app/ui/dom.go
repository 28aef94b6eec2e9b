package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Small touches of the page that go-app's rendering does not make: where
// focus goes, and the value an input shows. Each does nothing outside the
// browser (prerendering, host tests).

// pageTitleID is the id of every page's heading, which takes focus when
// the page is navigated to.
const pageTitleID = "page-title"

// element returns the element with id, or a null value.
func element(id string) app.Value {
	return app.Window().Get("document").Call("getElementById", id)
}

// focusAfterRender moves focus to the element with id once the pending
// changes are on the page.
func focusAfterRender(ctx app.Context, id string) {
	if !app.IsClient {
		return
	}
	ctx.Defer(func(app.Context) {
		if e := element(id); e.Truthy() {
			e.Call("focus")
		}
	})
}

// focusFirstInvalid moves focus, once the page shows the form's field
// errors, to its first field marked aria-invalid.
func focusFirstInvalid(ctx app.Context, formID string) {
	if !app.IsClient {
		return
	}
	ctx.Defer(func(app.Context) {
		if e := app.Window().Get("document").Call("querySelector", "#"+formID+` [aria-invalid="true"]`); e.Truthy() {
			e.Call("focus")
		}
	})
}

// setInputValue puts v into the input with id as what it shows. go-app
// removes the value attribute rather than setting "" (and the attribute
// stops mattering once someone typed), so a field emptied by the program,
// or filled from the address bar, must be set this way.
func setInputValue(id, v string) {
	if !app.IsClient {
		return
	}
	if e := element(id); e.Truthy() && e.Get("value").String() != v {
		e.Set("value", v)
	}
}

// scrollToTop scrolls the page back to its top.
func scrollToTop() {
	if app.IsClient {
		app.Window().Call("scrollTo", 0, 0)
	}
}
