package benchmark

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Targets of the scale scenario (issue 13), at 1,000,000 items in one
// target.
const (
	scaleListP99MS        = 50
	scaleItemP99MS        = 10
	scaleIntegrationP99MS = 50
	scaleSettleMS         = 2000
	scaleRSSMB            = 200
	// scaleSamples is how many times each read is timed.
	scaleSamples = 200
	// scaleLoadBatch is the items of one bulk-load transaction.
	scaleLoadBatch = 10_000
)

// runScale is the memory scenario grown to a million items and timed: it
// loads Items linked items into one target — 20 created and synced through
// the simulator, the rest written straight to the store in transactions of
// scaleLoadBatch items (store.BulkLoader: multi-row inserts, counters
// bumped per batch, no history rows and no sync jobs, as a restore would) —
// then times, through the REST API, a page of the item list at random
// depths, an item read and the integration page (which carries the
// backfill progress), each scaleSamples times, and how long 20 edits take
// to be settled in Jira with the simulator answering every call after L.
// It reports the RSS afterwards, the load time and the size of the
// database.
func runScale(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	if _, err := readProcStatus("VmRSS"); err != nil {
		return err
	}
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	bl, ok := s.st.(store.BulkLoader)
	if !ok {
		return fmt.Errorf("the %s store cannot bulk load", s.st.Backend())
	}
	s.startWorkers()
	in, err := s.setup(ctx, "scale")
	if err != nil {
		return err
	}
	nReal := min(realItems, o.Items)
	reals, err := s.createVulns(ctx, in.targetID, nReal, "Real")
	if err != nil {
		return err
	}
	if err := s.waitQuiet(ctx, time.Minute); err != nil {
		return fmt.Errorf("sync the real items: %w", err)
	}
	tmpl, err := s.linkOf(ctx, reals[0].ID)
	if err != nil {
		return err
	}
	cat, err := s.svc.Catalog(ctx)
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}

	// Load.
	loadStart := time.Now()
	bulk := o.Items - nReal
	var sample []string // item ids spread over the target, for random reads
	every := max(1, bulk/1000)
	for from := 0; from < bulk; from += scaleLoadBatch {
		n := min(scaleLoadBatch, bulk-from)
		items := make([]tracker.Item, 0, n)
		links := make([]store.Link, 0, n)
		now := time.Now()
		for i := from; i < from+n; i++ {
			it, _, err := cat.Build(in.targetID, newItemID(), tracker.NewItem{Kind: tracker.KindVulnerability,
				Title: fmt.Sprintf("Bulk vulnerability %d", i), Description: "Found by the bench.", Severity: tracker.SeverityMedium,
				Fields: map[string]any{"cvss_score": 5.0, "asset_id": fmt.Sprintf("asset-%d", i)}},
				nil, tracker.Change{Actor: benchActor.Email, Origin: tracker.OriginVulnsync, At: now})
			if err != nil {
				return err
			}
			items = append(items, it)
			id := 1_000_000 + i
			links = append(links, store.Link{ItemID: it.ID, IntegrationID: in.integrationID, State: tracker.LinkLinked,
				IssueID: strconv.Itoa(id), IssueKey: "SEC-" + strconv.Itoa(id), Synced: tmpl.Synced, UpdatedAt: now})
			// Cursors of sampled items start full pages: none of the
			// last 50.
			if i%every == 0 && i < max(bulk-50, 1) {
				sample = append(sample, it.ID)
			}
		}
		if err := bl.BulkCreateItems(ctx, items, links); err != nil {
			return fmt.Errorf("load items %d–%d: %w", from, from+n-1, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := bl.SettleBulkLoad(ctx); err != nil {
		return err
	}
	loadTook := time.Since(loadStart)
	if len(sample) == 0 {
		for _, it := range reals {
			sample = append(sample, it.ID)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()

	// Reads.
	rng := rand.New(rand.NewPCG(1, uint64(o.Items)))
	timeIt := func(what string, call func() error) ([]time.Duration, error) {
		ds := make([]time.Duration, 0, scaleSamples)
		for range scaleSamples {
			start := time.Now()
			if err := call(); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			ds = append(ds, time.Since(start))
		}
		return ds, nil
	}
	lists, err := timeIt("list a page of items", func() error {
		cursor := base64.RawURLEncoding.EncodeToString([]byte(sample[rng.IntN(len(sample))]))
		var p struct {
			Items []map[string]any `json:"items"`
		}
		if err := s.api(ctx, "GET", "/api/v1/targets/"+in.targetID+"/items?limit=50&cursor="+cursor, nil, &p); err != nil {
			return err
		}
		if len(p.Items) == 0 && bulk > 50 {
			return fmt.Errorf("an empty page after a sampled item")
		}
		return nil
	})
	if err != nil {
		return err
	}
	reads, err := timeIt("read an item", func() error {
		return s.api(ctx, "GET", "/api/v1/items/"+sample[rng.IntN(len(sample))], nil, nil)
	})
	if err != nil {
		return err
	}
	var v integration.View
	integs, err := timeIt("read the integration", func() error {
		return s.api(ctx, "GET", "/api/v1/integrations/"+in.integrationID, nil, &v)
	})
	if err != nil {
		return err
	}
	if v.Backfill.Total != o.Items || v.Backfill.Done != o.Items {
		return fmt.Errorf("the integration counts %d items, %d linked; want %d and %d", v.Backfill.Total, v.Backfill.Done, o.Items, o.Items)
	}
	logs, err := timeIt("read the sync log", func() error {
		return s.api(ctx, "GET", "/api/v1/integrations/"+in.integrationID+"/events?limit=50", nil, nil)
	})
	if err != nil {
		return err
	}

	// Edits settled in Jira, every Jira call answered after L.
	L := o.Latency
	s.sim.SetFaults(jirasim.Faults{LatencyMS: int(L / time.Millisecond)})
	settleStart := time.Now()
	for _, it := range reals {
		if err := s.api(ctx, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"status": tracker.StatusInProgress, "fields": map[string]any{"cvss_score": 8.1}}, nil); err != nil {
			return fmt.Errorf("edit an item: %w", err)
		}
	}
	if err := s.waitQuiet(ctx, 5*time.Minute); err != nil {
		return fmt.Errorf("settle the edits: %w", err)
	}
	settled := time.Since(settleStart)
	s.sim.SetFaults(jirasim.Faults{})
	for _, it := range reals[:1] {
		l, err := s.linkOf(ctx, it.ID)
		if err != nil {
			return err
		}
		var issue struct {
			Fields struct {
				Status struct {
					Name string `json:"name"`
				} `json:"status"`
			} `json:"fields"`
		}
		if err := s.jira(ctx, "dev", "GET", "/rest/api/3/issue/"+l.IssueKey+"?fields=status", nil, &issue); err != nil {
			return fmt.Errorf("read an edited issue: %w", err)
		}
		if issue.Fields.Status.Name != "In Progress" {
			return fmt.Errorf("issue %s is %q after the edit, want In Progress", l.IssueKey, issue.Fields.Status.Name)
		}
	}

	rss, err := readProcStatus("VmRSS")
	if err != nil {
		return err
	}
	size, err := s.dbSize(ctx)
	if err != nil {
		return err
	}
	rec.add("list page p99 (50 items, random depth)", percentile(lists, 99), "ms", atMost(scaleListP99MS))
	rec.add("item read p99", percentile(reads, 99), "ms", atMost(scaleItemP99MS))
	rec.add("integration page p99 (with backfill progress)", percentile(integs, 99), "ms", atMost(scaleIntegrationP99MS))
	rec.add("sync log page p99 (50 events)", percentile(logs, 99), "ms", nil)
	rec.add(fmt.Sprintf("%d edits settled in Jira (L = %v)", len(reals), L), ms(settled), "ms", atMost(scaleSettleMS))
	rec.add(fmt.Sprintf("RSS with %d linked items", o.Items), mb(rss), "MB", atMost(scaleRSSMB))
	rec.add("load time", loadTook.Seconds(), "s", nil)
	rec.add("database size", mb(size), "MB", nil)
	rec.note("%d items in one target, all linked: %d created and synced through the simulator, %d loaded straight into the store (bulk inserts of %d items per transaction with their links and counters; no history rows or sync jobs); the load time includes settling the store afterwards (PostgreSQL: VACUUM ANALYZE of the loaded tables, as after a restore)",
		o.Items, nReal, bulk, scaleLoadBatch)
	rec.note("each read timed %d times through the REST API; list pages start at a random item's cursor; the integration page is GET /api/v1/integrations/{id}", scaleSamples)
	rec.note("RSS is the whole process (vulnsync, the in-process simulator, the bench); MB = 10^6 bytes; database size: the SQLite files, or the schema's relations with their indexes on PostgreSQL; store %s", s.st.Backend())
	return nil
}

// dbSize is the size of the stack's database: its SQLite files, or the
// total size of the relations of its PostgreSQL schema.
func (s *stack) dbSize(ctx context.Context) (int64, error) {
	if s.dsn == "" {
		var total int64
		err := filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("measure the data directory: %w", err)
		}
		return total, nil
	}
	db, err := sql.Open("pgx", s.dsn)
	if err != nil {
		return 0, fmt.Errorf("open the schema: %w", err)
	}
	defer db.Close()
	var total sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("measure the schema: %w", err)
	}
	return total.Int64, nil
}
