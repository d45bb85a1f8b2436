package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// opsTests are the conformance tests of store.OpsTx and of
// Store.PendingMigrations.
var opsTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"NoPendingMigrations", testNoPendingMigrations},
	{"QueueStats", testQueueStats},
	{"ItemCounts", testItemCounts},
	{"ConnectionHealth", testConnectionHealth},
}

func testNoPendingMigrations(t *testing.T, s store.Store) {
	pending, err := s.PendingMigrations(t.Context())
	if err != nil {
		t.Fatalf("PendingMigrations: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("PendingMigrations after open = %v, want none", pending)
	}
}

func queueStats(t *testing.T, s store.Store) []store.QueueStat {
	t.Helper()
	var qs []store.QueueStat
	view(t, s, func(tx store.Tx) error {
		var err error
		qs, err = tx.QueueStats(t.Context())
		return err
	})
	return qs
}

func testQueueStats(t *testing.T, s store.Store) {
	if qs := queueStats(t, s); len(qs) != 0 {
		t.Errorf("QueueStats of an empty queue = %+v, want none", qs)
	}
	at := tracker.Truncate(base)
	enqueue(t, s, store.Job{Kind: "sync_item", Key: "item:a", RunAt: at.Add(2 * minute)})
	enqueue(t, s, store.Job{Kind: "sync_item", Key: "item:b", RunAt: at.Add(minute)})
	enqueue(t, s, store.Job{Kind: "sync_item", Key: "item:c", RunAt: at.Add(3 * minute)})
	enqueue(t, s, store.Job{Kind: "reconcile", Key: "reconcile:x", RunAt: at.Add(time.Hour)})
	// A running and a done job are not pending: claim b (due first) and
	// complete it, claim a and leave it running.
	jobs := claim(t, s, store.Claim{Kinds: []string{"sync_item"}, Now: at.Add(2 * minute), Lease: minute, Limit: 2})
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(jobs))
	}
	for _, j := range jobs {
		if j.Key == "item:b" {
			inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), j.ID, j.LeaseToken) })
		}
	}
	want := []store.QueueStat{
		{Kind: "reconcile", Pending: 1, EarliestRunAt: at.Add(time.Hour).UTC()},
		{Kind: "sync_item", Pending: 1, EarliestRunAt: at.Add(3 * minute).UTC()},
	}
	if diff := cmp.Diff(want, queueStats(t, s)); diff != "" {
		t.Errorf("QueueStats (-want +got):\n%s", diff)
	}
}

func testItemCounts(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	v1 := createItem(t, s, tg.ID, vuln("one"), nil, base)
	createItem(t, s, tg.ID, vuln("two"), nil, base)
	gone := createItem(t, s, tg.ID, vuln("gone"), nil, base)
	createItem(t, s, tg.ID, tracker.NewItem{Kind: tracker.KindFinding, Title: "f", Severity: tracker.SeverityLow, ParentID: v1.ID}, &v1, base)
	done := v1
	done.Status, done.Version = tracker.StatusResolved, v1.Version+1
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), done, v1.Version, nil) })
	del := tracker.HistoryEntry{Field: "deleted", Old: "", New: "true", Actor: "bob@example.test", Origin: tracker.OriginVulnsync, At: base}
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteItem(t.Context(), gone.ID, del) })

	var got []store.ItemCount
	view(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.ItemCounts(t.Context())
		return err
	})
	want := []store.ItemCount{
		{Kind: tracker.KindFinding, Status: string(tracker.StatusOpen), Count: 1},
		{Kind: tracker.KindVulnerability, Status: string(tracker.StatusOpen), Count: 1},
		{Kind: tracker.KindVulnerability, Status: string(tracker.StatusResolved), Count: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ItemCounts (-want +got):\n%s", diff)
	}
}

func connectionHealth(t *testing.T, s store.Store, id string) (store.ConnectionHealth, error) {
	t.Helper()
	var h store.ConnectionHealth
	err := txErr(t, s, func(tx store.Tx) error {
		var err error
		h, err = tx.ConnectionHealth(t.Context(), id)
		return err
	})
	return h, err
}

func testConnectionHealth(t *testing.T, s store.Store) {
	su := newSetup(t, s, "acme", 1)
	other := newSetup(t, s, "other", 0)
	_, err := connectionHealth(t, s, "nope")
	wantErr(t, "ConnectionHealth of an unknown connection", err, tracker.ENotFound, "nope")

	h, err := connectionHealth(t, s, su.conn.ID)
	if err != nil {
		t.Fatalf("ConnectionHealth: %v", err)
	}
	if diff := cmp.Diff(store.ConnectionHealth{ConnectionID: su.conn.ID}, h); diff != "" {
		t.Errorf("health of a quiet connection (-want +got):\n%s", diff)
	}

	at := tracker.Truncate(base)
	hook := func(conn, key string, received time.Time, event string) store.Delivery {
		d, _ := recordDelivery(t, s, store.Delivery{ConnectionID: conn, DeliveryKey: key, Event: event, IssueID: "10001",
			Status: store.DeliveryQueued, Body: []byte(`{}`), ReceivedAt: received})
		return d
	}
	hook(su.conn.ID, "w1", at, "jira:issue_updated")
	applied := hook(su.conn.ID, "w2", at.Add(minute), "jira:issue_updated")
	inTx(t, s, func(tx store.Tx) error {
		return tx.SetDeliveryStatus(t.Context(), applied.ID, store.DeliveryApplied, "")
	})
	// Reconciliation's rows are queued work, not webhooks.
	hook(su.conn.ID, "r1", at.Add(2*minute), store.DeliveryEventReconcile)
	hook(other.conn.ID, "o1", at.Add(3*minute), "jira:issue_updated")

	ev := func(in, result, msg string, when time.Time) store.SyncEvent {
		return store.SyncEvent{IntegrationID: in, ItemID: su.items[0].ID, Direction: "to_jira", Action: "update", Result: result, Error: msg, At: when}
	}
	inTx(t, s, func(tx store.Tx) error {
		for _, e := range []store.SyncEvent{
			ev(su.in.ID, "error", "older failure", at),
			ev(su.in.ID, "error", "newest failure", at.Add(minute)),
			ev(su.in.ID, "ok", "", at.Add(2*minute)),
			ev(other.in.ID, "error", "another connection's failure", at.Add(3*minute)),
		} {
			if err := tx.AddSyncEvent(t.Context(), e); err != nil {
				return err
			}
		}
		return nil
	})

	h, err = connectionHealth(t, s, su.conn.ID)
	if err != nil {
		t.Fatalf("ConnectionHealth: %v", err)
	}
	if !h.LastWebhookAt.Equal(at.Add(minute)) {
		t.Errorf("LastWebhookAt = %v, want %v (the newest webhook, not reconciliation's row)", h.LastWebhookAt, at.Add(minute))
	}
	if h.QueuedDeliveries != 2 {
		t.Errorf("QueuedDeliveries = %d, want 2 (one webhook and one reconciliation pull)", h.QueuedDeliveries)
	}
	if h.LastError.Error != "newest failure" || h.LastError.IntegrationID != su.in.ID || !h.LastError.At.Equal(at.Add(minute)) {
		t.Errorf("LastError = %+v, want the newest failure of the connection's integration", h.LastError)
	}
}
