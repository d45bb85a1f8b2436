package sqldb

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// A schema rolled back under the binary (a newer binary started on an
// older schema by hand, say) shows its missing migration as pending.
func TestPendingMigrationsAfterRollback(t *testing.T) {
	backends := map[string]func(testing.TB) *DB{"sqlite": func(tb testing.TB) *DB { return openSQLite(tb) }}
	if os.Getenv("VULNSYNC_TEST_POSTGRES") != "" {
		backends["postgres"] = func(tb testing.TB) *DB { return openPostgres(tb) }
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			if len(db.migrations) < 2 {
				t.Fatalf("embedded migrations = %v, want several", db.migrations)
			}
			newest := db.migrations[len(db.migrations)-1]
			if _, err := db.write.ExecContext(t.Context(), db.d.rebind(`DELETE FROM goose_db_version WHERE version_id = ?`), newest); err != nil {
				t.Fatalf("forget migration %d: %v", newest, err)
			}
			pending, err := db.PendingMigrations(t.Context())
			if err != nil {
				t.Fatalf("PendingMigrations: %v", err)
			}
			if !slices.Equal(pending, []int64{newest}) {
				t.Errorf("PendingMigrations = %v, want [%d]", pending, newest)
			}
		})
	}
}

// The monitoring reads run on every scrape: each must be answered from its
// index, never by scanning the table.
func TestSQLiteOpsQueriesUseIndexes(t *testing.T) {
	db := openSQLite(t)
	plan := func(q string, args ...any) string { return explainSQLite(t, db, q, args) }
	for _, c := range []struct {
		query, index string
		args         []any
	}{
		{`SELECT kind, COUNT(*), MIN(run_at) FROM jobs WHERE state = 'pending' GROUP BY kind ORDER BY kind`, "jobs_pending_kind", nil},
		{`SELECT kind, status, COUNT(*) FROM items WHERE deleted_at IS NULL GROUP BY kind, status ORDER BY kind, status`, "items_live_kind_status", nil},
		{`SELECT received_at FROM deliveries WHERE connection_id = ? AND event <> 'vulnsync:reconcile' ORDER BY id DESC LIMIT 1`, "deliveries_webhooks", []any{"c"}},
		{`SELECT COUNT(*) FROM deliveries WHERE connection_id = ? AND status = 'queued'`, "deliveries_queued", []any{"c"}},
		{`SELECT ` + syncEventCols + ` FROM sync_events WHERE integration_id = ? AND result = 'error' ORDER BY at DESC, id DESC LIMIT 1`, "sync_events_result", []any{"i"}},
	} {
		p := plan(c.query, c.args...)
		if !strings.Contains(p, c.index) {
			t.Errorf("%s\ndoes not use %s:\n%s", c.query, c.index, p)
		}
		if strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\nsorts in a temporary tree:\n%s", c.query, p)
		}
	}
}
