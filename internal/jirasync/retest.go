package jirasync

import (
	"context"
	"fmt"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Failed retests under on_retest_failed: new_issue (issue 16). Some
// workflows forbid reopening a done issue, so an item reopened while its
// issue is done (a failed retest: the scan still finds it, or an analyst
// says so) gets a new issue, linked to the old one, instead of a reopen.
//
// The old issue keeps its history but loses the item's marker label first
// (so neither a create's marker search nor reconciliation's duplicate check
// takes it for the item's issue any more), then the link is reset as the
// recreate policy does and a new issue is created at once. The old key
// rides in the new link's synced state until the issue link is made, so a
// crash in between makes the next run link them.

// retestLinkType is the Jira issue link type between the new and the old
// issue; Relates exists on every default site.
const retestLinkType = "Relates"

// reopensAsNewIssue reports whether pushing the item's status would reopen
// a done issue that the mapping wants replaced instead.
func (r *run) reopensAsNewIssue(s *snapshot, from string) bool {
	if r.doc.OnRetestFailed != mapping.OnRetestFailedNewIssue || from == "" {
		return false
	}
	reopened := s.item.Status == tracker.StatusOpen || s.item.Status == tracker.StatusInProgress
	return reopened && r.category(s.item.Kind, from) == "done"
}

// replaceIssue files the item's new issue in place of its done one.
func (r *run) replaceIssue(ctx context.Context, s *snapshot) error {
	old := s.link
	err := r.call(ctx, "retest_new_issue", "PUT /issue/{key}", old.IssueKey, func() error {
		return r.client.EditIssue(ctx, old.IssueKey, nil, map[string][]jira.Op{"labels": {{"remove": Marker(s.item.ID)}}})
	})
	if err != nil && !jira.IsNotFound(err) {
		return classify(err)
	}
	l := old
	l.State, l.IssueID, l.IssueKey, l.Synced, l.UpdatedAt = tracker.LinkRefused, "", "", state{Previous: old.IssueKey}.encode(), r.e.now()
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, l) }); err != nil {
		return err
	}
	s.link = l
	created, err := r.ensureIssue(ctx, *s)
	if err != nil || !created {
		return err
	}
	fresh, err := r.e.load(ctx, s.item.ID)
	if err != nil {
		return fmt.Errorf("reload item %s after its new issue: %w", s.item.ID, err)
	}
	*s = fresh
	if err := r.keyEvent(ctx, old, fmt.Sprintf("Reopened in vulnsync (**%s**): continued in %s, as this workflow does not reopen done issues.", s.item.Status, s.link.IssueKey)); err != nil {
		return err
	}
	return r.linkPrevious(ctx, s)
}

// linkPrevious links the item's issue to the one it replaced, once.
func (r *run) linkPrevious(ctx context.Context, s *snapshot) error {
	synced := decodeState(s.link.Synced)
	if synced.Previous == "" || s.link.State != tracker.LinkLinked || s.link.IssueKey == "" {
		return nil
	}
	err := r.call(ctx, "issue_link", "POST /issueLink", s.link.IssueKey, func() error {
		return r.client.LinkIssues(ctx, retestLinkType, s.link.IssueKey, synced.Previous)
	})
	if err != nil && !jira.IsNotFound(err) {
		return classify(err)
	}
	synced.Previous = ""
	if err := r.storeLink(ctx, s.item.ID, s.link.IssueID, s.link.IssueKey, synced); err != nil {
		return err
	}
	s.link.Synced = synced.encode()
	return nil
}
