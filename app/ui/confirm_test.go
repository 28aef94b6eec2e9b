package ui

import (
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// asker is a minimal page asking before acting.
type asker struct {
	app.Compo
	confirmer
	ran int
}

func (a *asker) Render() app.UI { return app.Div().Body(a.confirmUI()) }

func TestConfirmRunsTheActionOnlyOnYes(t *testing.T) {
	r := newRig(t)
	a := &asker{}
	if n := render(t, a).count(t, "#confirm"); n != 0 {
		t.Fatalf("#confirm shown before anything was asked")
	}

	a.confirm("Delete the user bob? This cannot be undone.", "Delete", func(app.Context) { a.ran++ })
	dom := render(t, a)
	if got := dom.one(t, "#confirm #confirm-message").Text(); got != "Delete the user bob? This cannot be undone." {
		t.Errorf("question = %q", got)
	}
	if got := dom.one(t, "#confirm-yes").Text(); got != "Delete" {
		t.Errorf("#confirm-yes says %q, want Delete", got)
	}
	if a.ran != 0 {
		t.Fatal("the action ran before the answer")
	}

	c := &Confirm{Message: a.ask.message, OnYes: a.confirmed, OnNo: a.dropConfirm}
	c.no(r.ctx, ev)
	if a.ran != 0 || a.ask != nil {
		t.Errorf("after no: ran %d times, still asking %v; want 0 and nothing asked", a.ran, a.ask != nil)
	}

	a.confirm("Disable bob?", "", func(app.Context) { a.ran++ })
	if got := render(t, a).one(t, "#confirm-yes").Text(); got != "Confirm" {
		t.Errorf("#confirm-yes says %q without a label, want Confirm", got)
	}
	c.yes(r.ctx, ev)
	if a.ran != 1 || a.ask != nil {
		t.Errorf("after yes: ran %d times, still asking %v; want 1 and nothing asked", a.ran, a.ask != nil)
	}
	c.yes(r.ctx, ev) // a second click on a stale button does nothing
	if a.ran != 1 {
		t.Errorf("a second yes ran the action again")
	}
}
