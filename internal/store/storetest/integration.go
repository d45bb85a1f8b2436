package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// integrationTests are the conformance tests of store.IntegrationTx and of
// the manual job retry.
var integrationTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Connections", testConnections},
	{"ConnectionBadInput", testConnectionBadInput},
	{"DeleteConnectionInUse", testDeleteConnectionInUse},
	{"Integrations", testIntegrations},
	{"IntegrationConflicts", testIntegrationConflicts},
	{"IntegrationBadInput", testIntegrationBadInput},
	{"DeleteIntegrationCascade", testDeleteIntegrationCascade},
	{"Links", testLinks},
	{"LinkIssueUnique", testLinkIssueUnique},
	{"ConcurrentIntegrate", testConcurrentIntegrate},
	{"ConcurrentLinkSameIssue", testConcurrentLinkSameIssue},
	{"LinksForItems", testLinksForItems},
	{"PendingSyncWork", testPendingSyncWork},
	{"ListLinks", testListLinks},
	{"SyncEvents", testSyncEvents},
	{"SyncEventLimits", testSyncEventLimits},
	{"Deliveries", testDeliveries},
	{"DeliveryDedupConcurrent", testDeliveryDedupConcurrent},
	{"QueuedDeliveries", testQueuedDeliveries},
	{"ObjectLinks", testObjectLinks},
	{"Leases", testLeases},
	{"LeaseConcurrent", testLeaseConcurrent},
	{"GetJob", testGetJob},
	{"RequeueJob", testRequeueJob},
	{"RequeueJobMerges", testRequeueJobMerges},
}

func newConnection(name string) store.Connection {
	return store.Connection{
		ID: newID(), Name: name, BaseURL: "https://" + name + ".atlassian.net", Deployment: "cloud", AuthType: "basic",
		Email: "bot@example.test", SealedSecret: "sealed:" + name, SealedWebhookSecret: "sealed-hook:" + name,
		WebhookID: "", AccountID: "5b10ac8d82e05b22cc7d4ef5", AccountName: "vulnsync bot", WebhookAuth: tracker.WebhookHMAC,
		CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base),
	}
}

func createConnection(t *testing.T, s store.Store, name string) store.Connection {
	t.Helper()
	c := newConnection(name)
	inTx(t, s, func(tx store.Tx) error { return tx.CreateConnection(t.Context(), c) })
	return c
}

func newIntegration(connID, targetID, project string) store.Integration {
	return store.Integration{
		ID: newID(), ConnectionID: connID, TargetID: targetID, ProjectKey: project, State: "needs_mapping",
		CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base),
	}
}

func createIntegration(t *testing.T, s store.Store, connID, targetID, project string) store.Integration {
	t.Helper()
	in := newIntegration(connID, targetID, project)
	inTx(t, s, func(tx store.Tx) error { return tx.CreateIntegration(t.Context(), in) })
	return in
}

// setup is a connection, a target integrated through it and some items of
// that target.
type setup struct {
	conn  store.Connection
	tg    tracker.Target
	in    store.Integration
	items []tracker.Item
}

func newSetup(t *testing.T, s store.Store, name string, items int) setup {
	t.Helper()
	su := setup{conn: createConnection(t, s, name), tg: createTarget(t, s, name)}
	su.in = createIntegration(t, s, su.conn.ID, su.tg.ID, strings.ToUpper(name))
	inTx(t, s, func(tx store.Tx) error {
		for i := range items {
			it, hist := build(t, su.tg.ID, vuln(fmt.Sprintf("%s %d", name, i)), nil, base)
			if err := tx.CreateItem(t.Context(), it, hist); err != nil {
				return err
			}
			su.items = append(su.items, it)
		}
		return nil
	})
	return su
}

func getConnection(t *testing.T, s store.Store, id string) (store.Connection, error) {
	t.Helper()
	var c store.Connection
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		c, err = tx.GetConnection(t.Context(), id)
		return err
	})
	return c, err
}

func getIntegration(t *testing.T, s store.Store, id string) (store.Integration, error) {
	t.Helper()
	var in store.Integration
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		in, err = tx.GetIntegration(t.Context(), id)
		return err
	})
	return in, err
}

func listIntegrations(t *testing.T, s store.Store) []store.Integration {
	t.Helper()
	var ins []store.Integration
	view(t, s, func(tx store.Tx) error {
		var err error
		ins, err = tx.ListIntegrations(t.Context())
		return err
	})
	return ins
}

func getLink(t *testing.T, s store.Store, itemID string) (store.Link, error) {
	t.Helper()
	var l store.Link
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		l, err = tx.GetLink(t.Context(), itemID)
		return err
	})
	return l, err
}

func upsertLink(t *testing.T, s store.Store, l store.Link) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error { return tx.UpsertLink(t.Context(), l) })
}

func linked(su setup, i int, issueID string) store.Link {
	return store.Link{ItemID: su.items[i].ID, IntegrationID: su.in.ID, State: tracker.LinkLinked, IssueID: issueID,
		IssueKey: su.in.ProjectKey + "-" + issueID, Synced: json.RawMessage(`{"title":"x"}`), UpdatedAt: tracker.Truncate(base)}
}

func listEvents(t *testing.T, s store.Store, f store.SyncEventFilter) []store.SyncEvent {
	t.Helper()
	var evs []store.SyncEvent
	view(t, s, func(tx store.Tx) error {
		var err error
		evs, err = tx.ListSyncEvents(t.Context(), f)
		return err
	})
	return evs
}

func testConnections(t *testing.T, s store.Store) {
	jira := createConnection(t, s, "jira")
	acme := createConnection(t, s, "acme")
	dc := newConnection("corp")
	dc.Deployment, dc.AuthType, dc.Email, dc.SealedWebhookSecret = "datacenter", "bearer", "", ""
	dc.WebhookAuth, dc.ServerVersion = tracker.WebhookToken, "9.12.15" // Data Center 9 does not sign
	dc.CreatedAt, dc.UpdatedAt = base, time.Time{}
	inTx(t, s, func(tx store.Tx) error { return tx.CreateConnection(t.Context(), dc) })
	dc.CreatedAt = tracker.Truncate(base)
	dc.UpdatedAt = dc.CreatedAt // a zero update time is the creation time

	got, err := getConnection(t, s, jira.ID)
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if diff := cmp.Diff(jira, got); diff != "" {
		t.Errorf("GetConnection (-want +got):\n%s", diff)
	}
	var list []store.Connection
	view(t, s, func(tx store.Tx) error {
		var err error
		list, err = tx.ListConnections(t.Context())
		return err
	})
	if diff := cmp.Diff([]store.Connection{acme, dc, jira}, list); diff != "" {
		t.Errorf("ListConnections, by name (-want +got):\n%s", diff)
	}

	upd := jira
	upd.Name, upd.SealedWebhookSecret, upd.WebhookID, upd.UpdatedAt = "jira cloud", "sealed-hook:rotated", "42", base.Add(time.Hour)
	upd.CreatedAt = base.Add(-time.Hour) // ignored: fixed at creation
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateConnection(t.Context(), upd) })
	want := upd
	want.CreatedAt, want.UpdatedAt = jira.CreatedAt, tracker.Truncate(upd.UpdatedAt)
	got, err = getConnection(t, s, jira.ID)
	if err != nil {
		t.Fatalf("GetConnection after update: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetConnection after UpdateConnection (-want +got):\n%s", diff)
	}

	_, err = getConnection(t, s, "no-such-connection")
	wantErr(t, "GetConnection unknown", err, tracker.ENotFound, "no-such-connection")
	ghost := newConnection("ghost")
	wantErr(t, "UpdateConnection unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateConnection(t.Context(), ghost)
	}), tracker.ENotFound, ghost.ID)
	dup := newConnection("again")
	dup.ID = acme.ID
	wantErr(t, "CreateConnection with a taken id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateConnection(t.Context(), dup)
	}), tracker.EConflict, acme.ID)
	got, err = getConnection(t, s, acme.ID)
	if err != nil || got.Name != "acme" {
		t.Errorf("connection after a refused duplicate: got %+v, %v; want acme unchanged", got, err)
	}
}

func testConnectionBadInput(t *testing.T, s store.Store) {
	cases := []struct {
		name    string
		mod     func(c *store.Connection)
		mention string
	}{
		{"no id", func(c *store.Connection) { c.ID = "" }, "id"},
		{"no name", func(c *store.Connection) { c.Name = " " }, "name"},
		{"no base URL", func(c *store.Connection) { c.BaseURL = "" }, "base_url"},
		{"unknown deployment", func(c *store.Connection) { c.Deployment = "server" }, "deployment"},
		{"unknown auth type", func(c *store.Connection) { c.AuthType = "oauth" }, "auth_type"},
		{"unknown webhook auth", func(c *store.Connection) { c.WebhookAuth = "none" }, "webhook_auth"},
		{"huge secret", func(c *store.Connection) { c.SealedSecret = strings.Repeat("s", 8193) }, "sealed_secret"},
		{"huge name", func(c *store.Connection) { c.Name = strings.Repeat("n", 201) }, "name"},
	}
	for _, c := range cases {
		conn := newConnection("bad")
		c.mod(&conn)
		wantErr(t, "CreateConnection "+c.name, txErr(t, s, func(tx store.Tx) error {
			return tx.CreateConnection(t.Context(), conn)
		}), tracker.EInvalid, c.mention)
	}
	good := createConnection(t, s, "good")
	bad := good
	bad.AuthType = "oauth"
	wantErr(t, "UpdateConnection with an unknown auth type", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateConnection(t.Context(), bad)
	}), tracker.EInvalid, "auth_type")
	view(t, s, func(tx store.Tx) error {
		list, err := tx.ListConnections(t.Context())
		if err != nil {
			t.Fatalf("ListConnections: %v", err)
		}
		if diff := cmp.Diff([]store.Connection{good}, list); diff != "" {
			t.Errorf("connections after refused input (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testDeleteConnectionInUse(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 0)
	tg2 := createTarget(t, s, "api")
	in2 := createIntegration(t, s, su.conn.ID, tg2.ID, "API")
	var delivery store.Delivery
	inTx(t, s, func(tx store.Tx) error {
		var err error
		delivery, _, err = tx.RecordDelivery(t.Context(), store.Delivery{ConnectionID: su.conn.ID, DeliveryKey: "d1", Event: "jira:issue_updated", Body: []byte(`{}`)})
		return err
	})

	wantErr(t, "DeleteConnection used by two", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteConnection(t.Context(), su.conn.ID)
	}), tracker.EConflict, su.conn.ID, "is used by 2 integrations")
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteIntegration(t.Context(), in2.ID) })
	wantErr(t, "DeleteConnection used by one", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteConnection(t.Context(), su.conn.ID)
	}), tracker.EConflict, su.conn.ID, "is used by 1 integration")
	if _, err := getConnection(t, s, su.conn.ID); err != nil {
		t.Fatalf("connection after refused deletes: %v", err)
	}

	inTx(t, s, func(tx store.Tx) error { return tx.DeleteIntegration(t.Context(), su.in.ID) })
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteConnection(t.Context(), su.conn.ID) })
	_, err := getConnection(t, s, su.conn.ID)
	wantErr(t, "GetConnection after delete", err, tracker.ENotFound, su.conn.ID)
	wantErr(t, "GetDelivery of a deleted connection", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.GetDelivery(t.Context(), delivery.ID)
		return err
	}), tracker.ENotFound)
	wantErr(t, "DeleteConnection twice", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteConnection(t.Context(), su.conn.ID)
	}), tracker.ENotFound, su.conn.ID)
}

func testIntegrations(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	web := createTarget(t, s, "web")
	api := createTarget(t, s, "api")
	first := createIntegration(t, s, conn.ID, web.ID, "WEB")
	second := newIntegration(conn.ID, api.ID, "API")
	second.CreatedAt, second.UpdatedAt = tracker.Truncate(base.Add(time.Minute)), tracker.Truncate(base.Add(time.Minute))
	second.Mapping = json.RawMessage(`{"issue_type": "Bug",  "fields":{"title":"summary"}}`)
	second.State = "active"
	second.Watermark = tracker.Truncate(base.Add(-time.Hour))
	inTx(t, s, func(tx store.Tx) error { return tx.CreateIntegration(t.Context(), second) })

	got, err := getIntegration(t, s, second.ID)
	if err != nil {
		t.Fatalf("GetIntegration: %v", err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("GetIntegration, mapping kept byte for byte (-want +got):\n%s", diff)
	}
	if got, err := getIntegration(t, s, first.ID); err != nil || got.Mapping != nil || !got.Watermark.IsZero() {
		t.Errorf("GetIntegration without mapping or watermark: got mapping %s watermark %v, %v; want none", got.Mapping, got.Watermark, err)
	}
	view(t, s, func(tx store.Tx) error {
		byTarget, err := tx.IntegrationByTarget(t.Context(), web.ID)
		if err != nil {
			t.Fatalf("IntegrationByTarget: %v", err)
		}
		if diff := cmp.Diff(first, byTarget); diff != "" {
			t.Errorf("IntegrationByTarget (-want +got):\n%s", diff)
		}
		_, err = tx.IntegrationByTarget(t.Context(), "no-such-target")
		wantErr(t, "IntegrationByTarget unknown", err, tracker.ENotFound, "no-such-target")
		return nil
	})
	if diff := cmp.Diff([]store.Integration{first, second}, listIntegrations(t, s)); diff != "" {
		t.Errorf("ListIntegrations, oldest first (-want +got):\n%s", diff)
	}

	upd := first
	upd.Mapping = json.RawMessage(`{"v":2}`)
	upd.State = "paused"
	upd.Watermark, upd.UpdatedAt = base.Add(2*time.Hour), base.Add(3*time.Hour)
	upd.ConnectionID, upd.TargetID, upd.ProjectKey = "other", api.ID, "OTHER" // fixed at creation: ignored
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateIntegration(t.Context(), upd) })
	want := upd
	want.ConnectionID, want.TargetID, want.ProjectKey = first.ConnectionID, first.TargetID, first.ProjectKey
	want.Watermark, want.UpdatedAt = tracker.Truncate(upd.Watermark), tracker.Truncate(upd.UpdatedAt)
	got, err = getIntegration(t, s, first.ID)
	if err != nil {
		t.Fatalf("GetIntegration after update: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetIntegration after UpdateIntegration (-want +got):\n%s", diff)
	}
	// Clearing the mapping and watermark stores none.
	cleared := want
	cleared.Mapping, cleared.Watermark = nil, time.Time{}
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateIntegration(t.Context(), cleared) })
	if got, err := getIntegration(t, s, first.ID); err != nil || got.Mapping != nil || !got.Watermark.IsZero() {
		t.Errorf("after clearing: got mapping %s watermark %v, %v; want none", got.Mapping, got.Watermark, err)
	}

	_, err = getIntegration(t, s, "no-such-integration")
	wantErr(t, "GetIntegration unknown", err, tracker.ENotFound, "no-such-integration")
	ghost := newIntegration(conn.ID, web.ID, "WEB")
	wantErr(t, "UpdateIntegration unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateIntegration(t.Context(), ghost)
	}), tracker.ENotFound, ghost.ID)
	wantErr(t, "DeleteIntegration unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteIntegration(t.Context(), ghost.ID)
	}), tracker.ENotFound, ghost.ID)
}

func testIntegrationConflicts(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	conn2 := createConnection(t, s, "jira2")
	web := createTarget(t, s, "web")
	api := createTarget(t, s, "api")
	mobile := createTarget(t, s, "mobile")
	first := createIntegration(t, s, conn.ID, web.ID, "WEB")

	// A conflict does not poison the transaction: the caller may carry on
	// and commit what else it did.
	var ok store.Integration
	inTx(t, s, func(tx store.Tx) error {
		err := tx.CreateIntegration(t.Context(), newIntegration(conn.ID, web.ID, "OTHER"))
		wantErr(t, "CreateIntegration of an integrated target", err, tracker.EConflict, web.ID, "WEB", first.ID)
		err = tx.CreateIntegration(t.Context(), newIntegration(conn.ID, api.ID, "WEB"))
		wantErr(t, "CreateIntegration of an integrated project", err, tracker.EConflict, "WEB", conn.ID, web.ID, first.ID)
		dup := newIntegration(conn.ID, api.ID, "API")
		dup.ID = first.ID
		err = tx.CreateIntegration(t.Context(), dup)
		wantErr(t, "CreateIntegration with a taken id", err, tracker.EConflict, first.ID)
		ok = newIntegration(conn.ID, api.ID, "API")
		return tx.CreateIntegration(t.Context(), ok)
	})
	// The same project key through another connection is another project.
	other := createIntegration(t, s, conn2.ID, mobile.ID, "WEB")

	wantErr(t, "CreateIntegration with an unknown connection", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateIntegration(t.Context(), newIntegration("no-such-connection", mobile.ID, "X"))
	}), tracker.ENotFound, "no-such-connection")
	wantErr(t, "CreateIntegration with an unknown target", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateIntegration(t.Context(), newIntegration(conn.ID, "no-such-target", "X"))
	}), tracker.ENotFound, "no-such-target")

	var ids []string
	for _, in := range listIntegrations(t, s) {
		ids = append(ids, in.ID)
	}
	wantIDs := []string{first.ID, ok.ID, other.ID}
	slices.Sort(ids)
	slices.Sort(wantIDs)
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Errorf("integrations after refused creations (-want +got):\n%s", diff)
	}
}

func testIntegrationBadInput(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	web := createTarget(t, s, "web")
	cases := []struct {
		name string
		mod  func(in *store.Integration)
		kind tracker.ErrorKind
		what string
	}{
		{"no id", func(in *store.Integration) { in.ID = "" }, tracker.EInvalid, "id"},
		{"no project", func(in *store.Integration) { in.ProjectKey = "" }, tracker.EInvalid, "project_key"},
		{"unknown state", func(in *store.Integration) { in.State = "running" }, tracker.EInvalid, "state"},
		{"mapping not JSON", func(in *store.Integration) { in.Mapping = json.RawMessage(`{"a":`) }, tracker.EInvalid, "mapping"},
		{"mapping too large", func(in *store.Integration) {
			in.Mapping = json.RawMessage(`"` + strings.Repeat("m", store.MaxSyncDocBytes) + `"`)
		}, tracker.ETooLarge, "mapping"},
	}
	for _, c := range cases {
		in := newIntegration(conn.ID, web.ID, "WEB")
		c.mod(&in)
		wantErr(t, "CreateIntegration "+c.name, txErr(t, s, func(tx store.Tx) error {
			return tx.CreateIntegration(t.Context(), in)
		}), c.kind, c.what)
	}
	if ins := listIntegrations(t, s); len(ins) != 0 {
		t.Fatalf("integrations after refused input: got %d, want none", len(ins))
	}
	in := createIntegration(t, s, conn.ID, web.ID, "WEB")
	bad := in
	bad.State = "broken"
	wantErr(t, "UpdateIntegration with an unknown state", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateIntegration(t.Context(), bad)
	}), tracker.EInvalid, "state")
	if got, err := getIntegration(t, s, in.ID); err != nil || got.State != "needs_mapping" {
		t.Errorf("integration after a refused update: got state %q, %v; want needs_mapping", got.State, err)
	}
}

func testDeleteIntegrationCascade(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 2)
	keep := newSetup(t, s, "api", 1)
	upsertLink(t, s, linked(su, 0, "10001"))
	upsertLink(t, s, linked(su, 1, "10002"))
	upsertLink(t, s, linked(keep, 0, "10001"))
	comment := store.ObjectLink{Kind: store.ObjectComment, LocalID: newID(), ItemID: su.items[0].ID, IntegrationID: su.in.ID,
		JiraID: "20001", IssueID: "10001", Origin: "vulnsync", Hash: "h1", UpdatedAt: tracker.Truncate(base)}
	keptComment := comment
	keptComment.LocalID, keptComment.ItemID, keptComment.IntegrationID = newID(), keep.items[0].ID, keep.in.ID
	inTx(t, s, func(tx store.Tx) error {
		for _, l := range []store.ObjectLink{comment, keptComment} {
			if err := tx.UpsertObjectLink(t.Context(), l); err != nil {
				return err
			}
		}
		for i := range 3 {
			e := store.SyncEvent{IntegrationID: su.in.ID, ItemID: su.items[0].ID, Direction: "to_jira", Action: "update", Result: "ok", At: base.Add(time.Duration(i) * time.Second)}
			if err := tx.AddSyncEvent(t.Context(), e); err != nil {
				return err
			}
		}
		return nil
	})

	inTx(t, s, func(tx store.Tx) error { return tx.DeleteIntegration(t.Context(), su.in.ID) })

	_, err := getIntegration(t, s, su.in.ID)
	wantErr(t, "GetIntegration after delete", err, tracker.ENotFound, su.in.ID)
	for _, it := range su.items {
		_, err := getLink(t, s, it.ID)
		wantErr(t, "GetLink after the integration's delete", err, tracker.ENotFound, it.ID)
	}
	view(t, s, func(tx store.Tx) error {
		_, err := tx.ObjectLinkByLocal(t.Context(), store.ObjectComment, comment.LocalID)
		wantErr(t, "ObjectLinkByLocal after the integration's delete", err, tracker.ENotFound, comment.LocalID)
		if _, err := tx.ObjectLinkByLocal(t.Context(), store.ObjectComment, keptComment.LocalID); err != nil {
			t.Errorf("other integration's object link: %v", err)
		}
		if _, err := tx.GetLink(t.Context(), keep.items[0].ID); err != nil {
			t.Errorf("other integration's link: %v", err)
		}
		return nil
	})
	if evs := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID}); len(evs) != 3 {
		t.Errorf("sync events after the integration's delete: got %d, want the 3 recorded (they are the audit log)", len(evs))
	}
	// The target and the issue are free again.
	again := createIntegration(t, s, su.conn.ID, su.tg.ID, su.in.ProjectKey)
	l := linked(su, 1, "10001")
	l.IntegrationID = again.ID
	upsertLink(t, s, l)
}

func testLinks(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 3)
	creating := store.Link{ItemID: su.items[0].ID, IntegrationID: su.in.ID, State: tracker.LinkCreating, UpdatedAt: base}
	upsertLink(t, s, creating)
	got, err := getLink(t, s, su.items[0].ID)
	if err != nil {
		t.Fatalf("GetLink: %v", err)
	}
	creating.UpdatedAt = tracker.Truncate(base)
	if diff := cmp.Diff(creating, got); diff != "" {
		t.Errorf("GetLink of a creating link (-want +got):\n%s", diff)
	}

	// Jira refused the create: no issue, and the next attempt need not
	// search for one.
	refused := store.Link{ItemID: su.items[2].ID, IntegrationID: su.in.ID, State: tracker.LinkRefused, UpdatedAt: tracker.Truncate(base)}
	upsertLink(t, s, refused)
	if got, err := getLink(t, s, refused.ItemID); err != nil || cmp.Diff(refused, got) != "" {
		t.Errorf("GetLink of a refused link: got %+v, %v; want %+v", got, err, refused)
	}

	done := linked(su, 0, "10001")
	done.Synced = json.RawMessage(`{"summary": "xss",  "priority":"High"}`)
	done.UpdatedAt = base.Add(time.Minute)
	upsertLink(t, s, done)
	done.UpdatedAt = tracker.Truncate(done.UpdatedAt)
	got, err = getLink(t, s, su.items[0].ID)
	if err != nil {
		t.Fatalf("GetLink after update: %v", err)
	}
	if diff := cmp.Diff(done, got); diff != "" {
		t.Errorf("GetLink after the upsert, synced state byte for byte (-want +got):\n%s", diff)
	}
	view(t, s, func(tx store.Tx) error {
		byIssue, err := tx.LinkByIssue(t.Context(), su.in.ID, "10001")
		if err != nil {
			t.Fatalf("LinkByIssue: %v", err)
		}
		if diff := cmp.Diff(done, byIssue); diff != "" {
			t.Errorf("LinkByIssue (-want +got):\n%s", diff)
		}
		_, err = tx.LinkByIssue(t.Context(), su.in.ID, "99999")
		wantErr(t, "LinkByIssue unknown", err, tracker.ENotFound, "99999")
		_, err = tx.GetLink(t.Context(), su.items[1].ID)
		wantErr(t, "GetLink of an unlinked item", err, tracker.ENotFound, su.items[1].ID)
		return nil
	})

	// A deleted item's link is still updated: the sync closes its issue.
	del := tracker.HistoryEntry{Field: "deleted", New: "true", Actor: "bob", Origin: tracker.OriginVulnsync, At: base.Add(time.Hour)}
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteItem(t.Context(), su.items[0].ID, del) })
	unlinked := done
	unlinked.State = tracker.LinkUnlinked
	upsertLink(t, s, unlinked)
	if got, err := getLink(t, s, su.items[0].ID); err != nil || got.State != tracker.LinkUnlinked {
		t.Errorf("link of a deleted item after upsert: got %+v, %v; want unlinked", got, err)
	}

	cases := []struct {
		name string
		l    store.Link
		kind tracker.ErrorKind
		what string
	}{
		{"unknown item", store.Link{ItemID: "no-such-item", IntegrationID: su.in.ID, State: tracker.LinkCreating}, tracker.ENotFound, "no-such-item"},
		{"unknown integration", store.Link{ItemID: su.items[1].ID, IntegrationID: "no-such-integration", State: tracker.LinkCreating}, tracker.ENotFound, "no-such-integration"},
		{"unknown state", store.Link{ItemID: su.items[1].ID, IntegrationID: su.in.ID, State: "half"}, tracker.EInvalid, "state"},
		{"linked without issue", store.Link{ItemID: su.items[1].ID, IntegrationID: su.in.ID, State: tracker.LinkLinked}, tracker.EInvalid, "issue_id"},
		{"synced not JSON", store.Link{ItemID: su.items[1].ID, IntegrationID: su.in.ID, State: tracker.LinkCreating, Synced: json.RawMessage(`{`)}, tracker.EInvalid, "synced"},
		{"synced too large", store.Link{ItemID: su.items[1].ID, IntegrationID: su.in.ID, State: tracker.LinkCreating,
			Synced: json.RawMessage(`"` + strings.Repeat("s", store.MaxSyncDocBytes) + `"`)}, tracker.ETooLarge, "synced"},
	}
	for _, c := range cases {
		wantErr(t, "UpsertLink "+c.name, txErr(t, s, func(tx store.Tx) error { return tx.UpsertLink(t.Context(), c.l) }), c.kind, c.what)
	}
	_, err = getLink(t, s, su.items[1].ID)
	wantErr(t, "GetLink after refused upserts", err, tracker.ENotFound)
}

func testLinkIssueUnique(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 4)
	other := newSetup(t, s, "api", 1)
	// Any number of links wait for their issue without colliding.
	for i := range 3 {
		upsertLink(t, s, store.Link{ItemID: su.items[i].ID, IntegrationID: su.in.ID, State: tracker.LinkCreating})
	}
	upsertLink(t, s, linked(su, 0, "10001"))
	// The same issue id in another integration is another issue.
	l := linked(other, 0, "10001")
	upsertLink(t, s, l)

	var committed store.Link
	inTx(t, s, func(tx store.Tx) error {
		err := tx.UpsertLink(t.Context(), linked(su, 1, "10001"))
		wantErr(t, "UpsertLink of an issue linked to another item", err, tracker.EConflict, "10001", su.items[0].ID)
		// The conflict leaves the transaction usable.
		committed = linked(su, 1, "10002")
		return tx.UpsertLink(t.Context(), committed)
	})
	// Re-linking the same item to its own issue is an update, not a conflict.
	again := linked(su, 0, "10001")
	again.Synced = json.RawMessage(`{"title":"y"}`)
	upsertLink(t, s, again)

	view(t, s, func(tx store.Tx) error {
		for issue, item := range map[string]string{"10001": su.items[0].ID, "10002": su.items[1].ID} {
			l, err := tx.LinkByIssue(t.Context(), su.in.ID, issue)
			if err != nil || l.ItemID != item {
				t.Errorf("LinkByIssue %s: got item %q, %v; want %q", issue, l.ItemID, err, item)
			}
		}
		l, err := tx.GetLink(t.Context(), su.items[2].ID)
		if err != nil || l.State != tracker.LinkCreating || l.IssueID != "" {
			t.Errorf("creating link: got %+v, %v; want it unchanged", l, err)
		}
		return nil
	})
}

func testLinksForItems(t *testing.T, s store.Store) {
	const n = 1100
	su := newSetup(t, s, "web", n)
	var want []store.Link
	inTx(t, s, func(tx store.Tx) error {
		for i := range su.items {
			if i%10 == 3 {
				continue // no link
			}
			l := linked(su, i, fmt.Sprint(10000+i))
			if err := tx.UpsertLink(t.Context(), l); err != nil {
				return err
			}
			want = append(want, l)
		}
		return nil
	})
	slices.SortFunc(want, func(a, b store.Link) int { return strings.Compare(a.ItemID, b.ItemID) })

	ids := make([]string, 0, n+20)
	for i := n - 1; i >= 0; i-- { // reversed: the result is by item id anyway
		ids = append(ids, su.items[i].ID)
	}
	ids = append(ids, su.items[0].ID, su.items[5].ID, "no-such-item") // duplicates and an unknown id
	var got []store.Link
	view(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.LinksForItems(t.Context(), ids)
		return err
	})
	if len(got) != len(want) {
		t.Errorf("LinksForItems of %d ids: got %d links, want %d", len(ids), len(got), len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LinksForItems (-want +got):\n%s", diff)
	}
	view(t, s, func(tx store.Tx) error {
		none, err := tx.LinksForItems(t.Context(), nil)
		if err != nil || len(none) != 0 {
			t.Errorf("LinksForItems(nil): got %d links, %v; want none", len(none), err)
		}
		_, err = tx.LinksForItems(t.Context(), make([]string, store.MaxLookupIDs+1))
		wantErr(t, "LinksForItems over the limit", err, tracker.EInvalid, fmt.Sprint(store.MaxLookupIDs))
		return nil
	})
}

func testListLinks(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 23)
	other := newSetup(t, s, "api", 3)
	var want []string
	inTx(t, s, func(tx store.Tx) error {
		for i := range su.items {
			if err := tx.UpsertLink(t.Context(), linked(su, i, fmt.Sprint(i))); err != nil {
				return err
			}
			want = append(want, su.items[i].ID)
		}
		for i := range other.items {
			if err := tx.UpsertLink(t.Context(), linked(other, i, fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Sort(want)

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("ListLinks: no end after 10 pages")
		}
		var page []store.Link
		var next string
		view(t, s, func(tx store.Tx) error {
			var err error
			page, next, err = tx.ListLinks(t.Context(), su.in.ID, cursor, 5)
			return err
		})
		if len(page) > 5 {
			t.Fatalf("ListLinks: page of %d links, limit 5", len(page))
		}
		for _, l := range page {
			if l.IntegrationID != su.in.ID {
				t.Errorf("ListLinks: link of item %s belongs to integration %s", l.ItemID, l.IntegrationID)
			}
			got = append(got, l.ItemID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListLinks pages, by item id (-want +got):\n%s", diff)
	}
	view(t, s, func(tx store.Tx) error {
		all, next, err := tx.ListLinks(t.Context(), su.in.ID, "", 0)
		if err != nil || len(all) != len(want) || next != "" {
			t.Errorf("ListLinks with the default limit: got %d links, next %q, %v; want %d in one page", len(all), next, err, len(want))
		}
		_, _, err = tx.ListLinks(t.Context(), su.in.ID, "%%%", 5)
		wantErr(t, "ListLinks with a bad cursor", err, tracker.EInvalid, "cursor")
		_, _, err = tx.ListLinks(t.Context(), su.in.ID, "", -1)
		wantErr(t, "ListLinks with a negative limit", err, tracker.EInvalid, "limit")
		_, _, err = tx.ListLinks(t.Context(), "no-such-integration", "", 5)
		wantErr(t, "ListLinks of an unknown integration", err, tracker.ENotFound, "no-such-integration")
		return nil
	})
}

func testSyncEvents(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 2)
	other := newSetup(t, s, "api", 1)
	a, b := su.items[0].ID, su.items[1].ID
	// Recorded out of time order: listing is by time, not by insertion.
	events := []store.SyncEvent{
		{ItemID: a, IssueKey: "WEB-1", Direction: "to_jira", Action: "create", JiraCall: "POST /rest/api/3/issue", Result: "ok", Duration: 1234567891 * time.Nanosecond, JobID: 7, At: base.Add(1 * time.Second)},
		{ItemID: a, IssueKey: "WEB-1", Direction: "to_jira", Action: "update", JiraCall: "PUT /rest/api/3/issue/10001", Result: "error", Error: "jira answered 400: field priority", Duration: time.Millisecond, At: base.Add(4 * time.Second)},
		{ItemID: b, Direction: "from_jira", Action: "update", Result: "skipped", At: base.Add(3 * time.Second)},
		{ItemID: b, Direction: "to_jira", Action: "transition", JiraCall: "POST /rest/api/3/issue/10002/transitions", Result: "error", Error: "no transition", At: base.Add(2 * time.Second)},
		{Direction: "from_jira", Action: "reconcile", Result: "ok", At: base.Add(5 * time.Second)},
	}
	inTx(t, s, func(tx store.Tx) error {
		for i := range events {
			events[i].IntegrationID = su.in.ID
			events[i].ID = 999 // ignored: the store assigns ids
			if err := tx.AddSyncEvent(t.Context(), events[i]); err != nil {
				return err
			}
			events[i].At = tracker.Truncate(events[i].At)
		}
		return tx.AddSyncEvent(t.Context(), store.SyncEvent{IntegrationID: other.in.ID, ItemID: other.items[0].ID, Direction: "to_jira", Action: "create", Result: "error", At: base.Add(time.Hour)})
	})
	pick := func(idx ...int) []store.SyncEvent {
		out := make([]store.SyncEvent, len(idx))
		for i, j := range idx {
			out[i] = events[j]
		}
		return out
	}
	ignoreID := cmpopts.IgnoreFields(store.SyncEvent{}, "ID")

	all := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID})
	if diff := cmp.Diff(pick(4, 1, 2, 3, 0), all, ignoreID); diff != "" {
		t.Errorf("ListSyncEvents newest first, durations exact (-want +got):\n%s", diff)
	}
	seen := map[int64]bool{}
	for _, e := range all {
		if e.ID <= 0 || seen[e.ID] {
			t.Errorf("sync event ids: got %d, want distinct positive ids assigned by the store", e.ID)
		}
		seen[e.ID] = true
	}
	if diff := cmp.Diff(pick(1, 3, 4, 2, 0), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, FailuresFirst: true}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents failures first, then newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pick(1, 3, 4), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, FailuresFirst: true, Limit: 3}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents failures first, limit 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pick(1), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, FailuresFirst: true, Limit: 1}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents failures first, limit 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pick(2, 3), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, ItemID: b}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents of item b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pick(3, 2), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, ItemID: b, FailuresFirst: true}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents of item b, failures first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pick(4, 1), listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, Limit: 2}), ignoreID); diff != "" {
		t.Errorf("ListSyncEvents limit 2 (-want +got):\n%s", diff)
	}
	if got := listEvents(t, s, store.SyncEventFilter{IntegrationID: "no-such-integration"}); len(got) != 0 {
		t.Errorf("ListSyncEvents of an unknown integration: got %d events, want none", len(got))
	}
}

func testSyncEventLimits(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 0)
	const n = store.MaxEventPageSize + 5
	inTx(t, s, func(tx store.Tx) error {
		for i := range n {
			e := store.SyncEvent{IntegrationID: su.in.ID, Direction: "to_jira", Action: "update", Result: "ok", At: base.Add(time.Duration(i) * time.Millisecond)}
			if err := tx.AddSyncEvent(t.Context(), e); err != nil {
				return err
			}
		}
		return nil
	})
	if got := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID}); len(got) != store.DefaultEventPageSize {
		t.Errorf("ListSyncEvents without limit: got %d, want the default %d", len(got), store.DefaultEventPageSize)
	}
	got := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, Limit: 5 * n})
	if len(got) != store.MaxEventPageSize {
		t.Errorf("ListSyncEvents with a huge limit: got %d, want the cap %d", len(got), store.MaxEventPageSize)
	}
	if len(got) > 0 && !got[0].At.Equal(tracker.Truncate(base.Add((n-1)*time.Millisecond))) {
		t.Errorf("first event: got %v, want the newest", got[0].At)
	}

	// An oversized error is truncated, not refused.
	long := strings.Repeat("e", store.MaxJobErrorBytes+100)
	inTx(t, s, func(tx store.Tx) error {
		return tx.AddSyncEvent(t.Context(), store.SyncEvent{IntegrationID: su.in.ID, Direction: "to_jira", Action: "update", Result: "error", Error: long, At: base.Add(time.Hour)})
	})
	if fail := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, FailuresFirst: true, Limit: 1}); len(fail) != 1 || len(fail[0].Error) != store.MaxJobErrorBytes {
		t.Errorf("kept error: got %d events, want one with %d bytes of error", len(fail), store.MaxJobErrorBytes)
	}

	cases := []struct {
		name string
		e    store.SyncEvent
		what string
	}{
		{"no integration", store.SyncEvent{Direction: "to_jira", Action: "update", Result: "ok"}, "integration"},
		{"unknown direction", store.SyncEvent{IntegrationID: su.in.ID, Direction: "sideways", Action: "update", Result: "ok"}, "direction"},
		{"no action", store.SyncEvent{IntegrationID: su.in.ID, Direction: "to_jira", Result: "ok"}, "action"},
		{"unknown result", store.SyncEvent{IntegrationID: su.in.ID, Direction: "to_jira", Action: "update", Result: "maybe"}, "result"},
		{"negative duration", store.SyncEvent{IntegrationID: su.in.ID, Direction: "to_jira", Action: "update", Result: "ok", Duration: -1}, "duration"},
	}
	for _, c := range cases {
		wantErr(t, "AddSyncEvent "+c.name, txErr(t, s, func(tx store.Tx) error { return tx.AddSyncEvent(t.Context(), c.e) }), tracker.EInvalid, c.what)
	}
	wantErr(t, "ListSyncEvents without integration", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListSyncEvents(t.Context(), store.SyncEventFilter{})
		return err
	}), tracker.EInvalid, "integration")
	wantErr(t, "ListSyncEvents with a negative limit", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListSyncEvents(t.Context(), store.SyncEventFilter{IntegrationID: su.in.ID, Limit: -1})
		return err
	}), tracker.EInvalid, "limit")
	if got := listEvents(t, s, store.SyncEventFilter{IntegrationID: su.in.ID, Limit: store.MaxEventPageSize}); len(got) != store.MaxEventPageSize {
		t.Errorf("events after refused input: got %d, want %d", len(got), store.MaxEventPageSize)
	}
}

func recordDelivery(t *testing.T, s store.Store, d store.Delivery) (store.Delivery, bool) {
	t.Helper()
	var got store.Delivery
	var isNew bool
	inTx(t, s, func(tx store.Tx) error {
		var err error
		got, isNew, err = tx.RecordDelivery(t.Context(), d)
		return err
	})
	return got, isNew
}

func testDeliveries(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	conn2 := createConnection(t, s, "jira2")
	body := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"id":"10001"}}`)
	d := store.Delivery{ConnectionID: conn.ID, DeliveryKey: "a1b2", Event: "jira:issue_updated", IssueID: "10001", Body: body, ReceivedAt: base}
	first, isNew := recordDelivery(t, s, d)
	if !isNew || first.ID <= 0 {
		t.Fatalf("first RecordDelivery: got new=%v id=%d, want a new row with an id", isNew, first.ID)
	}
	want := d
	want.ID, want.Status, want.ReceivedAt, want.UpdatedAt = first.ID, store.DeliveryQueued, tracker.Truncate(base), tracker.Truncate(base)
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("RecordDelivery, new row (-want +got):\n%s", diff)
	}

	// A redelivery (same identifier, maybe another body) is not new and
	// returns the stored row.
	re := d
	re.Body, re.ReceivedAt = []byte(`{"other":true}`), base.Add(time.Minute)
	dup, isNew := recordDelivery(t, s, re)
	if isNew {
		t.Errorf("RecordDelivery of a redelivery: got new, want the stored row")
	}
	if diff := cmp.Diff(want, dup); diff != "" {
		t.Errorf("RecordDelivery of a redelivery (-want +got):\n%s", diff)
	}
	// The same identifier on another connection is another delivery.
	d2 := d
	d2.ConnectionID = conn2.ID
	if got, isNew := recordDelivery(t, s, d2); !isNew || got.ID == first.ID {
		t.Errorf("RecordDelivery on another connection: got new=%v id=%d, want a new row", isNew, got.ID)
	}
	second, _ := recordDelivery(t, s, store.Delivery{ConnectionID: conn.ID, DeliveryKey: "c3d4", Event: "comment_created", Status: store.DeliveryIgnored, ReceivedAt: base.Add(time.Second)})
	if second.Status != store.DeliveryIgnored || second.Body == nil {
		t.Errorf("RecordDelivery with a status and no body: got status %q body %v, want ignored and an empty body", second.Status, second.Body)
	}

	inTx(t, s, func(tx store.Tx) error {
		return tx.SetDeliveryStatus(t.Context(), first.ID, store.DeliveryFailed, "mapping rejected priority")
	})
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetDelivery(t.Context(), first.ID)
		if err != nil {
			t.Fatalf("GetDelivery: %v", err)
		}
		if got.Status != store.DeliveryFailed || got.Note != "mapping rejected priority" || string(got.Body) != string(body) {
			t.Errorf("GetDelivery after SetDeliveryStatus: got status %q note %q body %s", got.Status, got.Note, got.Body)
		}
		if got.UpdatedAt.IsZero() {
			t.Errorf("GetDelivery after SetDeliveryStatus: no updated time")
		}
		list, err := tx.ListDeliveries(t.Context(), conn.ID, 0)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		var keys []string
		for _, l := range list {
			keys = append(keys, l.DeliveryKey)
			if l.Body != nil {
				t.Errorf("ListDeliveries: delivery %d has its body, want none", l.ID)
			}
		}
		if diff := cmp.Diff([]string{"c3d4", "a1b2"}, keys); diff != "" {
			t.Errorf("ListDeliveries newest first (-want +got):\n%s", diff)
		}
		if one, err := tx.ListDeliveries(t.Context(), conn.ID, 1); err != nil || len(one) != 1 || one[0].DeliveryKey != "c3d4" {
			t.Errorf("ListDeliveries limit 1: got %+v, %v; want c3d4", one, err)
		}
		_, err = tx.GetDelivery(t.Context(), first.ID+1000)
		wantErr(t, "GetDelivery unknown", err, tracker.ENotFound)
		_, err = tx.ListDeliveries(t.Context(), "no-such-connection", 0)
		wantErr(t, "ListDeliveries of an unknown connection", err, tracker.ENotFound, "no-such-connection")
		return nil
	})

	wantErr(t, "SetDeliveryStatus unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.SetDeliveryStatus(t.Context(), first.ID+1000, store.DeliveryApplied, "")
	}), tracker.ENotFound)
	wantErr(t, "SetDeliveryStatus bad status", txErr(t, s, func(tx store.Tx) error {
		return tx.SetDeliveryStatus(t.Context(), first.ID, "done", "")
	}), tracker.EInvalid, "status")
	refused := []struct {
		name string
		d    store.Delivery
		kind tracker.ErrorKind
		what string
	}{
		{"too large", store.Delivery{ConnectionID: conn.ID, DeliveryKey: "big", Body: make([]byte, store.MaxDeliveryBytes+1)}, tracker.ETooLarge, fmt.Sprint(store.MaxDeliveryBytes)},
		{"no key", store.Delivery{ConnectionID: conn.ID, Body: body}, tracker.EInvalid, "delivery_key"},
		{"bad status", store.Delivery{ConnectionID: conn.ID, DeliveryKey: "x", Status: "lost"}, tracker.EInvalid, "status"},
		{"unknown connection", store.Delivery{ConnectionID: "no-such-connection", DeliveryKey: "x"}, tracker.ENotFound, "no-such-connection"},
	}
	for _, r := range refused {
		wantErr(t, "RecordDelivery "+r.name, txErr(t, s, func(tx store.Tx) error {
			_, _, err := tx.RecordDelivery(t.Context(), r.d)
			return err
		}), r.kind, r.what)
	}
	view(t, s, func(tx store.Tx) error {
		list, err := tx.ListDeliveries(t.Context(), conn.ID, 0)
		if err != nil || len(list) != 2 {
			t.Errorf("deliveries after refused input: got %d, %v; want 2", len(list), err)
		}
		got, err := tx.GetDelivery(t.Context(), first.ID)
		if err != nil || got.Status != store.DeliveryFailed {
			t.Errorf("delivery after a refused status: got %q, %v; want failed", got.Status, err)
		}
		return nil
	})
}

func testDeliveryDedupConcurrent(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	const workers = 8
	type result struct {
		d     store.Delivery
		isNew bool
		err   error
	}
	results := make([]result, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := &results[w]
			r.err = s.InTx(t.Context(), func(tx store.Tx) error {
				var err error
				r.d, r.isNew, err = tx.RecordDelivery(t.Context(), store.Delivery{ConnectionID: conn.ID, DeliveryKey: "same", Event: "jira:issue_updated",
					Body: []byte(fmt.Sprintf(`{"worker":%d}`, w)), ReceivedAt: base})
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	fresh := 0
	var id int64
	for w, r := range results {
		if r.err != nil {
			t.Fatalf("worker %d: %v", w, r.err)
		}
		if r.isNew {
			fresh++
		}
		if id == 0 {
			id = r.d.ID
		}
		if r.d.ID != id {
			t.Errorf("worker %d: got delivery %d, want %d like the others", w, r.d.ID, id)
		}
	}
	if fresh != 1 {
		t.Errorf("concurrent identical deliveries told new: got %d, want exactly 1", fresh)
	}
	view(t, s, func(tx store.Tx) error {
		list, err := tx.ListDeliveries(t.Context(), conn.ID, 0)
		if err != nil || len(list) != 1 {
			t.Errorf("stored deliveries: got %d, %v; want 1", len(list), err)
		}
		return nil
	})
}

func testQueuedDeliveries(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	conn2 := createConnection(t, s, "jira2")
	rec := func(connID, key, issue string) store.Delivery {
		d, _ := recordDelivery(t, s, store.Delivery{ConnectionID: connID, DeliveryKey: key, Event: "jira:issue_updated", IssueID: issue,
			Body: []byte(`{"key":"` + key + `"}`), ReceivedAt: base})
		return d
	}
	first := rec(conn.ID, "k1", "10001")
	applied := rec(conn.ID, "k2", "10001")
	rec(conn.ID, "k3", "10002")
	rec(conn2.ID, "k4", "10001")
	third := rec(conn.ID, "k5", "10001")
	inTx(t, s, func(tx store.Tx) error {
		return tx.SetDeliveryStatus(t.Context(), applied.ID, store.DeliveryApplied, "")
	})

	queued := func(connID, issue string) []store.Delivery {
		t.Helper()
		var ds []store.Delivery
		view(t, s, func(tx store.Tx) error {
			var err error
			ds, err = tx.QueuedDeliveries(t.Context(), connID, issue)
			return err
		})
		return ds
	}
	if diff := cmp.Diff([]store.Delivery{first, third}, queued(conn.ID, "10001")); diff != "" {
		t.Errorf("QueuedDeliveries of issue 10001, oldest first with bodies (-want +got):\n%s", diff)
	}
	if got := queued(conn.ID, "99999"); len(got) != 0 {
		t.Errorf("QueuedDeliveries of an issue without deliveries: got %d, want none", len(got))
	}

	// A burst comes back in batches of the cap, oldest first.
	var keys []string
	inTx(t, s, func(tx store.Tx) error {
		for i := range store.MaxQueuedDeliveries + 5 {
			key := fmt.Sprintf("burst-%03d", i)
			if _, _, err := tx.RecordDelivery(t.Context(), store.Delivery{ConnectionID: conn.ID, DeliveryKey: key, IssueID: "10003", ReceivedAt: base}); err != nil {
				return err
			}
			keys = append(keys, key)
		}
		return nil
	})
	batch := queued(conn.ID, "10003")
	var got []string
	for _, d := range batch {
		got = append(got, d.DeliveryKey)
	}
	if diff := cmp.Diff(keys[:store.MaxQueuedDeliveries], got); diff != "" {
		t.Errorf("QueuedDeliveries of a burst: the first %d (-want +got):\n%s", store.MaxQueuedDeliveries, diff)
	}
	inTx(t, s, func(tx store.Tx) error {
		for _, d := range batch {
			if err := tx.SetDeliveryStatus(t.Context(), d.ID, store.DeliveryApplied, ""); err != nil {
				return err
			}
		}
		return nil
	})
	got = got[:0]
	for _, d := range queued(conn.ID, "10003") {
		got = append(got, d.DeliveryKey)
	}
	if diff := cmp.Diff(keys[store.MaxQueuedDeliveries:], got); diff != "" {
		t.Errorf("QueuedDeliveries after applying the first batch (-want +got):\n%s", diff)
	}
	wantErr(t, "QueuedDeliveries without issue", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.QueuedDeliveries(t.Context(), conn.ID, "")
		return err
	}), tracker.EInvalid, "issue")
}

func testObjectLinks(t *testing.T, s store.Store) {
	su := newSetup(t, s, "web", 2)
	other := newSetup(t, s, "api", 1)
	mk := func(kind string, item int, jiraID string) store.ObjectLink {
		return store.ObjectLink{Kind: kind, LocalID: newID(), ItemID: su.items[item].ID, IntegrationID: su.in.ID, JiraID: jiraID,
			IssueID: "10001", Origin: "vulnsync", Hash: "sha256:aa", UpdatedAt: tracker.Truncate(base)}
	}
	c1 := mk(store.ObjectComment, 0, "20001")
	c2 := mk(store.ObjectComment, 0, "")
	c3 := mk(store.ObjectComment, 0, "") // two pending creates do not collide
	a1 := mk(store.ObjectAttachment, 0, "20001")
	a1.Origin = "jira" // the same Jira id for another kind is another object
	c4 := mk(store.ObjectComment, 1, "20002")
	oc := store.ObjectLink{Kind: store.ObjectComment, LocalID: newID(), ItemID: other.items[0].ID, IntegrationID: other.in.ID, JiraID: "20001",
		Origin: "jira", UpdatedAt: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error {
		for _, l := range []store.ObjectLink{c1, c2, c3, a1, c4, oc} {
			if err := tx.UpsertObjectLink(t.Context(), l); err != nil {
				return err
			}
		}
		return nil
	})

	view(t, s, func(tx store.Tx) error {
		got, err := tx.ObjectLinkByLocal(t.Context(), store.ObjectComment, c1.LocalID)
		if err != nil {
			t.Fatalf("ObjectLinkByLocal: %v", err)
		}
		if diff := cmp.Diff(c1, got); diff != "" {
			t.Errorf("ObjectLinkByLocal (-want +got):\n%s", diff)
		}
		for _, want := range []store.ObjectLink{c1, a1, oc} {
			got, err := tx.ObjectLinkByJira(t.Context(), want.Kind, want.IntegrationID, want.JiraID)
			if err != nil {
				t.Fatalf("ObjectLinkByJira %s %s: %v", want.Kind, want.JiraID, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ObjectLinkByJira %s %s (-want +got):\n%s", want.Kind, want.JiraID, diff)
			}
		}
		_, err = tx.ObjectLinkByLocal(t.Context(), store.ObjectAttachment, c1.LocalID)
		wantErr(t, "ObjectLinkByLocal of another kind", err, tracker.ENotFound, c1.LocalID)
		_, err = tx.ObjectLinkByJira(t.Context(), store.ObjectComment, su.in.ID, "29999")
		wantErr(t, "ObjectLinkByJira unknown", err, tracker.ENotFound, "29999")
		_, err = tx.ObjectLinkByLocal(t.Context(), "worklog", c1.LocalID)
		wantErr(t, "ObjectLinkByLocal of an unknown kind", err, tracker.EInvalid, "worklog")
		return nil
	})

	// The Jira side answered: the pending link gets its id; an edit
	// changes the hash; a deletion is remembered, not forgotten.
	c2.JiraID, c2.UpdatedAt = "20003", tracker.Truncate(base.Add(time.Minute))
	c1.Hash, c1.Deleted = "sha256:bb", true
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.UpsertObjectLink(t.Context(), c2); err != nil {
			return err
		}
		return tx.UpsertObjectLink(t.Context(), c1)
	})
	sortByLocal := func(ls []store.ObjectLink) []store.ObjectLink {
		out := slices.Clone(ls)
		slices.SortFunc(out, func(a, b store.ObjectLink) int { return strings.Compare(a.LocalID, b.LocalID) })
		return out
	}
	view(t, s, func(tx store.Tx) error {
		comments, err := tx.ListObjectLinks(t.Context(), store.ObjectComment, su.items[0].ID)
		if err != nil {
			t.Fatalf("ListObjectLinks: %v", err)
		}
		if diff := cmp.Diff(sortByLocal([]store.ObjectLink{c1, c2, c3}), comments); diff != "" {
			t.Errorf("ListObjectLinks comments of item 0, deleted included (-want +got):\n%s", diff)
		}
		atts, err := tx.ListObjectLinks(t.Context(), store.ObjectAttachment, su.items[0].ID)
		if err != nil {
			t.Fatalf("ListObjectLinks: %v", err)
		}
		if diff := cmp.Diff([]store.ObjectLink{a1}, atts); diff != "" {
			t.Errorf("ListObjectLinks attachments of item 0 (-want +got):\n%s", diff)
		}
		got, err := tx.ObjectLinkByJira(t.Context(), store.ObjectComment, su.in.ID, "20003")
		if err != nil || got.LocalID != c2.LocalID {
			t.Errorf("ObjectLinkByJira of the answered create: got %q, %v; want %q", got.LocalID, err, c2.LocalID)
		}
		_, err = tx.ListObjectLinks(t.Context(), store.ObjectComment, "no-such-item")
		wantErr(t, "ListObjectLinks of an unknown item", err, tracker.ENotFound, "no-such-item")
		return nil
	})

	inTx(t, s, func(tx store.Tx) error {
		dup := mk(store.ObjectComment, 1, "20001")
		err := tx.UpsertObjectLink(t.Context(), dup)
		wantErr(t, "UpsertObjectLink of a Jira comment linked to another", err, tracker.EConflict, "20001", c1.LocalID)
		// The transaction stays usable after the conflict.
		return tx.UpsertObjectLink(t.Context(), mk(store.ObjectComment, 1, "20004"))
	})
	bad := []struct {
		name string
		mod  func(l *store.ObjectLink)
		kind tracker.ErrorKind
		what string
	}{
		{"unknown kind", func(l *store.ObjectLink) { l.Kind = "worklog" }, tracker.EInvalid, "worklog"},
		{"no local id", func(l *store.ObjectLink) { l.LocalID = "" }, tracker.EInvalid, "id"},
		{"unknown origin", func(l *store.ObjectLink) { l.Origin = "email" }, tracker.EInvalid, "origin"},
		{"unknown item", func(l *store.ObjectLink) { l.ItemID = "no-such-item" }, tracker.ENotFound, "no-such-item"},
		{"unknown integration", func(l *store.ObjectLink) { l.IntegrationID = "no-such-integration" }, tracker.ENotFound, "no-such-integration"},
	}
	for _, b := range bad {
		l := mk(store.ObjectComment, 1, "20009")
		b.mod(&l)
		wantErr(t, "UpsertObjectLink "+b.name, txErr(t, s, func(tx store.Tx) error { return tx.UpsertObjectLink(t.Context(), l) }), b.kind, b.what)
	}
	view(t, s, func(tx store.Tx) error {
		comments, err := tx.ListObjectLinks(t.Context(), store.ObjectComment, su.items[1].ID)
		if err != nil || len(comments) != 2 {
			t.Errorf("comment links of item 1 after refused input: got %d, %v; want 2", len(comments), err)
		}
		return nil
	})
}

func acquire(t *testing.T, s store.Store, name, holder string, now time.Time, ttl time.Duration) bool {
	t.Helper()
	var ok bool
	inTx(t, s, func(tx store.Tx) error {
		var err error
		ok, err = tx.AcquireLease(t.Context(), name, holder, now, ttl)
		return err
	})
	return ok
}

func testLeases(t *testing.T, s store.Store) {
	const name = "reconcile"
	t0 := base
	steps := []struct {
		what   string
		holder string
		at     time.Time
		ttl    time.Duration
		want   bool
	}{
		{"a takes the free lease", "a", t0, minute, true},
		{"b is refused while a holds it", "b", t0.Add(30 * time.Second), minute, false},
		{"a renews before expiry", "a", t0.Add(30 * time.Second), minute, true},
		{"b is refused at the old expiry", "b", t0.Add(minute + time.Microsecond), minute, false},
		{"b is refused at the renewed expiry itself", "b", t0.Add(90 * time.Second), minute, false},
		{"b takes it once expired", "b", t0.Add(90*time.Second + time.Microsecond), minute, true},
		{"a is refused now that b holds it", "a", t0.Add(90*time.Second + time.Microsecond), minute, false},
		{"another lease name is independent", "a", t0.Add(time.Second), minute, true},
	}
	for _, st := range steps {
		lease := name
		if strings.HasPrefix(st.what, "another") {
			lease = "backfill"
		}
		if got := acquire(t, s, lease, st.holder, st.at, st.ttl); got != st.want {
			t.Errorf("%s: AcquireLease(%s, %s, %v): got %v, want %v", st.what, lease, st.holder, st.at, got, st.want)
		}
	}
	later := t0.Add(100 * time.Second)
	// Releasing a lease one does not hold changes nothing.
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseLease(t.Context(), name, "a") })
	if acquire(t, s, name, "a", later, minute) {
		t.Errorf("a acquired b's lease after releasing what it did not hold")
	}
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseLease(t.Context(), name, "b") })
	if !acquire(t, s, name, "a", later, minute) {
		t.Errorf("a could not take the lease b released")
	}
	// Releasing twice, or a lease nobody ever held, is no error.
	inTx(t, s, func(tx store.Tx) error { return tx.ReleaseLease(t.Context(), "never", "a") })

	bad := []struct {
		name   string
		lease  string
		holder string
		now    time.Time
		ttl    time.Duration
	}{
		{"no name", "", "a", t0, minute},
		{"no holder", name, "", t0, minute},
		{"no time", name, "a", time.Time{}, minute},
		{"no ttl", name, "a", t0, 0},
	}
	for _, b := range bad {
		wantErr(t, "AcquireLease "+b.name, txErr(t, s, func(tx store.Tx) error {
			_, err := tx.AcquireLease(t.Context(), b.lease, b.holder, b.now, b.ttl)
			return err
		}), tracker.EInvalid)
	}
	wantErr(t, "ReleaseLease without holder", txErr(t, s, func(tx store.Tx) error {
		return tx.ReleaseLease(t.Context(), name, "")
	}), tracker.EInvalid, "holder")
}

func testLeaseConcurrent(t *testing.T, s store.Store) {
	const workers = 6
	for round := range 3 {
		// Each round starts after the previous winner's lease expired.
		now := base.Add(time.Duration(round) * time.Hour)
		won := make([]bool, workers)
		errs := make([]error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[w] = s.InTx(t.Context(), func(tx store.Tx) error {
					var err error
					won[w], err = tx.AcquireLease(t.Context(), "reconcile", fmt.Sprintf("replica-%d", w), now, minute)
					return err
				})
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("round %d, replica %d: %v", round, w, errs[w])
			}
			if won[w] {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d replicas acquired the lease, want exactly 1", round, winners)
		}
	}
}

func getJob(t *testing.T, s store.Store, id int64) (store.Job, error) {
	t.Helper()
	var j store.Job
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		j, err = tx.GetJob(t.Context(), id)
		return err
	})
	return j, err
}

func requeue(t *testing.T, s store.Store, id int64, now time.Time) (store.Job, error) {
	t.Helper()
	var j store.Job
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		var err error
		j, err = tx.RequeueJob(t.Context(), id, now)
		return err
	})
	return j, err
}

func testGetJob(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	listed := listJobs(t, s, store.JobFilter{})
	if len(listed) != 1 {
		t.Fatalf("ListJobs: got %d jobs, want 1", len(listed))
	}
	got, err := getJob(t, s, listed[0].ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if diff := cmp.Diff(listed[0], got); diff != "" {
		t.Errorf("GetJob (-ListJobs +GetJob):\n%s", diff)
	}
	_, err = getJob(t, s, listed[0].ID+1000)
	wantErr(t, "GetJob unknown", err, tracker.ENotFound, fmt.Sprint(listed[0].ID+1000))
}

// failedJob enqueues, claims and fails a job of key, returning it.
func failedJob(t *testing.T, s store.Store, key string, at time.Time) store.Job {
	t.Helper()
	enqueue(t, s, store.Job{Kind: "push", Key: key, Payload: json.RawMessage(`{"v":"old"}`), RunAt: at})
	var j store.Job
	for _, c := range claim(t, s, store.Claim{Now: at, Lease: minute, Limit: store.MaxClaim}) {
		if c.Key == key {
			j = c
		}
	}
	if j.ID == 0 {
		t.Fatalf("claim of %s: not handed out", key)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.FailJob(t.Context(), j.ID, j.LeaseToken, "jira answered 400") })
	return j
}

func testRequeueJob(t *testing.T, s store.Store) {
	// A pending job far in the future, which no claim below hands out.
	enqueue(t, s, store.Job{Kind: "pull", Key: "pending", RunAt: base.Add(48 * time.Hour)})
	pending := listJobs(t, s, store.JobFilter{Key: "pending"})[0]
	_, err := requeue(t, s, pending.ID, base)
	wantErr(t, "RequeueJob of a pending job", err, tracker.EConflict, fmt.Sprintf("job %d is pending, only failed jobs can be retried", pending.ID))

	j := failedJob(t, s, "item:1", base)
	second := failedJob(t, s, "item:2", base)
	now := base.Add(time.Hour)
	got, err := requeue(t, s, j.ID, now)
	if err != nil {
		t.Fatalf("RequeueJob: %v", err)
	}
	want := store.Job{ID: j.ID, Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":"old"}`), State: store.JobPending,
		RunAt: tracker.Truncate(now), LastError: "jira answered 400"}
	if diff := cmp.Diff(want, got, ignoreJobClock); diff != "" {
		t.Errorf("RequeueJob of a failed job (-want +got):\n%s", diff)
	}
	if stored, err := getJob(t, s, j.ID); err != nil || cmp.Diff(got, stored) != "" {
		t.Errorf("GetJob after RequeueJob: got %+v, %v; want what RequeueJob returned", stored, err)
	}
	_, err = requeue(t, s, j.ID, now)
	wantErr(t, "RequeueJob twice", err, tracker.EConflict, "is pending")

	if _, err := requeue(t, s, second.ID, now); err != nil {
		t.Fatalf("RequeueJob of item:2: %v", err)
	}
	claimed := claim(t, s, store.Claim{Now: now, Lease: minute, Limit: 10})
	if diff := cmp.Diff([]string{"push/item:1", "push/item:2"}, sortedKeys(claimed)); diff != "" {
		t.Errorf("claim after the requeues (-want +got):\n%s", diff)
	}
	for _, c := range claimed {
		if c.Attempts != 1 {
			t.Errorf("claimed %s: got attempt %d, want 1 (requeue resets attempts)", c.Key, c.Attempts)
		}
		if c.Key == "item:2" {
			_, err := requeue(t, s, c.ID, now)
			wantErr(t, "RequeueJob of a running job", err, tracker.EConflict, "is running")
		}
		if c.Key == "item:1" {
			inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), c.ID, c.LeaseToken) })
			_, err := requeue(t, s, c.ID, now)
			wantErr(t, "RequeueJob of a done job", err, tracker.EConflict, "is done")
		}
	}
	_, err = requeue(t, s, j.ID+1000, now)
	wantErr(t, "RequeueJob unknown", err, tracker.ENotFound)
	_, err = requeue(t, s, j.ID, time.Time{})
	wantErr(t, "RequeueJob without time", err, tracker.EInvalid)
}

func sortedKeys(jobs []store.Job) []string {
	keys := jobKeys(jobs)
	slices.Sort(keys)
	return keys
}

func testRequeueJobMerges(t *testing.T, s store.Store) {
	now := base.Add(time.Hour)
	// The pending job runs later than now: the merge brings it forward.
	late := failedJob(t, s, "item:late", base)
	enqueue(t, s, store.Job{Kind: "push", Key: "item:late", Payload: json.RawMessage(`{"v":"new"}`), RunAt: now.Add(time.Hour)})
	pendingLate := listJobs(t, s, store.JobFilter{Key: "item:late", State: store.JobPending})[0]
	got, err := requeue(t, s, late.ID, now)
	if err != nil {
		t.Fatalf("RequeueJob with a later pending job: %v", err)
	}
	want := store.Job{ID: pendingLate.ID, Kind: "push", Key: "item:late", Payload: json.RawMessage(`{"v":"new"}`), State: store.JobPending,
		RunAt: tracker.Truncate(now), LastError: "jira answered 400"}
	if diff := cmp.Diff(want, got, ignoreJobClock); diff != "" {
		t.Errorf("RequeueJob merged into a later pending job (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.Job{got}, listJobs(t, s, store.JobFilter{Key: "item:late"})); diff != "" {
		t.Errorf("jobs of item:late after the merge: one pending job (-want +got):\n%s", diff)
	}
	_, err = getJob(t, s, late.ID)
	wantErr(t, "GetJob of the merged failed job", err, tracker.ENotFound)

	// The pending job runs earlier than now: it keeps its time.
	early := failedJob(t, s, "item:early", base)
	enqueue(t, s, store.Job{Kind: "push", Key: "item:early", Payload: json.RawMessage(`{"v":"new"}`), RunAt: base.Add(time.Minute)})
	got, err = requeue(t, s, early.ID, now)
	if err != nil {
		t.Fatalf("RequeueJob with an earlier pending job: %v", err)
	}
	if got.ID == early.ID || !got.RunAt.Equal(tracker.Truncate(base.Add(time.Minute))) || got.State != store.JobPending {
		t.Errorf("RequeueJob merged into an earlier pending job: got id %d run at %v state %s, want the pending job at %v",
			got.ID, got.RunAt, got.State, tracker.Truncate(base.Add(time.Minute)))
	}
	if n := len(listJobs(t, s, store.JobFilter{Key: "item:early"})); n != 1 {
		t.Errorf("jobs of item:early after the merge: got %d, want 1", n)
	}
}

// race runs fn in n concurrent transactions, started together, and returns
// their errors.
func race(t *testing.T, s store.Store, n int, fn func(tx store.Tx, i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.InTx(t.Context(), func(tx store.Tx) error { return fn(tx, i) })
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and the others are
// conflicts mentioning every one of parts.
func oneWinner(t *testing.T, what string, errs []error, parts ...string) {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: transactions %d and %d both succeeded", what, winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, fmt.Sprintf("%s, loser %d", what, i), err, tracker.EConflict, parts...)
		}
	}
	if winner < 0 {
		t.Errorf("%s: no transaction succeeded: %v", what, errs)
	}
}

func testConcurrentIntegrate(t *testing.T, s store.Store) {
	conn := createConnection(t, s, "jira")
	web := createTarget(t, s, "web")
	const n = 5
	errs := race(t, s, n, func(tx store.Tx, i int) error {
		return tx.CreateIntegration(t.Context(), newIntegration(conn.ID, web.ID, fmt.Sprintf("P%d", i)))
	})
	w := winnerIndex(errs)
	if w < 0 {
		t.Fatalf("no integration succeeded: %v", errs)
	}
	// The losers name the target and the project it went to.
	oneWinner(t, "concurrent integrations of one target", errs, web.ID, fmt.Sprintf("P%d", w))
	ins := listIntegrations(t, s)
	if len(ins) != 1 || ins[0].ProjectKey != fmt.Sprintf("P%d", w) {
		t.Errorf("integrations after the race: got %+v, want only the winner's P%d", ins, w)
	}
}

// winnerIndex is the index of the first nil error (-1 when none).
func winnerIndex(errs []error) int {
	for i, err := range errs {
		if err == nil {
			return i
		}
	}
	return -1
}

func testConcurrentLinkSameIssue(t *testing.T, s store.Store) {
	const n = 5
	su := newSetup(t, s, "web", n)
	errs := race(t, s, n, func(tx store.Tx, i int) error {
		return tx.UpsertLink(t.Context(), linked(su, i, "10001"))
	})
	w := winnerIndex(errs)
	if w < 0 {
		t.Fatalf("no link succeeded: %v", errs)
	}
	oneWinner(t, "concurrent links of one issue", errs, "10001", su.items[w].ID)
	view(t, s, func(tx store.Tx) error {
		l, err := tx.LinkByIssue(t.Context(), su.in.ID, "10001")
		if err != nil || l.ItemID != su.items[w].ID {
			t.Errorf("LinkByIssue after the race: got item %q, %v; want the winner's %q", l.ItemID, err, su.items[w].ID)
		}
		links, err := tx.LinksForItems(t.Context(), []string{su.items[0].ID, su.items[1].ID, su.items[2].ID, su.items[3].ID, su.items[4].ID})
		if err != nil || len(links) != 1 {
			t.Errorf("links after the race: got %d, %v; want 1", len(links), err)
		}
		return nil
	})
}

func testPendingSyncWork(t *testing.T, s store.Store) {
	su := newSetup(t, s, "queue", 3)
	other := newSetup(t, s, "elsewhere", 1)
	inTx(t, s, func(tx store.Tx) error {
		ctx := t.Context()
		for _, j := range []store.Job{
			{Kind: "sync_item", Key: "item:" + su.items[0].ID},
			{Kind: "sync_item", Key: "item:" + su.items[1].ID},
			{Kind: "other", Key: "item:" + su.items[2].ID},        // another kind
			{Kind: "sync_item", Key: "item:" + other.items[0].ID}, // another target
			{Kind: "sync_item", Key: "thing:" + su.items[2].ID},   // another prefix
		} {
			if err := tx.Enqueue(ctx, j); err != nil {
				return err
			}
		}
		if err := tx.UpsertLink(ctx, linked(su, 0, "501")); err != nil {
			return err
		}
		for i, issue := range []string{"501", "501", "999"} { // 999 is linked to nothing
			if _, _, err := tx.RecordDelivery(ctx, store.Delivery{ConnectionID: su.conn.ID, DeliveryKey: fmt.Sprint("q", i), Event: "jira:issue_updated",
				IssueID: issue, Status: store.DeliveryQueued, Body: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	var got, capped, none store.PendingWork
	view(t, s, func(tx store.Tx) error {
		var err error
		if got, err = tx.PendingSyncWork(t.Context(), su.in.ID, "sync_item", "item:", 100); err != nil {
			return err
		}
		if capped, err = tx.PendingSyncWork(t.Context(), su.in.ID, "sync_item", "item:", 2); err != nil {
			return err
		}
		if _, err := tx.PendingSyncWork(t.Context(), su.in.ID, "sync_item", "item:", 0); tracker.KindOf(err) != tracker.EInvalid {
			t.Errorf("PendingSyncWork with no scan limit: err %v, want EInvalid", err)
		}
		none, err = tx.PendingSyncWork(t.Context(), "no-such-integration", "sync_item", "item:", 100)
		return err
	})
	if want := (store.PendingWork{Jobs: 2, Deliveries: 2}); got != want {
		t.Errorf("PendingSyncWork: got %+v, want %+v", got, want)
	}
	// Walking only two of the four pending sync_item jobs and two of the
	// three queued deliveries, the counts are lower bounds and say so.
	if !capped.AtLeast || capped.Jobs > 2 || capped.Deliveries > 2 {
		t.Errorf("PendingSyncWork with scan limit 2: got %+v, want at most 2 each and AtLeast", capped)
	}
	if none != (store.PendingWork{}) {
		t.Errorf("PendingSyncWork of an unknown integration: got %+v, want none", none)
	}
}
