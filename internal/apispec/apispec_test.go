package apispec_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vulnsync/vulnsync/internal/apispec"
	"github.com/vulnsync/vulnsync/internal/httpapi"
	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// TestDocumentIsValidOpenAPI31 loads and validates the embedded document
// and checks that every object schema with properties is closed, so an
// undocumented response field fails validation.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc := apispec.Load(t).Doc()
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(where string, ref *openapi3.SchemaRef)
	walk = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 {
			if ap := s.AdditionalProperties; ap.Has == nil || *ap.Has || ap.Schema != nil {
				t.Errorf("%s: an object schema with properties must say additionalProperties: false", where)
			}
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p)
		}
		walk(where+"[*]", s.Items)
		walk(where+"{*}", s.AdditionalProperties.Schema)
		for i, sub := range slices.Concat(s.OneOf, s.AnyOf, s.AllOf) {
			walk(fmt.Sprintf("%s/%d", where, i), sub)
		}
	}
	for name, s := range doc.Components.Schemas {
		walk("#/components/schemas/"+name, s)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, r := range op.Responses.Map() {
				for mt, c := range r.Value.Content {
					walk(fmt.Sprintf("%s %s %s %s", method, path, code, mt), c.Schema)
				}
			}
			if op.Security == nil && path != "/api/v1/openapi.json" && !strings.HasPrefix(path, "/api/v1/") {
				t.Errorf("%s %s: outside /api/v1 an operation must say security: []", method, path)
			}
		}
	}
	if len(seen) < 40 {
		t.Errorf("walked only %d schemas", len(seen))
	}
}

type nopSync struct{}

func (nopSync) EventPage(context.Context, store.SyncEventFilter) (store.SyncEventPage, error) {
	return store.SyncEventPage{}, nil
}
func (nopSync) ItemEventPage(context.Context, string, store.SyncEventFilter) (store.SyncEventPage, error) {
	return store.SyncEventPage{}, nil
}
func (nopSync) Backfill(context.Context, string) (int, error) { return 0, nil }
func (nopSync) PlanBackfill(context.Context, string) (jirasync.BackfillPlan, error) {
	return jirasync.BackfillPlan{}, nil
}
func (nopSync) Preview(context.Context, string) (jirasync.Preview, error) {
	return jirasync.Preview{}, nil
}
func (nopSync) LinkIssue(context.Context, string, string) (tracker.JiraRef, error) {
	return tracker.JiraRef{}, nil
}
func (nopSync) RelinkIssue(context.Context, string, string) (tracker.JiraRef, error) {
	return tracker.JiraRef{}, nil
}
func (nopSync) UnlinkIssue(context.Context, string) error            { return nil }
func (nopSync) FailedJobs(context.Context, int) ([]store.Job, error) { return nil, nil }
func (nopSync) RetryJob(context.Context, int64) (store.Job, error)   { return store.Job{}, nil }
func (nopSync) ConnectionHealth(context.Context, string) (store.ConnectionHealth, error) {
	return store.ConnectionHealth{}, nil
}
func (nopSync) WebhookHealth(context.Context, string) (store.WebhookHealth, error) {
	return store.WebhookHealth{}, nil
}

// TestEveryRouteIsDocumented compares the routes the API registers (with
// every optional part: integrations, sync and webhooks) with the document's
// operations, both ways.
func TestEveryRouteIsDocumented(t *testing.T) {
	doc := apispec.Load(t).Doc()
	patterns := httpapi.RoutePatterns(httpapi.Config{
		Integrations: &integration.Service{}, Sync: nopSync{},
	})
	routes := map[string]bool{}
	for _, p := range patterns {
		if p == "/api/" {
			continue // the JSON 404 for everything else under /api/
		}
		method, path, ok := strings.Cut(p, " ")
		if !ok || strings.Contains(path, "...") || strings.Contains(path, "{$}") {
			t.Errorf("route %q: every API route must name its method and a plain path", p)
			continue
		}
		routes[method+" "+path] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in internal/httpapi/openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("the document describes %s, which no route serves", d)
		}
	}
	if len(routes) < 40 {
		t.Errorf("only %d routes: %v", len(routes), patterns)
	}
}

// recordingTB collects what a Transport reports instead of failing.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recordingTB) Helper() {}

// TestUndocumentedFieldFails shows that the validation has teeth: a body
// with a field the document lacks, a missing required field, a wrong enum,
// an undocumented status and an undocumented path all fail.
func TestUndocumentedFieldFails(t *testing.T) {
	s := apispec.Load(t)
	const target = `{"id":"t1","name":"web","description":"","url":"","created_at":"2026-01-02T03:04:05.123456Z","updated_at":"2026-01-02T03:04:05Z"}`
	const item = `{"id":"i1","target_id":"t1","kind":"vulnerability","title":"XSS","description":"","severity":"high","status":"open","fields":{},` +
		`"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","field_times":{"title":"2026-01-02T03:04:05Z"},"version":1,"jira":%s}`
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	get := func(path string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer x")
		return r
	}
	cases := []struct {
		name   string
		req    *http.Request
		status int
		body   string
		want   string // "" when valid
	}{
		{"valid target", get("/api/v1/targets/t1"), 200, target, ""},
		{"extra field", get("/api/v1/targets/t1"), 200, strings.Replace(target, `"url":""`, `"url":"","owner":"bob"`, 1), "owner"},
		{"missing field", get("/api/v1/targets/t1"), 200, strings.Replace(target, `"url":"",`, ``, 1), "url"},
		{"valid item, no link", get("/api/v1/items/i1"), 200, fmt.Sprintf(item, "null"), ""},
		{"valid item, linked", get("/api/v1/items/i1"), 200, fmt.Sprintf(item, `{"key":"SEC-1","url":"http://j/browse/SEC-1"}`), ""},
		{"extra field in a nested object", get("/api/v1/items/i1"), 200, fmt.Sprintf(item, `{"key":"SEC-1","url":"u","id":"10000"}`), "id"},
		{"unknown severity", get("/api/v1/items/i1"), 200, strings.Replace(fmt.Sprintf(item, "null"), `"high"`, `"urgent"`, 1), "severity"},
		{"not a date-time", get("/api/v1/items/i1"), 200, strings.Replace(fmt.Sprintf(item, "null"), `"title":"2026-01-02T03:04:05Z"`, `"title":"yesterday"`, 1), "date-time"},
		{"error body", get("/api/v1/items/i1"), 404, `{"error":"no item"}`, ""},
		{"error body with fields", get("/api/v1/targets/t1/items?limit=0"), 400, `{"error":"invalid query","fields":{"limit":"must be a number from 1 to 500"}}`, ""},
		{"extra field in an error", get("/api/v1/items/i1"), 404, `{"error":"no item","code":7}`, "code"},
		{"undocumented status", get("/api/v1/items/i1"), 418, `{"error":"teapot"}`, "418"},
		{"undocumented path", get("/api/v1/teapots"), 404, `{"error":"no such endpoint"}`, "not described"},
		{"undocumented method", httptest.NewRequest("PUT", "/api/v1/targets", nil), 404, `{"error":"no such endpoint"}`, "not described"},
	}
	for _, c := range cases {
		err := s.ValidateResponse(c.req, c.status, jsonHeader, []byte(c.body))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: validated, want an error naming %q", c.name, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not name %q", c.name, err, c.want)
		}
	}
	if err := s.ValidateResponse(get("/api/v1/teapots"), 404, jsonHeader, nil); !errors.Is(err, apispec.ErrUndocumented) {
		t.Errorf("undocumented path: %v, want ErrUndocumented", err)
	}

	// Through the Transport, as the end-to-end tests use it: a server that
	// adds a field is reported to the test.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"targets":[`+strings.Replace(target, `"name":"web"`, `"name":"web","secret":"x"`, 1)+`]}`)
	}))
	defer srv.Close()
	rec := &recordingTB{TB: t}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/targets", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := (&http.Client{Transport: apispec.Transport(rec, nil)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"secret":"x"`) {
		t.Errorf("the transport must hand the answer on unchanged: %s", body)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "secret") {
		t.Errorf("transport reported %q, want one failure naming the extra field", rec.errs)
	}

	// A request the document refuses is fine when the server refused it,
	// a failure when it was accepted.
	for _, status := range []int{400, 201} {
		rec := &recordingTB{TB: t}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			if status == 400 {
				_, _ = io.WriteString(w, `{"error":"invalid JSON body","fields":{"owner":"unknown field"}}`)
			} else {
				_, _ = io.WriteString(w, target)
			}
		}))
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/targets", strings.NewReader(`{"name":"web","owner":"bob"}`))
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: apispec.Transport(rec, nil)}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if got := len(rec.errs); (status == 400 && got != 0) || (status == 201 && (got != 1 || !strings.Contains(rec.errs[0], "accepted"))) {
			t.Errorf("invalid request answered %d: reported %q", status, rec.errs)
		}
	}
}

var opIDRE = regexp.MustCompile(`^[a-z][A-Za-z]+$`)

// allOperations lists the document's operationIds, sorted.
func allOperations(t *testing.T, s *apispec.Spec) []string {
	var ops []string
	for _, item := range s.Doc().Paths.Map() {
		for _, op := range item.Operations() {
			if !opIDRE.MatchString(op.OperationID) {
				t.Errorf("operationId %q", op.OperationID)
			}
			ops = append(ops, op.OperationID)
		}
	}
	sort.Strings(ops)
	return ops
}
