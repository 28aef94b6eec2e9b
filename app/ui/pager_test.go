package ui

import (
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

func TestPageBounds(t *testing.T) {
	tests := []struct {
		name                 string
		page, perPage, total int
		wantCur, wantPages   int
	}{
		{"an empty list has one page", 1, 20, 0, 1, 1},
		{"a full first page is the only page", 1, 20, 20, 1, 1},
		{"one more item makes a second page", 2, 20, 21, 2, 2},
		{"a page past the end shows the last page", 5, 20, 41, 3, 3},
		{"page zero shows the first page", 0, 20, 50, 1, 3},
		{"no page size means one page", 2, 0, 50, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, pages := pageBounds(tt.page, tt.perPage, tt.total)
			if cur != tt.wantCur || pages != tt.wantPages {
				t.Errorf("pageBounds(%d, %d, %d) = %d, %d; want %d, %d", tt.page, tt.perPage, tt.total, cur, pages, tt.wantCur, tt.wantPages)
			}
		})
	}
}

func TestPagerDisablesButtonsAtTheEnds(t *testing.T) {
	tests := []struct {
		name             string
		page, total      int
		info             string
		prevOff, nextOff bool
	}{
		{"the first of three pages can only go forward", 1, 50, "Page 1 of 3", true, false},
		{"a middle page can go both ways", 2, 50, "Page 2 of 3", false, false},
		{"the last page can only go back", 3, 50, "Page 3 of 3", false, true},
		{"a single page goes nowhere", 1, 5, "Page 1 of 1", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pager{Page: tt.page, PerPage: 20, Total: tt.total}
			eng := app.NewTestEngine()
			if err := eng.Load(p); err != nil {
				t.Fatal(err)
			}
			// The mounted tree: nav > [button#page-prev, span#page-info, button#page-next].
			if err := app.Match(app.Text(tt.info), p, 0, 1, 0); err != nil {
				t.Errorf("#page-info: %v", err)
			}
			prev := app.Button().Type("button").Class("btn small").ID("page-prev").Text("‹ Previous")
			if tt.prevOff {
				prev = prev.Disabled(true)
			}
			if err := app.TestMatch(p, app.TestUIDescriptor{Path: app.TestPath(0, 0), Expected: prev.OnClick(p.prev)}); err != nil {
				t.Errorf("#page-prev: %v", err)
			}
			dom := render(t, p)
			if got := dom.one(t, "#page-next").disabled(); got != tt.nextOff {
				t.Errorf("#page-next disabled = %v, want %v", got, tt.nextOff)
			}
		})
	}
}

func TestPagerAsksForTheNeighbouringPageOnly(t *testing.T) {
	r := newRig(t)
	var asked []int
	p := &Pager{Page: 2, PerPage: 20, Total: 50, OnPage: func(ctx app.Context, n int) { asked = append(asked, n) }}
	p.next(r.ctx, ev)
	p.prev(r.ctx, ev)
	p.Page = 3
	p.next(r.ctx, ev) // already on the last page
	p.Page = 1
	p.prev(r.ctx, ev) // already on the first page
	if len(asked) != 2 || asked[0] != 3 || asked[1] != 1 {
		t.Errorf("pages asked for = %v, want [3 1]", asked)
	}
}

func TestPastEndPointsAtTheLastPage(t *testing.T) {
	tests := []struct {
		page, perPage, total, rows, last int
		past                             bool
	}{
		{page: 3, perPage: 20, total: 40, rows: 0, last: 2, past: true},
		{page: 2, perPage: 20, total: 40, rows: 20, last: 2, past: false},
		{page: 1, perPage: 20, total: 0, rows: 0, last: 1, past: false},
		{page: 5, perPage: 10, total: 0, rows: 0, last: 1, past: true},
	}
	for _, tt := range tests {
		last, past := pastEnd(tt.page, tt.perPage, tt.total, tt.rows)
		if last != tt.last || past != tt.past {
			t.Errorf("pastEnd(%d, %d, %d, %d) = %d, %v; want %d, %v", tt.page, tt.perPage, tt.total, tt.rows, last, past, tt.last, tt.past)
		}
	}
}
