package sqldb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

var benchBackends = []struct {
	name string
	open func(testing.TB) *DB
}{
	{"sqlite", func(tb testing.TB) *DB { return openSQLite(tb) }},
	{"postgres", func(tb testing.TB) *DB { return openPostgres(tb) }},
}

func benchTarget(b *testing.B, db *DB) string {
	b.Helper()
	id := uuid.NewString()
	if err := db.InTx(b.Context(), func(tx store.Tx) error {
		return tx.CreateTarget(b.Context(), tracker.Target{ID: id, Name: "bench"})
	}); err != nil {
		b.Fatalf("create target: %v", err)
	}
	return id
}

var benchCatalog = tracker.NewCatalog(nil, nil)

func benchNewItem(i int) tracker.NewItem {
	return tracker.NewItem{
		Kind: tracker.KindVulnerability, Title: fmt.Sprintf("SQL injection %d", i), Description: "Found by the scanner.",
		Severity: tracker.SeverityHigh,
		Fields:   map[string]any{"cvss_score": 8.1, "cwe": "CWE-89", "labels": []any{"pci", "web"}},
	}
}

// BenchmarkItemCreate measures one transaction that creates an item with
// its history rows (six here).
func BenchmarkItemCreate(b *testing.B) {
	for _, bk := range benchBackends {
		b.Run(bk.name, func(b *testing.B) {
			db := bk.open(b)
			target := benchTarget(b, db)
			at := time.Now()
			i := 0
			for b.Loop() {
				i++
				it, hist, err := benchCatalog.Build(target, uuid.Must(uuid.NewV7()).String(), benchNewItem(i), nil,
					tracker.Change{Actor: "bench", Origin: tracker.OriginVulnsync, At: at})
				if err != nil {
					b.Fatalf("build: %v", err)
				}
				if err := db.InTx(b.Context(), func(tx store.Tx) error { return tx.CreateItem(b.Context(), it, hist) }); err != nil {
					b.Fatalf("create: %v", err)
				}
			}
		})
	}
}

// BenchmarkItemUpdate measures the API's read-modify-write of one item: a
// transaction that reads it, applies a title change and stores it with its
// history row under the optimistic version check.
func BenchmarkItemUpdate(b *testing.B) {
	for _, bk := range benchBackends {
		b.Run(bk.name, func(b *testing.B) {
			db := bk.open(b)
			target := benchTarget(b, db)
			at := time.Now()
			it, hist, err := benchCatalog.Build(target, uuid.Must(uuid.NewV7()).String(), benchNewItem(0), nil,
				tracker.Change{Actor: "bench", Origin: tracker.OriginVulnsync, At: at})
			if err != nil {
				b.Fatalf("build: %v", err)
			}
			if err := db.InTx(b.Context(), func(tx store.Tx) error { return tx.CreateItem(b.Context(), it, hist) }); err != nil {
				b.Fatalf("create: %v", err)
			}
			i := 0
			for b.Loop() {
				i++
				title := fmt.Sprintf("title %d", i)
				err := db.InTx(b.Context(), func(tx store.Tx) error {
					cur, err := tx.GetItem(b.Context(), it.ID)
					if err != nil {
						return err
					}
					prev := cur.Version
					h, err := benchCatalog.Apply(&cur, tracker.Patch{Title: &title}, tracker.Change{Actor: "bench", Origin: tracker.OriginVulnsync, At: at.Add(time.Duration(i) * time.Microsecond)})
					if err != nil {
						return err
					}
					return tx.UpdateItem(b.Context(), cur, prev, h)
				})
				if err != nil {
					b.Fatalf("update: %v", err)
				}
			}
		})
	}
}

// BenchmarkRecordDelivery measures the durable part of webhook intake: one
// transaction that records a delivery of a typical issue event's size
// (8 KiB), as new and as a redelivery of a recorded one.
func BenchmarkRecordDelivery(b *testing.B) {
	body := []byte(`{"webhookEvent":"jira:issue_updated","pad":"` + strings.Repeat("x", 8<<10) + `"}`)
	for _, bk := range benchBackends {
		b.Run(bk.name, func(b *testing.B) {
			db := bk.open(b)
			conn := store.Connection{ID: uuid.NewString(), Name: "bench", BaseURL: "https://bench.atlassian.net", Deployment: "cloud", AuthType: "basic", SealedSecret: "s"}
			if err := db.InTx(b.Context(), func(tx store.Tx) error { return tx.CreateConnection(b.Context(), conn) }); err != nil {
				b.Fatalf("create connection: %v", err)
			}
			record := func(key string) bool {
				var isNew bool
				err := db.InTx(b.Context(), func(tx store.Tx) error {
					var err error
					_, isNew, err = tx.RecordDelivery(b.Context(), store.Delivery{ConnectionID: conn.ID, DeliveryKey: key, Event: "jira:issue_updated", IssueID: "10001", Body: body})
					return err
				})
				if err != nil {
					b.Fatalf("record delivery: %v", err)
				}
				return isNew
			}
			b.Run("new", func(b *testing.B) {
				for b.Loop() {
					if !record(uuid.NewString()) {
						b.Fatalf("a fresh key was not new")
					}
				}
			})
			record("dup")
			b.Run("duplicate", func(b *testing.B) {
				for b.Loop() {
					if record("dup") {
						b.Fatalf("a redelivery was new")
					}
				}
			})
		})
	}
}
