package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/richtext"
)

func TestCreateIssueBody(t *testing.T) {
	in := IssueCreate{
		ProjectKey:  "SEC",
		IssueTypeID: "10001",
		Summary:     "Stored XSS in comments",
		Description: "**Impact**: account takeover\n\n- step one\n- step two",
		Priority:    "High",
		Labels:      []string{"vulnsync", "vulnsync-0195"},
		ParentKey:   "SEC-7",
		Fields: map[string]any{
			"customfield_10050": 8.1,
			"customfield_10052": map[string]string{"value": "Web"},
			"environment":       Markdown("*prod* only"),
		},
		Properties: map[string]any{"vulnsync": map[string]string{"item": "0195"}},
	}
	for _, d := range []Deployment{Cloud, DataCenter} {
		t.Run(string(d), func(t *testing.T) {
			f := newFakeJira(t)
			f.reply("POST /rest/api/{v}/issue", 201, `{"id":"10042","key":"SEC-42","self":"http://jira/rest/api/2/issue/10042"}`)
			c := f.client(d)
			got, err := c.CreateIssue(context.Background(), in)
			if err != nil {
				t.Fatalf("CreateIssue: %v", err)
			}
			if diff := cmp.Diff(&CreatedIssue{ID: "10042", Key: "SEC-42", Self: "http://jira/rest/api/2/issue/10042"}, got); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			reqs := f.requests("POST " + apiPrefix(d) + "issue")
			if len(reqs) != 1 {
				t.Fatalf("create requests: got %d, want 1", len(reqs))
			}
			rich := func(md string) any {
				if d == Cloud {
					return richtext.ToADF(md)
				}
				return richtext.ToWiki(md)
			}
			want := roundTrip(t, map[string]any{
				"fields": map[string]any{
					"project":           map[string]string{"key": "SEC"},
					"issuetype":         map[string]string{"id": "10001"},
					"summary":           "Stored XSS in comments",
					"description":       rich(in.Description),
					"priority":          map[string]string{"name": "High"},
					"labels":            []string{"vulnsync", "vulnsync-0195"},
					"parent":            map[string]string{"key": "SEC-7"},
					"customfield_10050": 8.1,
					"customfield_10052": map[string]string{"value": "Web"},
					"environment":       rich("*prod* only"),
				},
				"properties": []map[string]any{{"key": "vulnsync", "value": map[string]string{"item": "0195"}}},
			})
			if diff := cmp.Diff(want, decodeBody(t, reqs[0].Body)); diff != "" {
				t.Errorf("create body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateIssueRejectsBadInput(t *testing.T) {
	f := newFakeJira(t)
	c := f.client(Cloud)
	for _, in := range []IssueCreate{
		{IssueTypeName: "Bug", Summary: "x"},
		{ProjectKey: "SEC", Summary: "x"},
		{ProjectKey: "SEC", IssueTypeName: "Bug", Summary: "  "},
		{ProjectKey: "SEC/../x", IssueTypeName: "Bug", Summary: "x"},
	} {
		if _, err := c.CreateIssue(context.Background(), in); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("CreateIssue(%+v): got %v, want ErrInvalidArgument", in, err)
		}
	}
	if n := len(f.requests("")); n != 0 {
		t.Errorf("requests sent for bad input: %d", n)
	}
}

func TestGetIssueDecodesCloudIssue(t *testing.T) {
	desc := richtext.ToADF("Reflected XSS in **search**")
	commentBody := richtext.ToADF("Fixed in `v2.3`")
	issue := map[string]any{
		"id": "10042", "key": "SEC-42", "self": "http://jira/rest/api/3/issue/10042",
		"fields": map[string]any{
			"summary":     "XSS",
			"description": desc,
			"status": map[string]any{"id": "3", "name": "In Progress",
				"statusCategory": map[string]any{"id": 4, "key": "indeterminate", "name": "In Progress"}},
			"priority":          map[string]any{"id": "2", "name": "High"},
			"labels":            []string{"vulnsync"},
			"issuetype":         map[string]any{"id": "10001", "name": "Bug", "subtask": false},
			"parent":            map[string]any{"id": "10007", "key": "SEC-7"},
			"resolution":        nil,
			"created":           "2019-01-07T16:55:51.184-0330",
			"updated":           "2019-01-08T10:00:00.000+0000",
			"customfield_10050": 7.5,
			"attachment": []any{map[string]any{"id": "10000", "filename": "poc.html", "mimeType": "text/html", "size": 42,
				"content": "http://jira/rest/api/3/attachment/content/10000", "created": "2019-01-07T17:00:00.000+0000",
				"author": map[string]any{"accountId": "abc", "displayName": "Dev"}}},
			"comment": map[string]any{"startAt": 0, "maxResults": 1, "total": 1, "comments": []any{map[string]any{
				"id": "10100", "body": commentBody, "created": "2019-01-07T18:00:00.000+0000", "updated": "2019-01-07T18:00:00.000+0000",
				"author": map[string]any{"accountId": "abc", "displayName": "Dev"}}}},
		},
		"properties": map[string]any{"vulnsync": map[string]any{"item": "0195"}},
		"changelog": map[string]any{"startAt": 0, "maxResults": 1, "total": 1, "histories": []any{map[string]any{
			"id": "5", "created": "2019-01-08T10:00:00.000+0000", "author": map[string]any{"accountId": "abc", "displayName": "Dev"},
			"items": []any{map[string]any{"field": "CVSS Score", "fieldId": "customfield_10050", "fieldtype": "custom",
				"fromString": "5.0", "toString": "7.5"}}}}},
	}
	body, err := json.Marshal(issue)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/issue/SEC-42", 200, string(body))
	c := f.client(Cloud)
	got, err := c.GetIssue(context.Background(), "SEC-42", GetIssueOptions{Fields: []string{"summary", "description"}, Changelog: true, Properties: []string{"vulnsync"}})
	if err != nil {
		t.Fatalf("GetIssue: %v", err)
	}
	q := f.requests("GET /rest/api/3/issue/SEC-42")[0].Query
	if diff := cmp.Diff(url.Values{"fields": {"summary,description"}, "expand": {"changelog"}, "properties": {"vulnsync"}}, q); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	created := time.Date(2019, 1, 7, 16, 55, 51, 184e6, time.FixedZone("", -(3*3600+30*60)))
	dev := User{AccountID: "abc", DisplayName: "Dev"}
	want := &Issue{
		ID: "10042", Key: "SEC-42", Self: "http://jira/rest/api/3/issue/10042",
		Summary:     "XSS",
		Description: richtext.FromADF(desc),
		Status:      Status{ID: "3", Name: "In Progress", Category: StatusCategory{ID: 4, Key: "indeterminate", Name: "In Progress"}},
		Priority:    &Priority{ID: "2", Name: "High"},
		Labels:      []string{"vulnsync"},
		IssueType:   IssueType{ID: "10001", Name: "Bug"},
		Parent:      &IssueRef{ID: "10007", Key: "SEC-7"},
		Created:     created,
		Updated:     time.Date(2019, 1, 8, 10, 0, 0, 0, time.UTC),
		Attachments: []Attachment{{ID: "10000", Filename: "poc.html", MimeType: "text/html", Size: 42,
			Content: "http://jira/rest/api/3/attachment/content/10000", Created: time.Date(2019, 1, 7, 17, 0, 0, 0, time.UTC), Author: dev}},
		Comments: []Comment{{ID: "10100", Author: dev, Body: richtext.FromADF(commentBody),
			Created: time.Date(2019, 1, 7, 18, 0, 0, 0, time.UTC), Updated: time.Date(2019, 1, 7, 18, 0, 0, 0, time.UTC)}},
		Changelog: []ChangelogEntry{{ID: "5", Author: dev, Created: time.Date(2019, 1, 8, 10, 0, 0, 0, time.UTC),
			Items: []ChangeItem{{Field: "CVSS Score", FieldID: "customfield_10050", FieldType: "custom", FromString: "5.0", ToString: "7.5"}}}},
	}
	opts := []cmp.Option{
		cmpopts.IgnoreFields(Issue{}, "Fields", "Properties"),
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	}
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("issue (-want +got):\n%s", diff)
	}
	if string(got.Fields["customfield_10050"]) != "7.5" {
		t.Errorf("raw custom field: got %s, want 7.5", got.Fields["customfield_10050"])
	}
	if string(got.Properties["vulnsync"]) != `{"item":"0195"}` {
		t.Errorf("property: got %s", got.Properties["vulnsync"])
	}
}

// TestDecodeRecordedIssues decodes every issue in the recorded webhook
// payloads (Cloud and Server, wiki-markup bodies) with Issue's decoder.
func TestDecodeRecordedIssues(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "recorded", "mattermost-plugin-jira", "webhooks")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded webhooks in %s: %v", dir, err)
	}
	decoded := 0
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		var payload struct {
			Issue *json.RawMessage `json:"issue"`
		}
		if err := json.Unmarshal(raw, &payload); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if payload.Issue == nil {
			continue // Server comment events carry no issue
		}
		var generic struct {
			Key    string `json:"key"`
			Fields struct {
				Created     string  `json:"created"`
				Description *string `json:"description"`
				Status      struct {
					Name string `json:"name"`
				} `json:"status"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(*payload.Issue, &generic); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		var is Issue
		if err := json.Unmarshal(*payload.Issue, &is); err != nil {
			t.Errorf("%s: decode issue: %v", filepath.Base(path), err)
			continue
		}
		decoded++
		name := filepath.Base(path)
		if is.Key != generic.Key || is.Status.Name != generic.Fields.Status.Name {
			t.Errorf("%s: key/status: got %q/%q, want %q/%q", name, is.Key, is.Status.Name, generic.Key, generic.Fields.Status.Name)
		}
		if generic.Fields.Created != "" { // comment events carry a partial issue
			wantCreated, err := ParseTime(generic.Fields.Created)
			if err != nil || !is.Created.Equal(wantCreated) || is.Created.IsZero() {
				t.Errorf("%s: created: got %v, want %v (%v)", name, is.Created, generic.Fields.Created, err)
			}
		}
		if generic.Fields.Description != nil && is.Description != richtext.FromWiki(*generic.Fields.Description) {
			t.Errorf("%s: description not converted from wiki markup", name)
		}
	}
	if decoded < 40 {
		t.Errorf("decoded %d recorded issues, want at least 40", decoded)
	}
}

func TestEditIssueConvertsMarkdown(t *testing.T) {
	for _, d := range []Deployment{Cloud, DataCenter} {
		t.Run(string(d), func(t *testing.T) {
			f := newFakeJira(t)
			f.handle("PUT /rest/api/{v}/issue/{key}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
			c := f.client(d)
			err := c.EditIssue(context.Background(), "SEC-1",
				map[string]any{"description": Markdown("new *text*"), "customfield_10050": 9.8},
				map[string][]Op{"labels": {{"add": "pci"}, {"remove": "old"}}})
			if err != nil {
				t.Fatalf("EditIssue: %v", err)
			}
			want := roundTrip(t, map[string]any{
				"fields": map[string]any{"description": toRich(d, "new *text*"), "customfield_10050": 9.8},
				"update": map[string]any{"labels": []any{map[string]any{"add": "pci"}, map[string]any{"remove": "old"}}},
			})
			if diff := cmp.Diff(want, decodeBody(t, f.requests("PUT " + apiPrefix(d) + "issue/SEC-1")[0].Body)); diff != "" {
				t.Errorf("edit body (-want +got):\n%s", diff)
			}
		})
	}
	f := newFakeJira(t)
	c := f.client(Cloud)
	if err := c.EditIssue(context.Background(), "SEC-1", nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty edit: got %v, want ErrInvalidArgument", err)
	}
}

func TestDeleteIssue(t *testing.T) {
	f := newFakeJira(t)
	f.handle("DELETE /rest/api/3/issue/SEC-1", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c := f.client(Cloud)
	if err := c.DeleteIssue(context.Background(), "SEC-1", true); err != nil {
		t.Fatalf("DeleteIssue: %v", err)
	}
	if q := f.requests("DELETE /rest/api/3/issue/SEC-1")[0].Query.Get("deleteSubtasks"); q != "true" {
		t.Errorf("deleteSubtasks: got %q, want true", q)
	}
}

func issuesJSON(keys ...string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(`{"id":"%d","key":%q,"fields":{"summary":"issue %s"}}`, 10000+i, k, k)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func keysOf(issues []Issue) []string {
	var out []string
	for _, is := range issues {
		out = append(out, is.Key)
	}
	return out
}

func TestSearchPaginationCloud(t *testing.T) {
	f := newFakeJira(t)
	pages := map[string]string{
		"":      `{"issues":` + issuesJSON("SEC-1", "SEC-2") + `,"nextPageToken":"tok-2","isLast":false}`,
		"tok-2": `{"issues":` + issuesJSON("SEC-3", "SEC-4") + `,"nextPageToken":"tok-3","isLast":false}`,
		"tok-3": `{"issues":` + issuesJSON("SEC-5") + `,"isLast":true}`,
	}
	f.handle("GET /rest/api/3/search/jql", func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Query().Get("nextPageToken")]
		if !ok {
			writeJSON(w, 400, `{"errorMessages":["bad token"]}`)
			return
		}
		writeJSON(w, 200, page)
	})
	c := f.client(Cloud)
	var keys []string
	for is, err := range c.SearchAll(context.Background(), "project = SEC ORDER BY key", []string{"summary", "status"}, 2) {
		if err != nil {
			t.Fatalf("SearchAll: %v", err)
		}
		keys = append(keys, is.Key)
	}
	if diff := cmp.Diff([]string{"SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	var tokens []string
	for _, r := range f.requests("GET /rest/api/3/search/jql") {
		tokens = append(tokens, r.Query.Get("nextPageToken"))
		if r.Query.Get("jql") != "project = SEC ORDER BY key" || r.Query.Get("fields") != "summary,status" || r.Query.Get("maxResults") != "2" {
			t.Errorf("search query: got %v", r.Query)
		}
	}
	if diff := cmp.Diff([]string{"", "tok-2", "tok-3"}, tokens); diff != "" {
		t.Errorf("page tokens sent (-want +got):\n%s", diff)
	}
	page, err := c.SearchJQL(context.Background(), "project = SEC", nil, "tok-3", 50)
	if err != nil || page.NextPageToken != "" || page.Total != -1 {
		t.Errorf("last page: got (%+v, %v), want no next token and unknown total", page, err)
	}
}

func TestSearchPaginationDataCenter(t *testing.T) {
	f := newFakeJira(t)
	all := []string{"SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5"}
	f.handle("GET /rest/api/2/search", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		max, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		end := min(start+max, len(all))
		writeJSON(w, 200, fmt.Sprintf(`{"startAt":%d,"maxResults":%d,"total":%d,"issues":%s}`, start, max, len(all), issuesJSON(all[start:end]...)))
	})
	c := f.client(DataCenter)
	var keys []string
	for is, err := range c.SearchAll(context.Background(), "project = SEC", []string{"summary"}, 2) {
		if err != nil {
			t.Fatalf("SearchAll: %v", err)
		}
		keys = append(keys, is.Key)
	}
	if diff := cmp.Diff(all, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	var starts []string
	for _, r := range f.requests("GET /rest/api/2/search") {
		starts = append(starts, r.Query.Get("startAt"))
	}
	if diff := cmp.Diff([]string{"0", "2", "4"}, starts); diff != "" {
		t.Errorf("startAt sent (-want +got):\n%s", diff)
	}
	page, err := c.SearchJQL(context.Background(), "project = SEC", nil, "2", 2)
	if err != nil || page.NextPageToken != "4" || page.Total != 5 {
		t.Errorf("middle page: got (%+v, %v), want next token 4 and total 5", page, err)
	}
	if _, err := c.SearchJQL(context.Background(), "project = SEC", nil, "not-a-token", 2); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("foreign token: got %v, want ErrInvalidArgument", err)
	}
	if _, err := c.SearchJQL(context.Background(), " ", nil, "", 2); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty JQL: got %v, want ErrInvalidArgument", err)
	}
}

func TestBulkFetch(t *testing.T) {
	keys := make([]string, 150)
	for i := range keys {
		keys[i] = fmt.Sprintf("SEC-%d", i+1)
	}
	t.Run("cloud", func(t *testing.T) {
		f := newFakeJira(t)
		f.handle("POST /rest/api/3/issue/bulkfetch", func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				IssueIdsOrKeys []string `json:"issueIdsOrKeys"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				writeJSON(w, 400, `{"errorMessages":["bad body"]}`)
				return
			}
			writeJSON(w, 200, `{"issues":`+issuesJSON(req.IssueIdsOrKeys...)+`,"issueErrors":[]}`)
		})
		c := f.client(Cloud)
		got, err := c.BulkFetch(context.Background(), keys, []string{"summary"})
		if err != nil {
			t.Fatalf("BulkFetch: %v", err)
		}
		if diff := cmp.Diff(keys, keysOf(got)); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if n := len(f.requests("POST /rest/api/3/issue/bulkfetch")); n != 2 {
			t.Errorf("bulk fetch calls: got %d, want 2 (100 + 50)", n)
		}
	})
	t.Run("datacenter", func(t *testing.T) {
		f := newFakeJira(t)
		f.handle("GET /rest/api/2/search", func(w http.ResponseWriter, r *http.Request) {
			jql := r.URL.Query().Get("jql")
			inner := strings.TrimSuffix(strings.TrimPrefix(jql, "key in ("), ")")
			ks := strings.Split(inner, ",")
			writeJSON(w, 200, fmt.Sprintf(`{"startAt":0,"maxResults":100,"total":%d,"issues":%s}`, len(ks), issuesJSON(ks...)))
		})
		c := f.client(DataCenter)
		got, err := c.BulkFetch(context.Background(), keys[:3], nil)
		if err != nil {
			t.Fatalf("BulkFetch: %v", err)
		}
		if diff := cmp.Diff(keys[:3], keysOf(got)); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if _, err := c.BulkFetch(context.Background(), []string{"SEC-1) OR project = OPS ORDER BY (key"}, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("JQL in a key: got %v, want ErrInvalidArgument", err)
		}
		r := f.requests("GET /rest/api/2/search")[0]
		if r.Query.Get("jql") != "key in (SEC-1,SEC-2,SEC-3)" || r.Query.Get("validateQuery") != "false" {
			t.Errorf("search query: got %v", r.Query)
		}
	})
}

func TestTransitions(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/issue/SEC-1/transitions", 200, `{"expand":"transitions","transitions":[
		{"id":"21","name":"Start","hasScreen":false,"to":{"id":"3","name":"In Progress","statusCategory":{"id":4,"key":"indeterminate","name":"In Progress"}},"fields":{}},
		{"id":"31","name":"Won't Do","hasScreen":true,"to":{"id":"10001","name":"Won't Do","statusCategory":{"id":3,"key":"done","name":"Done"}},
		 "fields":{"resolution":{"required":true,"key":"resolution","name":"Resolution","schema":{"type":"resolution","system":"resolution"},"operations":["set"],"allowedValues":[{"id":"10000","name":"Done"},{"id":"10001","name":"Won't Do"}]}}}]}`)
	f.handle("POST /rest/api/3/issue/SEC-1/transitions", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c := f.client(Cloud)
	ctx := context.Background()
	got, err := c.Transitions(ctx, "SEC-1")
	if err != nil {
		t.Fatalf("Transitions: %v", err)
	}
	if q := f.requests("GET /rest/api/3/issue/SEC-1/transitions")[0].Query.Get("expand"); q != "transitions.fields" {
		t.Errorf("expand: got %q, want transitions.fields", q)
	}
	want := []Transition{
		{ID: "21", Name: "Start", To: Status{ID: "3", Name: "In Progress", Category: StatusCategory{ID: 4, Key: "indeterminate", Name: "In Progress"}}, Fields: map[string]TransitionField{}},
		{ID: "31", Name: "Won't Do", To: Status{ID: "10001", Name: "Won't Do", Category: StatusCategory{ID: 3, Key: "done", Name: "Done"}},
			Fields: map[string]TransitionField{"resolution": {Required: true, Name: "Resolution", Schema: &FieldSchema{Type: "resolution", System: "resolution"},
				AllowedValues: []AllowedValue{{ID: "10000", Name: "Done"}, {ID: "10001", Name: "Won't Do"}}}}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(AllowedValue{}, "Raw")); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if err := c.DoTransition(ctx, "SEC-1", "31", map[string]any{"resolution": map[string]string{"name": "Won't Do"}}); err != nil {
		t.Fatalf("DoTransition: %v", err)
	}
	want2 := roundTrip(t, map[string]any{"transition": map[string]string{"id": "31"}, "fields": map[string]any{"resolution": map[string]string{"name": "Won't Do"}}})
	if diff := cmp.Diff(want2, decodeBody(t, f.requests("POST /rest/api/3/issue/SEC-1/transitions")[0].Body)); diff != "" {
		t.Errorf("transition body (-want +got):\n%s", diff)
	}
}

func TestComments(t *testing.T) {
	for _, d := range []Deployment{Cloud, DataCenter} {
		t.Run(string(d), func(t *testing.T) {
			f := newFakeJira(t)
			body := func(md string) string {
				b, _ := json.Marshal(toRich(d, md))
				return string(b)
			}
			comment := func(id, md string) string {
				return fmt.Sprintf(`{"id":%q,"body":%s,"author":{"accountId":"abc","displayName":"Dev"},"created":"2025-01-02T03:04:05.000+0000","updated":"2025-01-02T03:04:05.000+0000","properties":[{"key":"vulnsync","value":{"origin":"vulnsync"}}]}`, id, body(md))
			}
			prefix := apiPrefix(d)
			f.handle("GET "+prefix+"issue/SEC-1/comment", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("startAt") == "0" {
					writeJSON(w, 200, `{"startAt":0,"maxResults":2,"total":3,"comments":[`+comment("1", "one")+`,`+comment("2", "two")+`]}`)
					return
				}
				writeJSON(w, 200, `{"startAt":2,"maxResults":2,"total":3,"comments":[`+comment("3", "three")+`]}`)
			})
			f.handle("POST "+prefix+"issue/SEC-1/comment", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 201, comment("4", "four"))
			})
			f.handle("PUT "+prefix+"issue/SEC-1/comment/4", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, comment("4", "four, edited"))
			})
			f.handle("DELETE "+prefix+"issue/SEC-1/comment/4", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
			c := f.client(d)
			ctx := context.Background()

			got, err := c.Comments(ctx, "SEC-1")
			if err != nil {
				t.Fatalf("Comments: %v", err)
			}
			var bodies []string
			for _, cm := range got {
				bodies = append(bodies, cm.Body)
				if string(cm.Properties["vulnsync"]) != `{"origin":"vulnsync"}` {
					t.Errorf("comment %s property: got %s", cm.ID, cm.Properties["vulnsync"])
				}
			}
			wantBodies := []string{fromRichMust(t, body("one")), fromRichMust(t, body("two")), fromRichMust(t, body("three"))}
			if diff := cmp.Diff(wantBodies, bodies); diff != "" {
				t.Errorf("bodies (-want +got):\n%s", diff)
			}
			if q := f.requests("GET " + prefix + "issue/SEC-1/comment")[0].Query.Get("expand"); q != "properties" {
				t.Errorf("expand: got %q, want properties", q)
			}

			added, err := c.AddComment(ctx, "SEC-1", "four", map[string]any{"vulnsync": map[string]string{"origin": "vulnsync"}})
			if err != nil || added.ID != "4" {
				t.Fatalf("AddComment: got (%+v, %v)", added, err)
			}
			wantAdd := roundTrip(t, map[string]any{"body": toRich(d, "four"), "properties": []map[string]any{{"key": "vulnsync", "value": map[string]string{"origin": "vulnsync"}}}})
			if diff := cmp.Diff(wantAdd, decodeBody(t, f.requests("POST " + prefix + "issue/SEC-1/comment")[0].Body)); diff != "" {
				t.Errorf("add body (-want +got):\n%s", diff)
			}
			if _, err := c.EditComment(ctx, "SEC-1", "4", "four, edited"); err != nil {
				t.Fatalf("EditComment: %v", err)
			}
			if diff := cmp.Diff(roundTrip(t, map[string]any{"body": toRich(d, "four, edited")}), decodeBody(t, f.requests("PUT " + prefix + "issue/SEC-1/comment/4")[0].Body)); diff != "" {
				t.Errorf("edit body (-want +got):\n%s", diff)
			}
			if err := c.DeleteComment(ctx, "SEC-1", "4"); err != nil {
				t.Fatalf("DeleteComment: %v", err)
			}
			if _, err := c.AddComment(ctx, "SEC-1", "", nil); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("empty comment: got %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func fromRichMust(t *testing.T, raw string) string {
	t.Helper()
	s, err := fromRich(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("fromRich(%s): %v", raw, err)
	}
	return s
}

func TestAddAttachment(t *testing.T) {
	f := newFakeJira(t)
	type part struct {
		Name, Filename, ContentType, Content string
	}
	var parts []part
	f.handle("POST /rest/api/3/issue/SEC-1/attachments", func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			writeJSON(w, 415, "")
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				writeJSON(w, 400, `{"errorMessages":["bad multipart"]}`)
				return
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
		}
		writeJSON(w, 200, `[{"id":"10010","filename":"poc \"1\".txt","mimeType":"text/plain","size":5,"created":1651316514000,
			"content":"http://jira/rest/api/3/attachment/content/10010","author":{"accountId":"abc","displayName":"Admin"}}]`)
	})
	c := f.client(Cloud, func(cfg *Config) { cfg.MaxUploadBytes = 16 })
	got, err := c.AddAttachment(context.Background(), "SEC-1", `poc "1".txt`, "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatalf("AddAttachment: %v", err)
	}
	if h := f.requests("POST /rest/api/3/issue/SEC-1/attachments")[0].Header.Get("X-Atlassian-Token"); h != "no-check" {
		t.Errorf("X-Atlassian-Token: got %q, want no-check", h)
	}
	if diff := cmp.Diff([]part{{"file", `poc "1".txt`, "text/plain", "hello"}}, parts); diff != "" {
		t.Errorf("multipart parts (-want +got):\n%s", diff)
	}
	want := []Attachment{{ID: "10010", Filename: `poc "1".txt`, MimeType: "text/plain", Size: 5, Created: time.UnixMilli(1651316514000).UTC(),
		Content: "http://jira/rest/api/3/attachment/content/10010", Author: User{AccountID: "abc", DisplayName: "Admin"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attachments (-want +got):\n%s", diff)
	}

	_, err = c.AddAttachment(context.Background(), "SEC-1", "big.bin", "", strings.NewReader(strings.Repeat("x", 17)))
	if !IsTooLarge(err) {
		t.Errorf("upload over MaxUploadBytes: got %v, want TooLargeError", err)
	}
	for _, name := range []string{"", "../etc/passwd", "a\nb"} {
		if _, err := c.AddAttachment(context.Background(), "SEC-1", name, "", strings.NewReader("x")); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("filename %q: got %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(f.requests("POST /rest/api/3/issue/SEC-1/attachments")); n != 1 {
		t.Errorf("upload requests: got %d, want 1 (bad input sends nothing)", n)
	}
}

func TestDownloadAttachment(t *testing.T) {
	t.Run("cloud", func(t *testing.T) {
		f := newFakeJira(t)
		f.handle("GET /rest/api/3/attachment/content/10010", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello world")
		})
		c := f.client(Cloud)
		ctx := context.Background()
		got, err := c.DownloadAttachment(ctx, "10010", 100)
		if err != nil {
			t.Fatalf("DownloadAttachment by id: %v", err)
		}
		if diff := cmp.Diff(&AttachmentContent{ContentType: "text/plain", Data: []byte("hello world")}, got); diff != "" {
			t.Errorf("content (-want +got):\n%s", diff)
		}
		if _, err := c.DownloadAttachment(ctx, f.srv.URL+"/rest/api/3/attachment/content/10010", 100); err != nil {
			t.Errorf("DownloadAttachment by URL: %v", err)
		}
		if _, err := c.DownloadAttachment(ctx, "10010", 5); !IsTooLarge(err) {
			t.Errorf("over max: got %v, want TooLargeError", err)
		}
		before := len(f.requests(""))
		if _, err := c.DownloadAttachment(ctx, "https://evil.example.test/rest/api/3/attachment/content/10010", 100); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("foreign host: got %v, want ErrInvalidArgument", err)
		}
		if n := len(f.requests("")); n != before {
			t.Errorf("foreign URL caused %d requests", n-before)
		}
	})
	t.Run("datacenter", func(t *testing.T) {
		f := newFakeJira(t)
		f.handle("GET /rest/api/2/attachment/10010", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, fmt.Sprintf(`{"id":10010,"filename":"poc.txt","mimeType":"text/plain","size":5,"content":"%s/secure/attachment/10010/poc.txt"}`, "http://"+r.Host))
		})
		f.handle("GET /secure/attachment/10010/poc.txt", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello")
		})
		c := f.client(DataCenter)
		got, err := c.DownloadAttachment(context.Background(), "10010", 100)
		if err != nil {
			t.Fatalf("DownloadAttachment: %v", err)
		}
		if string(got.Data) != "hello" {
			t.Errorf("data: got %q, want hello", got.Data)
		}
		if h := f.requests("GET /secure/attachment/")[0].Header.Get("Authorization"); h != "Bearer admin-pat" {
			t.Errorf("download auth: got %q", h)
		}
	})
}

func TestIssueProperties(t *testing.T) {
	f := newFakeJira(t)
	var stored []byte
	f.handle("PUT /rest/api/3/issue/SEC-1/properties/vulnsync", func(w http.ResponseWriter, r *http.Request) {
		stored, _ = io.ReadAll(r.Body)
		w.WriteHeader(201)
	})
	f.handle("GET /rest/api/3/issue/{key}/properties/vulnsync", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("key") != "SEC-1" {
			writeJSON(w, 404, `{"errorMessages":["The property with key 'vulnsync' does not exist."]}`)
			return
		}
		writeJSON(w, 200, `{"key":"vulnsync","value":`+string(stored)+`}`)
	})
	c := f.client(Cloud)
	ctx := context.Background()
	type marker struct {
		Item string `json:"item"`
	}
	if err := c.SetIssueProperty(ctx, "SEC-1", "vulnsync", marker{Item: "0195"}); err != nil {
		t.Fatalf("SetIssueProperty: %v", err)
	}
	var got marker
	if err := c.GetIssueProperty(ctx, "SEC-1", "vulnsync", &got); err != nil || got.Item != "0195" {
		t.Errorf("GetIssueProperty: got (%+v, %v), want item 0195", got, err)
	}
	if err := c.GetIssueProperty(ctx, "SEC-2", "vulnsync", &got); !IsNotFound(err) {
		t.Errorf("missing property: got %v, want IsNotFound", err)
	}
}

func TestWebhooks(t *testing.T) {
	f := newFakeJira(t)
	hook := func(id string) string {
		return fmt.Sprintf(`{"self":"http://jira/rest/webhooks/1.0/webhook/%s","name":"vulnsync","url":"https://vulnsync.example.test/webhooks/jira/c1","events":["jira:issue_created","comment_created"],"filters":{"issue-related-events-section":"project = SEC"},"excludeBody":false,"enabled":true}`, id)
	}
	f.reply("POST /rest/webhooks/1.0/webhook", 201, hook("7"))
	f.reply("GET /rest/webhooks/1.0/webhook", 200, "["+hook("7")+"]")
	f.reply("PUT /rest/webhooks/1.0/webhook/7", 200, hook("7"))
	f.handle("DELETE /rest/webhooks/1.0/webhook/7", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c := f.client(Cloud)
	ctx := context.Background()
	in := Webhook{Name: "vulnsync", URL: "https://vulnsync.example.test/webhooks/jira/c1", Events: []string{"jira:issue_created", "comment_created"}, JQL: "project = SEC", Secret: "s3cret"}
	got, err := c.RegisterWebhook(ctx, in)
	if err != nil {
		t.Fatalf("RegisterWebhook: %v", err)
	}
	want := &Webhook{ID: "7", Self: "http://jira/rest/webhooks/1.0/webhook/7", Name: "vulnsync", URL: in.URL, Events: in.Events, JQL: "project = SEC", Enabled: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	wantBody := roundTrip(t, map[string]any{"name": "vulnsync", "url": in.URL, "events": in.Events,
		"filters": map[string]string{"issue-related-events-section": "project = SEC"}, "excludeBody": false, "enabled": true, "secret": "s3cret"})
	if diff := cmp.Diff(wantBody, decodeBody(t, f.requests("POST /rest/webhooks/1.0/webhook")[0].Body)); diff != "" {
		t.Errorf("register body (-want +got):\n%s", diff)
	}
	list, err := c.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "7" {
		t.Errorf("Webhooks: got (%+v, %v)", list, err)
	}
	if _, err := c.UpdateWebhook(ctx, "7", in); err != nil {
		t.Errorf("UpdateWebhook: %v", err)
	}
	if err := c.DeleteWebhook(ctx, "7"); err != nil {
		t.Errorf("DeleteWebhook: %v", err)
	}
	for _, bad := range []Webhook{{URL: in.URL, Events: in.Events}, {Name: "x", URL: "/relative", Events: in.Events}, {Name: "x", URL: in.URL}} {
		if _, err := c.RegisterWebhook(ctx, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("RegisterWebhook(%+v): got %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestMetadata(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/serverInfo", 200, `{"baseUrl":"https://acme.atlassian.net","version":"1001.0.0-SNAPSHOT","versionNumbers":[1001,0,0],"deploymentType":"Cloud","buildNumber":100280,"serverTime":"2019-01-07T16:55:51.184-0330","serverTitle":"Jira","defaultLocale":{"locale":"en_US"}}`)
	f.handle("GET /rest/api/3/project/search", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("startAt") == "0" {
			writeJSON(w, 200, `{"startAt":0,"maxResults":1,"total":2,"isLast":false,"values":[{"id":"10000","key":"SEC","name":"Security"}]}`)
			return
		}
		writeJSON(w, 200, `{"startAt":1,"maxResults":1,"total":2,"isLast":true,"values":[{"id":"10001","key":"OPS","name":"Ops"}]}`)
	})
	f.reply("GET /rest/api/3/project/SEC", 200, `{"id":"10000","key":"SEC","name":"Security","issueTypes":[{"id":"10001","name":"Bug","subtask":false},{"id":"10003","name":"Sub-task","subtask":true}]}`)
	f.reply("GET /rest/api/3/field", 200, `[{"id":"customfield_10050","key":"customfield_10050","name":"CVSS Score","custom":true,"schema":{"type":"number","custom":"com.atlassian.jira.plugin.system.customfieldtypes:float","customId":10050}}]`)
	f.reply("GET /rest/api/3/priority", 200, `[{"id":"1","name":"Highest"},{"id":"3","name":"Medium"}]`)
	f.reply("GET /rest/api/3/status", 200, `[{"id":"1","name":"To Do","statusCategory":{"id":2,"key":"new","name":"To Do"}}]`)
	f.reply("GET /rest/api/3/project/SEC/statuses", 200, `[{"id":"10001","name":"Bug","self":"http://jira/rest/api/3/issuetype/10001","subtask":false,"statuses":[{"id":"1","name":"To Do","statusCategory":{"id":2,"key":"new","name":"To Do"}}]}]`)
	f.handle("GET /rest/api/3/issue/createmeta/SEC/issuetypes", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("startAt") == "0" {
			writeJSON(w, 200, `{"startAt":0,"maxResults":1,"total":2,"issueTypes":[{"id":"10001","name":"Bug","subtask":false}]}`)
			return
		}
		writeJSON(w, 200, `{"startAt":1,"maxResults":1,"total":2,"issueTypes":[{"id":"10003","name":"Sub-task","subtask":true}]}`)
	})
	c := f.client(Cloud)
	ctx := context.Background()

	info, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatalf("ServerInfo: %v", err)
	}
	if want := time.Date(2019, 1, 7, 20, 25, 51, 184e6, time.UTC); !info.ServerTime.Equal(want) || info.DeploymentType != "Cloud" {
		t.Errorf("server info: got %+v, want serverTime %v", info, want)
	}
	projects, err := c.Projects(ctx)
	if err != nil {
		t.Fatalf("Projects: %v", err)
	}
	if diff := cmp.Diff([]Project{{ID: "10000", Key: "SEC", Name: "Security"}, {ID: "10001", Key: "OPS", Name: "Ops"}}, projects); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	p, err := c.Project(ctx, "SEC")
	if err != nil || len(p.IssueTypes) != 2 || !p.IssueTypes[1].Subtask {
		t.Errorf("Project: got (%+v, %v)", p, err)
	}
	fields, err := c.Fields(ctx)
	if err != nil || len(fields) != 1 || fields[0].Schema.Type != "number" || !fields[0].Custom {
		t.Errorf("Fields: got (%+v, %v)", fields, err)
	}
	prios, err := c.Priorities(ctx)
	if diff := cmp.Diff([]Priority{{ID: "1", Name: "Highest"}, {ID: "3", Name: "Medium"}}, prios); err != nil || diff != "" {
		t.Errorf("Priorities: err %v, (-want +got):\n%s", err, diff)
	}
	statuses, err := c.Statuses(ctx)
	if err != nil || len(statuses) != 1 || statuses[0].Category.Key != "new" {
		t.Errorf("Statuses: got (%+v, %v)", statuses, err)
	}
	ps, err := c.ProjectStatuses(ctx, "SEC")
	if err != nil || len(ps) != 1 || ps[0].Statuses[0].Name != "To Do" {
		t.Errorf("ProjectStatuses: got (%+v, %v)", ps, err)
	}
	types, err := c.CreateMetaIssueTypes(ctx, "SEC")
	if diff := cmp.Diff([]IssueType{{ID: "10001", Name: "Bug"}, {ID: "10003", Name: "Sub-task", Subtask: true}}, types); err != nil || diff != "" {
		t.Errorf("CreateMetaIssueTypes: err %v (-want +got):\n%s", err, diff)
	}
}

// TestCreateMetaFieldsFromRecording serves the fields recorded from a real
// Jira Cloud create screen, paginated the way createmeta pages them, and
// checks the client reads every one.
func TestCreateMetaFieldsFromRecording(t *testing.T) {
	path := filepath.Join(sharedDir(t), "recorded", "mattermost-plugin-jira", "createmeta", "cloud-get-create-issue-metadata-for-project-many-fields.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read recording: %v", err)
	}
	var rec struct {
		Projects []struct {
			Key        string `json:"key"`
			IssueTypes []struct {
				ID     string                     `json:"id"`
				Fields map[string]json.RawMessage `json:"fields"`
			} `json:"issuetypes"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("decode recording: %v", err)
	}
	it := rec.Projects[0].IssueTypes[0]
	// The recording uses the old createmeta shape (fields keyed by id);
	// the new endpoint lists them with a fieldId each.
	var ids []string
	for id := range it.Fields {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var list []json.RawMessage
	for _, id := range ids {
		var m map[string]any
		if err := json.Unmarshal(it.Fields[id], &m); err != nil {
			t.Fatalf("field %s: %v", id, err)
		}
		m["fieldId"] = id
		if _, ok := m["key"]; !ok {
			m["key"] = id
		}
		b, _ := json.Marshal(m)
		list = append(list, b)
	}
	const pageSize = 10
	f := newFakeJira(t)
	f.handle("GET /rest/api/3/issue/createmeta/{project}/issuetypes/{type}", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		end := min(start+pageSize, len(list))
		var buf bytes.Buffer
		buf.WriteString(fmt.Sprintf(`{"startAt":%d,"maxResults":%d,"total":%d,"fields":[`, start, pageSize, len(list)))
		for i, b := range list[start:end] {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(b)
		}
		buf.WriteString("]}")
		writeJSON(w, 200, buf.String())
	})
	c := f.client(Cloud)
	got, err := c.CreateMetaFields(context.Background(), rec.Projects[0].Key, it.ID)
	if err != nil {
		t.Fatalf("CreateMetaFields: %v", err)
	}
	var gotIDs []string
	for _, fld := range got {
		gotIDs = append(gotIDs, fld.FieldID)
	}
	if diff := cmp.Diff(ids, gotIDs); diff != "" {
		t.Errorf("field ids (-want +got):\n%s", diff)
	}
	if want := (len(list) + pageSize - 1) / pageSize; len(f.requests("GET /rest/api/3/issue/createmeta/")) != want {
		t.Errorf("pages fetched: got %d, want %d", len(f.requests("GET /rest/api/3/issue/createmeta/")), want)
	}
	for _, fld := range got {
		var orig struct {
			Name          string            `json:"name"`
			Required      bool              `json:"required"`
			AllowedValues []json.RawMessage `json:"allowedValues"`
		}
		_ = json.Unmarshal(it.Fields[fld.FieldID], &orig)
		if fld.Name != orig.Name || fld.Required != orig.Required || len(fld.AllowedValues) != len(orig.AllowedValues) {
			t.Errorf("field %s: got name %q required %v %d values, want %q %v %d", fld.FieldID, fld.Name, fld.Required, len(fld.AllowedValues), orig.Name, orig.Required, len(orig.AllowedValues))
		}
	}
}

func TestCreateMetaDataCenterValues(t *testing.T) {
	f := newFakeJira(t)
	f.handle("GET /rest/api/2/issue/createmeta/SEC/issuetypes/10001", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"startAt":0,"maxResults":50,"total":1,"isLast":true,"values":[{"fieldId":"customfield_10052","key":"customfield_10052","name":"Component","required":true,"operations":["set"],"hasDefaultValue":false,
			"schema":{"type":"option","custom":"com.atlassian.jira.plugin.system.customfieldtypes:select","customId":10052},
			"allowedValues":[{"id":"1","value":"Web"},{"id":"2","value":"API"}]}]}`)
	})
	c := f.client(DataCenter)
	got, err := c.CreateMetaFields(context.Background(), "SEC", "10001")
	if err != nil {
		t.Fatalf("CreateMetaFields: %v", err)
	}
	want := []CreateMetaField{{FieldID: "customfield_10052", Key: "customfield_10052", Name: "Component", Required: true, Operations: []string{"set"},
		Schema:        &FieldSchema{Type: "option", Custom: "com.atlassian.jira.plugin.system.customfieldtypes:select", CustomID: 10052},
		AllowedValues: []AllowedValue{{ID: "1", Value: "Web"}, {ID: "2", Value: "API"}}}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(AllowedValue{}, "Raw")); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestRichTextThroughTheClient stores what CreateIssue sends and serves it
// back through GetIssue: the wire format is the deployment's (ADF on Cloud,
// wiki markup on Data Center) and the Markdown survives the round trip.
func TestRichTextThroughTheClient(t *testing.T) {
	const md = "Reflected XSS in **search**\n\n- step `one`\n- [advisory](https://example.test/a)"
	for _, d := range []Deployment{Cloud, DataCenter} {
		t.Run(string(d), func(t *testing.T) {
			f := newFakeJira(t)
			var stored json.RawMessage
			prefix := apiPrefix(d)
			f.handle("POST "+prefix+"issue", func(w http.ResponseWriter, r *http.Request) {
				var body struct {
					Fields map[string]json.RawMessage `json:"fields"`
				}
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					writeJSON(w, 400, `{"errorMessages":["bad body"]}`)
					return
				}
				stored = body.Fields["description"]
				writeJSON(w, 201, `{"id":"10001","key":"SEC-1","self":"http://jira/issue/10001"}`)
			})
			f.handle("GET "+prefix+"issue/SEC-1", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, `{"id":"10001","key":"SEC-1","fields":{"summary":"x","description":`+string(stored)+`}}`)
			})
			c := f.client(d)
			ctx := context.Background()
			if _, err := c.CreateIssue(ctx, IssueCreate{ProjectKey: "SEC", IssueTypeName: "Bug", Summary: "x", Description: md}); err != nil {
				t.Fatalf("CreateIssue: %v", err)
			}
			if d == Cloud {
				doc, err := richtext.ParseADF(stored)
				if err != nil {
					t.Fatalf("Cloud description is not valid ADF: %v (%s)", err, stored)
				}
				if doc.Type != "doc" || doc.Version != 1 {
					t.Errorf("Cloud description: got type %q version %d, want doc 1", doc.Type, doc.Version)
				}
			} else {
				var wiki string
				if err := json.Unmarshal(stored, &wiki); err != nil {
					t.Fatalf("Data Center description is not a string: %s", stored)
				}
				if wiki != richtext.ToWiki(md) || strings.Contains(wiki, "**") {
					t.Errorf("Data Center description: got %q, want wiki markup %q", wiki, richtext.ToWiki(md))
				}
			}
			got, err := c.GetIssue(ctx, "SEC-1", GetIssueOptions{})
			if err != nil {
				t.Fatalf("GetIssue: %v", err)
			}
			if got.Description != md {
				t.Errorf("description after the round trip: got %q, want %q", got.Description, md)
			}
		})
	}
}
