package app_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to roll the schema back under the process

	"github.com/vulnsync/vulnsync/internal/apispec"
	"github.com/vulnsync/vulnsync/internal/app"
	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
)

const metricsToken = "metrics-token-0000000000000000"

// scrape is one answer of GET /metrics: each sample's value by its series
// ("name{label="value",...}" as exposed).
type scrape map[string]float64

// get sums the samples of a metric whose labels include every given
// `name="value"` pair (a counter never seen is 0).
func (s scrape) get(name string, labels ...string) float64 {
	var sum float64
	for series, v := range s {
		metric, rest, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			sum += v
		}
	}
	return sum
}

// getMetrics scrapes the environment's /metrics with token and returns the
// status and, on 200, the samples.
func getMetrics(t *testing.T, e *apptest.Env, token string) (int, scrape, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.API.URL+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(raw)
	}
	out := scrape{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return resp.StatusCode, out, string(raw)
}

func mustScrape(t *testing.T, e *apptest.Env) scrape {
	t.Helper()
	status, s, body := getMetrics(t, e, apptest.Token)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", status, body)
	}
	return s
}

func TestMetricsAuthorisation(t *testing.T) {
	e := apptest.New(t, apptest.Options{MetricsToken: metricsToken})
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"unknown token", "not-a-token", 401},
		{"metrics token", metricsToken, 200},
		{"admin token", apptest.Token, 200},
	} {
		status, _, body := getMetrics(t, e, c.token)
		if status != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, status, c.want, body)
		}
	}
	// The metrics token opens nothing else.
	req, _ := http.NewRequest("GET", e.API.URL+"/api/v1/targets", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics token on the API: status %d, want 401", resp.StatusCode)
	}

	// Every metric the process exposes is its own.
	e.Setup("web")
	_, _, body := getMetrics(t, e, metricsToken)
	names := 0
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names++
			if !strings.HasPrefix(name, "vulnsync_") {
				t.Errorf("metric %q does not start with vulnsync_", name)
			}
		}
	}
	if names == 0 {
		t.Errorf("no metric exposed after a setup that called Jira:\n%s", body)
	}
}

// TestMetricsMoveWithTheSync drives one item through both directions of
// the sync and checks that each metric moves with it.
func TestMetricsMoveWithTheSync(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud, Clock: clock})
	in := e.Setup("payments")
	ctx := context.Background()

	// Work queued: the item's sync job waits, and ages on the clock.
	var item struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets/"+in.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "SQLi", "severity": "high"}, &item)
	clock.Advance(90 * time.Second)
	m1 := mustScrape(t, e)
	if got := m1.get("vulnsync_jobs_queued", `kind="sync_item"`); got != 1 {
		t.Errorf("vulnsync_jobs_queued{kind=sync_item} = %v, want 1", got)
	}
	if got := m1.get("vulnsync_jobs_oldest_age_seconds", `kind="sync_item"`); got < 90 {
		t.Errorf("vulnsync_jobs_oldest_age_seconds{kind=sync_item} = %v, want at least 90", got)
	}
	if got := m1.get("vulnsync_items", `kind="vulnerability"`, `status="open"`); got != 1 {
		t.Errorf("vulnsync_items{vulnerability,open} = %v, want 1", got)
	}

	// Pushed: Jira was called, the queue drained, the lag observed.
	e.Sync()
	m2 := mustScrape(t, e)
	const create = `operation="POST /rest/api/3/issue"`
	if got := m2.get("vulnsync_jira_requests_total", create, `status="201"`) - m1.get("vulnsync_jira_requests_total", create, `status="201"`); got != 1 {
		t.Errorf("issue creates counted by the sync: %v, want 1", got)
	}
	if got := m2.get("vulnsync_jobs_queued", `kind="sync_item"`); got != 0 {
		t.Errorf("vulnsync_jobs_queued{kind=sync_item} after the sync = %v, want 0", got)
	}
	if got := m2.get("vulnsync_sync_outbound_lag_seconds_count") - m1.get("vulnsync_sync_outbound_lag_seconds_count"); got < 1 {
		t.Errorf("outbound lag observations after a push: %v more, want at least 1", got)
	}

	// A change in Jira arrives by webhook and is applied.
	var linked struct {
		Jira struct {
			Key string `json:"key"`
		} `json:"jira"`
	}
	e.Must(200, "GET", "/api/v1/items/"+item.ID, nil, &linked)
	e.Deliver() // our own writes, echoed
	e.Sync()
	m3 := mustScrape(t, e)
	if st := e.Jira("dev", "PUT", "/rest/api/3/issue/"+linked.Jira.Key, map[string]any{"fields": map[string]any{"summary": "SQLi (confirmed)"}}, nil); st != 204 {
		t.Fatalf("edit in Jira: %d", st)
	}
	clock.Advance(time.Second)
	e.Deliver()
	m4 := mustScrape(t, e)
	if got := m4.get("vulnsync_webhook_deliveries_total", `result="accepted"`) - m3.get("vulnsync_webhook_deliveries_total", `result="accepted"`); got < 1 {
		t.Errorf("accepted deliveries after a Jira edit: %v more, want at least 1", got)
	}
	clock.Advance(2 * time.Second)
	e.Sync()
	m5 := mustScrape(t, e)
	if got := m5.get("vulnsync_sync_inbound_lag_seconds_count", `source="webhook"`) - m4.get("vulnsync_sync_inbound_lag_seconds_count", `source="webhook"`); got < 1 {
		t.Errorf("inbound lag observations after applying a webhook: %v more, want at least 1", got)
	}
	if got := m5.get("vulnsync_sync_inbound_lag_seconds_sum", `source="webhook"`) - m4.get("vulnsync_sync_inbound_lag_seconds_sum", `source="webhook"`); got < 2 {
		t.Errorf("inbound lag of a delivery applied 2 s after it came: %v s, want at least 2", got)
	}

	// A forged delivery is counted as unauthorized.
	st := e.Send(apptest.Delivery{URL: e.API.URL + "/webhooks/jira/" + in.ConnectionID,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature": {"sha256=00"}},
		Body:   []byte(`{"webhookEvent":"jira:issue_updated","timestamp":1}`)})
	if st != http.StatusUnauthorized {
		t.Fatalf("forged delivery: status %d, want 401", st)
	}
	m6 := mustScrape(t, e)
	if got := m6.get("vulnsync_webhook_deliveries_total", `result="unauthorized"`); got != 1 {
		t.Errorf("unauthorized deliveries = %v, want 1", got)
	}

	// Jira rate limits: each 429 is counted and the Retry-After waits add up.
	e.Sim.SetFaults(jirasim.Faults{Rate429: 1, RetryAfterS: 3})
	client, err := e.App.Connections.Client(ctx, in.ConnectionID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Myself(ctx)
	e.Sim.SetFaults(jirasim.Faults{})
	if !jira.IsRateLimited(err) {
		t.Fatalf("Myself under 429s: %v, want a rate-limit error", err)
	}
	m7 := mustScrape(t, e)
	const myself = `operation="GET /rest/api/3/myself"`
	limited := m7.get("vulnsync_jira_rate_limited_total", myself) - m6.get("vulnsync_jira_rate_limited_total", myself)
	if limited < 1 || limited != m7.get("vulnsync_jira_requests_total", myself, `status="429"`)-m6.get("vulnsync_jira_requests_total", myself, `status="429"`) {
		t.Errorf("429s counted: %v, want as many as the 429 answers counted by status", limited)
	}
	if got := m7.get("vulnsync_jira_wait_seconds_total", `reason="retry_after"`) - m6.get("vulnsync_jira_wait_seconds_total", `reason="retry_after"`); got < 3*(limited-1) {
		t.Errorf("Retry-After waits: %v s for %v 429s of Retry-After 3 s", got, limited)
	}

	// The connection's health shows the webhook and an empty queue.
	var h struct {
		LastWebhookAt    *time.Time      `json:"last_webhook_at"`
		QueuedDeliveries int             `json:"queued_deliveries"`
		LastError        json.RawMessage `json:"last_error"`
	}
	e.Must(200, "GET", "/api/v1/jira/connections/"+in.ConnectionID+"/health", nil, &h)
	if h.LastWebhookAt == nil || h.QueuedDeliveries != 0 {
		t.Errorf("connection health = %+v, want a last webhook and no queued delivery", h)
	}
}

// Reconciliation finding a change whose webhook never came counts drift.
func TestMetricsCountReconciliationDrift(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud})
	in := e.Setup("web")
	var item struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets/"+in.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "XSS", "severity": "low"}, &item)
	e.Sync()
	var linked struct {
		Jira struct {
			Key string `json:"key"`
		} `json:"jira"`
	}
	e.Must(200, "GET", "/api/v1/items/"+item.ID, nil, &linked)
	e.HoldWebhooks(true) // every delivery from here on is lost
	if st := e.Jira("dev", "PUT", "/rest/api/3/issue/"+linked.Jira.Key, map[string]any{"fields": map[string]any{"priority": map[string]string{"name": "Highest"}}}, nil); st != 204 {
		t.Fatalf("edit in Jira: %d", st)
	}
	e.Deliver()
	e.Held()
	before := mustScrape(t, e)
	if err := e.Engine.ScheduleReconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Sync()
	after := mustScrape(t, e)
	if got := after.get("vulnsync_reconcile_drift_total") - before.get("vulnsync_reconcile_drift_total"); got != 1 {
		t.Errorf("drift found by reconciliation: %v, want 1", got)
	}
	if got := after.get("vulnsync_sync_inbound_lag_seconds_count", `source="reconcile"`); got < 1 {
		t.Errorf("inbound lag observations of reconciliation pulls: %v, want at least 1", got)
	}
}

func TestReadinessFailsOnPendingMigrations(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	ready := func() (int, string) {
		resp, err := e.HTTP.Get(e.API.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if st, body := ready(); st != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s, want 200", st, body)
	}
	// Roll the newest migration's record back, as an older binary's
	// rollback would leave the schema.
	db, err := sql.Open("sqlite", filepath.Join(e.DataDir, sqldb.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`); err != nil {
		t.Fatalf("roll back the newest migration's record: %v", err)
	}
	st, body := ready()
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "pending") {
		t.Errorf("GET /readyz with a migration pending: %d %s, want 503 naming the pending migration", st, body)
	}
}

func TestReadinessFailsWhenTheStoreIsGone(t *testing.T) {
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() { srv.Close(); a.Engine.Close() })
	hc := apispec.Client(t)
	get := func(path string) (int, string) {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if st, body := get("/readyz"); st != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s, want 200", st, body)
	}
	a.Store.Close()
	if st, body := get("/readyz"); st != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Errorf("GET /readyz without a store: %d %s, want 503 store unreachable", st, body)
	}
	if st, body := get("/healthz"); st != http.StatusOK {
		t.Errorf("GET /healthz without a store: %d %s, want 200 (the process still serves)", st, body)
	}
}
