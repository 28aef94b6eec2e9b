package ui

import (
	"strconv"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// day is 24 hourly buckets from 13:00 UTC, with ok = hour index % 4 and
// failed = 1 every fifth hour.
func day() []shared.HourCount {
	start := time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)
	hs := make([]shared.HourCount, 24)
	for i := range hs {
		hs[i] = shared.HourCount{Hour: start.Add(time.Duration(i) * time.Hour), OK: i % 4}
		if i%5 == 0 {
			hs[i].Failed = 1
		}
	}
	return hs
}

func TestNiceCeil(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 5, 5: 5, 6: 10, 11: 20, 20: 20, 21: 50, 99: 100, 101: 200} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestLayoutChart(t *testing.T) {
	g := layoutChart(day(), time.UTC)

	if len(g.OK) != 24 || len(g.Failed) != 24 {
		t.Fatalf("%d ok and %d failed bars, want 24 of each", len(g.OK), len(g.Failed))
	}
	if g.TotalOK != 36 || g.TotalFailed != 5 {
		t.Errorf("totals %d ok, %d failed; want 36, 5", g.TotalOK, g.TotalFailed)
	}
	if g.Scale != 5 {
		t.Errorf("scale %d, want 5 (the peak 3 rounded up)", g.Scale)
	}
	plotH := plotBottom - plotTop
	t.Run("bar heights are proportional to the counts and stand on the axis", func(t *testing.T) {
		for i, b := range append(append([]chartBar{}, g.OK...), g.Failed...) {
			want := float64(b.Count) / 5 * plotH
			if diff := b.H - want; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("bar %d: height %v for %d, want %v", i, b.H, b.Count, want)
			}
			if b.Y+b.H != plotBottom {
				t.Errorf("bar %d: bottom at %v, want the axis at %v", i, b.Y+b.H, plotBottom)
			}
		}
	})
	t.Run("each hour's two bars sit side by side inside its slot", func(t *testing.T) {
		slot := (plotRight - plotLeft) / 24
		for i := range g.OK {
			left, right := plotLeft+float64(i)*slot, plotLeft+float64(i+1)*slot
			ok, failed := g.OK[i], g.Failed[i]
			if ok.X < left || ok.X+ok.W > failed.X || failed.X+failed.W > right {
				t.Errorf("hour %d: ok [%v, %v], failed [%v, %v], slot [%v, %v]", i, ok.X, ok.X+ok.W, failed.X, failed.X+failed.W, left, right)
			}
		}
	})
	t.Run("tooltips name the hour and the count", func(t *testing.T) {
		if got, want := g.OK[1].Title, "14:00–15:00: 1 successful sign-in"; got != want {
			t.Errorf("title %q, want %q", got, want)
		}
		if got, want := g.Failed[5].Title, "18:00–19:00: 1 failed sign-in"; got != want {
			t.Errorf("title %q, want %q", got, want)
		}
		if got, want := g.OK[2].Title, "15:00–16:00: 2 successful sign-ins"; got != want {
			t.Errorf("title %q, want %q", got, want)
		}
	})
	t.Run("hours are labelled every three hours, on the clock", func(t *testing.T) {
		var got []string
		for _, l := range g.XLabels {
			got = append(got, l.Text)
		}
		want := []string{"15:00", "18:00", "21:00", "00:00", "03:00", "06:00", "09:00", "12:00"}
		if len(got) != len(want) {
			t.Fatalf("labels %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("labels %v, want %v", got, want)
			}
		}
		if g.XLabels[0].X != plotLeft+2.5*(plotRight-plotLeft)/24 {
			t.Errorf("the 15:00 label is at x=%v, want the middle of the third slot", g.XLabels[0].X)
		}
	})
	t.Run("the scale is labelled at 0 and the top", func(t *testing.T) {
		if len(g.YLabels) != 2 || g.YLabels[0].Text != "0" || g.YLabels[1].Text != "5" {
			t.Errorf("y labels %+v, want 0 and 5", g.YLabels)
		}
		if g.Grid[1] != plotTop {
			t.Errorf("the top grid line is at %v, want %v", g.Grid[1], plotTop)
		}
	})
}

func TestLayoutChartWithoutSignIns(t *testing.T) {
	for name, hours := range map[string][]shared.HourCount{"no buckets": nil, "empty buckets": make([]shared.HourCount, 24)} {
		t.Run(name, func(t *testing.T) {
			g := layoutChart(hours, time.UTC)
			if g.Scale != 1 || g.TotalOK != 0 || g.TotalFailed != 0 {
				t.Errorf("scale %d, totals %d/%d; want 1, 0/0", g.Scale, g.TotalOK, g.TotalFailed)
			}
			for _, b := range g.OK {
				if b.H != 0 {
					t.Errorf("a bar of no sign-ins has height %v", b.H)
				}
			}
		})
	}
}

func TestSignInChartRender(t *testing.T) {
	hours := day()
	c := &SignInChart{Hours: hours}
	eng := app.NewTestEngine()
	if err := eng.Load(c); err != nil {
		t.Fatal(err)
	}

	// Mounted: svg > g.bars (third child) > first rect > title > text.
	g := layoutChart(hours, time.Local)
	if err := app.Match(app.Text(g.OK[0].Title), c, 0, 2, 0, 0, 0); err != nil {
		t.Errorf("tooltip of the first bar: %v", err)
	}

	dom := render(t, c)
	svg := dom.one(t, "svg#signins-chart")
	if svg.attr("data-ok") != "36" || svg.attr("data-failed") != "5" {
		t.Errorf("data-ok=%q data-failed=%q, want 36 and 5", svg.attr("data-ok"), svg.attr("data-failed"))
	}
	oks, faileds := dom.all(t, "#signins-chart rect.bar.ok"), dom.all(t, "#signins-chart rect.bar.failed")
	if len(oks) != 24 || len(faileds) != 24 {
		t.Fatalf("%d ok and %d failed bars, want 24 each", len(oks), len(faileds))
	}
	sum := 0
	for i, r := range oks {
		n, err := strconv.Atoi(r.attr("data-count"))
		if err != nil {
			t.Fatalf("bar %d: data-count %q", i, r.attr("data-count"))
		}
		sum += n
		if r.one(t, "title").Text() == "" {
			t.Errorf("bar %d has no tooltip", i)
		}
	}
	if sum != 36 {
		t.Errorf("the ok bars add up to %d, want 36", sum)
	}
	if h := oks[3].attr("height"); h != round1(3.0/5*(plotBottom-plotTop)) {
		t.Errorf("the bar of 3 has height %q", h)
	}
	if n := dom.count(t, "#signins-chart .legend text"); n != 2 {
		t.Errorf("legend has %d entries, want 2", n)
	}
	if n := dom.count(t, "#signins-chart .x-axis text"); n != 8 {
		t.Errorf("%d hour labels, want 8", n)
	}
}
