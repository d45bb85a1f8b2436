package jirasync_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// An over-long delivery identifier is bad input (400), not an outage: a
// 5xx would make Jira retry the delivery for ever. The same delivery with
// its real identifier is then accepted.
func TestOverlongWebhookIdentifierIsRefusedAs4xx(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	_, _, key := setup(t, e)
	e.HoldWebhooks(true)
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 3.3})
	e.Deliver()
	held := e.Held()
	if len(held) == 0 {
		t.Fatal("no delivery held")
	}
	d := held[0]
	long := d
	long.Header = d.Header.Clone()
	long.Header.Set("X-Atlassian-Webhook-Identifier", strings.Repeat("9", 5000))
	if st := e.Send(long); st != 400 {
		t.Fatalf("over-long identifier: %d, want 400", st)
	}
	if st := e.Send(d); st != 202 {
		t.Fatalf("the delivery with its own identifier: %d, want 202", st)
	}
}
