package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// modal is embedded by the components whose root is a <dialog>: once
// mounted the dialog is shown modally (the page behind it inert, focus
// inside it on its autofocus control), Escape asks it to cancel, and when
// it goes focus returns to the element that had it before — or, when that
// element left the page meanwhile (the deleted user's row), to the page's
// heading.
type modal struct {
	id      string
	opener  app.Value
	release func()
}

// open shows the dialog with id modally; Escape calls onCancel.
func (m *modal) open(ctx app.Context, id string, onCancel func(app.Context)) {
	m.id = id
	if !app.IsClient {
		return
	}
	d := element(id)
	if !d.Truthy() {
		return
	}
	m.opener = app.Window().Get("document").Get("activeElement")
	cancel := app.FuncOf(func(this app.Value, args []app.Value) any {
		args[0].Call("preventDefault") // it closes when the component goes
		ctx.Dispatch(onCancel)
		return nil
	})
	d.Call("addEventListener", "cancel", cancel)
	m.release = func() {
		d.Call("removeEventListener", "cancel", cancel)
		cancel.Release()
	}
	if !d.Get("open").Bool() {
		d.Call("showModal")
	}
}

// close closes the dialog and gives focus back.
func (m *modal) close() {
	if m.release != nil {
		m.release()
		m.release = nil
	}
	if !app.IsClient {
		return
	}
	if d := element(m.id); d.Truthy() && d.Get("open").Bool() {
		d.Call("close")
	}
	if o := m.opener; o != nil && o.Truthy() && o.Get("isConnected").Bool() && o.Get("tagName").String() != "BODY" {
		o.Call("focus")
	} else if h := element(pageTitleID); h.Truthy() {
		h.Call("focus")
	}
	m.opener = nil
}
