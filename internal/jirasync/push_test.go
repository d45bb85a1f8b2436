package jirasync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
)

// deployments are the Jira versions every end-to-end sync test runs
// against: Cloud, Data Center 9 (unsigned webhooks) and Data Center 10.
var deployments = jirasim.Profiles

type item struct {
	ID   string `json:"id"`
	Jira *struct {
		Key string `json:"key"`
		URL string `json:"url"`
	} `json:"jira"`
}

type issue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary     string          `json:"summary"`
		Description json.RawMessage `json:"description"`
		Labels      []string        `json:"labels"`
		Priority    struct {
			Name string `json:"name"`
		} `json:"priority"`
		Status struct {
			Name string `json:"name"`
		} `json:"status"`
		IssueType struct {
			Name string `json:"name"`
		} `json:"issuetype"`
		Parent *struct {
			Key string `json:"key"`
		} `json:"parent"`
		CVSS      *float64 `json:"customfield_10050"`
		AssetID   *string  `json:"customfield_10051"`
		Component *struct {
			Value string `json:"value"`
		} `json:"customfield_10052"`
		Comment struct {
			Comments []struct {
				ID   string          `json:"id"`
				Body json.RawMessage `json:"body"`
			} `json:"comments"`
		} `json:"comment"`
		Attachment []struct {
			ID       string `json:"id"`
			Filename string `json:"filename"`
			Size     int64  `json:"size"`
			Content  string `json:"content"`
		} `json:"attachment"`
	} `json:"fields"`
}

// readIssue reads an issue back through Jira's REST API, as a person would.
func readIssue(t testing.TB, e *apptest.Env, key string) issue {
	t.Helper()
	var is issue
	if st := e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, &is); st != 200 {
		t.Fatalf("GET issue %s: %d", key, st)
	}
	return is
}

// searchAll returns the keys of every issue of SEC.
func searchAll(t testing.TB, e *apptest.Env) []string {
	t.Helper()
	var keys []string
	if e.Deploy == "datacenter" {
		for start := 0; ; {
			var page struct {
				Issues []struct{ Key string } `json:"issues"`
				Total  int                    `json:"total"`
			}
			if st := e.Jira("dev", "GET", fmt.Sprintf("/rest/api/2/search?jql=project%%3DSEC&startAt=%d&maxResults=100&fields=summary", start), nil, &page); st != 200 {
				t.Fatalf("search: %d", st)
			}
			for _, is := range page.Issues {
				keys = append(keys, is.Key)
			}
			start += len(page.Issues)
			if len(page.Issues) == 0 || start >= page.Total {
				return keys
			}
		}
	}
	token := ""
	for {
		var page struct {
			Issues        []struct{ Key string } `json:"issues"`
			NextPageToken string                 `json:"nextPageToken"`
		}
		body := map[string]any{"jql": "project = SEC", "fields": []string{"summary"}, "maxResults": 100}
		if token != "" {
			body["nextPageToken"] = token
		}
		if st := e.Jira("dev", "POST", "/rest/api/3/search/jql", body, &page); st != 200 {
			t.Fatalf("search: %d", st)
		}
		for _, is := range page.Issues {
			keys = append(keys, is.Key)
		}
		if page.NextPageToken == "" {
			return keys
		}
		token = page.NextPageToken
	}
}

func text(raw json.RawMessage) string { return string(raw) }

func createItem(t testing.TB, e *apptest.Env, targetID string, body map[string]any) item {
	t.Helper()
	var it item
	e.Must(201, "POST", "/api/v1/targets/"+targetID+"/items", body, &it)
	return it
}

func jiraKey(t testing.TB, e *apptest.Env, itemID string) string {
	t.Helper()
	var it item
	e.Must(200, "GET", "/api/v1/items/"+itemID, nil, &it)
	if it.Jira == nil || it.Jira.Key == "" {
		t.Fatalf("item %s has no Jira issue", itemID)
	}
	return it.Jira.Key
}

func TestOutboundScenarios(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")

			// Create.
			vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SQL injection in /search",
				"description": "The `q` parameter is **not** escaped.\n\n- see request\n- see response", "severity": "critical",
				"fields": map[string]any{"cvss_score": 9.8, "asset_id": "pay-01", "labels": []string{"pci", "sqli"}}})
			e.Sync()
			key := jiraKey(t, e, vuln.ID)
			is := readIssue(t, e, key)
			if is.Fields.Summary != "SQL injection in /search" || is.Fields.Priority.Name != "Highest" || is.Fields.IssueType.Name != "Bug" || is.Fields.Status.Name != "To Do" {
				t.Fatalf("created issue: %+v", is.Fields)
			}
			if is.Fields.CVSS == nil || *is.Fields.CVSS != 9.8 || is.Fields.AssetID == nil || *is.Fields.AssetID != "pay-01" || is.Fields.Component == nil || is.Fields.Component.Value != "Web" {
				t.Fatalf("mapped fields and defaults: %+v", is.Fields)
			}
			if !strings.Contains(text(is.Fields.Description), "escaped") {
				t.Errorf("description: %s", is.Fields.Description)
			}
			if dep == "cloud" && !strings.Contains(text(is.Fields.Description), `"type":"doc"`) {
				t.Errorf("Cloud description is not ADF: %s", is.Fields.Description)
			}
			if dep.Deployment() == "datacenter" && !strings.Contains(text(is.Fields.Description), "*not*") {
				t.Errorf("Data Center description is not wiki markup: %s", is.Fields.Description)
			}
			wantLabels := map[string]bool{"pci": true, "sqli": true, jirasync.Marker(vuln.ID): true}
			if len(is.Fields.Labels) != 3 || !wantLabels[is.Fields.Labels[0]] || !wantLabels[is.Fields.Labels[1]] || !wantLabels[is.Fields.Labels[2]] {
				t.Errorf("labels: %v", is.Fields.Labels)
			}

			// A label a person adds in Jira survives our label updates.
			if st := e.Jira("dev", "PUT", "/rest/api/"+e.APIVersion()+"/issue/"+key, map[string]any{"update": map[string]any{"labels": []any{map[string]any{"add": "triaged"}}}}, nil); st != 204 {
				t.Fatalf("dev adds a label: %d", st)
			}

			// Update: only what changed, in one edit call.
			before := e.Sim.Counters().Total.Requests
			e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"title": "SQL injection in /search (confirmed)", "fields": map[string]any{"cvss_score": 9.1, "labels": []string{"pci"}}}, nil)
			e.Sync()
			if calls := e.Sim.Counters().Total.Requests - before; calls != 1 {
				t.Errorf("an update of three fields took %d Jira calls, want 1", calls)
			}
			is = readIssue(t, e, key)
			if is.Fields.Summary != "SQL injection in /search (confirmed)" || *is.Fields.CVSS != 9.1 {
				t.Errorf("updated issue: %+v", is.Fields)
			}
			labels := strings.Join(is.Fields.Labels, ",")
			if !strings.Contains(labels, "triaged") || strings.Contains(labels, "sqli") || !strings.Contains(labels, "pci") {
				t.Errorf("labels after update: %v (want pci and triaged, not sqli)", is.Fields.Labels)
			}

			// Multi-step transition: To Do → Done has no direct transition.
			e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "resolved"}, nil)
			e.Sync()
			is = readIssue(t, e, key)
			if is.Fields.Status.Name != "Done" {
				t.Fatalf("status after resolving: %s, want Done", is.Fields.Status.Name)
			}
			if !strings.Contains(text(is.Fields.Comment.Comments[len(is.Fields.Comment.Comments)-1].Body), "resolved") {
				t.Errorf("no key-event comment for the status change: %+v", is.Fields.Comment.Comments)
			}
			// And back: Done → To Do through Reopen.
			e.Must(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "open"}, nil)
			e.Sync()
			if is = readIssue(t, e, key); is.Fields.Status.Name != "To Do" {
				t.Fatalf("status after reopening: %s", is.Fields.Status.Name)
			}

			// Comment.
			commentsBefore := len(is.Fields.Comment.Comments)
			e.Must(201, "POST", "/api/v1/items/"+vuln.ID+"/comments", map[string]any{"body": "Fixed in **v2.3.1**, please verify."}, nil)
			e.Sync()
			e.Sync() // a second run sends nothing more
			is = readIssue(t, e, key)
			if len(is.Fields.Comment.Comments) != commentsBefore+1 || !strings.Contains(text(is.Fields.Comment.Comments[commentsBefore].Body), "v2.3.1") {
				t.Fatalf("comments: %+v", is.Fields.Comment.Comments)
			}

			// Attachment.
			content := []byte("HTTP/1.1 500 Internal Server Error\r\n\r\nSQL syntax error near '''")
			upload(t, e, vuln.ID, "response.txt", content)
			e.Sync()
			is = readIssue(t, e, key)
			if len(is.Fields.Attachment) != 1 || is.Fields.Attachment[0].Filename != "response.txt" || is.Fields.Attachment[0].Size != int64(len(content)) {
				t.Fatalf("attachments: %+v", is.Fields.Attachment)
			}
			if got := download(t, e, is.Fields.Attachment[0].Content); !bytes.Equal(got, content) {
				t.Errorf("attachment content in Jira: %q", got)
			}

			// Sub-task: a finding under the vulnerability.
			finding := createItem(t, e, s.TargetID, map[string]any{"kind": "finding", "title": "Injection on staging", "severity": "high", "parent_id": vuln.ID})
			e.Sync()
			fkey := jiraKey(t, e, finding.ID)
			fis := readIssue(t, e, fkey)
			if fis.Fields.IssueType.Name != "Sub-task" || fis.Fields.Parent == nil || fis.Fields.Parent.Key != key || fis.Fields.Priority.Name != "High" {
				t.Fatalf("sub-task: %+v", fis.Fields)
			}
			is = readIssue(t, e, key)
			if last := is.Fields.Comment.Comments[len(is.Fields.Comment.Comments)-1]; !strings.Contains(text(last.Body), "Injection on staging") {
				t.Errorf("the parent got no new-finding comment: %s", last.Body)
			}

			// Retest results of the finding are key events on the vulnerability's issue.
			for _, step := range []struct{ status, want string }{{"resolved", "passed"}, {"open", "failed"}} {
				e.Must(200, "PATCH", "/api/v1/items/"+finding.ID, map[string]any{"status": step.status}, nil)
				e.Sync()
				is = readIssue(t, e, key)
				if last := is.Fields.Comment.Comments[len(is.Fields.Comment.Comments)-1]; !strings.Contains(text(last.Body), "Retest") || !strings.Contains(text(last.Body), step.want) {
					t.Errorf("finding %s: last comment on the parent: %s, want a retest %s", step.status, last.Body, step.want)
				}
			}

			// The sync log shows each call.
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID+"/events", nil, &evs)
			actions := map[string]int{}
			for _, ev := range evs.Events {
				actions[ev["action"].(string)]++
				if ev["result"] != "ok" {
					t.Errorf("failed sync event: %v", ev)
				}
			}
			for _, a := range []string{"create", "update", "transition", "comment", "attachment"} {
				if actions[a] == 0 {
					t.Errorf("no %q event in the sync log: %v", a, actions)
				}
			}
			if keys := searchAll(t, e); len(keys) != 2 {
				t.Errorf("issues in SEC: %v, want exactly 2", keys)
			}
		})
	}
}

func upload(t testing.TB, e *apptest.Env, itemID, name string, content []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.API.URL+"/api/v1/items/"+itemID+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
}

func download(t testing.TB, e *apptest.Env, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if e.Deploy == "datacenter" {
		req.Header.Set("Authorization", "Bearer dev-pat")
	} else {
		req.SetBasicAuth("dev@example.test", "dev-token")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// The process dies between Jira's answer to the create call and the
// bookkeeping; after a restart there is still exactly one issue.
func TestCrashAfterCreateLeavesOneIssue(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			dir := t.TempDir()
			clock := apptest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			// The job's goroutine ends right after Jira answered: nothing
			// after that point runs, as in a crash. The job stays "running"
			// under its lease in the store.
			crash := func(string) error { runtime.Goexit(); return nil }
			first := apptest.New(t, apptest.Options{Profile: dep, DataDir: dir, Clock: clock, AfterCreate: crash})
			s := first.Setup("web")
			vuln := createItem(t, first, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Stored XSS", "severity": "high"})
			first.Sync()
			if keys := searchAll(t, first); len(keys) != 1 {
				t.Fatalf("issues after the crashed create: %v", keys)
			}
			var it item
			first.Must(200, "GET", "/api/v1/items/"+vuln.ID, nil, &it)
			if it.Jira != nil {
				t.Fatalf("the crash happened before bookkeeping, yet the item is linked: %+v", it.Jira)
			}
			if running := jobsIn(t, first, store.JobRunning); len(running) != 1 {
				t.Fatalf("running jobs after the crash: %+v", running)
			}
			first.Close()

			// Restart on the same data once the dead job's lease expired.
			clock.Advance(3 * time.Minute)
			second := apptest.New(t, apptest.Options{Profile: dep, DataDir: dir, Clock: clock, Sim: first.Sim, SimURL: first.SimURL})
			second.Sync()
			key := jiraKey(t, second, vuln.ID)
			if keys := searchAll(t, second); len(keys) != 1 || keys[0] != key {
				t.Fatalf("issues after the restart: %v, want only %s", keys, key)
			}
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			second.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID+"/events", nil, &evs)
			creates := 0
			for _, ev := range evs.Events {
				if ev["action"] == "create" {
					creates++
				}
			}
			if creates != 1 {
				t.Errorf("create calls: %d, want 1 (the restart finds the issue by its marker)", creates)
			}
		})
	}
}

// A backfill of 1,000 items run twice makes exactly 1,000 issues.
func TestBackfillTwiceMakesNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("backfill of 1,000 items: skipped with -short")
	}
	e := apptest.New(t, apptest.Options{})
	var target struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "legacy-monolith"}, &target)
	for i := 0; i < 1000; i++ {
		createItem(t, e, target.ID, map[string]any{"kind": "vulnerability", "title": fmt.Sprintf("Finding %04d", i), "severity": []string{"critical", "high", "medium", "low", "info"}[i%5]})
	}
	var conn, in struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
	e.Must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &in)
	e.Must(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", apptest.SpecMapping, nil)
	for run := 1; run <= 2; run++ {
		var queued struct {
			Queued int `json:"queued"`
		}
		e.Must(202, "POST", "/api/v1/integrations/"+in.ID+"/backfill", "{}", &queued)
		if queued.Queued != 1000 {
			t.Fatalf("run %d queued %d items", run, queued.Queued)
		}
		e.Sync()
		var v struct {
			Backfill struct{ Total, Done, Failed int } `json:"backfill"`
		}
		e.Must(200, "GET", "/api/v1/integrations/"+in.ID, nil, &v)
		if v.Backfill.Total != 1000 || v.Backfill.Done != 1000 || v.Backfill.Failed != 0 {
			t.Fatalf("run %d progress: %+v", run, v.Backfill)
		}
		if keys := searchAll(t, e); len(keys) != 1000 {
			t.Fatalf("run %d: %d issues in SEC, want 1000", run, len(keys))
		}
	}
}

// With 20 % of calls answered 5xx and 10 % 429, every item converges, no
// issue is duplicated, and nothing is sent before a Retry-After passed.
//
// The client gets one request slot here: a request already on the wire
// when another one's 429 arrives cannot be recalled, and the simulator
// would count it as early although vulnsync sent it before it could know.
// With one slot the counter measures exactly what vulnsync sent after it
// learned of a Retry-After (from any job, on any issue).
func TestConvergesUnderFaults(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock, JiraConcurrency: 1})
			s := e.Setup("api-gateway")
			e.Sim.SetFaults(jirasim.Faults{ErrorRate: 0.2, Rate429: 0.1, RetryAfterS: 2})
			var items []item
			for i := 0; i < 30; i++ {
				items = append(items, createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": fmt.Sprintf("Issue %d", i), "severity": "medium"}))
			}
			for i, it := range items {
				if i%3 == 0 {
					e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"status": "resolved", "severity": "high"}, nil)
				}
			}
			converge(t, e, clock)
			e.Sim.SetFaults(jirasim.Faults{})
			for i, it := range items {
				is := readIssue(t, e, jiraKey(t, e, it.ID))
				wantStatus, wantPrio := "To Do", "Medium"
				if i%3 == 0 {
					wantStatus, wantPrio = "Done", "High"
				}
				if is.Fields.Status.Name != wantStatus || is.Fields.Priority.Name != wantPrio {
					t.Errorf("item %d: status %s priority %s, want %s %s", i, is.Fields.Status.Name, is.Fields.Priority.Name, wantStatus, wantPrio)
				}
			}
			if keys := searchAll(t, e); len(keys) != 30 {
				t.Fatalf("%d issues, want 30", len(keys))
			}
			c := e.Sim.Counters()
			if c.Total.Early != 0 {
				t.Errorf("%d requests arrived before Retry-After passed", c.Total.Early)
			}
			if c.Total.RateLimited == 0 || c.Total.Errors == 0 {
				t.Errorf("faults were not exercised: %+v", c.Total)
			}
			t.Logf("%+v", c.Total)
		})
	}
}

// converge runs due jobs and moves the clock until no work is left; no
// work may have failed for good.
func converge(t *testing.T, e *apptest.Env, clock *apptest.Clock) {
	t.Helper()
	for round := 0; round < 500; round++ {
		e.Sync()
		if len(jobsIn(t, e, store.JobPending)) == 0 {
			if failed := jobsIn(t, e, store.JobFailed); len(failed) > 0 {
				t.Fatalf("work failed for good: %+v", failed)
			}
			return
		}
		clock.Advance(5 * time.Second)
	}
	t.Fatal("the sync did not converge in 500 rounds")
}

func jobsIn(t testing.TB, e *apptest.Env, st store.JobState) []store.Job {
	t.Helper()
	var js []store.Job
	err := e.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		js, err = tx.ListJobs(context.Background(), store.JobFilter{Kind: "sync_item", State: st, Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Data Center's Done screen requires a resolution: vulnsync sends the one
// the mapping names for the target status, else the one named like it
// ("Won't Do" for Won't Do), never "Done" for everything.
func TestTransitionScreensGetTheMappedResolution(t *testing.T) {
	for _, dep := range []jirasim.Profile{jirasim.ProfileDC9, jirasim.ProfileDC10} {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			var doc map[string]any
			if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
				t.Fatal(err)
			}
			doc["resolutions"] = map[string]string{"Done": "Cannot Reproduce"}
			e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", doc, nil)
			fixed := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "low"})
			risk := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Weak TLS on legacy host", "severity": "medium"})
			e.Sync()
			e.Must(200, "PATCH", "/api/v1/items/"+fixed.ID, map[string]any{"status": "resolved"}, nil)
			e.Must(200, "PATCH", "/api/v1/items/"+risk.ID, map[string]any{"status": "accepted_risk"}, nil)
			e.Sync()
			for id, want := range map[string][2]string{fixed.ID: {"Done", "Cannot Reproduce"}, risk.ID: {"Won't Do", "Won't Do"}} {
				var is struct {
					Fields struct {
						Status     struct{ Name string }  `json:"status"`
						Resolution *struct{ Name string } `json:"resolution"`
					} `json:"fields"`
				}
				e.Jira("admin", "GET", "/rest/api/2/issue/"+jiraKey(t, e, id)+"?fields=status,resolution", nil, &is)
				if is.Fields.Status.Name != want[0] || is.Fields.Resolution == nil || is.Fields.Resolution.Name != want[1] {
					t.Errorf("issue of %s: status %q resolution %+v, want %s with resolution %s", id, is.Fields.Status.Name, is.Fields.Resolution, want[0], want[1])
				}
			}
		})
	}
}
