package service_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func (f *fixture) setStatus(t *testing.T, id string, st tracker.Status) {
	t.Helper()
	if _, err := f.svc.UpdateItem(t.Context(), alice, id, tracker.Patch{Status: &st}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) lastComment(t *testing.T, id string) string {
	t.Helper()
	cs, err := f.svc.Comments(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].Body
}

// TestRetestVerdicts: an analyst's pass resolves a fixed item, a fail
// reopens it, each with the evidence as a comment; an item not awaiting a
// retest, or a verdict without evidence or with an unknown result, is
// refused and changes nothing.
func TestRetestVerdicts(t *testing.T) {
	f := newFixture(t)
	mk := func(title string) tracker.Item {
		it, err := f.svc.CreateItem(t.Context(), alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: title, Severity: tracker.SeverityHigh})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	pass, fail, open := mk("XSS in search"), mk("SQLi in login"), mk("Open redirect")
	f.setStatus(t, pass.ID, tracker.StatusFixed)
	f.setStatus(t, fail.ID, tracker.StatusFixed)

	refused := []struct {
		name string
		id   string
		v    tracker.Retest
		kind tracker.ErrorKind
	}{
		{"not awaiting a retest", open.ID, tracker.Retest{Result: tracker.RetestPass, Evidence: "curl shows it escaped"}, tracker.EConflict},
		{"no evidence", pass.ID, tracker.Retest{Result: tracker.RetestPass, Evidence: "  "}, tracker.EInvalid},
		{"unknown result", pass.ID, tracker.Retest{Result: "maybe", Evidence: "looked at it"}, tracker.EInvalid},
		{"no such item", "nope", tracker.Retest{Result: tracker.RetestPass, Evidence: "x"}, tracker.ENotFound},
	}
	for _, c := range refused {
		before := len(f.events)
		if _, err := f.svc.Retest(t.Context(), alice, c.id, c.v); tracker.KindOf(err) != c.kind {
			t.Errorf("%s: error %v, want kind %s", c.name, err, c.kind)
		}
		if len(f.events) != before {
			t.Errorf("%s: a refused retest changed something (%d events)", c.name, len(f.events)-before)
		}
	}

	got, err := f.svc.Retest(t.Context(), alice, pass.ID, tracker.Retest{Result: tracker.RetestPass, Evidence: "payload is escaped now"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tracker.StatusResolved {
		t.Errorf("passed retest: %s, want resolved", got.Status)
	}
	if c := f.lastComment(t, pass.ID); !strings.Contains(c, "Retest passed") || !strings.Contains(c, "payload is escaped now") {
		t.Errorf("comment of the passed retest: %q", c)
	}

	got, err = f.svc.Retest(t.Context(), alice, fail.ID, tracker.Retest{Result: tracker.RetestFail, Evidence: "' OR 1=1 still logs in"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tracker.StatusOpen {
		t.Errorf("failed retest: %s, want open", got.Status)
	}
	if c := f.lastComment(t, fail.ID); !strings.Contains(c, "Retest failed") || !strings.Contains(c, "' OR 1=1 still logs in") {
		t.Errorf("comment of the failed retest: %q", c)
	}
	// The status change and the comment are announced together (the sync
	// pushes both).
	var types []service.EventType
	for _, ev := range f.events[len(f.events)-2:] {
		types = append(types, ev.Type)
	}
	if diff := cmp.Diff([]service.EventType{service.ItemUpdated, service.CommentCreated}, types); diff != "" {
		t.Errorf("events of a retest (-want +got):\n%s", diff)
	}
}

// TestImportIsTheRetest: a fixed item that a re-import still finds is
// reopened (the retest failed); one a full re-scan no longer finds is
// resolved (it passed); each says so in a comment.
func TestImportIsTheRetest(t *testing.T) {
	f := newFixture(t)
	report := readReport(t, "gosec.sarif")
	if _, err := f.imp(t, "sarif", "gosec.sarif", report, false); err != nil {
		t.Fatal(err)
	}
	items := f.items(t)
	rnd, _ := byTitle(items, "G404: Use of weak random")
	md5, _ := byTitle(items, "G501")
	f.setStatus(t, rnd.ID, tracker.StatusFixed)
	f.setStatus(t, md5.ID, tracker.StatusFixed)

	im, err := f.imp(t, "sarif", "gosec-rescan.sarif", dropResult(t, report, "G404"), true)
	if err != nil {
		t.Fatal(err)
	}
	if im.Reopened != 1 || im.Closed != 2 {
		t.Errorf("re-scan counts %+v, want 1 reopened (G501) and 2 closed (G404 and its finding)", im.ImportCounts)
	}
	for _, c := range []struct {
		id, status, says string
	}{
		{rnd.ID, "resolved", "Retest passed"},
		{md5.ID, "open", "Retest failed"},
	} {
		it, _ := f.svc.GetItem(t.Context(), c.id)
		if string(it.Status) != c.status {
			t.Errorf("%q is %s after the re-scan, want %s", it.Title, it.Status, c.status)
		}
		if body := f.lastComment(t, c.id); !strings.Contains(body, c.says) || !strings.Contains(body, im.ID) {
			t.Errorf("%q: comment %q, want it to say %q and name import %s", it.Title, body, c.says, im.ID)
		}
	}
}
