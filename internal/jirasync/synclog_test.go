package jirasync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/store"
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

// The sync log API reads failures by the UI's rule (store.EventOutcomes):
// a failure that a later attempt of the same action on the same item got
// through is "recovered", one that still stands "failed", even when the
// success is on another page; the item's log says the same.
func TestSyncLogAPIReportsRecoveredFailures(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s, it, _ := setup(t, e)
	t0 := time.Now().UTC().Add(time.Hour) // after everything setup logged
	add := func(ev store.SyncEvent) {
		t.Helper()
		ev.IntegrationID, ev.Direction = s.IntegrationID, "to_jira"
		if err := e.Store.InTx(t.Context(), func(tx store.Tx) error { return tx.AddSyncEvent(t.Context(), ev) }); err != nil {
			t.Fatal(err)
		}
	}
	add(store.SyncEvent{ItemID: it.ID, Action: "transition", Result: "error", Error: "400 Transition id '21' is not valid", At: t0})
	add(store.SyncEvent{ItemID: it.ID, Action: "comment", Result: "error", Error: "503", At: t0})
	add(store.SyncEvent{ItemID: it.ID, Action: "transition", Result: "ok", At: t0.Add(time.Second)})
	add(store.SyncEvent{Action: "reconcile", Result: "error", Error: "search failed", At: t0.Add(2 * time.Second)})

	outcomes := func(path string) map[string]string {
		t.Helper()
		var page struct {
			Events []map[string]any `json:"events"`
		}
		e.Must(200, "GET", path, nil, &page)
		out := map[string]string{}
		for _, ev := range page.Events {
			if ev["result"] == "error" {
				out[ev["action"].(string)] = ev["outcome"].(string)
			}
		}
		return out
	}
	want := map[string]string{"transition": "recovered", "comment": "failed", "reconcile": "failed"}
	// limit=3: failures come first, so the transition's success is on a
	// later page.
	if diff := cmp.Diff(want, outcomes("/api/v1/integrations/"+s.IntegrationID+"/events?limit=3")); diff != "" {
		t.Errorf("integration log outcomes (-want +got):\n%s", diff)
	}
	delete(want, "reconcile")
	if diff := cmp.Diff(want, outcomes("/api/v1/items/"+it.ID+"/events?result=error")); diff != "" {
		t.Errorf("item log outcomes (-want +got):\n%s", diff)
	}
}
