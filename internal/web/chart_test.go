package web

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var barRE = regexp.MustCompile(`<rect class="chart-bar" x="\d+" y="\d+" width="(\d+)" height="\d+" rx="3" fill="#[0-9a-f]+" data-value="(\d+)">`)

// barWidths reads the drawn bars' widths by their values.
func barWidths(t *testing.T, svg string) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, m := range barRE.FindAllStringSubmatch(svg, -1) {
		w, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[2])
		out[v] = w
	}
	return out
}

func TestBarChartBarsAreProportional(t *testing.T) {
	svg := string(barChart("c", "Items by status", []bar{{Label: "Open", Value: 40}, {Label: "In progress", Value: 10}, {Label: "Resolved", Value: 20}, {Label: "Accepted risk", Value: 0}}))
	w := barWidths(t, svg)
	if len(w) != 4 {
		t.Fatalf("drew %d bars, want 4: %s", len(w), svg)
	}
	if w[40] != chartBarW {
		t.Errorf("the largest bar is %d wide, want the full %d", w[40], chartBarW)
	}
	if w[10] != chartBarW/4 || w[20] != chartBarW/2 {
		t.Errorf("bars of 10 and 20 out of 40 are %d and %d wide, want %d and %d", w[10], w[20], chartBarW/4, chartBarW/2)
	}
	if w[0] != 0 {
		t.Errorf("a zero count is drawn %d wide, want 0", w[0])
	}
}

func TestBarChartIsAccessible(t *testing.T) {
	svg := string(barChart("c", "Items by status", []bar{{Label: "Open", Value: 3}, {Label: "In progress", Value: 1}}))
	for _, want := range []string{
		`<svg role="img" aria-labelledby="c-title c-desc"`,
		`<title id="c-title">Items by status</title>`,
		`<desc id="c-desc">Open: 3, In progress: 1.</desc>`,
		`<div class="visually-hidden"><table><caption>Items by status</caption>`,
		`<tr><th scope="row">Open</th><td>3</td></tr>`,
		`<tr><th scope="row">In progress</th><td>1</td></tr>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %s:\n%s", want, svg)
		}
	}
}

func TestBarChartAllZeroOrEmpty(t *testing.T) {
	svg := string(barChart("z", "Nothing", []bar{{Label: "Open"}, {Label: "Resolved"}}))
	for v, w := range barWidths(t, svg) {
		if w != 0 {
			t.Errorf("bar of %d is %d wide with every count zero, want 0", v, w)
		}
	}
	if !strings.Contains(svg, `<desc id="z-desc">Open: 0, Resolved: 0.</desc>`) {
		t.Errorf("the zero counts are not described: %s", svg)
	}
	empty := string(barChart("e", "Empty", nil))
	if !strings.Contains(empty, `<desc id="e-desc">No data.</desc>`) {
		t.Errorf("a chart without bars does not say so: %s", empty)
	}
	if got := barLength(1, 100000); got != 1 {
		t.Errorf("a count of 1 next to 100000 is %d wide, want 1 (still visible)", got)
	}
}

func TestBarChartEscapesLabels(t *testing.T) {
	svg := string(barChart("x", `<b>"title"`, []bar{{Label: `<script>alert(1)</script>`, Value: 1, Text: "<i>1</i>"}}))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || strings.Contains(svg, "<i>") {
		t.Errorf("labels are not escaped: %s", svg)
	}
}

func TestEnumLabel(t *testing.T) {
	for in, want := range map[string]string{"accepted_risk": "Accepted risk", "in_progress": "In progress", "open": "Open", "needs_mapping": "Needs mapping", "": ""} {
		if got := label(in); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
}

var valueRE = regexp.MustCompile(`<text class="chart-value" x="(\d+)"[^>]*>([^<]*)</text>`)

// A value that reads as words ("10 min (12 resolved)", the mean time to
// resolve) fits inside the chart: the bars leave it room. It used to be
// drawn after a full-length bar and cut off at the SVG's edge. At the
// page's 13px, no character of these texts is wider than 8 units.
func TestBarChartLeavesRoomForLongValues(t *testing.T) {
	const charW = 8
	svg := string(barChartOf("m", "Mean time to resolve", "Mean time", []bar{
		{Label: "Nov 2026", Text: "none resolved"},
		{Label: "Dec 2026", Value: 10, Text: "10 min (12 resolved)"},
		{Label: "Jan 2027", Value: 3, Text: "3 min (1 resolved)"},
	}))
	ms := valueRE.FindAllStringSubmatch(svg, -1)
	if len(ms) != 3 {
		t.Fatalf("found %d value texts, want 3: %s", len(ms), svg)
	}
	for _, m := range ms {
		x, _ := strconv.Atoi(m[1])
		if end := x + charW*len([]rune(m[2])); end > chartWidth {
			t.Errorf("value %q runs to %d, past the chart's width %d", m[2], end, chartWidth)
		}
	}
	if w := barWidths(t, svg); w[10] <= w[3] || w[3] == 0 {
		t.Errorf("bars no longer proportional: %v", w)
	}
}
