package jirasync_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// The demo's false failures: an item created in progress is created in Jira
// (To Do) and moved to In Progress by the same job; the webhook of our own
// create, which shows the issue as it was at creation, arrives after that
// move. Applying it must not make vulnsync believe the issue went back to
// To Do: that belief sent a second "Start Progress" (400 "Transition id
// '21' is not valid for this issue" in the sync log) and a second "Status
// changed" comment. The same holds for the webhook of our first move when
// we have made a second one since (resolved: To Do → In Progress → Done).
func TestOurOwnStaleWebhooksAreNoStatusChange(t *testing.T) {
	cases := []struct {
		status string
		early  int // how many of our issue webhooks arrive before the next job
		jira   string
	}{
		{"in_progress", 1, "In Progress"},
		{"resolved", 2, "Done"},
	}
	for _, dep := range deployments {
		for _, tc := range cases {
			t.Run(string(dep)+"/"+tc.status, func(t *testing.T) { ourStaleWebhooks(t, dep, tc.status, tc.early, tc.jira) })
		}
	}
}

// ourStaleWebhooks creates an item in a status, lets only the first early
// webhooks of our own writes arrive before the next sync, then the rest.
func ourStaleWebhooks(t *testing.T, dep jirasim.Profile, status string, early int, jiraStatus string) {
	e := apptest.New(t, apptest.Options{Profile: dep})
	s := e.Setup("shop")
	e.HoldWebhooks(true)
	it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SSRF in image import", "severity": "high",
		"status": status, "fields": map[string]any{"cvss_score": 8.6}})
	e.Sync()
	key := jiraKey(t, e, it.ID)
	if is := readIssue(t, e, key); is.Fields.Status.Name != jiraStatus {
		t.Fatalf("issue status after the first sync: %s", is.Fields.Status.Name)
	}
	e.Deliver()
	var first, rest []apptest.Delivery
	for _, d := range e.Held() {
		if len(first) < early && strings.HasPrefix(d.Event(), "jira:issue_") {
			first = append(first, d)
		} else {
			rest = append(rest, d)
		}
	}
	if len(first) != early || !strings.HasPrefix(first[0].Event(), "jira:issue_created") {
		t.Fatalf("held issue deliveries %d, want %d starting with the create", len(first), early)
	}
	// Only these have come when the item's next job runs.
	for _, d := range first {
		if st := e.Send(d); st/100 != 2 {
			t.Fatalf("%s delivery answered %d", d.Event(), st)
		}
	}
	e.Sync()
	for _, d := range rest {
		if st := e.Send(d); st/100 != 2 {
			t.Fatalf("%s delivery answered %d", d.Event(), st)
		}
	}
	e.Sync()

	var evs struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID+"/events?limit=1000", nil, &evs)
	for _, ev := range evs.Events {
		if ev["result"] == "error" {
			t.Errorf("sync log failure: %v %v: %v", ev["action"], ev["jira_call"], ev["error"])
		}
	}
	n := 0
	for _, c := range readIssue(t, e, key).Fields.Comment.Comments {
		if strings.Contains(text(c.Body), "Status changed in vulnsync") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d \"Status changed\" comments on %s, want 1", n, key)
	}
	if got := getItem(t, e, it.ID); got.Status != status {
		t.Errorf("item status: %s, want %s", got.Status, status)
	}
}
