package jirasync_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

type pendingList struct {
	Acceptances []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
		Origin string `json:"origin"`
	} `json:"acceptances"`
}

func countWith(bodies []string, sub string) int {
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, sub) {
			n++
		}
	}
	return n
}

// TestTriageFromJira, on Cloud and Data Center: "/vulnsync accept <reason>"
// in a Jira comment opens a pending acceptance (the item does not move)
// and the request's comment answers in Jira; the same comment delivered
// again under another delivery id, and found again by reconciliation,
// opens nothing more and answers nothing more; our answer coming back as a
// webhook runs no command; a command without a reason and an unknown
// command are answered with why.
func TestTriageFromJira(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: p, Clock: clock})
			_, it, key := setup(t, e)
			pending := func() pendingList {
				var l pendingList
				e.Must(200, "GET", "/api/v1/acceptances?state=pending&item_id="+it.ID, nil, &l)
				return l
			}

			e.HoldWebhooks(true)
			clock.Advance(time.Minute)
			jiraComment(t, e, key, "/vulnsync accept only reachable from the admin VPN")
			e.Deliver()
			held := e.Held()
			e.HoldWebhooks(false)
			var created apptest.Delivery
			for _, d := range held {
				if st := e.Send(d); st != http.StatusAccepted {
					t.Fatalf("delivery %s answered %d", d.Event(), st)
				}
				if strings.HasPrefix(d.Event(), "comment_created") {
					created = d
				}
			}
			if created.Body == nil {
				t.Fatalf("no comment_created among %d deliveries", len(held))
			}
			e.Sync()
			l := pending()
			if len(l.Acceptances) != 1 || l.Acceptances[0].Status != "accepted_risk" || l.Acceptances[0].Origin != "jira" ||
				!strings.Contains(l.Acceptances[0].Reason, "only reachable from the admin VPN") {
				t.Fatalf("pending acceptances after the command: %+v", l.Acceptances)
			}
			if got := getItem(t, e, it.ID); got.Status != "open" {
				t.Errorf("the command moved the item to %s; it awaits approval", got.Status)
			}
			e.Deliver() // our answer's webhook comes back: no command
			e.Sync()
			if n := countWith(jiraComments(t, e, key), "awaiting an admin"); n != 1 {
				t.Errorf("%d answers in Jira, want 1: %q", n, jiraComments(t, e, key))
			}

			// The same comment again: another delivery id, then reconciliation.
			again := created
			again.Header = again.Header.Clone()
			if again.Header.Get("X-Atlassian-Webhook-Identifier") != "" { // Data Center sends none: reconciliation is the second sighting there
				again.Header.Set("X-Atlassian-Webhook-Identifier", "another-delivery-of-the-same-comment")
				if st := e.Send(again); st != http.StatusAccepted {
					t.Fatalf("the same comment under another delivery id answered %d, want 202 (a new delivery)", st)
				}
			}
			clock.Advance(time.Minute)
			if err := e.Engine.ScheduleReconcile(t.Context()); err != nil {
				t.Fatal(err)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if l := pending(); len(l.Acceptances) != 1 {
				t.Errorf("after the same comment again: %d pending acceptances, want 1", len(l.Acceptances))
			}
			if bodies := jiraComments(t, e, key); countWith(bodies, "awaiting an admin") != 1 || countWith(bodies, "was not opened") != 0 {
				t.Errorf("after the same comment again, Jira's comments answer it more than once: %q", bodies)
			}
			var mirrored []string
			for _, c := range comments(t, e, it.ID) {
				mirrored = append(mirrored, c["body"].(string))
			}
			if n := countWith(mirrored, "only reachable from the admin VPN"); n != 2 { // the command, and the request's comment quoting it
				t.Errorf("the command comment shows %d times on the item, want it and the request's note: %q", n, mirrored)
			}

			// Refusals are answered.
			clock.Advance(time.Minute)
			jiraComment(t, e, key, "/vulnsync false-positive")
			clock.Advance(time.Minute)
			jiraComment(t, e, key, "/vulnsync frobnicate now")
			e.Deliver()
			e.Sync()
			e.Deliver()
			e.Sync()
			bodies := jiraComments(t, e, key)
			if n := countWith(bodies, "give a reason after the command"); n != 1 {
				t.Errorf("%d answers to the command without a reason, want 1: %q", n, bodies)
			}
			if n := countWith(bodies, "do not know the command"); n != 1 {
				t.Errorf("%d answers to the unknown command, want 1: %q", n, bodies)
			}
			if l := pending(); len(l.Acceptances) != 1 {
				t.Errorf("refused commands opened requests: %d pending", len(l.Acceptances))
			}
		})
	}
}
