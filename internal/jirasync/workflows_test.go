package jirasync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
)

// jiraWrites counts the requests the simulator answered that were not
// reads.
func jiraWrites(c jirasim.Counters) int64 {
	var n int64
	for ep, ec := range c.Endpoints {
		if !strings.HasPrefix(ep, "GET ") && !strings.Contains(ep, "/search") {
			n += ec.Requests
		}
	}
	return n
}

// pendingJobs counts the queued jobs of the store.
func pendingJobs(t testing.TB, e *apptest.Env) int {
	t.Helper()
	var n int
	err := e.Store.View(context.Background(), func(tx store.Tx) error {
		js, err := tx.ListJobs(context.Background(), store.JobFilter{State: store.JobPending, Limit: store.MaxPageSize})
		n = len(js)
		return err
	})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return n
}

func TestJiraPreviewWritesNothing(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SQL injection", "severity": "critical",
				"fields": map[string]any{"cvss_score": 9.8, "labels": []string{"pci"}}})

			before := jiraWrites(e.Sim.Counters())
			var p jirasync.Preview
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/jira-preview", nil, &p)
			if p.Action != "create" || p.Project != "SEC" || p.IssueType != "Bug" || p.Summary != "SQL injection" || p.Priority != "Highest" || p.Status != "To Do" {
				t.Fatalf("preview of a new item: %+v", p)
			}
			values := map[string]any{}
			for _, f := range p.Fields {
				values[f.ID] = f.Value
			}
			if values["customfield_10050"] != 9.8 {
				t.Errorf("cvss sent as %v, want 9.8", values["customfield_10050"])
			}
			if l, _ := values["labels"].([]any); len(l) != 2 || l[0] != "pci" || l[1] != jirasync.Marker(vuln.ID) {
				t.Errorf("labels sent as %v, want pci and the marker", values["labels"])
			}
			if got := jiraWrites(e.Sim.Counters()); got != before {
				t.Fatalf("the preview wrote to Jira: %d writes, want %d", got, before)
			}
			if keys := searchAll(t, e); len(keys) != 0 {
				t.Fatalf("the preview created issues: %v", keys)
			}

			// A second item moved to in progress teaches the sync the
			// transitions out of To Do; the first, linked, then previews
			// its path by name.
			other := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "XSS", "severity": "low"})
			e.Sync()
			e.Must(200, "PATCH", "/api/v1/items/"+other.ID, map[string]any{"status": "in_progress"}, nil)
			e.Sync()
			e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "in_progress", "fields": map[string]any{"cvss_score": 7.5}}, nil)
			before = jiraWrites(e.Sim.Counters())
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/jira-preview", nil, &p)
			if p.Action != "update" || p.IssueKey != jiraKey(t, e, vuln.ID) || p.Status != "In Progress" {
				t.Fatalf("preview of a linked item: %+v", p)
			}
			if len(p.Transitions) != 1 || !strings.HasSuffix(p.Transitions[0], "→ In Progress") || p.TransitionsNote != "" {
				t.Errorf("transitions: %v (%q), want one step to In Progress", p.Transitions, p.TransitionsNote)
			}
			for _, f := range p.Fields {
				if want := f.ID == "customfield_10050"; f.Changed != want {
					t.Errorf("field %s changed=%v, want %v", f.ID, f.Changed, want)
				}
			}
			if got := jiraWrites(e.Sim.Counters()); got != before {
				t.Fatalf("the preview wrote to Jira: %d writes, want %d", got, before)
			}

			// Dry-run backfill: one new item to create, one changed item to
			// update, one in line; nothing queued, nothing sent.
			createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "CSRF", "severity": "medium"})
			jobsBefore := pendingJobs(t, e)
			var plan jirasync.BackfillPlan
			e.Must(200, "POST", "/api/v1/integrations/"+s.IntegrationID+"/backfill?dry_run=true", nil, &plan)
			if plan != (jirasync.BackfillPlan{Create: 1, Update: 1, Unchanged: 1}) {
				t.Errorf("dry run: %+v, want 1 create, 1 update, 1 unchanged", plan)
			}
			if got := pendingJobs(t, e); got != jobsBefore {
				t.Errorf("the dry run queued jobs: %d pending, want %d", got, jobsBefore)
			}
			if got := jiraWrites(e.Sim.Counters()); got != before {
				t.Errorf("the dry run wrote to Jira: %d writes, want %d", got, before)
			}
			var events struct {
				Events []map[string]any `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/events", nil, &events)
			n := len(events.Events)
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/jira-preview", nil, nil)
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/events", nil, &events)
			if len(events.Events) != n {
				t.Errorf("the preview wrote to the sync log: %d events, want %d", len(events.Events), n)
			}
		})
	}
}

// integrationView is the part of GET /api/v1/integrations/{id} these tests read.
type integrationView struct {
	State  string `json:"state"`
	Paused bool   `json:"paused"`
	Queue  struct {
		Jobs       int `json:"jobs"`
		Deliveries int `json:"deliveries"`
	} `json:"queue"`
}

func TestPauseKeepsBothSidesThenResumeDrains(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SQL injection", "severity": "high",
				"fields": map[string]any{"cvss_score": 5.0}})
			e.Sync()
			key := jiraKey(t, e, vuln.ID)

			var v integrationView
			e.Must(200, "POST", "/api/v1/integrations/"+s.IntegrationID+"/pause", nil, &v)
			if !v.Paused || v.State != "paused" {
				t.Fatalf("after pause: %+v", v)
			}
			// 20 changes: ten titles in vulnsync, ten CVSS scores in Jira
			// (each webhook delivered and recorded), and a new item.
			for i := range 10 {
				e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"title": fmt.Sprintf("title %d", i)}, nil)
				jiraEdit(t, e, key, map[string]any{"customfield_10050": float64(i) + 0.5})
				e.Deliver()
			}
			added := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "made while paused", "severity": "low"})
			e.Sync()

			if is := readIssue(t, e, key); is.Fields.Summary != "SQL injection" {
				t.Errorf("while paused, Jira's summary became %q", is.Fields.Summary)
			}
			if it := getItem(t, e, vuln.ID); it.Fields["cvss_score"] != 5.0 {
				t.Errorf("while paused, the item's CVSS became %v", it.Fields["cvss_score"])
			}
			if keys := searchAll(t, e); len(keys) != 1 {
				t.Errorf("while paused, Jira holds %v, want only %s", keys, key)
			}
			e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID, nil, &v)
			if !v.Paused || v.Queue.Jobs != 2 || v.Queue.Deliveries < 10 {
				t.Errorf("paused view: %+v, want paused with 2 jobs and at least 10 deliveries waiting", v)
			}

			e.Must(200, "POST", "/api/v1/integrations/"+s.IntegrationID+"/resume", nil, &v)
			if v.Paused || v.State != "active" {
				t.Fatalf("after resume: %+v", v)
			}
			e.Sync()
			if is := readIssue(t, e, key); is.Fields.Summary != "title 9" || is.Fields.CVSS == nil || *is.Fields.CVSS != 9.5 {
				t.Errorf("after resume, Jira shows %q, CVSS %v; want the last title and 9.5", is.Fields.Summary, is.Fields.CVSS)
			}
			if it := getItem(t, e, vuln.ID); it.Fields["cvss_score"] != 9.5 || it.Title != "title 9" {
				t.Errorf("after resume, the item shows %q, CVSS %v; want the last title and 9.5", it.Title, it.Fields["cvss_score"])
			}
			if keys := searchAll(t, e); len(keys) != 2 {
				t.Errorf("after resume, Jira holds %v, want two issues", keys)
			}
			jiraKey(t, e, added.ID)
			e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID, nil, &v)
			if v.Queue.Jobs != 0 || v.Queue.Deliveries != 0 {
				t.Errorf("after resume, still queued: %+v", v.Queue)
			}
		})
	}
}

// jiraCreate creates an issue as dev and returns its key.
func jiraCreate(t testing.TB, e *apptest.Env, project, issueType, summary string) string {
	t.Helper()
	var out struct {
		Key string `json:"key"`
	}
	body := map[string]any{"fields": map[string]any{"project": map[string]any{"key": project}, "issuetype": map[string]any{"name": issueType},
		"summary": summary, "priority": map[string]any{"name": "Low"}, "customfield_10052": map[string]any{"value": "Web"}}}
	if st := e.Jira("dev", "POST", "/rest/api/"+e.APIVersion()+"/issue", body, &out); st != 201 {
		t.Fatalf("create %s issue: %d", project, st)
	}
	return out.Key
}

func TestLinkUnlinkRelink(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "critical",
				"fields": map[string]any{"cvss_score": 8.1}})
			other := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Other", "severity": "low"})
			e.Sync()
			existing := jiraCreate(t, e, "SEC", "Bug", "Reported by a developer")
			elsewhere := jiraCreate(t, e, "OPS", "Bug", "Not ours")
			task := jiraCreate(t, e, "SEC", "Task", "A task")
			var errBody struct {
				Error string `json:"error"`
			}
			e.Must(409, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": existing}, nil) // it has its issue
			// vuln's own issue is left behind: the developer's is the one.
			e.Must(204, "DELETE", "/api/v1/items/"+vuln.ID+"/jira-link", nil, nil)
			e.Must(422, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": elsewhere}, &errBody)
			if !strings.Contains(errBody.Error, "OPS") {
				t.Errorf("another project: %q", errBody.Error)
			}
			e.Must(422, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": "SEC-9999"}, nil)
			e.Must(422, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": task}, nil)
			e.Must(409, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": jiraKey(t, e, other.ID)}, nil) // other's issue
			var linked struct {
				Jira struct {
					Key string `json:"key"`
				} `json:"jira"`
			}
			before := len(searchAll(t, e))
			e.Must(200, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": existing}, &linked)
			if linked.Jira.Key != existing {
				t.Fatalf("linked to %q, want %s", linked.Jira.Key, existing)
			}
			e.Must(409, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": existing}, nil) // already linked
			e.Sync()
			// At link time vulnsync's values win: they are pushed.
			is := readIssue(t, e, existing)
			if is.Fields.Summary != "Open redirect" || is.Fields.Priority.Name != "Highest" || is.Fields.CVSS == nil || *is.Fields.CVSS != 8.1 {
				t.Errorf("after link, Jira shows %q, %s, CVSS %v; want vulnsync's values", is.Fields.Summary, is.Fields.Priority.Name, is.Fields.CVSS)
			}
			if n := len(searchAll(t, e)); n != before {
				t.Errorf("linking created issues: %d, want %d", n, before)
			}
			// Later, newest wins as usual: a Jira edit comes back.
			jiraEdit(t, e, existing, map[string]any{"customfield_10050": 6.5})
			e.Deliver()
			e.Sync()
			if it := getItem(t, e, vuln.ID); it.Fields["cvss_score"] != 6.5 || it.Jira == nil || it.Jira.Key != existing {
				t.Errorf("after a Jira edit, the item shows CVSS %v, issue %+v", it.Fields["cvss_score"], it.Jira)
			}

			// Unlink: the issue stays, the item stops syncing both ways.
			e.Must(204, "DELETE", "/api/v1/items/"+vuln.ID+"/jira-link", nil, nil)
			e.Must(409, "DELETE", "/api/v1/items/"+vuln.ID+"/jira-link", nil, nil)
			if it := getItem(t, e, vuln.ID); it.Jira != nil {
				t.Errorf("after unlink, the item still shows %+v", it.Jira)
			}
			e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"title": "Open redirect (unlinked)"}, nil)
			jiraEdit(t, e, existing, map[string]any{"customfield_10050": 1.5})
			e.Deliver()
			e.Sync()
			if is := readIssue(t, e, existing); is.Fields.Summary != "Open redirect" {
				t.Errorf("after unlink, the item's change reached Jira: %q", is.Fields.Summary)
			}
			if it := getItem(t, e, vuln.ID); it.Fields["cvss_score"] != 6.5 {
				t.Errorf("after unlink, Jira's change reached the item: %v", it.Fields["cvss_score"])
			}
			if n := len(searchAll(t, e)); n != before {
				t.Errorf("after unlink, the sync created issues: %d, want %d", n, before)
			}

			// Relink: vulnsync's values are pushed again.
			e.Must(200, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": existing}, nil)
			e.Sync()
			if is := readIssue(t, e, existing); is.Fields.Summary != "Open redirect (unlinked)" || is.Fields.CVSS == nil || *is.Fields.CVSS != 6.5 {
				t.Errorf("after relink, Jira shows %q, CVSS %v", is.Fields.Summary, is.Fields.CVSS)
			}
			var events struct {
				Events []struct {
					Action string `json:"action"`
				} `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/events?action=link", nil, &events)
			links := len(events.Events)
			e.Must(200, "GET", "/api/v1/items/"+vuln.ID+"/events?action=unlink", nil, &events)
			if links < 2 || len(events.Events) < 1 {
				t.Errorf("sync log: %d link and %d unlink entries, want 2 and 1 at least", links, len(events.Events))
			}
		})
	}
}
