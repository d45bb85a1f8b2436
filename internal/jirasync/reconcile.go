package jirasync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// reconcile is the periodic job of an integration (G8): it asks Jira for
// the issues updated since its watermark (minus an overlap) and queues a
// pull of each linked one whose state differs from what vulnsync last saw,
// so a change whose webhook never came is applied within one interval. The
// job is keyed by the integration, and the queue never runs two jobs of
// one key at once, so with several replicas on PostgreSQL only one of them
// reconciles an integration at a time; the reconcile lease (see
// takeReconcileLease) makes it once per interval too, however often
// replicas start or the chain is re-queued.
type reconcile struct {
	IntegrationID string `json:"integration_id"`
}

// Kind names the job.
func (reconcile) Kind() string { return "reconcile" }

func reconcileKey(integrationID string) string { return "reconcile:" + integrationID }

// eventReconcile is the Event of a delivery that asks the item's job to
// pull the issue from Jira (the store knows it, to tell these rows from
// webhooks in a connection's health).
const eventReconcile = store.DeliveryEventReconcile

// ScheduleReconcile queues the reconciliation of every active integration
// to run now (a pending one keeps its earlier time). serve calls it at start.
func (e *Engine) ScheduleReconcile(ctx context.Context) error {
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		ins, err := tx.ListIntegrations(ctx)
		if err != nil {
			return err
		}
		for _, in := range ins {
			if in.State == tracker.IntegrationActive {
				if err := jobs.Enqueue(ctx, tx, reconcileKey(in.ID), reconcile{IntegrationID: in.ID}, e.now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	e.Notify()
	return err
}

// syncedFields are the fields reconciliation reads: enough to tell drift.
func (r *run) searchFields() []string {
	fs := []string{"summary", "status", "priority", "updated", "comment", "attachment", "labels"}
	for _, f := range r.doc.Fields {
		if f.FromJira() {
			fs = append(fs, f.Jira)
		}
	}
	return fs
}

// takeReconcileLease takes the integration's reconcile lease for one
// interval on behalf of this run (its job claim's token, unique per run).
// A run that finds it held skips: another run (on any replica) started
// less than an interval ago. Job keys alone do not give that: every
// replica's start queues a run for now (ScheduleReconcile), which the queue
// runs right after the one in progress, so N starts meant N runs.
func (e *Engine) takeReconcileLease(ctx context.Context, integrationID, holder string) (bool, error) {
	var ok bool
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		ok, err = tx.AcquireLease(ctx, reconcileKey(integrationID), holder, e.now(), e.cfg.ReconcileInterval)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take the reconcile lease of %s: %w", integrationID, err)
	}
	return ok, nil
}

// reconcileSkipWait is how long a run that found the lease held waits
// before it looks again. Shorter than the interval, so a lease left by a
// run that died delays the next run by at most a quarter interval past it.
func (e *Engine) reconcileSkipWait() time.Duration {
	return max(e.cfg.ReconcileInterval/4, time.Second)
}

func (e *Engine) workReconcile(ctx context.Context, job store.Job, args reconcile) (err error) {
	var in store.Integration
	err = e.st.View(ctx, func(tx store.Tx) error {
		var err error
		in, err = tx.GetIntegration(ctx, args.IntegrationID)
		return err
	})
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil // removed: the chain ends
	}
	if err != nil {
		return err
	}
	if in.State != tracker.IntegrationActive {
		return nil
	}
	ok, err := e.takeReconcileLease(ctx, in.ID, job.LeaseToken)
	if err != nil {
		return err
	}
	if !ok {
		e.log.Debug("reconciliation skipped: another run started within the interval", "integration", in.ID)
		return e.st.InTx(ctx, func(tx store.Tx) error {
			return jobs.Enqueue(ctx, tx, reconcileKey(in.ID), reconcile{IntegrationID: in.ID}, e.now().Add(e.reconcileSkipWait()))
		})
	}
	defer func() {
		if err == nil {
			e.reconcileRuns.Add(1)
			return
		}
		// A failed run did not reconcile: its retry may run at once.
		bg := context.WithoutCancel(ctx)
		if rerr := e.st.InTx(bg, func(tx store.Tx) error {
			return tx.ReleaseLease(bg, reconcileKey(in.ID), job.LeaseToken)
		}); rerr != nil {
			e.log.Warn("release the reconcile lease", "integration", in.ID, "err", rerr)
		}
	}()
	r, err := e.prepare(ctx, in, "", job.ID)
	if err != nil {
		return err
	}
	if err := e.checkWebhook(ctx, r, in); err != nil {
		return err
	}
	since := in.Watermark
	if since.IsZero() {
		since = in.CreatedAt
	}
	since = since.Add(-e.cfg.ReconcileOverlap)
	loc := time.UTC
	if tz := r.timeZone(ctx); tz != nil {
		loc = tz
	}
	jql := fmt.Sprintf(`project = "%s" AND updated >= "%s" ORDER BY updated ASC`, in.ProjectKey, since.In(loc).Format("2006/01/02 15:04"))
	watermark := in.Watermark
	start := time.Now()
	queued, seen := 0, 0
	for is, err := range r.client.SearchAll(ctx, jql, r.searchFields(), 100) {
		if err != nil {
			r.record(ctx, "reconcile", "GET /search/jql", "", start, err)
			return classify(err)
		}
		seen++
		if is.Updated.After(watermark) {
			watermark = is.Updated
		}
		n, linked, err := e.queuePullIfDrifted(ctx, r, is)
		if err != nil {
			return err
		}
		if !linked {
			if err := e.checkDuplicate(ctx, r, is); err != nil {
				return err
			}
		}
		queued += n
	}
	// A reconciliation that found nothing to pull writes no sync log row:
	// at every interval, those rows would bury what people open the log
	// for (docs/decisions.md, "Reconciliation is logged when it finds
	// something"). Its failures are logged above and its pulls each get a
	// row when applied; this summary says how many it started, and a retry
	// that succeeds writes it even when it found nothing, so the failure
	// before it reads as recovered.
	if queued > 0 || job.Attempts > 1 {
		ev := r.inboundEvent("reconcile", "", store.DeliveryApplied, "")
		ev.JiraCall = fmt.Sprintf("GET /search/jql: %d of %d issues changed without their webhook", queued, seen)
		if err := e.st.InTx(ctx, func(tx store.Tx) error { return tx.AddSyncEvent(ctx, ev) }); err != nil {
			e.log.Error("record sync event", "err", err)
		}
	}
	if queued > 0 {
		e.metrics.ReconcileDrift(queued)
	}
	e.log.Debug("reconciled", "integration", in.ID, "issues", seen, "pulls", queued, "since", since)
	return e.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetIntegration(ctx, in.ID)
		if err != nil {
			return err
		}
		if watermark.After(cur.Watermark) {
			cur.Watermark = watermark
			if err := tx.UpdateIntegration(ctx, cur); err != nil {
				return err
			}
		}
		return jobs.Enqueue(ctx, tx, reconcileKey(in.ID), reconcile{IntegrationID: in.ID}, e.now().Add(e.cfg.ReconcileInterval))
	})
}

// timeZone is the service account's time zone, in which Jira reads JQL
// dates (nil when Jira does not say).
func (r *run) timeZone(ctx context.Context) *time.Location {
	me, err := r.client.Myself(ctx)
	if err != nil || me.TimeZone == "" {
		return nil
	}
	loc, err := time.LoadLocation(me.TimeZone)
	if err != nil {
		return nil
	}
	return loc
}

// queuePullIfDrifted queues a pull of a linked issue whose state differs
// from the synced state, or that has comments or attachments vulnsync has
// not mirrored. linked says whether an item is linked to the issue (one
// that is not may be a duplicate: checkDuplicate).
func (e *Engine) queuePullIfDrifted(ctx context.Context, r *run, is *jira.Issue) (queued int, linked bool, err error) {
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		l, err := tx.LinkByIssue(ctx, r.in.ID, is.ID)
		if tracker.KindOf(err) == tracker.ENotFound || err == nil && l.State != tracker.LinkLinked {
			return nil
		}
		if err != nil {
			return err
		}
		linked = true
		it, err := tx.GetItem(ctx, l.ItemID)
		if err != nil {
			if tracker.KindOf(err) == tracker.ENotFound {
				return nil
			}
			return err
		}
		drift, err := r.drifted(ctx, tx, l, it.Kind, is)
		if err != nil || !drift {
			return err
		}
		d := store.Delivery{ConnectionID: r.in.ConnectionID, DeliveryKey: "reconcile:" + is.ID + ":" + is.Updated.UTC().Format(time.RFC3339Nano),
			Event: eventReconcile, IssueID: is.ID, Status: store.DeliveryQueued, Body: []byte(`{}`), ReceivedAt: e.now()}
		if _, isNew, err := tx.RecordDelivery(ctx, d); err != nil || !isNew {
			return err
		}
		queued++
		return jobs.Enqueue(ctx, tx, itemKey(l.ItemID), syncItem{ItemID: l.ItemID}, e.now())
	})
	if queued > 0 {
		e.Notify()
	}
	return queued, linked, err
}

// sameValue compares a value Jira shows with the synced one, taking an
// empty list, an empty string and no value as the same, and lists of
// strings in any order: Jira shows labels as [] where the create sent none,
// and sorted where vulnsync sent them in the item's order, neither of which
// is a change of anybody's.
func sameValue(jiraV, syncedV any) bool {
	if tracker.Equal(jiraV, syncedV) || (isEmpty(jiraV) && isEmpty(syncedV)) {
		return true
	}
	a, okA := jiraV.([]string)
	b, okB := syncedV.([]string)
	if !okA || !okB || len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// drifted compares what the search returned with the synced state.
func (r *run) drifted(ctx context.Context, tx store.Tx, l store.Link, kind string, is *jira.Issue) (bool, error) {
	synced := decodeState(l.Synced)
	if r.doc.StatusFromJira != nil && !strings.EqualFold(is.Status.Name, synced.Status) {
		return true, nil
	}
	if is.Priority != nil && !strings.EqualFold(is.Priority.Name, synced.Priority) {
		return true, nil
	}
	obs := r.observed(kind, is)
	for _, f := range r.doc.Fields {
		if f.FromJira() && !sameValue(obs.Fields[f.Jira], synced.Fields[f.Jira]) {
			return true, nil
		}
	}
	fromJira := r.doc.Comments == mapping.CommentsBoth || r.doc.Comments == mapping.CommentsFromJira
	for i := range is.Comments {
		c := &is.Comments[i]
		ol, err := tx.ObjectLinkByJira(ctx, store.ObjectComment, r.in.ID, c.ID)
		switch {
		case tracker.KindOf(err) == tracker.ENotFound:
			if r.skipsRestricted(c) {
				continue // left out by policy: nothing to mirror
			}
			return fromJira, nil
		case err != nil:
			return false, err
		case fromJira && r.commentDrifted(ol, c):
			return true, nil
		}
	}
	for _, a := range is.Attachments {
		if _, err := tx.ObjectLinkByJira(ctx, store.ObjectAttachment, r.in.ID, a.ID); tracker.KindOf(err) == tracker.ENotFound {
			return r.doc.Attachments.FromJira, nil
		} else if err != nil {
			return false, err
		}
	}
	return false, nil
}

// commentDrifted reports whether a Jira comment vulnsync has a link for
// shows something else than was mirrored: an edit or a change of
// visibility whose webhook was missed (a comment restricted since it was
// mirrored must go, or be marked restricted, as the webhook would have
// done), or a comment withheld while restricted that Jira now shows to
// everyone. Comments vulnsync posted are not compared: Jira's rendering of
// them is not what vulnsync sent.
func (r *run) commentDrifted(l store.ObjectLink, c *jira.Comment) bool {
	if l.Origin != string(tracker.OriginJira) {
		return false
	}
	if l.Deleted {
		return l.Hash == withheldHash && !r.skipsRestricted(c)
	}
	return l.Hash != commentHash(c)
}

// pull reads the issue with its changelog and applies every field with the
// time of its newest change, then mirrors comments and attachments
// vulnsync does not have.
func (r *run) pull(ctx context.Context, s *snapshot) (string, error) {
	var is *jira.Issue
	err := r.call(ctx, "pull", "GET /issue/{key}?expand=changelog", s.link.IssueKey, func() error {
		var err error
		is, err = r.client.GetIssue(ctx, s.link.IssueKey, jira.GetIssueOptions{Changelog: true})
		return err
	})
	if err != nil {
		if jira.IsNotFound(err) {
			return "", r.issueDeleted(ctx, s, jira.User{}, r.e.now())
		}
		return "", classify(err)
	}
	// The newest change of each field is the last history touching it: the
	// client sorts histories by time and id, whatever order Jira gave them
	// in (Cloud's expand=changelog is newest first and capped at 100).
	latest := map[string]time.Time{}
	authors := map[string]jira.User{}
	for _, h := range is.Changelog {
		for _, c := range h.Items {
			k := r.changeKey(c)
			latest[k], authors[k] = h.Created, h.Author
		}
	}
	when := func(k string) time.Time {
		if t, ok := latest[k]; ok {
			return t
		}
		return is.Created
	}
	ours := func(k string) bool {
		u, ok := authors[k]
		return ok && r.isServiceAccount(u)
	}
	var user jira.User
	for _, u := range authors {
		if !r.isServiceAccount(u) {
			user = u
		}
	}
	// A move (the key changed, the id did not) is applied first; out of
	// the integrated project, the policy may end the link here.
	if moved, note, err := r.followMove(ctx, s, is, authors["project"], when("project")); moved || err != nil {
		return note, err
	}
	note, err := r.applyIssue(ctx, s, is, when, user, ours, func(string) bool { return true }, true)
	if err != nil {
		return note, err
	}
	// One comment that cannot be mirrored must not keep the others out:
	// its failure is noted, the rest are applied; only a failure worth a
	// retry (Jira or the database unavailable) stops the run.
	var failed []string
	for i := range is.Comments {
		c := is.Comments[i]
		ev := &jirahook.Event{Kind: jirahook.CommentCreated, Time: c.Created, IssueID: is.ID, Comment: &c}
		note, err := r.applyComment(ctx, s, ev, jirahook.CommentCreated)
		if err == nil && note == "comment already mirrored" {
			// Known: apply what changed since (an edit, a visibility).
			ev.Kind, ev.Time = jirahook.CommentUpdated, firstTime(c.Updated, c.Created)
			_, err = r.applyComment(ctx, s, ev, jirahook.CommentUpdated)
		}
		if err != nil {
			if isRetryable(err) || tracker.KindOf(err) == tracker.EInternal {
				return "", err
			}
			failed = append(failed, fmt.Sprintf("comment %s: %v", c.ID, err))
		}
	}
	if len(is.Attachments) > 0 {
		ev := &jirahook.Event{Kind: jirahook.IssueUpdated, Time: is.Updated, Issue: is}
		for _, a := range is.Attachments {
			ev.Changelog = append(ev.Changelog, jira.ChangeItem{Field: "Attachment", FieldID: "attachment", To: a.ID})
		}
		if err := r.pullAttachments(ctx, s, ev); err != nil {
			return "", err
		}
	}
	if len(failed) > 0 {
		return "not mirrored: " + strings.Join(failed, "; "), nil
	}
	return "", nil
}

// checkWebhook compares the webhook vulnsync registered in Jira with
// Jira's list of webhooks. One deleted in Jira (by an admin, a clean-up
// script, a site migration) otherwise goes unnoticed: changes then arrive
// only by reconciliation, minutes late. When it is gone, the connection
// stops claiming it (webhook_registered false) and the sync log says so,
// with what to do. A list Jira refuses (the account is no longer an
// administrator) says nothing: absence cannot be told from that.
func (e *Engine) checkWebhook(ctx context.Context, r *run, in store.Integration) error {
	conn, err := e.cfg.Connections.Connection(ctx, in.ConnectionID)
	if err != nil || conn.WebhookID == "" {
		return err
	}
	hooks, err := r.client.Webhooks(ctx)
	if err != nil {
		if isRetryable(err) {
			return classify(err)
		}
		e.log.Debug("cannot list webhooks to check ours", "connection", conn.ID, "err", err)
		return nil
	}
	for _, h := range hooks {
		if h.ID == conn.WebhookID {
			return nil
		}
	}
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetConnection(ctx, conn.ID)
		if err != nil || cur.WebhookID != conn.WebhookID {
			return err // re-registered meanwhile
		}
		cur.WebhookID, cur.UpdatedAt = "", e.now()
		return tx.UpdateConnection(ctx, cur)
	})
	if err != nil {
		return fmt.Errorf("record that the webhook vanished from Jira: %w", err)
	}
	r.recordIn(ctx, "webhook check", "", store.DeliveryFailed, fmt.Sprintf(
		"the webhook vulnsync registered in Jira (id %s) is gone from Jira: changes arrive only by reconciliation (every %s) until it is registered again (connection page, \"Register in Jira\")",
		conn.WebhookID, e.cfg.ReconcileInterval))
	e.log.Warn("the webhook registered in Jira vanished", "connection", conn.ID, "webhook", conn.WebhookID)
	return nil
}

// ReconcileRuns counts the reconciliations this process completed (runs
// that took the lease and finished): across replicas their sum shows the
// once-per-interval rule holds.
func (e *Engine) ReconcileRuns() int64 { return e.reconcileRuns.Load() }
