package jirasync_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store"
)

// Every delivery to a known connection is counted by result; the refused
// ones are kept with the reason they were answered with and only a short
// excerpt of their body; deliveries for no known connection are not kept.
func TestWebhookHealthCountsAndKeepsRejections(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s := e.Setup("payments-api")
	send := func(conn, id, sig, body string) int {
		t.Helper()
		status, _ := jirasim.PostDelivery(t, e.API.URL+"/webhooks/jira/"+conn, id, sig, body)
		return status
	}
	body := func(n int) string {
		return fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"jira:issue_updated","issue":{"id":"77%d","key":"SEC-77%d","fields":{"project":{"key":"SEC"}}}}`, 1700000000000+n, n, n)
	}
	signed := func(b string) string { return jirasim.Signature(s.WebhookSecret, []byte(b)) }
	huge := strings.Repeat("x", store.MaxDeliveryBytes+1)
	for _, d := range []struct {
		conn, id, sig, body string
		want                int
	}{
		{s.ConnectionID, "a", signed(body(1)), body(1), 202},
		{s.ConnectionID, "a", signed(body(1)), body(1), 200},
		{s.ConnectionID, "b", "", body(2), 401},
		{s.ConnectionID, "c", "sha256=00", body(3), 401},
		{s.ConnectionID, "d", signed(huge), huge, 413},
		{"no-such-connection", "e", signed(body(4)), body(4), 404},
	} {
		if got := send(d.conn, d.id, d.sig, d.body); got != d.want {
			t.Fatalf("delivery %s: status %d, want %d", d.id, got, d.want)
		}
	}
	h, err := e.Engine.WebhookHealth(t.Context(), s.ConnectionID)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, c := range h.Counts {
		counts[c.Result] = c.Count
	}
	if diff := cmp.Diff(map[string]int64{"accepted": 1, "duplicate": 1, "unauthorized": 2, "too_large": 1}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	var got []string
	for _, r := range h.Rejections {
		if len(r.Excerpt) > store.MaxRejectionExcerpt {
			t.Errorf("excerpt of %d bytes kept", len(r.Excerpt))
		}
		got = append(got, r.Result+": "+r.Reason)
	}
	want := []string{"too_large: delivery larger than " + fmt.Sprint(store.MaxDeliveryBytes) + " bytes",
		"unauthorized: webhook signature missing or wrong: the delivery's signature does not match",
		"unauthorized: webhook signature missing or wrong: the delivery has no X-Hub-Signature"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejections, newest first (-want +got):\n%s", diff)
	}
	if h.LastDeliveryAt.IsZero() {
		t.Errorf("no last delivery time")
	}

	// The API's connection health says the same (validated against the
	// OpenAPI document).
	var api struct {
		Webhooks map[string]int64 `json:"webhook_deliveries"`
		Rejected []struct {
			Result, Reason string
		} `json:"rejected_deliveries"`
	}
	e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID+"/health", nil, &api)
	if diff := cmp.Diff(counts, api.Webhooks); diff != "" {
		t.Errorf("API counts (-engine +api):\n%s", diff)
	}
	if len(api.Rejected) != 3 || api.Rejected[0].Result != "too_large" {
		t.Errorf("API rejections: %+v", api.Rejected)
	}
}

// Deliveries arriving together are recorded in shared transactions (group
// commit) and counted once per transaction: the counts still add up to
// every delivery, each by its result.
func TestWebhookHealthCountsConcurrentDeliveries(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s := e.Setup("payments-api")
	const n = 20 // 2n requests at once, within the receiver's 64 concurrent deliveries
	statuses := make(chan int, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			k := i % n // the second n repeat the first n: duplicates
			body := fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"jira:issue_updated","issue":{"id":"88%d","key":"SEC-88%d","fields":{"project":{"key":"SEC"}}}}`, 1700000000000+k, k, k)
			status, answer := jirasim.PostDelivery(t, e.API.URL+"/webhooks/jira/"+s.ConnectionID, fmt.Sprint("id-", k), jirasim.Signature(s.WebhookSecret, []byte(body)), body)
			if status != 200 && status != 202 {
				t.Logf("answer %d: %s", status, answer)
			}
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	byStatus := map[int]int{}
	for st := range statuses {
		byStatus[st]++
	}
	if diff := cmp.Diff(map[int]int{202: n, 200: n}, byStatus); diff != "" {
		t.Fatalf("answers by status (-want +got):\n%s", diff)
	}
	h, err := e.Engine.WebhookHealth(t.Context(), s.ConnectionID)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, c := range h.Counts {
		counts[c.Result] = c.Count
	}
	if diff := cmp.Diff(map[string]int64{"accepted": n, "duplicate": n}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
