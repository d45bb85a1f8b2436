package jirasync_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// A Jira node whose clock jumps to the year 2100 makes one edit; its
// delivery (signed, so believed) carries that time. Before times were
// bounded, that poisoned the field's watermark: every later real edit was
// "not newer" and was dropped for good. Now the future time counts as the
// time the delivery arrived, so the next real edit wins; and reconciliation
// (changelog times of 2100 too) does not poison it either.
func TestAFutureJiraTimeDoesNotPoisonTheWatermark(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	var skew atomic.Int64
	sim, url := jirasim.StartTest(t, jirasim.Config{Deployment: "cloud", ManualWebhooks: true, Seed: 1,
		Clock: func() time.Time { return clock.Now().Add(time.Duration(skew.Load())) }})
	e := apptest.New(t, apptest.Options{Clock: clock, Sim: sim, SimURL: url})
	_, it, key := setup(t, e)

	clock.Advance(time.Minute)
	skew.Store(int64(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Sub(clock.Now())))
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 1.0})
	e.Deliver() // due by the fast node's clock
	skew.Store(0)
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 1.0 {
		t.Fatalf("the edit from the fast node: cvss %v, want 1.0 (applied, at the time it arrived)", got.Fields["cvss_score"])
	}
	var raw struct {
		UpdatedAt time.Time `json:"updated_at"`
	}
	e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &raw)
	if raw.UpdatedAt.Year() >= 2100 {
		t.Errorf("the item took Jira's time of the year 2100: updated_at %v", raw.UpdatedAt)
	}

	clock.Advance(time.Minute)
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 9.0})
	e.Deliver()
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 9.0 {
		t.Fatalf("a real edit after the future-dated one: cvss %v, want 9.0", got.Fields["cvss_score"])
	}

	// Reconciliation reads the changelog, where the 2100 entry still is;
	// the value stays what Jira holds now.
	clock.Advance(10 * time.Minute)
	e.Sync()
	if got := getItem(t, e, it.ID); got.Fields["cvss_score"] != 9.0 {
		t.Fatalf("after reconciliation: cvss %v, want 9.0", got.Fields["cvss_score"])
	}
	// And vulnsync's own later edit still reaches Jira.
	clock.Advance(time.Minute)
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"cvss_score": 4.2}}, nil)
	e.Sync()
	if is := readIssue(t, e, key); is.Fields.CVSS == nil || *is.Fields.CVSS != 4.2 {
		t.Fatalf("vulnsync's edit after the future-dated one: Jira CVSS %v, want 4.2", deref(is.Fields.CVSS))
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// A person's edit in Jira that Jira timed a moment before our own write of
// the same field was recorded (Jira's clock a little behind ours, or our
// write timed when its answer came back) looked older than our write, by
// the webhook: the sides differ until a reconciliation, which reads what
// Jira holds now and brings the newest change (here vulnsync's, by the
// clocks) to both sides.
func TestAJiraValueTimedBeforeOurWriteStillConverges(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	var skew atomic.Int64
	sim, url := jirasim.StartTest(t, jirasim.Config{Deployment: "cloud", ManualWebhooks: true, Seed: 1,
		Clock: func() time.Time { return clock.Now().Add(time.Duration(skew.Load())) }})
	e := apptest.New(t, apptest.Options{Clock: clock, Sim: sim, SimURL: url})
	_, it, key := setup(t, e)

	clock.Advance(time.Minute)
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"cvss_score": 5.0}}, nil)
	e.Sync()
	skew.Store(int64(-3 * time.Second)) // Jira's clock 3 s behind
	jiraEdit(t, e, key, map[string]any{"customfield_10050": 7.0})
	e.Deliver()
	e.Sync()
	skew.Store(0)
	clock.Advance(10 * time.Minute) // reconciliation is due
	e.Sync()
	got := getItem(t, e, it.ID).Fields["cvss_score"]
	is := readIssue(t, e, key)
	if is.Fields.CVSS == nil || got != *is.Fields.CVSS {
		t.Fatalf("after reconciliation: vulnsync cvss %v, Jira %v, want the same on both sides", got, deref(is.Fields.CVSS))
	}
}
