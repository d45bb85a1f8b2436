package sqldb

import (
	"encoding/json"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/storetest"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// freshSchema returns a DSN for an empty schema (see storetest.PostgresDSN).
func freshSchema(tb testing.TB) string { return storetest.PostgresDSN(tb) }

func openPostgres(tb testing.TB) *DB {
	tb.Helper()
	dsn := freshSchema(tb)
	db, err := OpenPostgres(tb.Context(), dsn, testLogger(tb))
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestPostgresConformance(t *testing.T) {
	if os.Getenv("VULNSYNC_TEST_POSTGRES") == "" {
		t.Skip("VULNSYNC_TEST_POSTGRES not set: skipping the PostgreSQL conformance suite")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openPostgres(t) })
}

// Replicas starting together must not race on the migrations.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := freshSchema(t)
	const replicas = 4
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(t.Context(), dsn, "", testLogger(t))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
		if dbs[i].Backend() != "postgres" {
			t.Errorf("replica %d: got backend %q, want postgres", i, dbs[i].Backend())
		}
	}
	if t.Failed() {
		return
	}
	var applied int
	if err := dbs[0].read.QueryRowContext(t.Context(), "SELECT count(*) FROM goose_db_version WHERE version_id = 1").Scan(&applied); err != nil {
		t.Fatalf("read migration table: %v", err)
	}
	if applied != 1 {
		t.Errorf("migration 1 recorded %d times, want once", applied)
	}
}

// A deadlock between two transactions is resolved by retrying the victim.
func TestPostgresDeadlockIsRetried(t *testing.T) {
	db := openPostgres(t)
	err := db.InTx(t.Context(), func(tx store.Tx) error {
		for _, id := range []string{"a", "b"} {
			if err := tx.CreateTarget(t.Context(), tracker.Target{ID: id, Name: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	touch := func(txn store.Tx, id string) error {
		_, err := txn.(*tx).exec(t.Context(), `UPDATE targets SET description = description || '.' WHERE id = ?`, id)
		return err
	}
	var calls atomic.Int32
	aLocked, bLocked := make(chan struct{}), make(chan struct{})
	run := func(first, second string, mine, theirs chan struct{}) error {
		attempt := 0
		return db.InTx(t.Context(), func(txn store.Tx) error {
			attempt++
			calls.Add(1)
			if err := touch(txn, first); err != nil {
				return err
			}
			if attempt == 1 {
				close(mine)
				<-theirs
			}
			return touch(txn, second)
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = run("a", "b", aLocked, bLocked) }()
	go func() { defer wg.Done(); errs[1] = run("b", "a", bLocked, aLocked) }()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	if n := calls.Load(); n < 3 {
		t.Errorf("attempts: got %d, want at least 3 (the deadlock victim ran again)", n)
	}
	var desc string
	if err := db.read.QueryRowContext(t.Context(), "SELECT description FROM targets WHERE id = 'a'").Scan(&desc); err != nil {
		t.Fatalf("read: %v", err)
	}
	if desc != ".." {
		t.Errorf("target a's description: got %q, want %q (one committed touch per transaction)", desc, "..")
	}
}

// A job enqueued by a transaction that commits while RetryJob puts the same
// key back to pending collides on the one-pending-job index; RetryJob must
// then run again and coalesce with it instead of failing.
func TestPostgresRetryJobRacesEnqueue(t *testing.T) {
	db := openPostgres(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var claimed []store.Job
	err := db.InTx(t.Context(), func(txn store.Tx) error {
		if err := txn.Enqueue(t.Context(), store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`{"v":1}`), RunAt: now}); err != nil {
			return err
		}
		var err error
		claimed, err = txn.ClaimJobs(t.Context(), store.Claim{Now: now, Lease: time.Hour, Limit: 1})
		return err
	})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("seed: %v, %d jobs", err, len(claimed))
	}
	job := claimed[0]

	enqueued, release := make(chan int), make(chan struct{})
	enqueueErr := make(chan error, 1)
	go func() {
		enqueueErr <- db.InTx(t.Context(), func(txn store.Tx) error {
			var pid int
			if err := txn.(*tx).queryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			if err := txn.Enqueue(t.Context(), store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`{"v":2}`), RunAt: now.Add(time.Minute)}); err != nil {
				return err
			}
			enqueued <- pid
			<-release
			return nil
		})
	}()
	pid := <-enqueued
	var retryCalls atomic.Int32
	retryErr := make(chan error, 1)
	go func() {
		retryErr <- db.InTx(t.Context(), func(txn store.Tx) error {
			retryCalls.Add(1)
			return txn.RetryJob(t.Context(), job.ID, job.LeaseToken, now.Add(10*time.Minute), "timeout")
		})
	}()
	// Wait until RetryJob is blocked behind the uncommitted enqueue.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.read.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting); err != nil {
			t.Fatalf("poll blocked backends: %v", err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("RetryJob never blocked on the concurrent enqueue")
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-enqueueErr; err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	if err := <-retryErr; err != nil {
		t.Fatalf("RetryJob racing an enqueue: got %v, want success after a retry", err)
	}
	if n := retryCalls.Load(); n < 2 {
		t.Errorf("RetryJob attempts: got %d, want at least 2", n)
	}
	var jobs []store.Job
	if err := db.View(t.Context(), func(txn store.Tx) error {
		var err error
		jobs, err = txn.ListJobs(t.Context(), store.JobFilter{Kind: "push", Key: "k"})
		return err
	}); err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	want := []store.Job{{ID: job.ID, Kind: "push", Key: "k", Payload: json.RawMessage(`{"v":2}`), State: store.JobPending, Attempts: 1,
		RunAt: now.Add(time.Minute), LastError: "timeout"}}
	if diff := cmp.Diff(want, jobs, cmpopts.IgnoreFields(store.Job{}, "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("jobs after the race (-want +got):\n%s", diff)
	}
}
