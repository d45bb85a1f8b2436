package cli

// Accessibility of every page: axe-core (vendored from the npm registry in
// testdata/axe, refreshed by testdata/axe/update.sh, so the test needs no
// network) is injected into each page in Chromium and run against WCAG 2.1
// A/AA and axe's best practices; no serious or critical violation may be
// left. Each page is also saved as a screenshot in the test's output.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeCheck injects axe-core into the open page, runs it and returns the
// serious and critical violations.
func (b *tab) axeCheck(ctx context.Context, axeJS string) []axeViolation {
	b.t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeJS+"\n;undefined")); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
		resultTypes: ["violations"]
	}).then(r => JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("axe-core result: %v", err)
	}
	return vs
}

func formatViolations(vs []axeViolation) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "\n  %s (%s): %s", v.ID, v.Impact, v.Help)
		for i, n := range v.Nodes {
			if i == 4 {
				fmt.Fprintf(&sb, "\n    … and %d more", len(v.Nodes)-4)
				break
			}
			fmt.Fprintf(&sb, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
	}
	return sb.String()
}

// TestBrowserAccessibility visits every page of the UI with data on it
// (signed out, then as the admin) and holds each to axe-core.
func TestBrowserAccessibility(t *testing.T) {
	chromiumPath(t)
	axeJS, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	target, conn, integ, _ := integratedTarget(t, in, simURL)
	var vuln, finding, other idOnly
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "SQL injection in /search",
		"severity": "critical", "description": "Found with **sqlmap**:\n\n```\nsqlmap -u https://example.test/search?q=1\n```"}, &vuln)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "finding", "title": "GET /search?q=", "severity": "critical", "parent_id": vuln.ID}, &finding)
	in.mustDo(201, "POST", "/api/v1/items/"+vuln.ID+"/comments", map[string]any{"body": "Reproduced; see the *attached* request."}, nil)
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "website", "description": "Marketing site"}, &other)

	b, ctx := newTab(t, in.baseURL)
	check := func(name, path string) {
		t.Helper()
		b.open(ctx, path)
		b.shot(ctx, "a11y-"+name)
		if vs := b.axeCheck(ctx, string(axeJS)); len(vs) > 0 {
			t.Errorf("%s (%s): %d serious or critical accessibility violations:%s", name, path, len(vs), formatViolations(vs))
		}
	}
	check("signin", "/signin")
	b.signIn(ctx, in.token)
	// An import, for the target page's imports list.
	report, err := filepath.Abs("../scanreport/testdata/gosec.sarif")
	if err != nil {
		t.Fatal(err)
	}
	b.open(ctx, "/targets/"+other.ID)
	b.do(ctx, "import a report",
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{report}),
		chromedp.SetValue(chromedp.CSS("#import-format"), "sarif"),
		chromedp.Click(chromedp.CSS(`#imports button[type=submit]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("table.imports")),
	)
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/dashboard"},
		{"targets", "/targets"},
		{"target", "/targets/" + target.ID},
		{"imports", "/targets/" + other.ID + "#imports"},
		{"item", "/items/" + vuln.ID},
		{"finding", "/items/" + finding.ID},
		{"jira-preview", "/items/" + vuln.ID + "/jira-preview"},
		{"integrations", "/integrations"},
		{"connect", "/integrations/jira/connect"},
		{"connection", "/integrations/jira/" + conn.ID},
		{"sync-setup", "/integrations/targets"},
		{"configure", "/integrations/targets/" + integ.ID + "/configure"},
		{"activity", "/integrations/targets/" + integ.ID + "/activity"},
		{"users", "/users"},
		{"account", "/account"},
		{"audit", "/audit"},
		{"error", "/no-such-page"},
	} {
		check(p.name, p.path)
	}

	// Pages in the states that add most: a refused connection (error
	// banner with details), the connection page with rejected deliveries
	// and the rotation's confirmation open.
	b.open(ctx, "/integrations/jira/connect")
	b.do(ctx, "fill a connection to nowhere",
		chromedp.SendKeys(chromedp.CSS("#base_url"), "http://127.0.0.1:1"),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.test"),
		chromedp.SendKeys(chromedp.CSS("#api_token"), "token"),
	)
	b.submit(ctx, "connect to nowhere", "#connect-submit")
	b.do(ctx, "open the details", chromedp.Click(chromedp.CSS("#connect-error summary"), chromedp.NodeVisible))
	b.shot(ctx, "a11y-connect-error")
	if vs := b.axeCheck(ctx, string(axeJS)); len(vs) > 0 {
		t.Errorf("connect page with an error: %d serious or critical accessibility violations:%s", len(vs), formatViolations(vs))
	}
	if got := in.do("POST", "/webhooks/jira/"+conn.ID, `{"webhookEvent":"jira:issue_updated"}`, nil); got != 401 {
		t.Fatalf("unsigned delivery: status %d", got)
	}
	b.open(ctx, "/integrations/jira/"+conn.ID)
	b.do(ctx, "open the rotation", chromedp.Click(chromedp.CSS("#rotate-secret")), chromedp.WaitVisible(chromedp.CSS("#rotate-secret-confirm")))
	b.shot(ctx, "a11y-connection-rejections")
	if vs := b.axeCheck(ctx, string(axeJS)); len(vs) > 0 {
		t.Errorf("connection page with rejections: %d serious or critical accessibility violations:%s", len(vs), formatViolations(vs))
	}
}
