package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// Pager moves through the pages of a list answered in the page envelope:
// buttons #page-prev and #page-next, disabled at either end, and
// #page-info saying where the reader is. A page shows at most one Pager.
type Pager struct {
	app.Compo

	Page, PerPage, Total int
	// OnPage is called with the page to show when a button is pressed.
	OnPage func(ctx app.Context, page int)
}

// pageBounds returns the page to show, clamped to the list, and how many
// pages there are (at least one).
func pageBounds(page, perPage, total int) (cur, pages int) {
	pages = shared.Page[struct{}]{Total: total, PerPage: perPage}.Pages()
	return min(max(page, 1), pages), pages
}

// pastEnd reports whether a page that came back empty lies beyond the last
// page (its last row was just removed), and which page to show instead.
func pastEnd(page, perPage, total, rows int) (last int, past bool) {
	_, pages := pageBounds(page, perPage, total)
	return pages, rows == 0 && page > pages
}

func (p *Pager) move(ctx app.Context, by int) {
	cur, pages := pageBounds(p.Page, p.PerPage, p.Total)
	if next := cur + by; next >= 1 && next <= pages && p.OnPage != nil {
		p.OnPage(ctx, next)
	}
}

func (p *Pager) prev(ctx app.Context, e app.Event) { p.move(ctx, -1) }
func (p *Pager) next(ctx app.Context, e app.Event) { p.move(ctx, +1) }

// Render draws the buttons and the position.
func (p *Pager) Render() app.UI {
	cur, pages := pageBounds(p.Page, p.PerPage, p.Total)
	return app.Nav().Class("pager").Aria("label", "Pages").Body(
		button("page-prev", "btn small", "‹ Previous", cur <= 1, p.prev),
		app.Span().Class("page-info").ID("page-info").Textf("Page %d of %d", cur, pages),
		button("page-next", "btn small", "Next ›", cur >= pages, p.next),
	)
}
