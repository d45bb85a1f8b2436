package web

import (
	"strings"
)

// A line-based diff for the history of long text (issue 15): which lines a
// change removed and added, instead of two whole documents side by side.
// It is a plain longest-common-subsequence diff after trimming the common
// head and tail (a typical edit leaves little in between); a library
// (go-diff, a Myers implementation) was not worth a dependency for text
// capped at 32,767 characters.

// diffLine is one line of a diff: Op is ' ' (kept), '-' (removed) or '+'
// (added); a kept run too long to show is one line with Skipped set.
type diffLine struct {
	Op      string
	Text    string
	Skipped int
}

// maxDiffCells bounds the LCS table; beyond it the middle part is shown as
// all removed then all added, which is still correct, only less precise.
const maxDiffCells = 4_000_000

// diffContext is how many kept lines are shown around a change.
const diffContext = 2

// lineDiff returns the diff of old and new, by lines, with long runs of
// kept lines folded.
func lineDiff(old, new string) []diffLine {
	a, b := splitLines(old), splitLines(new)
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	var out []diffLine
	for _, l := range a[:head] {
		out = append(out, diffLine{Op: " ", Text: l})
	}
	out = append(out, lcsDiff(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, l := range a[len(a)-tail:] {
		out = append(out, diffLine{Op: " ", Text: l})
	}
	return fold(out)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

// lcsDiff diffs two slices with nothing in common at either end.
func lcsDiff(a, b []string) []diffLine {
	var out []diffLine
	if len(a)*len(b) > maxDiffCells {
		for _, l := range a {
			out = append(out, diffLine{Op: "-", Text: l})
		}
		for _, l := range b {
			out = append(out, diffLine{Op: "+", Text: l})
		}
		return out
	}
	// lcs[i][j] is the length of the LCS of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{Op: " ", Text: a[i]})
			i, j = i+1, j+1
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			out = append(out, diffLine{Op: "-", Text: a[i]})
			i++
		default:
			out = append(out, diffLine{Op: "+", Text: b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, diffLine{Op: "-", Text: a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, diffLine{Op: "+", Text: b[j]})
	}
	return out
}

// fold replaces runs of kept lines further than diffContext from any
// change by one skipped line.
func fold(lines []diffLine) []diffLine {
	near := make([]bool, len(lines))
	for i, l := range lines {
		if l.Op == " " {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(lines)-1, i+diffContext); k++ {
			near[k] = true
		}
	}
	var out []diffLine
	for i := 0; i < len(lines); {
		if lines[i].Op != " " || near[i] {
			out = append(out, lines[i])
			i++
			continue
		}
		n := 0
		for i < len(lines) && lines[i].Op == " " && !near[i] {
			n++
			i++
		}
		out = append(out, diffLine{Op: " ", Skipped: n})
	}
	return out
}
