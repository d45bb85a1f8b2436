package jirasync

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// LinkIssue links an item to an existing issue of its integration's project,
// for an issue people made in Jira before the item existed (or one an
// unlink left behind). The issue is read once (no write); the link stores
// what Jira shows now as the agreed state, so the sync that follows (queued
// here) sends every mapped value where vulnsync's differs: at link time
// vulnsync's values win, because linking is an admin's statement that the
// item is the record. Later changes follow the usual newest-wins rules.
//
// It is EConflict when the item already has an issue (or a create may be
// in flight) or the issue is linked to another item (G1: one issue per
// item, one item per issue); EUnprocessable when the issue does not exist,
// is in another project or is not of the type the mapping gives the
// item's kind, or the target has no active integration; EInvalid when the
// key cannot be an issue key or id (no Jira call then).
func (e *Engine) LinkIssue(ctx context.Context, itemID, issueKey string) (tracker.JiraRef, error) {
	return e.linkIssue(ctx, itemID, issueKey, false)
}

// RelinkIssue moves an item's link to another existing issue in one step:
// like UnlinkIssue then LinkIssue, but the item is never without an issue
// in between. The same rules hold (EConflict when the new issue is linked
// to another item, or to this one already); an item with no issue is
// simply linked.
func (e *Engine) RelinkIssue(ctx context.Context, itemID, issueKey string) (tracker.JiraRef, error) {
	return e.linkIssue(ctx, itemID, issueKey, true)
}

// issueKeyShape is what an issue key (project key, dash, number) or an
// issue id looks like; anything else is the caller's mistake, refused
// before it reaches Jira (and the sync log).
var issueKeyShape = regexp.MustCompile(`^(?:[A-Z][A-Z0-9_]{0,254}-[0-9]{1,18}|[0-9]{1,18})$`)

func (e *Engine) linkIssue(ctx context.Context, itemID, issueKey string, relink bool) (tracker.JiraRef, error) {
	issueKey = strings.ToUpper(strings.TrimSpace(issueKey))
	if issueKey == "" {
		return tracker.JiraRef{}, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid link", Fields: map[string]string{"issue_key": "required"}}
	}
	if !issueKeyShape.MatchString(issueKey) {
		return tracker.JiraRef{}, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid link",
			Fields: map[string]string{"issue_key": "must be an issue key like SEC-12 (or an issue id)"}}
	}
	it, in, err := e.linkTarget(ctx, itemID)
	if err == nil {
		// Refused before any Jira call when the answer is already known.
		err = e.st.View(ctx, func(tx store.Tx) error { return checkLinkable(ctx, tx, itemID, relink) })
	}
	if err != nil {
		return tracker.JiraRef{}, fmt.Errorf("link item %s: %w", itemID, err)
	}
	r, err := e.prepare(ctx, in, itemID, 0)
	if err != nil {
		return tracker.JiraRef{}, fmt.Errorf("link item %s: %w", itemID, err)
	}
	wantType := r.doc.IssueTypes[it.Kind]
	if wantType == "" {
		return tracker.JiraRef{}, tracker.Errorf(tracker.EUnprocessable, "the mapping does not sync %s items", it.Kind)
	}
	start := time.Now()
	issue, err := r.client.GetIssue(ctx, issueKey, jira.GetIssueOptions{})
	if jira.IsNotFound(err) {
		// A key Jira does not know is the person's mistake, answered 422:
		// logged as skipped, it is no sync failure (the connection's
		// health and the dashboard count those).
		msg := fmt.Sprintf("Jira has no issue %s (or the service account cannot see it)", issueKey)
		r.recordSkipped(ctx, "link", "GET /issue/{key}", issueKey, start, msg+": not linked")
		return tracker.JiraRef{}, tracker.Errorf(tracker.EUnprocessable, "%s", msg)
	}
	r.record(ctx, "link", "GET /issue/{key}", issueKey, start, err)
	if err != nil {
		return tracker.JiraRef{}, fmt.Errorf("link item %s: read %s: %w", itemID, issueKey, err)
	}
	if p := issueProject(issue); !strings.EqualFold(p, in.ProjectKey) {
		return tracker.JiraRef{}, tracker.Errorf(tracker.EUnprocessable, "%s is in project %s; the target is integrated with %s", issue.Key, p, in.ProjectKey)
	}
	if !strings.EqualFold(issue.IssueType.Name, wantType) {
		return tracker.JiraRef{}, tracker.Errorf(tracker.EUnprocessable, "%s is a %s; the mapping syncs %s items as %s", issue.Key, issue.IssueType.Name, it.Kind, wantType)
	}
	l := store.Link{ItemID: itemID, IntegrationID: in.ID, State: tracker.LinkLinked, IssueID: issue.ID, IssueKey: issue.Key,
		Synced: r.observed(it.Kind, issue).encode(), UpdatedAt: e.now()}
	action, previous := "link", ""
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		// Checked again in the transaction that links: a sync may have
		// started a create meanwhile.
		if err := checkLinkable(ctx, tx, itemID, relink); err != nil {
			return err
		}
		other, err := tx.LinkByIssue(ctx, in.ID, issue.ID)
		switch {
		case err == nil && other.ItemID == itemID && other.State == tracker.LinkLinked:
			return tracker.Errorf(tracker.EConflict, "the item is already linked to %s", issue.Key)
		case err == nil && other.State == tracker.LinkLinked:
			return tracker.Errorf(tracker.EConflict, "%s is already linked to item %s (one issue, one item: unlink it there first)", issue.Key, other.ItemID)
		case err == nil:
			// A link that ended (its issue was deleted or moved out under
			// the unlink policy) no longer holds the issue: release it.
			other.IssueID, other.IssueKey, other.Synced, other.UpdatedAt = "", "", nil, e.now()
			if err := tx.UpsertLink(ctx, other); err != nil {
				return err
			}
		case tracker.KindOf(err) != tracker.ENotFound:
			return err
		}
		if cur, err := tx.GetLink(ctx, itemID); err == nil && cur.State == tracker.LinkLinked {
			// Relink: deliveries of the old issue are no longer the item's.
			action, previous = "relink", cur.IssueKey
			if err := ignoreQueued(ctx, tx, in.ConnectionID, cur.IssueID, "the item was relinked to "+issue.Key); err != nil {
				return err
			}
		}
		if err := tx.UpsertLink(ctx, l); err != nil {
			return err
		}
		if err := tx.AddSyncEvent(ctx, store.SyncEvent{IntegrationID: in.ID, ItemID: itemID, IssueKey: issue.Key, Direction: "to_jira",
			Action: action, Result: "ok", At: e.now()}); err != nil {
			return err
		}
		return jobs.Enqueue(ctx, tx, itemKey(itemID), syncItem{ItemID: itemID}, e.now())
	})
	if err != nil {
		return tracker.JiraRef{}, fmt.Errorf("%s item %s to %s: %w", action, itemID, issue.Key, err)
	}
	detail := "to Jira issue " + issue.Key
	if previous != "" {
		detail = fmt.Sprintf("from Jira issue %s to %s", previous, issue.Key)
	}
	e.cfg.Audit.Record(ctx, "item."+action, "item:"+itemID, detail)
	e.Notify()
	return e.ref(ctx, in, issue.Key)
}

// ignoreQueued marks the deliveries of an issue not applied yet as ignored,
// with the reason: the issue is no longer the item's.
func ignoreQueued(ctx context.Context, tx store.Tx, connectionID, issueID, why string) error {
	if issueID == "" {
		return nil
	}
	queued, err := tx.QueuedDeliveries(ctx, connectionID, issueID)
	if err != nil {
		return err
	}
	for _, d := range queued {
		if err := tx.SetDeliveryStatus(ctx, d.ID, store.DeliveryIgnored, why); err != nil {
			return err
		}
	}
	return nil
}

// UnlinkIssue ends an item's link to its issue. The issue stays in Jira
// untouched; the item stops syncing (its later changes are not sent, the
// issue's webhooks are ignored) until it is linked again, and the issue is
// free to be linked to another item. EConflict when the item has no linked
// issue, or a create may be in flight.
func (e *Engine) UnlinkIssue(ctx context.Context, itemID string) error {
	_, in, err := e.linkTarget(ctx, itemID)
	if err != nil {
		return fmt.Errorf("unlink item %s: %w", itemID, err)
	}
	var key string
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		l, err := tx.GetLink(ctx, itemID)
		if tracker.KindOf(err) == tracker.ENotFound || (err == nil && l.State != tracker.LinkLinked && l.State != tracker.LinkCreating) {
			return tracker.Errorf(tracker.EConflict, "the item is not linked to a Jira issue")
		}
		if err != nil {
			return err
		}
		if l.State == tracker.LinkCreating {
			return tracker.Errorf(tracker.EConflict, "the item's issue is being created; unlink it once the create finished")
		}
		// Deliveries of the issue not applied yet are no longer the
		// item's: they are ignored, with the reason.
		if err := ignoreQueued(ctx, tx, in.ConnectionID, l.IssueID, "the item was unlinked from the issue"); err != nil {
			return err
		}
		key = l.IssueKey
		l.State, l.IssueID, l.IssueKey, l.Synced, l.UpdatedAt = tracker.LinkUnlinked, "", "", nil, e.now()
		if err := tx.UpsertLink(ctx, l); err != nil {
			return err
		}
		return tx.AddSyncEvent(ctx, store.SyncEvent{IntegrationID: in.ID, ItemID: itemID, IssueKey: key, Direction: "to_jira",
			Action: "unlink", Result: "ok", At: e.now()})
	})
	if err != nil {
		return fmt.Errorf("unlink item %s: %w", itemID, err)
	}
	e.cfg.Audit.Record(ctx, "item.unlink", "item:"+itemID, "from Jira issue "+key)
	return nil
}

// linkTarget reads an item and its target's integration, which must have a
// mapping.
func (e *Engine) linkTarget(ctx context.Context, itemID string) (it tracker.Item, in store.Integration, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		if it, err = tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		in, err = tx.IntegrationByTarget(ctx, it.TargetID)
		if tracker.KindOf(err) == tracker.ENotFound {
			return tracker.Errorf(tracker.EUnprocessable, "the item's target is not integrated with Jira")
		}
		return err
	})
	if err == nil && in.State == tracker.IntegrationNeedsMapping {
		err = tracker.Errorf(tracker.EUnprocessable, "the integration has no accepted mapping yet")
	}
	return it, in, err
}

// checkLinkable refuses to link an item that has (or may be getting) an
// issue; relink lets an item that has one move its link.
func checkLinkable(ctx context.Context, tx store.Tx, itemID string, relink bool) error {
	l, err := tx.GetLink(ctx, itemID)
	switch {
	case tracker.KindOf(err) == tracker.ENotFound:
		return nil
	case err != nil:
		return err
	case l.State == tracker.LinkLinked && !relink:
		return tracker.Errorf(tracker.EConflict, "the item is already linked to %s; unlink it first", l.IssueKey)
	case l.State == tracker.LinkCreating:
		return tracker.Errorf(tracker.EConflict, "the item's issue is being created (a create may be in flight)")
	}
	return nil
}

// issueProject is the key of an issue's project: its project field, else
// the prefix of its key.
func issueProject(is *jira.Issue) string {
	var p struct {
		Key string `json:"key"`
	}
	if raw := is.Fields["project"]; len(raw) > 0 && json.Unmarshal(raw, &p) == nil && p.Key != "" {
		return p.Key
	}
	k, _, _ := strings.Cut(is.Key, "-")
	return k
}

// ref is the JiraRef of an issue of an integration.
func (e *Engine) ref(ctx context.Context, in store.Integration, key string) (tracker.JiraRef, error) {
	var base string
	err := e.st.View(ctx, func(tx store.Tx) error {
		c, err := tx.GetConnection(ctx, in.ConnectionID)
		base = strings.TrimRight(c.BaseURL, "/")
		return err
	})
	return tracker.JiraRef{Key: key, URL: base + "/browse/" + key}, err
}
