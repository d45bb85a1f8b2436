package jirasync

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jira"
)

// A field Jira refuses because the screen lacks it is explained in the
// sync log with the fix, in Jira's words first.
func TestExplainJiraNamesTheScreenFix(t *testing.T) {
	err := &jira.ErrorResponse{StatusCode: 400, Errors: map[string]string{
		"labels": "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown."}}
	got := explainJira(err, "OPS")
	for _, want := range []string{"cannot be set", "Fix: add labels to the create and edit screens of project OPS", "take it out of the mapping"} {
		if !strings.Contains(got, want) {
			t.Errorf("explanation %q lacks %q", got, want)
		}
	}
	res := explainJira(&jira.ErrorResponse{StatusCode: 400, Errors: map[string]string{"resolution": "Resolution is required."}}, "SEC")
	if !strings.Contains(res, "map a resolution for the target status") {
		t.Errorf("resolution explanation: %q", res)
	}
	if other := explainJira(&jira.ErrorResponse{StatusCode: 400, ErrorMessages: []string{"nope"}}, "SEC"); strings.Contains(other, "Fix:") {
		t.Errorf("an unrelated 400 got a fix: %q", other)
	}
}
