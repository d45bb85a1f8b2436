package tracker

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC)

func build(t *testing.T, c Catalog, n NewItem, parent *Item) (Item, []HistoryEntry) {
	t.Helper()
	it, hist, err := c.Build("target-1", "item-1", n, parent, Change{Actor: "ana@example.test", Origin: OriginVulnsync, At: t0})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return it, hist
}

func TestBuildRecordsEveryAttribute(t *testing.T) {
	c := NewCatalog(nil, nil)
	it, hist := build(t, c, NewItem{Kind: KindVulnerability, Title: "  XSS in search ", Severity: SeverityHigh,
		Fields: map[string]any{"cvss_score": 7.1, "labels": []any{"web", "web", "xss"}}}, nil)
	if it.Title != "XSS in search" || it.Status != StatusOpen || it.Version != 1 {
		t.Fatalf("item: got title %q status %q version %d", it.Title, it.Status, it.Version)
	}
	if diff := cmp.Diff([]string{"web", "xss"}, it.Fields["labels"]); diff != "" {
		t.Errorf("labels deduplicated (-want +got):\n%s", diff)
	}
	var fields []string
	for _, h := range hist {
		fields = append(fields, h.Field)
		if !h.At.Equal(Truncate(t0)) || h.Origin != OriginVulnsync || h.Actor != "ana@example.test" {
			t.Errorf("history row %+v: wrong time, origin or actor", h)
		}
	}
	if diff := cmp.Diff([]string{"title", "severity", "status", "cvss_score", "labels"}, fields); diff != "" {
		t.Errorf("history fields (-want +got):\n%s", diff)
	}
	for _, f := range fields {
		if !it.FieldTimes[f].Equal(Truncate(t0)) {
			t.Errorf("field time of %s: got %v", f, it.FieldTimes[f])
		}
	}
	if it.FieldTimes["title"].Nanosecond()%1000 != 0 {
		t.Errorf("field time not truncated to microseconds: %v", it.FieldTimes["title"])
	}
}

func TestApplyOnlyRecordsRealChanges(t *testing.T) {
	c := NewCatalog(nil, nil)
	it, _ := build(t, c, NewItem{Kind: KindVulnerability, Title: "XSS", Severity: SeverityHigh, Fields: map[string]any{"cwe": "CWE-79"}}, nil)
	t1 := t0.Add(time.Hour)
	same, crit := "XSS", SeverityCritical
	hist, err := c.Apply(&it, Patch{Title: &same, Severity: &crit, Fields: map[string]any{"cwe": nil, "cvss_score": 9.0}},
		Change{Actor: "jira:dev", Origin: OriginJira, At: t1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, h := range hist {
		got[h.Field] = [2]string{h.Old, h.New}
	}
	want := map[string][2]string{"severity": {`"high"`, `"critical"`}, "cwe": {`"CWE-79"`, ""}, "cvss_score": {"", "9"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("history (-want +got):\n%s", diff)
	}
	if !it.FieldTimes["severity"].Equal(Truncate(t1)) || !it.FieldTimes["title"].Equal(Truncate(t0)) {
		t.Errorf("field times: severity %v (want %v), title %v (want unchanged %v)", it.FieldTimes["severity"], t1, it.FieldTimes["title"], t0)
	}
	if _, ok := it.Fields["cwe"]; ok || it.Version != 2 || !it.UpdatedAt.Equal(Truncate(t1)) {
		t.Errorf("after apply: fields %v version %d updated %v", it.Fields, it.Version, it.UpdatedAt)
	}
	// A no-op patch changes nothing at all.
	before := it
	hist, err = c.Apply(&it, Patch{Title: &same}, Change{Actor: "x", Origin: OriginVulnsync, At: t1.Add(time.Hour)})
	if err != nil || len(hist) != 0 || it.Version != before.Version || !it.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("no-op patch: hist %v err %v version %d", hist, err, it.Version)
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	c := NewCatalog([]KindDef{{Name: "pentest_note", Statuses: []Status{StatusOpen, StatusResolved}}},
		[]FieldDef{{Name: "env", Type: TypeSelect, Options: []string{"prod", "staging"}}})
	other := Item{ID: "v2", TargetID: "target-2", Kind: KindVulnerability}
	risk := Item{ID: "r1", TargetID: "target-1", Kind: KindRisk}
	cases := []struct {
		name   string
		in     NewItem
		parent *Item
		want   []string
	}{
		{"everything wrong", NewItem{Kind: "bug", Title: "", Severity: "urgent", Status: "closed"}, nil, []string{"kind", "title", "severity", "status"}},
		{"finding without parent", NewItem{Kind: KindFinding, Title: "x", Severity: SeverityLow}, nil, []string{"parent_id"}},
		{"finding under another target", NewItem{Kind: KindFinding, Title: "x", Severity: SeverityLow, ParentID: "v2"}, &other, []string{"parent_id"}},
		{"finding under a risk", NewItem{Kind: KindFinding, Title: "x", Severity: SeverityLow, ParentID: "r1"}, &risk, []string{"parent_id"}},
		{"parent on a vulnerability", NewItem{Kind: KindVulnerability, Title: "x", Severity: SeverityLow, ParentID: "r1"}, &risk, []string{"parent_id"}},
		{"custom kind status", NewItem{Kind: "pentest_note", Title: "x", Severity: SeverityLow, Status: StatusInProgress}, nil, []string{"status"}},
		{"typed fields", NewItem{Kind: KindRisk, Title: "x", Severity: SeverityLow, Fields: map[string]any{
			"cvss_score": 10.5, "references": []any{"ftp://x"}, "labels": []any{"has space"}, "due_date": "28/11/2026",
			"assignee_email": "nobody", "env": "dev", "nope": 1, "location": ""}}, nil,
			[]string{"fields.cvss_score", "fields.references", "fields.labels", "fields.due_date", "fields.assignee_email", "fields.env", "fields.nope", "fields.location"}},
		{"title too long", NewItem{Kind: KindRisk, Title: strings.Repeat("a", 256), Severity: SeverityLow}, nil, []string{"title"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Build("target-1", "id", tc.in, tc.parent, Change{Actor: "a", Origin: OriginVulnsync, At: t0})
			e, ok := err.(*Error)
			if !ok || e.Kind != EInvalid {
				t.Fatalf("got %v, want an EInvalid *Error", err)
			}
			var got []string
			for k := range e.Fields {
				got = append(got, k)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("fields named (-want +got):\n%s\nall: %v", diff, e.Fields)
			}
		})
	}
}

func TestCustomDefinitions(t *testing.T) {
	c := NewCatalog(nil, nil)
	for _, tc := range []struct {
		def  FieldDef
		kind ErrorKind
	}{
		{FieldDef{Name: "cvss_score", Type: TypeNumber}, EConflict},
		{FieldDef{Name: "Bad Name", Type: TypeText}, EInvalid},
		{FieldDef{Name: "status", Type: TypeText}, EInvalid},
		{FieldDef{Name: "env", Type: TypeSelect}, EInvalid},
		{FieldDef{Name: "env", Type: "labels"}, EInvalid},
	} {
		if err := c.ValidateFieldDef(&tc.def); KindOf(err) != tc.kind {
			t.Errorf("field %+v: got %v, want kind %s", tc.def, err, tc.kind)
		}
	}
	ok := FieldDef{Name: "env", Type: TypeMultiSelect, Options: []string{"prod", "dev"}}
	if err := c.ValidateFieldDef(&ok); err != nil {
		t.Errorf("valid field refused: %v", err)
	}
	if err := c.ValidateKindDef(&KindDef{Name: "risk", Statuses: []Status{StatusOpen}}); KindOf(err) != EConflict {
		t.Errorf("duplicate kind: got %v", err)
	}
	if err := c.ValidateKindDef(&KindDef{Name: "note", Statuses: []Status{"weird"}}); KindOf(err) != EInvalid {
		t.Errorf("kind with unknown status: got %v", err)
	}
}
