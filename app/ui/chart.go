package ui

import (
	"fmt"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"gatehouse/shared"
)

// SignInChart draws sign-ins per hour, successful beside failed, as an SVG
// bar chart (#signins-chart): one pair of bars (class "bar ok" and
// "bar failed", each with a <title> tooltip) per hour, a y scale, hour
// labels every three hours and a legend. The svg carries the totals in
// data-ok and data-failed.
type SignInChart struct {
	app.Compo

	// Hours are the buckets to draw, oldest first (shared.Stats.SignIns).
	Hours []shared.HourCount
}

const svgNS = "http://www.w3.org/2000/svg"

// The chart's drawing box, in SVG user units.
const (
	chartWidth   = 720.0
	chartHeight  = 260.0
	plotLeft     = 40.0
	plotRight    = 712.0
	plotTop      = 12.0
	plotBottom   = 200.0
	xLabelY      = 218.0
	legendY      = 244.0
	barGap       = 2.0 // between the two bars of an hour, and at each side
	labelEvery   = 3   // hours between x labels
	chartOKColor = "#2e7d32"
	chartNoColor = "#c62828"
)

// chartBar is one bar: its box and its tooltip.
type chartBar struct {
	X, Y, W, H float64
	Count      int
	Title      string
}

// chartLabel is a piece of axis text anchored at X, Y.
type chartLabel struct {
	X, Y float64
	Text string
}

// chartGeom is everything the chart draws, computed from the buckets.
type chartGeom struct {
	OK, Failed           []chartBar
	XLabels, YLabels     []chartLabel
	Grid                 []float64 // y of each horizontal grid line
	Scale                int       // the count the top of the plot stands for
	TotalOK, TotalFailed int
}

// layoutChart computes the chart of hours, with hour labels in loc.
func layoutChart(hours []shared.HourCount, loc *time.Location) chartGeom {
	var g chartGeom
	peak := 0
	for _, h := range hours {
		g.TotalOK += h.OK
		g.TotalFailed += h.Failed
		peak = max(peak, h.OK, h.Failed)
	}
	g.Scale = niceCeil(peak)
	plotH := plotBottom - plotTop
	for _, v := range scaleTicks(g.Scale) {
		y := plotBottom - float64(v)/float64(g.Scale)*plotH
		g.Grid = append(g.Grid, y)
		g.YLabels = append(g.YLabels, chartLabel{X: plotLeft - 6, Y: y + 4, Text: strconv.Itoa(v)})
	}
	if len(hours) == 0 {
		return g
	}
	slot := (plotRight - plotLeft) / float64(len(hours))
	barW := max((slot-3*barGap)/2, 1)
	bar := func(x float64, n int, title string) chartBar {
		h := float64(n) / float64(g.Scale) * plotH
		return chartBar{X: x, Y: plotBottom - h, W: barW, H: h, Count: n, Title: title}
	}
	for i, h := range hours {
		from := h.Hour.In(loc)
		span := from.Format("15:04") + "–" + from.Add(time.Hour).Format("15:04")
		x := plotLeft + float64(i)*slot
		g.OK = append(g.OK, bar(x+barGap, h.OK, fmt.Sprintf("%s: %s", span, countOf(h.OK, "successful sign-in"))))
		g.Failed = append(g.Failed, bar(x+2*barGap+barW, h.Failed, fmt.Sprintf("%s: %s", span, countOf(h.Failed, "failed sign-in"))))
		if from.Hour()%labelEvery == 0 {
			g.XLabels = append(g.XLabels, chartLabel{X: x + slot/2, Y: xLabelY, Text: from.Format("15:04")})
		}
	}
	return g
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1), so
// that the scale reads well.
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// scaleTicks returns the values labelled on the y scale: 0, the middle when
// it is a whole number, and the top.
func scaleTicks(scale int) []int {
	if scale%2 == 0 {
		return []int{0, scale / 2, scale}
	}
	return []int{0, scale}
}

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// num formats an SVG coordinate with at most one decimal.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func round1(v float64) string {
	return num(float64(int64(v*10+0.5)) / 10)
}

func svg(tag string) app.HTMLElem { return app.Elem(tag).XMLNS(svgNS) }

// Render draws the chart.
func (c *SignInChart) Render() app.UI {
	g := layoutChart(c.Hours, time.Local)
	bars := make([]app.UI, 0, len(g.OK)+len(g.Failed))
	for i := range g.OK {
		bars = append(bars, drawBar("bar ok", chartOKColor, g.OK[i]), drawBar("bar failed", chartNoColor, g.Failed[i]))
	}
	grid := make([]app.UI, 0, len(g.Grid))
	for _, y := range g.Grid {
		grid = append(grid, svg("line").Class("gridline").
			Attr("x1", num(plotLeft)).Attr("x2", num(plotRight)).Attr("y1", round1(y)).Attr("y2", round1(y)).
			Attr("stroke", "#e0e0e0"))
	}
	return svg("svg").ID("signins-chart").Class("chart").
		Attr("viewBox", fmt.Sprintf("0 0 %s %s", num(chartWidth), num(chartHeight))).
		Attr("role", "img").
		Aria("label", fmt.Sprintf("Sign-ins per hour over the last 24 hours: %s, %s",
			countOf(g.TotalOK, "successful sign-in"), countOf(g.TotalFailed, "failed sign-in"))).
		DataSet("ok", g.TotalOK).DataSet("failed", g.TotalFailed).
		Body(
			svg("g").Class("grid").Body(grid...),
			svg("g").Class("y-axis").Body(labels(g.YLabels, "end")...),
			svg("g").Class("bars").Body(bars...),
			svg("line").Class("axis").
				Attr("x1", num(plotLeft)).Attr("x2", num(plotRight)).Attr("y1", num(plotBottom)).Attr("y2", num(plotBottom)).
				Attr("stroke", "#9e9e9e"),
			svg("g").Class("x-axis").Body(labels(g.XLabels, "middle")...),
			svg("g").Class("legend").Body(
				legendItem(plotLeft, "ok", chartOKColor, fmt.Sprintf("Successful (%d)", g.TotalOK)),
				legendItem(plotLeft+180, "failed", chartNoColor, fmt.Sprintf("Failed (%d)", g.TotalFailed)),
			),
		)
}

func drawBar(class, color string, b chartBar) app.UI {
	return svg("rect").Class(class).
		Attr("x", round1(b.X)).Attr("y", round1(b.Y)).Attr("width", round1(b.W)).Attr("height", round1(b.H)).
		Attr("fill", color).DataSet("count", b.Count).
		Body(svg("title").Text(b.Title))
}

func labels(ls []chartLabel, anchor string) []app.UI {
	out := make([]app.UI, len(ls))
	for i, l := range ls {
		out[i] = svg("text").Class("axis-label").
			Attr("x", round1(l.X)).Attr("y", round1(l.Y)).Attr("text-anchor", anchor).Attr("font-size", "11").
			Text(l.Text)
	}
	return out
}

func legendItem(x float64, class, color, text string) app.UI {
	return svg("g").Class("legend-item "+class).Body(
		svg("rect").Class("swatch "+class).Attr("x", num(x)).Attr("y", num(legendY-10)).
			Attr("width", "12").Attr("height", "12").Attr("fill", color),
		svg("text").Attr("x", num(x+18)).Attr("y", num(legendY)).Attr("font-size", "12").Text(text),
	)
}
