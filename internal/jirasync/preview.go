package jirasync

import (
	"context"
	"fmt"
	"strings"

	"encoding/json"
	"github.com/vulnsync/vulnsync/internal/jira"

	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Preview is what the sync would make of one item in Jira under its
// integration's mapping, computed by the same translation the push uses
// (desired, toJira) without writing anything, so an admin can check a
// mapping on a real item before it is applied.
type Preview struct {
	ItemID        string `json:"item_id"`
	IntegrationID string `json:"integration_id"`
	// Action is what the next sync would do: "create" (no issue yet),
	// "update" (linked: only the fields marked changed are sent), "none"
	// (the mapping does not sync this kind, or the link was lost).
	Action    string `json:"action"`
	IssueKey  string `json:"issue_key,omitempty"`
	Project   string `json:"project"`
	IssueType string `json:"issue_type"`
	Summary   string `json:"summary"`
	Priority  string `json:"priority"`
	// SecurityLevel is the issue security level the mapping gives the
	// item's severity ("" when none is set).
	SecurityLevel string `json:"security_level,omitempty"`
	// Fields are the mapped fields sent to Jira, with the JSON value of
	// each as it would be sent.
	Fields []PreviewField `json:"fields"`
	// Status is the Jira status the mapping asks for; Transitions are the
	// transitions that reach it from where the issue stands (or would
	// start), when the workflow's path is known; otherwise TransitionsNote
	// says the path is decided at sync time.
	Status          string   `json:"status"`
	Transitions     []string `json:"transitions"`
	TransitionsNote string   `json:"transitions_note,omitempty"`
}

// PreviewField is one mapped field of a Preview.
type PreviewField struct {
	ID       string `json:"id"`
	Vulnsync string `json:"vulnsync"`
	Value    any    `json:"value"`
	// Changed is true when the value differs from what both sides last
	// agreed on (always true for a create).
	Changed bool   `json:"changed"`
	Note    string `json:"note,omitempty"`
}

// decidedAtSync is the note of a transition path the preview cannot know.
const decidedAtSync = "decided at sync time"

// Preview answers what the Jira issue of an item would be: the same code
// as the push (desired, toJira, initialStatus, the learned workflow graph)
// without any Jira write; at most the connection's metadata is read (and
// cached as the sync would). An item of a target without an integration,
// or with one still needing a mapping, is EUnprocessable.
func (e *Engine) Preview(ctx context.Context, itemID string) (Preview, error) {
	var (
		it      tracker.Item
		in      store.Integration
		link    store.Link
		hasLink bool
	)
	err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		if it, err = tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		in, err = tx.IntegrationByTarget(ctx, it.TargetID)
		if tracker.KindOf(err) == tracker.ENotFound {
			return tracker.Errorf(tracker.EUnprocessable, "the item's target is not integrated with Jira")
		}
		if err != nil {
			return err
		}
		link, err = tx.GetLink(ctx, itemID)
		switch {
		case err == nil:
			hasLink = true
		case tracker.KindOf(err) != tracker.ENotFound:
			return err
		}
		return nil
	})
	if err != nil {
		return Preview{}, fmt.Errorf("preview item %s: %w", itemID, err)
	}
	if len(in.Mapping) == 0 {
		return Preview{}, tracker.Errorf(tracker.EUnprocessable, "the integration has no accepted mapping yet")
	}
	r, err := e.prepare(ctx, in, itemID, 0)
	if err != nil {
		return Preview{}, fmt.Errorf("preview item %s: %w", itemID, err)
	}
	return r.preview(it, link, hasLink), nil
}

// preview computes the Preview of an item from the run's mapping and
// metadata.
func (r *run) preview(it tracker.Item, link store.Link, hasLink bool) Preview {
	want := desired(it, r.doc)
	p := Preview{ItemID: it.ID, IntegrationID: r.in.ID, Project: r.in.ProjectKey, IssueType: r.doc.IssueTypes[it.Kind],
		Summary: it.Title, Priority: want.Priority, SecurityLevel: want.Security, Status: want.Status, Fields: []PreviewField{}, Transitions: []string{}}
	linked := hasLink && link.State == tracker.LinkLinked
	switch {
	case p.IssueType == "" || (hasLink && link.State == tracker.LinkUnlinked):
		p.Action = "none"
	case linked:
		p.Action, p.IssueKey = "update", link.IssueKey
	default:
		p.Action = "create"
	}
	synced := state{Fields: map[string]any{}}
	if linked {
		synced = decodeState(link.Synced)
	}
	for _, f := range r.doc.Fields {
		if !f.ToJira() {
			continue
		}
		v := want.Fields[f.Jira]
		jf := r.jiraField(it.Kind, f.Jira)
		pf := PreviewField{ID: f.Jira, Vulnsync: f.Vulnsync, Changed: !linked || !tracker.Equal(v, synced.Fields[f.Jira])}
		switch {
		case f.Jira == "summary":
			if s, ok := v.(string); ok && s != "" {
				p.Summary = s
			}
			pf.Value = v
		case f.Jira == "labels" && !linked:
			l, _ := v.([]string)
			pf.Value = append(append([]string{}, l...), Marker(it.ID))
			pf.Note = "the marker label finds the issue again after a create of unknown outcome"
		case isUserField(jf):
			pf.Value = v
			if v != nil {
				pf.Note = "the Jira account is looked up by this email at sync time"
			}
		case !linked && v != nil && f.Jira != "description" && !r.onScreen(it.Kind, f.Jira):
			pf.Value = toJira(jf, v)
			pf.Note = "not on the create screen: set by the edit that follows the create"
		default:
			pf.Value = toJira(jf, v)
		}
		p.Fields = append(p.Fields, pf)
	}
	if p.Action == "none" || p.Status == "" {
		return p
	}
	from := r.initialStatus(it.Kind)
	if linked {
		from = synced.Status
	}
	if from == "" {
		p.TransitionsNote = decidedAtSync
		return p
	}
	if linked && synced.Status != "" {
		if st, ok := r.doc.StatusFromJiraName(synced.Status, r.category(it.Kind, synced.Status)); ok && st == it.Status {
			return p // Jira's status already maps back to the item's
		}
	}
	path, ok := r.e.graphs.path(r.in.ProjectKey+"/"+p.IssueType, from, p.Status)
	if !ok {
		p.TransitionsNote = decidedAtSync
		return p
	}
	for _, t := range path {
		p.Transitions = append(p.Transitions, transitionName(t))
	}
	return p
}

// transitionName shows a transition as people see it in Jira.
func transitionName(t jira.Transition) string {
	return strings.TrimSpace(t.Name) + " → " + t.To.Name
}

// BackfillPlan counts what a backfill of an integration would do, without
// doing it: items without an issue it would create, linked items whose
// mapped values differ from what both sides last agreed on (updated), the
// linked ones already in line, and those it leaves alone (kinds the
// mapping does not sync, links lost to a deleted issue).
type BackfillPlan struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
}

// PlanBackfill is the dry run of Backfill: it reads the target's items and
// their links page by page and compares each with the mapping's desired
// state, as pushFields and pushStatus would; no job is queued and Jira is
// not called. Comments and attachments not yet mirrored are not counted.
func (e *Engine) PlanBackfill(ctx context.Context, integrationID string) (BackfillPlan, error) {
	var plan BackfillPlan
	var in store.Integration
	err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		in, err = tx.GetIntegration(ctx, integrationID)
		return err
	})
	if err != nil {
		return plan, fmt.Errorf("plan backfill of %s: %w", integrationID, err)
	}
	if len(in.Mapping) == 0 {
		return plan, tracker.Errorf(tracker.EUnprocessable, "the integration has no accepted mapping yet: set one before backfilling")
	}
	var doc mapping.Document
	if err := json.Unmarshal(in.Mapping, &doc); err != nil {
		return plan, fmt.Errorf("decode the mapping of integration %s: %w", in.ID, err)
	}
	doc.Normalize()
	cursor := ""
	for {
		err := e.st.View(ctx, func(tx store.Tx) error {
			page, err := tx.ListItems(ctx, store.ItemFilter{TargetID: in.TargetID, Cursor: cursor, Limit: store.MaxPageSize})
			if err != nil {
				return err
			}
			ids := make([]string, len(page.Items))
			for i, it := range page.Items {
				ids[i] = it.ID
			}
			links, err := tx.LinksForItems(ctx, ids)
			if err != nil {
				return err
			}
			byItem := map[string]store.Link{}
			for _, l := range links {
				byItem[l.ItemID] = l
			}
			for _, it := range page.Items {
				plan.count(it, byItem, &doc)
			}
			cursor = page.NextCursor
			return nil
		})
		if err != nil {
			return plan, fmt.Errorf("plan backfill of %s: %w", integrationID, err)
		}
		if cursor == "" {
			return plan, nil
		}
	}
}

// count classifies one item of a backfill plan.
func (p *BackfillPlan) count(it tracker.Item, links map[string]store.Link, doc *mapping.Document) {
	if _, mapped := doc.IssueTypes[it.Kind]; !mapped {
		p.Skipped++
		return
	}
	l, ok := links[it.ID]
	switch {
	case !ok || l.State == tracker.LinkCreating || l.State == tracker.LinkRefused:
		p.Create++
		return
	case l.State == tracker.LinkUnlinked:
		p.Skipped++
		return
	}
	synced, want := decodeState(l.Synced), desired(it, doc)
	differs := want.Priority != "" && want.Priority != synced.Priority
	if sev, ok := doc.SeverityOf(synced.Priority); differs && ok && sev == it.Severity {
		differs = false
	}
	if want.Status != "" && !strings.EqualFold(want.Status, synced.Status) {
		if st, ok := doc.StatusFromJiraName(synced.Status, ""); !ok || st != it.Status {
			differs = true
		}
	}
	for id, v := range want.Fields {
		if !tracker.Equal(v, synced.Fields[id]) {
			differs = true
		}
	}
	if differs {
		p.Update++
	} else {
		p.Unchanged++
	}
}
