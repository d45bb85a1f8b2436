package jirasync_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/store/storetest"
)

// Several replicas on one PostgreSQL database work the same queue at the
// same time: every item gets exactly one issue (G1).
func TestPostgresReplicasCreateEachIssueOnce(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	dir := t.TempDir() // shared: the replicas share the secret key file
	a := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir})
	b := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, Sim: a.Sim, SimURL: a.SimURL})
	s := a.Setup("fleet")
	var ids []string
	for i := 0; i < 60; i++ {
		ids = append(ids, createItem(t, a, s.TargetID, map[string]any{"kind": "vulnerability", "title": fmt.Sprintf("Host %02d: outdated OpenSSH", i), "severity": "high"}).ID)
	}
	// Each replica also edits items the other one may be syncing.
	for i := 0; i < 60; i += 3 {
		b.Must(200, "PATCH", "/api/v1/items/"+ids[i], map[string]any{"status": "in_progress"}, nil)
	}
	var wg sync.WaitGroup
	for _, e := range []*apptest.Env{a, b, a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); e.Sync() }()
	}
	wg.Wait()
	a.Sync()
	keys := searchAll(t, a)
	if len(keys) != 60 {
		t.Fatalf("%d issues for 60 items", len(keys))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		key := jiraKey(t, b, id)
		if seen[key] {
			t.Fatalf("two items linked to %s", key)
		}
		seen[key] = true
		if i%3 == 0 {
			if is := readIssue(t, a, key); is.Fields.Status.Name != "In Progress" {
				t.Errorf("%s: status %s, want In Progress", key, is.Fields.Status.Name)
			}
		}
	}
}

// The reconciliation of an integration runs once per interval across
// replicas: every replica's start queues a run for now, but the reconcile
// lease in the database lets only the first one of an interval ask Jira,
// whether the replicas work the queue one after another or at once; the
// skipped runs keep the chain going, so the next interval runs again.
func TestPostgresReplicasReconcileOncePerInterval(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	dir := t.TempDir()
	clock := apptest.NewClock(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))
	a := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, Clock: clock})
	b := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, Clock: clock, Sim: a.Sim, SimURL: a.SimURL})
	c := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, Clock: clock, Sim: a.Sim, SimURL: a.SimURL})
	replicas := []*apptest.Env{a, b, c}
	a.Setup("fleet")
	a.Sync()
	// Completed reconciliations, summed over the replicas (a quiet one
	// writes no sync log row, and a failed one is retried).
	runs := func() int {
		n := int64(0)
		for _, e := range replicas {
			n += e.Engine.ReconcileRuns()
		}
		return int(n)
	}
	start := func(e *apptest.Env) {
		t.Helper()
		if err := e.Engine.ScheduleReconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	all := func() {
		var wg sync.WaitGroup
		for _, e := range replicas {
			wg.Add(1)
			go func() { defer wg.Done(); e.Sync() }()
		}
		wg.Wait()
	}
	for _, e := range replicas { // one after another: a rolling start
		start(e)
		e.Sync()
	}
	for _, e := range replicas { // at once
		start(e)
	}
	all()
	if got := runs(); got != 1 {
		t.Fatalf("%d reconciliations within one interval across three replicas, want 1", got)
	}
	clock.Advance(6 * time.Minute) // past the 5 min interval
	for _, e := range replicas {
		start(e)
	}
	all()
	if got := runs(); got != 2 {
		t.Fatalf("%d reconciliations after a second interval, want 2", got)
	}
	clock.Advance(6 * time.Minute) // the chain alone, no start: it still runs
	all()
	if got := runs(); got != 3 {
		t.Fatalf("%d reconciliations after a third interval without a start, want 3", got)
	}
}
