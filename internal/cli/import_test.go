package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// TestImportCommand runs `vulnsync import` through Run against a real
// vulnsync: the report is imported into the target named, the summary
// printed; a bad report is refused with the server's field message.
func TestImportCommand(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, nil)
	env := map[string]string{"VULNSYNC_TOKEN": apptest.Token}
	getenv := func(k string) string { return env[k] }
	report, err := filepath.Abs("../scanreport/testdata/staticcheck.sarif")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := Run(t.Context(), append([]string{"import"}, args...), getenv, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, _, err := run("--url", e.API.URL, "--target", "payments-api", "--format", "sarif", report)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(out, "2 findings from staticcheck into payments-api") || !strings.Contains(out, "created 4, updated 0, reopened 0, closed 0, unchanged 0") {
		t.Errorf("summary:\n%s", out)
	}
	out, _, err = run("--url", e.API.URL, "--target", "payments-api", "--format", "sarif", "--close-missing", report)
	if err != nil || !strings.Contains(out, "created 0, updated 0, reopened 0, closed 0, unchanged 4") {
		t.Errorf("second import: %v\n%s", err, out)
	}

	bad := filepath.Join(t.TempDir(), "cut.sarif")
	content, _ := os.ReadFile(report)
	if err := os.WriteFile(bad, content[:len(content)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = run("--url", e.API.URL, "--target", "payments-api", "--format", "sarif", bad)
	if !errors.Is(err, ErrImportRefused) || !strings.Contains(err.Error(), "HTTP 422") || !strings.Contains(err.Error(), "file: line 1") {
		t.Errorf("truncated report: %v", err)
	}
	_, _, err = run("--url", e.API.URL, "--target", "nope", "--format", "sarif", report)
	if !errors.Is(err, ErrImportRefused) || !strings.Contains(err.Error(), `no target named "nope"`) {
		t.Errorf("unknown target: %v", err)
	}
	_, _, err = run("--url", e.API.URL, "--target", "payments-api", "--format", "burp", report)
	if !errors.Is(err, ErrImportRefused) || !strings.Contains(err.Error(), "sarif, zap, nuclei, trivy, csv") {
		t.Errorf("unknown format: %v", err)
	}
	delete(env, "VULNSYNC_TOKEN")
	if _, _, err = run("--url", e.API.URL, "--target", "payments-api", "--format", "sarif", report); !errors.Is(err, ErrUsage) {
		t.Errorf("no token: %v", err)
	}
	env["VULNSYNC_TOKEN"] = "wrong-token-wrong-token"
	if _, _, err = run("--url", e.API.URL, "--target", "payments-api", "--format", "sarif", report); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong token: %v", err)
	}
}
