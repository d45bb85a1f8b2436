package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/store"
)

// The monitoring reads of store.OpsTx. Each query is shaped to be answered
// from one of the partial indexes of migration 00006 (or an older one):
// the predicates repeat the index's WHERE clause literally, since neither
// database uses a partial index for a predicate given as a parameter.

// QueueStats counts pending jobs per kind (index jobs_pending_kind).
func (t *tx) QueueStats(ctx context.Context) ([]store.QueueStat, error) {
	return queryAll(ctx, t, "queue stats", func(s rowScanner) (store.QueueStat, error) {
		var q store.QueueStat
		err := s.Scan(&q.Kind, &q.Pending, timeCol{&q.EarliestRunAt})
		return q, err
	}, `SELECT kind, COUNT(*), MIN(run_at) FROM jobs WHERE state = 'pending' GROUP BY kind ORDER BY kind`)
}

// ItemCounts sums the per-target counters of live items per kind and
// status (migration 00007): a few rows per target, where counting the
// items (index items_live_kind_status) read every live item on every
// scrape.
func (t *tx) ItemCounts(ctx context.Context) ([]store.ItemCount, error) {
	return queryAll(ctx, t, "item counts", func(s rowScanner) (store.ItemCount, error) {
		var c store.ItemCount
		err := s.Scan(&c.Kind, &c.Status, &c.Count)
		return c, err
	}, `SELECT kind, status, SUM(n) FROM item_counts GROUP BY kind, status HAVING SUM(n) <> 0 ORDER BY kind, status`)
}

// ConnectionHealth reads the newest webhook (index deliveries_webhooks),
// the queued deliveries (deliveries_queued) and, per integration of the
// connection, its newest failure (sync_events_result). The failures are
// read one integration at a time: a single query over all of them would
// sort every failure of the connection to find the newest.
func (t *tx) ConnectionHealth(ctx context.Context, connectionID string) (store.ConnectionHealth, error) {
	h := store.ConnectionHealth{ConnectionID: connectionID}
	if err := t.connectionKnown(ctx, "connection health", connectionID); err != nil {
		return h, err
	}
	err := t.queryRow(ctx, `SELECT received_at FROM deliveries WHERE connection_id = ? AND event <> 'vulnsync:reconcile' ORDER BY id DESC LIMIT 1`,
		connectionID).Scan(timeCol{&h.LastWebhookAt})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, wrap("connection health: last webhook", err)
	}
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE connection_id = ? AND status = 'queued'`, connectionID).Scan(&h.QueuedDeliveries); err != nil {
		return h, wrap("connection health: queued deliveries", err)
	}
	ids, err := queryAll(ctx, t, "connection health: integrations", func(s rowScanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, `SELECT id FROM integrations WHERE connection_id = ?`, connectionID)
	if err != nil {
		return h, err
	}
	for _, id := range ids {
		evs, err := queryAll(ctx, t, "connection health: last error", scanSyncEvent,
			`SELECT `+syncEventCols+` FROM sync_events WHERE integration_id = ? AND result = 'error' ORDER BY at DESC, id DESC LIMIT 1`, id)
		if err != nil {
			return h, err
		}
		if len(evs) == 1 && (h.LastError.ID == 0 || evs[0].At.After(h.LastError.At) ||
			evs[0].At.Equal(h.LastError.At) && evs[0].ID > h.LastError.ID) {
			h.LastError = evs[0]
		}
	}
	return h, nil
}

// migrationVersions lists the versions of the migrations embedded for a
// dialect (the NNNNN prefix of each file name), in order.
func migrationVersions(dir string) ([]int64, error) {
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []int64
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: the name does not start with a version: %w", e.Name(), err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// PendingMigrations compares the embedded migrations with goose's version
// table, read directly (on SQLite through the reader pool): goose's own
// Provider would queue behind the single writer connection, and readiness
// must not wait for a long write.
func (db *DB) PendingMigrations(ctx context.Context) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT version_id, is_applied FROM goose_db_version`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		var ok bool
		if err := rows.Scan(&v, &ok); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		if ok {
			applied[v] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	var pending []int64
	for _, v := range db.migrations {
		if !applied[v] {
			pending = append(pending, v)
		}
	}
	return pending, nil
}
