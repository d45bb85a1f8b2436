package service

import (
	"context"
	"fmt"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// MaxBulkItems caps one bulk edit: a page of the list at most.
const MaxBulkItems = store.MaxPageSize

// BulkResult is the outcome of a bulk edit for one item: Err is nil when
// the change was applied (or changed nothing).
type BulkResult struct {
	ItemID string
	Title  string
	Err    error
}

// BulkUpdateItems applies the same patch to each item, one UpdateItem at a
// time, so that each change is validated, recorded in history and synced
// exactly as a single edit is; one item's failure does not stop the
// others. It refuses an empty patch, an empty or oversized selection, and
// items of another target, before changing anything.
func (s *Service) BulkUpdateItems(ctx context.Context, actor Actor, targetID string, ids []string, patch tracker.Patch) ([]BulkResult, error) {
	p := tracker.Problems{}
	switch {
	case len(ids) == 0:
		p.Add("items", "select at least one item")
	case len(ids) > MaxBulkItems:
		p.Add("items", "select at most %d items", MaxBulkItems)
	}
	if patch.Empty() {
		p.Add("patch", "choose a status, a severity or an assignee to set")
	}
	if err := p.Err(tracker.EInvalid, "invalid bulk edit"); err != nil {
		return nil, err
	}
	out := make([]BulkResult, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r := BulkResult{ItemID: id}
		it, err := s.GetItem(ctx, id)
		switch {
		case err != nil:
			r.Err = err
		case it.TargetID != targetID:
			r.Err = tracker.Errorf(tracker.EInvalid, "item %s belongs to another target", id)
		default:
			r.Title = it.Title
			if _, err := s.UpdateItem(ctx, actor, id, patch); err != nil {
				r.Err = err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// AssignableUsers lists the active users an item may be assigned to (the
// choices of an assignee field); anyone who may read items may see them.
func (s *Service) AssignableUsers(ctx context.Context) ([]tracker.User, error) {
	var out []tracker.User
	err := s.st.View(ctx, func(tx store.Tx) error {
		us, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			if u.Active {
				out = append(out, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list assignable users: %w", err)
	}
	return out, nil
}

// CountItems counts the items f selects, up to limit+1 (more means "more
// than limit"): the total of a filtered list, read in bounded time.
func (s *Service) CountItems(ctx context.Context, f store.ItemFilter, limit int) (n int, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		n, err = tx.CountItems(ctx, f, limit)
		return err
	})
	return n, err
}
