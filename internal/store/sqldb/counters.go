package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The counters of migrations 00007 and 00014 are kept here, by the writers
// of the rows they count and in the same transaction (CreateItem,
// UpdateItem, DeleteItem, UpsertLink, DeleteIntegration, BulkCreateItems),
// so that no caller can forget them and a rolled-back change takes its
// count with it. item_counts counts live items per (target, kind, status);
// link_counts counts links of live items per (integration, item kind, link
// state); open_item_days counts open live items per (target, kind,
// severity, day of creation); resolution_months counts changes of status
// to resolved per (target, kind, severity, month) with the seconds each
// took since the item's creation.

// bumpItemCount adds delta to the live items of (target, kind, status).
func (t *tx) bumpItemCount(ctx context.Context, targetID, kind string, status tracker.Status, delta int64) error {
	_, err := t.exec(ctx, `INSERT INTO item_counts (target_id, kind, status, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (target_id, kind, status) DO UPDATE SET n = item_counts.n + excluded.n`,
		targetID, kind, string(status), delta)
	return wrap("count items", err)
}

// bumpLinkCount adds delta to the links of live items of (integration,
// kind, state).
func (t *tx) bumpLinkCount(ctx context.Context, integrationID, kind string, state tracker.LinkState, delta int64) error {
	_, err := t.exec(ctx, `INSERT INTO link_counts (integration_id, kind, state, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, kind, state) DO UPDATE SET n = link_counts.n + excluded.n`,
		integrationID, kind, string(state), delta)
	return wrap("count links", err)
}

// dayOf and monthOf name the UTC day and month of a time, as the
// dashboard counters key them.
func dayOf(at time.Time) string   { return at.UTC().Format(time.DateOnly) }
func monthOf(at time.Time) string { return at.UTC().Format("2006-01") }

// bumpOpenDay adds delta to the open live items of (target, kind,
// severity) created on the day of created.
func (t *tx) bumpOpenDay(ctx context.Context, targetID, kind string, sev tracker.Severity, created time.Time, delta int64) error {
	_, err := t.exec(ctx, `INSERT INTO open_item_days (target_id, kind, severity, created_day, n) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (target_id, kind, severity, created_day) DO UPDATE SET n = open_item_days.n + excluded.n`,
		targetID, kind, string(sev), dayOf(created), delta)
	return wrap("count open items", err)
}

// moveOpenDay keeps open_item_days right across an update: an item that
// was open leaves its (severity) group, one that is open joins its new
// one; nothing is written when neither changes.
func (t *tx) moveOpenDay(ctx context.Context, targetID, kind string, created time.Time, oldStatus tracker.Status, oldSev tracker.Severity, newStatus tracker.Status, newSev tracker.Severity) error {
	wasOpen, isOpen := oldStatus.IsOpen(), newStatus.IsOpen()
	if wasOpen == isOpen && (!isOpen || oldSev == newSev) {
		return nil
	}
	if wasOpen {
		if err := t.bumpOpenDay(ctx, targetID, kind, oldSev, created, -1); err != nil {
			return err
		}
	}
	if isOpen {
		return t.bumpOpenDay(ctx, targetID, kind, newSev, created, 1)
	}
	return nil
}

// addResolution counts one resolution of an item of (target, kind,
// severity) in the month of resolved, with the time it took since created.
func (t *tx) addResolution(ctx context.Context, targetID, kind string, sev tracker.Severity, created, resolved time.Time) error {
	took := max(int64(resolved.Sub(created)/time.Second), 0)
	_, err := t.exec(ctx, `INSERT INTO resolution_months (target_id, kind, severity, month, n, seconds) VALUES (?, ?, ?, ?, 1, ?)
		ON CONFLICT (target_id, kind, severity, month) DO UPDATE SET n = resolution_months.n + 1, seconds = resolution_months.seconds + excluded.seconds`,
		targetID, kind, string(sev), monthOf(resolved), took)
	return wrap("count resolutions", err)
}

// OpenItemDays returns a target's open items per kind, severity and day
// of creation.
func (t *tx) OpenItemDays(ctx context.Context, targetID string) ([]store.OpenItemDay, error) {
	return queryAll(ctx, t, "read open item counts", func(s rowScanner) (store.OpenItemDay, error) {
		var c store.OpenItemDay
		err := s.Scan(&c.Kind, &c.Severity, &c.Day, &c.Count)
		return c, err
	}, `SELECT kind, severity, created_day, n FROM open_item_days WHERE target_id = ? AND n <> 0 ORDER BY kind, severity, created_day`, targetID)
}

// ResolutionMonths returns a target's resolutions per kind, severity and
// month, from since (YYYY-MM) on.
func (t *tx) ResolutionMonths(ctx context.Context, targetID, since string) ([]store.ResolutionMonth, error) {
	if _, err := time.Parse("2006-01", since); err != nil {
		return nil, invalid("resolution months since %q: not a month as YYYY-MM", since)
	}
	return queryAll(ctx, t, "read resolution counts", func(s rowScanner) (store.ResolutionMonth, error) {
		var c store.ResolutionMonth
		err := s.Scan(&c.Kind, &c.Severity, &c.Month, &c.Count, &c.Seconds)
		return c, err
	}, `SELECT kind, severity, month, n, seconds FROM resolution_months WHERE target_id = ? AND month >= ? AND n <> 0
		ORDER BY kind, severity, month`, targetID, since)
}

// CountOverdue counts a target's open items due before today, walking at
// most scanLimit past-due items through items_target_due.
func (t *tx) CountOverdue(ctx context.Context, targetID, today string, scanLimit int) (int, bool, error) {
	if _, err := time.Parse(time.DateOnly, today); err != nil {
		return 0, false, invalid("overdue on %q: not a date as YYYY-MM-DD", today)
	}
	if scanLimit < 1 {
		return 0, false, invalid("counting overdue items needs a scan limit of at least 1, not %d", scanLimit)
	}
	open := make([]string, len(tracker.OpenStatuses))
	args := make([]any, 0, len(open)+3)
	for i, st := range tracker.OpenStatuses {
		open[i] = "?"
		args = append(args, string(st))
	}
	args = append(args, targetID, today, scanLimit)
	var scanned, n int
	err := t.queryRow(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN status IN (`+strings.Join(open, ", ")+`) THEN 1 ELSE 0 END), 0) FROM
		(SELECT status FROM items WHERE target_id = ? AND due_date IS NOT NULL AND due_date < ? AND deleted_at IS NULL LIMIT ?) past`,
		args...).Scan(&scanned, &n)
	if err != nil {
		return 0, false, wrap("count overdue items", err)
	}
	return n, scanned >= scanLimit, nil
}

// TargetItemCounts returns a target's live items per kind and status.
func (t *tx) TargetItemCounts(ctx context.Context, targetID string) ([]store.ItemCount, error) {
	return queryAll(ctx, t, "read item counts", func(s rowScanner) (store.ItemCount, error) {
		var c store.ItemCount
		err := s.Scan(&c.Kind, &c.Status, &c.Count)
		return c, err
	}, `SELECT kind, status, n FROM item_counts WHERE target_id = ? AND n <> 0 ORDER BY kind, status`, targetID)
}

// LinkCounts returns the links of an integration's live items per item
// kind and link state.
func (t *tx) LinkCounts(ctx context.Context, integrationID string) ([]store.LinkCount, error) {
	return queryAll(ctx, t, "read link counts", func(s rowScanner) (store.LinkCount, error) {
		var c store.LinkCount
		err := s.Scan(&c.Kind, &c.State, &c.Count)
		return c, err
	}, `SELECT kind, state, n FROM link_counts WHERE integration_id = ? AND n <> 0 ORDER BY kind, state`, integrationID)
}

// counterKey is one counted group of item_counts or link_counts: three
// names.
type counterKey [3]string

// openDayKey is one counted group of open_item_days: target, kind,
// severity and day.
type openDayKey [4]string

// recounted describes a counter table the recount checks: the names that
// key a group, how people read them, the stored rows and the rows' truth.
type recounted struct {
	table, stored, actual string
	cols, label           []string
}

// RecountCounters recomputes the counter tables from the rows they count
// (item_counts, link_counts, open_item_days; resolution_months counts
// past events and is not recomputed), replaces what differs and returns
// the differences. On PostgreSQL the counter tables are locked first
// (EXCLUSIVE: reads go on, writers that would change a counter wait), so
// the recount and the writers cannot interleave; on SQLite the write
// transaction already excludes them.
func (t *tx) RecountCounters(ctx context.Context) ([]store.CounterDrift, error) {
	if t.d.dollar {
		if _, err := t.exec(ctx, `LOCK TABLE item_counts, link_counts, open_item_days IN EXCLUSIVE MODE`); err != nil {
			return nil, wrap("recount counters: lock", err)
		}
	}
	day := `strftime('%Y-%m-%d', created_at / 1000000, 'unixepoch')`
	if t.d.dollar {
		day = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
	}
	open := make([]string, len(tracker.OpenStatuses))
	for i, st := range tracker.OpenStatuses {
		open[i] = "'" + string(st) + "'"
	}
	var drift []store.CounterDrift
	for _, c := range []recounted{
		{"item_counts", `SELECT target_id, kind, status, n FROM item_counts`,
			`SELECT target_id, kind, status, COUNT(*) FROM items WHERE deleted_at IS NULL GROUP BY target_id, kind, status`,
			[]string{"target_id", "kind", "status"}, []string{"target", "kind", "status"}},
		{"link_counts", `SELECT integration_id, kind, state, n FROM link_counts`,
			`SELECT l.integration_id, i.kind, l.state, COUNT(*) FROM links l JOIN items i ON i.id = l.item_id
				WHERE i.deleted_at IS NULL GROUP BY l.integration_id, i.kind, l.state`,
			[]string{"integration_id", "kind", "state"}, []string{"integration", "kind", "state"}},
		{"open_item_days", `SELECT target_id, kind, severity, created_day, n FROM open_item_days`,
			`SELECT target_id, kind, severity, ` + day + `, COUNT(*) FROM items
				WHERE deleted_at IS NULL AND status IN (` + strings.Join(open, ", ") + `) GROUP BY 1, 2, 3, 4`,
			[]string{"target_id", "kind", "severity", "created_day"}, []string{"target", "kind", "severity", "created"}},
	} {
		d, err := t.recount(ctx, c)
		if err != nil {
			return nil, err
		}
		drift = append(drift, d...)
	}
	return drift, nil
}

// recount compares one counter table with the truth and corrects it.
func (t *tx) recount(ctx context.Context, c recounted) ([]store.CounterDrift, error) {
	stored, err := t.readCounters(ctx, c.stored, len(c.cols))
	if err != nil {
		return nil, wrap("recount counters: read "+c.table, err)
	}
	actual, err := t.readCounters(ctx, c.actual, len(c.cols))
	if err != nil {
		return nil, wrap("recount counters: count for "+c.table, err)
	}
	for k := range stored {
		if _, ok := actual[k]; !ok {
			actual[k] = 0
		}
	}
	var drift []store.CounterDrift
	for k, n := range actual {
		s, had := stored[k]
		if s == n && had {
			continue
		}
		if !had && n == 0 {
			continue
		}
		names := strings.Split(k, "\x00")
		if s != n {
			key := make([]string, len(names))
			for i, name := range names {
				key[i] = c.label[i] + "=" + name
			}
			drift = append(drift, store.CounterDrift{Counter: c.table, Stored: s, Actual: n, Key: strings.Join(key, ", ")})
		}
		q := `INSERT INTO ` + c.table + ` (` + strings.Join(c.cols, ", ") + `, n) VALUES (` + strings.Repeat("?, ", len(c.cols)) + `?)
			ON CONFLICT (` + strings.Join(c.cols, ", ") + `) DO UPDATE SET n = excluded.n`
		args := make([]any, 0, len(names)+1)
		for _, name := range names {
			args = append(args, name)
		}
		if _, err := t.exec(ctx, q, append(args, n)...); err != nil {
			return nil, wrap("recount counters: correct "+c.table, err)
		}
	}
	return drift, nil
}

// readCounters reads rows of width names and a count, keyed by the names
// joined with NUL.
func (t *tx) readCounters(ctx context.Context, q string, width int) (map[string]int64, error) {
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	names := make([]string, width)
	dest := make([]any, width+1)
	for i := range names {
		dest[i] = &names[i]
	}
	var n int64
	dest[width] = &n
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out[strings.Join(names, "\x00")] += n
	}
	return out, rows.Err()
}

// bulkRows bounds the rows of one multi-row INSERT of BulkCreateItems (16
// parameters per item), under both databases' parameter limits.
const bulkRows = 500

// BulkCreateItems stores new items and links in one transaction with
// multi-row INSERTs and bumps the counters once per group. The items'
// targets, parents and the links' integrations must exist (the foreign
// keys say so); nothing else is checked beyond the item rules, and no
// history rows or sync jobs are written: it loads data, as a restore would.
func (db *DB) BulkCreateItems(ctx context.Context, items []tracker.Item, links []store.Link) error {
	return db.InTx(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		itemDelta := map[counterKey]int64{}
		openDelta := map[openDayKey]int64{}
		kinds := make(map[string]string, len(items))
		for start := 0; start < len(items); start += bulkRows {
			batch := items[start:min(start+bulkRows, len(items))]
			args := make([]any, 0, 13*len(batch))
			for _, it := range batch {
				if err := checkItem(it); err != nil {
					return err
				}
				fields, times, err := encodeItemDocs(it)
				if err != nil {
					return err
				}
				var parent any
				if it.ParentID != "" {
					parent = it.ParentID
				}
				created := t.stamp(it.CreatedAt)
				updated := created
				if !it.UpdatedAt.IsZero() {
					updated = tracker.Truncate(it.UpdatedAt)
				}
				args = append(args, it.ID, it.TargetID, it.Kind, parent, it.Title, it.Description, string(it.Severity), string(it.Status),
					fields, times, it.Version, t.d.ts(created), t.d.ts(updated), nullString(it.Fingerprint), nullString(it.Scanner), dueDate(it))
				itemDelta[counterKey{it.TargetID, it.Kind, string(it.Status)}]++
				if it.Status.IsOpen() {
					openDelta[openDayKey{it.TargetID, it.Kind, string(it.Severity), dayOf(created)}]++
				}
				kinds[it.ID] = it.Kind
			}
			rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(batch)), ", ")
			if _, err := t.tx.ExecContext(ctx, t.d.rebind(`INSERT INTO items (`+itemCols+`, due_date) VALUES `+rows), args...); err != nil {
				return wrap("bulk create items", err)
			}
		}
		linkDelta := map[counterKey]int64{}
		for start := 0; start < len(links); start += bulkRows {
			batch := links[start:min(start+bulkRows, len(links))]
			args := make([]any, 0, 7*len(batch))
			for _, l := range batch {
				kind, ok := kinds[l.ItemID]
				if !ok {
					return invalid("bulk link of item %q: the item is not in the same load", l.ItemID)
				}
				synced, err := jsonDoc("link synced state", l.Synced)
				if err != nil {
					return err
				}
				args = append(args, l.ItemID, l.IntegrationID, l.State, l.IssueID, l.IssueKey, synced, t.d.ts(t.stamp(l.UpdatedAt)))
				linkDelta[counterKey{l.IntegrationID, kind, string(l.State)}]++
			}
			rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(batch)), ", ")
			if _, err := t.tx.ExecContext(ctx, t.d.rebind(`INSERT INTO links (`+linkCols+`) VALUES `+rows), args...); err != nil {
				return wrap("bulk create links", err)
			}
		}
		for k, n := range openDelta {
			if _, err := t.exec(ctx, `INSERT INTO open_item_days (target_id, kind, severity, created_day, n) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (target_id, kind, severity, created_day) DO UPDATE SET n = open_item_days.n + excluded.n`, k[0], k[1], k[2], k[3], n); err != nil {
				return wrap("bulk create items: count open items", err)
			}
		}
		for k, n := range itemDelta {
			if err := t.bumpItemCount(ctx, k[0], k[1], tracker.Status(k[2]), n); err != nil {
				return err
			}
		}
		for k, n := range linkDelta {
			if err := t.bumpLinkCount(ctx, k[0], k[1], tracker.LinkState(k[2]), n); err != nil {
				return err
			}
		}
		return nil
	})
}

// SettleBulkLoad vacuums and analyses, on PostgreSQL, the tables a bulk
// load writes (outside any transaction, as VACUUM must run).
func (db *DB) SettleBulkLoad(ctx context.Context) error {
	if db.d.name != "postgres" {
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `VACUUM (ANALYZE) items, links, item_counts, link_counts`); err != nil {
		return fmt.Errorf("settle bulk load: vacuum and analyse: %w", err)
	}
	return nil
}

var _ store.BulkLoader = (*DB)(nil)

// PendingSyncWork counts the pending jobs of the integration's live items
// and the queued deliveries of its linked issues. Each count reads the
// queue, never the target: it walks at most scanLimit pending jobs of the
// kind (through the pending-key index) and scanLimit queued deliveries of
// the connection, and looks each up by key; when either walk reaches the
// limit the counts are lower bounds (AtLeast).
func (t *tx) PendingSyncWork(ctx context.Context, integrationID, jobKind, jobKeyPrefix string, scanLimit int) (store.PendingWork, error) {
	var w store.PendingWork
	if scanLimit < 1 {
		return w, invalid("counting pending sync work needs a scan limit of at least 1, not %d", scanLimit)
	}
	var targetID, connectionID string
	err := t.queryRow(ctx, `SELECT target_id, connection_id FROM integrations WHERE id = ?`, integrationID).Scan(&targetID, &connectionID)
	if errors.Is(err, sql.ErrNoRows) {
		return w, nil
	}
	if err != nil {
		return w, wrap("count pending sync work", err)
	}
	var scanned int
	err = t.queryRow(ctx, `SELECT count(*), count(i.id) FROM
		(SELECT job_key FROM jobs WHERE kind = ? AND state = 'pending' LIMIT ?) j
		LEFT JOIN items i ON substr(j.job_key, 1, CAST(? AS INTEGER)) = CAST(? AS TEXT)
			AND i.id = substr(j.job_key, CAST(? AS INTEGER)) AND i.target_id = ? AND i.deleted_at IS NULL`,
		jobKind, scanLimit, len(jobKeyPrefix), jobKeyPrefix, len(jobKeyPrefix)+1, targetID).Scan(&scanned, &w.Jobs)
	if err != nil {
		return w, wrap("count pending sync jobs", err)
	}
	w.AtLeast = scanned >= scanLimit
	err = t.queryRow(ctx, `SELECT count(*), count(l.item_id) FROM
		(SELECT issue_id FROM deliveries WHERE connection_id = ? AND status = 'queued' LIMIT ?) d
		LEFT JOIN links l ON l.integration_id = ? AND l.issue_id = d.issue_id AND l.issue_id <> ''`,
		connectionID, scanLimit, integrationID).Scan(&scanned, &w.Deliveries)
	if err != nil {
		return w, wrap("count queued deliveries", err)
	}
	w.AtLeast = w.AtLeast || scanned >= scanLimit
	return w, nil
}
