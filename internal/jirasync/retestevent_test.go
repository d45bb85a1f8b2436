package jirasync_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// A finding reopened from an accepted or false-positive status (a revoked,
// expired or rejected acceptance, or a person's change) was never retested:
// its vulnerability's issue must not be told that a retest failed. Only a
// reopen from a status meaning fixed or resolved is a failed retest.
func TestReopenFromAcceptedIsNotAFailedRetest(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: deployments[0]})
	s := e.Setup("payments-api")
	vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "high"})
	finding := createItem(t, e, s.TargetID, map[string]any{"kind": "finding", "title": "Redirect on staging", "severity": "high", "parent_id": vuln.ID})
	e.Sync()
	key := jiraKey(t, e, vuln.ID)

	for _, status := range []string{"false_positive", "open", "accepted_risk", "in_progress"} {
		e.Must(200, "PATCH", "/api/v1/items/"+finding.ID, map[string]any{"status": status}, nil)
		e.Sync()
	}
	for _, c := range readIssue(t, e, key).Fields.Comment.Comments {
		if strings.Contains(text(c.Body), "Retest") {
			t.Errorf("the parent was told of a retest that never happened: %s", c.Body)
		}
	}

	// A reopen from Done still is one.
	for _, status := range []string{"resolved", "open"} {
		e.Must(200, "PATCH", "/api/v1/items/"+finding.ID, map[string]any{"status": status}, nil)
		e.Sync()
	}
	cs := readIssue(t, e, key).Fields.Comment.Comments
	if last := text(cs[len(cs)-1].Body); !strings.Contains(last, "Retest") || !strings.Contains(last, "failed") {
		t.Errorf("reopened from Done: last comment on the parent %s, want a failed retest", last)
	}
}
