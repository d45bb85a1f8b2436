package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The counters of migration 00007 are kept here, by the writers of the rows
// they count and in the same transaction (CreateItem, UpdateItem,
// DeleteItem, UpsertLink, DeleteIntegration, BulkCreateItems), so that no
// caller can forget them and a rolled-back change takes its count with it.
// item_counts counts live items per (target, kind, status); link_counts
// counts links of live items per (integration, item kind, link state).

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

// counterKey is one counted group: three names.
type counterKey [3]string

// RecountCounters recomputes both counter tables from items and links,
// replaces what differs and returns the differences. On PostgreSQL the
// counter tables are locked first (EXCLUSIVE: reads go on, writers that
// would change a counter wait), so the recount and the writers cannot
// interleave; on SQLite the write transaction already excludes them.
func (t *tx) RecountCounters(ctx context.Context) ([]store.CounterDrift, error) {
	if t.d.dollar {
		if _, err := t.exec(ctx, `LOCK TABLE item_counts, link_counts IN EXCLUSIVE MODE`); err != nil {
			return nil, wrap("recount counters: lock", err)
		}
	}
	var drift []store.CounterDrift
	for _, c := range []struct {
		table, stored, actual string
		cols                  [3]string
		label                 [3]string
	}{
		{"item_counts", `SELECT target_id, kind, status, n FROM item_counts`,
			`SELECT target_id, kind, status, COUNT(*) FROM items WHERE deleted_at IS NULL GROUP BY target_id, kind, status`,
			[3]string{"target_id", "kind", "status"}, [3]string{"target", "kind", "status"}},
		{"link_counts", `SELECT integration_id, kind, state, n FROM link_counts`,
			`SELECT l.integration_id, i.kind, l.state, COUNT(*) FROM links l JOIN items i ON i.id = l.item_id
				WHERE i.deleted_at IS NULL GROUP BY l.integration_id, i.kind, l.state`,
			[3]string{"integration_id", "kind", "state"}, [3]string{"integration", "kind", "state"}},
	} {
		stored, err := t.readCounters(ctx, c.stored)
		if err != nil {
			return nil, wrap("recount counters: read "+c.table, err)
		}
		actual, err := t.readCounters(ctx, c.actual)
		if err != nil {
			return nil, wrap("recount counters: count for "+c.table, err)
		}
		for k := range stored {
			if _, ok := actual[k]; !ok {
				actual[k] = 0
			}
		}
		for k, n := range actual {
			s, had := stored[k]
			if s == n && had {
				continue
			}
			if !had && n == 0 {
				continue
			}
			if s != n {
				drift = append(drift, store.CounterDrift{Counter: c.table, Stored: s, Actual: n,
					Key: fmt.Sprintf("%s=%s, %s=%s, %s=%s", c.label[0], k[0], c.label[1], k[1], c.label[2], k[2])})
			}
			q := `INSERT INTO ` + c.table + ` (` + strings.Join(c.cols[:], ", ") + `, n) VALUES (?, ?, ?, ?)
				ON CONFLICT (` + strings.Join(c.cols[:], ", ") + `) DO UPDATE SET n = excluded.n`
			if _, err := t.exec(ctx, q, k[0], k[1], k[2], n); err != nil {
				return nil, wrap("recount counters: correct "+c.table, err)
			}
		}
	}
	return drift, nil
}

// readCounters reads rows of three names and a count.
func (t *tx) readCounters(ctx context.Context, q string) (map[counterKey]int64, error) {
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[counterKey]int64{}
	for rows.Next() {
		var k counterKey
		var n int64
		if err := rows.Scan(&k[0], &k[1], &k[2], &n); err != nil {
			return nil, err
		}
		out[k] += n
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
