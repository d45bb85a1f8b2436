package jirasync_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirahook"
)

// BenchmarkWebhookIntake measures the receiver (verify, dedupe, record
// durably, route, enqueue, answer) on SQLite, next to a bare handler that
// only verifies the signature (PRODUCT.md §6 compares the two).
func BenchmarkWebhookIntake(b *testing.B) {
	e := apptest.New(b, apptest.Options{})
	s, _, key := setup(b, e)
	body := []byte(fmt.Sprintf(`{"timestamp":1764320000000,"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_generic","user":{"accountId":"x","displayName":"Dev"},"issue":{"id":"10000","key":%q,"fields":{"project":{"key":"SEC"},"summary":"x","status":{"name":"In Progress","statusCategory":{"key":"indeterminate"}},"updated":"2026-11-28T10:00:00.000+0000"}},"changelog":{"items":[{"field":"status","fieldtype":"jira","fieldId":"status","from":"1","fromString":"To Do","to":"3","toString":"In Progress"}]}}`, key))
	sig := jirahook.Sign([]byte(s.WebhookSecret), body)
	url := e.API.URL + "/webhooks/jira/" + s.ConnectionID
	var n atomic.Int64
	send := func(b *testing.B, target string) {
		b.SetParallelism(16) // Jira sends many deliveries at once
		b.RunParallel(func(pb *testing.PB) {
			c := &http.Client{}
			for pb.Next() {
				req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
				req.Header.Set("X-Hub-Signature", sig)
				req.Header.Set("X-Atlassian-Webhook-Identifier", fmt.Sprintf("bench-%d", n.Add(1)))
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	}
	b.Run("receiver", func(b *testing.B) { send(b, url) })
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := new(bytes.Buffer)
		_, _ = buf.ReadFrom(r.Body)
		if jirahook.Verify([]byte(s.WebhookSecret), r.Header.Get("X-Hub-Signature"), buf.Bytes()) != nil {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(202)
	}))
	defer bare.Close()
	b.Run("bare", func(b *testing.B) { send(b, bare.URL) })
}
