package apptest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

type importAnswer struct {
	ID        string `json:"id"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Reopened  int    `json:"reopened"`
	Closed    int    `json:"closed"`
	Unchanged int    `json:"unchanged"`
}

func importReport(t *testing.T, e *apptest.Env, targetID, format, scanner string, closeMissing bool, name string, report []byte) importAnswer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("format", format)
	if scanner != "" {
		_ = mw.WriteField("scanner", scanner)
	}
	if closeMissing {
		_ = mw.WriteField("close_missing", "true")
	}
	pw, _ := mw.CreateFormFile("file", name)
	_, _ = pw.Write(report)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.API.URL+"/api/v1/targets/"+targetID+"/imports", &buf)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		t.Fatalf("import %s: status %d: %s", name, resp.StatusCode, raw)
	}
	var a importAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

type apiItem struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	ParentID string         `json:"parent_id"`
	Title    string         `json:"title"`
	Severity string         `json:"severity"`
	Status   string         `json:"status"`
	Fields   map[string]any `json:"fields"`
	Jira     *struct {
		Key string `json:"key"`
	} `json:"jira"`
}

func listItems(t *testing.T, e *apptest.Env, targetID string) []apiItem {
	t.Helper()
	var page struct {
		Items []apiItem `json:"items"`
	}
	e.Must(200, "GET", "/api/v1/targets/"+targetID+"/items?limit=500", nil, &page)
	return page.Items
}

type jiraIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary   string                `json:"summary"`
		IssueType struct{ Name string } `json:"issuetype"`
		Status    struct{ Name string } `json:"status"`
		Priority  struct{ Name string } `json:"priority"`
		Parent    *struct{ Key string } `json:"parent"`
		DueDate   string                `json:"duedate"`
		CVSS      *float64              `json:"customfield_10050"`
	} `json:"fields"`
}

func issueOf(t *testing.T, e *apptest.Env, it apiItem) jiraIssue {
	t.Helper()
	var fresh apiItem
	e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &fresh)
	if fresh.Jira == nil {
		t.Fatalf("item %q has no Jira issue", it.Title)
	}
	var is jiraIssue
	if st := e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+fresh.Jira.Key, nil, &is); st != 200 {
		t.Fatalf("get issue %s: %d", fresh.Jira.Key, st)
	}
	return is
}

// withoutRule re-encodes a SARIF log without the results of rule.
func withoutRule(t *testing.T, report []byte, rule string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(report, &doc); err != nil {
		t.Fatal(err)
	}
	for _, run := range doc["runs"].([]any) {
		r := run.(map[string]any)
		var kept []any
		for _, res := range r["results"].([]any) {
			if res.(map[string]any)["ruleId"] != rule {
				kept = append(kept, res)
			}
		}
		r["results"] = kept
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cvssSARIF is a SARIF log in the shape CodeQL writes for security rules:
// a numeric security-severity on the rule, and a CVSS vector.
const cvssSARIF = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL","rules":[{"id":"js/sql-injection",
"shortDescription":{"text":"Database query built from user-controlled sources"},
"properties":{"security-severity":"9.8","cvssV3_vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","tags":["security","external/cwe/cwe-089"]}}]}},
"results":[{"ruleId":"js/sql-injection","message":{"text":"This query depends on a user-provided value."},
"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/db.js"},"region":{"startLine":12}}}]}]}]}`

// TestImportSyncsToJira imports real SARIF into an integrated target on the
// Cloud simulator: vulnerabilities become issues and findings sub-tasks,
// with CVSS, priority from severity and due dates; a full re-scan that no
// longer finds one resolves it (a transition in Jira) and its return
// reopens it (transitioned back).
func TestImportSyncsToJira(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud})
	in := e.Setup("shop")
	// The spec's mapping plus Jira's due date.
	var doc map[string]any
	if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
		t.Fatal(err)
	}
	doc["fields"] = append(doc["fields"].([]any), map[string]any{"vulnsync": "due_date", "jira": "duedate", "direction": "both"})
	e.Must(200, "PUT", "/api/v1/integrations/"+in.IntegrationID+"/mapping", doc, nil)

	gosec, err := os.ReadFile("../scanreport/testdata/gosec.sarif")
	if err != nil {
		t.Fatal(err)
	}
	first := importReport(t, e, in.TargetID, "sarif", "", false, "gosec.sarif", gosec)
	if first.Created != 21 {
		t.Fatalf("first import: %+v, want 21 created", first)
	}
	cv := importReport(t, e, in.TargetID, "sarif", "", false, "codeql.sarif", []byte(cvssSARIF))
	if cv.Created != 2 {
		t.Fatalf("CodeQL import: %+v, want 2 created", cv)
	}
	e.Sync()

	byID := map[string]apiItem{}
	items := listItems(t, e, in.TargetID)
	for _, it := range items {
		byID[it.ID] = it
	}
	priority := map[string]string{"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}
	var g404, sqli apiItem
	for _, it := range items {
		is := issueOf(t, e, it)
		switch it.Kind {
		case "vulnerability":
			if is.Fields.IssueType.Name != "Bug" || is.Fields.Parent != nil {
				t.Errorf("vulnerability %q became a %s (parent %v)", it.Title, is.Fields.IssueType.Name, is.Fields.Parent)
			}
		case "finding":
			parent := issueOf(t, e, byID[it.ParentID])
			if is.Fields.IssueType.Name != "Sub-task" || is.Fields.Parent == nil || is.Fields.Parent.Key != parent.Key {
				t.Errorf("finding %q became a %s under %v, want a sub-task of %s", it.Title, is.Fields.IssueType.Name, is.Fields.Parent, parent.Key)
			}
			if it.Title == "G404: Use of weak random number generator (math/rand or math/rand/v2 instead of crypto/rand) at main.go:32" {
				g404 = it
			}
		}
		if is.Fields.Priority.Name != priority[it.Severity] {
			t.Errorf("%q (%s) has priority %s", it.Title, it.Severity, is.Fields.Priority.Name)
		}
		if due, _ := it.Fields["due_date"].(string); due == "" || is.Fields.DueDate != due {
			t.Errorf("%q: due date %q in vulnsync, %q in Jira", it.Title, due, is.Fields.DueDate)
		}
		if it.Kind == "vulnerability" && it.Title == "js/sql-injection: Database query built from user-controlled sources" {
			sqli = it
			if it.Severity != "critical" || is.Fields.CVSS == nil || *is.Fields.CVSS != 9.8 || it.Fields["cvss_vector"] == nil {
				t.Errorf("CodeQL vulnerability: severity %s, CVSS in Jira %v, fields %v", it.Severity, is.Fields.CVSS, it.Fields)
			}
		}
	}
	if g404.ID == "" || sqli.ID == "" {
		t.Fatalf("missing the G404 finding or the CodeQL vulnerability among %d items", len(items))
	}

	// Again: nothing new, nothing to sync.
	again := importReport(t, e, in.TargetID, "sarif", "", false, "gosec.sarif", gosec)
	if again.Created != 0 || again.Unchanged != 21 {
		t.Errorf("second import: %+v, want 0 created, 21 unchanged", again)
	}

	// G404 fixed: a full re-scan resolves it, and Jira follows.
	fixed := importReport(t, e, in.TargetID, "sarif", "", true, "gosec-fixed.sarif", withoutRule(t, gosec, "G404"))
	if fixed.Closed != 2 {
		t.Errorf("close_missing import: %+v, want the G404 vulnerability and finding closed", fixed)
	}
	e.Sync()
	if is := issueOf(t, e, g404); is.Fields.Status.Name != "Done" {
		t.Errorf("the fixed finding's issue %s is %q, want Done", is.Key, is.Fields.Status.Name)
	}
	if is := issueOf(t, e, sqli); is.Fields.Status.Name != "To Do" {
		t.Errorf("another scanner's issue %s moved to %q", is.Key, is.Fields.Status.Name)
	}

	// Detected again: reopened, and Jira transitions back.
	back := importReport(t, e, in.TargetID, "sarif", "", true, "gosec.sarif", gosec)
	if back.Reopened != 2 || back.Created != 0 {
		t.Errorf("re-detection: %+v, want 2 reopened", back)
	}
	e.Sync()
	if is := issueOf(t, e, g404); is.Fields.Status.Name != "To Do" {
		t.Errorf("the reopened finding's issue %s is %q, want To Do", is.Key, is.Fields.Status.Name)
	}
	var ims struct {
		Imports []importAnswer `json:"imports"`
	}
	e.Must(200, "GET", "/api/v1/targets/"+in.TargetID+"/imports", nil, &ims)
	if len(ims.Imports) != 5 || ims.Imports[0].ID != back.ID {
		t.Errorf("import list: %+v", ims.Imports)
	}
}

// TestImportOverTheLimit: a report larger than the limit answers 413 and
// imports nothing.
func TestImportOverTheLimit(t *testing.T) {
	e := apptest.New(t, apptest.Options{MaxImportBytes: 4096})
	var target struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "shop"}, &target)
	gosec, err := os.ReadFile("../scanreport/testdata/gosec.sarif")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("format", "sarif")
	pw, _ := mw.CreateFormFile("file", "gosec.sarif")
	_, _ = pw.Write(gosec)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.API.URL+"/api/v1/targets/"+target.ID+"/imports", &buf)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(raw, []byte("4096 bytes")) {
		t.Errorf("oversized report: %d %s", resp.StatusCode, raw)
	}
	if items := listItems(t, e, target.ID); len(items) != 0 {
		t.Errorf("%d items after a refused import", len(items))
	}
}
