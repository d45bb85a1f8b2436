package jirasync_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// A relink moves an item's link to another issue in one step, under the
// one-issue-one-item rule: an issue linked to another item is refused with
// 409 (nothing changes), relinking to the item's own issue is refused too,
// and the issue left behind is free for another item. An issue whose link
// ended when it left the project (moved out, unlink policy) is free again.
// Every link, relink and unlink is in the sync log and the audit log.
func TestRelinkEnforcesOneIssueOneItem(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			a := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "high"})
			b := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Stored XSS", "severity": "medium"})
			e.Sync()
			aKey, bKey := jiraKey(t, e, a.ID), jiraKey(t, e, b.ID)
			dev := jiraCreate(t, e, "SEC", "Bug", "Reported by a developer")

			var errBody struct {
				Error string `json:"error"`
			}
			e.Must(409, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": bKey, "relink": true}, &errBody)
			if !strings.Contains(errBody.Error, b.ID) {
				t.Errorf("409 does not name the item holding %s: %q", bKey, errBody.Error)
			}
			e.Must(409, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": aKey, "relink": true}, nil)
			if got := jiraKey(t, e, a.ID); got != aKey {
				t.Fatalf("a refused relink changed the link: %s, want %s", got, aKey)
			}

			var linked struct {
				Jira struct {
					Key string `json:"key"`
				} `json:"jira"`
			}
			e.Must(200, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": dev, "relink": true}, &linked)
			if linked.Jira.Key != dev || jiraKey(t, e, a.ID) != dev {
				t.Fatalf("relinked to %q, want %s", linked.Jira.Key, dev)
			}
			e.Sync()
			if is := readIssue(t, e, dev); is.Fields.Summary != "Open redirect" {
				t.Errorf("after relink, %s shows %q; want vulnsync's title", dev, is.Fields.Summary)
			}
			// The issue a left behind is free: b relinks to it, and its own
			// becomes free in turn.
			e.Must(200, "POST", "/api/v1/items/"+b.ID+"/jira-link", map[string]any{"issue_key": aKey, "relink": true}, nil)
			e.Must(409, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": aKey, "relink": true}, nil)

			// An issue that left the project (unlink policy) releases its
			// item's link; moved back, it can be linked again.
			bNowKey := jiraKey(t, e, b.ID)
			moved := moveIssue(t, e, bNowKey, "OPS")
			e.Deliver()
			e.Sync()
			if it := getItem(t, e, b.ID); it.Jira != nil {
				t.Fatalf("b still linked after its issue moved out: %+v", it.Jira)
			}
			back := moveIssue(t, e, moved, "SEC")
			e.Deliver()
			e.Sync()
			e.Must(200, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": back, "relink": true}, nil)

			var events struct {
				Events []struct {
					Action   string `json:"action"`
					IssueKey string `json:"issue_key"`
				} `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/items/"+a.ID+"/events?action=relink", nil, &events)
			if len(events.Events) != 2 {
				t.Errorf("sync log: %d relink entries for a, want 2: %+v", len(events.Events), events.Events)
			}
			var audit struct {
				Entries []struct {
					Action string `json:"action"`
					Object string `json:"object"`
					Detail string `json:"detail"`
				} `json:"entries"`
			}
			e.Must(200, "GET", "/api/v1/audit?action=item.relink", nil, &audit)
			var forA int
			for _, en := range audit.Entries {
				if en.Object == "item:"+a.ID && strings.Contains(en.Detail, "to ") {
					forA++
				}
			}
			if forA != 2 {
				t.Errorf("audit: %d item.relink entries for a, want 2: %+v", forA, audit.Entries)
			}
			e.Must(204, "DELETE", "/api/v1/items/"+a.ID+"/jira-link", nil, nil)
			e.Must(200, "GET", "/api/v1/audit?action=item.unlink", nil, &audit)
			if len(audit.Entries) != 1 || audit.Entries[0].Object != "item:"+a.ID || !strings.Contains(audit.Entries[0].Detail, back) {
				t.Errorf("audit of the unlink: %+v", audit.Entries)
			}
		})
	}
}

// An issue key that cannot be one (a path, a query, spaces) is refused as
// the caller's mistake, 400 naming issue_key, before any Jira call: it
// used to reach the Jira client, answer 500 and leave a failed row in the
// sync log.
func TestLinkRefusesMalformedIssueKey(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: deployments[0]})
	s := e.Setup("payments-api")
	a := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "high"})
	e.Sync()
	key := jiraKey(t, e, a.ID)
	before := e.Sim.Counters().Total.Requests
	for _, bad := range []string{"../../rest/api/2/myself", "SEC-1?fields=x", "SEC 1", "SEC-", "-1", "SEC-1/comment", strings.Repeat("A", 300) + "-1"} {
		var got struct {
			Fields map[string]string `json:"fields"`
		}
		e.Must(400, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": bad, "relink": true}, &got)
		if got.Fields["issue_key"] == "" {
			t.Errorf("link to %q: no issue_key field error: %+v", bad, got)
		}
	}
	if n := e.Sim.Counters().Total.Requests - before; n != 0 {
		t.Errorf("malformed keys made %d Jira calls, want 0", n)
	}
	var events struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/items/"+a.ID+"/events?action=link", nil, &events)
	if len(events.Events) != 0 {
		t.Errorf("malformed keys left sync log rows: %v", events.Events)
	}
	if got := jiraKey(t, e, a.ID); got != key {
		t.Errorf("link changed to %s, want %s", got, key)
	}
}

// Linking to an issue Jira does not have is the caller's mistake (422):
// the sync log says it was skipped, and the connection's health shows no
// error for it.
func TestLinkToAMissingIssueIsNoSyncFailure(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: deployments[0]})
	s := e.Setup("payments-api")
	a := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "high"})
	e.Sync()
	e.Must(422, "POST", "/api/v1/items/"+a.ID+"/jira-link", map[string]any{"issue_key": "SEC-999", "relink": true}, nil)
	var events struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/items/"+a.ID+"/events?action=link", nil, &events)
	if len(events.Events) != 1 || events.Events[0]["result"] != "skipped" || !strings.Contains(fmt.Sprint(events.Events[0]["error"]), "SEC-999") {
		t.Errorf("sync log of the refused link: %v, want one skipped row naming SEC-999", events.Events)
	}
	var health map[string]any
	e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID+"/health", nil, &health)
	if le, _ := health["last_error"].(string); le != "" {
		t.Errorf("connection health after a refused link: last_error %q, want none", le)
	}
}
