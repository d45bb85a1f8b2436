package jirasync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// createRecheck is how often a create of unknown outcome is searched for
// again while its grace lasts.
const createRecheck = 15 * time.Second

// pausedRecheck is how long a job of a paused integration waits before it
// looks again (Resume wakes it at once).
const pausedRecheck = 10 * time.Minute

// Marker is the label every issue vulnsync creates carries, so that JQL can
// find it again after a create whose outcome is unknown (G1). The entity
// property of the same name holds the item id.
func Marker(itemID string) string { return "vulnsync-" + itemID }

// PropertyKey is the entity property vulnsync sets on its issues and comments.
const PropertyKey = "vulnsync"

// snapshot is what a job reads in one transaction before talking to Jira.
type snapshot struct {
	item      tracker.Item
	deleted   bool
	link      store.Link
	hasLink   bool
	parent    store.Link
	comments  []tracker.Comment
	atts      []tracker.Attachment
	commLinks map[string]store.ObjectLink
	attLinks  map[string]store.ObjectLink
	findings  []tracker.Item // children created since the parent's last sync
	in        store.Integration
	hasInteg  bool
}

func (e *Engine) load(ctx context.Context, itemID string) (snapshot, error) {
	var s snapshot
	err := e.st.View(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		switch {
		case tracker.KindOf(err) == tracker.ENotFound:
			s.deleted = true
		case err != nil:
			return err
		}
		s.item = it
		s.link, err = tx.GetLink(ctx, itemID)
		switch {
		case err == nil:
			s.hasLink = true
		case tracker.KindOf(err) != tracker.ENotFound:
			return err
		}
		if s.deleted {
			if s.hasLink {
				s.in, err = tx.GetIntegration(ctx, s.link.IntegrationID)
				s.hasInteg = err == nil
			}
			return nil
		}
		s.in, err = tx.IntegrationByTarget(ctx, it.TargetID)
		if tracker.KindOf(err) == tracker.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		s.hasInteg = true
		if it.ParentID != "" {
			if s.parent, err = tx.GetLink(ctx, it.ParentID); err != nil && tracker.KindOf(err) != tracker.ENotFound {
				return err
			}
		}
		if s.comments, err = tx.ListComments(ctx, itemID); err != nil {
			return err
		}
		if s.atts, err = tx.ListAttachments(ctx, itemID); err != nil {
			return err
		}
		s.commLinks, s.attLinks = map[string]store.ObjectLink{}, map[string]store.ObjectLink{}
		cl, err := tx.ListObjectLinks(ctx, store.ObjectComment, itemID)
		if err != nil {
			return err
		}
		for _, l := range cl {
			s.commLinks[l.LocalID] = l
		}
		al, err := tx.ListObjectLinks(ctx, store.ObjectAttachment, itemID)
		if err != nil {
			return err
		}
		for _, l := range al {
			s.attLinks[l.LocalID] = l
		}
		if it.Kind == tracker.KindVulnerability {
			page, err := tx.ListItems(ctx, store.ItemFilter{TargetID: it.TargetID, ParentID: it.ID, Limit: store.MaxPageSize})
			if err != nil {
				return err
			}
			for _, ch := range page.Items {
				_, err := tx.ObjectLinkByLocal(ctx, store.ObjectComment, findingEventID(ch.ID))
				switch {
				case tracker.KindOf(err) == tracker.ENotFound:
					s.findings = append(s.findings, ch)
				case err != nil:
					return err
				}
			}
		}
		return nil
	})
	return s, err
}

// workItem is the sync_item job.
func (e *Engine) workItem(ctx context.Context, job store.Job, args syncItem) error {
	s, err := e.load(ctx, args.ItemID)
	if err != nil {
		return err
	}
	if s.hasInteg && s.in.State == tracker.IntegrationPaused {
		// Kept, not done: the job waits without spending an attempt and
		// Resume brings it forward; the deliveries stay queued. The
		// snooze is only the safety net of an interrupted Resume.
		return jobs.Snooze(pausedRecheck, "the integration is paused")
	}
	if !s.hasInteg || s.in.State != tracker.IntegrationActive {
		return nil // not integrated (any more): nothing to do
	}
	r, err := e.prepare(ctx, s.in, args.ItemID, job.ID)
	if err != nil {
		return err
	}
	if s.deleted {
		return r.deleteIssue(ctx, s)
	}
	if _, mapped := r.doc.IssueTypes[s.item.Kind]; !mapped {
		return nil // this kind is not synced
	}
	if err := r.applyDeliveries(ctx, &s); err != nil {
		return err
	}
	if s.hasLink && s.link.State == tracker.LinkUnlinked {
		return nil // the issue was deleted in Jira and the policy is unlink
	}
	if !s.hasLink || s.link.State == tracker.LinkCreating || s.link.State == tracker.LinkRefused {
		created, err := r.ensureIssue(ctx, s)
		if err != nil || !created {
			return err
		}
		if s, err = e.load(ctx, args.ItemID); err != nil {
			return err
		}
	}
	if err := r.pushFields(ctx, &s); err != nil {
		return err
	}
	if err := r.pushStatus(ctx, &s); err != nil {
		return err
	}
	if err := r.pushComments(ctx, s); err != nil {
		return err
	}
	if err := r.pushAttachments(ctx, s); err != nil {
		return err
	}
	if err := r.pushFindingEvents(ctx, s); err != nil {
		return err
	}
	r.observePushed(job)
	return nil
}

// ensureIssue creates the item's issue exactly once. It returns false (and
// no error) when the job should simply end, e.g. when it waits for the
// parent to be created first.
func (r *run) ensureIssue(ctx context.Context, s snapshot) (bool, error) {
	it := s.item
	if it.Kind == tracker.KindFinding && (s.parent.IssueKey == "" || s.parent.State != tracker.LinkLinked) {
		if s.parent.State == tracker.LinkRefused {
			return false, jobs.Permanent(errors.New("the parent vulnerability's issue could not be created (see its sync log); this finding syncs once it exists"))
		}
		// The parent issue must exist first: make sure its job is queued
		// and wait without spending an attempt; the parent's create wakes
		// this job at once (wakeFindings), the snooze is the safety net.
		err := r.e.st.InTx(ctx, func(tx store.Tx) error {
			return jobs.Enqueue(ctx, tx, itemKey(it.ParentID), syncItem{ItemID: it.ParentID}, r.e.now())
		})
		r.e.Notify()
		if err != nil {
			return false, err
		}
		return false, jobs.Snooze(time.Second, "waiting for the parent vulnerability's issue")
	}
	// A create may have happened before a crash or a timeout: look for the
	// marker before creating again.
	if s.hasLink && s.link.State == tracker.LinkCreating {
		found, err := r.findByMarker(ctx, it.ID)
		if err != nil {
			return false, err
		}
		if found != nil {
			return true, r.adopt(ctx, s, found.ID, found.Key, "adopted after an interrupted create")
		}
		if waited := r.e.now().Sub(s.link.UpdatedAt); waited < r.e.cfg.CreateGrace {
			// Jira Cloud's search is eventually consistent: an issue
			// created seconds ago may not be found yet. Wait (without
			// spending an attempt) and search again, every few seconds
			// until the grace ends; reconciliation resolves a duplicate
			// made after a lag longer than the grace.
			return false, jobs.Snooze(min(r.e.cfg.CreateGrace-waited, createRecheck), "a create of unknown outcome may not be searchable yet (Jira's search lags)")
		}
	}
	link := store.Link{ItemID: it.ID, IntegrationID: r.in.ID, State: tracker.LinkCreating, UpdatedAt: r.e.now()}
	linkedMeanwhile := false
	err := r.e.st.InTx(ctx, func(tx store.Tx) error {
		// An admin may have linked an existing issue since the snapshot
		// (LinkIssue): that link stands and its own job syncs it.
		cur, err := tx.GetLink(ctx, it.ID)
		if err == nil && cur.State == tracker.LinkLinked {
			linkedMeanwhile = true
			return nil
		}
		if err != nil && tracker.KindOf(err) != tracker.ENotFound {
			return err
		}
		return tx.UpsertLink(ctx, link)
	})
	if err != nil || linkedMeanwhile {
		return false, err
	}
	want := desired(it, r.doc)
	req := jira.IssueCreate{
		ProjectKey: r.in.ProjectKey, IssueTypeName: r.doc.IssueTypes[it.Kind], Summary: it.Title,
		Priority: want.Priority, Labels: []string{Marker(it.ID)}, Fields: map[string]any{},
		Properties: map[string]any{PropertyKey: map[string]any{"item_id": it.ID, "integration_id": r.in.ID}},
	}
	if it.Kind == tracker.KindFinding {
		req.ParentKey = s.parent.IssueKey
	}
	for _, f := range r.doc.Fields {
		if !f.ToJira() {
			continue
		}
		v := want.Fields[f.Jira]
		switch f.Jira {
		case "summary":
			if s, ok := v.(string); ok && s != "" {
				req.Summary = s
			}
		case "description":
			if s, ok := v.(string); ok {
				req.Description = s
			}
		case "labels":
			if l, ok := v.([]string); ok {
				req.Labels = append(append([]string{}, l...), Marker(it.ID))
			}
		default:
			// A field the create screen lacks is refused by Jira ("cannot
			// be set"): it is left to the edit that follows.
			if v != nil && r.onScreen(it.Kind, f.Jira) {
				jf := r.jiraField(it.Kind, f.Jira)
				if isUserField(jf) {
					jv, skip, err := r.userToJira(ctx, jf, v)
					if err != nil {
						return false, err
					}
					if !skip {
						req.Fields[f.Jira] = jv
					}
					continue
				}
				req.Fields[f.Jira] = toJira(jf, v)
			}
		}
	}
	for id, raw := range r.doc.Defaults {
		if _, set := req.Fields[id]; !set && r.onScreen(it.Kind, id) {
			req.Fields[id] = rawJSON(raw)
		}
	}
	if want.Security != "" && r.setsSecurity(it.Kind) {
		ref, err := r.securityRef(it.Severity, want.Security)
		if err == nil && !r.onScreen(it.Kind, "security") {
			err = jobs.Permanent(fmt.Errorf("the mapping gives %s items the security level %q, but the create screen of %s in project %s has no Security Level field: add it to the screen (or let the service account set security levels); the issue is not created without its level",
				it.Severity, want.Security, r.doc.IssueTypes[it.Kind], r.in.ProjectKey))
		}
		if err != nil {
			return false, r.refuseCreate(ctx, link, err)
		}
		req.Fields["security"] = ref
	}
	start := time.Now()
	created, err := r.client.CreateIssue(ctx, req)
	createdKey := ""
	if created != nil {
		createdKey = created.Key
	}
	r.record(ctx, "create", "POST /issue", createdKey, start, err)
	if err != nil {
		if jira.IsUnknownOutcome(err) {
			return false, err // the link stays "creating": the next attempt searches first
		}
		// Jira refused the create: nothing exists, the next attempt need
		// not search for it.
		r.refreshOnUnknownField(ctx, err)
		link.State = tracker.LinkRefused
		if werr := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, link) }); werr != nil {
			return false, werr
		}
		return false, classify(err)
	}
	if hook := r.e.cfg.AfterCreate; hook != nil {
		if err := hook(it.ID); err != nil {
			return false, err
		}
	}
	synced := state{Fields: want.Fields, Priority: want.Priority, Security: want.Security, Status: r.initialStatus(it.Kind), Previous: decodeState(s.link.Synced).Previous}
	if err := r.storeLink(ctx, it.ID, created.ID, created.Key, synced); err != nil {
		return false, err
	}
	return true, r.wakeFindings(ctx, it)
}

// securityRef is the value of the security field for a mapped level. A
// level the project no longer offers is an error, never a silent create
// or edit without it: an issue meant to be restricted must not be made
// visible to the whole project.
func (r *run) securityRef(sev tracker.Severity, name string) (map[string]any, error) {
	l, ok := r.meta.SecurityLevel(name)
	if !ok {
		return nil, jobs.Permanent(fmt.Errorf("the mapping gives %s items the security level %q, which project %s does not offer (any more): fix the mapping; the issue is not written without its level", sev, name, r.in.ProjectKey))
	}
	return map[string]any{"id": l.ID}, nil
}

// setsSecurity reports whether the sync sets the security level of a
// kind's issues: not on sub-tasks, which Jira gives their parent's level.
func (r *run) setsSecurity(kind string) bool {
	typeName := r.doc.IssueTypes[kind]
	for _, it := range r.meta.IssueTypes {
		if strings.EqualFold(it.Name, typeName) {
			return !it.Subtask
		}
	}
	return kind != tracker.KindFinding
}

// refuseCreate records a create refused before it reached Jira: nothing
// exists, so the next attempt need not search for it.
func (r *run) refuseCreate(ctx context.Context, link store.Link, cause error) error {
	link.State = tracker.LinkRefused
	r.record(ctx, "create", "", "", time.Now(), cause)
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, link) }); err != nil {
		return err
	}
	return cause
}

// wakeFindings makes the findings of a vulnerability whose issue was just
// created sync now: their jobs were waiting for this parent.
func (r *run) wakeFindings(ctx context.Context, it tracker.Item) error {
	if it.Kind != tracker.KindVulnerability {
		return nil
	}
	err := r.e.st.InTx(ctx, func(tx store.Tx) error {
		page, err := tx.ListItems(ctx, store.ItemFilter{TargetID: it.TargetID, ParentID: it.ID, Limit: store.MaxPageSize})
		if err != nil {
			return err
		}
		for _, f := range page.Items {
			if err := jobs.Enqueue(ctx, tx, itemKey(f.ID), syncItem{ItemID: f.ID}, r.e.now()); err != nil {
				return err
			}
		}
		return nil
	})
	r.e.Notify()
	return err
}

func (r *run) onScreen(kind, fieldID string) bool {
	typeName := r.doc.IssueTypes[kind]
	for _, it := range r.meta.IssueTypes {
		if it.Name == typeName {
			for _, f := range it.Fields {
				if f.ID == fieldID {
					return true
				}
			}
		}
	}
	return false
}

// initialStatus guesses the status a new issue starts in: the only "new"
// category status of the issue type's workflow ("" when unsure; the
// status step then reads it).
func (r *run) initialStatus(kind string) string {
	typeName := r.doc.IssueTypes[kind]
	var found string
	for _, st := range r.meta.Statuses[typeName] {
		if st.Category == "new" {
			if found != "" {
				return ""
			}
			found = st.Name
		}
	}
	return found
}

func (r *run) storeLink(ctx context.Context, itemID, issueID, issueKey string, synced state) error {
	l := store.Link{ItemID: itemID, IntegrationID: r.in.ID, State: tracker.LinkLinked, IssueID: issueID, IssueKey: issueKey,
		Synced: synced.encode(), UpdatedAt: r.e.now()}
	return r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, l) })
}

// findByMarker searches the project for the issue carrying the item's marker.
func (r *run) findByMarker(ctx context.Context, itemID string) (*jira.Issue, error) {
	jql := fmt.Sprintf(`project = "%s" AND labels = "%s"`, r.in.ProjectKey, Marker(itemID))
	var page *jira.SearchPage
	err := r.call(ctx, "find_marker", "GET /search/jql", "", func() error {
		var err error
		page, err = r.client.SearchJQL(ctx, jql, []string{"summary", "status", "labels"}, "", 2)
		return err
	})
	if err != nil {
		return nil, classify(err)
	}
	if len(page.Issues) == 0 {
		return nil, nil
	}
	return &page.Issues[0], nil
}

// adopt links an issue found by its marker; its current state is read so
// the next steps send only what differs.
func (r *run) adopt(ctx context.Context, s snapshot, issueID, key, why string) error {
	var issue *jira.Issue
	err := r.call(ctx, "adopt", "GET /issue/{key}", key, func() error {
		var err error
		issue, err = r.client.GetIssue(ctx, key, jira.GetIssueOptions{})
		return err
	})
	if err != nil {
		return classify(err)
	}
	r.e.log.Info("linked existing issue", "item", s.item.ID, "issue", key, "why", why)
	return r.storeLink(ctx, s.item.ID, issueID, key, r.observed(s.item.Kind, issue))
}

// observed is the state an issue shows, in the mapping's terms.
func (r *run) observed(kind string, issue *jira.Issue) state {
	st := state{Fields: map[string]any{}, Status: issue.Status.Name}
	if issue.Priority != nil {
		st.Priority = issue.Priority.Name
	}
	var sec struct {
		Name string `json:"name"`
	}
	if raw, ok := issue.Fields["security"]; ok && json.Unmarshal(raw, &sec) == nil {
		st.Security = sec.Name
	}
	for _, f := range r.doc.Fields {
		v := fromJira(r.jiraField(kind, f.Jira), issue)
		if f.Jira == "labels" {
			v = withoutMarker(v)
		}
		st.Fields[f.Jira] = v
	}
	return st
}

func withoutMarker(v any) any {
	list, _ := v.([]string)
	out := []string{}
	for _, l := range list {
		if !strings.HasPrefix(l, "vulnsync-") {
			out = append(out, l)
		}
	}
	return out
}

// pushFields sends every mapped field whose value differs from the synced
// state, and the priority, in one edit call.
func (r *run) pushFields(ctx context.Context, s *snapshot) error {
	synced := decodeState(s.link.Synced)
	want := desired(s.item, r.doc)
	fields := map[string]any{}
	update := map[string][]jira.Op{}
	next := synced
	next.Fields = map[string]any{}
	for k, v := range synced.Fields {
		next.Fields[k] = v
	}
	next.Pushed = map[string]time.Time{}
	for k, t := range synced.Pushed {
		next.Pushed[k] = t
	}
	for _, id := range sortedFieldIDs(want.Fields) {
		v := want.Fields[id]
		if tracker.Equal(v, synced.Fields[id]) {
			continue
		}
		jf := r.jiraField(s.item.Kind, id)
		switch {
		case id == "labels":
			if ops := labelOps(synced.Fields[id], v); len(ops) > 0 {
				update["labels"] = ops
			}
		case isUserField(jf):
			if keepJiraUser(synced.Fields[id], synced.Times[id], s.item.FieldTimes[vulnsyncFieldOf(r.doc, id)]) {
				continue // Jira's newer person cannot be represented here: left alone
			}
			jv, skip, err := r.userToJira(ctx, jf, v)
			if err != nil {
				return err
			}
			if skip {
				continue
			}
			fields[id] = jv
		default:
			fields[id] = toJira(jf, v)
		}
		next.Fields[id] = v
	}
	if want.Priority != "" && want.Priority != synced.Priority {
		if sev, ok := r.doc.SeverityOf(synced.Priority); !ok || sev != s.item.Severity {
			fields["priority"] = map[string]any{"name": want.Priority}
			next.Priority = want.Priority
		}
	}
	// The level follows the mapping when the severity changes to one
	// mapped to another level; an unmapped severity leaves it alone.
	if want.Security != "" && !strings.EqualFold(want.Security, synced.Security) && r.setsSecurity(s.item.Kind) {
		ref, err := r.securityRef(s.item.Severity, want.Security)
		if err != nil {
			r.record(ctx, "update", "", s.link.IssueKey, time.Now(), err)
			return err
		}
		fields["security"] = ref
		next.Security = want.Security
	}
	if len(fields) == 0 && len(update) == 0 {
		return nil
	}
	err := r.call(ctx, "update", "PUT /issue/{key}", s.link.IssueKey, func() error {
		return r.client.EditIssue(ctx, s.link.IssueKey, fields, update)
	})
	var er *jira.ErrorResponse
	if errors.As(err, &er) && len(er.FieldsNotOnScreen()) > 0 {
		// Fields the edit screen lacks cannot be set: the log says which
		// and how to fix it (record explains); the others sync now.
		r.refreshOnUnknownField(ctx, err)
		for _, id := range er.FieldsNotOnScreen() {
			delete(fields, id)
			delete(update, id)
			next.Fields[id] = synced.Fields[id]
			if id == "priority" {
				next.Priority = synced.Priority
			}
			if id == "security" {
				next.Security = synced.Security
			}
		}
		if len(fields) == 0 && len(update) == 0 {
			return nil
		}
		err = r.call(ctx, "update", "PUT /issue/{key} (without the fields the screen lacks)", s.link.IssueKey, func() error {
			return r.client.EditIssue(ctx, s.link.IssueKey, fields, update)
		})
	}
	if err != nil {
		if jira.IsNotFound(err) {
			return r.issueGone(ctx, *s)
		}
		r.refreshOnUnknownField(ctx, err)
		return classify(err)
	}
	now := r.e.now()
	for id := range fields {
		next.Pushed[id] = now
	}
	for id := range update {
		next.Pushed[id] = now
	}
	if synced.Priority != "" && next.Priority != synced.Priority {
		if err := r.keyEvent(ctx, s.link, fmt.Sprintf("Severity changed in vulnsync to **%s** (priority %s).", s.item.Severity, next.Priority)); err != nil {
			return err
		}
	}
	s.link.Synced = next.encode()
	return r.storeLink(ctx, s.item.ID, s.link.IssueID, s.link.IssueKey, next)
}

// pushStatus moves the issue through the workflow to the mapped status,
// unless Jira's current status already maps back to the item's status.
func (r *run) pushStatus(ctx context.Context, s *snapshot) error {
	if err := r.linkPrevious(ctx, s); err != nil {
		return err
	}
	synced := decodeState(s.link.Synced)
	target := r.doc.JiraStatus(s.item.Status)
	if target == "" || strings.EqualFold(target, synced.Status) {
		return nil
	}
	if synced.Status != "" {
		if st, ok := r.doc.StatusFromJiraName(synced.Status, r.category(s.item.Kind, synced.Status)); ok && st == s.item.Status {
			return nil
		}
		if held, err := r.heldByPendingAcceptance(ctx, s.item.ID, synced.Status); err != nil || held {
			return err
		}
	}
	from := synced.Status
	if r.reopensAsNewIssue(s, from) {
		return r.replaceIssue(ctx, s)
	}
	reached, err := r.transitionTo(ctx, s.item.Kind, s.link.IssueKey, synced.Status, target)
	if err != nil {
		if jira.IsNotFound(err) {
			return r.issueGone(ctx, *s)
		}
		return err
	}
	synced.Status = reached
	if synced.Pushed == nil {
		synced.Pushed = map[string]time.Time{}
	}
	synced.Pushed["status"] = r.e.now()
	if err := r.storeLink(ctx, s.item.ID, s.link.IssueID, s.link.IssueKey, synced); err != nil {
		return err
	}
	s.link.Synced = synced.encode()
	if from == "" {
		return nil
	}
	if err := r.keyEvent(ctx, s.link, fmt.Sprintf("Status changed in vulnsync to **%s** (Jira: %s → %s).", s.item.Status, from, reached)); err != nil {
		return err
	}
	return r.retestEvent(ctx, s, from)
}

// retestEvent reports a finding's retest on its vulnerability's issue: a
// finding moved to resolved passed its retest; one moved back from a status
// meaning fixed or resolved (claimedFixed) to open or in progress failed it.
func (r *run) retestEvent(ctx context.Context, s *snapshot, from string) error {
	if s.item.Kind != tracker.KindFinding || s.parent.State != tracker.LinkLinked {
		return nil
	}
	var body string
	switch {
	case s.item.Status == tracker.StatusResolved:
		body = fmt.Sprintf("Retest of finding **%s** (%s): **passed** — resolved.", s.item.Title, s.link.IssueKey)
	case r.claimedFixed(s.item.Kind, from) && (s.item.Status == tracker.StatusOpen || s.item.Status == tracker.StatusInProgress):
		body = fmt.Sprintf("Retest of finding **%s** (%s): **failed** — reopened as %s.", s.item.Title, s.link.IssueKey, s.item.Status)
	default:
		return nil
	}
	return r.keyEvent(ctx, s.parent, body)
}

// claimedFixed reports whether a Jira status means fixed or resolved: a
// reopen from it is a failed retest. A done status the mapping gives to
// accepted_risk or false_positive (Won't Do) is not: leaving it (a revoked
// or expired acceptance) involves no retest.
func (r *run) claimedFixed(kind, status string) bool {
	st, ok := r.doc.StatusFromJiraName(status, r.category(kind, status))
	return ok && (st == tracker.StatusFixed || st == tracker.StatusResolved)
}

// statuses of a kind's issue type; all the project's statuses when the
// kind is unknown (a deleted item's job knows only its link).
func (r *run) statuses(kind string) []mapping.Status {
	if ss, ok := r.meta.Statuses[r.doc.IssueTypes[kind]]; ok {
		return ss
	}
	var all []mapping.Status
	for _, ss := range r.meta.Statuses {
		all = append(all, ss...)
	}
	return all
}

func (r *run) category(kind, status string) string {
	for _, st := range r.statuses(kind) {
		if strings.EqualFold(st.Name, status) {
			return st.Category
		}
	}
	return ""
}

// keyEvent posts a vulnsync-authored comment on an issue and records it so
// that its webhook is recognised as ours.
func (r *run) keyEvent(ctx context.Context, link store.Link, body string) error {
	if r.doc.Comments == mapping.CommentsNone || r.doc.Comments == mapping.CommentsFromJira {
		return nil
	}
	local := "event:" + uuid.Must(uuid.NewV7()).String()
	return r.postComment(ctx, link, local, "key_event", body, "")
}

func (r *run) postComment(ctx context.Context, link store.Link, localID, kind, body, itemID string) error {
	var c *jira.Comment
	err := r.call(ctx, "comment", "POST /issue/{key}/comment", link.IssueKey, func() error {
		var err error
		c, err = r.client.AddComment(ctx, link.IssueKey, body, map[string]any{PropertyKey: map[string]any{"local_id": localID, "kind": kind}})
		return err
	})
	if err != nil {
		return classify(err)
	}
	if itemID == "" {
		itemID = link.ItemID
	}
	ol := store.ObjectLink{Kind: store.ObjectComment, LocalID: localID, ItemID: itemID, IntegrationID: r.in.ID, JiraID: c.ID,
		IssueID: link.IssueID, Origin: string(tracker.OriginVulnsync), Hash: hash(body), UpdatedAt: r.e.now()}
	return r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, ol) })
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// pushComments mirrors local comments that are not in Jira yet.
func (r *run) pushComments(ctx context.Context, s snapshot) error {
	if r.doc.Comments != mapping.CommentsBoth && r.doc.Comments != mapping.CommentsToJira {
		return nil
	}
	for _, c := range s.comments {
		if c.Origin != tracker.OriginVulnsync || c.Internal {
			continue // internal notes never go to Jira
		}
		if _, done := s.commLinks[c.ID]; done {
			continue
		}
		body := c.Body
		if c.Author.Name != "" {
			body = fmt.Sprintf("%s\n\n— %s, in vulnsync", c.Body, c.Author.Name)
		}
		if err := r.postComment(ctx, s.link, c.ID, "comment", body, s.item.ID); err != nil {
			return err
		}
	}
	return nil
}

// pushAttachments uploads local attachments that are not in Jira yet.
func (r *run) pushAttachments(ctx context.Context, s snapshot) error {
	if !r.doc.Attachments.ToJira {
		return nil
	}
	for _, a := range s.atts {
		if a.Origin != tracker.OriginVulnsync {
			continue
		}
		if _, done := s.attLinks[a.ID]; done {
			continue
		}
		if r.doc.Attachments.MaxBytes > 0 && a.Size > r.doc.Attachments.MaxBytes {
			r.record(ctx, "attachment", "", s.link.IssueKey, time.Now(), fmt.Errorf("%s is %d bytes, over the mapping's max_bytes %d: not uploaded", a.Filename, a.Size, r.doc.Attachments.MaxBytes))
			continue
		}
		_, content, err := r.e.cfg.Tracker.Attachment(ctx, a.ID)
		if err != nil {
			return err
		}
		var got []jira.Attachment
		err = r.call(ctx, "attachment", "POST /issue/{key}/attachments", s.link.IssueKey, func() error {
			var err error
			got, err = r.client.AddAttachment(ctx, s.link.IssueKey, a.Filename, a.ContentType, bytes.NewReader(content))
			return err
		})
		if err != nil {
			return classify(err)
		}
		if len(got) == 0 {
			return fmt.Errorf("jira accepted %s but returned no attachment", a.Filename)
		}
		ol := store.ObjectLink{Kind: store.ObjectAttachment, LocalID: a.ID, ItemID: s.item.ID, IntegrationID: r.in.ID, JiraID: got[0].ID,
			IssueID: s.link.IssueID, Origin: string(tracker.OriginVulnsync), Hash: a.SHA256, UpdatedAt: r.e.now()}
		if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, ol) }); err != nil {
			return err
		}
	}
	return nil
}

// findingEventID is the local id of the comment announcing a new finding
// on its vulnerability's issue: its object link says it was posted.
func findingEventID(findingID string) string { return "finding:" + findingID }

// pushFindingEvents announces new findings on the vulnerability's issue.
func (r *run) pushFindingEvents(ctx context.Context, s snapshot) error {
	for _, f := range s.findings {
		body := fmt.Sprintf("New finding in vulnsync: **%s** (severity %s).", f.Title, f.Severity)
		if err := r.postComment(ctx, s.link, findingEventID(f.ID), "new_finding", body, s.item.ID); err != nil {
			return err
		}
	}
	return nil
}

// issueGone handles an issue found deleted while pushing: the
// on_issue_deleted policy applies as for a deletion webhook (G11).
func (r *run) issueGone(ctx context.Context, s snapshot) error {
	r.record(ctx, "unlink", "", s.link.IssueKey, time.Now(), fmt.Errorf("issue %s no longer exists in Jira", s.link.IssueKey))
	return r.issueDeleted(ctx, &s, jira.User{}, r.e.now())
}

// deleteIssue applies the on_item_deleted policy (G11).
func (r *run) deleteIssue(ctx context.Context, s snapshot) error {
	if !s.hasLink || s.link.State != tracker.LinkLinked {
		return nil
	}
	switch r.doc.OnItemDeleted {
	case mapping.OnItemDeletedLeave:
	case mapping.OnItemDeletedDelete:
		err := r.call(ctx, "delete", "DELETE /issue/{key}", s.link.IssueKey, func() error {
			return r.client.DeleteIssue(ctx, s.link.IssueKey, true)
		})
		if err != nil && !jira.IsNotFound(err) {
			return classify(err)
		}
	default: // close
		synced := decodeState(s.link.Synced)
		target := r.doneStatus(s.item.Kind)
		if target != "" && !strings.EqualFold(target, synced.Status) && r.category(s.item.Kind, synced.Status) != "done" {
			reached, err := r.transitionTo(ctx, s.item.Kind, s.link.IssueKey, synced.Status, target)
			if err != nil && !jira.IsNotFound(err) {
				return err
			}
			synced.Status = reached
		}
		if err := r.keyEvent(ctx, s.link, "This vulnerability was deleted in vulnsync; the issue was closed."); err != nil && !jira.IsNotFound(errors.Unwrap(err)) {
			return err
		}
	}
	l := s.link
	l.State, l.UpdatedAt = tracker.LinkUnlinked, r.e.now()
	return r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, l) })
}

// doneStatus is the status a deleted item's issue is closed to: the mapped
// status of "resolved" when it is a done-category status, else the first
// done-category status of the workflow.
func (r *run) doneStatus(kind string) string {
	if s := r.doc.StatusToJira[tracker.StatusResolved]; s != "" && r.category(kind, s) == "done" {
		return s
	}
	for _, st := range r.statuses(kind) {
		if st.Category == "done" {
			return st.Name
		}
	}
	return ""
}

// rawJSON decodes a default value from the mapping document.
func rawJSON(raw []byte) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// vulnsyncFieldOf names the vulnsync field a Jira field is mapped to.
func vulnsyncFieldOf(doc *mapping.Document, jiraID string) string {
	for _, f := range doc.Fields {
		if f.Jira == jiraID {
			return f.Vulnsync
		}
	}
	return ""
}
