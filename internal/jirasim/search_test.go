package jirasim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// keysOf runs a Cloud search with fields=key and returns the keys.
func keysOf(t *testing.T, c *client, jql string) []string {
	t.Helper()
	r := c.do("GET", "search/jql?fields=key&maxResults=100&jql="+url.QueryEscape(jql), nil)
	if r.status != http.StatusOK {
		t.Fatalf("search %q: got %d %s", jql, r.status, r.body)
	}
	var keys []string
	for _, is := range r.json(t)["issues"].([]any) {
		keys = append(keys, is.(map[string]any)["key"].(string))
	}
	return keys
}

// seedSearch creates SEC-1..SEC-4 at one-hour steps from the fake clock's
// start: SEC-1 Bug (labels pci) In Progress, SEC-2 Task, SEC-3 Story
// (labels pci, gdpr) Done, SEC-4 Sub-task of SEC-2. SEC-1 is last updated
// at +4h, SEC-3 at +4h1m, which is also the clock's final reading.
func seedSearch(t *testing.T, e *env) {
	t.Helper()
	e.admin.createIssue("Bug", "login injection", map[string]any{"labels": []string{"pci"}})
	e.clock.Advance(time.Hour)
	e.admin.createIssue("Task", "rotate keys", nil)
	e.clock.Advance(time.Hour)
	e.admin.createIssue("Story", "privacy review", map[string]any{"labels": []string{"pci", "gdpr"}})
	e.clock.Advance(time.Hour)
	e.admin.createIssue("Sub-task", "rotate key A", map[string]any{"parent": map[string]any{"key": "SEC-2"}})
	e.clock.Advance(time.Hour)
	e.admin.must(http.StatusNoContent, "POST", "issue/SEC-1/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	e.clock.Advance(time.Minute)
	e.admin.must(http.StatusNoContent, "POST", "issue/SEC-3/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	e.admin.must(http.StatusNoContent, "POST", "issue/SEC-3/transitions", map[string]any{"transition": map[string]any{"id": "41"}})
}

func TestJQLSelection(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedSearch(t, e)
	cases := []struct {
		jql  string
		want []string
	}{
		{"project = SEC ORDER BY key ASC", []string{"SEC-1", "SEC-2", "SEC-3", "SEC-4"}},
		{"project = SEC", []string{"SEC-4", "SEC-3", "SEC-2", "SEC-1"}},
		{"key = SEC-2", []string{"SEC-2"}},
		{"issuekey in (SEC-1, SEC-3) order by key", []string{"SEC-1", "SEC-3"}},
		{"id = 10001", []string{"SEC-2"}},
		{`status = "In Progress"`, []string{"SEC-1"}},
		{"status IN ('To Do', Done) ORDER BY key", []string{"SEC-2", "SEC-3", "SEC-4"}},
		{"statusCategory = done", []string{"SEC-3"}},
		{`statusCategory != "To Do" order by key`, []string{"SEC-1", "SEC-3"}},
		{"issuetype = Bug", []string{"SEC-1"}},
		{"type in (Task, Sub-task) order by key", []string{"SEC-2", "SEC-4"}},
		{"labels = pci order by key", []string{"SEC-1", "SEC-3"}},
		{"labels in (gdpr)", []string{"SEC-3"}},
		{"labels is EMPTY order by key", []string{"SEC-2", "SEC-4"}},
		{"labels != gdpr", []string{"SEC-1"}},
		{"project = SEC AND NOT labels = pci order by key", []string{"SEC-2", "SEC-4"}},
		{"(issuetype = Bug OR issuetype = Story) AND labels = gdpr", []string{"SEC-3"}},
		{"key = SEC-1 || key = SEC-4 order by key desc", []string{"SEC-4", "SEC-1"}},
		{`created >= "2025/03/14 10:26" AND created < "2025-03-14 12:00" order by created`, []string{"SEC-2", "SEC-3"}},
		{`created > "2025-03-14" order by key`, []string{"SEC-1", "SEC-2", "SEC-3", "SEC-4"}},
		{"created <= 2025/03/14 order by key", nil},
		{"updated >= -1m order by key", []string{"SEC-1", "SEC-3"}},
		{"created >= -3h order by key", []string{"SEC-3", "SEC-4"}},
		{"created < -4h", []string{"SEC-1"}},
		{"created < '-1w 2d'", nil},
		{"parent = SEC-2", []string{"SEC-4"}},
		{"resolution = Unresolved order by key", []string{"SEC-1", "SEC-2", "SEC-4"}},
		{"resolution = Done", []string{"SEC-3"}},
		{"summary ~ rotate order by key", []string{"SEC-2", "SEC-4"}},
		{"assignee is EMPTY and reporter = currentUser() and priority = Medium and key = SEC-1", []string{"SEC-1"}},
		{"project = SEC ORDER BY updated DESC, key ASC", []string{"SEC-3", "SEC-1", "SEC-4", "SEC-2"}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, keysOf(t, e.admin, c.jql)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.jql, diff)
		}
	}
}

func TestJQLErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.admin.createIssue("Task", "x", nil)
	cases := []struct{ jql, want string }{
		{"foo = bar", "Field 'foo' does not exist or you do not have permission to view it."},
		{"project = NOPE", "The value 'NOPE' does not exist for the field 'project'."},
		{"status = Closed", "The value 'Closed' does not exist for the field 'status'."},
		{"key = SEC-99", "An issue with key 'SEC-99' does not exist for field 'key'."},
		{"key = nokey", "The issue key 'nokey' for field 'key' is invalid."},
		{"labels > x", "The operator '>' is not supported by the 'labels' field."},
		{`updated > "yesterday"`, "Date value 'yesterday' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."},
		{"project SEC", "Error in the JQL Query: Expecting operator but got 'SEC'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"},
		{`summary ~ "open`, "Error in the JQL Query: The quoted string 'open' has not been completed. (line 1, character 11)"},
		{"project = SEC AND", "Error in the JQL Query: Expecting a field name but got 'EOF'. (line 1, character 18)"},
		{"project = SEC status = Done", "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 15)"},
		{"project = SEC ORDER BY bogus", "Field 'bogus' does not exist or you do not have permission to view it."},
		{"updated > startOfDay()", "Unable to find JQL function 'startOfDay()'."},
		{"(project = SEC", "Error in the JQL Query: Expecting ')' but got 'EOF'. (line 1, character 15)"},
	}
	for _, c := range cases {
		r := e.admin.do("GET", "search/jql?jql="+url.QueryEscape(c.jql), nil)
		want := map[string]any{"errorMessages": []any{c.want}, "errors": map[string]any{}}
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: got status %d, want 400", c.jql, r.status)
			continue
		}
		if diff := cmp.Diff(want, r.json(t)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.jql, diff)
		}
	}
}

func TestSearchJQLPaging(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := 0; i < 7; i++ {
		e.admin.createIssue("Task", "t", nil)
	}
	for _, jql := range []string{"", "ORDER BY key"} {
		r := e.admin.do("GET", "search/jql?jql="+url.QueryEscape(jql), nil)
		want := map[string]any{"errorMessages": []any{msgUnbounded}, "errors": map[string]any{}}
		if r.status != http.StatusBadRequest {
			t.Fatalf("unbounded %q: got %d, want 400", jql, r.status)
		}
		if diff := cmp.Diff(want, r.json(t)); diff != "" {
			t.Errorf("unbounded %q (-want +got):\n%s", jql, diff)
		}
	}
	// Ids only by default, pages chained by nextPageToken.
	var ids []string
	token := ""
	pages := 0
	for {
		body := map[string]any{"jql": "project = SEC ORDER BY key", "maxResults": 3}
		if token != "" {
			body["nextPageToken"] = token
		}
		got := e.admin.must(http.StatusOK, "POST", "search/jql", body).json(t)
		pages++
		for _, is := range got["issues"].([]any) {
			m := is.(map[string]any)
			if len(m) != 1 {
				t.Errorf("default search result: got %v, want only an id", m)
			}
			ids = append(ids, m["id"].(string))
		}
		if got["isLast"] == true {
			if _, ok := got["nextPageToken"]; ok {
				t.Errorf("last page carries a nextPageToken: %v", got)
			}
			break
		}
		token = got["nextPageToken"].(string)
		if pages > 5 {
			t.Fatalf("paging does not end")
		}
	}
	want := []string{"10000", "10001", "10002", "10003", "10004", "10005", "10006"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("pages: got %d, want 3", pages)
	}
	r := e.admin.do("GET", "search/jql?jql=project%3DSEC&nextPageToken=garbage", nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("bad token: got %d, want 400", r.status)
	}
	// Fields on request.
	got := e.admin.must(http.StatusOK, "GET", "search/jql?jql=key%3DSEC-1&fields=summary,status", nil).json(t)
	if get(got, "issues", 0, "fields", "summary") != "t" || get(got, "issues", 0, "key") != "SEC-1" {
		t.Errorf("search with fields: %v", got)
	}
	// The retired search answers 410 on Cloud, in both versions.
	for _, p := range []string{"/rest/api/3/search?jql=project%3DSEC", "/rest/api/2/search?jql=project%3DSEC"} {
		r := e.admin.do("GET", p, nil)
		if r.status != http.StatusGone || !strings.Contains(string(r.body), "/rest/api/3/search/jql") {
			t.Errorf("GET %s: got %d %s, want 410 pointing to /search/jql", p, r.status, r.body)
		}
	}
}

func TestDataCenterSearch(t *testing.T) {
	e := newEnv(t, envOpts{dc: true})
	for i := 0; i < 5; i++ {
		e.admin.createIssue("Task", "t", nil)
	}
	got := e.admin.must(http.StatusOK, "GET", "search?jql="+url.QueryEscape("project = SEC ORDER BY key")+"&startAt=2&maxResults=2&fields=summary", nil).json(t)
	if got["total"] != 5.0 || got["startAt"] != 2.0 || len(got["issues"].([]any)) != 2 || get(got, "issues", 0, "key") != "SEC-3" {
		t.Errorf("DC search page: %v", got)
	}
	// Data Center allows unbounded queries and has no /search/jql.
	got = e.admin.must(http.StatusOK, "POST", "search", map[string]any{"jql": "", "maxResults": 10}).json(t)
	if got["total"] != 5.0 {
		t.Errorf("DC unbounded search: total %v, want 5", got["total"])
	}
	e.admin.must(http.StatusNotFound, "GET", "search/jql?jql=project%3DSEC", nil)
	e.admin.must(http.StatusBadRequest, "GET", "search?jql=nope%3D1", nil)
}
