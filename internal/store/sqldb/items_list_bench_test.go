package sqldb

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// BenchmarkItemList times the item list's reads on one target of
// VULNSYNC_BENCH_ITEMS items (default 100,000), loaded in bulk: a page in
// each sort at half depth, a search for a rare and for a common word, and
// the bounded count of a filtered list (issue 15).
func BenchmarkItemList(b *testing.B) {
	n := 100_000
	if s := os.Getenv("VULNSYNC_BENCH_ITEMS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	words := []string{"injection", "overflow", "traversal", "disclosure", "forgery", "deserialization", "misconfiguration", "redirect"}
	for _, bk := range benchBackends {
		b.Run(bk.name, func(b *testing.B) {
			db := bk.open(b)
			target := benchTarget(b, db)
			at := time.Now()
			start := time.Now()
			for from := 0; from < n; from += 10_000 {
				items := make([]tracker.Item, 0, 10_000)
				for i := from; i < min(from+10_000, n); i++ {
					title := fmt.Sprintf("%s in component %d", words[i%len(words)], i)
					if i%1000 == 0 {
						title = fmt.Sprintf("Rare xyzzy%d problem", i)
					}
					it, _, err := benchCatalog.Build(target, uuid.Must(uuid.NewV7()).String(), tracker.NewItem{
						Kind: tracker.KindVulnerability, Title: title, Description: "Found by the scanner in the nightly run.",
						Severity: tracker.Severities[i%5], Status: tracker.Statuses[i%5],
						Fields: map[string]any{"asset_id": fmt.Sprintf("host-%d", i)},
					}, nil, tracker.Change{Actor: "bench", Origin: tracker.OriginVulnsync, At: at.Add(time.Duration(i%977) * time.Second)})
					if err != nil {
						b.Fatal(err)
					}
					items = append(items, it)
				}
				if err := db.BulkCreateItems(b.Context(), items, nil); err != nil {
					b.Fatalf("load: %v", err)
				}
			}
			b.Logf("%s: loaded %d items in %s", bk.name, n, time.Since(start).Round(time.Millisecond))
			if bk.name == "postgres" {
				// What autovacuum does after a load: without statistics
				// the planner takes a target's rows for a handful.
				if _, err := db.write.ExecContext(b.Context(), `ANALYZE items`); err != nil {
					b.Fatal(err)
				}
			}
			list := func(f store.ItemFilter) store.ItemPage {
				var p store.ItemPage
				if err := db.View(b.Context(), func(tx store.Tx) error {
					var err error
					p, err = tx.ListItems(b.Context(), f)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				return p
			}
			// A cursor half way down each sort.
			halfway := func(f store.ItemFilter) string {
				f.Limit = store.MaxPageSize
				for range n / 2 / store.MaxPageSize {
					p := list(f)
					if p.NextCursor == "" {
						break
					}
					f.Cursor = p.NextCursor
				}
				return f.Cursor
			}
			for _, s := range store.ItemSorts {
				for _, desc := range []bool{false, true} {
					f := store.ItemFilter{TargetID: target, Sort: s, Desc: desc, Limit: 50}
					f.Cursor = halfway(f)
					b.Run(fmt.Sprintf("page/%s/desc=%v", s, desc), func(b *testing.B) {
						for b.Loop() {
							if p := list(f); len(p.Items) != 50 {
								b.Fatalf("a page of %d items", len(p.Items))
							}
						}
					})
				}
			}
			for _, c := range []struct {
				name, q string
				sort    store.ItemSort
			}{
				{"rare", "xyzzy5000", ""},
				{"rare-prefix", "xyzz", store.SortTitle},
				{"common", "injection", ""},
				{"common-by-severity", "injection", store.SortSeverity},
				{"asset", "host 4242", ""},
			} {
				b.Run("search/"+c.name, func(b *testing.B) {
					for b.Loop() {
						if p := list(store.ItemFilter{TargetID: target, Search: c.q, Sort: c.sort, Limit: 50}); len(p.Items) == 0 {
							b.Fatal("no match")
						}
					}
				})
			}
			for _, c := range []struct {
				name string
				f    store.ItemFilter
			}{
				{"status", store.ItemFilter{TargetID: target, Status: tracker.StatusOpen}},
				{"search-common", store.ItemFilter{TargetID: target, Search: "injection"}},
				{"search-rare", store.ItemFilter{TargetID: target, Search: "xyzzy5000"}},
			} {
				b.Run("count/"+c.name, func(b *testing.B) {
					for b.Loop() {
						if err := db.View(b.Context(), func(tx store.Tx) error {
							_, err := tx.CountItems(b.Context(), c.f, store.MaxItemCount)
							return err
						}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
