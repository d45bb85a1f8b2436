package tracker_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

func TestTextLenCountsAsJava(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "脆弱性": 3, "🔥": 2, "é": 1, "\xff": 1} {
		if got := tracker.TextLen(s); got != want {
			t.Errorf("TextLen(%q) = %d, want %d", s, got, want)
		}
	}
}

// Text too long from Jira is cut on a character boundary, inside the
// limit, with the marker saying so; text that fits is left as it is.
func TestFitTextCutsInsideTheLimit(t *testing.T) {
	s := strings.Repeat("🔥", 20) // 40 units
	out, cut := tracker.FitText(s, 11, "[cut]")
	if !cut || out != "🔥🔥🔥[cut]" {
		t.Errorf("FitText = %q, %v; want three emoji and the marker", out, cut)
	}
	if n := tracker.TextLen(out); n > 11 {
		t.Errorf("cut text has %d units, over 11", n)
	}
	if out, cut := tracker.FitText("short", 11, "[cut]"); cut || out != "short" {
		t.Errorf("FitText of fitting text = %q, %v", out, cut)
	}
}

func TestStripControlKeepsLinesWhereAllowed(t *testing.T) {
	if got := tracker.StripControl("a\x00b\tc\nd\x1b", true); got != "ab\tc\nd" {
		t.Errorf("StripControl(lines) = %q", got)
	}
	if got := tracker.StripControl("a\nb", false); got != "a b" {
		t.Errorf("StripControl(title) = %q", got)
	}
}
