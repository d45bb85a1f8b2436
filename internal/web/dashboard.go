package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The dashboard is the page a security lead opens every morning: what is
// open, where, how old, how fast things get resolved, and whether the Jira
// sync keeps up. Every number on it comes from a bounded read — the store's
// item counters and dashboard counters (a few rows per target and day or
// month), a bounded count of overdue items,
// the integrations with their counter-based progress, each connection's
// health (indexed) and at most a page of each integration's sync log — so
// it costs the same with ten items or a million.

// dashTarget is a target's row: its items by status and its Jira side.
type dashTarget struct {
	tracker.Target
	Open, InProgress, Resolved, Other int
	// Overdue counts open items past their due date; OverdueAtLeast says
	// it is a lower bound (service.OverdueScanLimit).
	Overdue        int
	OverdueAtLeast bool
	ProjectKey     string
	IntegrationID  string
	State          tracker.IntegrationState
}

// dashSync is the sync health of one integration.
type dashSync struct {
	IntegrationID  string
	TargetName     string
	ProjectKey     string
	ConnectionName string
	State          tracker.IntegrationState
	// LastWebhookAt is zero when no webhook was ever received (or the
	// connection's health is not available).
	LastWebhookAt time.Time
	// Failures counts the sync log's failures that still stand (a later
	// success of the same action on the same item recovers one), among
	// the newest events the log returns; FailedItems the items whose sync
	// failed for good.
	Failures    int
	FailedItems int
	Queued      int
	// WebhookUnknown and FailuresUnknown are set when the connection's
	// health or the sync log could not be read: shown as such, rather than
	// as a healthy "never" or zero.
	WebhookUnknown  bool
	FailuresUnknown bool
}

type dashboardData struct {
	// Unresolved is open plus in progress, over every target.
	Unresolved int
	// Overdue counts open items past their due date over every target
	// (a lower bound when OverdueAtLeast).
	Overdue        int
	OverdueAtLeast bool
	ByStatus       template.HTML
	ByKind         template.HTML
	BySeverity     template.HTML
	ByAge          template.HTML
	MTTR           template.HTML
	Targets        []dashTarget
	Syncs          []dashSync
	// ShowSync: the Jira side is configured in this process.
	ShowSync bool
}

// unresolved reports whether an item in status s still needs work.
func unresolved(s tracker.Status) bool { return s.IsOpen() }

// mttrMonths is how many months, this one included, the mean time to
// resolve is charted for.
const mttrMonths = 6

// ageBuckets are the age groups of open items, by days since creation
// (an item of age a is in the first bucket whose below exceeds a).
var ageBuckets = []struct {
	label string
	below int
}{
	{"Under a week", 7}, {"1–4 weeks", 28}, {"1–3 months", 91}, {"3–12 months", 365}, {"Over a year", 1 << 30},
}

// trends accumulates the targets' dashboard counters into the severity,
// age and time-to-resolve charts.
type trends struct {
	today       time.Time
	bySeverity  map[tracker.Severity]int
	byAge       []int
	resolved    map[string]int   // month → resolutions
	resolvedSec map[string]int64 // month → seconds they took
}

func newTrends(today time.Time) *trends {
	return &trends{today: today, bySeverity: map[tracker.Severity]int{}, byAge: make([]int, len(ageBuckets)),
		resolved: map[string]int{}, resolvedSec: map[string]int64{}}
}

// since is the first month the time-to-resolve chart shows.
func (tr *trends) since() string {
	return tr.firstMonth().Format("2006-01")
}

func (tr *trends) firstMonth() time.Time {
	y, m, _ := tr.today.Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(mttrMonths - 1), 0)
}

func (tr *trends) add(t service.TargetTrends) {
	for _, o := range t.Open {
		tr.bySeverity[o.Severity] += o.Count
		day, err := time.Parse(time.DateOnly, o.Day)
		if err != nil {
			continue
		}
		age := int(tr.today.Sub(day).Hours() / 24)
		for i, b := range ageBuckets {
			if age < b.below {
				tr.byAge[i] += o.Count
				break
			}
		}
	}
	for _, r := range t.Resolutions {
		tr.resolved[r.Month] += r.Count
		tr.resolvedSec[r.Month] += r.Seconds
	}
}

// charts draws the three charts.
func (tr *trends) charts(d *dashboardData) {
	var sev []bar
	for _, s := range tracker.Severities {
		sev = append(sev, bar{Label: enumLabel(s), Value: tr.bySeverity[s]})
	}
	d.BySeverity = barChart("chart-severity", "Open items by severity", sev)
	var age []bar
	for i, b := range ageBuckets {
		age = append(age, bar{Label: b.label, Value: tr.byAge[i]})
	}
	d.ByAge = barChart("chart-age", "Open items by age", age)
	var mttr []bar
	for m := tr.firstMonth(); !m.After(tr.today); m = m.AddDate(0, 1, 0) {
		key := m.Format("2006-01")
		b := bar{Label: m.Format("Jan 2006"), Text: "none resolved"}
		if n := tr.resolved[key]; n > 0 {
			mean := time.Duration(tr.resolvedSec[key]/int64(n)) * time.Second
			b.Value = max(int(mean/time.Minute), 1)
			b.Text = fmt.Sprintf("%s (%d resolved)", readableSpan(mean), n)
		}
		mttr = append(mttr, b)
	}
	d.MTTR = barChartOf("chart-mttr", "Mean time to resolve, by month resolved", "Mean time", mttr)
}

// readableSpan writes a duration as people say it: minutes, hours or
// days (one decimal under ten days).
func readableSpan(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	case d < 10*24*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// handleDashboard shows the dashboard; see the comment at the top of this
// file for what it reads.
func (u *ui) handleDashboard(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	ts, err := u.svc.ListTargets(ctx)
	if err != nil {
		u.renderError(w, r, sv, fmt.Errorf("dashboard: list targets: %w", err))
		return
	}
	byTarget := u.integrationsByTarget(r)
	d := dashboardData{ShowSync: u.integ != nil}
	byStatus := map[tracker.Status]int{}
	openByKind := map[string]int{}
	tr := newTrends(u.svc.Now().UTC())
	for _, t := range ts {
		row := dashTarget{Target: t}
		cs, err := u.svc.TargetItemCounts(ctx, t.ID)
		if err != nil {
			u.renderError(w, r, sv, fmt.Errorf("dashboard: %w", err))
			return
		}
		trs, err := u.svc.TargetTrends(ctx, t.ID, tr.since())
		if err != nil {
			u.renderError(w, r, sv, fmt.Errorf("dashboard: %w", err))
			return
		}
		tr.add(trs)
		row.Overdue, row.OverdueAtLeast = trs.Overdue, trs.OverdueAtLeast
		d.Overdue += trs.Overdue
		d.OverdueAtLeast = d.OverdueAtLeast || trs.OverdueAtLeast
		for _, c := range cs {
			st := tracker.Status(c.Status)
			byStatus[st] += c.Count
			if unresolved(st) {
				openByKind[c.Kind] += c.Count
				d.Unresolved += c.Count
			}
			switch st {
			case tracker.StatusOpen:
				row.Open += c.Count
			case tracker.StatusInProgress:
				row.InProgress += c.Count
			case tracker.StatusResolved:
				row.Resolved += c.Count
			default:
				row.Other += c.Count
			}
		}
		if v, ok := byTarget[t.ID]; ok {
			row.ProjectKey, row.IntegrationID, row.State = v.ProjectKey, v.ID, v.State
		}
		d.Targets = append(d.Targets, row)
	}

	var statusBars []bar
	for _, s := range []tracker.Status{tracker.StatusOpen, tracker.StatusInProgress, tracker.StatusFixed, tracker.StatusResolved, tracker.StatusAcceptedRisk, tracker.StatusFalsePositive} {
		statusBars = append(statusBars, bar{Label: enumLabel(s), Value: byStatus[s]})
		delete(byStatus, s)
	}
	for _, s := range sortedEnums(byStatus) { // statuses of custom kinds
		statusBars = append(statusBars, bar{Label: enumLabel(s), Value: byStatus[s]})
	}
	d.ByStatus = barChart("chart-status", "Items by status", statusBars)
	var kindBars []bar
	for _, k := range sortedEnums(openByKind) {
		kindBars = append(kindBars, bar{Label: enumLabel(k), Value: openByKind[k]})
	}
	d.ByKind = barChart("chart-kind", "Unresolved items by kind", kindBars)
	tr.charts(&d)

	if u.integ != nil {
		d.Syncs = u.syncHealth(r, byTarget)
	}
	u.render(w, r, sv, http.StatusOK, "dashboard", "Dashboard", "dashboard", d)
}

// syncHealth reads each integration's state, its connection's last webhook
// and its standing failures. A read that fails is logged and its row shown
// as unknown: the rest of the dashboard is still worth seeing.
func (u *ui) syncHealth(r *http.Request, byTarget map[string]integration.View) []dashSync {
	ctx := r.Context()
	lastWebhook := map[string]time.Time{}
	failedHealth := map[string]bool{}
	var out []dashSync
	for _, v := range byTarget {
		s := dashSync{IntegrationID: v.ID, TargetName: v.TargetName, ProjectKey: v.ProjectKey,
			ConnectionName: v.ConnectionName, State: v.State, FailedItems: v.Backfill.Failed,
			Queued: v.Queue.Jobs + v.Queue.Deliveries}
		if u.cfg.ConnectionHealth != nil {
			at, seen := lastWebhook[v.ConnectionID]
			if !seen && !failedHealth[v.ConnectionID] {
				h, err := u.cfg.ConnectionHealth(ctx, v.ConnectionID)
				if err != nil {
					u.log.WarnContext(ctx, "dashboard: connection health", "connection", v.ConnectionID, "err", err)
					failedHealth[v.ConnectionID] = true
				} else {
					at = h.LastWebhookAt
					lastWebhook[v.ConnectionID] = at
				}
			}
			s.LastWebhookAt = at
			s.WebhookUnknown = failedHealth[v.ConnectionID]
		}
		if u.cfg.SyncEvents != nil {
			evs, err := u.cfg.SyncEvents(ctx, v.ID, "")
			if err != nil {
				u.log.WarnContext(ctx, "dashboard: sync log", "integration", v.ID, "err", err)
				s.FailuresUnknown = true
			} else {
				_, s.Failures = readLog(evs)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].TargetName) < strings.ToLower(out[j].TargetName)
	})
	return out
}

// sortedEnums returns m's keys (enum values) in order.
func sortedEnums[K ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// enumLabel turns a stored enum value into words a person reads
// ("accepted_risk" → "Accepted risk", "in_progress" → "In progress"); the
// pages show labels and keep the values for forms and links.
func enumLabel[S ~string](v S) string {
	return sentence(strings.ReplaceAll(string(v), "_", " "))
}

// label is enumLabel for templates, which pass any string-like value.
func label(v any) string {
	return enumLabel(fmt.Sprint(v))
}
