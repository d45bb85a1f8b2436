package sqldb

import (
	"testing"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A query is prepared after the transaction that first ran it, then reused
// (the SQLite writer has one connection, which that transaction held).
func TestStatementsArePreparedAfterFirstUse(t *testing.T) {
	db, err := OpenSQLite(t.Context(), t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write := func(name string) error {
		return db.InTx(t.Context(), func(tx store.Tx) error {
			return tx.CreateTarget(t.Context(), tracker.Target{ID: name, Name: name})
		})
	}
	if err := write("a"); err != nil {
		t.Fatal(err)
	}
	cache := db.stmtCache(db.write)
	cache.mu.Lock()
	prepared := len(cache.stmts)
	cache.mu.Unlock()
	if prepared == 0 {
		t.Fatal("no statement prepared after the first transaction")
	}
	// The next transactions run on the prepared statements and still work,
	// including a refused one.
	if err := write("b"); err != nil {
		t.Fatal(err)
	}
	if err := write("b"); tracker.KindOf(err) != tracker.EConflict {
		t.Fatalf("duplicate name: got %v, want EConflict", err)
	}
	var got []tracker.Target
	if err := db.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.ListTargets(t.Context())
		return err
	}); err != nil || len(got) != 2 {
		t.Fatalf("targets: %v, %v", got, err)
	}
	count := func() int { cache.mu.Lock(); defer cache.mu.Unlock(); return len(cache.stmts) }
	seen := count()
	// The same work again prepares nothing new.
	if err := write("c"); err != nil {
		t.Fatal(err)
	}
	if err := write("c"); tracker.KindOf(err) != tracker.EConflict {
		t.Fatalf("duplicate name: got %v, want EConflict", err)
	}
	if again := count(); again != seen {
		t.Errorf("the same queries were prepared again: %d statements, then %d", seen, again)
	}
}
