package sqldb

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The item list (issue 15): filters, word-prefix text search, a sort by
// any column and keyset cursors in both directions. Each sort has an index
// in (target, key, id) order (migration 00012), so a page reads from its
// cursor on; the search is answered by a full-text index (FTS5 on SQLite,
// a GIN tsvector index on PostgreSQL) whose matches the page then orders.

// sevRank orders severities most severe first: the expression of the
// PostgreSQL index items_target_severity_rank; SQLite has it as the
// generated column severity_rank.
const sevRank = `(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END)`

// sortExpr is the SQL key of a sort ("" for creation order: the id alone).
func (t *tx) sortExpr(s store.ItemSort) string {
	switch {
	case s == store.SortSeverity && t.d.name == "sqlite":
		return "severity_rank"
	case s == store.SortAssignee && t.d.name == "sqlite":
		return "assignee"
	case s == store.SortAssignee:
		return pgAssignee
	}
	return sortExpr(s)
}

// pgAssignee is the expression of the PostgreSQL index
// items_target_assignee (SQLite has it as the generated column assignee).
const pgAssignee = `(coalesce(fields ->> 'assignee_email', ''))`

func sortExpr(s store.ItemSort) string {
	switch s {
	case store.SortTitle:
		return "title"
	case store.SortKind:
		return "kind"
	case store.SortSeverity:
		return sevRank
	case store.SortStatus:
		return "status"
	case store.SortUpdated:
		return "updated_at"
	}
	return ""
}

// severityRank is sevRank in Go, for the cursor of the last row.
func severityRank(s tracker.Severity) int {
	if i := slices.Index(tracker.Severities, s); i >= 0 && i < 4 {
		return i
	}
	return 4
}

// sortKey is the cursor part of an item's sort key.
func sortKey(s store.ItemSort, it tracker.Item) string {
	switch s {
	case store.SortTitle:
		return it.Title
	case store.SortKind:
		return it.Kind
	case store.SortSeverity:
		return strconv.Itoa(severityRank(it.Severity))
	case store.SortStatus:
		return string(it.Status)
	case store.SortUpdated:
		return timeKey(it.UpdatedAt)
	case store.SortAssignee:
		a, _ := it.Fields["assignee_email"].(string)
		return a
	}
	return ""
}

// keyArg turns a cursor's key part back into a query argument.
func (t *tx) keyArg(s store.ItemSort, key string) (any, error) {
	switch s {
	case store.SortSeverity:
		n, err := strconv.Atoi(key)
		if err != nil {
			return nil, invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
		}
		return n, nil
	case store.SortUpdated:
		at, err := cursorTime(key)
		if err != nil {
			return nil, err
		}
		return t.d.ts(at), nil
	}
	return key, nil
}

// searchTerms splits a search into lower-case words of letters and digits.
func searchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > store.MaxSearchTerms {
		words = words[:store.MaxSearchTerms]
	}
	return words
}

// itemWhere builds the filter part of the list and count queries.
func (t *tx) itemWhere(ctx context.Context, f store.ItemFilter) (string, []any, error) {
	p := tracker.Problems{}
	if f.TargetID == "" {
		return "", nil, invalid("listing items needs a target id")
	}
	if f.Status != "" && !f.Status.Valid() {
		p.Add("status", "unknown status %q", f.Status)
	}
	if f.Severity != "" && !f.Severity.Valid() {
		p.Add("severity", "unknown severity %q", f.Severity)
	}
	if !f.Sort.Valid() {
		p.Add("sort", "unknown sort %q (allowed: created, title, kind, severity, status, updated, assignee)", f.Sort)
	}
	if len(f.Search) > store.MaxSearchLen {
		p.Add("q", "the search must be at most %d characters", store.MaxSearchLen)
	}
	if f.OverdueOn != "" {
		if _, err := time.Parse(time.DateOnly, f.OverdueOn); err != nil {
			p.Add("overdue", "overdue date %q is not a date as YYYY-MM-DD", f.OverdueOn)
		}
	}
	if err := p.Err(tracker.EInvalid, "invalid item filter"); err != nil {
		return "", nil, err
	}
	q := ` FROM items WHERE target_id = ? AND deleted_at IS NULL`
	args := []any{f.TargetID}
	for _, c := range []struct{ col, v string }{{"kind", f.Kind}, {"status", string(f.Status)}, {"severity", string(f.Severity)}, {"parent_id", f.ParentID}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.TopLevel {
		q += ` AND parent_id IS NULL`
	}
	if f.OverdueOn != "" {
		q += ` AND due_date IS NOT NULL AND due_date < ? AND status IN (?, ?)`
		args = append(args, f.OverdueOn, string(tracker.StatusOpen), string(tracker.StatusInProgress))
	}
	if terms := searchTerms(f.Search); len(terms) > 0 {
		if t.d.name == "postgres" {
			for i, w := range terms {
				terms[i] = w + ":*"
			}
			tsq := strings.Join(terms, " & ")
			ids, few, err := t.searchMatches(ctx, f.TargetID, tsq)
			if err != nil {
				return "", nil, err
			}
			if few {
				q += ` AND id = ANY(?)`
				args = append(args, ids)
			} else {
				q += ` AND search_doc @@ to_tsquery('simple'::regconfig, ?)`
				args = append(args, tsq)
			}
		} else {
			// The matches are read from the FTS index, then ordered
			// and paged: a search costs its matches, never a scan.
			for i, w := range terms {
				terms[i] = `"` + w + `"*`
			}
			q += ` AND id IN (SELECT s.item_id FROM items_fts JOIN item_search s ON s.rowid = items_fts.rowid WHERE items_fts MATCH ?)`
			args = append(args, strings.Join(terms, " AND "))
		}
	}
	return q, args, nil
}

// maxFewMatches bounds the matches of a search PostgreSQL pages by id.
const maxFewMatches = 2000

// searchMatches reads, from the GIN index, the ids of a target's items
// matching a search when there are at most maxFewMatches. PostgreSQL
// cannot estimate how many rows a prefix query matches, and guessing many
// it would walk the sort index testing every row, which costs the whole
// target for a rare word; given the ids it reads just those rows. A
// common word (more matches) is left to the plain condition, under which
// walking the sort index finds a page's matches soon.
func (t *tx) searchMatches(ctx context.Context, targetID, tsq string) ([]string, bool, error) {
	ids, err := queryAll(ctx, t, "search items", func(s rowScanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, `SELECT id FROM items WHERE target_id = ? AND deleted_at IS NULL AND search_doc @@ to_tsquery('simple'::regconfig, ?) LIMIT ?`,
		targetID, tsq, maxFewMatches+1)
	if err != nil {
		return nil, false, err
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, len(ids) <= maxFewMatches, nil
}

// ListItems returns one page of a target's live items in the filter's
// order. A cursor is "n" (the page after) or "p" (the page before), the
// sort and direction it was made for, and the key and id of the row the
// page starts after.
func (t *tx) ListItems(ctx context.Context, f store.ItemFilter) (store.ItemPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.ItemPage{}, err
	}
	where, args, err := t.itemWhere(ctx, f)
	if err != nil {
		return store.ItemPage{}, err
	}
	sort := cmp.Or(f.Sort, store.SortCreated)
	dir := "a"
	if f.Desc {
		dir = "d"
	}
	expr := t.sortExpr(sort)
	back := false
	if f.Cursor != "" {
		parts, err := decodeItemCursor(f.Cursor)
		if err != nil {
			return store.ItemPage{}, err
		}
		if parts[1] != string(sort) || parts[2] != dir || (parts[0] != "n" && parts[0] != "p") {
			return store.ItemPage{}, invalid("invalid cursor: it was made for another sort; pass the cursor with the sort it came with")
		}
		back = parts[0] == "p"
		// Forward in ascending order, or backward in descending: rows
		// after the cursor's.
		op := ">"
		if back != f.Desc {
			op = "<"
		}
		if expr == "" {
			where += ` AND id ` + op + ` ?`
			args = append(args, parts[4])
		} else {
			key, err := t.keyArg(sort, parts[3])
			if err != nil {
				return store.ItemPage{}, err
			}
			where += ` AND (` + expr + `, id) ` + op + ` (?, ?)`
			args = append(args, key, parts[4])
		}
	}
	order := " ASC"
	if back != f.Desc {
		order = " DESC"
	}
	q := `SELECT ` + itemCols + where + ` ORDER BY `
	if expr != "" {
		q += expr + order + `, `
	}
	q += `id` + order + ` LIMIT ?`
	args = append(args, limit+1)

	ok, err := t.exists(ctx, `SELECT 1 FROM targets WHERE id = ?`, f.TargetID)
	if err != nil {
		return store.ItemPage{}, wrap("list items", err)
	}
	if !ok {
		return store.ItemPage{}, notFound("target %q not found", f.TargetID)
	}
	items, err := queryAll(ctx, t, "list items", func(s rowScanner) (tracker.Item, error) { return scanItem(s) }, q, args...)
	if err != nil {
		return store.ItemPage{}, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if back {
		slices.Reverse(items)
	}
	page := store.ItemPage{Items: items}
	if page.Items == nil {
		page.Items = []tracker.Item{}
	}
	if len(items) == 0 {
		return page, nil
	}
	cursor := func(way string, it tracker.Item) string {
		return encodeKeys(way, string(sort), dir, base64.RawURLEncoding.EncodeToString([]byte(sortKey(sort, it))), it.ID)
	}
	// Going forward there is a page before whenever a cursor led here;
	// going back there is a page after always, one before if more rows.
	if (!back && more) || back {
		page.NextCursor = cursor("n", items[len(items)-1])
	}
	if (back && more) || (!back && f.Cursor != "") {
		page.PrevCursor = cursor("p", items[0])
	}
	return page, nil
}

// CountItems counts what ListItems lists for f, up to limit+1 rows.
func (t *tx) CountItems(ctx context.Context, f store.ItemFilter, limit int) (int, error) {
	if limit < 0 {
		return 0, invalid("limit must not be negative")
	}
	where, args, err := t.itemWhere(ctx, f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM (SELECT 1`+where+` LIMIT ?) AS page`, append(args, limit+1)...).Scan(&n); err != nil {
		return 0, wrap("count items", err)
	}
	return n, nil
}

// decodeItemCursor reads a cursor made by ListItems: its key part is
// base64 itself, since a title may hold any character, and may be as long
// as a title.
func decodeItemCursor(c string) ([]string, error) {
	bad := invalid("invalid cursor: pass the next_cursor or prev_cursor of a page unchanged")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > 4*tracker.MaxTitleLen+2*store.MaxIDLen {
		return nil, bad
	}
	if !strings.Contains(string(b), "|") && len(b) <= store.MaxIDLen {
		// A cursor of before sorting (the last id, creation order):
		// still taken, so that clients paging across an upgrade go on.
		return []string{"n", string(store.SortCreated), "a", "", string(b)}, nil
	}
	parts := strings.SplitN(string(b), "|", 5)
	if len(parts) != 5 || parts[4] == "" {
		return nil, bad
	}
	key, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return nil, bad
	}
	parts[3] = string(key)
	return parts, nil
}
