package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Plain widgets. The parts of a page that keep no life of their own — the
// sign-in's code step, the password form, the authenticator set-up, the
// recovery codes — are structs drawn by the component that holds them
// (owner), not go-app components: every component type brings the wasm
// its own copy of app.Compo's promoted methods, some 11 to 20 KB each, and
// app.wasm has a size budget (see the README's Delivery and memory). Their
// events run on the owner's context, so the owner is what re-renders.

// owner is the component a plain widget is drawn in: its live context
// (pageCtx.live) carries the widget's work.
type owner interface {
	live(app.Context) app.Context
}

// into stores an input's value in *v as it is typed: app.Compo's ValueTo,
// for widgets that are not components.
func into(v *string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		*v = ctx.JSSrc().Get("value").String()
	}
}
