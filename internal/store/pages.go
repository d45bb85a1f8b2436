package store

import (
	"context"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// CountsTx reads the counters the writers keep in the same transaction as
// each change, so that counts and backfill progress cost a few rows
// whatever the size of a target (issue 13: every read is O(page)), and
// recomputes them when asked, reporting any drift.
type CountsTx interface {
	// TargetItemCounts returns the live items of a target per kind and
	// status (only the non-zero ones), from the counters.
	TargetItemCounts(ctx context.Context, targetID string) ([]ItemCount, error)
	// LinkCounts returns the links of an integration's live items per item
	// kind and link state (only the non-zero ones), from the counters.
	LinkCounts(ctx context.Context, integrationID string) ([]LinkCount, error)
	// RecountCounters recomputes every counter from the rows it counts
	// (a scan of items and links: maintenance, never on a request path),
	// corrects the stored counters and returns where they had drifted
	// (none when the writers kept them right).
	RecountCounters(ctx context.Context) ([]CounterDrift, error)
	// OpenItemDays returns a target's open items (tracker.OpenStatuses)
	// per kind, severity and day of creation (only the non-zero ones):
	// the dashboard's severity and age charts, a few rows per day.
	OpenItemDays(ctx context.Context, targetID string) ([]OpenItemDay, error)
	// ResolutionMonths returns a target's resolutions per kind, severity
	// and month (YYYY-MM) from the month since on, with the seconds they
	// took from creation: the dashboard's mean time to resolve.
	ResolutionMonths(ctx context.Context, targetID, since string) ([]ResolutionMonth, error)
	// CountOverdue counts a target's open live items due before today
	// (YYYY-MM-DD), walking at most scanLimit items with a past due date
	// (through their index); atLeast says the walk reached the limit and
	// the count is a lower bound.
	CountOverdue(ctx context.Context, targetID, today string, scanLimit int) (n int, atLeast bool, err error)
}

// OpenItemDay counts the open live items of one kind and severity created
// on one day (YYYY-MM-DD, UTC).
type OpenItemDay struct {
	Kind     string
	Severity tracker.Severity
	Day      string
	Count    int
}

// ResolutionMonth counts the items of one kind and severity resolved in
// one month (YYYY-MM, UTC) and the seconds they took in all, from their
// creation to the change of status to resolved. A reopened item resolved
// again counts again.
type ResolutionMonth struct {
	Kind     string
	Severity tracker.Severity
	Month    string
	Count    int
	Seconds  int64
}

// LinkCount is the number of links of live items of one kind in one state.
type LinkCount struct {
	Kind  string
	State tracker.LinkState
	Count int
}

// CounterDrift is one counter that did not match a recount: Stored is what
// the counter said, Actual what the rows say (now stored).
type CounterDrift struct {
	// Counter names the table ("item_counts" or "link_counts").
	Counter string
	// Key names the counted group, e.g. "target=…, kind=…, status=…".
	Key    string
	Stored int64
	Actual int64
}

// PagesTx lists an item's history and comments a page at a time (keyset
// pagination: each page is read from an index, starting after the last
// row of the previous one), and the sync log with filters.
type PagesTx interface {
	// ListHistoryPage returns a page of an item's history rows in the
	// order they were stored, also for a deleted item.
	ListHistoryPage(ctx context.Context, f PageFilter) (HistoryPage, error)
	// ListCommentsPage returns a page of an item's live comments, oldest
	// first.
	ListCommentsPage(ctx context.Context, f PageFilter) (CommentPage, error)
	// ListSyncEventsPage returns a page of the sync log (see
	// SyncEventFilter); NextCursor continues it with the same filter.
	ListSyncEventsPage(ctx context.Context, f SyncEventFilter) (SyncEventPage, error)
}

// PageFilter selects one page of an item's rows. Cursor is the NextCursor
// of the previous page ("" for the first); Limit defaults to
// DefaultPageSize and is capped at MaxPageSize.
type PageFilter struct {
	ItemID string
	Cursor string
	Limit  int
}

// HistoryPage is one page of history; NextCursor is empty on the last page.
type HistoryPage struct {
	Entries    []tracker.HistoryEntry
	NextCursor string
}

// CommentPage is one page of comments; NextCursor is empty on the last page.
type CommentPage struct {
	Comments   []tracker.Comment
	NextCursor string
}

// SyncEventPage is one page of the sync log; NextCursor is empty on the
// last page.
type SyncEventPage struct {
	Events     []SyncEvent
	NextCursor string
}

// BulkLoader is implemented by stores that can write many new items and
// their links at once (multi-row inserts in one transaction, counters
// updated once per batch). The bench loads a million items with it; the
// product writes through Tx.
type BulkLoader interface {
	// BulkCreateItems stores new items (no history rows, no sync jobs)
	// and the given links of them, in one transaction.
	BulkCreateItems(ctx context.Context, items []tracker.Item, links []Link) error
	// SettleBulkLoad brings the store to the state it would reach on its
	// own some time after a load, so what is measured next is the steady
	// state: PostgreSQL vacuums and analyses the loaded tables (otherwise
	// autovacuum does it in the middle of the measurement, and the planner
	// has no statistics until then); SQLite has nothing to do.
	SettleBulkLoad(ctx context.Context) error
}
