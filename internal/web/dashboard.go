package web

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The dashboard is the page a security lead opens every morning: what is
// open, where, and whether the Jira sync keeps up. Every number on it comes
// from a bounded read — the store's item counters (a few rows per target),
// the integrations with their counter-based progress, each connection's
// health (indexed) and at most a page of each integration's sync log — so
// it costs the same with ten items or a million.

// dashTarget is a target's row: its items by status and its Jira side.
type dashTarget struct {
	tracker.Target
	Open, InProgress, Resolved, Other int
	ProjectKey                        string
	IntegrationID                     string
	State                             tracker.IntegrationState
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
	ByStatus   template.HTML
	ByKind     template.HTML
	Targets    []dashTarget
	Syncs      []dashSync
	// ShowSync: the Jira side is configured in this process.
	ShowSync bool
}

// unresolved reports whether an item in status s still needs work.
func unresolved(s tracker.Status) bool {
	return s == tracker.StatusOpen || s == tracker.StatusInProgress
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
	for _, t := range ts {
		row := dashTarget{Target: t}
		cs, err := u.svc.TargetItemCounts(ctx, t.ID)
		if err != nil {
			u.renderError(w, r, sv, fmt.Errorf("dashboard: %w", err))
			return
		}
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
	for _, s := range []tracker.Status{tracker.StatusOpen, tracker.StatusInProgress, tracker.StatusResolved, tracker.StatusAcceptedRisk, tracker.StatusFalsePositive} {
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
