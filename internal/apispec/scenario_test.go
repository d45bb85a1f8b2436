package apispec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apispec"
	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store"
)

// client calls the API of an apptest environment through a validating
// transport of its own, so the scenario can check coverage.
type client struct {
	t    *testing.T
	e    *apptest.Env
	http *http.Client
}

// call sends body (a string as is, anything else as JSON) and returns the
// answer after checking its status.
func (c *client) call(want int, method, path string, body any, header ...string) []byte {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.e.API.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return c.do(want, req)
}

func (c *client) do(want int, req *http.Request) []byte {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, raw)
	}
	return raw
}

func (c *client) upload(want int, itemID, filename, contentType string, content []byte) []byte {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", contentType)
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.e.API.URL+"/api/v1/items/"+itemID+"/attachments", &buf)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(want, req)
}

// importReport posts a scanner report with the given form fields.
func (c *client) importReport(want int, targetID string, fields map[string]string, filename string, content []byte) []byte {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	pw, _ := mw.CreateFormFile("file", filename)
	_, _ = pw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.e.API.URL+"/api/v1/targets/"+targetID+"/imports", &buf)
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(want, req)
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

type idOnly struct {
	ID string `json:"id"`
}

// TestScenarioValidatesEveryOperation runs the real handler set (store,
// services, sync engine, webhook receiver) against the in-process Jira
// simulator through every operation of the document, validating each
// request and answer, and checks that none was left out.
func TestScenarioValidatesEveryOperation(t *testing.T) {
	for _, p := range jirasim.Profiles {
		t.Run(string(p), func(t *testing.T) { scenario(t, p) })
	}
}

func scenario(t *testing.T, profile jirasim.Profile) {
	spec := apispec.Load(t)
	e := apptest.New(t, apptest.Options{Profile: profile})
	c := &client{t: t, e: e, http: &http.Client{Transport: spec.Transport(t, nil)}}

	// Health, the document itself, and authentication.
	c.call(200, "GET", "/healthz", nil, "Authorization", "")
	c.call(200, "GET", "/readyz", nil, "Authorization", "")
	c.call(401, "GET", "/metrics", nil, "Authorization", "")
	c.call(200, "GET", "/metrics", nil)
	c.call(200, "GET", "/api/v1/openapi.json", nil, "Authorization", "")
	c.call(401, "GET", "/api/v1/targets", nil, "Authorization", "")
	c.call(401, "GET", "/api/v1/targets", nil, "Authorization", "Bearer nope")

	// Catalog.
	c.call(200, "GET", "/api/v1/kinds", nil)
	c.call(201, "POST", "/api/v1/kinds", map[string]any{"name": "pentest_note", "statuses": []string{"open", "resolved"}})
	c.call(409, "POST", "/api/v1/kinds", map[string]any{"name": "pentest_note", "statuses": []string{"open"}})
	c.call(400, "POST", "/api/v1/kinds", `{"name": 7}`)
	c.call(200, "GET", "/api/v1/fields", nil)
	c.call(201, "POST", "/api/v1/fields", map[string]any{"name": "bounty", "type": "number", "min": 0, "max": 10000})
	c.call(201, "POST", "/api/v1/fields", map[string]any{"name": "team", "type": "select", "options": []string{"red", "blue"}})
	c.call(400, "POST", "/api/v1/fields", map[string]any{"name": "x", "type": "colour"})

	// Targets.
	target := decode[idOnly](t, c.call(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api", "description": "The API", "url": "https://pay.example.test"}))
	c.call(409, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"})
	c.call(400, "POST", "/api/v1/targets", map[string]any{"name": "x", "owner": "bob"})
	c.call(200, "GET", "/api/v1/targets", nil)
	c.call(200, "GET", "/api/v1/targets/"+target.ID, nil)
	c.call(404, "GET", "/api/v1/targets/nope", nil)

	// Jira connection.
	conn := decode[idOnly](t, c.call(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}))
	c.call(400, "POST", "/api/v1/jira/connections", map[string]any{"name": "", "base_url": "ftp://x", "auth": map[string]any{"type": "magic"}})
	c.call(200, "GET", "/api/v1/jira/connections", nil)
	c.call(200, "GET", "/api/v1/jira/connections/"+conn.ID, nil)
	c.call(404, "GET", "/api/v1/jira/connections/nope", nil)
	c.call(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/test", nil)
	c.call(200, "PATCH", "/api/v1/jira/connections/"+conn.ID, map[string]any{"name": "sim (renamed)"})
	c.call(200, "PATCH", "/api/v1/jira/connections/"+conn.ID, map[string]any{"auth": e.AdminAuth()})
	c.call(400, "PATCH", "/api/v1/jira/connections/"+conn.ID, map[string]any{"base_url": e.SimURL})
	c.call(400, "PATCH", "/api/v1/jira/connections/"+conn.ID, map[string]any{})
	c.call(200, "GET", "/api/v1/jira/connections/"+conn.ID+"/projects", nil)
	c.call(400, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook-secret", map[string]any{"secret": "short"})
	c.call(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook-secret", map[string]any{"secret": ""})
	c.call(422, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook", nil) // no integrated project yet

	// Integration and mapping.
	c.call(422, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "NOPE"})
	in := decode[idOnly](t, c.call(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}))
	c.call(422, "POST", "/api/v1/integrations/"+in.ID+"/backfill", nil) // no mapping yet
	c.call(200, "GET", "/api/v1/integrations", nil)
	c.call(200, "GET", "/api/v1/integrations/"+in.ID, nil)
	c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/people", nil)
	c.call(422, "POST", "/api/v1/integrations/"+in.ID+"/pause", nil) // no mapping yet
	c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/jira-meta", nil)
	c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/jira-meta?refresh=1", nil)
	c.call(422, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", map[string]any{"issue_types": map[string]string{"vulnerability": "NoSuchType"}})
	// The suggested first mapping leaves only the admin's choices: the
	// required Component gets no default until one is given.
	var suggested map[string]any
	if err := json.Unmarshal(c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/mapping/suggestion", nil), &suggested); err != nil {
		t.Fatal(err)
	}
	refused := c.call(422, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", suggested)
	if !strings.Contains(string(refused), "defaults.customfield_10052") {
		t.Fatalf("suggested mapping refused for another reason: %s", refused)
	}
	suggested["defaults"] = map[string]any{"customfield_10052": map[string]string{"value": "API"}}
	c.call(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", suggested)
	c.call(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", apptest.SpecMapping)
	hooked := decode[struct {
		WebhookRegistered bool `json:"webhook_registered"`
	}](t, c.call(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook", "{}"))
	if !hooked.WebhookRegistered {
		t.Fatal("webhook not registered")
	}

	// Items, comments, attachments, history.
	vuln := decode[idOnly](t, c.call(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{
		"kind": "vulnerability", "title": "SQL injection in /login", "description": "**bad**", "severity": "critical",
		"fields": map[string]any{"bounty": 500, "team": "red"}}))
	finding := decode[idOnly](t, c.call(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{
		"kind": "finding", "title": "login form", "severity": "high", "parent_id": vuln.ID}))
	c.call(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "risk", "title": "no WAF", "severity": "low", "status": "accepted_risk"})
	c.call(400, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "finding", "title": "orphan", "severity": "high"})
	c.call(404, "POST", "/api/v1/targets/nope/items", map[string]any{"kind": "risk", "title": "x", "severity": "low"})
	page := decode[struct {
		NextCursor string `json:"next_cursor"`
	}](t, c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?limit=2", nil))
	if page.NextCursor == "" {
		t.Fatal("two items of three: want a next_cursor")
	}
	c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?limit=2&cursor="+page.NextCursor, nil)
	c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?kind=finding&status=open&severity=high&parent_id="+vuln.ID, nil)
	c.call(400, "GET", "/api/v1/targets/"+target.ID+"/items?limit=0", nil)
	c.call(400, "GET", "/api/v1/targets/"+target.ID+"/items?status=closed", nil)
	sorted := decode[struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}](t, c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?sort=title&order=desc&limit=2", nil))
	if len(sorted.Items) != 2 || sorted.Items[0].Title != "no WAF" || sorted.Items[1].Title != "login form" {
		t.Errorf("items by title, descending: %+v", sorted.Items)
	}
	back := decode[struct {
		PrevCursor string `json:"prev_cursor"`
	}](t, c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?sort=title&order=desc&limit=2&cursor="+sorted.NextCursor, nil))
	c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?sort=title&order=desc&limit=2&cursor="+back.PrevCursor, nil)
	c.call(400, "GET", "/api/v1/targets/"+target.ID+"/items?sort=title&cursor="+sorted.NextCursor, nil) // another order
	found := decode[struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
	}](t, c.call(200, "GET", "/api/v1/targets/"+target.ID+"/items?q=injec", nil))
	if len(found.Items) != 1 || found.Items[0].Title != "SQL injection in /login" {
		t.Errorf("search injec: %+v", found.Items)
	}
	c.call(400, "GET", "/api/v1/targets/"+target.ID+"/items?sort=jira", nil)
	c.call(400, "GET", "/api/v1/targets/"+target.ID+"/items?order=up", nil)
	c.call(200, "GET", "/api/v1/items/"+vuln.ID, nil)
	c.call(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "in_progress", "fields": map[string]any{"team": nil}})
	c.call(400, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"severity": "urgent"})
	c.call(404, "PATCH", "/api/v1/items/nope", map[string]any{"title": "x"})
	c.call(200, "GET", "/api/v1/items/"+vuln.ID+"/history", nil)
	c.call(201, "POST", "/api/v1/items/"+vuln.ID+"/comments", map[string]any{"body": "Reproduced on *staging*."})
	c.call(400, "POST", "/api/v1/items/"+vuln.ID+"/comments", map[string]any{"body": " "})
	c.call(200, "GET", "/api/v1/items/"+vuln.ID+"/comments", nil)
	// A retest settles a claimed fix (issue 16); the item ends in progress again.
	c.call(409, "POST", "/api/v1/items/"+vuln.ID+"/retest", map[string]any{"result": "pass", "evidence": "not fixed yet"})
	c.call(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "fixed"})
	c.call(400, "POST", "/api/v1/items/"+vuln.ID+"/retest", map[string]any{"result": "maybe", "evidence": "x"})
	c.call(200, "POST", "/api/v1/items/"+vuln.ID+"/retest", map[string]any{"result": "fail", "evidence": "still injectable"})
	c.call(404, "POST", "/api/v1/items/nope/retest", map[string]any{"result": "pass", "evidence": "x"})
	c.call(200, "PATCH", "/api/v1/items/"+vuln.ID, map[string]any{"status": "in_progress"})
	att := decode[idOnly](t, c.upload(201, vuln.ID, "poc.png", "image/png", []byte("\x89PNG\r\n\x1a\nfake")))
	c.upload(201, vuln.ID, "notes.txt", "text/plain", []byte("curl -d ' or 1=1 --"))
	c.call(400, "POST", "/api/v1/items/"+vuln.ID+"/attachments", `{"not":"multipart"}`)
	c.call(200, "GET", "/api/v1/items/"+vuln.ID+"/attachments", nil)
	c.call(200, "GET", "/api/v1/attachments/"+att.ID, nil)
	if got := c.call(200, "GET", "/api/v1/attachments/"+att.ID+"/content", nil); string(got) != "\x89PNG\r\n\x1a\nfake" {
		t.Fatalf("download: %q", got)
	}
	c.call(404, "GET", "/api/v1/attachments/nope/content", nil)

	// Scanner imports and the SLA policy, on a target of their own.
	scanned := decode[idOnly](t, c.call(201, "POST", "/api/v1/targets", map[string]any{"name": "scanned"}))
	c.call(200, "GET", "/api/v1/targets/"+scanned.ID+"/sla", nil)
	c.call(200, "PUT", "/api/v1/targets/"+scanned.ID+"/sla", map[string]any{"critical": 3, "high": 14, "medium": 60, "low": nil})
	c.call(400, "PUT", "/api/v1/targets/"+scanned.ID+"/sla", map[string]any{"high": 0})
	c.call(404, "GET", "/api/v1/targets/nope/sla", nil)
	csvReport := "title,severity,location,cvss_vector\nSQL injection,critical,https://shop.example.test/s?q=1,CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n"
	c.importReport(201, scanned.ID, map[string]string{"format": "csv", "scanner": "pentest"}, "findings.csv", []byte(csvReport))
	c.importReport(201, scanned.ID, map[string]string{"format": "csv", "scanner": "pentest", "close_missing": "true"}, "findings.csv", []byte(csvReport))
	c.importReport(422, scanned.ID, map[string]string{"format": "csv"}, "bad.csv", []byte("title,colour\nx,red\n"))
	c.importReport(422, scanned.ID, map[string]string{"format": "burp"}, "x.xml", []byte("<xml/>"))
	c.importReport(400, scanned.ID, map[string]string{"close_missing": "maybe"}, "findings.csv", []byte(csvReport))
	c.importReport(404, "nope", map[string]string{"format": "csv"}, "findings.csv", []byte(csvReport))
	c.call(400, "POST", "/api/v1/targets/"+scanned.ID+"/imports", `{"not":"multipart"}`)
	c.call(200, "GET", "/api/v1/targets/"+scanned.ID+"/imports", nil)
	c.call(200, "GET", "/api/v1/targets/"+scanned.ID+"/imports?limit=1", nil)
	c.call(400, "GET", "/api/v1/targets/"+scanned.ID+"/imports?limit=0", nil)
	c.call(404, "GET", "/api/v1/targets/nope/imports", nil)
	c.call(200, "GET", "/api/v1/targets/"+scanned.ID+"/items?overdue=true", nil)
	c.call(400, "GET", "/api/v1/targets/"+scanned.ID+"/items?overdue=maybe", nil)

	// Sync to Jira: links, sync log, a change coming back by webhook.
	e.HoldWebhooks(true)
	if e.Sync() == 0 {
		t.Fatal("nothing synced")
	}
	linked := decode[struct {
		Jira *struct {
			Key string `json:"key"`
		} `json:"jira"`
	}](t, c.call(200, "GET", "/api/v1/items/"+vuln.ID, nil))
	if linked.Jira == nil {
		t.Fatal("the synced item has no Jira link")
	}
	e.Deliver()
	for _, d := range e.Held() { // our own writes echoed back
		sendDelivery(t, c, d, 202)
	}
	key := linked.Jira.Key
	if st := e.Jira("dev", "PUT", "/rest/api/"+e.APIVersion()+"/issue/"+key, map[string]any{"fields": map[string]any{"summary": "SQLi in /login (confirmed)"}}, nil); st != 204 {
		t.Fatalf("edit in Jira: %d", st)
	}
	e.Deliver()
	held := e.Held()
	if len(held) == 0 {
		t.Fatal("no delivery for the Jira edit")
	}
	sendDelivery(t, c, held[0], 202)
	sendDelivery(t, c, held[0], 200) // a retry: duplicate
	// A forged delivery is refused: a wrong signature where Jira signs, a
	// wrong URL token where it does not (Data Center 9); and each URL form
	// is refused on a connection of the other kind.
	bad := held[0]
	bad.Header = bad.Header.Clone()
	hookURL := e.API.URL + "/webhooks/jira/" + conn.ID
	if profile == jirasim.ProfileDC9 {
		if !strings.HasPrefix(bad.URL, hookURL+"/") {
			t.Fatalf("Data Center 9 delivery to %s, want the token URL under %s/", bad.URL, hookURL)
		}
		bad.URL = hookURL + "/wrong-token"
		sendDelivery(t, c, bad, 401)
		bad.URL = hookURL // unsigned, no token
		sendDelivery(t, c, bad, 401)
	} else {
		bad.Header.Set("X-Hub-Signature", "sha256=00")
		sendDelivery(t, c, bad, 401)
		bad.URL = hookURL + "/some-token" // a signing connection takes no token
		sendDelivery(t, c, held[0], 200)
		sendDelivery(t, c, bad, 401)
	}
	e.Sync()
	c.call(200, "GET", "/api/v1/jira/connections/"+conn.ID+"/health", nil)
	c.call(404, "GET", "/api/v1/jira/connections/nope/health", nil)
	c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/events", nil)
	c.call(200, "GET", "/api/v1/integrations/"+in.ID+"/events?limit=5&item_id="+vuln.ID, nil)
	c.call(400, "GET", "/api/v1/integrations/"+in.ID+"/events?limit=0", nil)
	c.call(404, "GET", "/api/v1/integrations/nope/events", nil)
	c.call(200, "GET", "/api/v1/items/"+vuln.ID+"/events", nil)
	c.call(200, "GET", "/api/v1/items/"+finding.ID+"/events?limit=10", nil)
	c.call(200, "POST", "/api/v1/integrations/"+in.ID+"/backfill?dry_run=true", nil)
	c.call(400, "POST", "/api/v1/integrations/"+in.ID+"/backfill?dry_run=maybe", nil)
	c.call(202, "POST", "/api/v1/integrations/"+in.ID+"/backfill", nil)
	e.Sync()
	c.call(200, "POST", "/api/v1/integrations/"+in.ID+"/pause", nil)
	c.call(200, "POST", "/api/v1/integrations/"+in.ID+"/resume", nil)
	c.call(404, "POST", "/api/v1/integrations/nope/resume", nil)
	e.Sync()
	c.call(200, "GET", "/api/v1/items/"+vuln.ID+"/jira-preview", nil)
	c.call(404, "GET", "/api/v1/items/nope/jira-preview", nil)
	c.call(409, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": key}) // already linked
	c.call(204, "DELETE", "/api/v1/items/"+vuln.ID+"/jira-link", nil)
	c.call(409, "DELETE", "/api/v1/items/"+vuln.ID+"/jira-link", nil) // not linked any more
	c.call(400, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": ""})
	c.call(422, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": "SEC-99999"})
	c.call(200, "POST", "/api/v1/items/"+vuln.ID+"/jira-link", map[string]any{"issue_key": key})
	c.call(404, "POST", "/api/v1/items/nope/jira-link", map[string]any{"issue_key": key})
	e.Sync()

	// People: who am I, users, their tokens, the audit log.
	c.call(200, "GET", "/api/v1/me", nil)
	alice := decode[idOnly](t, c.call(201, "POST", "/api/v1/users", map[string]any{"email": "alice@example.test", "name": "Alice Smith", "role": "analyst"}))
	c.call(409, "POST", "/api/v1/users", map[string]any{"email": "alice@example.test", "name": "Alice again", "role": "viewer"})
	c.call(400, "POST", "/api/v1/users", map[string]any{"email": "not-an-email", "name": "", "role": "owner"})
	c.call(200, "GET", "/api/v1/users", nil)
	c.call(200, "GET", "/api/v1/users/"+alice.ID, nil)
	c.call(404, "GET", "/api/v1/users/nope", nil)
	c.call(200, "PATCH", "/api/v1/users/"+alice.ID, map[string]any{"role": "viewer"})
	c.call(400, "PATCH", "/api/v1/users/"+alice.ID, map[string]any{"role": "owner"})
	tok := decode[struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}](t, c.call(201, "POST", "/api/v1/users/"+alice.ID+"/tokens", map[string]any{"name": "laptop", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}))
	c.call(400, "POST", "/api/v1/users/"+alice.ID+"/tokens", map[string]any{"name": ""})
	c.call(200, "GET", "/api/v1/users/"+alice.ID+"/tokens", nil)
	c.call(200, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok.Token)
	c.call(403, "POST", "/api/v1/targets", map[string]any{"name": "viewer-target"}, "Authorization", "Bearer "+tok.Token)
	c.call(403, "GET", "/api/v1/users", nil, "Authorization", "Bearer "+tok.Token)
	c.call(204, "DELETE", "/api/v1/tokens/"+tok.ID, nil)
	c.call(404, "DELETE", "/api/v1/tokens/"+tok.ID, nil)
	c.call(401, "GET", "/api/v1/me", nil, "Authorization", "Bearer "+tok.Token)
	c.call(200, "GET", "/api/v1/audit?limit=5", nil)
	c.call(200, "GET", "/api/v1/audit?action=user.", nil)
	c.call(400, "GET", "/api/v1/audit?since=yesterday", nil)

	// Risk acceptances (issue 16): Dana (an admin) requests, another admin
	// decides; the requester cannot approve her own.
	dana := decode[idOnly](t, c.call(201, "POST", "/api/v1/users", map[string]any{"email": "dana@example.test", "name": "Dana", "role": "admin"}))
	danaTok := decode[struct {
		Token string `json:"token"`
	}](t, c.call(201, "POST", "/api/v1/users/"+dana.ID+"/tokens", map[string]any{"name": "ci"}))
	asDana := []string{"Authorization", "Bearer " + danaTok.Token}
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	acc := decode[idOnly](t, c.call(201, "POST", "/api/v1/items/"+vuln.ID+"/acceptances", map[string]any{"reason": "behind the VPN only", "expires_at": until}, asDana...))
	c.call(409, "POST", "/api/v1/items/"+vuln.ID+"/acceptances", map[string]any{"reason": "again", "expires_at": until})
	c.call(400, "POST", "/api/v1/items/"+vuln.ID+"/acceptances", map[string]any{"reason": "", "expires_at": "2001-01-01T00:00:00Z"})
	c.call(404, "POST", "/api/v1/items/nope/acceptances", map[string]any{"reason": "x", "expires_at": until})
	c.call(403, "POST", "/api/v1/acceptances/"+acc.ID+"/approve", map[string]any{}, asDana...)
	c.call(200, "POST", "/api/v1/acceptances/"+acc.ID+"/approve", map[string]any{"note": "until the VPN goes"})
	c.call(409, "POST", "/api/v1/acceptances/"+acc.ID+"/reject", map[string]any{})
	c.call(200, "POST", "/api/v1/acceptances/"+acc.ID+"/revoke", map[string]any{"note": "exposed after all"})
	c.call(404, "POST", "/api/v1/acceptances/nope/revoke", map[string]any{})
	acc = decode[idOnly](t, c.call(201, "POST", "/api/v1/items/"+vuln.ID+"/acceptances", map[string]any{"status": "false_positive", "reason": "test data", "expires_at": until}, asDana...))
	c.call(200, "POST", "/api/v1/acceptances/"+acc.ID+"/reject", map[string]any{})
	c.call(200, "GET", "/api/v1/acceptances?state=rejected&limit=1", nil)
	c.call(200, "GET", "/api/v1/acceptances?item_id="+vuln.ID, nil)
	c.call(400, "GET", "/api/v1/acceptances?state=maybe", nil)
	c.call(400, "GET", "/api/v1/acceptances?cursor=!!", nil)

	// Failed work and its retry: a job failed for good, made in the store.
	jobID := failJob(t, e)
	jobs := decode[struct {
		Jobs []map[string]any `json:"jobs"`
	}](t, c.call(200, "GET", "/api/v1/jobs/failed?limit=10", nil))
	if len(jobs.Jobs) != 1 {
		t.Fatalf("failed jobs: %v", jobs.Jobs)
	}
	c.call(400, "GET", "/api/v1/jobs/failed?limit=5000", nil)
	c.call(200, "POST", "/api/v1/jobs/"+jobID+"/retry", nil)
	c.call(409, "POST", "/api/v1/jobs/"+jobID+"/retry", nil)
	c.call(404, "POST", "/api/v1/jobs/x/retry", nil)

	// Deletions. (Refusing to delete a connection in use comes last: the
	// handler deletes the connection's webhook in Jira before the store
	// refuses, so no delivery would arrive after it.)
	c.call(409, "DELETE", "/api/v1/jira/connections/"+conn.ID, nil)
	c.call(204, "DELETE", "/api/v1/items/"+finding.ID, nil)
	c.call(404, "DELETE", "/api/v1/items/"+finding.ID, nil)
	c.call(404, "GET", "/api/v1/items/"+finding.ID, nil)
	c.call(204, "DELETE", "/api/v1/integrations/"+in.ID, nil)
	c.call(404, "GET", "/api/v1/integrations/"+in.ID, nil)
	c.call(204, "DELETE", "/api/v1/jira/connections/"+conn.ID, nil)
	c.call(404, "DELETE", "/api/v1/jira/connections/"+conn.ID, nil)

	if want, got := allOperations(t, spec), spec.Covered(); !slices.Equal(want, got) {
		var missing []string
		for _, op := range want {
			if !slices.Contains(got, op) {
				missing = append(missing, op)
			}
		}
		t.Errorf("operations the scenario did not exercise: %v", missing)
	}
}

// sendDelivery posts a held webhook delivery to vulnsync as Jira would.
func sendDelivery(t *testing.T, c *client, d apptest.Delivery, want int) {
	t.Helper()
	req, _ := http.NewRequest("POST", d.URL, bytes.NewReader(d.Body))
	req.Header = d.Header.Clone()
	c.do(want, req)
}

// failJob puts a job that failed for good in the store and returns its id.
func failJob(t *testing.T, e *apptest.Env) string {
	t.Helper()
	ctx := context.Background()
	now := e.Tracker.Now()
	var id int64
	err := e.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Enqueue(ctx, store.Job{Kind: "apispec_test", Key: "k", Payload: json.RawMessage(`{"why":"test"}`), RunAt: now}); err != nil {
			return err
		}
		js, err := tx.ClaimJobs(ctx, store.Claim{Kinds: []string{"apispec_test"}, Now: now, Lease: time.Minute, Limit: 1})
		if err != nil || len(js) != 1 {
			t.Fatalf("claim: %v %v", js, err)
		}
		id = js[0].ID
		return tx.FailJob(ctx, id, js[0].LeaseToken, "Jira said no")
	})
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}
