package jirasync_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

var (
	seeds      = flag.Int("seeds", 60, "seeds of the randomized convergence test")
	traceSeeds = flag.Bool("convergence-trace", false, "log every step of the randomized convergence test's schedules")
)

// People edit the same items on both sides while the simulator drops 20 %
// of webhooks, duplicates 10 %, delays them and reorders the rest, and
// vulnsync crashes and restarts between steps; after reconciliation each
// side holds what the policy says it should: an oracle, fed by the model
// of the schedule, computes every field's expected final value (direction,
// newest change wins, locks, the status and priority mappings) and both
// sides are checked against it, not just against each other. Time is the
// test's clock: nothing waits.
func TestRandomizedConvergence(t *testing.T) {
	n := *seeds
	if testing.Short() {
		n = 20
	}
	for seed := 1; seed <= n; seed++ {
		dep := deployments[seed%len(deployments)]
		t.Run(fmt.Sprintf("seed%04d-%s", seed, dep), func(t *testing.T) {
			t.Parallel()
			res := convergeSeed(t, uint64(seed), dep, false)
			for _, m := range res.mismatches {
				t.Error(m)
			}
		})
	}
}

// The oracle must reject a broken policy that the old check ("both sides
// agree") accepted: with vulnsync winning every conflict, the sides still
// agree, but on the wrong values. The switch is per engine (see
// jirasync.BreakConflictPolicy), so these seeds may run in parallel with
// anything.
func TestConvergenceOracleCatchesBrokenPolicy(t *testing.T) {
	var mu sync.Mutex
	caught, onlyByOracle := 0, 0
	t.Run("seeds", func(t *testing.T) {
		for seed := 1; seed <= 12; seed++ {
			dep := deployments[seed%len(deployments)]
			t.Run(fmt.Sprintf("seed%04d-%s", seed, dep), func(t *testing.T) {
				t.Parallel()
				res := convergeSeed(t, uint64(seed), dep, true)
				mu.Lock()
				defer mu.Unlock()
				if len(res.mismatches) > 0 {
					caught++
					if len(res.disagreements) == 0 {
						onlyByOracle++
					}
					t.Logf("caught: %s", res.mismatches[0])
				}
			})
		}
	})
	if caught == 0 {
		t.Errorf("the oracle found nothing wrong with a sync in which vulnsync always wins, over 12 seeds")
	}
	if onlyByOracle == 0 {
		t.Errorf("no seed where the sides agreed yet the oracle caught the broken policy (caught in %d seeds): the oracle adds nothing to the agreement check", caught)
	}
}

// Sides of a change.
const (
	sideVulnsync = "vulnsync"
	sideJira     = "jira"
)

// change is one person's change of a field on one side. The clock advances
// at least a second before every step and a step makes one change, so the
// times of a schedule's changes are strictly ordered.
type change struct {
	at    time.Time
	side  string
	value string // status: a vulnsync status or a Jira status name; severity: a severity or a Jira priority
}

// itemModel is what the schedule did to one item: the changes of every
// field it touches, and the comments made on either side.
type itemModel struct {
	id, key string
	// changes by vulnsync field name ("status", "severity", "title",
	// "cvss_score", "asset_id", "labels").
	changes  map[string][]change
	comments []string // the marker of each comment made, on either side
}

func (m *itemModel) record(field, side, value string, at time.Time) {
	m.changes[field] = append(m.changes[field], change{at: at, side: side, value: value})
}

// newest returns the newest change (of one side when side is not empty).
func newest(cs []change, side string) (change, bool) {
	var out change
	found := false
	for _, c := range cs {
		if (side == "" || c.side == side) && (!found || c.at.After(out.at)) {
			out, found = c, true
		}
	}
	return out, found
}

// expected is the oracle: the value each side must end with for one field
// of one item, under the mapping document. For a mapped field: to_jira
// takes vulnsync's newest change, from_jira Jira's, both the newest of
// either side unless locked to one side. Status and severity are two-way,
// newest change wins, translated through the mapping: a vulnsync status v
// shows in Jira as status_to_jira[v] (fixed, unmapped, as resolved's), a
// Jira status S in vulnsync as status_from_jira[S], except that a person's
// move into a status meaning resolved gives fixed (awaiting retest) unless
// done_means says resolved. An error means the schedule made a case the
// model cannot predict (the schedule must avoid it).
func expected(doc *mapping.Document, field string, cs []change) (vulnsync, jira string, err error) {
	if len(cs) == 0 {
		return "", "", fmt.Errorf("%s: no change recorded, not even the initial value", field)
	}
	switch field {
	case "status":
		c, _ := newest(cs, "")
		if c.side == sideVulnsync {
			return c.value, doc.JiraStatus(tracker.Status(c.value)), nil
		}
		if _, ok := doc.StatusFromJira[c.value]; !ok {
			return "", "", fmt.Errorf("status: Jira status %q is not mapped by name", c.value)
		}
		v, _ := doc.StatusFromJiraName(c.value, "")
		return string(v), c.value, nil
	case "severity":
		c, _ := newest(cs, "")
		if c.side == sideVulnsync {
			return c.value, doc.Priority[tracker.Severity(c.value)], nil
		}
		for sev, p := range doc.Priority {
			if p == c.value {
				return string(sev), c.value, nil
			}
		}
		return "", "", fmt.Errorf("severity: Jira priority %q maps to no severity", c.value)
	}
	var f *mapping.Field
	for i := range doc.Fields {
		if doc.Fields[i].Vulnsync == field {
			f = &doc.Fields[i]
		}
	}
	if f == nil {
		return "", "", fmt.Errorf("%s is not mapped", field)
	}
	wins := ""
	switch {
	case f.Direction == mapping.ToJira || f.Locked == mapping.LockVulnsync:
		wins = sideVulnsync
	case f.Direction == mapping.FromJira || f.Locked == mapping.LockJira:
		wins = sideJira
	}
	c, ok := newest(cs, wins)
	if !ok {
		return "", "", fmt.Errorf("%s: no change by %s", field, wins)
	}
	if f.Direction == mapping.ToJira {
		// Jira's own edits of a to_jira field are not undone until vulnsync
		// changes the field again: the schedule ends with such a change.
		if j, ok := newest(cs, sideJira); ok && j.at.After(c.at) {
			return "", "", fmt.Errorf("%s: Jira's edit at %s came after vulnsync's last change", field, j.at.Format(time.TimeOnly))
		}
	}
	return c.value, c.value, nil
}

// convergence is the outcome of one seed: the oracle's mismatches, and the
// disagreements between the two sides (the old, weaker check).
type convergence struct {
	mismatches    []string
	disagreements []string
}

var (
	statuses   = []string{"open", "in_progress", "resolved", "accepted_risk", "false_positive", "fixed"}
	severities = []string{"critical", "high", "medium", "low", "info"}
	priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
	labelPool  = []string{"pci", "gdpr", "web", "api", "triaged", "regression"}
)

// pickLabels draws a label set; unique (a label made of it) makes every
// change of the field a real change.
func pickLabels(rng *rand.Rand, unique string) []string {
	out := []string{unique}
	for _, l := range labelPool {
		if rng.IntN(3) == 0 {
			out = append(out, l)
		}
	}
	return out
}

func joinLabels(ls []string) string {
	out := slices.Clone(ls)
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Operations of a schedule's step.
const (
	opVulnsyncStatus = iota
	opVulnsyncSeverity
	opVulnsyncFields // cvss_score and labels
	opVulnsyncAsset
	opVulnsyncTitle
	opVulnsyncComment
	opJiraTransition
	opJiraPriority
	opJiraFields // customfield_10050 and labels
	opJiraAsset
	opJiraSummary
	opJiraComment
	numOps
)

const convergenceSteps = 16

// validatedSeeds is how many seeds validate their traffic.
const validatedSeeds = 30

// convergeSeed runs one seed's schedule and checks the end state against
// the oracle. broken runs it on an engine whose conflict policy is broken
// (vulnsync always wins), to show the oracle catches it.
func convergeSeed(t *testing.T, seed uint64, dep jirasim.Profile, broken bool) convergence {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var doc mapping.Document
	if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
		t.Fatal(err)
	}
	clock := apptest.NewClock(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC))
	// The first seeds check every exchange against the OpenAPI documents;
	// the many more that CI runs skip it, as it would be most of their cost.
	e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock, Unvalidated: seed > validatedSeeds})
	breakPolicy := func() {
		if broken {
			jirasync.BreakConflictPolicy(e.Engine)
		}
	}
	breakPolicy()
	trace := func(format string, args ...any) {
		if *traceSeeds {
			t.Logf(format, args...)
		}
	}
	restart := func() {
		trace("restart")
		e.Restart()
		breakPolicy()
	}
	s := e.Setup("target")
	// Won't Do applies at once here: the model has no pending acceptances
	// (TestJiraWontDoOpensAPendingAcceptance covers them).
	doc.AcceptFromJira = mapping.AcceptFromJiraApply
	e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", doc, nil)
	var items []*itemModel
	for i := 0; i < 2; i++ {
		title := fmt.Sprintf("Vuln %d", i)
		it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": title, "severity": "medium",
			"fields": map[string]any{"cvss_score": 9.9, "asset_id": "host-1", "labels": []string{"web"}}})
		m := &itemModel{id: it.ID, changes: map[string][]change{}}
		now := clock.Now()
		for field, v := range map[string]string{"status": "open", "severity": "medium", "title": title, "cvss_score": "9.9", "asset_id": "host-1", "labels": "web"} {
			m.record(field, sideVulnsync, v, now)
		}
		items = append(items, m)
	}
	e.Sync()
	for _, m := range items {
		m.key = jiraKey(t, e, m.id)
	}
	e.Deliver()
	e.Sync()
	// Delay: every delivery is held back by the simulator for a while of
	// the test's clock, so it arrives some steps later, among others.
	delay := []int{0, 15_000, 45_000}[rng.IntN(3)]
	e.Sim.SetFaults(jirasim.Faults{WebhookDrop: 0.2, WebhookDuplicate: 0.1, WebhookReorder: 1, WebhookDelayMS: delay})
	for step := 0; step < convergenceSteps; step++ {
		m := items[rng.IntN(len(items))]
		id, key := m.id, m.key
		clock.Advance(time.Duration(1+rng.IntN(20)) * time.Second)
		now := clock.Now()
		op := rng.IntN(numOps)
		trace("step %d at %s: op %d on %s", step, now.Format(time.TimeOnly), op, key)
		switch op {
		case opVulnsyncStatus:
			cur := getItem(t, e, id).Status
			st := pickOther(rng, statuses, cur)
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"status": st}, nil)
			m.record("status", sideVulnsync, st, now)
		case opVulnsyncSeverity:
			cur := getItem(t, e, id).Severity
			sev := pickOther(rng, severities, cur)
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"severity": sev}, nil)
			m.record("severity", sideVulnsync, sev, now)
		case opVulnsyncFields:
			cvss, labels := float64(2*step)/10, pickLabels(rng, fmt.Sprintf("v%02d", step))
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"fields": map[string]any{"cvss_score": cvss, "labels": labels}}, nil)
			m.record("cvss_score", sideVulnsync, fmt.Sprint(cvss), now)
			m.record("labels", sideVulnsync, joinLabels(labels), now)
		case opVulnsyncAsset:
			asset := fmt.Sprintf("host-v%02d", step)
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"fields": map[string]any{"asset_id": asset}}, nil)
			m.record("asset_id", sideVulnsync, asset, now)
		case opVulnsyncTitle:
			title := fmt.Sprintf("Vuln retitled at step %d", step)
			e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"title": title}, nil)
			m.record("title", sideVulnsync, title, now)
		case opVulnsyncComment:
			note := fmt.Sprintf("note%02d from vulnsync", step)
			e.Must(201, "POST", "/api/v1/items/"+id+"/comments", map[string]any{"body": note}, nil)
			m.comments = append(m.comments, note)
		case opJiraTransition:
			if to, ok := jiraTransitionAny(t, e, rng, key); ok {
				m.record("status", sideJira, to, now)
			}
		case opJiraPriority:
			cur := readIssue(t, e, key).Fields.Priority.Name
			p := pickOther(rng, priorities, cur)
			jiraEdit(t, e, key, map[string]any{"priority": map[string]any{"name": p}})
			m.record("severity", sideJira, p, now)
		case opJiraFields:
			cvss, labels := float64(2*step+1)/10, pickLabels(rng, fmt.Sprintf("j%02d", step))
			jiraEdit(t, e, key, map[string]any{"customfield_10050": cvss, "labels": append(slices.Clone(labels), "vulnsync-"+id)})
			m.record("cvss_score", sideJira, fmt.Sprint(cvss), now)
			m.record("labels", sideJira, joinLabels(labels), now)
		case opJiraAsset:
			asset := fmt.Sprintf("jira-host-%02d", step)
			jiraEdit(t, e, key, map[string]any{"customfield_10051": asset})
			m.record("asset_id", sideJira, asset, now)
		case opJiraSummary:
			summary := fmt.Sprintf("Renamed in Jira at step %d", step)
			jiraEdit(t, e, key, map[string]any{"summary": summary})
			m.record("title", sideJira, summary, now)
		case opJiraComment:
			note := fmt.Sprintf("note%02d from Jira", step)
			jiraComment(t, e, key, note)
			m.comments = append(m.comments, note)
		}
		if op < opJiraTransition {
			// vulnsync's runner works a change at once: its push is not
			// left waiting while Jira changes the same field (see the
			// decision "Convergence oracle").
			e.Sync()
		}
		switch rng.IntN(4) {
		case 0:
			trace("deliver %d", e.Deliver())
		case 1:
			trace("sync %d", e.Sync())
		case 2:
			trace("deliver %d", e.Deliver())
			trace("sync %d", e.Sync())
		}
		if rng.IntN(8) == 0 {
			restart()
		}
	}
	// A title renamed in Jira stays so until vulnsync changes it again
	// (title flows to Jira only): the schedule ends with that change, so
	// the oracle can say what the summary must be.
	for _, m := range items {
		vs, _ := newest(m.changes["title"], sideVulnsync)
		if j, ok := newest(m.changes["title"], sideJira); ok && j.at.After(vs.at) {
			clock.Advance(time.Second)
			title := fmt.Sprintf("Vuln retitled after Jira's rename at %s", j.at.Format(time.TimeOnly))
			e.Must(200, "PATCH", "/api/v1/items/"+m.id, map[string]any{"title": title}, nil)
			m.record("title", sideVulnsync, title, clock.Now())
			e.Sync()
		}
	}
	// Let everything settle: deliveries (still faulty), sync, and
	// reconciliation rounds, with one more crash among them.
	for round := 0; round < 4; round++ {
		e.Deliver()
		e.Sync()
		clock.Advance(6 * time.Minute)
		e.Sync()
		if round == 1 && rng.IntN(2) == 0 {
			restart()
		}
	}
	e.Sim.SetFaults(jirasim.Faults{})
	if pending := jobsIn(t, e, "pending"); len(pending) > 0 {
		clock.Advance(time.Minute)
		e.Sync()
	}
	if failed := jobsIn(t, e, "failed"); len(failed) > 0 {
		t.Fatalf("work failed for good: %+v", failed)
	}
	var res convergence
	if *traceSeeds {
		for _, m := range items {
			var evs struct {
				Events []map[string]any `json:"events"`
			}
			e.Must(200, "GET", "/api/v1/items/"+m.id+"/events", nil, &evs)
			var hist struct {
				Changelog struct {
					Histories []struct {
						Created string
						Author  struct{ DisplayName string }
						Items   []struct{ Field, FromString, ToString string }
					}
				}
			}
			e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+m.key+"?expand=changelog", nil, &hist)
			for _, h := range hist.Changelog.Histories {
				for _, c := range h.Items {
					trace("%s history %s by %s: %s %q → %q", m.key, h.Created, h.Author.DisplayName, c.Field, c.FromString, c.ToString)
				}
			}
			for i := len(evs.Events) - 1; i >= 0; i-- {
				ev := evs.Events[i]
				trace("%s %v %v %v %v %v %v", m.key, ev["at"], ev["direction"], ev["action"], ev["jira_call"], ev["result"], ev["error"])
			}
		}
	}
	for _, m := range items {
		ms, ds := checkItem(t, e, &doc, m)
		res.mismatches = append(res.mismatches, ms...)
		res.disagreements = append(res.disagreements, ds...)
	}
	return res
}

// pickOther draws a value other than cur.
func pickOther(rng *rand.Rand, from []string, cur string) string {
	var others []string
	for _, v := range from {
		if v != cur {
			others = append(others, v)
		}
	}
	return others[rng.IntN(len(others))]
}

// jiraTransitionAny takes, as dev, one of the transitions the issue offers
// (each leads to another status), with the resolution its screen may
// require; it returns the status reached.
func jiraTransitionAny(t *testing.T, e *apptest.Env, rng *rand.Rand, key string) (string, bool) {
	t.Helper()
	var ts struct {
		Transitions []struct {
			ID     string
			To     struct{ Name string } `json:"to"`
			Fields map[string]struct {
				Required bool `json:"required"`
			} `json:"fields"`
		} `json:"transitions"`
	}
	e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions?expand=transitions.fields", nil, &ts)
	if len(ts.Transitions) == 0 {
		return "", false
	}
	tr := ts.Transitions[rng.IntN(len(ts.Transitions))]
	body := map[string]any{"transition": map[string]any{"id": tr.ID}}
	if tr.Fields["resolution"].Required {
		body["fields"] = map[string]any{"resolution": map[string]any{"name": "Done"}}
	}
	if st := e.Jira("dev", "POST", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions", body, nil); st != 204 {
		t.Fatalf("transition %s to %s: %d", key, tr.To.Name, st)
	}
	return tr.To.Name, true
}

// jiraComments reads the bodies of an issue's comments (raw: ADF or wiki).
func jiraComments(t *testing.T, e *apptest.Env, key string) []string {
	t.Helper()
	var page struct {
		Total    int `json:"total"`
		Comments []struct {
			Body json.RawMessage `json:"body"`
		} `json:"comments"`
	}
	if st := e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment?maxResults=1000", nil, &page); st != 200 {
		t.Fatalf("comments of %s: %d", key, st)
	}
	if page.Total > len(page.Comments) {
		t.Fatalf("comments of %s: %d of %d on one page", key, len(page.Comments), page.Total)
	}
	out := make([]string, len(page.Comments))
	for i, c := range page.Comments {
		out[i] = string(c.Body)
	}
	return out
}

// checkItem reads both sides of one item and compares each with the
// oracle; it also reports where the sides disagree with each other.
func checkItem(t *testing.T, e *apptest.Env, doc *mapping.Document, m *itemModel) (mismatches, disagreements []string) {
	t.Helper()
	got := getItem(t, e, m.id)
	is := readIssue(t, e, m.key)
	asset := ""
	if is.Fields.AssetID != nil {
		asset = *is.Fields.AssetID
	}
	cvss := "<none>"
	if is.Fields.CVSS != nil {
		cvss = fmt.Sprint(*is.Fields.CVSS)
	}
	actual := map[string][2]string{ // field → {vulnsync, Jira}
		"status":     {got.Status, is.Fields.Status.Name},
		"severity":   {got.Severity, is.Fields.Priority.Name},
		"title":      {got.Title, is.Fields.Summary},
		"cvss_score": {fmt.Sprint(got.Fields["cvss_score"]), cvss},
		"asset_id":   {fmt.Sprint(got.Fields["asset_id"]), asset},
		"labels":     {labelSet(got.Fields["labels"]), labelSet(is.Fields.Labels)},
	}
	fields := make([]string, 0, len(actual))
	for f := range actual {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		wantV, wantJ, err := expected(doc, f, m.changes[f])
		if err != nil {
			t.Fatalf("%s: the oracle cannot predict: %v", m.key, err)
		}
		a := actual[f]
		if a[0] != wantV || a[1] != wantJ {
			mismatches = append(mismatches, fmt.Sprintf("%s %s: vulnsync %q, Jira %q; the policy says %q and %q (changes: %s)", m.key, f, a[0], a[1], wantV, wantJ, describe(m.changes[f])))
		}
		if !agree(doc, f, a[0], a[1]) {
			disagreements = append(disagreements, fmt.Sprintf("%s %s: vulnsync %q, Jira %q", m.key, f, a[0], a[1]))
		}
	}
	var local []string
	for _, c := range comments(t, e, m.id) {
		local = append(local, fmt.Sprint(c["body"]))
	}
	remote := jiraComments(t, e, m.key)
	for _, note := range m.comments {
		for side, bodies := range map[string][]string{sideVulnsync: local, sideJira: remote} {
			n := 0
			for _, b := range bodies {
				if strings.Contains(b, note) {
					n++
				}
			}
			if n != 1 {
				mismatches = append(mismatches, fmt.Sprintf("%s: comment %q appears %d times in %s, want once", m.key, note, n, side))
			}
		}
	}
	return mismatches, disagreements
}

// agree is the old check: the two sides agree under the mapping (several
// vulnsync statuses may share one Jira status).
func agree(doc *mapping.Document, field, vulnsync, jira string) bool {
	switch field {
	case "status":
		back, _ := doc.StatusFromJiraName(jira, "")
		return doc.JiraStatus(tracker.Status(vulnsync)) == jira || string(back) == vulnsync
	case "severity":
		return doc.Priority[tracker.Severity(vulnsync)] == jira
	}
	return vulnsync == jira
}

func describe(cs []change) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s=%s", c.at.Format(time.TimeOnly), c.side, c.value)
	}
	return strings.Join(out, ", ")
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
		if !strings.HasPrefix(l, "vulnsync-") {
			keep = append(keep, l)
		}
	}
	return joinLabels(keep)
}
