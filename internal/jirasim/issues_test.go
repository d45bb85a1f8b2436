package jirasim

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var jiraTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)

func TestCreateAndGetIssueCloudV3(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Bug", "SQL injection in login", map[string]any{
		"description":       adf("Found by the scanner."),
		"labels":            []string{"sec", "appsec", "sec"},
		"customfield_10050": 9.8,
		"customfield_10051": "asset-42",
		"customfield_10053": "https://example.test/ref",
		"customfield_10054": []any{map[string]any{"value": "pci"}, map[string]any{"id": "10104"}},
		"priority":          map[string]any{"name": "High"},
	})
	if key != "SEC-1" {
		t.Fatalf("key: got %q, want SEC-1", key)
	}
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)
	f := got["fields"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"summary", f["summary"], "SQL injection in login"},
		{"status", get(f, "status", "name"), "To Do"},
		{"status category", get(f, "status", "statusCategory", "key"), "new"},
		{"priority", get(f, "priority", "name"), "High"},
		{"issuetype", get(f, "issuetype", "name"), "Bug"},
		{"project", get(f, "project", "key"), "SEC"},
		{"reporter", get(f, "reporter", "accountId"), "5b10ac8d82e05b22cc7d4ef5"},
		{"cvss", f["customfield_10050"], 9.8},
		{"asset", f["customfield_10051"], "asset-42"},
		{"component", get(f, "customfield_10052", "value"), "Web"},
		{"references", f["customfield_10053"], "https://example.test/ref"},
		{"tags[0]", get(f, "customfield_10054", 0, "value"), "pci"},
		{"tags[1]", get(f, "customfield_10054", 1, "value"), "gdpr"},
		{"resolution", f["resolution"], nil},
		{"description type", get(f, "description", "type"), "doc"},
		{"description text", get(f, "description", "content", 0, "content", 0, "text"), "Found by the scanner."},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	if diff := cmp.Diff([]any{"appsec", "sec"}, f["labels"]); diff != "" {
		t.Errorf("labels are stored sorted and unique (-want +got):\n%s", diff)
	}
	for _, k := range []string{"created", "updated", "statuscategorychangedate"} {
		if s, _ := f[k].(string); !jiraTimeRe.MatchString(s) {
			t.Errorf("%s: got %q, want Jira's timestamp format", k, s)
		}
	}
	if f["created"] != "2025-03-14T09:26:53.589+0000" {
		t.Errorf("created: got %v, want the injected clock's time", f["created"])
	}
	// fields= filters, expand=changelog adds an (empty) changelog.
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=summary,status&expand=changelog", nil).json(t)
	if n := len(got["fields"].(map[string]any)); n != 2 {
		t.Errorf("fields=summary,status: got %d fields, want 2", n)
	}
	if get(got, "changelog", "total") != 0.0 {
		t.Errorf("changelog of a new issue: got %v, want total 0", got["changelog"])
	}
	// By id too.
	byID := e.admin.must(http.StatusOK, "GET", "issue/"+got["id"].(string)+"?fields=summary", nil).json(t)
	if byID["key"] != key {
		t.Errorf("get by id: got key %v, want %s", byID["key"], key)
	}
	e.admin.must(http.StatusNotFound, "GET", "issue/SEC-999", nil)
}

func TestPlainStringDescriptionRefusedOnV3(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.admin.do("POST", "issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Task"},
		"summary": "x", "description": "plain text",
	}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status: got %d, want 400", r.status)
	}
	want := map[string]any{"errorMessages": []any{}, "errors": map[string]any{"description": "Operation value must be an Atlassian Document"}}
	if diff := cmp.Diff(want, r.json(t)); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	e.admin.must(http.StatusNotFound, "GET", "issue/SEC-1", nil)
	// The same string is fine on v2, which speaks wiki markup.
	v2 := *e.admin
	v2.api = "/rest/api/2"
	key := v2.createIssue("Task", "x", map[string]any{"description": "plain *text*"})
	got := v2.must(http.StatusOK, "GET", "issue/"+key+"?fields=description", nil).json(t)
	if d := get(got, "fields", "description"); d != "plain *text*" {
		t.Errorf("v2 description: got %v, want the wiki string as written", d)
	}
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=description", nil).json(t)
	if d := get(got, "fields", "description", "type"); d != "doc" {
		t.Errorf("v3 rendering of a wiki description: got %v, want an ADF doc", get(got, "fields", "description"))
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	base := func() map[string]any {
		return map[string]any{"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Bug"}, "summary": "s"}
	}
	cases := []struct {
		name   string
		change func(map[string]any)
		want   map[string]any
	}{
		{"required custom field on Bug", func(f map[string]any) {},
			map[string]any{"customfield_10052": "Component is required."}},
		{"option not allowed", func(f map[string]any) { f["customfield_10052"] = map[string]any{"value": "Desktop"} },
			map[string]any{"customfield_10052": "Option value 'Desktop' is not valid"}},
		{"multiselect option not allowed", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "Web"}
			f["customfield_10054"] = []any{map[string]any{"value": "hipaa"}}
		}, map[string]any{"customfield_10054": "Option value 'hipaa' is not valid"}},
		{"missing summary", func(f map[string]any) {
			delete(f, "summary")
			f["customfield_10052"] = map[string]any{"value": "API"}
		}, map[string]any{"summary": "You must specify a summary of the issue."}},
		{"unknown field", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["foo"] = "bar"
		}, map[string]any{"foo": "Field 'foo' cannot be set. It is not on the appropriate screen, or unknown."}},
		{"status is not on the create screen", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["status"] = map[string]any{"name": "Done"}
		}, map[string]any{"status": "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."}},
		{"bad priority", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["priority"] = map[string]any{"name": "Urgent"}
		}, map[string]any{"priority": "Specify a valid 'id' or 'name' for Priority"}},
		{"number field given a string", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["customfield_10050"] = "high"
		}, map[string]any{"customfield_10050": "Operation value must be a number"}},
		{"label with a space", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["labels"] = []string{"two words"}
		}, map[string]any{"labels": "The label 'two words' contains spaces which is invalid."}},
		{"unknown issue type", func(f map[string]any) { f["issuetype"] = map[string]any{"name": "Epic"} },
			map[string]any{"issuetype": "The issue type selected is invalid."}},
		{"unknown project", func(f map[string]any) { f["project"] = map[string]any{"key": "NOPE"} },
			map[string]any{"project": "Specify a valid project ID or key"}},
		{"summary too long", func(f map[string]any) {
			f["customfield_10052"] = map[string]any{"value": "API"}
			f["summary"] = strings.Repeat("a", 256)
		}, map[string]any{"summary": "Summary must be less than 255 characters."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := base()
			c.change(f)
			r := e.admin.do("POST", "issue", map[string]any{"fields": f})
			if r.status != http.StatusBadRequest {
				t.Fatalf("status: got %d, want 400; body %s", r.status, r.body)
			}
			want := map[string]any{"errorMessages": []any{}, "errors": c.want}
			if diff := cmp.Diff(want, r.json(t)); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
	// Nothing was created by any refused request.
	e.admin.must(http.StatusNotFound, "GET", "issue/SEC-1", nil)
	if got := e.admin.createIssue("Bug", "ok", nil); got != "SEC-1" {
		t.Errorf("first accepted issue: got %s, want SEC-1", got)
	}
	// Malformed JSON gets Jira's generic payload error.
	r := e.admin.do("POST", "issue", "{not json")
	if r.status != http.StatusBadRequest || len(r.json(t)["errorMessages"].([]any)) != 1 {
		t.Errorf("malformed JSON: got %d %s, want 400 with one error message", r.status, r.body)
	}
}

func TestSubtaskParentRules(t *testing.T) {
	e := newEnv(t, envOpts{})
	parent := e.admin.createIssue("Task", "parent", nil)
	r := e.admin.do("POST", "issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Sub-task"}, "summary": "orphan"}})
	want := map[string]any{"errorMessages": []any{}, "errors": map[string]any{"issuetype": "Issue type is a sub-task but parent issue key or id not specified."}}
	if r.status != http.StatusBadRequest {
		t.Fatalf("sub-task without parent: got %d, want 400", r.status)
	}
	if diff := cmp.Diff(want, r.json(t)); diff != "" {
		t.Errorf("sub-task without parent (-want +got):\n%s", diff)
	}
	r = e.admin.do("POST", "issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x",
		"parent": map[string]any{"key": parent}}})
	if r.status != http.StatusBadRequest || get(r.json(t), "errors", "parent") == nil {
		t.Errorf("task with a parent: got %d %s, want 400 naming parent", r.status, r.body)
	}
	sub := e.admin.createIssue("Sub-task", "child", map[string]any{"parent": map[string]any{"key": parent}})
	got := e.admin.must(http.StatusOK, "GET", "issue/"+sub+"?fields=parent,issuetype", nil).json(t)
	if get(got, "fields", "parent", "key") != parent || get(got, "fields", "issuetype", "subtask") != true {
		t.Errorf("sub-task: got %v, want parent %s and a subtask type", got["fields"], parent)
	}
	got = e.admin.must(http.StatusOK, "GET", "issue/"+parent+"?fields=subtasks", nil).json(t)
	if get(got, "fields", "subtasks", 0, "key") != sub {
		t.Errorf("parent subtasks: got %v, want [%s]", get(got, "fields", "subtasks"), sub)
	}
	// A change to the sub-task shows in its parent's subtasks (no stale
	// cached rendering of the parent).
	e.admin.must(http.StatusNoContent, "POST", "issue/"+sub+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	got = e.admin.must(http.StatusOK, "GET", "issue/"+parent+"?fields=subtasks", nil).json(t)
	if s := get(got, "fields", "subtasks", 0, "fields", "status", "name"); s != "In Progress" {
		t.Errorf("parent's view of the sub-task status: got %v, want In Progress", s)
	}
	r = e.admin.do("POST", "issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Sub-task"}, "summary": "x",
		"parent": map[string]any{"key": sub}}})
	if r.status != http.StatusBadRequest {
		t.Errorf("sub-task of a sub-task: got %d, want 400", r.status)
	}
	// Deleting a parent needs deleteSubtasks=true, and takes the children.
	e.admin.must(http.StatusBadRequest, "DELETE", "issue/"+parent, nil)
	e.admin.must(http.StatusNoContent, "DELETE", "issue/"+parent+"?deleteSubtasks=true", nil)
	e.admin.must(http.StatusNotFound, "GET", "issue/"+sub, nil)
	e.admin.must(http.StatusNotFound, "GET", "issue/"+parent, nil)
}

func transitionIDs(t *testing.T, c *client, key string) []string {
	t.Helper()
	got := c.must(http.StatusOK, "GET", "issue/"+key+"/transitions", nil).json(t)
	var ids []string
	for _, tr := range got["transitions"].([]any) {
		ids = append(ids, tr.(map[string]any)["id"].(string))
	}
	return ids
}

func TestWorkflow(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Task", "w", nil)
	if diff := cmp.Diff([]string{"21", "51"}, transitionIDs(t, e.admin, key)); diff != "" {
		t.Errorf("transitions from To Do (-want +got):\n%s", diff)
	}
	r := e.admin.do("POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "41"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("To Do → Done directly: got %d, want 400", r.status)
	}
	if diff := cmp.Diff([]any{"Transition id '41' is not valid for this issue."}, r.json(t)["errorMessages"]); diff != "" {
		t.Errorf("unavailable transition message (-want +got):\n%s", diff)
	}
	e.clock.Advance(time.Minute)
	e.admin.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	if diff := cmp.Diff([]string{"31", "41", "51"}, transitionIDs(t, e.admin, key)); diff != "" {
		t.Errorf("transitions from In Progress (-want +got):\n%s", diff)
	}
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/transitions?expand=transitions.fields", nil).json(t)
	for _, tr := range got["transitions"].([]any) {
		m := tr.(map[string]any)
		_, hasRes := get(m, "fields").(map[string]any)["resolution"]
		if wantRes := m["id"] == "41" || m["id"] == "51"; hasRes != wantRes {
			t.Errorf("transition %v: resolution field on screen = %v, want %v", m["id"], hasRes, wantRes)
		}
	}
	e.clock.Advance(time.Minute)
	e.admin.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "41"}})
	f := e.admin.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)["fields"].(map[string]any)
	if get(f, "status", "name") != "Done" || get(f, "status", "statusCategory", "key") != "done" || get(f, "resolution", "name") != "Done" {
		t.Errorf("after Done: status %v resolution %v, want Done/done and resolution Done", f["status"], f["resolution"])
	}
	if f["resolutiondate"] != "2025-03-14T09:28:53.589+0000" || f["statuscategorychangedate"] != "2025-03-14T09:28:53.589+0000" {
		t.Errorf("resolutiondate %v, statuscategorychangedate %v: want the transition time", f["resolutiondate"], f["statuscategorychangedate"])
	}
	if diff := cmp.Diff([]string{"61"}, transitionIDs(t, e.admin, key)); diff != "" {
		t.Errorf("transitions from Done (-want +got):\n%s", diff)
	}
	e.admin.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "61"}})
	f = e.admin.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)["fields"].(map[string]any)
	if get(f, "status", "name") != "To Do" || f["resolution"] != nil || f["resolutiondate"] != nil {
		t.Errorf("after Reopen: status %v resolution %v resolutiondate %v, want To Do with no resolution", get(f, "status", "name"), f["resolution"], f["resolutiondate"])
	}
	// Won't Do straight from To Do, with a comment in the same call.
	e.admin.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{
		"transition": map[string]any{"id": "51"},
		"update":     map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": adf("accepted risk")}}}},
	})
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil).json(t)
	if get(got, "fields", "resolution", "name") != "Won't Do" || get(got, "fields", "comment", "total") != 1.0 {
		t.Errorf("Won't Do with comment: resolution %v comments %v", get(got, "fields", "resolution"), get(got, "fields", "comment", "total"))
	}
	hist := get(got, "changelog", "histories").([]any)
	if len(hist) != 4 {
		t.Fatalf("changelog: got %d histories, want 4", len(hist))
	}
	wantItems := []any{
		map[string]any{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": nil, "fromString": nil, "to": "10000", "toString": "Done"},
		map[string]any{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "3", "fromString": "In Progress", "to": "10002", "toString": "Done"},
	}
	// Cloud lists histories newest first: Won't Do, Reopen, Done, Start.
	if diff := cmp.Diff(wantItems, get(hist[2], "items")); diff != "" {
		t.Errorf("changelog of the Done transition (-want +got):\n%s", diff)
	}
	if get(hist[2], "author", "accountId") != "5b10ac8d82e05b22cc7d4ef5" {
		t.Errorf("changelog author: got %v, want the admin", get(hist[1], "author"))
	}
	// Missing identifier.
	e.admin.must(http.StatusBadRequest, "POST", "issue/"+key+"/transitions", map[string]any{})
}

func TestEditIssue(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Bug", "before", map[string]any{"labels": []string{"a", "b"}})
	e.clock.Advance(5 * time.Minute)
	e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{
		"fields": map[string]any{"summary": "after", "customfield_10050": 7.5},
		"update": map[string]any{
			"labels":            []any{map[string]any{"add": "c"}, map[string]any{"remove": "a"}},
			"customfield_10054": []any{map[string]any{"add": map[string]any{"value": "sox"}}},
		},
	})
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil).json(t)
	f := got["fields"].(map[string]any)
	if f["summary"] != "after" || f["customfield_10050"] != 7.5 || get(f, "customfield_10054", 0, "value") != "sox" {
		t.Errorf("after edit: summary %v cvss %v tags %v", f["summary"], f["customfield_10050"], f["customfield_10054"])
	}
	if diff := cmp.Diff([]any{"b", "c"}, f["labels"]); diff != "" {
		t.Errorf("labels after add/remove (-want +got):\n%s", diff)
	}
	if f["updated"] != "2025-03-14T09:31:53.589+0000" {
		t.Errorf("updated: got %v, want the edit time", f["updated"])
	}
	items := get(got, "changelog", "histories", 0, "items").([]any)
	byField := map[string]any{}
	for _, it := range items {
		byField[it.(map[string]any)["field"].(string)] = it
	}
	wantCVSS := map[string]any{"field": "CVSS Score", "fieldtype": "custom", "fieldId": "customfield_10050", "from": nil, "fromString": nil, "to": nil, "toString": "7.5"}
	if diff := cmp.Diff(wantCVSS, byField["CVSS Score"]); diff != "" {
		t.Errorf("custom field changelog item (-want +got):\n%s", diff)
	}
	wantLabels := map[string]any{"field": "labels", "fieldtype": "jira", "fieldId": "labels", "from": nil, "fromString": "a b", "to": nil, "toString": "b c"}
	if diff := cmp.Diff(wantLabels, byField["labels"]); diff != "" {
		t.Errorf("labels changelog item (-want +got):\n%s", diff)
	}
	// A refused edit changes nothing.
	r := e.admin.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"summary": "x", "status": map[string]any{"name": "Done"}}})
	if r.status != http.StatusBadRequest || get(r.json(t), "errors", "status") != "Field 'status' cannot be set. It is not on the appropriate screen, or unknown." {
		t.Errorf("edit status: got %d %s", r.status, r.body)
	}
	r = e.admin.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"customfield_10052": nil}})
	if r.status != http.StatusBadRequest || get(r.json(t), "errors", "customfield_10052") != "Component is required." {
		t.Errorf("clear a required field: got %d %s", r.status, r.body)
	}
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil).json(t)
	if get(got, "fields", "summary") != "after" || get(got, "changelog", "total") != 1.0 {
		t.Errorf("refused edits changed the issue: summary %v, histories %v", get(got, "fields", "summary"), get(got, "changelog", "total"))
	}
	// An edit that changes nothing records nothing.
	e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"summary": "after"}})
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil).json(t)
	if get(got, "changelog", "total") != 1.0 {
		t.Errorf("no-op edit: got %v histories, want 1", get(got, "changelog", "total"))
	}
	// returnIssue=true answers 200 with the issue.
	r = e.admin.must(http.StatusOK, "PUT", "issue/"+key+"?returnIssue=true", map[string]any{"fields": map[string]any{"summary": "again"}})
	if get(r.json(t), "fields", "summary") != "again" {
		t.Errorf("returnIssue: got %s", r.body)
	}
}

func TestComments(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Task", "c", nil)
	r := e.admin.do("POST", "issue/"+key+"/comment", map[string]any{"body": "plain"})
	if r.status != http.StatusBadRequest {
		t.Errorf("string comment body on v3: got %d, want 400", r.status)
	}
	c := e.dev.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{
		"body": adf("looks bad"), "properties": []any{map[string]any{"key": "vulnsync", "value": map[string]any{"origin": "vulnsync"}}},
	}).json(t)
	id := c["id"].(string)
	if get(c, "author", "accountId") != "5b10a2844c20165700ede21e" || get(c, "body", "type") != "doc" {
		t.Errorf("created comment: %v", c)
	}
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/comment/"+id+"?expand=properties", nil).json(t)
	if get(got, "properties", 0, "value", "origin") != "vulnsync" {
		t.Errorf("comment properties: got %v", got["properties"])
	}
	e.clock.Advance(time.Minute)
	upd := e.admin.must(http.StatusOK, "PUT", "issue/"+key+"/comment/"+id, map[string]any{"body": adf("fixed")}).json(t)
	if upd["updated"] == upd["created"] || get(upd, "updateAuthor", "accountId") != "5b10ac8d82e05b22cc7d4ef5" {
		t.Errorf("updated comment: %v", upd)
	}
	list := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/comment", nil).json(t)
	if list["total"] != 1.0 || get(list, "comments", 0, "body", "content", 0, "content", 0, "text") != "fixed" {
		t.Errorf("comment list: %v", list)
	}
	is := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=updated", nil).json(t)
	if get(is, "fields", "updated") != "2025-03-14T09:27:53.589+0000" {
		t.Errorf("a comment edit bumps the issue's updated: got %v", get(is, "fields", "updated"))
	}
	e.admin.must(http.StatusNoContent, "DELETE", "issue/"+key+"/comment/"+id, nil)
	e.admin.must(http.StatusNotFound, "GET", "issue/"+key+"/comment/"+id, nil)
}

func TestIssueProperties(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Task", "p", nil)
	e.admin.must(http.StatusCreated, "PUT", "issue/"+key+"/properties/vulnsync", map[string]any{"item": "it-1"})
	e.admin.must(http.StatusOK, "PUT", "issue/"+key+"/properties/vulnsync", map[string]any{"item": "it-2"})
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/properties/vulnsync", nil).json(t)
	if diff := cmp.Diff(map[string]any{"key": "vulnsync", "value": map[string]any{"item": "it-2"}}, got); diff != "" {
		t.Errorf("property (-want +got):\n%s", diff)
	}
	keys := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/properties", nil).json(t)
	if get(keys, "keys", 0, "key") != "vulnsync" {
		t.Errorf("property keys: %v", keys)
	}
	is := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=summary&properties=vulnsync", nil).json(t)
	if get(is, "properties", "vulnsync", "item") != "it-2" {
		t.Errorf("issue properties: %v", is["properties"])
	}
	big := make([]byte, maxPropBytes+10)
	for i := range big {
		big[i] = 'a'
	}
	e.admin.must(http.StatusBadRequest, "PUT", "issue/"+key+"/properties/big", `"`+string(big)+`"`)
	e.admin.must(http.StatusBadRequest, "PUT", "issue/"+key+"/properties/bad", "{nope")
	e.admin.must(http.StatusNoContent, "DELETE", "issue/"+key+"/properties/vulnsync", nil)
	e.admin.must(http.StatusNotFound, "GET", "issue/"+key+"/properties/vulnsync", nil)
	// Properties given at create time.
	r := e.admin.must(http.StatusCreated, "POST", "issue", map[string]any{
		"fields":     map[string]any{"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Task"}, "summary": "q"},
		"properties": []any{map[string]any{"key": "vulnsync", "value": map[string]any{"item": "it-9"}}},
	}).json(t)
	got = e.admin.must(http.StatusOK, "GET", "issue/"+r["key"].(string)+"/properties/vulnsync", nil).json(t)
	if get(got, "value", "item") != "it-9" {
		t.Errorf("property from create: %v", got)
	}
}

func TestBulkFetch(t *testing.T) {
	e := newEnv(t, envOpts{})
	k1 := e.admin.createIssue("Task", "one", nil)
	k2 := e.admin.createIssue("Story", "two", nil)
	got := e.admin.must(http.StatusOK, "POST", "issue/bulkfetch", map[string]any{
		"issueIdsOrKeys": []string{k1, "SEC-404", k2}, "fields": []string{"summary"},
	}).json(t)
	if get(got, "issues", 0, "fields", "summary") != "one" || get(got, "issues", 1, "key") != k2 {
		t.Errorf("bulk issues: %v", got["issues"])
	}
	if get(got, "issueErrors", 0, "id") != "SEC-404" {
		t.Errorf("bulk errors: %v", got["issueErrors"])
	}
	e.admin.must(http.StatusBadRequest, "POST", "issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{}})
}

func TestDataCenterSurface(t *testing.T) {
	e := newEnv(t, envOpts{dc: true})
	info := e.admin.must(http.StatusOK, "GET", "/rest/api/2/serverInfo", nil).json(t)
	if info["deploymentType"] != "Server" {
		t.Errorf("DC deploymentType: got %v, want Server", info["deploymentType"])
	}
	e.admin.must(http.StatusNotFound, "GET", "/rest/api/3/serverInfo", nil)
	// No bulkfetch on DC: the path is issue/{issueIdOrKey}, which has no POST.
	e.admin.must(http.StatusMethodNotAllowed, "POST", "/rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{"SEC-1"}})
	me := e.admin.must(http.StatusOK, "GET", "myself", nil).json(t)
	if me["name"] != "admin" || me["key"] != "JIRAUSER10000" || me["accountId"] != nil {
		t.Errorf("DC myself: %v", me)
	}
	key := e.dev.createIssue("Task", "dc", map[string]any{"assignee": map[string]any{"name": "admin"}, "description": "h1. Title"})
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)
	if get(got, "fields", "assignee", "name") != "admin" || get(got, "fields", "reporter", "key") != "JIRAUSER10001" {
		t.Errorf("DC users: assignee %v reporter %v", get(got, "fields", "assignee"), get(got, "fields", "reporter"))
	}
	if get(got, "fields", "description") != "h1. Title" {
		t.Errorf("DC description: got %v, want the wiki string", get(got, "fields", "description"))
	}
	ct := e.admin.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes", nil).json(t)
	if _, ok := ct["values"]; !ok || ct["isLast"] != true {
		t.Errorf("DC createmeta issue types are paged in 'values': %v", ct)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	anon := *e.admin
	anon.auth = ""
	r := anon.do("GET", "issue/SEC-1", nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("anonymous: got %d, want 401", r.status)
	}
	wrong := *e.admin
	wrong.auth = basic("admin@example.test", "nope")
	e.admin.createIssue("Task", "secret summary", nil)
	r = wrong.do("GET", "issue/SEC-1", nil)
	if r.status != http.StatusUnauthorized || regexp.MustCompile("secret").Match(r.body) {
		t.Errorf("wrong token: got %d %s, want 401 without issue data", r.status, r.body)
	}
	bearer := *e.admin
	bearer.auth = "Bearer admin-pat"
	if r := bearer.do("GET", "myself", nil); r.status != http.StatusUnauthorized {
		t.Errorf("PAT on Cloud: got %d, want 401", r.status)
	}
	// serverInfo answers anonymously, as on real Jira.
	info := anon.must(http.StatusOK, "GET", "serverInfo", nil).json(t)
	if info["deploymentType"] != "Cloud" {
		t.Errorf("deploymentType: got %v, want Cloud", info["deploymentType"])
	}
	me := e.dev.must(http.StatusOK, "GET", "myself", nil).json(t)
	if me["emailAddress"] != "dev@example.test" || me["accountId"] != "5b10a2844c20165700ede21e" {
		t.Errorf("myself: %v", me)
	}
	hook := map[string]any{"name": "h", "url": "http://127.0.0.1:1/hook", "events": []string{"jira:issue_created"}}
	e.dev.must(http.StatusForbidden, "POST", "/rest/webhooks/1.0/webhook", hook)
	e.dev.must(http.StatusForbidden, "GET", "/rest/webhooks/1.0/webhook", nil)
	e.admin.must(http.StatusCreated, "POST", "/rest/webhooks/1.0/webhook", hook)

	dc := newEnv(t, envOpts{dc: true})
	basicDC := *dc.admin
	basicDC.auth = basic("admin", "admin-pat")
	if r := basicDC.do("GET", "myself", nil); r.status != http.StatusUnauthorized {
		t.Errorf("Basic on Data Center: got %d, want 401 (Basic is disabled, as on DC 11)", r.status)
	}
	dc.dev.must(http.StatusForbidden, "POST", dc.sim.webhookPath(), hook)
}

func TestAssignAndUnassign(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
	rc := newReceiver(t)
	e.register(t, rc.srv.URL, "", "", "jira:issue_updated")
	key := e.admin.createIssue("Task", "a", nil)
	e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"assignee": map[string]any{"accountId": DevAccountID}}})
	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=assignee", nil).json(t)
	if get(got, "fields", "assignee", "accountId") != DevAccountID {
		t.Errorf("assignee: %v", get(got, "fields", "assignee"))
	}
	e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"assignee": map[string]any{"accountId": nil}}})
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=assignee", nil).json(t)
	if get(got, "fields", "assignee") != nil {
		t.Errorf("after unassign: %v", get(got, "fields", "assignee"))
	}
	r := e.admin.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"assignee": map[string]any{"accountId": "nobody"}}})
	if r.status != http.StatusBadRequest || get(r.json(t), "errors", "assignee") == nil {
		t.Errorf("unknown user: got %d %s", r.status, r.body)
	}
	e.sim.DeliverWebhooks(context.Background())
	want := []string{"jira:issue_updated/issue_assigned", "jira:issue_updated/issue_assigned"}
	if diff := cmp.Diff(want, rc.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	items := get(rc.all()[0].event, "changelog", "items", 0)
	wantItem := map[string]any{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": nil, "fromString": nil, "to": DevAccountID, "toString": "Dev User"}
	if diff := cmp.Diff(wantItem, items); diff != "" {
		t.Errorf("assignee changelog item (-want +got):\n%s", diff)
	}
}
