package sqldb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func newTestID() string { return uuid.Must(uuid.NewV7()).String() }

// pageFixture is a target with an integration, a vulnerability with
// findings, comments, history, sync events and a failed job: something for
// every O(page) read to return.
type pageFixture struct {
	targetID, integrationID, vulnID string
}

func newPageFixture(t *testing.T, db *DB) pageFixture {
	t.Helper()
	ctx := t.Context()
	at := tracker.Truncate(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	f := pageFixture{targetID: newTestID(), integrationID: newTestID(), vulnID: newTestID()}
	conn := store.Connection{ID: newTestID(), Name: "plan", BaseURL: "https://plan.atlassian.net", Deployment: "cloud", AuthType: "basic",
		Email: "bot@example.test", SealedSecret: "sealed", AccountID: "acc", AccountName: "bot"}
	err := db.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateTarget(ctx, tracker.Target{ID: f.targetID, Name: "plan"}); err != nil {
			return err
		}
		if err := tx.CreateConnection(ctx, conn); err != nil {
			return err
		}
		if err := tx.CreateIntegration(ctx, store.Integration{ID: f.integrationID, ConnectionID: conn.ID, TargetID: f.targetID,
			ProjectKey: "PLAN", State: tracker.IntegrationNeedsMapping}); err != nil {
			return err
		}
		mk := func(id, kind, parent string, status tracker.Status) error {
			return tx.CreateItem(ctx, tracker.Item{ID: id, TargetID: f.targetID, Kind: kind, ParentID: parent, Title: kind,
				Severity: tracker.SeverityHigh, Status: status, Version: 1, CreatedAt: at},
				[]tracker.HistoryEntry{{Field: "created", New: "true", Actor: "a", Origin: tracker.OriginVulnsync, At: at}})
		}
		if err := mk(f.vulnID, tracker.KindVulnerability, "", tracker.StatusOpen); err != nil {
			return err
		}
		if err := tx.UpdateItem(ctx, tracker.Item{ID: f.vulnID, TargetID: f.targetID, Kind: tracker.KindVulnerability, Title: "renamed",
			Severity: tracker.SeverityHigh, Status: tracker.StatusOpen, Version: 2, UpdatedAt: at},
			1, []tracker.HistoryEntry{{Field: "title", New: "renamed", Actor: "a", Origin: tracker.OriginVulnsync, At: at}}); err != nil {
			return err
		}
		for i := range 3 {
			if err := mk(newTestID(), tracker.KindFinding, f.vulnID, tracker.StatusInProgress); err != nil {
				return err
			}
			if err := tx.CreateComment(ctx, tracker.Comment{ID: newTestID(), ItemID: f.vulnID, Body: fmt.Sprint("c", i),
				Origin: tracker.OriginVulnsync, CreatedAt: at}); err != nil {
				return err
			}
			for range 2 {
				if err := tx.AddSyncEvent(ctx, store.SyncEvent{IntegrationID: f.integrationID, ItemID: f.vulnID, Direction: "to_jira",
					Action: "update", Result: []string{"ok", "error", "skipped"}[i], At: at}); err != nil {
					return err
				}
			}
		}
		if err := tx.UpsertLink(ctx, store.Link{ItemID: f.vulnID, IntegrationID: f.integrationID, State: tracker.LinkLinked,
			IssueID: "1", IssueKey: "PLAN-1"}); err != nil {
			return err
		}
		return tx.Enqueue(ctx, store.Job{Kind: "sync_item", Key: "item:" + f.vulnID, RunAt: at})
	})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return f
}

type seenQuery struct {
	q    string
	args []any
}

// capture runs fn in a read transaction and returns every query it read
// rows with.
func capture(t *testing.T, db *DB, fn func(ctx context.Context, tx store.Tx) error) []seenQuery {
	t.Helper()
	var seen []seenQuery
	db.queryHook = func(q string, args []any) { seen = append(seen, seenQuery{q, args}) }
	defer func() { db.queryHook = nil }()
	if err := db.View(t.Context(), func(tx store.Tx) error { return fn(t.Context(), tx) }); err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(seen) == 0 {
		t.Fatalf("the read ran no query")
	}
	return seen
}

// explainSQLite returns SQLite's plan of q, one step a line.
func explainSQLite(t *testing.T, db *DB, q string, args []any) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("explain row: %v", err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// pageRead is one O(page) read and the index that must answer it.
type pageRead struct {
	name, index string
	fn          func(ctx context.Context, tx store.Tx) error
}

// pageReads are the O(page) reads: each must read only the rows it returns
// (and a bounded number more), whatever the size of the target.
func pageReads(f pageFixture) []pageRead {
	afterFirst := func(ctx context.Context, tx store.Tx, filter store.SyncEventFilter) error {
		filter.IntegrationID, filter.Limit = f.integrationID, 1
		p, err := tx.ListSyncEventsPage(ctx, filter)
		if err != nil || p.NextCursor == "" {
			return fmt.Errorf("first page: %v (cursor %q)", err, p.NextCursor)
		}
		filter.Cursor = p.NextCursor
		_, err = tx.ListSyncEventsPage(ctx, filter)
		return err
	}
	items := func(filter store.ItemFilter) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			filter.TargetID, filter.Limit = f.targetID, 1
			p, err := tx.ListItems(ctx, filter)
			if err != nil || p.NextCursor == "" {
				return err
			}
			filter.Cursor = p.NextCursor
			_, err = tx.ListItems(ctx, filter)
			return err
		}
	}
	// back reads the third page, then the second through its PrevCursor.
	back := func(filter store.ItemFilter) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			filter.TargetID, filter.Limit = f.targetID, 1
			for range 2 {
				p, err := tx.ListItems(ctx, filter)
				if err != nil || p.NextCursor == "" {
					return fmt.Errorf("page: %v (cursor %q)", err, p.NextCursor)
				}
				filter.Cursor = p.NextCursor
			}
			p, err := tx.ListItems(ctx, filter)
			if err != nil || p.PrevCursor == "" {
				return fmt.Errorf("third page: %v (prev cursor %q)", err, p.PrevCursor)
			}
			filter.Cursor = p.PrevCursor
			_, err = tx.ListItems(ctx, filter)
			return err
		}
	}
	return []pageRead{
		{"items", "items_target_live", items(store.ItemFilter{})},
		{"items by kind", "items_target_kind", items(store.ItemFilter{Kind: tracker.KindFinding})},
		{"items by status", "items_target_status", items(store.ItemFilter{Status: tracker.StatusInProgress})},
		{"items by severity", "items_target_severity", items(store.ItemFilter{Severity: tracker.SeverityHigh})},
		{"items by kind and status", "items_target_status", items(store.ItemFilter{Kind: tracker.KindFinding, Status: tracker.StatusInProgress})},
		{"items newest first", "items_target_live", items(store.ItemFilter{Desc: true})},
		{"items by title", "items_target_title", items(store.ItemFilter{Sort: store.SortTitle})},
		{"items by title, back", "items_target_title", back(store.ItemFilter{Sort: store.SortTitle})},
		{"items by kind, descending", "items_target_kind", items(store.ItemFilter{Sort: store.SortKind, Desc: true})},
		{"items by severity rank", "items_target_severity_rank", items(store.ItemFilter{Sort: store.SortSeverity})},
		{"items by severity rank, descending, back", "items_target_severity_rank", back(store.ItemFilter{Sort: store.SortSeverity, Desc: true})},
		{"items by status", "items_target_status", items(store.ItemFilter{Sort: store.SortStatus})},
		{"items by last change", "items_target_updated", items(store.ItemFilter{Sort: store.SortUpdated, Desc: true})},
		{"items by assignee", "items_target_assignee", items(store.ItemFilter{Sort: store.SortAssignee})},
		{"top-level items", "items_target_live", items(store.ItemFilter{TopLevel: true})},
		{"findings of a vulnerability", "items_parent_live", items(store.ItemFilter{ParentID: f.vulnID})},
		{"findings of a vulnerability by status", "items_parent_live", items(store.ItemFilter{ParentID: f.vulnID, Status: tracker.StatusInProgress})},
		{"item", "sqlite_autoindex_items_1", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetItem(ctx, f.vulnID); return err }},
		{"history", "history_item", func(ctx context.Context, tx store.Tx) error {
			p, err := tx.ListHistoryPage(ctx, store.PageFilter{ItemID: f.vulnID, Limit: 1})
			if err != nil {
				return err
			}
			_, err = tx.ListHistoryPage(ctx, store.PageFilter{ItemID: f.vulnID, Limit: 1, Cursor: p.NextCursor})
			return err
		}},
		{"comments", "comments_item", func(ctx context.Context, tx store.Tx) error {
			p, err := tx.ListCommentsPage(ctx, store.PageFilter{ItemID: f.vulnID, Limit: 1})
			if err != nil {
				return err
			}
			_, err = tx.ListCommentsPage(ctx, store.PageFilter{ItemID: f.vulnID, Limit: 1, Cursor: p.NextCursor})
			return err
		}},
		{"sync log", "sync_events_integration", func(ctx context.Context, tx store.Tx) error { return afterFirst(ctx, tx, store.SyncEventFilter{}) }},
		{"sync log failures first", "sync_events_result", func(ctx context.Context, tx store.Tx) error {
			return afterFirst(ctx, tx, store.SyncEventFilter{FailuresFirst: true})
		}},
		{"sync log by result", "sync_events_result", func(ctx context.Context, tx store.Tx) error {
			return afterFirst(ctx, tx, store.SyncEventFilter{Result: "ok", Limit: 1, FailuresFirst: true})
		}},
		{"sync log by direction", "sync_events_direction", func(ctx context.Context, tx store.Tx) error {
			return afterFirst(ctx, tx, store.SyncEventFilter{Direction: "to_jira"})
		}},
		{"sync log by action", "sync_events_action", func(ctx context.Context, tx store.Tx) error {
			return afterFirst(ctx, tx, store.SyncEventFilter{Action: "update"})
		}},
		{"sync log of an item", "sync_events_item", func(ctx context.Context, tx store.Tx) error {
			return afterFirst(ctx, tx, store.SyncEventFilter{ItemID: f.vulnID})
		}},
		{"item counters", "sqlite_autoindex_item_counts_1", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.TargetItemCounts(ctx, f.targetID)
			return err
		}},
		{"link counters", "sqlite_autoindex_link_counts_1", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.LinkCounts(ctx, f.integrationID)
			return err
		}},
		{"failed sync jobs", "jobs_failed", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ListJobs(ctx, store.JobFilter{Kind: "sync_item", State: store.JobFailed, Limit: store.MaxPageSize})
			return err
		}},
		{"open items by day", "sqlite_autoindex_open_item_days_1", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.OpenItemDays(ctx, f.targetID)
			return err
		}},
		{"resolutions by month", "sqlite_autoindex_resolution_months_1", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ResolutionMonths(ctx, f.targetID, "2025-01")
			return err
		}},
		{"overdue count", "items_target_due", func(ctx context.Context, tx store.Tx) error {
			_, _, err := tx.CountOverdue(ctx, f.targetID, "2025-06-01", 100)
			return err
		}},
		{"sync queue", "jobs_pending_key", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PendingSyncWork(ctx, f.integrationID, "sync_item", "item:", 100)
			return err
		}},
		{"links of a page", "sqlite_autoindex_links_1", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.LinksForItems(ctx, []string{f.vulnID})
			return err
		}},
	}
}

// Every O(page) read is answered from an index: SQLite's plan of each
// query it runs searches (never scans) a table or index, and never sorts
// in a temporary tree — either would read the whole target (or the whole
// log) to return a page.
func TestSQLitePageReadsUseIndexes(t *testing.T) {
	db := openSQLite(t)
	f := newPageFixture(t, db)
	for _, r := range pageReads(f) {
		t.Run(r.name, func(t *testing.T) {
			used := false
			for _, sq := range capture(t, db, r.fn) {
				plan := explainSQLite(t, db, sq.q, sq.args)
				used = used || strings.Contains(plan, "INDEX "+r.index+" ")
				// A scan of a bounded subquery (a co-routine or a
				// materialised view, itself planned above) is no scan of a
				// table.
				bounded := map[string]bool{}
				for _, line := range strings.Split(plan, "\n") {
					for _, p := range []string{"CO-ROUTINE ", "MATERIALIZE "} {
						if name, ok := strings.CutPrefix(line, p); ok {
							bounded[name] = true
						}
					}
				}
				for _, line := range strings.Split(plan, "\n") {
					if scanned, ok := strings.CutPrefix(line, "SCAN "); ok && !bounded[scanned] || strings.Contains(line, "TEMP B-TREE") {
						t.Errorf("%s\nreads more than its page:\n%s", sq.q, plan)
						break
					}
				}
			}
			if !used {
				t.Errorf("no query of the read uses index %s", r.index)
			}
		})
	}
}

// A counter changed behind the store's back is reported by the recount,
// with what it said and what the rows say, and corrected.
func TestRecountReportsCorruptedCounter(t *testing.T) {
	backends := map[string]func(testing.TB) *DB{"sqlite": func(tb testing.TB) *DB { return openSQLite(tb) }}
	if os.Getenv("VULNSYNC_TEST_POSTGRES") != "" {
		backends["postgres"] = func(tb testing.TB) *DB { return openPostgres(tb) }
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			f := newPageFixture(t, db)
			ctx := t.Context()
			if _, err := db.write.ExecContext(ctx, db.d.rebind(`UPDATE item_counts SET n = n + 5 WHERE target_id = ? AND kind = ?`), f.targetID, tracker.KindFinding); err != nil {
				t.Fatalf("corrupt item counter: %v", err)
			}
			if _, err := db.write.ExecContext(ctx, db.d.rebind(`DELETE FROM link_counts WHERE integration_id = ?`), f.integrationID); err != nil {
				t.Fatalf("corrupt link counter: %v", err)
			}
			var drift []store.CounterDrift
			if err := db.InTx(ctx, func(tx store.Tx) error {
				var err error
				drift, err = tx.RecountCounters(ctx)
				return err
			}); err != nil {
				t.Fatalf("RecountCounters: %v", err)
			}
			want := map[string]store.CounterDrift{
				"item_counts": {Counter: "item_counts", Key: fmt.Sprintf("target=%s, kind=finding, status=in_progress", f.targetID), Stored: 8, Actual: 3},
				"link_counts": {Counter: "link_counts", Key: fmt.Sprintf("integration=%s, kind=vulnerability, state=linked", f.integrationID), Stored: 0, Actual: 1},
			}
			if len(drift) != len(want) {
				t.Fatalf("drift = %+v, want %+v", drift, want)
			}
			for _, d := range drift {
				if d != want[d.Counter] {
					t.Errorf("drift %+v, want %+v", d, want[d.Counter])
				}
			}
			if err := db.InTx(ctx, func(tx store.Tx) error {
				var err error
				drift, err = tx.RecountCounters(ctx)
				return err
			}); err != nil {
				t.Fatalf("RecountCounters again: %v", err)
			}
			if len(drift) != 0 {
				t.Errorf("a second recount still finds drift: %+v", drift)
			}
		})
	}
}

// explainPostgres returns PostgreSQL's plan of q with sequential and
// bitmap scans priced out, one node a line: on a small fixture the planner
// rightly prefers reading a few rows and sorting them, so what is checked
// is that an index exists that answers the read in its order, as the
// planner uses it once the table is large.
func explainPostgres(t *testing.T, db *DB, q string, args []any) string {
	t.Helper()
	ctx := t.Context()
	conn, err := db.read.Conn(ctx)
	if err != nil {
		t.Fatalf("explain: take a connection: %v", err)
	}
	defer conn.Close()
	for _, set := range []string{`SET enable_seqscan = off`, `SET enable_bitmapscan = off`} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			t.Fatalf("explain: %s: %v", set, err)
		}
	}
	// The settings must not outlive the test on a pooled connection.
	defer conn.ExecContext(context.WithoutCancel(ctx), `RESET ALL`) //nolint:errcheck // best effort; the pool is closed with the test
	rows, err := conn.QueryContext(ctx, "EXPLAIN "+db.d.rebind(q), args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("explain row: %v", err)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// The PostgreSQL twin of TestSQLitePageReadsUseIndexes: every O(page) read
// is answered by index scans that seek to the read's key (an equality in the
// index condition), with no sequential scan and no sort of all the matching
// rows. An index walked whole in order with the key as a filter would read
// the whole table (or the whole log) to return a page.
func TestPostgresPageReadsUseIndexes(t *testing.T) {
	if os.Getenv("VULNSYNC_TEST_POSTGRES") == "" {
		t.Skip("VULNSYNC_TEST_POSTGRES not set: skipping the PostgreSQL plan checks")
	}
	db := openPostgres(t)
	f := newPageFixture(t, db)
	for _, r := range pageReads(f) {
		t.Run(r.name, func(t *testing.T) {
			for _, sq := range capture(t, db, r.fn) {
				plan := explainPostgres(t, db, sq.q, sq.args)
				if problem := postgresPlanProblem(plan); problem != "" {
					t.Errorf("%s\nreads more than its page (%s):\n%s", sq.q, problem, plan)
				}
			}
		})
	}
}

// postgresPlanProblem names the first node of a text plan that reads more
// than a page: a sequential scan, a sort, or an index scan that does not
// seek by equality.
func postgresPlanProblem(plan string) string {
	lines := strings.Split(plan, "\n")
	for i, line := range lines {
		node := strings.TrimLeft(line, " ->")
		switch {
		case strings.HasPrefix(node, "Seq Scan"), strings.HasPrefix(node, "Sort "):
			return node
		case strings.HasPrefix(node, "Index Scan"), strings.HasPrefix(node, "Index Only Scan"):
			seeks := false
			for _, detail := range lines[i+1:] {
				detail = strings.TrimSpace(detail)
				if strings.HasPrefix(detail, "->") {
					break
				}
				seeks = seeks || strings.HasPrefix(detail, "Index Cond:") && strings.Contains(detail, " = ")
			}
			if !seeks {
				return node + " does not seek by key"
			}
		}
	}
	return ""
}

// Migration 00014 fills the dashboard counters from the rows already
// stored (open items by day of creation; resolutions from the history):
// run again on emptied counters, it gives back what the writers kept.
func TestDashboardCountersMigrationBackfills(t *testing.T) {
	backends := map[string]func(testing.TB) *DB{"sqlite": func(tb testing.TB) *DB { return openSQLite(tb) }}
	if os.Getenv("VULNSYNC_TEST_POSTGRES") != "" {
		backends["postgres"] = func(tb testing.TB) *DB { return openPostgres(tb) }
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			f := newPageFixture(t, db)
			at := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
			err := db.InTx(ctx, func(tx store.Tx) error {
				it, err := tx.GetItem(ctx, f.vulnID)
				if err != nil {
					return err
				}
				prev := it.Version
				it.Status, it.Version, it.UpdatedAt = tracker.StatusResolved, prev+1, at
				return tx.UpdateItem(ctx, it, prev, []tracker.HistoryEntry{{ItemID: it.ID, Field: "status", Old: `"open"`, New: `"resolved"`,
					Actor: "a", Origin: tracker.OriginVulnsync, At: at}})
			})
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			read := func() ([]store.OpenItemDay, []store.ResolutionMonth) {
				var o []store.OpenItemDay
				var r []store.ResolutionMonth
				if err := db.View(ctx, func(tx store.Tx) error {
					var err error
					if o, err = tx.OpenItemDays(ctx, f.targetID); err != nil {
						return err
					}
					r, err = tx.ResolutionMonths(ctx, f.targetID, "2000-01")
					return err
				}); err != nil {
					t.Fatalf("read counters: %v", err)
				}
				return o, r
			}
			kept, keptRes := read()
			if len(kept) == 0 || len(keptRes) != 1 {
				t.Fatalf("the writers kept open %+v and resolutions %+v, want some of each", kept, keptRes)
			}
			src, err := migrations.ReadFile("migrations/" + name + "/00014_dashboard_counters.sql")
			if err != nil {
				t.Fatalf("read migration: %v", err)
			}
			up, _, _ := strings.Cut(strings.SplitN(string(src), "-- +goose Up", 2)[1], "-- +goose Down")
			var fill []string
			for _, stmt := range strings.Split(up, ";") {
				if strings.Contains(stmt, "INSERT INTO") {
					fill = append(fill, stmt)
				}
			}
			if len(fill) != 2 {
				t.Fatalf("the migration has %d backfill statements, want 2", len(fill))
			}
			for _, q := range append([]string{"DELETE FROM open_item_days", "DELETE FROM resolution_months"}, fill...) {
				if _, err := db.write.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			again, againRes := read()
			if diff := cmp.Diff(kept, again); diff != "" {
				t.Errorf("open items backfilled (-kept +backfilled):\n%s", diff)
			}
			if diff := cmp.Diff(keptRes, againRes); diff != "" {
				t.Errorf("resolutions backfilled (-kept +backfilled):\n%s", diff)
			}
		})
	}
}
