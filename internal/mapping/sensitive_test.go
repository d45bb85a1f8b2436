package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// TestSecurityLevelsPerSeverity: a level per severity is accepted when the
// project's scheme has it, and refused, by key, when it does not, when the
// severity is unknown, or when the project has no scheme at all.
func TestSecurityLevelsPerSeverity(t *testing.T) {
	meta := seedMeta()
	meta.SecurityLevels = []SecurityLevel{{ID: "10000", Name: "Security only"}, {ID: "10001", Name: "Staff only"}}
	d := parse(t, specExample)
	d.SecurityLevels = map[tracker.Severity]string{tracker.SeverityCritical: "Security only", tracker.SeverityHigh: "staff only"}
	if err := d.Validate(meta, tracker.NewCatalog(nil, nil)); err != nil {
		t.Fatalf("levels of the scheme refused: %v", err)
	}
	if got := d.SecurityLevelFor(tracker.SeverityCritical); got != "Security only" {
		t.Errorf("SecurityLevelFor(critical) = %q", got)
	}
	if got := d.SecurityLevelFor(tracker.SeverityLow); got != "" {
		t.Errorf("SecurityLevelFor(low) = %q, want none", got)
	}
	if l, ok := meta.SecurityLevel("STAFF ONLY"); !ok || l.ID != "10001" {
		t.Errorf("Meta.SecurityLevel by name: %v %v", l, ok)
	}

	d.SecurityLevels = map[tracker.Severity]string{tracker.SeverityCritical: "Top secret", "urgent": "Security only"}
	d.RestrictedComments = "publish"
	d.OnIssueMoved = "ignore"
	err := d.Validate(meta, tracker.NewCatalog(nil, nil))
	e, ok := err.(*tracker.Error)
	if !ok || e.Kind != tracker.EUnprocessable {
		t.Fatalf("got %v, want EUnprocessable", err)
	}
	want := []string{"on_issue_moved", "restricted_comments", "security_levels.critical", "security_levels.urgent"}
	if diff := cmp.Diff(want, sortedKeys(e.Fields)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nall: %v", diff, e.Fields)
	}

	d = parse(t, specExample)
	d.SecurityLevels = map[tracker.Severity]string{tracker.SeverityCritical: "Security only"}
	err = d.Validate(seedMeta(), tracker.NewCatalog(nil, nil)) // no scheme
	if e, _ := err.(*tracker.Error); e == nil || e.Fields["security_levels.critical"] == "" {
		t.Errorf("a level on a project without a scheme: got %v", err)
	}
}

// TestRestrictedCommentsPolicy: the policy defaults to skip and takes only
// skip or keep.
func TestRestrictedCommentsPolicy(t *testing.T) {
	d := parse(t, specExample)
	if d.RestrictedComments != RestrictedSkip || d.OnIssueMoved != OnIssueMovedDeletion {
		t.Errorf("default policies %q, %q; want skip, deletion_policy", d.RestrictedComments, d.OnIssueMoved)
	}
	d.RestrictedComments = RestrictedKeep
	if err := d.Validate(seedMeta(), tracker.NewCatalog(nil, nil)); err != nil {
		t.Errorf("keep refused: %v", err)
	}
}
