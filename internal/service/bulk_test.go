package service_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A bulk edit is one UpdateItem per item: each change emits the event the
// sync follows, an item already so emits nothing, a repeated id counts
// once, and one refusal does not stop the rest.
func TestBulkUpdateItems(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	mk := func(title string, s tracker.Status) tracker.Item {
		it, err := f.svc.CreateItem(ctx, service.System, f.target.ID, tracker.NewItem{Kind: tracker.KindRisk, Title: title, Severity: "low", Status: s})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	a, b, done := mk("a", tracker.StatusOpen), mk("b", tracker.StatusOpen), mk("done", tracker.StatusResolved)
	other, err := f.svc.CreateTarget(ctx, tracker.Target{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := f.svc.CreateItem(ctx, service.System, other.ID, tracker.NewItem{Kind: tracker.KindRisk, Title: "x", Severity: "low"})
	if err != nil {
		t.Fatal(err)
	}
	f.events = nil
	resolved := tracker.StatusResolved
	res, err := f.svc.BulkUpdateItems(ctx, service.System, f.target.ID, []string{a.ID, b.ID, a.ID, done.ID, elsewhere.ID, "no-such-item"}, tracker.Patch{Status: &resolved})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		s := r.ItemID + ":ok"
		if r.Err != nil {
			s = r.ItemID + ":" + string(tracker.KindOf(r.Err))
		}
		got = append(got, s)
	}
	want := []string{a.ID + ":ok", b.ID + ":ok", done.ID + ":ok", elsewhere.ID + ":" + string(tracker.EInvalid), "no-such-item:" + string(tracker.ENotFound)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	var updated []string
	for _, ev := range f.events {
		if ev.Type == service.ItemUpdated {
			updated = append(updated, ev.Item.Title)
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, updated); diff != "" {
		t.Errorf("update events (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		ids  []string
		p    tracker.Patch
		part string
	}{
		{nil, tracker.Patch{Status: &resolved}, "select at least one"},
		{[]string{a.ID}, tracker.Patch{}, "choose a status"},
		{make([]string, service.MaxBulkItems+1), tracker.Patch{Status: &resolved}, "at most"},
	} {
		_, err := f.svc.BulkUpdateItems(ctx, service.System, f.target.ID, c.ids, c.p)
		if tracker.KindOf(err) != tracker.EInvalid || !strings.Contains(err.Error(), c.part) {
			t.Errorf("bulk %d ids %+v: %v, want invalid with %q", len(c.ids), c.p, err, c.part)
		}
	}
}
