package mapping

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// specExample is the mapping document of PRODUCT.md §2.
const specExample = Example

// seedMeta describes the simulator's seed project SEC (PRODUCT.md §5).
func seedMeta() Meta {
	common := []JiraField{
		{ID: "summary", Name: "Summary", Required: true, Schema: Schema{Type: "string", System: "summary"}},
		{ID: "description", Name: "Description", Schema: Schema{Type: "string", System: "description"}},
		{ID: "priority", Name: "Priority", Schema: Schema{Type: "priority", System: "priority"}, HasDefault: true},
		{ID: "labels", Name: "Labels", Schema: Schema{Type: "array", Items: "string", System: "labels"}},
		{ID: "customfield_10050", Name: "CVSS Score", Schema: Schema{Type: "number", Custom: "com.atlassian.jira.plugin.system.customfieldtypes:float"}},
		{ID: "customfield_10051", Name: "Asset ID", Schema: Schema{Type: "string", Custom: "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}},
		{ID: "customfield_10053", Name: "References", Schema: Schema{Type: "string", Custom: "com.atlassian.jira.plugin.system.customfieldtypes:url"}},
		{ID: "customfield_10054", Name: "Tags", Schema: Schema{Type: "array", Items: "option"}, AllowedValues: []string{"pci", "gdpr", "sox"}},
	}
	component := func(required bool) JiraField {
		return JiraField{ID: "customfield_10052", Name: "Component", Required: required, Schema: Schema{Type: "option"}, AllowedValues: []string{"Web", "API", "Mobile"}}
	}
	with := func(extra ...JiraField) []JiraField { return append(append([]JiraField(nil), common...), extra...) }
	wf := []Status{{Name: "To Do", Category: "new"}, {Name: "In Progress", Category: "indeterminate"}, {Name: "Done", Category: "done"}, {Name: "Won't Do", Category: "done"}}
	return Meta{
		ProjectKey: "SEC",
		IssueTypes: []IssueType{
			{ID: "10001", Name: "Bug", Fields: with(component(true))},
			{ID: "10002", Name: "Task", Fields: with(component(false))},
			{ID: "10003", Name: "Story", Fields: with(component(false))},
			{ID: "10004", Name: "Sub-task", Subtask: true, Fields: with(component(false), JiraField{ID: "parent", Name: "Parent", Required: true, Schema: Schema{Type: "issuelink"}})},
		},
		Statuses:   map[string][]Status{"Bug": wf, "Task": wf, "Story": wf, "Sub-task": wf},
		Priorities: []string{"Highest", "High", "Medium", "Low", "Lowest"},
	}
}

func parse(t *testing.T, s string) Document {
	t.Helper()
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	d.Normalize()
	return d
}

func TestSpecExampleIsValidForTheSeedProject(t *testing.T) {
	d := parse(t, specExample)
	if err := d.Validate(seedMeta(), tracker.NewCatalog(nil, nil)); err != nil {
		t.Fatalf("the spec's own example was refused: %v", err)
	}
	if d.PriorityFor(tracker.SeverityCritical) != "Highest" || d.OnItemDeleted != OnItemDeletedClose || d.OnIssueDeleted != OnIssueDeletedUnlink {
		t.Errorf("normalised document: %+v", d)
	}
}

func TestBrokenMappingNamesEveryProblem(t *testing.T) {
	var d map[string]any
	_ = json.Unmarshal([]byte(specExample), &d)
	d["issue_types"] = map[string]any{"vulnerability": "Defect", "finding": "Task", "risk": "Task"}
	d["status_to_jira"].(map[string]any)["resolved"] = "Closed"
	d["status_from_jira"].(map[string]any)["Reviewing"] = "open"
	d["priority"].(map[string]any)["critical"] = "Blocker"
	d["defaults"] = map[string]any{"customfield_10054": []any{map[string]any{"value": "hipaa"}}}
	d["fields"] = append(d["fields"].([]any),
		map[string]any{"vulnsync": "cvss_score", "jira": "customfield_10051", "direction": "sideways"},
		map[string]any{"vulnsync": "severity", "jira": "customfield_10099", "direction": "both", "locked": "jira"},
	)
	raw, _ := json.Marshal(d)
	doc := parse(t, string(raw))
	err := doc.Validate(seedMeta(), tracker.NewCatalog(nil, nil))
	e, ok := err.(*tracker.Error)
	if !ok || e.Kind != tracker.EUnprocessable {
		t.Fatalf("got %v, want EUnprocessable", err)
	}
	var got []string
	for k := range e.Fields {
		got = append(got, k)
	}
	want := []string{
		"issue_types.vulnerability",                                   // unknown type
		"issue_types.finding",                                         // not a sub-task type
		"status_to_jira.resolved",                                     // unreachable status
		"status_from_jira.Reviewing",                                  // no such status
		"priority.critical",                                           // unknown priority
		"defaults.customfield_10054",                                  // bad option
		"fields[5].direction", "fields[5].vulnsync", "fields[5].jira", // duplicate, bad direction, incompatible
		"fields[6].vulnsync", "fields[6].jira",
	}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("problems named (-want +got):\n%s\nall: %v", diff, e.Fields)
	}
}

func TestRequiredFieldWithoutMappingOrDefault(t *testing.T) {
	d := parse(t, specExample)
	d.Defaults = nil
	err := d.Validate(seedMeta(), tracker.NewCatalog(nil, nil))
	e, _ := err.(*tracker.Error)
	if e == nil || e.Fields["defaults.customfield_10052"] == "" {
		t.Fatalf("got %v, want the required Component named", err)
	}
	if len(e.Fields) != 1 {
		t.Errorf("only the missing default is wrong, got %v", e.Fields)
	}
	// A field mapping to it covers it as well as a default.
	cat := tracker.NewCatalog(nil, []tracker.FieldDef{{Name: "component", Type: tracker.TypeSelect, Options: []string{"Web", "API"}}})
	d.Fields = append(d.Fields, Field{Vulnsync: "component", Jira: "customfield_10052", Direction: ToJira})
	if err := d.Validate(seedMeta(), cat); err != nil {
		t.Errorf("required field covered by a mapping: %v", err)
	}
	// ... but not when vulnsync's options are not all allowed in Jira.
	cat = tracker.NewCatalog(nil, []tracker.FieldDef{{Name: "component", Type: tracker.TypeSelect, Options: []string{"Web", "Desktop"}}})
	if err := d.Validate(seedMeta(), cat); err == nil {
		t.Error("a select with an option Jira does not allow was accepted")
	}
}

// The reverse translations: a Jira status by name, else by category; a
// priority back to the most severe severity that maps to it. (A done
// status means resolved here: done_means says so.)
func TestReverseTranslations(t *testing.T) {
	d := Document{StatusFromJira: map[string]tracker.Status{"Won't Do": tracker.StatusAcceptedRisk}, DoneMeans: DoneMeansResolved,
		Priority: map[tracker.Severity]string{tracker.SeverityCritical: "Highest", tracker.SeverityHigh: "High", tracker.SeverityMedium: "High"}}
	for _, c := range []struct {
		name, category string
		want           tracker.Status
		ok             bool
	}{
		{"won't do", "done", tracker.StatusAcceptedRisk, true},
		{"Closed", "done", tracker.StatusResolved, true},
		{"Triage", "new", tracker.StatusOpen, true},
		{"Review", "indeterminate", tracker.StatusInProgress, true},
		{"Odd", "", "", false},
	} {
		if got, ok := d.StatusFromJiraName(c.name, c.category); got != c.want || ok != c.ok {
			t.Errorf("StatusFromJiraName(%q, %q) = %q, %v; want %q, %v", c.name, c.category, got, ok, c.want, c.ok)
		}
	}
	if got, ok := d.SeverityOf("high"); !ok || got != tracker.SeverityHigh {
		t.Errorf("SeverityOf(high) = %q, %v; want high (the most severe of high and medium)", got, ok)
	}
	if _, ok := d.SeverityOf("Lowest"); ok {
		t.Error("SeverityOf(Lowest) found a severity no priority maps to")
	}
}

// TestDoneMeansFixed: by default a Jira status meaning resolved (by name
// or by its done category) gives fixed, awaiting retest; done_means
// resolved keeps it resolved; other statuses are untouched. Fixed shows in
// Jira as resolved's status unless mapped, and needs no mapping of its own.
func TestDoneMeansFixed(t *testing.T) {
	d := Document{StatusFromJira: map[string]tracker.Status{"Done": tracker.StatusResolved, "Won't Do": tracker.StatusAcceptedRisk},
		StatusToJira: map[tracker.Status]string{tracker.StatusResolved: "Done"}}
	d.Normalize()
	type tr struct {
		Status tracker.Status
		OK     bool
	}
	from := func(name, cat string) tr { st, ok := d.StatusFromJiraName(name, cat); return tr{st, ok} }
	want := map[string]tr{"Done": {tracker.StatusFixed, true}, "Closed": {tracker.StatusFixed, true}, "Won't Do": {tracker.StatusAcceptedRisk, true}}
	got := map[string]tr{"Done": from("Done", "done"), "Closed": from("Closed", "done"), "Won't Do": from("Won't Do", "done")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default done_means (-want +got):\n%s", diff)
	}
	if got := d.JiraStatus(tracker.StatusFixed); got != "Done" {
		t.Errorf("JiraStatus(fixed) = %q, want resolved's Done", got)
	}
	d.DoneMeans = DoneMeansResolved
	if got := from("Done", "done"); got != (tr{tracker.StatusResolved, true}) {
		t.Errorf("done_means resolved: Done gives %+v", got)
	}
	d.DoneMeans = "maybe"
	p := tracker.Problems{}
	d.validatePolicies(p)
	if _, ok := p["done_means"]; !ok {
		t.Errorf("done_means %q accepted", d.DoneMeans)
	}
}
