package jirasync

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// TestParseCommand: only a first line starting with /vulnsync is a
// command (an escaped slash too); the reason is the rest, with the lines
// after; vulnsync's own answers are no commands.
func TestParseCommand(t *testing.T) {
	type out struct {
		Cmd command
		OK  bool
	}
	for _, c := range []struct {
		body string
		want out
	}{
		{"/vulnsync accept legacy clients need it", out{command{"accept", tracker.StatusAcceptedRisk, "legacy clients need it"}, true}},
		{"  /VULNSYNC false-positive test fixture\nonly in tests/", out{command{"false-positive", tracker.StatusFalsePositive, "test fixture\nonly in tests/"}, true}},
		{`\/vulnsync fp dead code`, out{command{"fp", tracker.StatusFalsePositive, "dead code"}, true}},
		{"/vulnsync accept", out{command{"accept", tracker.StatusAcceptedRisk, ""}, true}},
		{"/vulnsync frobnicate", out{command{verb: "frobnicate"}, true}},
		{"/vulnsync", out{command{}, true}},
		{"please /vulnsync accept this", out{}},
		{"/vulnsyncs accept x", out{}},
		{"vulnsync: Dev, your request was not opened: give a reason after the command.", out{}},
		{"**Risk acceptance requested** by jira:Dev", out{}},
	} {
		cmd, ok := parseCommand(c.body)
		if diff := cmp.Diff(c.want, out{cmd, ok}, cmp.AllowUnexported(command{})); diff != "" {
			t.Errorf("parseCommand(%q) (-want +got):\n%s", c.body, diff)
		}
	}
}

// A refused request is answered with its real reason: only an empty
// reason asks for one; a reason too long (or with a control character)
// says so, instead of asking for the reason the person gave.
func TestExplainRefusalSaysWhatIsWrongWithTheReason(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for reason, want := range map[string]string{
		"":                        "give a reason after the command",
		strings.Repeat("x", 5000): "the reason must be at most 4000 characters; it has 5000",
	} {
		req := tracker.AcceptanceRequest{Reason: reason, ExpiresAt: now.Add(time.Hour)}
		if got := explainRefusal(req.Validate(now)); got != want {
			t.Errorf("reason of %d characters: answer %q, want %q", len(reason), got, want)
		}
	}
}
