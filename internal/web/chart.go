package web

import (
	"fmt"
	"html/template"
	"strings"
)

// bar is one bar of a chart: a label and a count. Text, when set, is how
// the value reads (e.g. "2.5 days"); the bar's length is still Value.
type bar struct {
	Label string
	Value int
	Text  string
}

// shown is how a bar's value reads: its Text, else the count.
func (b bar) shown() string {
	if b.Text != "" {
		return b.Text
	}
	return fmt.Sprint(b.Value)
}

// Geometry of barChart, in SVG user units (the SVG scales to its box).
const (
	chartWidth  = 560
	chartLabelW = 150 // the labels' column
	chartBarW   = 340 // the longest bar
	chartRowH   = 30
	chartBarH   = 18
	// chartCharW bounds the width of one character of a value at the
	// page's 13px: the bars leave room for the longest value's text.
	chartCharW = 8
)

// barChart draws bars as a horizontal bar chart in SVG, on the server: no
// script and no chart library, so the page stays one html/template answer
// under the strict content security policy (colours come from presentation
// attributes and style.css classes, never inline styles). Each bar's length
// is proportional to its value (the largest fills chartBarW; all zero draws
// no bars). The chart is an image to assistive technology (role="img")
// named by its <title> and described by its <desc>, which lists every
// number, and it is followed by a visually hidden table with the same
// numbers for those who navigate tables (in a hidden div: a table itself
// does not shrink to a 1px box). id must be unique on the page.
func barChart(id, title string, bars []bar) template.HTML {
	return barChartOf(id, title, "Count", bars)
}

// barChartOf is barChart with the name of the values' column in the hidden
// table (e.g. "Mean time").
func barChartOf(id, title, valueName string, bars []bar) template.HTML {
	esc := template.HTMLEscapeString
	max, longest := 0, 0
	parts := make([]string, 0, len(bars))
	for _, b := range bars {
		if b.Value > max {
			max = b.Value
		}
		longest = maxInt(longest, len([]rune(b.shown())))
		parts = append(parts, b.Label+": "+b.shown())
	}
	// The longest bar is chartBarW, shorter when a value reads as words
	// ("10 min (12 resolved)") that would otherwise run past the edge.
	full := min(chartBarW, maxInt(chartWidth-chartLabelW-6-longest*chartCharW, chartBarW/4))
	desc := "No data."
	if len(parts) > 0 {
		desc = strings.Join(parts, ", ") + "."
	}
	height := len(bars)*chartRowH + 10
	var sb strings.Builder
	fmt.Fprintf(&sb, `<figure class="chart" id="%s"><figcaption class="chart-caption">%s</figcaption>`, esc(id), esc(title))
	fmt.Fprintf(&sb, `<svg role="img" aria-labelledby="%[1]s-title %[1]s-desc" viewBox="0 0 %[2]d %[3]d" width="%[2]d" height="%[3]d" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), chartWidth, height)
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	for i, b := range bars {
		y := 5 + i*chartRowH
		w := barLength(b.Value, max)
		if w > 0 {
			w = maxInt(w*full/chartBarW, 1)
		}
		fmt.Fprintf(&sb, `<g class="chart-row"><text class="chart-label" x="%d" y="%d" text-anchor="end" dominant-baseline="middle" fill="#1c2430">%s</text>`,
			chartLabelW-8, y+chartBarH/2, esc(b.Label))
		fmt.Fprintf(&sb, `<rect class="chart-bar" x="%d" y="%d" width="%d" height="%d" rx="3" fill="#2457c5" data-value="%d"></rect>`,
			chartLabelW, y, w, chartBarH, b.Value)
		fmt.Fprintf(&sb, `<text class="chart-value" x="%d" y="%d" dominant-baseline="middle" fill="#1c2430">%s</text></g>`,
			chartLabelW+w+6, y+chartBarH/2, esc(b.shown()))
	}
	sb.WriteString(`</svg>`)
	fmt.Fprintf(&sb, `<div class="visually-hidden"><table><caption>%s</caption><thead><tr><th scope="col">Label</th><th scope="col">%s</th></tr></thead><tbody>`, esc(title), esc(valueName))
	for _, b := range bars {
		fmt.Fprintf(&sb, `<tr><th scope="row">%s</th><td>%s</td></tr>`, esc(b.Label), esc(b.shown()))
	}
	sb.WriteString(`</tbody></table></div></figure>`)
	return template.HTML(sb.String())
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// barLength scales v to the longest bar: max fills chartBarW, 0 (or a max
// of 0, when every bar is empty) is no bar, and any non-zero value gets at
// least one unit so that it stays visible next to much larger ones.
func barLength(v, max int) int {
	if v <= 0 || max <= 0 {
		return 0
	}
	w := v * chartBarW / max
	if w < 1 {
		w = 1
	}
	return w
}
