package jirasim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// received is one delivery as a receiver saw it.
type received struct {
	header http.Header
	body   []byte
	event  map[string]any
}

// receiver is a webhook endpoint that records deliveries and answers with
// scripted status codes (200 once the script runs out).
type receiver struct {
	mu     sync.Mutex
	got    []received
	script []int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: b, event: ev})
		code := http.StatusOK
		if len(rc.script) > 0 {
			code, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// events lists webhookEvent/issue_event_type_name of what was received.
func (rc *receiver) events() []string {
	var out []string
	for _, r := range rc.all() {
		s, _ := r.event["webhookEvent"].(string)
		if tn, ok := r.event["issue_event_type_name"].(string); ok {
			s += "/" + tn
		}
		out = append(out, s)
	}
	return out
}

func (e *env) register(t *testing.T, url, secret, jql string, events ...string) string {
	t.Helper()
	if len(events) == 0 {
		events = []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}
	}
	body := map[string]any{"name": "vulnsync", "url": url, "events": events, "secret": secret}
	if e.sim.Profile() == ProfileDC10 {
		// Data Center 10's API: the secret in configuration.SECRET.
		delete(body, "secret")
		if secret != "" {
			body["configuration"] = map[string]any{"SECRET": secret}
		}
	}
	if jql != "" {
		body["filters"] = map[string]any{"issue-related-events-section": jql}
	}
	r := e.admin.must(http.StatusCreated, "POST", e.sim.webhookPath(), body).json(t)
	return r["self"].(string)
}

func TestSignatureTestVector(t *testing.T) {
	got := Signature("It's a Secret to Everybody", []byte("Hello World!"))
	want := "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
	if got != want {
		t.Errorf("Signature: got %s, want %s", got, want)
	}
}

func TestWebhookDeliveryAndFilter(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
	rc := newReceiver(t)
	e.register(t, rc.srv.URL, "s3cret", "project = SEC AND labels = hooked")
	key := e.admin.createIssue("Task", "covered", map[string]any{"labels": []string{"hooked"}})
	e.admin.createIssue("Task", "not covered", nil)
	e.admin.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{"body": adf("hi")})
	if n := e.sim.DeliverWebhooks(context.Background()); n != 3 {
		t.Fatalf("DeliverWebhooks: attempted %d, want 3", n)
	}
	want := []string{"jira:issue_created/issue_created", "comment_created", "jira:issue_updated/issue_commented"}
	if diff := cmp.Diff(want, rc.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, r := range rc.all() {
		if got, want := r.header.Get("X-Hub-Signature"), Signature("s3cret", r.body); got != want {
			t.Errorf("X-Hub-Signature: got %s, want %s", got, want)
		}
		id := r.header.Get("X-Atlassian-Webhook-Identifier")
		if id == "" || ids[id] {
			t.Errorf("identifier %q: want a fresh one per delivery", id)
		}
		ids[id] = true
		if r.header.Get("X-Atlassian-Webhook-Flow") != "Primary" || r.header.Get("X-Atlassian-Webhook-Retry") != "" {
			t.Errorf("first attempt headers: %v", r.header)
		}
	}
	first := rc.all()[0].event
	if get(first, "issue", "key") != key || get(first, "changelog", "items") == nil || get(first, "user", "accountId") != "5b10ac8d82e05b22cc7d4ef5" {
		t.Errorf("issue_created payload: %v", first)
	}
	c := e.sim.Counters().Webhooks
	if c.Queued != 3 || c.Delivered != 3 {
		t.Errorf("webhook counters: %+v", c)
	}
	if err := e.sim.WaitIdle(context.Background()); err != nil {
		t.Errorf("WaitIdle after delivering everything: %v", err)
	}
}

func TestWebhookRetries(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true, WebhookRetryBase: time.Second}})
	rc := newReceiver(t, 503, 429, 200)
	e.register(t, rc.srv.URL, "", "")
	e.admin.createIssue("Task", "r", nil)
	ctx := context.Background()
	if n := e.sim.DeliverWebhooks(ctx); n != 1 {
		t.Fatalf("first round: attempted %d, want 1", n)
	}
	if n := e.sim.DeliverWebhooks(ctx); n != 0 {
		t.Errorf("retry before its backoff: attempted %d, want 0", n)
	}
	e.clock.Advance(time.Second)
	if n := e.sim.DeliverWebhooks(ctx); n != 1 {
		t.Fatalf("first retry after 1 s: attempted %d, want 1", n)
	}
	e.clock.Advance(time.Second)
	if n := e.sim.DeliverWebhooks(ctx); n != 0 {
		t.Errorf("second retry before 2 s: attempted %d, want 0", n)
	}
	e.clock.Advance(time.Second)
	if n := e.sim.DeliverWebhooks(ctx); n != 1 {
		t.Fatalf("second retry after 2 s: attempted %d, want 1", n)
	}
	got := rc.all()
	if len(got) != 3 {
		t.Fatalf("attempts: got %d, want 3", len(got))
	}
	id := got[0].header.Get("X-Atlassian-Webhook-Identifier")
	for i, r := range got {
		if r.header.Get("X-Atlassian-Webhook-Identifier") != id {
			t.Errorf("attempt %d: identifier changed", i)
		}
		// A retry keeps the flow of the original delivery and counts
		// itself in X-Atlassian-Webhook-Retry.
		wantFlow, wantRetry := "Primary", []string{"", "1", "2"}[i]
		if i == 0 {
			wantFlow = "Primary"
		}
		if r.header.Get("X-Atlassian-Webhook-Flow") != wantFlow || r.header.Get("X-Atlassian-Webhook-Retry") != wantRetry {
			t.Errorf("attempt %d: flow %q retry %q, want %q %q", i, r.header.Get("X-Atlassian-Webhook-Flow"), r.header.Get("X-Atlassian-Webhook-Retry"), wantFlow, wantRetry)
		}
		if string(r.body) != string(got[0].body) {
			t.Errorf("attempt %d: body changed between retries", i)
		}
	}
	if c := e.sim.Counters().Webhooks; c.Delivered != 1 || c.Retried != 2 || c.Failed != 0 {
		t.Errorf("counters: %+v", c)
	}

	// A receiver that always fails gets the first send and 5 retries; a
	// 400 is not retried.
	e2 := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true, WebhookRetryBase: time.Second}})
	bad := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500)
	e2.register(t, bad.srv.URL, "", "")
	e2.admin.createIssue("Task", "r", nil)
	total := 0
	for i := 0; i < 10; i++ {
		total += e2.sim.DeliverWebhooks(ctx)
		e2.clock.Advance(time.Minute)
	}
	if total != 6 || e2.sim.Counters().Webhooks.Failed != 1 {
		t.Errorf("always failing: %d attempts, counters %+v; want 6 attempts and 1 failed", total, e2.sim.Counters().Webhooks)
	}
	e3 := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
	refuse := newReceiver(t, 400)
	e3.register(t, refuse.srv.URL, "", "")
	e3.admin.createIssue("Task", "r", nil)
	e3.sim.DeliverWebhooks(ctx)
	e3.clock.Advance(time.Hour)
	if n := e3.sim.DeliverWebhooks(ctx); n != 0 || e3.sim.Counters().Webhooks.Failed != 1 {
		t.Errorf("400 answer: retried %d times, counters %+v", n, e3.sim.Counters().Webhooks)
	}
}

func TestWebhookFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("drop", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
		rc := newReceiver(t)
		e.register(t, rc.srv.URL, "", "")
		e.admin.createIssue("Task", "x", nil)
		// Faults apply when deliveries go out, not when they are queued.
		e.sim.SetFaults(Faults{WebhookDrop: 1})
		if n := e.sim.DeliverWebhooks(ctx); n != 0 || len(rc.all()) != 0 {
			t.Errorf("dropped delivery was attempted %d times", n)
		}
		if c := e.sim.Counters().Webhooks; c.Queued != 1 || c.Dropped != 1 {
			t.Errorf("counters: %+v", c)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
		rc := newReceiver(t)
		e.register(t, rc.srv.URL, "", "")
		e.sim.SetFaults(Faults{WebhookDuplicate: 1})
		e.admin.createIssue("Task", "x", nil)
		if n := e.sim.DeliverWebhooks(ctx); n != 2 {
			t.Errorf("duplicate: attempted %d, want 2", n)
		}
		got := rc.all()
		if len(got) != 2 || got[0].header.Get("X-Atlassian-Webhook-Identifier") != got[1].header.Get("X-Atlassian-Webhook-Identifier") {
			t.Errorf("duplicate: got %d deliveries, want 2 with one identifier", len(got))
		}
	})
	t.Run("reorder", func(t *testing.T) {
		order := func(seed int64) []any {
			e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true, Seed: seed}})
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "", "", "jira:issue_created")
			for i := 0; i < 10; i++ {
				e.admin.createIssue("Task", "x", nil)
			}
			e.sim.SetFaults(Faults{WebhookReorder: 1})
			e.sim.DeliverWebhooks(ctx)
			var keys []any
			for _, r := range rc.all() {
				keys = append(keys, get(r.event, "issue", "key"))
			}
			return keys
		}
		inOrder := []any{"SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5", "SEC-6", "SEC-7", "SEC-8", "SEC-9", "SEC-10"}
		got := order(11)
		if cmp.Equal(inOrder, got) {
			t.Errorf("reorder 1: deliveries kept their order %v", got)
		}
		sorted := append([]any(nil), got...)
		sort.Slice(sorted, func(i, j int) bool {
			return len(sorted[i].(string)) < len(sorted[j].(string)) || (len(sorted[i].(string)) == len(sorted[j].(string)) && sorted[i].(string) < sorted[j].(string))
		})
		if diff := cmp.Diff(inOrder, sorted); diff != "" {
			t.Errorf("reordered deliveries are not the same deliveries (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(got, order(11)); diff != "" {
			t.Errorf("same seed, different order (-first +second):\n%s", diff)
		}
	})
	t.Run("delay", func(t *testing.T) {
		e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
		rc := newReceiver(t)
		e.register(t, rc.srv.URL, "", "")
		e.sim.SetFaults(Faults{WebhookDelayMS: 5000})
		e.admin.createIssue("Task", "x", nil)
		if n := e.sim.DeliverWebhooks(ctx); n != 0 {
			t.Errorf("delayed delivery sent early")
		}
		e.clock.Advance(5 * time.Second)
		if n := e.sim.DeliverWebhooks(ctx); n != 1 {
			t.Errorf("delayed delivery: attempted %d after the delay, want 1", n)
		}
	})
	t.Run("same seed same fate", func(t *testing.T) {
		fate := func() WebhookCounters {
			e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true, Seed: 3}})
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "", "")
			e.sim.SetFaults(Faults{WebhookDrop: 0.3, WebhookDuplicate: 0.3})
			for i := 0; i < 20; i++ {
				e.admin.createIssue("Task", "x", nil)
			}
			e.sim.DeliverWebhooks(ctx)
			return e.sim.Counters().Webhooks
		}
		a, b := fate(), fate()
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("same seed (-first +second):\n%s", diff)
		}
		if a.Dropped == 0 || a.Duplicated == 0 {
			t.Errorf("counters %+v: want some drops and duplicates", a)
		}
	})
}

func TestWebhookAutomaticDelivery(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{WebhookRetryBase: 10 * time.Millisecond}})
	rc := newReceiver(t, 503)
	e.register(t, rc.srv.URL, "k", "")
	e.admin.createIssue("Task", "auto", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	got := rc.all()
	if len(got) != 2 || got[1].header.Get("X-Atlassian-Webhook-Retry") != "1" {
		t.Errorf("automatic delivery with one retry: got %d attempts", len(got))
	}
	if c := e.sim.Counters().Webhooks; c.Delivered != 1 || c.Retried != 1 {
		t.Errorf("counters: %+v", c)
	}
}

func TestWebhookRegistration(t *testing.T) {
	e := newEnv(t, envOpts{})
	bad := []map[string]any{
		{"name": "", "url": "http://x.test/h", "events": []string{"jira:issue_created"}},
		{"name": "n", "url": "ftp://x.test/h", "events": []string{"jira:issue_created"}},
		{"name": "n", "url": "http://x.test/h", "events": []string{}},
		{"name": "n", "url": "http://x.test/h", "events": []string{"jira:nope"}},
		{"name": "n", "url": "http://x.test/h", "events": []string{"jira:issue_created"}, "filters": map[string]any{"issue-related-events-section": "foo = bar"}},
	}
	for _, b := range bad {
		if r := e.admin.do("POST", "/rest/webhooks/1.0/webhook", b); r.status != http.StatusBadRequest {
			t.Errorf("register %v: got %d, want 400", b, r.status)
		}
	}
	self := e.register(t, "http://x.test/h", "s", "project = SEC", "jira:issue_created")
	path := self[len(e.url):]
	got := e.admin.must(http.StatusOK, "GET", path, nil).json(t)
	if got["name"] != "vulnsync" || get(got, "filters", "issue-related-events-section") != "project = SEC" || got["secret"] != nil {
		t.Errorf("registered webhook (the secret is not echoed): %v", got)
	}
	e.admin.must(http.StatusOK, "PUT", path, map[string]any{"name": "renamed", "url": "https://y.test/h", "events": []string{"comment_created"}})
	list := e.admin.must(http.StatusOK, "GET", "/rest/webhooks/1.0/webhook", nil).list(t)
	if len(list) != 1 || get(list, 0, "name") != "renamed" || get(list, 0, "events", 0) != "comment_created" {
		t.Errorf("after update: %v", list)
	}
	e.admin.must(http.StatusNoContent, "DELETE", path, nil)
	e.admin.must(http.StatusNotFound, "GET", path, nil)
}
