package jirasync_test

import (
	"fmt"
	"sync"
	"testing"

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
