package jirasync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// allEvents lists an integration's sync log.
func allEvents(t *testing.T, e *apptest.Env, integrationID string) []map[string]any {
	t.Helper()
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/integrations/"+integrationID+"/events?limit=1000", nil, &evs)
	return evs.Events
}

// An idle integration's reconciliations write nothing to the sync log; one
// that finds a change whose webhook never came writes one summary row.
func TestIdleReconciliationWritesNoSyncLogRows(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Clock: clock})
	s, _, key := setup(t, e)
	// An item without labels, created in progress: Jira shows its labels
	// as [] and our own create's webhook is not applied; neither is drift.
	createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "medium", "status": "in_progress"})
	// And one whose labels Jira shows in another order (sorted).
	createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SSRF", "severity": "high", "fields": map[string]any{"labels": []string{"owasp-a10", "cloud"}}})
	e.Sync()
	e.Deliver()
	e.Sync()
	before := len(allEvents(t, e, s.IntegrationID))
	for range 12 { // an hour of 5-minute reconciliations
		clock.Advance(6 * time.Minute)
		e.Sync()
	}
	if n := len(allEvents(t, e, s.IntegrationID)); n != before {
		t.Fatalf("an idle hour added %d sync log rows, want 0", n-before)
	}

	e.HoldWebhooks(true)
	jiraTransition(t, e, key, "Start Progress")
	e.Deliver()
	e.Held() // dropped
	clock.Advance(6 * time.Minute)
	e.Sync()
	e.Sync()
	var summaries []map[string]any
	for _, ev := range allEvents(t, e, s.IntegrationID) {
		if ev["action"] == "reconcile" {
			summaries = append(summaries, ev)
		}
	}
	if len(summaries) != 1 {
		t.Fatalf("%d reconcile rows after a dropped webhook, want 1: %v", len(summaries), summaries)
	}
	if call, _ := summaries[0]["jira_call"].(string); summaries[0]["result"] != "ok" || !strings.Contains(call, "1 of") {
		t.Errorf("reconcile row: %v", summaries[0])
	}
}
