package jiraspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func jsonHeader() http.Header {
	return http.Header{"Content-Type": []string{"application/json"}}
}

func newReq(method, path, contentType string) *http.Request {
	req := httptest.NewRequest(method, path, nil)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Basic dXNlcjp0b2tlbg==")
	return req
}

// example returns Atlassian's own example answer for an operation, read
// from the loaded document (so nothing from ../shared is copied here).
func example(t *testing.T, s *Spec, path, method, status string) []byte {
	t.Helper()
	item := s.p.doc.Paths.Value(path)
	if item == nil {
		t.Fatalf("path %s not in the document", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		t.Fatalf("%s %s not in the document", method, path)
	}
	resp := op.Responses.Value(status)
	if resp == nil || resp.Value == nil {
		t.Fatalf("%s %s has no %s response", method, path, status)
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil {
		t.Fatalf("%s %s %s has no JSON content", method, path, status)
	}
	ex, ok := mt.Example.(string)
	if !ok {
		t.Fatalf("%s %s %s: example is %T, want a JSON string", method, path, status, mt.Example)
	}
	return []byte(ex)
}

// edit decodes a JSON object, lets f change it and encodes it again.
func edit(t *testing.T, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return out
}

func TestValidateRequest(t *testing.T) {
	s := Load(t)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantErr     string // substring; empty means valid
	}{
		{
			name: "create issue v3 with ADF description", method: "POST", path: "/rest/api/3/issue", contentType: "application/json",
			body: `{"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"XSS","description":{"type":"doc","version":1,"content":[]}}}`,
		},
		{
			name: "create issue v2 with wiki description", method: "POST", path: "/rest/api/2/issue", contentType: "application/json",
			body: `{"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"XSS","description":"h1. Title\n*bold*"}}`,
		},
		{
			name: "comment v2 with wiki body", method: "POST", path: "/rest/api/2/issue/SEC-1/comment", contentType: "application/json",
			body: `{"body":"a *wiki* comment"}`,
		},
		{
			name: "edit clearing a field with null", method: "PUT", path: "/rest/api/3/issue/SEC-1", contentType: "application/json",
			body: `{"fields":{"duedate":null}}`,
		},
		{
			name: "wrong type in body", method: "POST", path: "/rest/api/3/issue", contentType: "application/json",
			body:    `{"fields":"not an object"}`,
			wantErr: `Error at "/fields": value must be an object`,
		},
		{
			name: "wrong type in transition body", method: "POST", path: "/rest/api/3/issue/SEC-1/transitions", contentType: "application/json",
			body:    `{"transition":{"id":31}}`,
			wantErr: `Error at "/id": value must be a string`,
		},
		{
			name: "missing required query parameter", method: "GET", path: "/rest/api/3/mypreferences",
			wantErr: `parameter "key" in query has an error: value is required`,
		},
		{
			name: "wrong type in query parameter", method: "GET", path: "/rest/api/3/issue/createmeta/SEC/issuetypes?maxResults=many",
			wantErr: `parameter "maxResults" in query`,
		},
		{
			name: "read-only property in request", method: "POST", path: "/rest/api/3/issue/SEC-1/comment", contentType: "application/json",
			body:    `{"body":"x","id":"10000"}`,
			wantErr: `readOnly property "id" in request`,
		},
		{
			name: "search jql with token", method: "GET", path: "/rest/api/3/search/jql?jql=project%3DSEC&nextPageToken=abc&maxResults=50&fields=summary",
		},
		{
			name: "method not documented on a documented path", method: "PATCH", path: "/rest/api/3/issue/SEC-1",
			wantErr: "method not allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ValidateRequest(newReq(tt.method, tt.path, tt.contentType), []byte(tt.body))
			checkErr(t, err, tt.wantErr)
			if errors.Is(err, ErrNotCovered) {
				t.Errorf("error %v: documented path reported as not covered", err)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("got error %v, want none", err)
	case want != "" && err == nil:
		t.Errorf("got no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("got error %v, want one containing %q", err, want)
	}
}

func TestOperation(t *testing.T) {
	s := Load(t)
	tests := []struct {
		method, path string
		wantOp       string
		wantOK       bool
	}{
		{"GET", "/rest/api/3/serverInfo", "getServerInfo", true},
		{"GET", "/rest/api/2/serverInfo", "getServerInfo", true},
		{"GET", "/rest/api/2/issue/SEC-1", "getIssue", true},
		{"POST", "/rest/api/3/issue/SEC-1/attachments", "addAttachment", true},
		{"GET", "/rest/api/3/search/jql", "searchAndReconsileIssuesUsingJql", true},
		{"GET", "/rest/api/2/search", "", false},
		{"POST", "/rest/webhooks/1.0/webhook", "", false},
		{"DELETE", "/rest/webhooks/1.0/webhook/7", "", false},
		{"POST", "/_sim/faults", "", false},
		{"GET", "/rest/api/3/no-such-thing", "", false},
	}
	for _, tt := range tests {
		op, ok := s.Operation(newReq(tt.method, tt.path, ""))
		if op != tt.wantOp || ok != tt.wantOK {
			t.Errorf("Operation(%s %s): got (%q, %v), want (%q, %v)", tt.method, tt.path, op, ok, tt.wantOp, tt.wantOK)
		}
	}
	err := s.ValidateRequest(newReq("POST", "/rest/webhooks/1.0/webhook", "application/json"), []byte(`{}`))
	if !errors.Is(err, ErrNotCovered) {
		t.Errorf("ValidateRequest on webhook path: got %v, want ErrNotCovered", err)
	}
}

func TestRelaxations(t *testing.T) {
	s := Load(t)
	serverInfo := example(t, s, "/rest/api/3/serverInfo", "GET", "200")
	fieldsMeta := example(t, s, "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", "GET", "200")
	attachments := example(t, s, "/rest/api/3/issue/{issueIdOrKey}/attachments", "POST", "200")
	comment := example(t, s, "/rest/api/3/issue/{issueIdOrKey}/comment", "POST", "201")

	setFirstField := func(key string, v any, del bool) func(m map[string]any) {
		return func(m map[string]any) {
			f := m["fields"].([]any)[0].(map[string]any)
			if del {
				delete(f, key)
			} else {
				f[key] = v
			}
		}
	}

	editArray := func(body []byte, key string, v any) []byte {
		var a []map[string]any
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("decode: %v", err)
		}
		a[0][key] = v
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		return out
	}

	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		body    []byte
		wantErr string
	}{
		// defaultLocale in serverInfo: exactly that property, that shape.
		{"serverInfo example with defaultLocale", "GET", "/rest/api/3/serverInfo", 200, serverInfo, ""},
		{"serverInfo defaultLocale of wrong shape", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["defaultLocale"] = "en_AU" }), `Error at "/defaultLocale"`},
		{"serverInfo other extra property", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["bogus"] = 1 }), `property "bogus" is unsupported`},
		// Timestamps: colon-less offsets pass, other non-date-times fail.
		{"serverTime with -0330", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-01-07T16:55:51.184-0330" }), ""},
		{"serverTime RFC 3339", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-01-07T16:55:51Z" }), ""},
		{"serverTime without offset", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-01-07T16:55:51.184" }), `Error at "/serverTime"`},
		{"serverTime date only", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-01-07" }), `Error at "/serverTime"`},
		{"serverTime impossible day", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-02-30T16:55:51.184-0330" }), `Error at "/serverTime"`},
		{"serverTime three-digit offset", "GET", "/rest/api/3/serverInfo", 200,
			edit(t, serverInfo, func(m map[string]any) { m["serverTime"] = "2019-01-07T16:55:51.184-033" }), `Error at "/serverTime"`},
		{"comment created with -0330", "POST", "/rest/api/3/issue/SEC-1/comment", 201,
			edit(t, comment, func(m map[string]any) { m["created"] = "2019-01-07T16:55:51.184-0330" }), ""},
		// createmeta: only "schema" stops being required.
		{"createmeta example without schema", "GET", "/rest/api/3/issue/createmeta/SEC/issuetypes/10001", 200, fieldsMeta, ""},
		{"createmeta field without key", "GET", "/rest/api/3/issue/createmeta/SEC/issuetypes/10001", 200,
			edit(t, fieldsMeta, setFirstField("key", nil, true)), `property "key" is missing`},
		{"createmeta schema of wrong type", "GET", "/rest/api/3/issue/createmeta/SEC/issuetypes/10001", 200,
			edit(t, fieldsMeta, setFirstField("schema", "string", false)), `Error at "/fields/0/schema"`},
		// attachment created: epoch ms or a date-time, nothing else.
		{"attachment example with epoch ms", "POST", "/rest/api/3/issue/SEC-1/attachments", 200, attachments, ""},
		{"attachment created as date-time", "POST", "/rest/api/3/issue/SEC-1/attachments", 200,
			editArray(attachments, "created", "2022-04-30T10:01:54.000+0000"), ""},
		{"attachment created as text", "POST", "/rest/api/3/issue/SEC-1/attachments", 200,
			editArray(attachments, "created", "yesterday"), `Error at "/0/created"`},
		{"attachment created as fraction", "POST", "/rest/api/3/issue/SEC-1/attachments", 200,
			editArray(attachments, "created", 1.5), `Error at "/0/created"`},
		{"attachment metadata created as epoch is still strict", "GET", "/rest/api/3/attachment/10000", 200,
			edit(t, example(t, s, "/rest/api/3/attachment/{id}", "GET", "200"), func(m map[string]any) { m["created"] = 1651316514000 }), `Error at "/created"`},
		// null: issue field values and changelog strings, nothing else.
		{"issue with null fields", "GET", "/rest/api/3/issue/SEC-1", 200,
			[]byte(`{"id":"1","key":"SEC-1","fields":{"resolution":null,"duedate":null,"summary":"x"}}`), ""},
		{"issue with null key", "GET", "/rest/api/3/issue/SEC-1", 200,
			[]byte(`{"id":"1","key":null,"fields":{}}`), `Error at "/key"`},
		{"changelog with null from/to", "GET", "/rest/api/3/issue/SEC-1", 200,
			[]byte(`{"id":"1","key":"SEC-1","fields":{},"changelog":{"histories":[{"id":"5","items":[{"field":"assignee","from":null,"fromString":null,"to":"abc","toString":"Dev"}]}]}}`), ""},
		{"changelog with null field name", "GET", "/rest/api/3/issue/SEC-1", 200,
			[]byte(`{"id":"1","key":"SEC-1","fields":{},"changelog":{"histories":[{"id":"5","items":[{"field":null}]}]}}`), `Error at "/histories/0/items/0/field": Value is not nullable`},
		// Bodies: none on 204; empty allowed only where the schema is untyped.
		{"204 without body", "PUT", "/rest/api/3/issue/SEC-1", 204, nil, ""},
		{"204 with a body", "PUT", "/rest/api/3/issue/SEC-1", 204, []byte(`{}`), "carries a body"},
		{"property set with empty answer", "PUT", "/rest/api/3/issue/SEC-1/properties/vulnsync", 201, nil, ""},
		{"issue with empty answer", "GET", "/rest/api/3/issue/SEC-1", 200, nil, "response body"},
		// 429 and 5xx: allowed on any operation, with Jira's error body.
		{"undeclared 429 with ErrorCollection", "GET", "/rest/api/3/serverInfo", 429,
			[]byte(`{"errorMessages":["Rate limit exceeded."],"errors":{}}`), ""},
		{"undeclared 503 empty", "GET", "/rest/api/3/serverInfo", 503, nil, ""},
		{"undeclared 429 with a foreign body", "GET", "/rest/api/3/serverInfo", 429, []byte(`{"message":"slow down"}`), "ErrorCollection"},
		{"undeclared 418", "GET", "/rest/api/3/serverInfo", 418, []byte(`{}`), "418"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ValidateResponse(newReq(tt.method, tt.path, ""), tt.status, jsonHeader(), tt.body)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func multipartBody(t *testing.T, field, filename string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	var w io.Writer
	var err error
	if filename == "" {
		w, err = mw.CreateFormField(field)
	} else {
		w, err = mw.CreateFormFile(field, filename)
	}
	if err != nil {
		t.Fatalf("create part: %v", err)
	}
	fmt.Fprint(w, "hello")
	if err := mw.Close(); err != nil {
		t.Fatalf("close multipart: %v", err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func TestValidateRequestMultipart(t *testing.T) {
	s := Load(t)
	tests := []struct {
		name     string
		token    string
		field    string
		filename string
		wantErr  string
	}{
		{"file part with XSRF header", "no-check", "file", "poc.txt", ""},
		{"missing XSRF header", "", "file", "poc.txt", "X-Atlassian-Token"},
		{"wrong part name", "no-check", "upload", "poc.txt", `"upload"`},
		{"part without filename", "no-check", "file", "", "no filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, tt.field, tt.filename)
			req := newReq("POST", "/rest/api/2/issue/SEC-1/attachments", ct)
			if tt.token != "" {
				req.Header.Set("X-Atlassian-Token", tt.token)
			}
			checkErr(t, s.ValidateRequest(req, body), tt.wantErr)
		})
	}
}

// fakeTB records Errorf calls so tests can check what Transport and
// Middleware report.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) reported() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

// jiraish answers like Jira for the few paths these tests use, with one
// deliberately wrong answer (serverInfo buildNumber as a string when asked
// with ?broken=1).
func jiraish(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/rest/api/3/serverInfo" && r.URL.Query().Get("broken") != "":
		fmt.Fprint(w, `{"baseUrl":"http://x","buildNumber":"many","deploymentType":"Cloud"}`)
	case r.URL.Path == "/rest/api/3/serverInfo":
		fmt.Fprint(w, `{"baseUrl":"http://x","buildNumber":1,"deploymentType":"Cloud","serverTime":"2019-01-07T16:55:51.184-0330"}`)
	case r.URL.Path == "/rest/api/3/issue" && r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"10000","key":"SEC-1","self":"http://x/rest/api/3/issue/10000"}`)
	case r.URL.Path == "/rest/webhooks/1.0/webhook":
		fmt.Fprint(w, `[]`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errorMessages":["not found"],"errors":{}}`)
	}
}

func TestTransport(t *testing.T) {
	s := Load(t)
	srv := httptest.NewServer(http.HandlerFunc(jiraish))
	defer srv.Close()
	ftb := &fakeTB{TB: t}
	client := &http.Client{Transport: s.Transport(ftb, srv.Client().Transport)}

	do := func(method, path, body string) int {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatalf("new request: %v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || len(got) == 0 {
			t.Fatalf("%s %s: response body not passed through: %q, %v", method, path, got, err)
		}
		return resp.StatusCode
	}

	if got := do("GET", "/rest/api/3/serverInfo", ""); got != 200 {
		t.Errorf("serverInfo status: got %d, want 200", got)
	}
	if got := do("POST", "/rest/api/3/issue", `{"fields":{"summary":"x"}}`); got != 201 {
		t.Errorf("create status: got %d, want 201", got)
	}
	do("GET", "/rest/webhooks/1.0/webhook", "")
	if got := ftb.reported(); len(got) != 0 {
		t.Fatalf("valid traffic reported: %q", got)
	}

	do("POST", "/rest/api/3/issue", `{"fields":[]}`) // bad request
	do("GET", "/rest/api/3/serverInfo?broken=1", "") // bad response
	got := ftb.reported()
	if len(got) != 2 {
		t.Fatalf("reported failures: got %d (%q), want 2", len(got), got)
	}
	if !strings.Contains(got[0], "createIssue") || !strings.Contains(got[1], "buildNumber") {
		t.Errorf("reported failures do not name the problems: %q", got)
	}
	if n := len(s.Recorder().Errors()); n != 2 {
		t.Errorf("recorded errors: got %d, want 2", n)
	}
	if diff := cmp.Diff([]string{"createIssue", "getServerInfo"}, s.Covered()); diff != "" {
		t.Errorf("covered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET /rest/webhooks/1.0/webhook"}, s.Recorder().NotCovered()); diff != "" {
		t.Errorf("not covered (-want +got):\n%s", diff)
	}
}

func TestMiddleware(t *testing.T) {
	s := Load(t)
	ftb := &fakeTB{TB: t}
	srv := httptest.NewServer(s.Middleware(ftb, http.HandlerFunc(jiraish)))
	defer srv.Close()

	get := func(path string) string {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	if body := get("/rest/api/3/serverInfo"); !strings.Contains(body, `"deploymentType":"Cloud"`) {
		t.Errorf("response not passed through: %s", body)
	}
	if got := ftb.reported(); len(got) != 0 {
		t.Fatalf("valid traffic reported: %q", got)
	}
	get("/rest/api/3/serverInfo?broken=1")
	if got := ftb.reported(); len(got) != 1 || !strings.Contains(got[0], "buildNumber") {
		t.Errorf("bad response: reported %q, want one failure naming buildNumber", got)
	}
	if diff := cmp.Diff([]string{"getServerInfo"}, s.Covered()); diff != "" {
		t.Errorf("covered (-want +got):\n%s", diff)
	}
}
