package jirasync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// markedItem returns the item whose marker label an issue carries ("" if
// none): every issue vulnsync creates carries Marker(itemID).
func markedItem(labels []string) string {
	for _, l := range labels {
		if id, ok := strings.CutPrefix(l, Marker("")); ok && id != "" {
			return id
		}
	}
	return ""
}

// checkDuplicate is reconciliation's guard of G1 under Jira Cloud's search
// lag: /search/jql may not show an issue for seconds to minutes, so a
// create whose outcome was unknown can, after the grace, be made again. An
// issue that carries an item's marker but is not the issue the item is
// linked to is such a duplicate: vulnsync keeps the linked issue (the
// item's comments, attachments and key events are there) and resolves the
// other as a duplicate, with a comment naming the one kept, its marker
// removed so it is not found again, and an entry in the sync log. An item
// still waiting on a create of unknown outcome is woken instead: its job
// searches again and adopts the issue now that search shows it.
func (e *Engine) checkDuplicate(ctx context.Context, r *run, is *jira.Issue) error {
	itemID := markedItem(is.Labels)
	if itemID == "" {
		return nil
	}
	var l store.Link
	err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		l, err = tx.GetLink(ctx, itemID)
		return err
	})
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if l.IntegrationID != r.in.ID || l.IssueID == is.ID {
		return nil
	}
	switch l.State {
	case tracker.LinkCreating:
		err := e.st.InTx(ctx, func(tx store.Tx) error {
			return jobs.Enqueue(ctx, tx, itemKey(itemID), syncItem{ItemID: itemID}, e.now())
		})
		e.Notify()
		return err
	case tracker.LinkLinked:
		return r.resolveDuplicate(ctx, itemID, is, l)
	}
	return nil
}

// resolveDuplicate closes dup as a duplicate of the linked issue. It works
// on a copy of the reconciliation's run, for the item and with Duplicate as
// the resolution its transitions send.
func (rr *run) resolveDuplicate(ctx context.Context, itemID string, dup *jira.Issue, kept store.Link) error {
	r := *rr
	r.itemID, r.resolution = itemID, "Duplicate"
	kind := r.kindOf(ctx, itemID)
	body := fmt.Sprintf("Duplicate of %s: vulnsync created this issue a second time for the same vulnerability after a create whose outcome was unknown "+
		"(Jira's search had not shown the first one yet). %s is the issue kept; this one is resolved as a duplicate.", kept.IssueKey, kept.IssueKey)
	err := r.call(ctx, "resolve_duplicate", "POST /issue/{key}/comment", dup.Key, func() error {
		_, err := r.client.AddComment(ctx, dup.Key, body, map[string]any{PropertyKey: map[string]any{"kind": "duplicate_of", "kept": kept.IssueKey}})
		return err
	})
	if err != nil {
		return classify(err)
	}
	err = r.call(ctx, "resolve_duplicate", "PUT /issue/{key} (remove the marker)", dup.Key, func() error {
		return r.client.EditIssue(ctx, dup.Key, nil, map[string][]jira.Op{"labels": {{"remove": Marker(itemID)}}})
	})
	if err != nil {
		return classify(err)
	}
	if target := r.doneStatus(kind); target != "" && r.category(kind, dup.Status.Name) != "done" {
		if _, err := r.transitionTo(ctx, kind, dup.Key, dup.Status.Name, target); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	r.record(ctx, "resolve_duplicate", fmt.Sprintf("%s resolved as a duplicate of %s (one item, two issues after a create of unknown outcome; %s kept)",
		dup.Key, kept.IssueKey, kept.IssueKey), dup.Key, time.Now(), nil)
	return nil
}

// kindOf reads an item's kind ("" when it is gone).
func (r *run) kindOf(ctx context.Context, itemID string) string {
	var kind string
	_ = r.e.st.View(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		kind = it.Kind
		return err
	})
	return kind
}
