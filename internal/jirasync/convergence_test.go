package jirasync_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

var seeds = flag.Int("seeds", 200, "seeds of the randomized convergence test")

// People edit the same items on both sides while the simulator drops 20 %
// of webhooks, duplicates 10 % and reorders the rest; after reconciliation
// both sides agree with what the mapping says they should be. Time is the
// test's clock: nothing waits.
func TestRandomizedConvergence(t *testing.T) {
	n := *seeds
	if testing.Short() {
		n = 20
	}
	for seed := 1; seed <= n; seed++ {
		dep := deployments[seed%len(deployments)]
		t.Run(fmt.Sprintf("seed%03d-%s", seed, dep), func(t *testing.T) {
			t.Parallel()
			convergeSeed(t, uint64(seed), dep)
		})
	}
}

var (
	statuses   = []string{"open", "in_progress", "resolved", "accepted_risk", "false_positive"}
	severities = []string{"critical", "high", "medium", "low", "info"}
	priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
	labelPool  = []string{"pci", "gdpr", "web", "api", "triaged", "regression"}
)

func pickLabels(rng *rand.Rand) []string {
	var out []string
	for _, l := range labelPool {
		if rng.IntN(3) == 0 {
			out = append(out, l)
		}
	}
	return out
}

func convergeSeed(t *testing.T, seed uint64, dep jirasim.Profile) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	clock := apptest.NewClock(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock})
	s := e.Setup("target")
	var items []fullItem
	var keys []string
	for i := 0; i < 2; i++ {
		it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": fmt.Sprintf("Vuln %d", i), "severity": "medium",
			"fields": map[string]any{"cvss_score": 5.0, "asset_id": "host-1", "labels": []string{"web"}}})
		items = append(items, fullItem{ID: it.ID})
	}
	e.Sync()
	for _, it := range items {
		keys = append(keys, jiraKey(t, e, it.ID))
	}
	e.Deliver()
	e.Sync()
	e.Sim.SetFaults(jirasim.Faults{WebhookDrop: 0.2, WebhookDuplicate: 0.1, WebhookReorder: 1})
	devComments := 0
	v := "/rest/api/" + e.APIVersion() + "/issue/"
	for step := 0; step < 14; step++ {
		i := rng.IntN(len(items))
		id, key := items[i].ID, keys[i]
		clock.Advance(time.Duration(1+rng.IntN(20)) * time.Second)
		switch rng.IntN(10) {
		case 0:
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"status": statuses[rng.IntN(len(statuses))]}, nil)
		case 1:
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"severity": severities[rng.IntN(len(severities))]}, nil)
		case 2:
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"fields": map[string]any{"cvss_score": float64(rng.IntN(100)) / 10, "labels": pickLabels(rng)}}, nil)
		case 3:
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"fields": map[string]any{"asset_id": fmt.Sprintf("host-%d", rng.IntN(9))}}, nil)
		case 4:
			var ts struct {
				Transitions []struct{ ID string } `json:"transitions"`
			}
			e.Jira("dev", "GET", v+key+"/transitions", nil, &ts)
			if len(ts.Transitions) > 0 {
				tr := ts.Transitions[rng.IntN(len(ts.Transitions))]
				e.Jira("dev", "POST", v+key+"/transitions", map[string]any{"transition": map[string]any{"id": tr.ID}}, nil)
			}
		case 5:
			jiraEdit(t, e, key, map[string]any{"priority": map[string]any{"name": priorities[rng.IntN(len(priorities))]}})
		case 6:
			jiraEdit(t, e, key, map[string]any{"customfield_10050": float64(rng.IntN(100)) / 10, "labels": append(pickLabels(rng), "vulnsync-"+id)})
		case 7:
			jiraEdit(t, e, key, map[string]any{"customfield_10051": fmt.Sprintf("jira-host-%d", rng.IntN(9))})
		case 8:
			jiraComment(t, e, key, fmt.Sprintf("note %d from Jira", step))
			devComments++
		case 9:
			e.Must(201, "POST", "/api/v1/items/"+id+"/comments", map[string]any{"body": fmt.Sprintf("note %d from vulnsync", step)}, nil)
		}
		switch rng.IntN(3) {
		case 0:
			e.Deliver()
		case 1:
			e.Sync()
		}
	}
	// Let everything settle: deliveries (still faulty), sync, and
	// reconciliation rounds.
	for round := 0; round < 4; round++ {
		e.Deliver()
		e.Sync()
		clock.Advance(6 * time.Minute)
		e.Sync()
	}
	e.Sim.SetFaults(jirasim.Faults{})
	if pending := jobsIn(t, e, "pending"); len(pending) > 0 {
		clock.Advance(time.Minute)
		e.Sync()
	}
	if failed := jobsIn(t, e, "failed"); len(failed) > 0 {
		t.Fatalf("work failed for good: %+v", failed)
	}
	totalJira := 0
	for i, it := range items {
		got := getItem(t, e, it.ID)
		is := readIssue(t, e, keys[i])
		if jiraStatus := is.Fields.Status.Name; !statusAgrees(got.Status, jiraStatus) {
			t.Errorf("%s: vulnsync status %s, Jira %s", keys[i], got.Status, jiraStatus)
		}
		if want := map[string]string{"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}[got.Severity]; is.Fields.Priority.Name != want {
			t.Errorf("%s: severity %s, Jira priority %s", keys[i], got.Severity, is.Fields.Priority.Name)
		}
		if is.Fields.CVSS == nil || got.Fields["cvss_score"] != *is.Fields.CVSS {
			t.Errorf("%s: cvss vulnsync %v, Jira %v", keys[i], got.Fields["cvss_score"], deref(is.Fields.CVSS))
		}
		if is.Fields.AssetID == nil || got.Fields["asset_id"] != *is.Fields.AssetID || strings.HasPrefix(*is.Fields.AssetID, "jira-") {
			t.Errorf("%s: asset_id (locked to vulnsync) vulnsync %v, Jira %v", keys[i], got.Fields["asset_id"], is.Fields.AssetID)
		}
		if a, b := labelSet(got.Fields["labels"]), labelSet(is.Fields.Labels); a != b {
			t.Errorf("%s: labels vulnsync %s, Jira %s", keys[i], a, b)
		}
		if is.Fields.Summary != got.Title {
			t.Errorf("%s: summary %q, title %q", keys[i], is.Fields.Summary, got.Title)
		}
		for _, c := range comments(t, e, it.ID) {
			if c["origin"] == "jira" && strings.Contains(c["body"].(string), "from Jira") {
				totalJira++
			}
		}
	}
	if totalJira != devComments {
		t.Errorf("Jira comments mirrored: %d, made in Jira: %d", totalJira, devComments)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// statusAgrees: Jira's status maps back to the item's, or the item's maps
// to Jira's (several vulnsync statuses may share one Jira status).
func statusAgrees(item, jira string) bool {
	to := map[string]string{"open": "To Do", "in_progress": "In Progress", "resolved": "Done", "accepted_risk": "Won't Do", "false_positive": "Won't Do"}
	from := map[string]string{"To Do": "open", "In Progress": "in_progress", "Done": "resolved", "Won't Do": "accepted_risk"}
	return to[item] == jira || from[jira] == item
}

func labelSet(v any) string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, e.(string))
		}
	case []string:
		out = append(out, x...)
	}
	var keep []string
	for _, l := range out {
		if !strings.HasPrefix(l, "vulnsync-") && l != "triaged-by-jira" {
			keep = append(keep, l)
		}
	}
	sort.Strings(keep)
	return strings.Join(keep, ",")
}
