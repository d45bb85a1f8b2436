package sqldb

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// raceBehind makes second run while first's transaction is open and holds
// what second needs: first runs and stays uncommitted until second is
// blocked on it, then commits. It returns how many times InTx ran second
// and second's error.
func raceBehind(t *testing.T, db *DB, first, second func(store.Tx) error) (int32, error) {
	t.Helper()
	started, release := make(chan int), make(chan struct{})
	firstErr := make(chan error, 1)
	go func() {
		firstErr <- db.InTx(t.Context(), func(txn store.Tx) error {
			var pid int
			if err := txn.(*tx).queryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			if err := first(txn); err != nil {
				return err
			}
			started <- pid
			<-release
			return nil
		})
	}()
	var pid int
	select {
	case pid = <-started:
	case err := <-firstErr:
		t.Fatalf("first transaction: %v", err)
	}
	var calls atomic.Int32
	secondErr := make(chan error, 1)
	go func() {
		secondErr <- db.InTx(t.Context(), func(txn store.Tx) error {
			calls.Add(1)
			return second(txn)
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.read.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting); err != nil {
			close(release)
			t.Fatalf("poll blocked backends: %v", err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("the second transaction never blocked on the first")
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-firstErr; err != nil {
		t.Fatalf("first transaction: %v", err)
	}
	err := <-secondErr
	return calls.Load(), err
}

// seedIntegration stores a connection, two targets, an integration of the
// first and n items of it.
func seedIntegration(t *testing.T, db *DB, n int) (store.Connection, []tracker.Target, store.Integration, []string) {
	t.Helper()
	conn := store.Connection{ID: "c1", Name: "jira", BaseURL: "https://x.atlassian.net", Deployment: "cloud", AuthType: "basic", SealedSecret: "s"}
	tgs := []tracker.Target{{ID: "t1", Name: "web"}, {ID: "t2", Name: "api"}}
	in := store.Integration{ID: "i1", ConnectionID: "c1", TargetID: "t1", ProjectKey: "WEB", State: "active"}
	var items []string
	err := db.InTx(t.Context(), func(txn store.Tx) error {
		if err := txn.CreateConnection(t.Context(), conn); err != nil {
			return err
		}
		for _, tg := range tgs {
			if err := txn.CreateTarget(t.Context(), tg); err != nil {
				return err
			}
		}
		if err := txn.CreateIntegration(t.Context(), in); err != nil {
			return err
		}
		for i := range n {
			it := tracker.Item{ID: "item-" + string(rune('a'+i)), TargetID: "t1", Kind: tracker.KindVulnerability, Title: "x",
				Severity: tracker.SeverityLow, Status: tracker.StatusOpen, Version: 1}
			if err := txn.CreateItem(t.Context(), it, nil); err != nil {
				return err
			}
			items = append(items, it.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return conn, tgs, in, items
}

// An integration committed while another transaction integrates the same
// target: the loser's insert waits, finds the row taken, and the rerun
// names the winner instead of failing on the unique index.
func TestPostgresCreateIntegrationRace(t *testing.T) {
	db := openPostgres(t)
	seedIntegration(t, db, 0)
	calls, err := raceBehind(t, db,
		func(txn store.Tx) error {
			return txn.CreateIntegration(t.Context(), store.Integration{ID: "i2", ConnectionID: "c1", TargetID: "t2", ProjectKey: "API", State: "active"})
		},
		func(txn store.Tx) error {
			return txn.CreateIntegration(t.Context(), store.Integration{ID: "i3", ConnectionID: "c1", TargetID: "t2", ProjectKey: "MOBILE", State: "active"})
		})
	if tracker.KindOf(err) != tracker.EConflict || !strings.Contains(err.Error(), "API") || !strings.Contains(err.Error(), `"i2"`) {
		t.Errorf("losing CreateIntegration: got %v, want a conflict naming project API and integration i2", err)
	}
	if calls < 2 {
		t.Errorf("losing CreateIntegration ran %d times, want at least 2 (a rerun after the race)", calls)
	}
}

// The same for two items linked to one issue.
func TestPostgresUpsertLinkRace(t *testing.T) {
	db := openPostgres(t)
	_, _, in, items := seedIntegration(t, db, 2)
	link := func(item string) func(store.Tx) error {
		return func(txn store.Tx) error {
			return txn.UpsertLink(t.Context(), store.Link{ItemID: item, IntegrationID: in.ID, State: tracker.LinkLinked, IssueID: "10001", IssueKey: "WEB-1"})
		}
	}
	calls, err := raceBehind(t, db, link(items[0]), link(items[1]))
	if tracker.KindOf(err) != tracker.EConflict || !strings.Contains(err.Error(), items[0]) {
		t.Errorf("losing UpsertLink: got %v, want a conflict naming item %s", err, items[0])
	}
	if calls < 2 {
		t.Errorf("losing UpsertLink ran %d times, want at least 2", calls)
	}
}

// The same for two comments mirrored to one Jira comment.
func TestPostgresUpsertObjectLinkRace(t *testing.T) {
	db := openPostgres(t)
	_, _, in, items := seedIntegration(t, db, 1)
	link := func(local string) func(store.Tx) error {
		return func(txn store.Tx) error {
			return txn.UpsertObjectLink(t.Context(), store.ObjectLink{Kind: store.ObjectComment, LocalID: local, ItemID: items[0], IntegrationID: in.ID,
				JiraID: "20001", Origin: "jira"})
		}
	}
	calls, err := raceBehind(t, db, link("comment-1"), link("comment-2"))
	if tracker.KindOf(err) != tracker.EConflict || !strings.Contains(err.Error(), "comment-1") {
		t.Errorf("losing UpsertObjectLink: got %v, want a conflict naming comment-1", err)
	}
	if calls < 2 {
		t.Errorf("losing UpsertObjectLink ran %d times, want at least 2", calls)
	}
}

// A job enqueued by a transaction that commits while RequeueJob puts the
// same key back to pending collides on the one-pending-job index; RequeueJob
// must then run again and merge into it.
func TestPostgresRequeueJobRacesEnqueue(t *testing.T) {
	db := openPostgres(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var failed store.Job
	err := db.InTx(t.Context(), func(txn store.Tx) error {
		if err := txn.Enqueue(t.Context(), store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`{"v":1}`), RunAt: now}); err != nil {
			return err
		}
		claimed, err := txn.ClaimJobs(t.Context(), store.Claim{Now: now, Lease: time.Hour, Limit: 1})
		if err != nil {
			return err
		}
		failed = claimed[0]
		return txn.FailJob(t.Context(), failed.ID, failed.LeaseToken, "boom")
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	var merged store.Job
	calls, err := raceBehind(t, db,
		func(txn store.Tx) error {
			return txn.Enqueue(t.Context(), store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`{"v":2}`), RunAt: now.Add(2 * time.Hour)})
		},
		func(txn store.Tx) error {
			var err error
			merged, err = txn.RequeueJob(t.Context(), failed.ID, now.Add(time.Hour))
			return err
		})
	if err != nil {
		t.Fatalf("RequeueJob racing an enqueue: got %v, want a merge after a rerun", err)
	}
	if calls < 2 {
		t.Errorf("RequeueJob ran %d times, want at least 2", calls)
	}
	if merged.ID == failed.ID || string(merged.Payload) != `{"v":2}` || !merged.RunAt.Equal(now.Add(time.Hour)) || merged.LastError != "boom" {
		t.Errorf("merged job: got id %d payload %s run at %v error %q; want the enqueued job with run time %v and the failed job's error",
			merged.ID, merged.Payload, merged.RunAt, merged.LastError, now.Add(time.Hour))
	}
	var jobs []store.Job
	if err := db.View(t.Context(), func(txn store.Tx) error {
		var err error
		jobs, err = txn.ListJobs(t.Context(), store.JobFilter{Kind: "push", Key: "k"})
		return err
	}); err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	if len(jobs) != 1 || jobs[0].ID != merged.ID {
		t.Errorf("jobs of the key after the race: got %d, want only the merged one", len(jobs))
	}
}

// A redelivery recorded while the first copy's transaction is still open
// waits for it, and then reports the first copy's row as not new.
func TestPostgresRecordDeliveryRace(t *testing.T) {
	db := openPostgres(t)
	conn, _, _, _ := seedIntegration(t, db, 0)
	var first, second store.Delivery
	var firstNew, secondNew bool
	record := func(d *store.Delivery, isNew *bool, body string) func(store.Tx) error {
		return func(txn store.Tx) error {
			var err error
			*d, *isNew, err = txn.RecordDelivery(t.Context(), store.Delivery{ConnectionID: conn.ID, DeliveryKey: "hook-1", Event: "jira:issue_updated", Body: []byte(body)})
			return err
		}
	}
	calls, err := raceBehind(t, db, record(&first, &firstNew, `{"copy":1}`), record(&second, &secondNew, `{"copy":2}`))
	if err != nil {
		t.Fatalf("second RecordDelivery: %v", err)
	}
	if !firstNew || secondNew {
		t.Errorf("new: got first %v second %v, want true then false", firstNew, secondNew)
	}
	if second.ID != first.ID || string(second.Body) != `{"copy":1}` {
		t.Errorf("second RecordDelivery: got id %d body %s, want the first copy's row %d", second.ID, second.Body, first.ID)
	}
	if calls != 1 {
		t.Errorf("second RecordDelivery ran %d times, want once (no retry needed)", calls)
	}
}
