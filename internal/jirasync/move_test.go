package jirasync_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// moveIssue moves an issue to another project in the simulator, as dev,
// and returns its new key.
func moveIssue(t testing.TB, e *apptest.Env, key, project string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"issue": key, "project": project})
	res, err := http.Post(e.SimURL+"/_sim/move", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("move %s to %s: %d %v", key, project, res.StatusCode, err)
	}
	return out.Key
}

// An issue moved to another project keeps its id and changes its key. With
// on_issue_moved "follow" the link follows the id: the item shows the new
// key and later changes still reach the issue. By default the move takes
// the issue out of the integrated project and on_issue_deleted applies:
// unlink (the item says why) or recreate (a new issue in the integrated
// project).
func TestIssueMoves(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep)+"/follow", func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)
			if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) { m["on_issue_moved"] = mapping.OnIssueMovedFollow }); st != 200 {
				t.Fatalf("mapping: %d", st)
			}
			// An edit from before the move is delivered after it: its old
			// key is no news and must not undo the move.
			e.HoldWebhooks(true)
			jiraEdit(t, e, key, map[string]any{"customfield_10050": 8.1})
			newKey := moveIssue(t, e, key, "OPS")
			e.Deliver()
			held := e.Held()
			if len(held) != 2 {
				t.Fatalf("held deliveries: %d, want the edit and the move", len(held))
			}
			e.Send(held[1])
			e.Send(held[0])
			e.HoldWebhooks(false)
			e.Sync()
			if got := jiraKey(t, e, it.ID); got != newKey {
				t.Fatalf("item shows %s, want the new key %s", got, newKey)
			}
			if got := getItem(t, e, it.ID).Fields["cvss_score"]; got != 8.1 {
				t.Errorf("the late edit was not applied: cvss %v", got)
			}
			e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"title": "IDOR on /invoices (moved)"}, nil)
			e.Sync()
			if is := readIssue(t, e, newKey); is.Fields.Summary != "IDOR on /invoices (moved)" {
				t.Errorf("a change after the move did not reach %s: %q", newKey, is.Fields.Summary)
			}
			assertSyncLog(t, e, it.ID, "moved", newKey)
		})
		t.Run(string(dep)+"/unlink", func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			_, it, key := setup(t, e)
			newKey := moveIssue(t, e, key, "OPS")
			e.Deliver()
			e.Sync()
			if got := getItem(t, e, it.ID); got.Jira != nil {
				t.Fatalf("item still linked after its issue left the project: %+v", got.Jira)
			}
			cs := comments(t, e, it.ID)
			if last := cs[len(cs)-1]["body"].(string); !strings.Contains(last, "moved to project OPS") || !strings.Contains(last, newKey) {
				t.Errorf("no note saying where the issue went: %q", last)
			}
			assertSyncLog(t, e, it.ID, "moved", newKey)
			// The issue lives on in OPS: its changes are no longer the
			// item's and leave no trace in its sync log.
			before := len(syncLog(t, e, it.ID))
			jiraEdit(t, e, newKey, map[string]any{"summary": "Now an OPS matter"})
			e.Deliver()
			e.Sync()
			if after := syncLog(t, e, it.ID); len(after) != before {
				t.Errorf("a change of the moved-out issue reached the item's sync log: %d entries, want %d", len(after), before)
			}
		})
		t.Run(string(dep)+"/recreate", func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)
			if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) { m["on_issue_deleted"] = mapping.OnIssueDeletedRecreate }); st != 200 {
				t.Fatalf("mapping: %d", st)
			}
			newKey := moveIssue(t, e, key, "OPS")
			e.Deliver()
			e.Sync()
			got := jiraKey(t, e, it.ID)
			if got == newKey || !strings.HasPrefix(got, "SEC-") || got == key {
				t.Fatalf("item linked to %s; want a new SEC issue (old %s, moved %s)", got, key, newKey)
			}
			if is := readIssue(t, e, got); is.Fields.Summary != it.Title {
				t.Errorf("recreated issue: %+v", is.Fields)
			}
		})
	}
}

// syncLog reads an item's sync log (its first page).
func syncLog(t testing.TB, e *apptest.Env, itemID string) []map[string]any {
	t.Helper()
	var log struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/items/"+itemID+"/events", nil, &log)
	return log.Events
}

// assertSyncLog checks that the item's sync log has an entry of action
// for issue key want.
func assertSyncLog(t testing.TB, e *apptest.Env, itemID, action, want string) {
	t.Helper()
	events := syncLog(t, e, itemID)
	for _, ev := range events {
		if ev["action"] == action && ev["issue_key"] == want {
			return
		}
	}
	t.Errorf("no %q sync log entry naming %s: %v", action, want, events)
}
