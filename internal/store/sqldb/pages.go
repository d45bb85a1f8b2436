package sqldb

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Keyset pagination (store.PagesTx). A page is read from an index in the
// order it returns rows, starting strictly after the sort key of the last
// row of the previous page, which its cursor carries: a page costs its own
// rows whatever its depth, where OFFSET would read every row before it.
// Cursors are opaque to callers (base64url of "|"-separated parts, the id
// last so that it may hold any character).

// encodeKeys makes a cursor of sort-key parts.
func encodeKeys(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "|")))
}

// decodeKeys reads a cursor of n parts.
func decodeKeys(c string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 0 && len(b) <= 2*store.MaxIDLen {
		if parts := strings.SplitN(string(b), "|", n); len(parts) == n && parts[n-1] != "" {
			return parts, nil
		}
	}
	return nil, invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
}

// cursorTime reads a cursor part written by timeKey.
func cursorTime(s string) (time.Time, error) {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
	}
	return time.UnixMicro(us).UTC(), nil
}

func timeKey(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// ListHistoryPage returns a page of an item's history rows by id (index
// history_item).
func (t *tx) ListHistoryPage(ctx context.Context, f store.PageFilter) (store.HistoryPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.HistoryPage{}, err
	}
	q := historyPageQuery
	args := []any{f.ItemID}
	if f.Cursor != "" {
		parts, err := decodeKeys(f.Cursor, 1)
		if err != nil {
			return store.HistoryPage{}, err
		}
		after, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil {
			return store.HistoryPage{}, invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
		}
		q = historyPageAfterQuery
		args = append(args, after)
	}
	if err := t.itemKnown(ctx, "list history", f.ItemID); err != nil {
		return store.HistoryPage{}, err
	}
	hs, err := queryAll(ctx, t, "list history", scanHistory, q, append(args, limit+1)...)
	if err != nil {
		return store.HistoryPage{}, err
	}
	page := store.HistoryPage{Entries: hs}
	if len(hs) > limit {
		page.Entries = hs[:limit]
		page.NextCursor = encodeKeys(strconv.FormatInt(hs[limit-1].ID, 10))
	}
	return page, nil
}

const (
	historyCols           = `id, item_id, field, old, new, actor, origin, at`
	historyPageQuery      = `SELECT ` + historyCols + ` FROM history WHERE item_id = ? ORDER BY id LIMIT ?`
	historyPageAfterQuery = `SELECT ` + historyCols + ` FROM history WHERE item_id = ? AND id > ? ORDER BY id LIMIT ?`
)

func scanHistory(s rowScanner) (tracker.HistoryEntry, error) {
	var h tracker.HistoryEntry
	var origin string
	err := s.Scan(&h.ID, &h.ItemID, &h.Field, &h.Old, &h.New, &h.Actor, &origin, timeCol{&h.At})
	h.Origin = tracker.Origin(origin)
	return h, err
}

const (
	commentPageQuery      = `SELECT ` + commentCols + ` FROM comments WHERE item_id = ? AND deleted_at IS NULL ORDER BY created_at, id LIMIT ?`
	commentPageAfterQuery = `SELECT ` + commentCols + ` FROM comments WHERE item_id = ? AND deleted_at IS NULL AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`
)

// ListCommentsPage returns a page of an item's live comments by (creation
// time, id) (index comments_item).
func (t *tx) ListCommentsPage(ctx context.Context, f store.PageFilter) (store.CommentPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.CommentPage{}, err
	}
	q := commentPageQuery
	args := []any{f.ItemID}
	if f.Cursor != "" {
		parts, err := decodeKeys(f.Cursor, 2)
		if err != nil {
			return store.CommentPage{}, err
		}
		at, err := cursorTime(parts[0])
		if err != nil {
			return store.CommentPage{}, err
		}
		q = commentPageAfterQuery
		args = append(args, t.d.ts(at), parts[1])
	}
	if err := t.itemKnown(ctx, "list comments", f.ItemID); err != nil {
		return store.CommentPage{}, err
	}
	cs, err := queryAll(ctx, t, "list comments", func(s rowScanner) (tracker.Comment, error) { return scanComment(s) }, q, append(args, limit+1)...)
	if err != nil {
		return store.CommentPage{}, err
	}
	page := store.CommentPage{Comments: cs}
	if len(cs) > limit {
		page.Comments = cs[:limit]
		last := cs[limit-1]
		page.NextCursor = encodeKeys(timeKey(last.CreatedAt), last.ID)
	}
	return page, nil
}

// syncEventPhase is one part of a sync log listing: with FailuresFirst the
// errors ("e") come before the rest ("r"); otherwise there is one part
// ("a"). The cursor names the part its row came from.
type syncEventPhase struct{ name, cond string }

// ListSyncEventsPage returns a page of the sync log newest first, by (at,
// id). Each part is one indexed range: sync_events_item for an item,
// sync_events_action, _result or _direction for those filters,
// sync_events_result for the errors, sync_events_integration otherwise.
// "The rest after the errors" skips the errors in that range: they are the
// exception, and the filter the listing needs.
func (t *tx) ListSyncEventsPage(ctx context.Context, f store.SyncEventFilter) (store.SyncEventPage, error) {
	if f.IntegrationID == "" {
		return store.SyncEventPage{}, invalid("listing sync events needs an integration id")
	}
	limit := f.Limit
	switch {
	case limit < 0:
		return store.SyncEventPage{}, invalid("limit must not be negative")
	case limit == 0:
		limit = store.DefaultEventPageSize
	case limit > store.MaxEventPageSize:
		limit = store.MaxEventPageSize
	}
	p := tracker.Problems{}
	if f.Result != "" {
		oneOf(p, "result", f.Result, "ok", "error", "skipped")
	}
	if f.Direction != "" {
		oneOf(p, "direction", f.Direction, "to_jira", "from_jira")
	}
	if err := p.Err(tracker.EInvalid, "invalid sync log filter"); err != nil {
		return store.SyncEventPage{}, err
	}
	where := `integration_id = ?`
	args := []any{f.IntegrationID}
	for _, c := range []struct{ col, v string }{{"item_id", f.ItemID}, {"action", f.Action}, {"result", f.Result}, {"direction", f.Direction}} {
		if c.v != "" {
			where += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	phases := []syncEventPhase{{"a", ""}}
	if f.FailuresFirst && f.Result == "" {
		phases = []syncEventPhase{{"e", ` AND result = 'error'`}, {"r", ` AND result <> 'error'`}}
	}
	first, afterAt, afterID := 0, time.Time{}, int64(0)
	if f.Cursor != "" {
		parts, err := decodeKeys(f.Cursor, 3)
		if err != nil {
			return store.SyncEventPage{}, err
		}
		first = slices.IndexFunc(phases, func(ph syncEventPhase) bool { return ph.name == parts[0] })
		at, errAt := cursorTime(parts[1])
		id, errID := strconv.ParseInt(parts[2], 10, 64)
		if first < 0 || errAt != nil || errID != nil {
			return store.SyncEventPage{}, invalid("invalid cursor: pass the next_cursor of the previous page with the same filters")
		}
		afterAt, afterID = at, id
	}
	var evs []store.SyncEvent
	var from []string
	for i := first; i < len(phases) && len(evs) <= limit; i++ {
		q := `SELECT ` + syncEventCols + ` FROM sync_events WHERE ` + where + phases[i].cond
		qargs := slices.Clone(args)
		if i == first && f.Cursor != "" {
			q += ` AND (at, id) < (?, ?)`
			qargs = append(qargs, t.d.ts(afterAt), afterID)
		}
		part, err := queryAll(ctx, t, "list sync events", scanSyncEvent, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(qargs, limit+1-len(evs))...)
		if err != nil {
			return store.SyncEventPage{}, err
		}
		evs = append(evs, part...)
		for range part {
			from = append(from, phases[i].name)
		}
	}
	page := store.SyncEventPage{Events: evs}
	if page.Events == nil {
		page.Events = []store.SyncEvent{}
	}
	if len(evs) > limit {
		page.Events = evs[:limit]
		last := evs[limit-1]
		page.NextCursor = encodeKeys(from[limit-1], timeKey(last.At), strconv.FormatInt(last.ID, 10))
	}
	return page, nil
}
