package service_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

var alice = service.Actor{Name: "alice", Email: "alice@example.test", Role: service.RoleAdmin, Origin: tracker.OriginVulnsync}

type fixture struct {
	svc    *service.Service
	st     store.Store
	target tracker.Target
	now    time.Time
	events []service.Event
	// failAfter, when positive, makes the change hook fail at that event.
	failAfter int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqldb.OpenSQLite(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	f.svc = service.New(service.Config{Store: st, Clock: func() time.Time { return f.now },
		OnChange: func(ctx context.Context, tx store.Tx, ev service.Event) error {
			f.events = append(f.events, ev)
			if f.failAfter > 0 && len(f.events) >= f.failAfter {
				return errors.New("the process dies mid-import")
			}
			return nil
		}})
	f.target, err = f.svc.CreateTarget(t.Context(), tracker.Target{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readReport(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../scanreport/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) imp(t *testing.T, format, file string, body []byte, closeMissing bool) (tracker.Import, error) {
	t.Helper()
	return f.svc.Import(t.Context(), alice, service.ImportRequest{TargetID: f.target.ID, Format: format, Filename: file,
		CloseMissing: closeMissing, Report: bytes.NewReader(body)})
}

func (f *fixture) items(t *testing.T) []tracker.Item {
	t.Helper()
	var out []tracker.Item
	cursor := ""
	for {
		page, err := f.svc.ListItems(t.Context(), store.ItemFilter{TargetID: f.target.ID, Cursor: cursor, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func byTitle(items []tracker.Item, sub string) (tracker.Item, bool) {
	for _, it := range items {
		if strings.Contains(it.Title, sub) {
			return it, true
		}
	}
	return tracker.Item{}, false
}

func counts(im tracker.Import) tracker.ImportCounts { return im.ImportCounts }

// TestImportTwiceCreatesNothingNew: a re-import of the same report
// recognises every item by fingerprint.
func TestImportTwiceCreatesNothingNew(t *testing.T) {
	f := newFixture(t)
	report := readReport(t, "gosec.sarif")
	first, err := f.imp(t, "sarif", "gosec.sarif", report, false)
	if err != nil {
		t.Fatal(err)
	}
	// 10 rules (G104 twice) → 10 vulnerabilities and 11 findings.
	if want := (tracker.ImportCounts{Created: 21}); counts(first) != want {
		t.Errorf("first import counts %+v, want %+v", counts(first), want)
	}
	if first.Scanner != "gosec" || first.Findings != 11 || first.Size != int64(len(report)) || len(first.SHA256) != 64 || first.Actor != "alice@example.test" {
		t.Errorf("import record %+v", first)
	}
	items := f.items(t)
	if len(items) != 21 {
		t.Fatalf("%d items after the first import, want 21", len(items))
	}
	vulns, findings := 0, 0
	for _, it := range items {
		if it.Fingerprint == "" || it.Scanner != "gosec" {
			t.Errorf("item %q has fingerprint %q, scanner %q", it.Title, it.Fingerprint, it.Scanner)
		}
		switch it.Kind {
		case tracker.KindVulnerability:
			vulns++
		case tracker.KindFinding:
			findings++
			if it.ParentID == "" || it.Fields["location"] == nil {
				t.Errorf("finding %q has no parent or location", it.Title)
			}
		}
	}
	if vulns != 10 || findings != 11 {
		t.Errorf("%d vulnerabilities and %d findings, want 10 and 11", vulns, findings)
	}
	sqli, ok := byTitle(items, "G701")
	if !ok || sqli.Kind != tracker.KindVulnerability || sqli.Severity != tracker.SeverityHigh || sqli.Fields["cwe"] != "CWE-89" {
		t.Errorf("the SQL injection vulnerability is %+v", sqli)
	}
	// SLA defaults: high → 30 days from the import.
	if sqli.Fields["due_date"] != "2026-04-01" {
		t.Errorf("high severity due date %v, want 2026-04-01", sqli.Fields["due_date"])
	}

	f.now = f.now.Add(time.Hour)
	second, err := f.imp(t, "sarif", "gosec.sarif", report, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := (tracker.ImportCounts{Unchanged: 21}); counts(second) != want {
		t.Errorf("second import counts %+v, want %+v", counts(second), want)
	}
	if n := len(f.items(t)); n != 21 {
		t.Errorf("%d items after the second import, want 21", n)
	}
	ims, err := f.svc.ListImports(t.Context(), f.target.ID, "", 0)
	if err != nil || len(ims) != 2 || ims[0].ID != second.ID {
		t.Errorf("ListImports = %v, %v", ims, err)
	}
}

// dropResult removes the SARIF result whose ruleId is rule.
func dropResult(t *testing.T, report []byte, rule string) []byte {
	t.Helper()
	s := string(report)
	i := strings.Index(s, `"ruleId": "`+rule+`"`)
	if i < 0 {
		t.Fatalf("no result of %s", rule)
	}
	start := strings.LastIndex(s[:i], "\n\t\t\t\t{")
	end := strings.Index(s[i:], "\n\t\t\t\t}") + i + len("\n\t\t\t\t}")
	cut := s[:start] + s[end:]
	if strings.HasPrefix(s[end:], ",") {
		cut = s[:start] + s[end+1:]
	} else {
		cut = strings.TrimSuffix(s[:start], ",") + s[end:]
	}
	return []byte(cut)
}

// TestCloseMissingAndReopen: a fixed finding is resolved by a full
// re-scan that misses it, with a note, and reopened with a new due date
// when it comes back; false positives are never touched.
func TestCloseMissingAndReopen(t *testing.T) {
	f := newFixture(t)
	report := readReport(t, "gosec.sarif")
	if _, err := f.imp(t, "sarif", "gosec.sarif", report, false); err != nil {
		t.Fatal(err)
	}
	items := f.items(t)
	rnd, _ := byTitle(items, "G404: Use of weak random")
	rndFinding, _ := findChild(items, rnd.ID)
	md5, _ := byTitle(items, "G501")
	md5Finding, _ := findChild(items, md5.ID)
	fp := tracker.StatusFalsePositive
	for _, id := range []string{md5.ID, md5Finding.ID} {
		if _, err := f.svc.UpdateItem(t.Context(), alice, id, tracker.Patch{Status: &fp}); err != nil {
			t.Fatal(err)
		}
	}

	// G404 fixed, G501 (a false positive) also gone from the report.
	fixed := dropResult(t, dropResult(t, report, "G404"), "G501")
	f.now = f.now.AddDate(0, 0, 10)
	im, err := f.imp(t, "sarif", "gosec-fixed.sarif", fixed, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (tracker.ImportCounts{Closed: 2, Unchanged: 17}); counts(im) != want {
		t.Errorf("close_missing import counts %+v, want %+v (the G404 vulnerability and its finding)", counts(im), want)
	}
	for _, id := range []string{rnd.ID, rndFinding.ID} {
		it, _ := f.svc.GetItem(t.Context(), id)
		if it.Status != tracker.StatusResolved {
			t.Errorf("%q is %s after the re-scan that misses it, want resolved", it.Title, it.Status)
		}
	}
	if it, _ := f.svc.GetItem(t.Context(), md5.ID); it.Status != tracker.StatusFalsePositive {
		t.Errorf("the false positive became %s", it.Status)
	}
	cs, err := f.svc.Comments(t.Context(), rndFinding.ID)
	if err != nil || len(cs) != 1 || !strings.Contains(cs[0].Body, "Resolved by import "+im.ID) || !strings.Contains(cs[0].Body, "gosec-fixed.sarif") {
		t.Errorf("note on the resolved finding: %+v, %v", cs, err)
	}

	// Detected again: reopened, new due date (medium: 90 days), history
	// naming the import.
	f.now = f.now.AddDate(0, 0, 10)
	again, err := f.imp(t, "sarif", "gosec.sarif", report, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (tracker.ImportCounts{Reopened: 2, Unchanged: 19}); counts(again) != want {
		t.Errorf("re-detection counts %+v, want %+v", counts(again), want)
	}
	it, _ := f.svc.GetItem(t.Context(), rndFinding.ID)
	wantDue := f.now.AddDate(0, 0, 30).Format(time.DateOnly) // G404 is level error: high
	if it.Status != tracker.StatusOpen || it.Fields["due_date"] != wantDue {
		t.Errorf("reopened finding: status %s, due %v; want open, %s", it.Status, it.Fields["due_date"], wantDue)
	}
	hist, err := f.svc.History(t.Context(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	var statusRow *tracker.HistoryEntry
	for i := range hist {
		if hist[i].Field == "status" && hist[i].New == `"open"` && hist[i].Old == `"resolved"` {
			statusRow = &hist[i]
		}
	}
	if statusRow == nil || !strings.Contains(statusRow.Actor, "import "+again.ID) {
		t.Errorf("no history row names the reopening import %s (last row %+v)", again.ID, last)
	}
}

func findChild(items []tracker.Item, parent string) (tracker.Item, bool) {
	for _, it := range items {
		if it.ParentID == parent {
			return it, true
		}
	}
	return tracker.Item{}, false
}

// TestCloseMissingOnlyClosesItsScanner: a full re-scan by one scanner
// leaves other scanners' items alone.
func TestCloseMissingOnlyClosesItsScanner(t *testing.T) {
	f := newFixture(t)
	if _, err := f.imp(t, "sarif", "gosec.sarif", readReport(t, "gosec.sarif"), false); err != nil {
		t.Fatal(err)
	}
	im, err := f.imp(t, "sarif", "staticcheck.sarif", readReport(t, "staticcheck.sarif"), true)
	if err != nil {
		t.Fatal(err)
	}
	if im.Closed != 0 || im.Created != 4 {
		t.Errorf("staticcheck import with close_missing: %+v, want 4 created and nothing closed", im.ImportCounts)
	}
}

// TestImportIsAllOrNothing: a malformed report, and a failure in the
// middle of applying a good one, leave the target as it was.
func TestImportIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	report := readReport(t, "gosec.sarif")
	_, err := f.imp(t, "sarif", "cut.sarif", report[:len(report)/2], false)
	var e *tracker.Error
	if !errors.As(err, &e) || e.Kind != tracker.EUnprocessable || !strings.Contains(e.Fields["file"], "line ") {
		t.Fatalf("truncated report: %v", err)
	}
	f.failAfter = 7
	if _, err := f.imp(t, "sarif", "gosec.sarif", report, false); err == nil {
		t.Fatal("an import whose transaction fails halfway reported success")
	}
	if n := len(f.items(t)); n != 0 {
		t.Errorf("%d items after a failed import, want 0", n)
	}
	if ims, _ := f.svc.ListImports(t.Context(), f.target.ID, "", 0); len(ims) != 0 {
		t.Errorf("%d import records after failed imports, want 0", len(ims))
	}
	_, err = f.imp(t, "burp", "x.xml", []byte("<xml/>"), false)
	if tracker.KindOf(err) != tracker.EUnprocessable {
		t.Errorf("unknown format: %v", err)
	}
}

// TestImportEveryFormat imports each format's test report and checks the
// SLA, CVSS and severity rules on what it created.
func TestImportEveryFormat(t *testing.T) {
	for _, c := range []struct {
		format, file string
		items        int
	}{
		{"zap", "zap.json", 7}, {"nuclei", "nuclei.jsonl", 7}, {"trivy", "trivy.json", 9}, {"csv", "findings.csv", 7}, {"sarif", "eslint.sarif", 11},
	} {
		t.Run(c.format, func(t *testing.T) {
			f := newFixture(t)
			im, err := f.imp(t, c.format, c.file, readReport(t, c.file), false)
			if err != nil {
				t.Fatal(err)
			}
			if im.Created != c.items || len(f.items(t)) != c.items {
				t.Errorf("created %d items, want %d", im.Created, c.items)
			}
			for _, it := range f.items(t) {
				due, has := it.Fields["due_date"]
				if (it.Severity == tracker.SeverityInfo) == has {
					t.Errorf("%s item %q has due date %v", it.Severity, it.Title, due)
				}
			}
		})
	}
	f := newFixture(t)
	if _, err := f.imp(t, "nuclei", "nuclei.jsonl", readReport(t, "nuclei.jsonl"), false); err != nil {
		t.Fatal(err)
	}
	log4j, _ := byTitle(f.items(t), "Log4j2")
	if log4j.Severity != tracker.SeverityCritical || log4j.Fields["cvss_score"] != 10.0 || log4j.Fields["due_date"] != "2026-03-09" {
		t.Errorf("log4j vulnerability: %s %v", log4j.Severity, log4j.Fields)
	}
}

// TestAPIVectorsAreScored: a vector set through the service is checked
// and scored; an invalid one is a field error.
func TestAPIVectorsAreScored(t *testing.T) {
	f := newFixture(t)
	it, err := f.svc.CreateItem(t.Context(), alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "x",
		Severity: tracker.SeverityHigh, Fields: map[string]any{"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}})
	if err != nil {
		t.Fatal(err)
	}
	if it.Fields["cvss_score"] != 9.8 {
		t.Errorf("score %v, want 9.8", it.Fields["cvss_score"])
	}
	_, err = f.svc.UpdateItem(t.Context(), alice, it.ID, tracker.Patch{Fields: map[string]any{"cvss_vector": "CVSS:3.1/AV:Z"}})
	var e *tracker.Error
	if !errors.As(err, &e) || e.Kind != tracker.EInvalid || e.Fields["fields.cvss_vector"] == "" {
		t.Errorf("invalid vector: %v", err)
	}
}

// TestSLAPolicy: a target's own policy replaces the defaults for new items.
func TestSLAPolicy(t *testing.T) {
	f := newFixture(t)
	sla, custom, err := f.svc.SLA(t.Context(), f.target.ID)
	if err != nil || custom || *sla.Critical != 7 || *sla.Low != 180 || sla.Info != nil {
		t.Fatalf("default SLA %+v custom=%v err=%v", sla, custom, err)
	}
	two := 2
	if _, err := f.svc.SetSLA(t.Context(), f.target.ID, tracker.SLA{High: &two}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.imp(t, "sarif", "gosec.sarif", readReport(t, "gosec.sarif"), false); err != nil {
		t.Fatal(err)
	}
	for _, it := range f.items(t) {
		due, _ := it.Fields["due_date"].(string)
		switch {
		case it.Severity == tracker.SeverityHigh && due != "2026-03-04":
			t.Errorf("high item %q due %q, want 2026-03-04", it.Title, due)
		case it.Severity != tracker.SeverityHigh && due != "":
			t.Errorf("%s item %q due %q, want none", it.Severity, it.Title, due)
		}
	}
	overdue, err := f.svc.ListItems(t.Context(), store.ItemFilter{TargetID: f.target.ID, OverdueOn: "2026-03-05"})
	if err != nil || len(overdue.Items) == 0 {
		t.Errorf("no overdue items on 2026-03-05: %v", err)
	}
}
