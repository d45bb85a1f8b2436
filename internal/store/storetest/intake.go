package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// intakeTests cover IntakeTx and the item columns scanner imports rely on.
var intakeTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"ItemFingerprints", testItemFingerprints},
	{"Imports", testImports},
	{"SLAPolicies", testSLAPolicies},
	{"OverdueFilter", testOverdueFilter},
}

func createFingerprinted(t *testing.T, s store.Store, targetID, fp, scanner string, n tracker.NewItem, parent *tracker.Item) (tracker.Item, error) {
	t.Helper()
	it, hist := build(t, targetID, n, parent, base)
	it.Fingerprint, it.Scanner = fp, scanner
	err := s.InTx(t.Context(), func(tx store.Tx) error { return tx.CreateItem(t.Context(), it, hist) })
	return it, err
}

// testItemFingerprints: fingerprint and scanner round-trip, are unique per
// target among live items only, and ItemFingerprints lists exactly the
// live fingerprinted items.
func testItemFingerprints(t *testing.T, s store.Store) {
	a, b := createTarget(t, s, "a"), createTarget(t, s, "b")
	v, err := createFingerprinted(t, s, a.ID, "fp-vuln", "gosec", vuln("G101"), nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	f, err := createFingerprinted(t, s, a.ID, "fp-finding", "gosec", tracker.NewItem{Kind: tracker.KindFinding, Title: "at main.go:3", Severity: tracker.SeverityHigh, ParentID: v.ID}, &v)
	if err != nil {
		t.Fatalf("create finding: %v", err)
	}
	createItem(t, s, a.ID, vuln("by hand"), nil, base)
	got, err := getItem(t, s, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint != "fp-finding" || got.Scanner != "gosec" {
		t.Errorf("read back fingerprint %q, scanner %q", got.Fingerprint, got.Scanner)
	}
	_, err = createFingerprinted(t, s, a.ID, "fp-vuln", "zap", vuln("again"), nil)
	wantErr(t, "a second live item with one fingerprint in one target", err, tracker.EConflict, "fingerprint")
	if _, err := createFingerprinted(t, s, b.ID, "fp-vuln", "gosec", vuln("G101"), nil); err != nil {
		t.Errorf("the same fingerprint in another target: %v", err)
	}
	var refs []store.FingerprintRef
	view(t, s, func(tx store.Tx) error {
		var err error
		refs, err = tx.ItemFingerprints(t.Context(), a.ID)
		return err
	})
	want := []store.FingerprintRef{
		{ItemID: v.ID, Fingerprint: "fp-vuln", Scanner: "gosec", Kind: tracker.KindVulnerability, Status: tracker.StatusOpen},
		{ItemID: f.ID, Fingerprint: "fp-finding", Scanner: "gosec", Kind: tracker.KindFinding, ParentID: v.ID, Status: tracker.StatusOpen},
	}
	if d := cmp.Diff(want, refs); d != "" {
		t.Errorf("ItemFingerprints (-want +got):\n%s", d)
	}
	// A deleted item frees its fingerprint and leaves the list.
	inTx(t, s, func(tx store.Tx) error {
		return tx.DeleteItem(t.Context(), f.ID, tracker.HistoryEntry{Field: "deleted", Old: "false", New: "true", Actor: "a", Origin: tracker.OriginVulnsync, At: base})
	})
	if _, err := createFingerprinted(t, s, a.ID, "fp-finding", "gosec", tracker.NewItem{Kind: tracker.KindFinding, Title: "again", Severity: tracker.SeverityHigh, ParentID: v.ID}, &v); err != nil {
		t.Errorf("reusing a deleted item's fingerprint: %v", err)
	}
	err = s.View(t.Context(), func(tx store.Tx) error { _, err := tx.ItemFingerprints(t.Context(), "nope"); return err })
	wantErr(t, "fingerprints of an unknown target", err, tracker.ENotFound)
}

// testImports: records round-trip, list newest first per target, limits.
func testImports(t *testing.T, s store.Store) {
	a, b := createTarget(t, s, "a"), createTarget(t, s, "b")
	var made []tracker.Import
	for i := range 3 {
		im := tracker.Import{ID: newID(), TargetID: a.ID, Format: "sarif", Scanner: "gosec", Filename: "gosec.sarif",
			SHA256: "ab12", Size: int64(100 + i), Actor: "alice", CloseMissing: i == 1, Findings: 11,
			ImportCounts: tracker.ImportCounts{Created: 3, Updated: i, Reopened: 1, Closed: 2, Unchanged: 5},
			CreatedAt:    tracker.Truncate(base.Add(time.Duration(i) * time.Minute))}
		inTx(t, s, func(tx store.Tx) error { return tx.CreateImport(t.Context(), im) })
		made = append(made, im)
	}
	inTx(t, s, func(tx store.Tx) error {
		return tx.CreateImport(t.Context(), tracker.Import{ID: newID(), TargetID: b.ID, Format: "csv", Scanner: "csv", CreatedAt: base})
	})
	var got, two []tracker.Import
	view(t, s, func(tx store.Tx) error {
		var err error
		if got, err = tx.ListImports(t.Context(), a.ID, "", 0); err != nil {
			return err
		}
		two, err = tx.ListImports(t.Context(), a.ID, "", 2)
		return err
	})
	var rest []tracker.Import
	view(t, s, func(tx store.Tx) error {
		var err error
		rest, err = tx.ListImports(t.Context(), a.ID, made[1].ID, 2)
		return err
	})
	if len(rest) != 1 || rest[0].ID != made[0].ID {
		t.Errorf("ListImports after the second page's last id: %+v, want the oldest only", rest)
	}
	want := []tracker.Import{made[2], made[1], made[0]}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListImports (-want +got):\n%s", d)
	}
	if len(two) != 2 || two[0].ID != made[2].ID {
		t.Errorf("ListImports with limit 2 gave %d records", len(two))
	}
	wantErr(t, "duplicate import id", txErr(t, s, func(tx store.Tx) error { return tx.CreateImport(t.Context(), made[0]) }), tracker.EConflict)
	wantErr(t, "import into an unknown target", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateImport(t.Context(), tracker.Import{ID: newID(), TargetID: "nope", CreatedAt: base})
	}), tracker.ENotFound)
}

// testSLAPolicies: none until set; set, replace, validate.
func testSLAPolicies(t *testing.T, s store.Store) {
	a := createTarget(t, s, "a")
	get := func() (tracker.SLA, error) {
		var sla tracker.SLA
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			sla, err = tx.GetSLA(t.Context(), a.ID)
			return err
		})
		return sla, err
	}
	_, err := get()
	wantErr(t, "SLA of a target without one", err, tracker.ENotFound)
	custom := tracker.DefaultSLA()
	three := 3
	custom.Critical, custom.Info = &three, &three
	inTx(t, s, func(tx store.Tx) error { return tx.PutSLA(t.Context(), a.ID, custom) })
	got, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(custom, got); d != "" {
		t.Errorf("SLA read back (-want +got):\n%s", d)
	}
	custom.Info, custom.Low = nil, nil
	inTx(t, s, func(tx store.Tx) error { return tx.PutSLA(t.Context(), a.ID, custom) })
	if got, _ := get(); got.Info != nil || got.Low != nil || *got.Critical != 3 {
		t.Errorf("replaced SLA read back as %+v", got)
	}
	zero := 0
	wantErr(t, "an SLA of zero days", txErr(t, s, func(tx store.Tx) error {
		return tx.PutSLA(t.Context(), a.ID, tracker.SLA{High: &zero})
	}), tracker.EInvalid, "high")
	wantErr(t, "an SLA for an unknown target", txErr(t, s, func(tx store.Tx) error {
		return tx.PutSLA(t.Context(), "nope", tracker.DefaultSLA())
	}), tracker.ENotFound)
}

// testOverdueFilter: OverdueOn keeps open and in-progress items due
// before the date, following due date and status changes.
func testOverdueFilter(t *testing.T, s store.Store) {
	a := createTarget(t, s, "a")
	mk := func(title, due string) tracker.Item {
		n := vuln(title)
		if due != "" {
			n.Fields = map[string]any{"due_date": due}
		}
		return createItem(t, s, a.ID, n, nil, base)
	}
	late := mk("late", "2025-01-10")
	onTime := mk("due today", "2025-01-15")
	mk("no due date", "")
	done := mk("late but resolved", "2025-01-01")
	resolved := tracker.StatusResolved
	update := func(it tracker.Item, p tracker.Patch) {
		prev := it.Version
		hist, err := cat.Apply(&it, p, change(base.Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), it, prev, hist) })
	}
	update(done, tracker.Patch{Status: &resolved})
	overdue := func() []string {
		ids, _ := pageAll(t, s, store.ItemFilter{TargetID: a.ID, OverdueOn: "2025-01-15"})
		return ids
	}
	if d := cmp.Diff([]string{late.ID}, overdue()); d != "" {
		t.Errorf("overdue on 2025-01-15 (-want +got):\n%s", d)
	}
	update(onTime, tracker.Patch{Fields: map[string]any{"due_date": "2025-01-14"}})
	update(late, tracker.Patch{Fields: map[string]any{"due_date": nil}})
	if d := cmp.Diff([]string{onTime.ID}, overdue()); d != "" {
		t.Errorf("overdue after the due dates changed (-want +got):\n%s", d)
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: a.ID, OverdueOn: "15/01/2025"})
		return err
	})
	wantErr(t, "an overdue date that is no date", err, tracker.EInvalid, "YYYY-MM-DD")
}
