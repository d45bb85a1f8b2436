package jirasync_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

type fullItem struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Severity string         `json:"severity"`
	Status   string         `json:"status"`
	Fields   map[string]any `json:"fields"`
	Jira     *struct {
		Key string `json:"key"`
	} `json:"jira"`
}

func getItem(t testing.TB, e *apptest.Env, id string) fullItem {
	t.Helper()
	var it fullItem
	e.Must(200, "GET", "/api/v1/items/"+id, nil, &it)
	return it
}

// jiraTransition moves an issue as dev, by transition name.
func jiraTransition(t testing.TB, e *apptest.Env, key, name string) {
	t.Helper()
	var ts struct {
		Transitions []struct {
			ID, Name string
			Fields   map[string]struct {
				Required bool `json:"required"`
			} `json:"fields"`
		} `json:"transitions"`
	}
	e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions?expand=transitions.fields", nil, &ts)
	for _, tr := range ts.Transitions {
		if tr.Name == name {
			body := map[string]any{"transition": map[string]any{"id": tr.ID}}
			if tr.Fields["resolution"].Required { // the screen asks the person for one (Data Center's Done)
				body["fields"] = map[string]any{"resolution": map[string]any{"name": "Done"}}
			}
			if st := e.Jira("dev", "POST", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions", body, nil); st != 204 {
				t.Fatalf("transition %s: %d", name, st)
			}
			return
		}
	}
	t.Fatalf("no transition %q from where %s is: %+v", name, key, ts.Transitions)
}

func jiraEdit(t testing.TB, e *apptest.Env, key string, fields map[string]any) {
	t.Helper()
	if st := e.Jira("dev", "PUT", "/rest/api/"+e.APIVersion()+"/issue/"+key, map[string]any{"fields": fields}, nil); st != 204 {
		t.Fatalf("edit %s: %d", key, st)
	}
}

func jiraComment(t testing.TB, e *apptest.Env, key, text string) string {
	t.Helper()
	var body any = text
	if e.Deploy == "cloud" {
		body = map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}}}
	}
	var c struct{ ID string }
	if st := e.Jira("dev", "POST", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment", map[string]any{"body": body}, &c); st != 201 {
		t.Fatalf("comment on %s: %d", key, st)
	}
	return c.ID
}

// setup integrates a target and syncs one vulnerability to Jira, with our
// own webhooks delivered and applied (they must change nothing).
func setup(t testing.TB, e *apptest.Env) (apptest.Integrated, fullItem, string) {
	t.Helper()
	s := e.Setup("payments-api")
	it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "IDOR on /invoices", "severity": "high",
		"fields": map[string]any{"cvss_score": 7.5, "asset_id": "inv-01", "labels": []string{"authz"}}})
	e.Sync()
	e.Deliver()
	e.Sync()
	key := jiraKey(t, e, it.ID)
	return s, getItem(t, e, it.ID), key
}

func comments(t testing.TB, e *apptest.Env, itemID string) []map[string]any {
	t.Helper()
	var cs struct {
		Comments []map[string]any `json:"comments"`
	}
	e.Must(200, "GET", "/api/v1/items/"+itemID+"/comments", nil, &cs)
	return cs.Comments
}

func TestInboundStatusFieldsAndEchoes(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)

			// G4: our own create and its webhooks wrote nothing back.
			writes := func() int64 {
				var n int64
				for ep, c := range e.Sim.Counters().Endpoints {
					if !strings.HasPrefix(ep, "GET") {
						n += c.Requests
					}
				}
				return n
			}
			w0 := writes()
			e.Deliver()
			e.Sync()
			if w := writes(); w != w0 {
				t.Fatalf("our own webhooks caused %d writes back to Jira", w-w0)
			}

			// G5 inbound: a transition in Jira maps back by name; history says jira.
			jiraTransition(t, e, key, "Start Progress")
			w0 = writes()
			e.Deliver()
			e.Sync()
			if got := getItem(t, e, it.ID); got.Status != "in_progress" {
				t.Fatalf("status after Start Progress in Jira: %s", got.Status)
			}
			var hist struct {
				History []map[string]any `json:"history"`
			}
			e.Must(200, "GET", "/api/v1/items/"+it.ID+"/history", nil, &hist)
			last := hist.History[len(hist.History)-1]
			if last["field"] != "status" || last["origin"] != "jira" || last["actor"] == "" {
				t.Errorf("history of the Jira change: %v", last)
			}
			if w := writes(); w != w0 {
				t.Errorf("applying a Jira change wrote back to Jira (%d writes)", w-w0)
			}

			// Priority back to severity, mapped fields by direction (G2).
			jiraEdit(t, e, key, map[string]any{"priority": map[string]any{"name": "Highest"}, "customfield_10050": 9.9, "summary": "renamed in Jira"})
			w0 = writes()
			e.Deliver()
			e.Sync()
			got := getItem(t, e, it.ID)
			if got.Severity != "critical" || got.Fields["cvss_score"] != 9.9 {
				t.Errorf("after Jira edit: severity %s cvss %v", got.Severity, got.Fields["cvss_score"])
			}
			if got.Title != "IDOR on /invoices" {
				t.Errorf("title is to_jira only, yet Jira's summary came back: %q", got.Title)
			}
			if w := writes(); w != w0 {
				t.Errorf("applying Jira's edit wrote back to Jira (%d writes)", w-w0)
			}

			// G3 locked: asset_id is locked to vulnsync; Jira's newer value loses
			// and vulnsync's is written back.
			jiraEdit(t, e, key, map[string]any{"customfield_10051": "changed-in-jira"})
			e.Deliver()
			e.Sync()
			if got := getItem(t, e, it.ID); got.Fields["asset_id"] != "inv-01" {
				t.Errorf("locked asset_id took Jira's value: %v", got.Fields["asset_id"])
			}
			if is := readIssue(t, e, key); is.Fields.AssetID == nil || *is.Fields.AssetID != "inv-01" {
				t.Errorf("locked asset_id not restored in Jira: %v", is.Fields.AssetID)
			}
			// ... and the restore's own webhook changes nothing.
			w1 := writes()
			e.Deliver()
			e.Sync()
			if w := writes(); w != w1 {
				t.Errorf("the restore echoed: %d more writes", w-w1)
			}
			_ = s
		})
	}
}

// G3: a delivery that arrives late never rolls back a newer value.
func TestLateDeliveryIsNotApplied(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock})
			_, it, key := setup(t, e)
			e.HoldWebhooks(true)
			clock.Advance(time.Second)
			jiraTransition(t, e, key, "Start Progress") // older
			e.Deliver()
			clock.Advance(30 * time.Minute)   // Jira may deliver 30 minutes late
			jiraTransition(t, e, key, "Done") // newer
			e.Deliver()
			held := e.Held()
			if len(held) != 2 {
				t.Fatalf("held %d deliveries, want 2", len(held))
			}
			// Newest first, then the old one, then the old one again (a retry).
			for _, d := range []apptest.Delivery{held[1], held[0]} {
				if st := e.Send(d); st != 202 {
					t.Fatalf("delivery answered %d", st)
				}
			}
			if st := e.Send(held[0]); st != 200 {
				t.Fatalf("replayed delivery answered %d, want 200 (duplicate)", st)
			}
			e.Sync()
			if got := getItem(t, e, it.ID); got.Status != "fixed" {
				t.Fatalf("status: %s, want fixed (Done awaits a retest; the late In Progress must not win)", got.Status)
			}
			if is := readIssue(t, e, key); is.Fields.Status.Name != "Done" {
				t.Fatalf("Jira was moved by the late delivery: %s", is.Fields.Status.Name)
			}
		})
	}
}

// G3 both ways: a vulnsync change made after a Jira change wins over it,
// even when Jira's webhook arrives after the vulnsync change.
func TestNewestChangeWinsAcrossSides(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Clock: clock})
	_, it, key := setup(t, e)
	e.HoldWebhooks(true)
	clock.Advance(time.Minute)
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 5.0}) // Jira at T+1m
	e.Deliver()
	clock.Advance(time.Minute)
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"cvss_score": 8.8}}, nil) // vulnsync at T+2m
	for _, d := range e.Held() {
		e.Send(d)
	}
	e.HoldWebhooks(false)
	e.Sync()
	e.Deliver()
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 8.8 {
		t.Errorf("vulnsync (newer) lost: cvss %v", got.Fields["cvss_score"])
	}
	if is := readIssue(t, e, key); *is.Fields.CVSS != 8.8 {
		t.Errorf("Jira holds %v, want vulnsync's newer 8.8", *is.Fields.CVSS)
	}
	// And the other way: vulnsync first, Jira later → Jira wins.
	clock.Advance(time.Minute)
	e.HoldWebhooks(true)
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"cvss_score": 6.1}}, nil)
	clock.Advance(time.Minute)
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 3.3})
	e.Deliver()
	held := e.Held()
	e.HoldWebhooks(false)
	e.Sync() // pushes 6.1 over Jira's newer 3.3 before its webhook arrives
	for _, d := range held {
		e.Send(d)
	}
	e.Sync()
	e.Deliver()
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 3.3 {
		t.Errorf("Jira (newer) lost: cvss %v", got.Fields["cvss_score"])
	}
	if is := readIssue(t, e, key); *is.Fields.CVSS != 3.3 {
		t.Errorf("Jira holds %v, want its own newer 3.3", *is.Fields.CVSS)
	}
}

// G4, G6: one Jira comment, delivered as comment_created and as
// issue_commented, in any order and twice, becomes one vulnsync comment
// with the Jira author and original time; edits and deletions follow.
func TestCommentsFromJira(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			_, it, key := setup(t, e)
			before := len(comments(t, e, it.ID))
			e.HoldWebhooks(true)
			cid := jiraComment(t, e, key, "Deployed the fix to staging.")
			e.Deliver()
			held := e.Held()
			kinds := map[string]bool{}
			for _, d := range held {
				kinds[d.Event()] = true
			}
			if !kinds["comment_created"] || !kinds["jira:issue_updated/issue_commented"] {
				t.Fatalf("a new comment must come as both events, got %v", kinds)
			}
			for i := len(held) - 1; i >= 0; i-- { // reverse order
				e.Send(held[i])
			}
			e.Send(held[0]) // and a duplicate
			e.Sync()
			cs := comments(t, e, it.ID)
			if len(cs) != before+1 {
				t.Fatalf("comments: %d, want %d", len(cs), before+1)
			}
			c := cs[len(cs)-1]
			author := c["author"].(map[string]any)
			if c["origin"] != "jira" || !strings.Contains(c["body"].(string), "Deployed the fix") || author["name"] == "" || author["account_id"] == "" {
				t.Fatalf("mirrored comment: %v", c)
			}
			// Edit and delete in Jira follow.
			e.HoldWebhooks(false)
			var body any = "Deployed the fix to production."
			if dep == "cloud" {
				body = map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "Deployed the fix to production."}}}}}
			}
			if st := e.Jira("dev", "PUT", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment/"+cid, map[string]any{"body": body}, nil); st != 200 {
				t.Fatalf("edit comment: %d", st)
			}
			e.Deliver()
			e.Sync()
			cs = comments(t, e, it.ID)
			if !strings.Contains(cs[len(cs)-1]["body"].(string), "production") {
				t.Errorf("edit did not follow: %v", cs[len(cs)-1])
			}
			if st := e.Jira("dev", "DELETE", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment/"+cid, nil, nil); st != 204 {
				t.Fatalf("delete comment: %d", st)
			}
			e.Deliver()
			e.Sync()
			if cs = comments(t, e, it.ID); len(cs) != before {
				t.Errorf("deletion did not follow: %d comments, want %d", len(cs), before)
			}
			// Our own comment does not come back.
			e.Must(201, "POST", "/api/v1/items/"+it.ID+"/comments", map[string]any{"body": "Retest scheduled."}, nil)
			e.Sync()
			e.Deliver()
			e.Sync()
			if cs = comments(t, e, it.ID); len(cs) != before+1 {
				t.Errorf("our own comment echoed: %d comments, want %d", len(cs), before+1)
			}
		})
	}
}

// G10: forged, missing or replayed deliveries change nothing; oversize
// bodies are refused; unmapped projects are ignored.
func TestWebhookReceiverRefusesBadDeliveries(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s, it, key := setup(t, e)
	e.HoldWebhooks(true)
	jiraTransition(t, e, key, "Start Progress")
	e.Deliver()
	held := e.Held()
	if len(held) == 0 {
		t.Fatal("no delivery")
	}
	good := held[0]
	forged := good
	forged.Header = good.Header.Clone()
	forged.Header.Set("X-Hub-Signature", jirahook.Sign([]byte("not the secret"), good.Body))
	missing := good
	missing.Header = good.Header.Clone()
	missing.Header.Del("X-Hub-Signature")
	tampered := good
	tampered.Body = bytes.Replace(good.Body, []byte("In Progress"), []byte("Done"), 1)
	for name, d := range map[string]apptest.Delivery{"forged": forged, "missing": missing, "tampered": tampered} {
		if st := e.Send(d); st != 401 {
			t.Errorf("%s signature: %d, want 401", name, st)
		}
	}
	e.Sync()
	if got := getItem(t, e, it.ID); got.Status != "open" {
		t.Fatalf("a refused delivery changed the item: %s", got.Status)
	}
	big := good
	big.Body = bytes.Repeat([]byte(" "), 2<<20)
	big.Header = good.Header.Clone()
	big.Header.Set("X-Hub-Signature", jirahook.Sign([]byte(s.WebhookSecret), big.Body))
	if st := e.Send(big); st != 413 {
		t.Errorf("oversize delivery: %d, want 413", st)
	}
	// An unmapped project: signed correctly, recorded, ignored.
	secret := s.WebhookSecret
	other := apptest.Delivery{URL: good.URL, Header: http.Header{}, Body: []byte(`{"timestamp":1764320000000,"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_generic","issue":{"id":"99999","key":"OPS-1","fields":{"project":{"key":"OPS"},"summary":"x","status":{"name":"Done","statusCategory":{"key":"done"}}}},"changelog":{"items":[{"field":"status","fieldtype":"jira","fieldId":"status","from":"1","fromString":"To Do","to":"2","toString":"Done"}]}}`)}
	other.Header.Set("X-Hub-Signature", jirahook.Sign([]byte(secret), other.Body))
	other.Header.Set("Content-Type", "application/json")
	if st := e.Send(other); st != 202 {
		t.Errorf("unmapped project: %d, want 202 (recorded and ignored)", st)
	}
	if st := e.Send(good); st != 202 {
		t.Fatalf("the genuine delivery: %d", st)
	}
	e.Sync()
	if got := getItem(t, e, it.ID); got.Status != "in_progress" {
		t.Fatalf("the genuine delivery was not applied: %s", got.Status)
	}
}

// G7: attachments added in Jira come back up to max_bytes; larger ones
// become a link with a note.
func TestAttachmentsFromJira(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)
			small := []byte("screenshot bytes")
			jiraUpload(t, e, key, "proof.png", small)
			e.Deliver()
			e.Sync()
			var atts struct {
				Attachments []map[string]any `json:"attachments"`
			}
			e.Must(200, "GET", "/api/v1/items/"+it.ID+"/attachments", nil, &atts)
			if len(atts.Attachments) != 1 || atts.Attachments[0]["filename"] != "proof.png" || atts.Attachments[0]["origin"] != "jira" || atts.Attachments[0]["size"] != float64(len(small)) {
				t.Fatalf("attachments: %v", atts.Attachments)
			}
			// A lower max_bytes: the next one is too large.
			mapping := strings.Replace(apptest.SpecMapping, `"max_bytes": 10485760`, `"max_bytes": 100`, 1)
			e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", mapping, nil)
			e.Sync()
			jiraUpload(t, e, key, "capture.pcap", bytes.Repeat([]byte{1}, 500))
			e.Deliver()
			e.Sync()
			e.Must(200, "GET", "/api/v1/items/"+it.ID+"/attachments", nil, &atts)
			if len(atts.Attachments) != 1 {
				t.Fatalf("an attachment over max_bytes was copied: %v", atts.Attachments)
			}
			cs := comments(t, e, it.ID)
			if note := cs[len(cs)-1]["body"].(string); !strings.Contains(note, "capture.pcap") || !strings.Contains(note, "http") {
				t.Errorf("no note with a link for the large attachment: %q", note)
			}
		})
	}
}

func jiraUpload(t testing.TB, e *apptest.Env, key, name string, content []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.SimURL+"/rest/api/"+e.APIVersion()+"/issue/"+key+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Atlassian-Token", "no-check")
	if e.Deploy == "datacenter" {
		req.Header.Set("Authorization", "Bearer dev-pat")
	} else {
		req.SetBasicAuth("dev@example.test", "dev-token")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload to Jira: %d", resp.StatusCode)
	}
}

// G11 both ways.
func TestDeletions(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)
			// Deleted in Jira: the item stays, unlinked, and says why.
			if st := e.Jira("admin", "DELETE", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, nil); st != 204 {
				t.Fatalf("delete issue: %d", st)
			}
			e.Deliver()
			e.Sync()
			got := getItem(t, e, it.ID)
			if got.Jira != nil {
				t.Fatalf("item still linked to a deleted issue: %+v", got.Jira)
			}
			cs := comments(t, e, it.ID)
			if !strings.Contains(cs[len(cs)-1]["body"].(string), "was deleted") {
				t.Errorf("no note saying why the item was unlinked: %v", cs[len(cs)-1])
			}
			// Deleted in vulnsync: the issue goes to a done status with a comment.
			other := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "low"})
			e.Sync()
			okey := jiraKey(t, e, other.ID)
			e.Must(204, "DELETE", "/api/v1/items/"+other.ID, nil, nil)
			e.Sync()
			is := readIssue(t, e, okey)
			if is.Fields.Status.Name != "Done" {
				t.Errorf("issue of a deleted item: status %s, want Done", is.Fields.Status.Name)
			}
			if last := is.Fields.Comment.Comments[len(is.Fields.Comment.Comments)-1]; !strings.Contains(string(last.Body), "deleted in vulnsync") {
				t.Errorf("no comment on the closed issue: %s", last.Body)
			}
		})
	}
}

// G8: a webhook Jira never delivers is recovered by reconciliation.
func TestReconciliationRecoversDroppedWebhooks(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock})
			_, it, key := setup(t, e)
			e.HoldWebhooks(true)
			clock.Advance(time.Minute)
			jiraTransition(t, e, key, "Start Progress")
			jiraEdit(t, e, key, map[string]any{"customfield_10050": 4.2})
			jiraComment(t, e, key, "Looking into it.")
			e.Deliver()
			e.Held() // dropped: never reach vulnsync
			e.Sync()
			if got := getItem(t, e, it.ID); got.Status != "open" {
				t.Fatalf("changed without any delivery: %s", got.Status)
			}
			clock.Advance(6 * time.Minute) // past the reconciliation interval
			e.Sync()
			e.Sync()
			got := getItem(t, e, it.ID)
			if got.Status != "in_progress" || got.Fields["cvss_score"] != 4.2 {
				t.Fatalf("after reconciliation: status %s cvss %v", got.Status, got.Fields["cvss_score"])
			}
			cs := comments(t, e, it.ID)
			if !strings.Contains(fmt.Sprint(cs), "Looking into it.") {
				t.Errorf("the comment was not recovered: %v", cs)
			}
		})
	}
}

// G11 with on_issue_deleted = recreate: the item gets a new issue.
func TestDeletedIssueIsRecreatedUnderThatPolicy(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s, it, key := setup(t, e)
	mapping := strings.Replace(apptest.SpecMapping, `"comments": "both"`, `"comments": "both", "on_issue_deleted": "recreate"`, 1)
	e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", mapping, nil)
	e.Sync()
	if st := e.Jira("admin", "DELETE", "/rest/api/3/issue/"+key, nil, nil); st != 204 {
		t.Fatalf("delete issue: %d", st)
	}
	e.Deliver()
	e.Sync()
	newKey := jiraKey(t, e, it.ID)
	if newKey == key {
		t.Fatalf("still linked to the deleted %s", key)
	}
	if is := readIssue(t, e, newKey); is.Fields.Summary != it.Title {
		t.Errorf("recreated issue: %+v", is.Fields)
	}
	if keys := searchAll(t, e); len(keys) != 1 {
		t.Errorf("issues: %v, want only the recreated one", keys)
	}
}

// Concurrent deliveries share transactions (group commit); retries of one
// delivery arriving at the same moment are still answered exactly once as
// new, and only new ones are applied.
func TestConcurrentDeliveriesAreDeduplicated(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	_, it, key := setup(t, e)
	e.HoldWebhooks(true)
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 1.5})
	e.Deliver()
	held := e.Held()
	if len(held) != 1 {
		t.Fatalf("held %d deliveries", len(held))
	}
	const ids, copies = 10, 5
	codes := make(chan int, ids*copies)
	var wg sync.WaitGroup
	for i := 0; i < ids; i++ {
		for c := 0; c < copies; c++ {
			d := held[0]
			d.Header = d.Header.Clone()
			d.Header.Set("X-Atlassian-Webhook-Identifier", fmt.Sprintf("delivery-%d", i))
			d.Header.Set("X-Atlassian-Webhook-Retry", fmt.Sprint(c))
			wg.Add(1)
			go func() { defer wg.Done(); codes <- e.Send(d) }()
		}
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[202] != ids || count[200] != ids*(copies-1) {
		t.Fatalf("answers: %v, want %d × 202 and %d × 200", count, ids, ids*(copies-1))
	}
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 1.5 {
		t.Errorf("cvss after the deliveries: %v", got.Fields["cvss_score"])
	}
}

// Data Center 9 does not sign webhooks: deliveries reach vulnsync through
// the URL token, each one a notice that makes vulnsync read the issue from
// Jira. A Jira transition arrives by webhook (no reconciliation runs here),
// and a delivery with the right token but false contents changes nothing,
// because the truth is read from Jira's REST API.
func TestUnsignedDeliveriesAreNoticesReadBackFromJira(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileDC9})
	_, it, key := setup(t, e)
	e.HoldWebhooks(true)

	jiraTransition(t, e, key, "Start Progress")
	e.Deliver()
	held := e.Held()
	if len(held) == 0 {
		t.Fatal("no delivery for the transition")
	}
	for _, d := range held {
		if d.Header.Get("X-Hub-Signature") != "" || d.Header.Get("X-Atlassian-Webhook-Identifier") != "" {
			t.Fatalf("Data Center 9 delivery carries %v: want unsigned, unidentified", d.Header)
		}
		if st := e.Send(d); st != 202 {
			t.Fatalf("unsigned delivery to the token URL: %d, want 202", st)
		}
	}
	e.Sync()
	if got := getItem(t, e, it.ID); got.Status != "in_progress" {
		t.Fatalf("after the Jira transition: status %q, want in_progress", got.Status)
	}

	// A forged notice: the right URL, a body claiming the issue is Done and
	// its CVSS is 1.0. vulnsync reads the issue (still In Progress, CVSS
	// 7.5) and changes nothing.
	forged := held[0]
	var body map[string]any
	if err := json.Unmarshal(forged.Body, &body); err != nil {
		t.Fatal(err)
	}
	issue := body["issue"].(map[string]any)
	fields := issue["fields"].(map[string]any)
	fields["status"] = map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}
	fields["customfield_10050"] = 1.0
	body["changelog"] = map[string]any{"items": []any{
		map[string]any{"field": "status", "fieldtype": "jira", "fromString": "In Progress", "toString": "Done"},
		map[string]any{"field": "CVSS Score", "fieldtype": "custom", "fromString": "7.5", "toString": "1.0"},
	}}
	body["timestamp"] = time.Now().Add(time.Hour).UnixMilli()
	forged.Body, _ = json.Marshal(body)
	if st := e.Send(forged); st != 202 {
		t.Fatalf("forged delivery with the right token: %d, want 202 (recorded as a notice)", st)
	}
	e.Sync()
	got := getItem(t, e, it.ID)
	if got.Status != "in_progress" || got.Fields["cvss_score"] != 7.5 {
		t.Fatalf("a forged unsigned delivery changed the item: status %q, cvss %v", got.Status, got.Fields["cvss_score"])
	}
	var is struct {
		Fields struct {
			Status struct{ Name string } `json:"status"`
		} `json:"fields"`
	}
	e.Jira("admin", "GET", "/rest/api/2/issue/"+key, nil, &is)
	if is.Fields.Status.Name != "In Progress" {
		t.Fatalf("Jira's issue moved to %q: vulnsync wrote the forged state back", is.Fields.Status.Name)
	}

	// The wrong token, or no token, is refused before anything is read.
	bad := held[0]
	bad.URL = bad.URL[:strings.LastIndex(bad.URL, "/")] + "/not-the-token"
	if st := e.Send(bad); st != 401 {
		t.Fatalf("wrong token: %d, want 401", st)
	}
	bad.URL = bad.URL[:strings.LastIndex(bad.URL, "/")]
	if st := e.Send(bad); st != 401 {
		t.Fatalf("no token on a token connection: %d, want 401", st)
	}
}
