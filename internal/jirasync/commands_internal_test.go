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
// after; a final "until" and a word starting with a digit on the first
// line is the proposed expiry (YYYY-MM-DD, else kept as malformed);
// vulnsync's own answers are no commands.
func TestParseCommand(t *testing.T) {
	type out struct {
		Cmd command
		OK  bool
	}
	for _, c := range []struct {
		body string
		want out
	}{
		{"/vulnsync accept legacy clients need it", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "legacy clients need it"}, true}},
		{"  /VULNSYNC false-positive test fixture\nonly in tests/", out{command{verb: "false-positive", status: tracker.StatusFalsePositive, reason: "test fixture\nonly in tests/"}, true}},
		{`\/vulnsync fp dead code`, out{command{verb: "fp", status: tracker.StatusFalsePositive, reason: "dead code"}, true}},
		{"/vulnsync accept", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: ""}, true}},
		{"/vulnsync accept legacy clients until 2027-03-31", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "legacy clients",
			until: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}, true}},
		{"/vulnsync accept until 2027-03-31\nthe vendor ships the fix in March", out{command{verb: "accept", status: tracker.StatusAcceptedRisk,
			reason: "the vendor ships the fix in March", until: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}, true}},
		{"/vulnsync fp scanner noise UNTIL 2027-02-30", out{command{verb: "fp", status: tracker.StatusFalsePositive, reason: "scanner noise", badUntil: "2027-02-30"}, true}},
		{"/vulnsync accept legacy until 31/12/2027", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "legacy", badUntil: "31/12/2027"}, true}},
		{"/vulnsync accept wait until the migration", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "wait until the migration"}, true}},
		{"/vulnsync accept patched until Q3", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "patched until Q3"}, true}},
		{"/vulnsync accept legacy\nuntil 2027-03-31", out{command{verb: "accept", status: tracker.StatusAcceptedRisk, reason: "legacy\nuntil 2027-03-31"}, true}},
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
