package jirasync

import (
	"context"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// noticePrefix marks, in a recorded delivery's event, a delivery that came
// unsigned (Jira Data Center before 10, authenticated by the token in its
// URL). A URL can leak (proxy logs, Jira's admin pages), so such a delivery
// is only a notice that something happened to an issue: applying it reads
// the issue, or its comments, from Jira's REST API and applies that truth;
// nothing in the body is trusted.
const noticePrefix = "notice:"

// applyNotice applies an unsigned delivery by reading Jira.
func (r *run) applyNotice(ctx context.Context, s *snapshot, d store.Delivery) (string, error) {
	if s.link.State != tracker.LinkLinked {
		return "the item is no longer linked", nil
	}
	ev, err := jirahook.Parse(d.Body)
	if err != nil {
		return "", err
	}
	if kind, ok := ev.CommentEvent(); ok {
		return r.pullComment(ctx, s, ev.Comment.ID, kind)
	}
	return r.pull(ctx, s)
}

// pullComment applies what Jira holds for one comment a notice named: its
// text as Jira has it now, or its deletion when Jira no longer has it. A
// notice that contradicts Jira (a "deleted" comment that exists) is not
// applied.
func (r *run) pullComment(ctx context.Context, s *snapshot, commentID, kind string) (string, error) {
	var comments []jira.Comment
	err := r.call(ctx, "pull comments", "GET /issue/{key}/comment", s.link.IssueKey, func() error {
		var err error
		comments, err = r.client.Comments(ctx, s.link.IssueKey)
		return err
	})
	if jira.IsNotFound(err) {
		return "", r.issueDeleted(ctx, s, jira.User{}, r.e.now())
	}
	if err != nil {
		return "", classify(err)
	}
	for i := range comments {
		c := comments[i]
		if c.ID != commentID {
			continue
		}
		if kind == jirahook.CommentDeleted {
			return "the notice says the comment was deleted, but Jira still has it: not applied", nil
		}
		ev := &jirahook.Event{Kind: jirahook.CommentCreated, Time: firstTime(c.Updated, c.Created), IssueID: s.link.IssueID, Comment: &c}
		note, err := r.applyComment(ctx, s, ev, jirahook.CommentCreated)
		if err != nil || note != "comment already mirrored" {
			return note, err
		}
		return r.applyComment(ctx, s, ev, jirahook.CommentUpdated)
	}
	// Jira has no such comment (any more): a deletion, whatever the notice
	// said; a comment never mirrored is simply ignored.
	ev := &jirahook.Event{Kind: jirahook.CommentDeleted, Time: r.e.now(), IssueID: s.link.IssueID, Comment: &jira.Comment{ID: commentID}}
	return r.applyComment(ctx, s, ev, jirahook.CommentDeleted)
}
