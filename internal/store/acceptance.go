package store

import (
	"context"
	"time"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// AcceptanceTx keeps risk acceptances (issue 16): requests, their
// decisions and expiries.
type AcceptanceTx interface {
	// CreateAcceptance stores a new acceptance; an item has at most one
	// pending or approved acceptance at a time (EConflict otherwise).
	CreateAcceptance(ctx context.Context, a tracker.Acceptance) error
	// GetAcceptance returns one acceptance (ENotFound when missing).
	GetAcceptance(ctx context.Context, id string) (tracker.Acceptance, error)
	// UpdateAcceptance stores a's state and decision, provided its stored
	// state is still from (EConflict otherwise: someone decided first).
	UpdateAcceptance(ctx context.Context, a tracker.Acceptance, from tracker.AcceptanceState) error
	// OpenAcceptance returns the item's pending or approved acceptance
	// (ENotFound when it has none).
	OpenAcceptance(ctx context.Context, itemID string) (tracker.Acceptance, error)
	// ListAcceptances returns a page, newest first (keyset by id).
	ListAcceptances(ctx context.Context, f AcceptanceFilter) (AcceptancePage, error)
	// DueAcceptances returns up to limit approved acceptances whose expiry
	// is at or before now, oldest expiry first.
	DueAcceptances(ctx context.Context, now time.Time, limit int) ([]tracker.Acceptance, error)
}

// AcceptanceFilter selects acceptances: by state and item when set.
// Cursor is the NextCursor of the previous page.
type AcceptanceFilter struct {
	State  tracker.AcceptanceState
	ItemID string
	Cursor string
	Limit  int
}

// AcceptancePage is one page of acceptances; NextCursor is empty on the
// last page.
type AcceptancePage struct {
	Acceptances []tracker.Acceptance
	NextCursor  string
}
