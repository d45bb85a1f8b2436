// Package storetest is the conformance suite of store.Store: one set of
// behavioural tests that every backend (SQLite, PostgreSQL) must pass, so
// that the rest of vulnsync can rely on the interface's documented rules
// rather than on one database's quirks.
//
// A backend's test calls Run with a function that opens a fresh, empty store
// for each subtest (and closes it in t.Cleanup).
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Run runs every conformance test against stores made by open, one fresh
// store per subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Backend", testBackend},
		{"Targets", testTargets},
		{"JoinedTransaction", testJoinedTransaction},
		{"TargetErrors", testTargetErrors},
		{"Catalog", testCatalog},
		{"ItemRoundTrip", testItemRoundTrip},
		{"ItemErrors", testItemErrors},
		{"UpdateItem", testUpdateItem},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"SoftDelete", testSoftDelete},
		{"ListItemsPagination", testListItemsPagination},
		{"ListItemsLimitCap", testListItemsLimitCap},
		{"ListItemsBadFilter", testListItemsBadFilter},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"Comments", testComments},
		{"CommentVisibility", testCommentVisibility},
		{"Attachments", testAttachments},
		{"Tokens", testTokens},
		{"JobLifecycle", testJobLifecycle},
		{"JobNotDue", testJobNotDue},
		{"JobCoalescing", testJobCoalescing},
		{"JobPerKeyExclusion", testJobPerKeyExclusion},
		{"JobLeaseTakeover", testJobLeaseTakeover},
		{"JobStaleToken", testJobStaleToken},
		{"JobLeaseExtended", testJobLeaseExtended},
		{"JobRetryAndFail", testJobRetryAndFail},
		{"JobSnooze", testJobSnooze},
		{"JobRetryCoalesces", testJobRetryCoalesces},
		{"JobKindsFilter", testJobKindsFilter},
		{"ListJobs", testListJobs},
		{"JobBadInput", testJobBadInput},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentTakeovers", testConcurrentTakeovers},
		{"InTxRollback", testInTxRollback},
		{"ItemJobAtomicity", testItemJobAtomicity},
		{"View", testView},
	}
	tests = append(tests, integrationTests...)
	tests = append(tests, opsTests...)
	tests = append(tests, peopleTests...)
	tests = append(tests, intakeTests...)
	tests = append(tests, pageTests...)
	tests = append(tests, webhookHealthTests...)
	tests = append(tests, acceptanceTests...)
	tests = append(tests, itemListTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is the suite's reference time: nanoseconds and a non-UTC zone, so
// that every round trip also checks truncation to microseconds in UTC.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

// cat is the catalog test items are built against: the built-ins plus a
// number and a multiselect field, to round-trip every value shape.
var cat = tracker.NewCatalog(
	[]tracker.KindDef{{Name: "pentest_note", Statuses: []tracker.Status{tracker.StatusOpen, tracker.StatusResolved}}},
	[]tracker.FieldDef{
		{Name: "bounty", Type: tracker.TypeNumber},
		{Name: "teams", Type: tracker.TypeMultiSelect, Options: []string{"red", "blue", "green"}},
	},
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(t.Context(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

func view(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr checks that err is a *tracker.Error of kind whose message
// contains every one of parts.
func wantErr(t *testing.T, what string, err error, kind tracker.ErrorKind, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %s", what, kind)
		return
	}
	if got := tracker.KindOf(err); got != kind {
		t.Errorf("%s: got kind %s (%v), want %s", what, got, err, kind)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: message %q does not mention %q", what, err.Error(), p)
		}
	}
}

// txErr runs fn in its own transaction and returns its error, so that a
// refused change is rolled back as a caller's would be.
func txErr(t *testing.T, s store.Store, fn func(tx store.Tx) error) error {
	t.Helper()
	return s.InTx(t.Context(), fn)
}

// testJoinedTransaction: InTx and View called with a context carrying a
// write transaction of the store join it: they see its writes, and what
// they write commits or rolls back with it.
func testJoinedTransaction(t *testing.T, s store.Store) {
	mk := func(name string) tracker.Target {
		return tracker.Target{ID: newID(), Name: name, CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base)}
	}
	kept, dropped := mk("kept"), mk("dropped")
	boom := errors.New("the outer transaction fails")
	for _, c := range []struct {
		tg   tracker.Target
		fail bool
	}{{kept, false}, {dropped, true}} {
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			ctx := store.ContextWithTx(t.Context(), tx)
			if err := s.InTx(ctx, func(inner store.Tx) error { return inner.CreateTarget(ctx, c.tg) }); err != nil {
				return err
			}
			var seen bool
			if err := s.View(ctx, func(v store.Tx) error { _, err := v.GetTarget(ctx, c.tg.ID); seen = err == nil; return nil }); err != nil {
				return err
			}
			if !seen {
				t.Errorf("a View joined to the transaction does not see its write of %s", c.tg.Name)
			}
			if c.fail {
				return boom
			}
			return nil
		})
		if c.fail != errors.Is(err, boom) {
			t.Fatalf("outer transaction for %s: %v", c.tg.Name, err)
		}
	}
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetTarget(t.Context(), kept.ID); err != nil {
			t.Errorf("the joined write of a committed transaction is missing: %v", err)
		}
		if _, err := tx.GetTarget(t.Context(), dropped.ID); tracker.KindOf(err) != tracker.ENotFound {
			t.Errorf("the joined write of a failed transaction survived: %v", err)
		}
		return nil
	})
}

func createTarget(t *testing.T, s store.Store, name string) tracker.Target {
	t.Helper()
	tg := tracker.Target{ID: newID(), Name: name, Description: "the " + name, URL: "https://" + name + ".example.test",
		CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error { return tx.CreateTarget(t.Context(), tg) })
	return tg
}

func change(at time.Time) tracker.Change {
	return tracker.Change{Actor: "alice@example.test", Origin: tracker.OriginVulnsync, At: at}
}

func build(t *testing.T, targetID string, n tracker.NewItem, parent *tracker.Item, at time.Time) (tracker.Item, []tracker.HistoryEntry) {
	t.Helper()
	it, hist, err := cat.Build(targetID, newID(), n, parent, change(at))
	if err != nil {
		t.Fatalf("build item: %v", err)
	}
	return it, hist
}

func createItem(t *testing.T, s store.Store, targetID string, n tracker.NewItem, parent *tracker.Item, at time.Time) tracker.Item {
	t.Helper()
	it, hist := build(t, targetID, n, parent, at)
	inTx(t, s, func(tx store.Tx) error { return tx.CreateItem(t.Context(), it, hist) })
	return it
}

func vuln(title string) tracker.NewItem {
	return tracker.NewItem{Kind: tracker.KindVulnerability, Title: title, Severity: tracker.SeverityHigh}
}

func getItem(t *testing.T, s store.Store, id string) (tracker.Item, error) {
	t.Helper()
	var it tracker.Item
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		it, err = tx.GetItem(t.Context(), id)
		return err
	})
	return it, err
}

func history(t *testing.T, s store.Store, id string) []tracker.HistoryEntry {
	t.Helper()
	var hist []tracker.HistoryEntry
	view(t, s, func(tx store.Tx) error {
		var err error
		hist, err = tx.ListHistory(t.Context(), id)
		return err
	})
	return hist
}

// ignoreHistoryIDs compares history rows without the ids the store assigns.
var ignoreHistoryIDs = cmpopts.IgnoreFields(tracker.HistoryEntry{}, "ID")

func testBackend(t *testing.T, s store.Store) {
	if b := s.Backend(); b != "sqlite" && b != "postgres" {
		t.Errorf("Backend: got %q, want sqlite or postgres", b)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
}

func testTargets(t *testing.T, s store.Store) {
	web := createTarget(t, s, "web")
	api := createTarget(t, s, "api")
	// Surrounding spaces are trimmed, as tracker.ValidateTarget does.
	padded := tracker.Target{ID: newID(), Name: "  mobile  ", CreatedAt: base, UpdatedAt: base.Add(time.Hour)}
	inTx(t, s, func(tx store.Tx) error { return tx.CreateTarget(t.Context(), padded) })

	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetTarget(t.Context(), web.ID)
		if err != nil {
			t.Fatalf("GetTarget: %v", err)
		}
		if diff := cmp.Diff(web, got); diff != "" {
			t.Errorf("GetTarget (-want +got):\n%s", diff)
		}
		list, err := tx.ListTargets(t.Context())
		if err != nil {
			t.Fatalf("ListTargets: %v", err)
		}
		mobile := tracker.Target{ID: padded.ID, Name: "mobile", CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base.Add(time.Hour))}
		if diff := cmp.Diff([]tracker.Target{api, mobile, web}, list); diff != "" {
			t.Errorf("ListTargets, by name (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testTargetErrors(t *testing.T, s store.Store) {
	web := createTarget(t, s, "web")

	wantErr(t, "GetTarget unknown", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.GetTarget(t.Context(), "no-such-target")
		return err
	}), tracker.ENotFound, "no-such-target")

	// A conflict does not poison the transaction: the caller may carry on
	// and commit what else it did.
	other := tracker.Target{ID: newID(), Name: "other"}
	inTx(t, s, func(tx store.Tx) error {
		err := tx.CreateTarget(t.Context(), tracker.Target{ID: newID(), Name: "web"})
		wantErr(t, "CreateTarget with a taken name", err, tracker.EConflict, `"web"`)
		err = tx.CreateTarget(t.Context(), tracker.Target{ID: web.ID, Name: "fresh"})
		wantErr(t, "CreateTarget with a taken id", err, tracker.EConflict, web.ID)
		return tx.CreateTarget(t.Context(), other)
	})

	wantErr(t, "CreateTarget without id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateTarget(t.Context(), tracker.Target{Name: "noid"})
	}), tracker.EInvalid)
	wantErr(t, "CreateTarget without name", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateTarget(t.Context(), tracker.Target{ID: newID(), Name: "  "})
	}), tracker.EInvalid, "name")
	wantErr(t, "CreateTarget with a bad URL", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateTarget(t.Context(), tracker.Target{ID: newID(), Name: "badurl", URL: "ftp://x"})
	}), tracker.EInvalid, "url")

	view(t, s, func(tx store.Tx) error {
		list, err := tx.ListTargets(t.Context())
		if err != nil {
			t.Fatalf("ListTargets: %v", err)
		}
		var names []string
		for _, tg := range list {
			names = append(names, tg.Name)
		}
		if diff := cmp.Diff([]string{"other", "web"}, names); diff != "" {
			t.Errorf("targets after refused creations (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testCatalog(t *testing.T, s store.Store) {
	lo, hi := 0.0, 1e6
	kind := tracker.KindDef{Name: "pentest_note", Statuses: []tracker.Status{tracker.StatusOpen, tracker.StatusResolved}, Created: tracker.Truncate(base)}
	kind2 := tracker.KindDef{Name: "audit", Statuses: []tracker.Status{tracker.StatusOpen}, Created: tracker.Truncate(base.Add(time.Minute))}
	num := tracker.FieldDef{Name: "bounty", Type: tracker.TypeNumber, Min: &lo, Max: &hi, Created: tracker.Truncate(base)}
	sel := tracker.FieldDef{Name: "teams", Type: tracker.TypeMultiSelect, Options: []string{"red", "blue"}, Created: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error {
		for _, k := range []tracker.KindDef{kind, kind2} {
			if err := tx.CreateKind(t.Context(), k); err != nil {
				return err
			}
		}
		for _, f := range []tracker.FieldDef{sel, num} {
			if err := tx.CreateField(t.Context(), f); err != nil {
				return err
			}
		}
		return nil
	})
	wantErr(t, "CreateKind twice", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateKind(t.Context(), tracker.KindDef{Name: "audit", Statuses: []tracker.Status{tracker.StatusResolved}})
	}), tracker.EConflict, `"audit"`)
	wantErr(t, "CreateField twice", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateField(t.Context(), tracker.FieldDef{Name: "bounty", Type: tracker.TypeText})
	}), tracker.EConflict, `"bounty"`)
	wantErr(t, "CreateKind without name", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateKind(t.Context(), tracker.KindDef{})
	}), tracker.EInvalid)

	view(t, s, func(tx store.Tx) error {
		kinds, err := tx.ListKinds(t.Context())
		if err != nil {
			t.Fatalf("ListKinds: %v", err)
		}
		if diff := cmp.Diff([]tracker.KindDef{kind2, kind}, kinds); diff != "" {
			t.Errorf("ListKinds (-want +got):\n%s", diff)
		}
		fields, err := tx.ListFields(t.Context())
		if err != nil {
			t.Fatalf("ListFields: %v", err)
		}
		if diff := cmp.Diff([]tracker.FieldDef{num, sel}, fields); diff != "" {
			t.Errorf("ListFields (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testItemRoundTrip(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	v, vHist := build(t, tg.ID, tracker.NewItem{
		Kind: tracker.KindVulnerability, Title: "SQL injection in /search", Description: "**Markdown** body\nwith lines",
		Severity: tracker.SeverityCritical, Status: tracker.StatusInProgress,
		Fields: map[string]any{
			"cvss_score":  9.8,
			"cwe":         "CWE-89",
			"references":  []any{"https://owasp.org/a", "https://example.test/b?x=1&y=2"},
			"labels":      []any{},
			"due_date":    "2025-04-01",
			"bounty":      12345678.125,
			"teams":       []any{"blue", "red"},
			"remediation": "Use prepared statements — «always».",
		},
	}, nil, base)
	inTx(t, s, func(tx store.Tx) error { return tx.CreateItem(t.Context(), v, vHist) })
	f := createItem(t, s, tg.ID, tracker.NewItem{Kind: tracker.KindFinding, Title: "seen on prod", Severity: tracker.SeverityLow, ParentID: v.ID,
		Fields: map[string]any{"bounty": 1e-7, "cvss_score": 7}}, &v, base.Add(time.Second))

	got, err := getItem(t, s, v.ID)
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Errorf("GetItem after CreateItem (-want +got):\n%s", diff)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location: got %v, want UTC", got.CreatedAt.Location())
	}
	gotF, err := getItem(t, s, f.ID)
	if err != nil {
		t.Fatalf("GetItem finding: %v", err)
	}
	if diff := cmp.Diff(f, gotF); diff != "" {
		t.Errorf("GetItem finding (-want +got):\n%s", diff)
	}

	// A later change to some fields gives FieldTimes distinct values.
	prev := got.Version
	status := tracker.StatusResolved
	uHist, err := cat.Apply(&got, tracker.Patch{Status: &status, Fields: map[string]any{"labels": []any{"pci", "web"}, "cwe": nil}}, change(base.Add(90*time.Minute+time.Nanosecond*777)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), got, prev, uHist) })
	again, err := getItem(t, s, v.ID)
	if err != nil {
		t.Fatalf("GetItem after update: %v", err)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("GetItem after UpdateItem (-want +got):\n%s", diff)
	}
	if again.FieldTimes["status"].Equal(again.FieldTimes["title"]) {
		t.Errorf("FieldTimes: status and title share %v, want distinct change times", again.FieldTimes["title"])
	}

	wantHist := append(append([]tracker.HistoryEntry(nil), vHist...), uHist...)
	gotHist := history(t, s, v.ID)
	if diff := cmp.Diff(wantHist, gotHist, ignoreHistoryIDs); diff != "" {
		t.Errorf("ListHistory (-want +got):\n%s", diff)
	}
	for i := 1; i < len(gotHist); i++ {
		if gotHist[i].ID <= gotHist[i-1].ID {
			t.Errorf("ListHistory ids: row %d has id %d after %d, want increasing", i, gotHist[i].ID, gotHist[i-1].ID)
		}
	}
}

func testItemErrors(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	v := createItem(t, s, tg.ID, vuln("xss"), nil, base)

	_, err := getItem(t, s, "no-such-item")
	wantErr(t, "GetItem unknown", err, tracker.ENotFound, `item "no-such-item" not found`)

	dup, dupHist := build(t, tg.ID, vuln("other"), nil, base)
	dup.ID = v.ID
	for i := range dupHist {
		dupHist[i].ItemID = v.ID
	}
	wantErr(t, "CreateItem with a taken id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateItem(t.Context(), dup, dupHist)
	}), tracker.EConflict, v.ID)

	orphan, orphanHist := build(t, "no-such-target", vuln("orphan"), nil, base)
	wantErr(t, "CreateItem in unknown target", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateItem(t.Context(), orphan, orphanHist)
	}), tracker.ENotFound, "no-such-target")

	ghost := tracker.Item{ID: "ghost-parent", TargetID: tg.ID, Kind: tracker.KindVulnerability}
	child, childHist := build(t, tg.ID, tracker.NewItem{Kind: tracker.KindFinding, Title: "child", Severity: tracker.SeverityLow, ParentID: ghost.ID}, &ghost, base)
	wantErr(t, "CreateItem with unknown parent", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateItem(t.Context(), child, childHist)
	}), tracker.ENotFound, "ghost-parent")

	noID, noIDHist := build(t, tg.ID, vuln("no id"), nil, base)
	noID.ID = ""
	wantErr(t, "CreateItem without id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateItem(t.Context(), noID, noIDHist)
	}), tracker.EInvalid)

	// None of the refused items left anything behind.
	view(t, s, func(tx store.Tx) error {
		page, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID})
		if err != nil {
			t.Fatalf("ListItems: %v", err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != v.ID {
			t.Errorf("items after refused creations: got %d items, want only %s", len(page.Items), v.ID)
		}
		for _, id := range []string{orphan.ID, child.ID} {
			if _, err := tx.ListHistory(t.Context(), id); tracker.KindOf(err) != tracker.ENotFound {
				t.Errorf("ListHistory of refused item %s: got %v, want not found", id, err)
			}
		}
		return nil
	})
	if h := history(t, s, v.ID); len(h) != 3 {
		t.Errorf("history of %s: got %d rows, want the 3 of its creation", v.ID, len(h))
	}
}

func testUpdateItem(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	orig := createItem(t, s, tg.ID, vuln("xss"), nil, base)

	first := orig
	title := "stored XSS"
	h1, err := cat.Apply(&first, tracker.Patch{Title: &title}, change(base.Add(time.Minute)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), first, orig.Version, h1) })

	// A second writer that read the original version loses.
	stale := orig
	sev := tracker.SeverityCritical
	h2, err := cat.Apply(&stale, tracker.Patch{Severity: &sev}, change(base.Add(2*time.Minute)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantErr(t, "UpdateItem with a stale version", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateItem(t.Context(), stale, orig.Version, h2)
	}), tracker.EConflict, orig.ID)

	got, err := getItem(t, s, orig.ID)
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("item after the refused update (-want +got):\n%s", diff)
	}
	if got.Version != orig.Version+1 {
		t.Errorf("version: got %d, want %d", got.Version, orig.Version+1)
	}
	if h := history(t, s, orig.ID); len(h) != 4 {
		t.Errorf("history rows: got %d, want 4 (3 from creation, 1 from the accepted update)", len(h))
	}

	ghost := first
	ghost.ID = "no-such-item"
	ghost.Version = first.Version + 1
	wantErr(t, "UpdateItem unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateItem(t.Context(), ghost, first.Version, nil)
	}), tracker.ENotFound, "no-such-item")

	same := got
	wantErr(t, "UpdateItem without a new version", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateItem(t.Context(), same, same.Version, nil)
	}), tracker.EInvalid)
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	orig := createItem(t, s, tg.ID, vuln("race"), nil, base)
	const writers = 4
	errs := make([]error, writers)
	want := make([]tracker.Item, writers)
	var wg sync.WaitGroup
	for w := range writers {
		it := orig
		title := fmt.Sprintf("title by writer %d", w)
		hist, err := cat.Apply(&it, tracker.Patch{Title: &title}, change(base.Add(time.Duration(w+1)*time.Second)))
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		want[w] = it
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = s.InTx(t.Context(), func(tx store.Tx) error { return tx.UpdateItem(t.Context(), it, orig.Version, hist) })
		}()
	}
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both updated version %d", winner, w, orig.Version)
		case err == nil:
			winner = w
		case tracker.KindOf(err) != tracker.EConflict:
			t.Errorf("writer %d: got %v, want a conflict", w, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer succeeded: %v", errs)
	}
	got, err := getItem(t, s, orig.ID)
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if diff := cmp.Diff(want[winner], got); diff != "" {
		t.Errorf("item after concurrent updates (-winner's +got):\n%s", diff)
	}
}

func testSoftDelete(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	keep := createItem(t, s, tg.ID, vuln("keep"), nil, base)
	gone := createItem(t, s, tg.ID, vuln("gone"), nil, base)
	del := tracker.HistoryEntry{Field: "deleted", Old: "", New: "true", Actor: "bob@example.test", Origin: tracker.OriginVulnsync, At: base.Add(time.Hour)}
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteItem(t.Context(), gone.ID, del) })

	_, err := getItem(t, s, gone.ID)
	wantErr(t, "GetItem deleted", err, tracker.ENotFound, gone.ID)
	view(t, s, func(tx store.Tx) error {
		page, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID})
		if err != nil {
			t.Fatalf("ListItems: %v", err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != keep.ID {
			t.Errorf("ListItems after delete: got %d items, want only %s", len(page.Items), keep.ID)
		}
		// The deleted item's comments and attachments stay listable (empty
		// here), so its history and sync remain explainable.
		if _, err := tx.ListComments(t.Context(), gone.ID); err != nil {
			t.Errorf("ListComments of deleted item: %v", err)
		}
		return nil
	})
	hist := history(t, s, gone.ID)
	if len(hist) == 0 {
		t.Fatalf("history of deleted item is empty")
	}
	wantDel := del
	wantDel.ItemID = gone.ID
	wantDel.At = tracker.Truncate(del.At)
	if diff := cmp.Diff(wantDel, hist[len(hist)-1], ignoreHistoryIDs); diff != "" {
		t.Errorf("last history row of deleted item (-want +got):\n%s", diff)
	}

	wantErr(t, "DeleteItem twice", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteItem(t.Context(), gone.ID, del)
	}), tracker.ENotFound, gone.ID)
	wantErr(t, "DeleteItem unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteItem(t.Context(), "no-such-item", del)
	}), tracker.ENotFound, "no-such-item")
	upd := gone
	title := "revived"
	h, err := cat.Apply(&upd, tracker.Patch{Title: &title}, change(base.Add(2*time.Hour)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantErr(t, "UpdateItem deleted", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateItem(t.Context(), upd, gone.Version, h)
	}), tracker.ENotFound, gone.ID)
	wantErr(t, "CreateComment on deleted item", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), tracker.Comment{ID: newID(), ItemID: gone.ID, Body: "late", Origin: tracker.OriginJira, CreatedAt: base})
	}), tracker.ENotFound, gone.ID)
	if n := len(history(t, s, gone.ID)); n != len(hist) {
		t.Errorf("history rows after refused changes: got %d, want %d", n, len(hist))
	}
}

// listed is an item created by the pagination test with what filters see.
type listed struct {
	item    tracker.Item
	deleted bool
}

// pageAll pages through f with its Limit, checking the page invariants, and
// returns the ids in the order the store gave them.
func pageAll(t *testing.T, s store.Store, f store.ItemFilter) ([]string, []tracker.Item) {
	t.Helper()
	var ids []string
	var items []tracker.Item
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("ListItems %+v: no end after 1000 pages", f)
		}
		var page store.ItemPage
		view(t, s, func(tx store.Tx) error {
			var err error
			page, err = tx.ListItems(t.Context(), f)
			return err
		})
		if f.Limit > 0 && len(page.Items) > f.Limit {
			t.Fatalf("ListItems %+v: page of %d items, limit %d", f, len(page.Items), f.Limit)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
			items = append(items, it)
		}
		if page.NextCursor == "" {
			return ids, items
		}
		if len(page.Items) == 0 {
			t.Fatalf("ListItems %+v: empty page with a next cursor", f)
		}
		f.Cursor = page.NextCursor
	}
}

func testListItemsPagination(t *testing.T, s store.Store) {
	a := createTarget(t, s, "a")
	b := createTarget(t, s, "b")
	var all []*listed
	byID := map[string]*listed{}
	inTx(t, s, func(tx store.Tx) error {
		var lastVuln *tracker.Item
		for i := range 120 {
			n := tracker.NewItem{
				Title:    fmt.Sprintf("item %d", i),
				Severity: tracker.Severities[i%len(tracker.Severities)],
				Status:   tracker.Statuses[(i/2)%len(tracker.Statuses)],
			}
			switch i % 4 {
			case 0:
				n.Kind = tracker.KindVulnerability
			case 2:
				n.Kind = tracker.KindRisk
			default:
				n.Kind = tracker.KindFinding
				n.ParentID = lastVuln.ID
			}
			var parent *tracker.Item
			if n.ParentID != "" {
				parent = lastVuln
			}
			it, hist := build(t, a.ID, n, parent, base.Add(time.Duration(i)*time.Second))
			if err := tx.CreateItem(t.Context(), it, hist); err != nil {
				return err
			}
			l := &listed{item: it}
			all = append(all, l)
			byID[it.ID] = l
			if it.Kind == tracker.KindVulnerability {
				lastVuln = &l.item
			}
		}
		for i := range 10 {
			it, hist := build(t, b.ID, vuln(fmt.Sprintf("b %d", i)), nil, base)
			if err := tx.CreateItem(t.Context(), it, hist); err != nil {
				return err
			}
		}
		for i, l := range all {
			if i%17 == 5 {
				l.deleted = true
				del := tracker.HistoryEntry{Field: "deleted", New: "true", Actor: "bob", Origin: tracker.OriginVulnsync, At: base.Add(time.Hour)}
				if err := tx.DeleteItem(t.Context(), l.item.ID, del); err != nil {
					return err
				}
			}
		}
		return nil
	})

	expect := func(keep func(it tracker.Item) bool) []string {
		var ids []string
		for _, l := range all {
			if !l.deleted && keep(l.item) {
				ids = append(ids, l.item.ID)
			}
		}
		sort.Strings(ids)
		return ids
	}
	everything := func(tracker.Item) bool { return true }

	gotIDs, gotItems := pageAll(t, s, store.ItemFilter{TargetID: a.ID, Limit: 7})
	if diff := cmp.Diff(expect(everything), gotIDs); diff != "" {
		t.Errorf("all live items of a, 7 per page (-want +got):\n%s", diff)
	}
	for _, got := range gotItems {
		if diff := cmp.Diff(byID[got.ID].item, got); diff != "" {
			t.Errorf("listed item %s (-want +got):\n%s", got.ID, diff)
			break
		}
	}

	// The default page size is 50.
	view(t, s, func(tx store.Tx) error {
		page, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: a.ID})
		if err != nil {
			t.Fatalf("ListItems: %v", err)
		}
		if len(page.Items) != store.DefaultPageSize || page.NextCursor == "" {
			t.Errorf("default page: got %d items and cursor %q, want %d items and a cursor", len(page.Items), page.NextCursor, store.DefaultPageSize)
		}
		return nil
	})

	someVuln := all[8].item.ID // a vulnerability (i%4 == 0) that has findings
	cases := []struct {
		name string
		f    store.ItemFilter
		keep func(tracker.Item) bool
	}{
		{"kind", store.ItemFilter{Kind: tracker.KindFinding, Limit: 6},
			func(it tracker.Item) bool { return it.Kind == tracker.KindFinding }},
		{"status", store.ItemFilter{Status: tracker.StatusResolved, Limit: 4},
			func(it tracker.Item) bool { return it.Status == tracker.StatusResolved }},
		{"severity", store.ItemFilter{Severity: tracker.SeverityHigh, Limit: 5},
			func(it tracker.Item) bool { return it.Severity == tracker.SeverityHigh }},
		{"parent", store.ItemFilter{ParentID: someVuln, Limit: 1},
			func(it tracker.Item) bool { return it.ParentID == someVuln }},
		{"kind and severity", store.ItemFilter{Kind: tracker.KindFinding, Severity: tracker.SeverityCritical, Limit: 2},
			func(it tracker.Item) bool {
				return it.Kind == tracker.KindFinding && it.Severity == tracker.SeverityCritical
			}},
		{"nothing matches", store.ItemFilter{Kind: "pentest_note"},
			func(it tracker.Item) bool { return false }},
	}
	for _, c := range cases {
		c.f.TargetID = a.ID
		want := expect(c.keep)
		if len(want) == 0 && c.name != "nothing matches" {
			t.Fatalf("filter %s: the fixture has no matching items; the test would prove nothing", c.name)
		}
		got, _ := pageAll(t, s, c.f)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("filter %s (-want +got):\n%s", c.name, diff)
		}
	}
}

func testListItemsLimitCap(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "big")
	const n = store.MaxPageSize + 1
	inTx(t, s, func(tx store.Tx) error {
		for i := range n {
			it, hist := build(t, tg.ID, vuln(fmt.Sprintf("v%d", i)), nil, base)
			if err := tx.CreateItem(t.Context(), it, hist); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		page, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID, Limit: 10 * store.MaxPageSize})
		if err != nil {
			t.Fatalf("ListItems: %v", err)
		}
		if len(page.Items) != store.MaxPageSize || page.NextCursor == "" {
			t.Fatalf("capped page: got %d items and cursor %q, want %d and a cursor", len(page.Items), page.NextCursor, store.MaxPageSize)
		}
		rest, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID, Limit: 10 * store.MaxPageSize, Cursor: page.NextCursor})
		if err != nil {
			t.Fatalf("ListItems second page: %v", err)
		}
		if len(rest.Items) != n-store.MaxPageSize || rest.NextCursor != "" {
			t.Errorf("second page: got %d items and cursor %q, want %d and none", len(rest.Items), rest.NextCursor, n-store.MaxPageSize)
		}
		return nil
	})
}

func testListItemsBadFilter(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	createItem(t, s, tg.ID, vuln("x"), nil, base)
	cases := []struct {
		name string
		f    store.ItemFilter
		kind tracker.ErrorKind
		part string
	}{
		{"no target", store.ItemFilter{}, tracker.EInvalid, "target"},
		{"unknown target", store.ItemFilter{TargetID: "no-such-target"}, tracker.ENotFound, "no-such-target"},
		{"garbage cursor", store.ItemFilter{TargetID: tg.ID, Cursor: "%%%not base64"}, tracker.EInvalid, "cursor"},
		{"negative limit", store.ItemFilter{TargetID: tg.ID, Limit: -1}, tracker.EInvalid, "limit"},
		{"unknown status", store.ItemFilter{TargetID: tg.ID, Status: "closed"}, tracker.EInvalid, "closed"},
		{"unknown severity", store.ItemFilter{TargetID: tg.ID, Severity: "urgent"}, tracker.EInvalid, "urgent"},
	}
	for _, c := range cases {
		err := s.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.ListItems(t.Context(), c.f)
			return err
		})
		wantErr(t, "ListItems "+c.name, err, c.kind, c.part)
	}
}

func testTimeRoundTrip(t *testing.T, s store.Store) {
	times := []time.Time{
		base,
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), // before the epoch
		time.Date(2300, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", -7*3600)),
		time.Date(2024, 2, 29, 12, 0, 0, 1, time.UTC), // 1ns is dropped
	}
	for i, at := range times {
		tg := tracker.Target{ID: newID(), Name: fmt.Sprintf("t%d", i), CreatedAt: at, UpdatedAt: at.Add(time.Microsecond)}
		inTx(t, s, func(tx store.Tx) error { return tx.CreateTarget(t.Context(), tg) })
		it := createItem(t, s, tg.ID, vuln("timed"), nil, at)
		c := tracker.Comment{ID: newID(), ItemID: it.ID, Body: "b", Origin: tracker.OriginJira, CreatedAt: at, UpdatedAt: at.Add(time.Millisecond)}
		inTx(t, s, func(tx store.Tx) error { return tx.CreateComment(t.Context(), c) })

		view(t, s, func(tx store.Tx) error {
			gotT, err := tx.GetTarget(t.Context(), tg.ID)
			if err != nil {
				t.Fatalf("GetTarget: %v", err)
			}
			if want := tracker.Truncate(at); gotT.CreatedAt != want {
				t.Errorf("target CreatedAt: got %v, want %v (== %v truncated)", gotT.CreatedAt, want, at)
			}
			if want := tracker.Truncate(at.Add(time.Microsecond)); gotT.UpdatedAt != want {
				t.Errorf("target UpdatedAt: got %v, want %v", gotT.UpdatedAt, want)
			}
			gotI, err := tx.GetItem(t.Context(), it.ID)
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			for k, v := range gotI.FieldTimes {
				if want := tracker.Truncate(at); v != want {
					t.Errorf("FieldTimes[%s]: got %v, want %v", k, v, want)
				}
			}
			if gotI.CreatedAt != tracker.Truncate(at) {
				t.Errorf("item CreatedAt: got %v, want %v", gotI.CreatedAt, tracker.Truncate(at))
			}
			gotC, err := tx.GetComment(t.Context(), c.ID)
			if err != nil {
				t.Fatalf("GetComment: %v", err)
			}
			if gotC.CreatedAt != tracker.Truncate(at) || gotC.UpdatedAt != tracker.Truncate(at.Add(time.Millisecond)) {
				t.Errorf("comment times: got %v / %v, want %v / %v", gotC.CreatedAt, gotC.UpdatedAt, tracker.Truncate(at), tracker.Truncate(at.Add(time.Millisecond)))
			}
			hist, err := tx.ListHistory(t.Context(), it.ID)
			if err != nil {
				t.Fatalf("ListHistory: %v", err)
			}
			for _, h := range hist {
				if h.At != tracker.Truncate(at) {
					t.Errorf("history At: got %v, want %v", h.At, tracker.Truncate(at))
				}
			}
			return nil
		})
	}
}

// testCommentVisibility: an internal note and a restricted Jira comment
// keep their flags; an update can restrict or open a comment but not
// change its internal flag; bad input is refused with nothing stored.
func testCommentVisibility(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	it := createItem(t, s, tg.ID, vuln("xss"), nil, base)
	at := tracker.Truncate(base)
	note := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: "Alice"}, Body: "exploit path, do not share",
		Origin: tracker.OriginVulnsync, Internal: true, CreatedAt: at, UpdatedAt: at}
	restricted := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: "Dev"}, Body: "for developers",
		Origin: tracker.OriginJira, Restricted: true, Visibility: &tracker.Visibility{Type: "role", Value: "Developers"},
		CreatedAt: at.Add(time.Second), UpdatedAt: at.Add(time.Second)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateComment(t.Context(), note); err != nil {
			return err
		}
		return tx.CreateComment(t.Context(), restricted)
	})
	list := func() []tracker.Comment { return listComments(t, s, it.ID) }
	if diff := cmp.Diff([]tracker.Comment{note, restricted}, list()); diff != "" {
		t.Errorf("ListComments (-want +got):\n%s", diff)
	}
	var page store.CommentPage
	view(t, s, func(tx store.Tx) error {
		var err error
		page, err = tx.ListCommentsPage(t.Context(), store.PageFilter{ItemID: it.ID, Limit: 10})
		return err
	})
	if diff := cmp.Diff([]tracker.Comment{note, restricted}, page.Comments); diff != "" {
		t.Errorf("ListCommentsPage (-want +got):\n%s", diff)
	}

	opened := restricted
	opened.Visibility, opened.Restricted = nil, false
	opened.UpdatedAt = at.Add(time.Minute)
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateComment(t.Context(), opened) })
	notInternal := note
	notInternal.Internal = false // the internal flag is fixed at creation
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateComment(t.Context(), notInternal) })
	if diff := cmp.Diff([]tracker.Comment{note, opened}, list()); diff != "" {
		t.Errorf("after updates (-want +got):\n%s", diff)
	}

	bad := tracker.Comment{ID: newID(), ItemID: it.ID, Body: "x", Origin: tracker.OriginJira, CreatedAt: at,
		Visibility: &tracker.Visibility{Type: "everyone", Value: "x"}}
	wantErr(t, "CreateComment with an unknown visibility type", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), bad)
	}), tracker.EInvalid, "role or group")
	internalJira := tracker.Comment{ID: newID(), ItemID: it.ID, Body: "x", Origin: tracker.OriginJira, Internal: true, CreatedAt: at}
	wantErr(t, "CreateComment of an internal Jira comment", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), internalJira)
	}), tracker.EInvalid, "internal")
	if got := len(list()); got != 2 {
		t.Errorf("refused comments were stored: %d comments, want 2", got)
	}
}

func testComments(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	it := createItem(t, s, tg.ID, vuln("xss"), nil, base)
	// Created out of order: listing follows created_at, as Jira comments
	// arrive with their original times.
	later := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: "Dev", AccountID: "5b10ac8d82e05b22cc7d4ef5"},
		Body: "fixed in *main*", Origin: tracker.OriginJira, CreatedAt: tracker.Truncate(base.Add(time.Hour)), UpdatedAt: tracker.Truncate(base.Add(time.Hour))}
	earlier := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: "Alice", Email: "alice@example.test"},
		Body: "found it", Origin: tracker.OriginVulnsync, CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateComment(t.Context(), later); err != nil {
			return err
		}
		return tx.CreateComment(t.Context(), earlier)
	})
	list := func() []tracker.Comment { return listComments(t, s, it.ID) }
	if diff := cmp.Diff([]tracker.Comment{earlier, later}, list()); diff != "" {
		t.Errorf("ListComments (-want +got):\n%s", diff)
	}

	edited := earlier
	edited.Body = "found it (edited)"
	edited.UpdatedAt = tracker.Truncate(base.Add(2 * time.Hour))
	edited.Author = tracker.Author{Name: "Mallory"} // the author is fixed at creation
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateComment(t.Context(), edited) })
	wantEdited := earlier
	wantEdited.Body = edited.Body
	wantEdited.UpdatedAt = edited.UpdatedAt
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetComment(t.Context(), earlier.ID)
		if err != nil {
			t.Fatalf("GetComment: %v", err)
		}
		if diff := cmp.Diff(wantEdited, got); diff != "" {
			t.Errorf("GetComment after update (-want +got):\n%s", diff)
		}
		return nil
	})

	inTx(t, s, func(tx store.Tx) error { return tx.DeleteComment(t.Context(), later.ID) })
	if diff := cmp.Diff([]tracker.Comment{wantEdited}, list()); diff != "" {
		t.Errorf("ListComments after delete (-want +got):\n%s", diff)
	}
	wantErr(t, "GetComment deleted", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.GetComment(t.Context(), later.ID)
		return err
	}), tracker.ENotFound, later.ID)
	wantErr(t, "DeleteComment twice", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteComment(t.Context(), later.ID)
	}), tracker.ENotFound, later.ID)
	wantErr(t, "UpdateComment deleted", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateComment(t.Context(), later)
	}), tracker.ENotFound, later.ID)
	wantErr(t, "CreateComment with a taken id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), earlier)
	}), tracker.EConflict, earlier.ID)
	wantErr(t, "CreateComment on unknown item", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), tracker.Comment{ID: newID(), ItemID: "no-such-item", Body: "x", Origin: tracker.OriginJira})
	}), tracker.ENotFound, "no-such-item")
	wantErr(t, "CreateComment with empty body", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateComment(t.Context(), tracker.Comment{ID: newID(), ItemID: it.ID, Body: " ", Origin: tracker.OriginJira})
	}), tracker.EInvalid, "body")
	wantErr(t, "ListComments of unknown item", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.ListComments(t.Context(), "no-such-item")
		return err
	}), tracker.ENotFound, "no-such-item")
	if got := list(); len(got) != 1 {
		t.Errorf("comments after refused changes: got %d, want 1", len(got))
	}
}

func testAttachments(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	it := createItem(t, s, tg.ID, vuln("xss"), nil, base)
	content := make([]byte, 300_000)
	if _, err := rand.Read(content); err != nil {
		t.Fatalf("random content: %v", err)
	}
	sum := sha256.Sum256(content)
	shot := tracker.Attachment{ID: newID(), ItemID: it.ID, Filename: "poc.png", ContentType: "image/png", Origin: tracker.OriginVulnsync, CreatedAt: base}
	empty := tracker.Attachment{ID: newID(), ItemID: it.ID, Filename: "empty.txt", ContentType: "text/plain", Origin: tracker.OriginJira, CreatedAt: base.Add(time.Second)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateAttachment(t.Context(), shot, content); err != nil {
			return err
		}
		return tx.CreateAttachment(t.Context(), empty, nil)
	})
	wantShot := shot
	wantShot.Size = int64(len(content))
	wantShot.SHA256 = hex.EncodeToString(sum[:])
	wantShot.CreatedAt = tracker.Truncate(base)
	emptySum := sha256.Sum256(nil)
	wantEmpty := empty
	wantEmpty.SHA256 = hex.EncodeToString(emptySum[:])
	wantEmpty.CreatedAt = tracker.Truncate(empty.CreatedAt)

	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetAttachment(t.Context(), shot.ID)
		if err != nil {
			t.Fatalf("GetAttachment: %v", err)
		}
		if diff := cmp.Diff(wantShot, got); diff != "" {
			t.Errorf("GetAttachment (-want +got):\n%s", diff)
		}
		list, err := tx.ListAttachments(t.Context(), it.ID)
		if err != nil {
			t.Fatalf("ListAttachments: %v", err)
		}
		if diff := cmp.Diff([]tracker.Attachment{wantShot, wantEmpty}, list); diff != "" {
			t.Errorf("ListAttachments (-want +got):\n%s", diff)
		}
		b, err := tx.AttachmentContent(t.Context(), shot.ID)
		if err != nil {
			t.Fatalf("AttachmentContent: %v", err)
		}
		if gotSum := sha256.Sum256(b); len(b) != len(content) || gotSum != sum {
			t.Errorf("AttachmentContent: got %d bytes (sha256 %x), want %d bytes (sha256 %x)", len(b), gotSum, len(content), sum)
		}
		b, err = tx.AttachmentContent(t.Context(), empty.ID)
		if err != nil || len(b) != 0 {
			t.Errorf("AttachmentContent of empty file: got %d bytes, %v; want 0 bytes", len(b), err)
		}
		return nil
	})

	bad := tracker.Attachment{ID: newID(), ItemID: it.ID, Filename: "x.bin", Origin: tracker.OriginVulnsync, SHA256: strings.Repeat("0", 64)}
	wantErr(t, "CreateAttachment with wrong sha256", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), bad, []byte("hello"))
	}), tracker.EInvalid, "sha256")
	badSize := tracker.Attachment{ID: newID(), ItemID: it.ID, Filename: "x.bin", Origin: tracker.OriginVulnsync, Size: 99}
	wantErr(t, "CreateAttachment with wrong size", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), badSize, []byte("hello"))
	}), tracker.EInvalid, "size")
	huge := tracker.Attachment{ID: newID(), ItemID: it.ID, Filename: "huge.bin", Origin: tracker.OriginJira}
	wantErr(t, "CreateAttachment over the limit", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), huge, make([]byte, store.MaxAttachmentBytes+1))
	}), tracker.ETooLarge, "huge.bin")
	wantErr(t, "CreateAttachment with a taken id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), shot, []byte("other"))
	}), tracker.EConflict, shot.ID)
	wantErr(t, "CreateAttachment on unknown item", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), tracker.Attachment{ID: newID(), ItemID: "no-such-item", Filename: "a", Origin: tracker.OriginJira}, []byte("a"))
	}), tracker.ENotFound, "no-such-item")
	wantErr(t, "CreateAttachment without filename", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateAttachment(t.Context(), tracker.Attachment{ID: newID(), ItemID: it.ID, Origin: tracker.OriginJira}, []byte("a"))
	}), tracker.EInvalid, "filename")
	wantErr(t, "GetAttachment unknown", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.GetAttachment(t.Context(), "no-such-attachment")
		return err
	}), tracker.ENotFound, "no-such-attachment")
	wantErr(t, "AttachmentContent unknown", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.AttachmentContent(t.Context(), "no-such-attachment")
		return err
	}), tracker.ENotFound, "no-such-attachment")

	view(t, s, func(tx store.Tx) error {
		list, err := tx.ListAttachments(t.Context(), it.ID)
		if err != nil {
			t.Fatalf("ListAttachments: %v", err)
		}
		if len(list) != 2 {
			t.Errorf("attachments after refused creations: got %d, want 2", len(list))
		}
		if _, err := tx.AttachmentContent(t.Context(), bad.ID); tracker.KindOf(err) != tracker.ENotFound {
			t.Errorf("content of refused attachment: got %v, want not found", err)
		}
		return nil
	})
}

func testTokens(t *testing.T, s store.Store) {
	count := func() int {
		var n int
		view(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.CountTokens(t.Context())
			return err
		})
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("CountTokens on a fresh store: got %d, want 0", n)
	}
	admin := store.Token{ID: newID(), Name: "admin", Role: "admin", Hash: strings.Repeat("ab", 32), CreatedAt: tracker.Truncate(base)}
	dev := store.Token{ID: newID(), Name: "dev", Role: "member", Hash: strings.Repeat("cd", 32), CreatedAt: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateToken(t.Context(), admin); err != nil {
			return err
		}
		return tx.CreateToken(t.Context(), dev)
	})
	view(t, s, func(tx store.Tx) error {
		got, err := tx.TokenByHash(t.Context(), dev.Hash)
		if err != nil {
			t.Fatalf("TokenByHash: %v", err)
		}
		if diff := cmp.Diff(dev, got); diff != "" {
			t.Errorf("TokenByHash (-want +got):\n%s", diff)
		}
		return nil
	})
	wantErr(t, "TokenByHash unknown", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.TokenByHash(t.Context(), strings.Repeat("ef", 32))
		return err
	}), tracker.ENotFound)
	wantErr(t, "CreateToken with a taken hash", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateToken(t.Context(), store.Token{ID: newID(), Name: "again", Role: "admin", Hash: admin.Hash})
	}), tracker.EConflict)
	wantErr(t, "CreateToken with a taken id", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateToken(t.Context(), store.Token{ID: admin.ID, Name: "again", Role: "admin", Hash: "fresh"})
	}), tracker.EConflict, admin.ID)
	wantErr(t, "CreateToken without hash", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateToken(t.Context(), store.Token{ID: newID(), Name: "nohash", Role: "admin"})
	}), tracker.EInvalid, "hash")
	if n := count(); n != 2 {
		t.Errorf("CountTokens: got %d, want 2", n)
	}
	view(t, s, func(tx store.Tx) error {
		got, err := tx.ListTokens(t.Context())
		if err != nil {
			t.Fatalf("ListTokens: %v", err)
		}
		if len(got) != 2 {
			t.Errorf("ListTokens: got %d tokens, want 2", len(got))
		}
		return nil
	})
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(t.Context(), admin.ID) })
	wantErr(t, "TokenByHash of a deleted token", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.TokenByHash(t.Context(), admin.Hash)
		return err
	}), tracker.ENotFound)
	wantErr(t, "DeleteToken unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.DeleteToken(t.Context(), admin.ID)
	}), tracker.ENotFound)
	if n := count(); n != 1 {
		t.Errorf("CountTokens after a delete: got %d, want 1", n)
	}
}

// ---- jobs ----

const minute = time.Minute

func enqueue(t *testing.T, s store.Store, j store.Job) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error { return tx.Enqueue(t.Context(), j) })
}

func claim(t *testing.T, s store.Store, c store.Claim) []store.Job {
	t.Helper()
	var jobs []store.Job
	inTx(t, s, func(tx store.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), c)
		return err
	})
	return jobs
}

func listJobs(t *testing.T, s store.Store, f store.JobFilter) []store.Job {
	t.Helper()
	var jobs []store.Job
	view(t, s, func(tx store.Tx) error {
		var err error
		jobs, err = tx.ListJobs(t.Context(), f)
		return err
	})
	return jobs
}

func jobKeys(jobs []store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Kind + "/" + j.Key
	}
	return out
}

// ignoreJobClock leaves out what the store stamps from its own clock.
var ignoreJobClock = cmpopts.IgnoreFields(store.Job{}, "CreatedAt", "UpdatedAt")

func testJobLifecycle(t *testing.T, s store.Store) {
	payload := json.RawMessage(`{"item_id": "abc",  "fields":["title"]}`)
	enqueue(t, s, store.Job{Kind: "push", Key: "item:abc", Payload: payload, RunAt: base})
	pending := listJobs(t, s, store.JobFilter{})
	if len(pending) != 1 {
		t.Fatalf("ListJobs after Enqueue: got %d jobs, want 1", len(pending))
	}
	want := store.Job{ID: pending[0].ID, Kind: "push", Key: "item:abc", Payload: payload, State: store.JobPending, RunAt: tracker.Truncate(base)}
	if diff := cmp.Diff(want, pending[0], ignoreJobClock); diff != "" {
		t.Errorf("pending job (-want +got):\n%s", diff)
	}
	if pending[0].CreatedAt.IsZero() {
		t.Errorf("pending job has no CreatedAt")
	}

	now := base.Add(minute)
	got := claim(t, s, store.Claim{Now: now, Lease: 5 * minute, Limit: 10})
	if len(got) != 1 {
		t.Fatalf("ClaimJobs: got %d jobs, want 1", len(got))
	}
	if got[0].LeaseToken == "" {
		t.Errorf("claimed job has no lease token")
	}
	want.State, want.Attempts, want.LeaseToken, want.LeasedTill = store.JobRunning, 1, got[0].LeaseToken, tracker.Truncate(now.Add(5*minute))
	if diff := cmp.Diff(want, got[0], ignoreJobClock); diff != "" {
		t.Errorf("claimed job (-want +got):\n%s", diff)
	}
	if again := claim(t, s, store.Claim{Now: now, Lease: 5 * minute, Limit: 10}); len(again) != 0 {
		t.Errorf("second claim under a live lease: got %v, want none", jobKeys(again))
	}

	inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), got[0].ID, got[0].LeaseToken) })
	done := listJobs(t, s, store.JobFilter{})
	if len(done) != 1 || done[0].State != store.JobDone || done[0].LeaseToken != "" {
		t.Errorf("after CompleteJob: got %+v, want one done job without lease", done)
	}
	if again := claim(t, s, store.Claim{Now: now.Add(time.Hour), Lease: minute, Limit: 10}); len(again) != 0 {
		t.Errorf("claim after completion: got %v, want none", jobKeys(again))
	}
}

func testJobNotDue(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "later", RunAt: base.Add(time.Hour)})
	if got := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 10}); len(got) != 0 {
		t.Errorf("claim before RunAt: got %v, want none", jobKeys(got))
	}
	got := claim(t, s, store.Claim{Now: base.Add(time.Hour), Lease: minute, Limit: 10})
	if len(got) != 1 || got[0].Key != "later" {
		t.Errorf("claim at RunAt: got %v, want [push/later]", jobKeys(got))
	}
	if len(got) == 1 && got[0].Payload != nil {
		t.Errorf("job enqueued without payload: got payload %s, want none", got[0].Payload)
	}
}

func testJobCoalescing(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base.Add(10 * minute)})
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":2}`), RunAt: base.Add(5 * minute)})
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":3}`), RunAt: base.Add(20 * minute)})
	enqueue(t, s, store.Job{Kind: "push", Key: "item:2", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	enqueue(t, s, store.Job{Kind: "pull", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base})

	one := listJobs(t, s, store.JobFilter{Kind: "push", Key: "item:1"})
	if len(one) != 1 {
		t.Fatalf("jobs of push/item:1 after three enqueues: got %d, want 1", len(one))
	}
	want := store.Job{ID: one[0].ID, Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":3}`), State: store.JobPending, RunAt: tracker.Truncate(base.Add(5 * minute))}
	if diff := cmp.Diff(want, one[0], ignoreJobClock); diff != "" {
		t.Errorf("coalesced job: latest payload, earliest RunAt (-want +got):\n%s", diff)
	}
	if all := listJobs(t, s, store.JobFilter{}); len(all) != 3 {
		t.Errorf("jobs in all: got %v, want three (other key and other kind do not coalesce)", jobKeys(all))
	}
}

func testJobPerKeyExclusion(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	first := claim(t, s, store.Claim{Now: base, Lease: 10 * minute, Limit: 10})
	if len(first) != 1 {
		t.Fatalf("first claim: got %d jobs, want 1", len(first))
	}
	// Enqueued while its key runs: a second job, which waits.
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":2}`), RunAt: base})
	enqueue(t, s, store.Job{Kind: "push", Key: "item:2", RunAt: base})
	if n := len(listJobs(t, s, store.JobFilter{Key: "item:1"})); n != 2 {
		t.Fatalf("jobs of item:1: got %d, want 2 (one running, one pending)", n)
	}
	got := claim(t, s, store.Claim{Now: base.Add(minute), Lease: 10 * minute, Limit: 10})
	if diff := cmp.Diff([]string{"push/item:2"}, jobKeys(got)); diff != "" {
		t.Errorf("claim while item:1 runs (-want +got):\n%s", diff)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), first[0].ID, first[0].LeaseToken) })
	got = claim(t, s, store.Claim{Now: base.Add(2 * minute), Lease: 10 * minute, Limit: 10})
	if len(got) != 1 || got[0].Key != "item:1" || string(got[0].Payload) != `{"v":2}` {
		t.Errorf("claim after item:1 finished: got %+v, want the pending item:1 job with payload v2", got)
	}
}

func testJobLeaseTakeover(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", RunAt: base})
	first := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 10})
	if len(first) != 1 {
		t.Fatalf("claim: got %d jobs, want 1", len(first))
	}
	// A job enqueued for the key meanwhile must not run beside the takeover.
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":2}`), RunAt: base})
	for _, now := range []time.Time{base.Add(30 * time.Second), base.Add(minute)} {
		if got := claim(t, s, store.Claim{Now: now, Lease: minute, Limit: 10}); len(got) != 0 {
			t.Errorf("claim at %v, lease until %v: got %v, want none", now, first[0].LeasedTill, jobKeys(got))
		}
	}
	now := base.Add(minute + time.Microsecond)
	took := claim(t, s, store.Claim{Now: now, Lease: minute, Limit: 10})
	if len(took) != 1 {
		t.Fatalf("claim after the lease expired: got %v, want exactly the expired job", jobKeys(took))
	}
	if took[0].ID != first[0].ID || took[0].Attempts != 2 || took[0].LeaseToken == first[0].LeaseToken ||
		!took[0].LeasedTill.Equal(tracker.Truncate(now.Add(minute))) || took[0].State != store.JobRunning {
		t.Errorf("taken over job: got id %d attempts %d till %v state %s (token changed: %v), want id %d attempts 2 till %v running with a new token",
			took[0].ID, took[0].Attempts, took[0].LeasedTill, took[0].State, took[0].LeaseToken != first[0].LeaseToken,
			first[0].ID, tracker.Truncate(now.Add(minute)))
	}
	wantErr(t, "CompleteJob with the lost lease", txErr(t, s, func(tx store.Tx) error {
		return tx.CompleteJob(t.Context(), first[0].ID, first[0].LeaseToken)
	}), tracker.EConflict)
	inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), took[0].ID, took[0].LeaseToken) })
}

// testJobLeaseExtended: a heartbeat keeps a job from being taken over
// past its first lease, and a lost lease cannot be extended back.
func testJobLeaseExtended(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", RunAt: base})
	first := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 10})
	if len(first) != 1 {
		t.Fatalf("claim: got %d jobs, want 1", len(first))
	}
	j := first[0]
	inTx(t, s, func(tx store.Tx) error {
		return tx.ExtendJobLease(t.Context(), j.ID, j.LeaseToken, base.Add(3*minute))
	})
	if got := listJobs(t, s, store.JobFilter{}); len(got) != 1 || !got[0].LeasedTill.Equal(tracker.Truncate(base.Add(3*minute))) || got[0].State != store.JobRunning {
		t.Errorf("after ExtendJobLease: got %+v, want one running job leased till %v", got, base.Add(3*minute))
	}
	if got := claim(t, s, store.Claim{Now: base.Add(2 * minute), Lease: minute, Limit: 10}); len(got) != 0 {
		t.Errorf("claim inside the extended lease: got %v, want none", jobKeys(got))
	}
	took := claim(t, s, store.Claim{Now: base.Add(3*minute + time.Microsecond), Lease: minute, Limit: 10})
	if len(took) != 1 || took[0].ID != j.ID {
		t.Fatalf("claim after the extended lease: got %v, want the job taken over", jobKeys(took))
	}
	wantErr(t, "ExtendJobLease with the lost lease", txErr(t, s, func(tx store.Tx) error {
		return tx.ExtendJobLease(t.Context(), j.ID, j.LeaseToken, base.Add(10*minute))
	}), tracker.EConflict)
	wantErr(t, "ExtendJobLease without an end", txErr(t, s, func(tx store.Tx) error {
		return tx.ExtendJobLease(t.Context(), took[0].ID, took[0].LeaseToken, time.Time{})
	}), tracker.EInvalid)
	if got := listJobs(t, s, store.JobFilter{}); len(got) != 1 || !got[0].LeasedTill.Equal(took[0].LeasedTill) {
		t.Errorf("a refused extension changed the lease: got %+v, want till %v", got, took[0].LeasedTill)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), took[0].ID, took[0].LeaseToken) })
	wantErr(t, "ExtendJobLease of a done job", txErr(t, s, func(tx store.Tx) error {
		return tx.ExtendJobLease(t.Context(), took[0].ID, took[0].LeaseToken, base.Add(10*minute))
	}), tracker.EConflict)
}

func testJobStaleToken(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", RunAt: base})
	got := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 1})
	if len(got) != 1 {
		t.Fatalf("claim: got %d jobs, want 1", len(got))
	}
	j := got[0]
	before := listJobs(t, s, store.JobFilter{})
	attempts := []struct {
		name string
		fn   func(tx store.Tx) error
		kind tracker.ErrorKind
	}{
		{"CompleteJob", func(tx store.Tx) error { return tx.CompleteJob(t.Context(), j.ID, "stale") }, tracker.EConflict},
		{"RetryJob", func(tx store.Tx) error { return tx.RetryJob(t.Context(), j.ID, "stale", base, "x") }, tracker.EConflict},
		{"FailJob", func(tx store.Tx) error { return tx.FailJob(t.Context(), j.ID, "stale", "x") }, tracker.EConflict},
		{"CompleteJob without token", func(tx store.Tx) error { return tx.CompleteJob(t.Context(), j.ID, "") }, tracker.EInvalid},
		{"CompleteJob unknown", func(tx store.Tx) error { return tx.CompleteJob(t.Context(), j.ID+1000, j.LeaseToken) }, tracker.ENotFound},
		{"FailJob unknown", func(tx store.Tx) error { return tx.FailJob(t.Context(), j.ID+1000, j.LeaseToken, "x") }, tracker.ENotFound},
	}
	for _, a := range attempts {
		wantErr(t, a.name, txErr(t, s, a.fn), a.kind)
	}
	if diff := cmp.Diff(before, listJobs(t, s, store.JobFilter{})); diff != "" {
		t.Errorf("jobs after refused calls changed (-before +after):\n%s", diff)
	}
	// Once done, the old token is refused too.
	inTx(t, s, func(tx store.Tx) error { return tx.CompleteJob(t.Context(), j.ID, j.LeaseToken) })
	wantErr(t, "CompleteJob twice", txErr(t, s, func(tx store.Tx) error {
		return tx.CompleteJob(t.Context(), j.ID, j.LeaseToken)
	}), tracker.EConflict)
}

// testJobSnooze: a snoozed job waits like a retried one but gets its
// attempt back, so waiting never makes it fail for good.
func testJobSnooze(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:2", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	for i := range 3 {
		at := base.Add(time.Duration(i) * minute)
		got := claim(t, s, store.Claim{Now: at, Lease: minute, Limit: 1})
		if len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("claim %d: got %+v, want the job at attempt 1", i, got)
		}
		inTx(t, s, func(tx store.Tx) error {
			return tx.SnoozeJob(t.Context(), got[0].ID, got[0].LeaseToken, at.Add(minute), "waiting for the parent")
		})
		if early := claim(t, s, store.Claim{Now: at.Add(minute - time.Second), Lease: minute, Limit: 1}); len(early) != 0 {
			t.Fatalf("claim before the snooze ends: got %v, want none", jobKeys(early))
		}
	}
	jobs := listJobs(t, s, store.JobFilter{Key: "item:2"})
	if len(jobs) != 1 || jobs[0].State != store.JobPending || jobs[0].Attempts != 0 || jobs[0].LastError != "waiting for the parent" {
		t.Fatalf("after three snoozes: got %+v, want one pending job with 0 attempts", jobs)
	}
	wantErr(t, "SnoozeJob with a stale lease", txErr(t, s, func(tx store.Tx) error {
		return tx.SnoozeJob(t.Context(), jobs[0].ID, "stale", base, "x")
	}), tracker.EConflict)
}

func testJobRetryAndFail(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	j := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 1})[0]
	inTx(t, s, func(tx store.Tx) error {
		return tx.RetryJob(t.Context(), j.ID, j.LeaseToken, base.Add(5*minute), "jira answered 503")
	})
	got := listJobs(t, s, store.JobFilter{})
	want := store.Job{ID: j.ID, Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), State: store.JobPending, Attempts: 1,
		RunAt: tracker.Truncate(base.Add(5 * minute)), LastError: "jira answered 503"}
	if diff := cmp.Diff([]store.Job{want}, got, ignoreJobClock); diff != "" {
		t.Errorf("after RetryJob (-want +got):\n%s", diff)
	}
	if early := claim(t, s, store.Claim{Now: base.Add(4 * minute), Lease: minute, Limit: 1}); len(early) != 0 {
		t.Errorf("claim before the retry time: got %v, want none", jobKeys(early))
	}
	again := claim(t, s, store.Claim{Now: base.Add(5 * minute), Lease: minute, Limit: 1})
	if len(again) != 1 || again[0].ID != j.ID || again[0].Attempts != 2 {
		t.Fatalf("claim at the retry time: got %+v, want job %d at attempt 2", again, j.ID)
	}
	long := strings.Repeat("é", store.MaxJobErrorBytes) // two bytes each
	inTx(t, s, func(tx store.Tx) error { return tx.FailJob(t.Context(), j.ID, again[0].LeaseToken, long) })
	failed := listJobs(t, s, store.JobFilter{State: store.JobFailed})
	if len(failed) != 1 || failed[0].ID != j.ID {
		t.Fatalf("failed jobs: got %v, want job %d", jobKeys(failed), j.ID)
	}
	if n := len(failed[0].LastError); n > store.MaxJobErrorBytes || n < store.MaxJobErrorBytes-4 || !strings.HasPrefix(long, failed[0].LastError) {
		t.Errorf("kept error: got %d bytes, want a prefix of the error of at most %d bytes", n, store.MaxJobErrorBytes)
	}
	if later := claim(t, s, store.Claim{Now: base.Add(time.Hour), Lease: minute, Limit: 1}); len(later) != 0 {
		t.Errorf("claim after FailJob: got %v, want none", jobKeys(later))
	}
}

func testJobRetryCoalesces(t *testing.T, s store.Store) {
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":1}`), RunAt: base})
	j := claim(t, s, store.Claim{Now: base, Lease: 10 * minute, Limit: 1})[0]
	enqueue(t, s, store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":2}`), RunAt: base.Add(minute)})
	inTx(t, s, func(tx store.Tx) error {
		return tx.RetryJob(t.Context(), j.ID, j.LeaseToken, base.Add(10*minute), "timeout")
	})
	got := listJobs(t, s, store.JobFilter{Kind: "push", Key: "item:1"})
	want := store.Job{ID: j.ID, Kind: "push", Key: "item:1", Payload: json.RawMessage(`{"v":2}`), State: store.JobPending, Attempts: 1,
		RunAt: tracker.Truncate(base.Add(minute)), LastError: "timeout"}
	if diff := cmp.Diff([]store.Job{want}, got, ignoreJobClock); diff != "" {
		t.Errorf("retry with a newer pending job: one job, newer payload, earlier time (-want +got):\n%s", diff)
	}
}

func testJobKindsFilter(t *testing.T, s store.Store) {
	for _, k := range []string{"push", "pull", "webhook"} {
		enqueue(t, s, store.Job{Kind: k, Key: "x", RunAt: base})
	}
	got := claim(t, s, store.Claim{Kinds: []string{"pull", "webhook"}, Now: base, Lease: minute, Limit: 10})
	keys := jobKeys(got)
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"pull/x", "webhook/x"}, keys); diff != "" {
		t.Errorf("claim of two kinds (-want +got):\n%s", diff)
	}
	rest := claim(t, s, store.Claim{Now: base, Lease: minute, Limit: 10})
	if diff := cmp.Diff([]string{"push/x"}, jobKeys(rest)); diff != "" {
		t.Errorf("claim of all kinds afterwards (-want +got):\n%s", diff)
	}
}

func testListJobs(t *testing.T, s store.Store) {
	for i := range 6 {
		kind := []string{"push", "pull"}[i%2]
		enqueue(t, s, store.Job{Kind: kind, Key: fmt.Sprintf("item:%d", i), RunAt: base.Add(time.Duration(i) * time.Second)})
	}
	all := listJobs(t, s, store.JobFilter{})
	if len(all) != 6 {
		t.Fatalf("ListJobs: got %d jobs, want 6", len(all))
	}
	wantKeys := []string{"pull/item:5", "push/item:4", "pull/item:3", "push/item:2", "pull/item:1", "push/item:0"}
	if diff := cmp.Diff(wantKeys, jobKeys(all)); diff != "" {
		t.Errorf("ListJobs newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pull/item:5", "pull/item:3"}, jobKeys(listJobs(t, s, store.JobFilter{Kind: "pull", Limit: 2}))); diff != "" {
		t.Errorf("ListJobs kind=pull limit 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"push/item:2"}, jobKeys(listJobs(t, s, store.JobFilter{Key: "item:2"}))); diff != "" {
		t.Errorf("ListJobs key=item:2 (-want +got):\n%s", diff)
	}
	claim(t, s, store.Claim{Now: base.Add(time.Second), Lease: minute, Limit: 10}) // item:0 and item:1
	running := listJobs(t, s, store.JobFilter{State: store.JobRunning})
	if diff := cmp.Diff([]string{"pull/item:1", "push/item:0"}, jobKeys(running)); diff != "" {
		t.Errorf("ListJobs state=running (-want +got):\n%s", diff)
	}
	wantErr(t, "ListJobs with unknown state", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListJobs(t.Context(), store.JobFilter{State: "sleeping"})
		return err
	}), tracker.EInvalid, "sleeping")
}

func testJobBadInput(t *testing.T, s store.Store) {
	cases := []struct {
		name string
		j    store.Job
		kind tracker.ErrorKind
	}{
		{"no kind", store.Job{Key: "k"}, tracker.EInvalid},
		{"no key", store.Job{Kind: "push"}, tracker.EInvalid},
		{"payload not JSON", store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`{"a":`)}, tracker.EInvalid},
		{"payload too large", store.Job{Kind: "push", Key: "k", Payload: json.RawMessage(`"` + strings.Repeat("a", store.MaxJobPayloadBytes) + `"`)}, tracker.ETooLarge},
	}
	for _, c := range cases {
		wantErr(t, "Enqueue "+c.name, txErr(t, s, func(tx store.Tx) error { return tx.Enqueue(t.Context(), c.j) }), c.kind)
	}
	if jobs := listJobs(t, s, store.JobFilter{}); len(jobs) != 0 {
		t.Errorf("jobs after refused enqueues: got %v, want none", jobKeys(jobs))
	}
	claims := []struct {
		name string
		c    store.Claim
	}{
		{"no time", store.Claim{Lease: minute, Limit: 1}},
		{"no lease", store.Claim{Now: base, Limit: 1}},
		{"no limit", store.Claim{Now: base, Lease: minute}},
		{"huge limit", store.Claim{Now: base, Lease: minute, Limit: store.MaxClaim + 1}},
	}
	for _, c := range claims {
		wantErr(t, "ClaimJobs "+c.name, txErr(t, s, func(tx store.Tx) error {
			_, err := tx.ClaimJobs(t.Context(), c.c)
			return err
		}), tracker.EInvalid)
	}
}

// runClaimers has workers claim (in batches of batch) until a claim comes
// back empty, and returns every job each worker got.
func runClaimers(t *testing.T, s store.Store, workers, batch int, now time.Time) [][]store.Job {
	t.Helper()
	got := make([][]store.Job, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var jobs []store.Job
				err := s.InTx(t.Context(), func(tx store.Tx) error {
					var err error
					jobs, err = tx.ClaimJobs(t.Context(), store.Claim{Now: now, Lease: time.Hour, Limit: batch})
					return err
				})
				if err != nil {
					errs[w] = err
					return
				}
				if len(jobs) == 0 {
					return
				}
				got[w] = append(got[w], jobs...)
			}
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("claimer %d: %v", w, err)
		}
	}
	return got
}

func testConcurrentClaims(t *testing.T, s store.Store) {
	const n = 150
	inTx(t, s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: fmt.Sprintf("item:%d", i), RunAt: base}); err != nil {
				return err
			}
		}
		return nil
	})
	got := runClaimers(t, s, 6, 4, base)
	seen := map[int64]int{}
	for w, jobs := range got {
		for _, j := range jobs {
			if other, dup := seen[j.ID]; dup {
				t.Errorf("job %d handed to workers %d and %d", j.ID, other, w)
			}
			seen[j.ID] = w
		}
	}
	if len(seen) != n {
		t.Errorf("distinct jobs claimed: got %d, want %d", len(seen), n)
	}
	if pending := listJobs(t, s, store.JobFilter{State: store.JobPending}); len(pending) != 0 {
		t.Errorf("pending jobs left: got %d, want 0", len(pending))
	}
}

func testConcurrentTakeovers(t *testing.T, s store.Store) {
	// Each key has a running job whose lease expired and a pending job:
	// however many workers race, each key is handed out once, and it is
	// the expired job that is taken over.
	const keys = 40
	inTx(t, s, func(tx store.Tx) error {
		for i := range keys {
			if err := tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: fmt.Sprintf("item:%d", i), RunAt: base}); err != nil {
				return err
			}
		}
		return nil
	})
	running := map[int64]bool{}
	for _, j := range claim(t, s, store.Claim{Now: base, Lease: minute, Limit: keys}) {
		running[j.ID] = true
	}
	if len(running) != keys {
		t.Fatalf("first claim: got %d jobs, want %d", len(running), keys)
	}
	inTx(t, s, func(tx store.Tx) error {
		for i := range keys {
			if err := tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: fmt.Sprintf("item:%d", i), RunAt: base}); err != nil {
				return err
			}
		}
		return nil
	})
	got := runClaimers(t, s, 6, 3, base.Add(2*minute))
	byKey := map[string]int64{}
	for _, jobs := range got {
		for _, j := range jobs {
			if prev, dup := byKey[j.Key]; dup {
				t.Errorf("key %s handed out twice: jobs %d and %d", j.Key, prev, j.ID)
			}
			byKey[j.Key] = j.ID
			if !running[j.ID] {
				t.Errorf("key %s: claimed pending job %d while its expired job still runs", j.Key, j.ID)
			}
		}
	}
	if len(byKey) != keys {
		t.Errorf("keys taken over: got %d, want %d", len(byKey), keys)
	}
}

// errBoom is what the rollback tests' transactions fail with.
var errBoom = errors.New("boom")

func testInTxRollback(t *testing.T, s store.Store) {
	tg := tracker.Target{ID: newID(), Name: "ephemeral"}
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTarget(t.Context(), tg); err != nil {
			return err
		}
		if _, err := tx.GetTarget(t.Context(), tg.ID); err != nil {
			t.Errorf("GetTarget inside the transaction: %v", err)
		}
		return fmt.Errorf("handler: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("InTx: got %v, want the function's error", err)
	}
	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetTarget(t.Context(), tg.ID); tracker.KindOf(err) != tracker.ENotFound {
			t.Errorf("target after rollback: got %v, want not found", err)
		}
		list, err := tx.ListTargets(t.Context())
		if err != nil || len(list) != 0 {
			t.Errorf("targets after rollback: got %d, %v; want none", len(list), err)
		}
		return nil
	})
	// A domain error keeps its kind through InTx.
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		_, err := tx.GetTarget(t.Context(), "nope")
		return err
	})
	wantErr(t, "InTx returning a not-found", err, tracker.ENotFound, "nope")
}

func testItemJobAtomicity(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	it, hist := build(t, tg.ID, vuln("atomic"), nil, base)
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateItem(t.Context(), it, hist); err != nil {
			return err
		}
		if err := tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: "item:" + it.ID, RunAt: base}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	_, err = getItem(t, s, it.ID)
	wantErr(t, "item after rollback", err, tracker.ENotFound, it.ID)
	if jobs := listJobs(t, s, store.JobFilter{}); len(jobs) != 0 {
		t.Errorf("jobs after rollback: got %v, want none", jobKeys(jobs))
	}
	wantErr(t, "history after rollback", s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListHistory(t.Context(), it.ID)
		return err
	}), tracker.ENotFound)

	// The same work committed leaves both.
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateItem(t.Context(), it, hist); err != nil {
			return err
		}
		return tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: "item:" + it.ID, RunAt: base})
	})
	if _, err := getItem(t, s, it.ID); err != nil {
		t.Errorf("item after commit: %v", err)
	}
	if jobs := listJobs(t, s, store.JobFilter{}); len(jobs) != 1 {
		t.Errorf("jobs after commit: got %d, want 1", len(jobs))
	}
}

func testView(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetTarget(t.Context(), tg.ID)
		if err != nil || got.Name != "web" {
			t.Errorf("GetTarget in View: got %+v, %v; want the committed target", got, err)
		}
		return nil
	})
	// View is read-only: a write inside it fails and leaves nothing.
	other := tracker.Target{ID: newID(), Name: "sneaky"}
	err := s.View(t.Context(), func(tx store.Tx) error { return tx.CreateTarget(t.Context(), other) })
	if err == nil {
		t.Errorf("CreateTarget inside View: got no error, want one")
	}
	err = s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.GetTarget(t.Context(), other.ID)
		return err
	})
	wantErr(t, "target written in View", err, tracker.ENotFound)
	// Failures of fn come back unchanged.
	if err := s.View(t.Context(), func(store.Tx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("View: got %v, want the function's error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.View(ctx, func(store.Tx) error { return nil }); err == nil {
		t.Errorf("View with a cancelled context: got no error, want one")
	}
}

// listComments reads an item's comments in one read transaction.
func listComments(t *testing.T, s store.Store, itemID string) []tracker.Comment {
	t.Helper()
	var out []tracker.Comment
	view(t, s, func(tx store.Tx) error {
		var err error
		out, err = tx.ListComments(t.Context(), itemID)
		return err
	})
	return out
}
