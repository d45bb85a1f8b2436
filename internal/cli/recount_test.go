package cli

import (
	"bytes"
	"strings"
	"testing"
)

// recount on a fresh store finds every counter right and says so.
func TestRecountOnAFreshStore(t *testing.T) {
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	if err := Run(t.Context(), []string{"recount", "--data", t.TempDir(), "--log-level", "error"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("recount: %v\n%s", err, stderr.String())
	}
	if got := stdout.String(); !strings.Contains(got, "0 counter(s) had drifted") {
		t.Errorf("stdout = %q, want the count of drifted counters", got)
	}
}
