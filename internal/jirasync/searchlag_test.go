package jirasync_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// issuesNow lists SEC's issues as Jira holds them, without search lag.
func issuesNow(t *testing.T, e *apptest.Env) []string {
	t.Helper()
	lag := e.Sim.SearchLag()
	e.Sim.SetSearchLag(0)
	defer e.Sim.SetSearchLag(lag)
	return searchAll(t, e)
}

// cutAfterCreate answers the first create as a connection cut after Jira
// created the issue would: the outcome is unknown to vulnsync.
func cutAfterCreate() func(string) error {
	cut := false
	return func(string) error {
		if cut {
			return nil
		}
		cut = true
		return errors.New("connection reset after the request was sent (outcome unknown)")
	}
}

// G1 under Jira Cloud's search lag (30 s here): after a create of unknown
// outcome the marker search cannot see the issue yet. vulnsync waits for
// it within its grace, without creating again, and adopts it once search
// shows it: one issue in the end.
func TestSearchLagUnknownCreateLeavesOneIssue(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud, Clock: clock, AfterCreate: cutAfterCreate()})
	s := e.Setup("web")
	e.Sim.SetSearchLag(30 * time.Second)
	vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Stored XSS", "severity": "high"})
	for range 8 { // 40 s of retries and snoozes, 5 s apart
		e.Sync()
		clock.Advance(5 * time.Second)
	}
	e.Sync()
	if keys := issuesNow(t, e); len(keys) != 1 {
		t.Fatalf("issues after a create of unknown outcome under 30 s of search lag: %v, want one", keys)
	}
	key := jiraKey(t, e, vuln.ID)
	if keys := issuesNow(t, e); keys[0] != key {
		t.Fatalf("the item is linked to %s, Jira has %v", key, keys)
	}
	if n := countEvents(t, e, s.IntegrationID, "create"); n != 1 {
		t.Fatalf("create calls: %d, want 1", n)
	}
}

// When the lag outlasts the grace (10 s against 30 s here), vulnsync
// creates a second issue; reconciliation then finds the first one by its
// marker, keeps the linked issue, resolves the other as a duplicate with a
// comment naming the one kept, removes its marker and logs it.
func TestSearchLagDuplicateIsResolvedByReconciliation(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud, Clock: clock, AfterCreate: cutAfterCreate(), CreateGrace: 10 * time.Second})
	s := e.Setup("web")
	e.Sim.SetSearchLag(30 * time.Second)
	vuln := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Stored XSS", "severity": "high"})
	for range 4 {
		e.Sync()
		clock.Advance(5 * time.Second)
	}
	e.Sync()
	keys := issuesNow(t, e)
	if len(keys) != 2 {
		t.Fatalf("issues: %v; this test needs the lag to outlast the grace and make a duplicate", keys)
	}
	kept := jiraKey(t, e, vuln.ID)
	dup := keys[0]
	if dup == kept {
		dup = keys[1]
	}

	clock.Advance(6 * time.Minute) // the next reconciliation is due
	e.Sync()

	var is struct {
		Fields struct {
			Labels     []string
			Status     struct{ StatusCategory struct{ Key string } } `json:"status"`
			Resolution *struct{ Name string }                        `json:"resolution"`
			Comment    struct {
				Comments []struct{ Body any } `json:"comments"`
			} `json:"comment"`
		} `json:"fields"`
	}
	if st := e.Jira("admin", "GET", "/rest/api/2/issue/"+dup+"?fields=labels,status,resolution,comment", nil, &is); st != 200 {
		t.Fatalf("read %s: %d", dup, st)
	}
	if is.Fields.Status.StatusCategory.Key != "done" || is.Fields.Resolution == nil || is.Fields.Resolution.Name != "Duplicate" {
		t.Errorf("duplicate %s: status category %q, resolution %+v; want done, Duplicate", dup, is.Fields.Status.StatusCategory.Key, is.Fields.Resolution)
	}
	for _, l := range is.Fields.Labels {
		if strings.HasPrefix(l, "vulnsync-") {
			t.Errorf("duplicate %s still carries the marker %s", dup, l)
		}
	}
	named := false
	for _, c := range is.Fields.Comment.Comments {
		named = named || strings.Contains(toString(c.Body), kept)
	}
	if !named {
		t.Errorf("no comment on %s names the issue kept (%s)", dup, kept)
	}
	if got := jiraKey(t, e, vuln.ID); got != kept {
		t.Errorf("the item moved from %s to %s", kept, got)
	}
	if n := countEvents(t, e, s.IntegrationID, "resolve_duplicate"); n == 0 {
		t.Error("the sync log does not record the duplicate")
	}
	// A second reconciliation leaves everything as it is.
	clock.Advance(6 * time.Minute)
	e.Sync()
	if n := countEvents(t, e, s.IntegrationID, "resolve_duplicate"); n != 3 { // the first run: its comment, its marker removal, its summary
		t.Errorf("resolve_duplicate entries after a second reconciliation: %d, want the 3 of the first", n)
	}
}

func countEvents(t *testing.T, e *apptest.Env, integrationID, action string) int {
	t.Helper()
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/integrations/"+integrationID+"/events?limit=1000", nil, &evs)
	n := 0
	for _, ev := range evs.Events {
		if ev["action"] == action {
			n++
		}
	}
	return n
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
