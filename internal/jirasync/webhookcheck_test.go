package jirasync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// A webhook deleted in Jira is noticed by the next reconciliation: the
// connection stops claiming it and the sync log says what happened and
// what to do; registering again restores it.
func TestAWebhookDeletedInJiraIsNoticed(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock})
			s, _, _ := setup(t, e)
			hooksPath := "/rest/webhooks/1.0/webhook"
			if dep == jirasim.ProfileDC10 {
				hooksPath = "/rest/jira-webhook/1.0/webhooks"
			}
			var hooks []map[string]any
			if st := e.Jira("admin", "GET", hooksPath, nil, &hooks); st != 200 || len(hooks) != 1 {
				t.Fatalf("webhooks in Jira: %d %v", st, hooks)
			}
			self := hooks[0]["self"].(string)
			if st := e.Jira("admin", "DELETE", self[strings.Index(self, "/rest/"):], nil, nil); st != 204 && st != 200 {
				t.Fatalf("delete the webhook in Jira: %d", st)
			}
			clock.Advance(10 * time.Minute)
			e.Sync()
			var conn map[string]any
			e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID, nil, &conn)
			if conn["webhook_registered"] != false {
				t.Errorf("after the webhook vanished from Jira: webhook_registered %v, want false", conn["webhook_registered"])
			}
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID+"/events", nil, &evs)
			found := false
			for _, ev := range evs.Events {
				if msg, _ := ev["error"].(string); strings.Contains(msg, "is gone from Jira") {
					found = true
				}
			}
			if !found {
				t.Errorf("the sync log does not say the webhook is gone: %v", evs.Events)
			}
			e.Must(200, "POST", "/api/v1/jira/connections/"+s.ConnectionID+"/webhook", "{}", nil)
			e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID, nil, &conn)
			if conn["webhook_registered"] != true {
				t.Errorf("registered again: webhook_registered %v", conn["webhook_registered"])
			}
		})
	}
}
