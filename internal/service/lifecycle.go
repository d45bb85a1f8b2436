package service

import (
	"context"
	"fmt"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Retest records an analyst's verdict on a claimed fix: an item awaiting
// retest (fixed) passes and is resolved, or fails and is reopened. The
// verdict and its evidence become a comment on the item in the same
// transaction, so the sync carries both to the Jira issue (resolved stays
// done there; a reopened item moves its issue back, the comment saying
// why). An item not awaiting retest is refused (EConflict): a verdict on
// an open item would be a silent status change.
func (s *Service) Retest(ctx context.Context, actor Actor, itemID string, v tracker.Retest) (tracker.Item, error) {
	if err := v.Validate(); err != nil {
		return tracker.Item{}, err
	}
	var it tracker.Item
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if it, err = tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		if !it.Status.AwaitsRetest() {
			return tracker.Errorf(tracker.EConflict, "item %s is %s, not awaiting a retest (%s)", itemID, it.Status, tracker.StatusFixed)
		}
		next, body := tracker.StatusResolved, "**Retest passed** — resolved. Evidence:\n\n"+v.Evidence
		if v.Result == tracker.RetestFail {
			next, body = tracker.StatusOpen, "**Retest failed** — reopened. Evidence:\n\n"+v.Evidence
		}
		if err := s.setStatus(ctx, tx, actor, &it, next); err != nil {
			return err
		}
		at := s.Now()
		c := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: actor.Name, Email: actor.Email},
			Body: body, CreatedAt: at, UpdatedAt: at, Origin: actor.Origin}
		if err := tx.CreateComment(ctx, c); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Type: CommentCreated, Item: it, Comment: &c, Origin: actor.Origin})
	})
	if err != nil {
		return tracker.Item{}, fmt.Errorf("retest item %s: %w", itemID, err)
	}
	return it, nil
}

// setStatus moves an item to status st inside tx, with its history row and
// change event.
func (s *Service) setStatus(ctx context.Context, tx store.Tx, actor Actor, it *tracker.Item, st tracker.Status) error {
	c, err := catalog(ctx, tx)
	if err != nil {
		return err
	}
	prev := it.Version
	hist, err := c.Apply(it, tracker.Patch{Status: &st}, tracker.Change{Actor: actor.label(), Origin: actor.Origin, At: s.clock()})
	if err != nil || len(hist) == 0 {
		return err
	}
	if err := tx.UpdateItem(ctx, *it, prev, hist); err != nil {
		return err
	}
	return s.emit(ctx, tx, Event{Type: ItemUpdated, Item: *it, History: hist, Origin: actor.Origin})
}
