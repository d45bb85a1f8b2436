package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserImport uploads a real SARIF report through the target page in
// Chromium: the upload goes through app.js's progress handler (an
// XMLHttpRequest, not a plain form post), and the page shows the summary
// and the import in the target's list.
func TestBrowserImport(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	var target idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	report, err := filepath.Abs("../scanreport/testdata/gosec.sarif")
	if err != nil {
		t.Fatal(err)
	}

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	b.open(ctx, "/targets/"+target.ID)
	b.do(ctx, "choose the report",
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{report}),
		chromedp.SetValue(chromedp.CSS("#import-format"), "sarif"),
	)
	b.shot(ctx, "import-form")
	b.do(ctx, "import",
		chromedp.Click(chromedp.CSS(`#imports button[type=submit]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("table.imports")),
	)
	b.shot(ctx, "import-done")
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Imported gosec.sarif (gosec, 11 findings): 21 created") {
		t.Errorf("summary: got %q", got)
	}
	if got := b.text(ctx, "table.imports tbody tr"); !strings.Contains(got, "gosec.sarif") || !strings.Contains(got, "21") {
		t.Errorf("imports list: got %q", got)
	}
	if got := b.eval(ctx, `String(performance.getEntriesByType("resource").some(e => e.initiatorType === "xmlhttprequest" && e.name.endsWith("/imports")))`); got != "true" {
		t.Errorf("the report was not sent by the progress handler (XMLHttpRequest): %s", got)
	}
	if loc := b.location(ctx); loc != "/targets/"+target.ID {
		t.Errorf("location after the import: %q", loc)
	}
	if got := b.text(ctx, "table.items"); !strings.Contains(got, "G701: SQL injection") {
		t.Errorf("the imported vulnerabilities are not listed: %.300q", got)
	}
}
