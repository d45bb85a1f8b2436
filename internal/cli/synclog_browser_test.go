package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// TestBrowserSyncLogFollowsTheSync: the activity page, filtered to
// vulnsync → Jira, is open in Chromium when a new item is synced; its row
// appears in the sync log without a reload (a marker set on the page
// survives), the filter stays (the select, and no Jira → vulnsync rows),
// and the page passes axe-core.
func TestBrowserSyncLogFollowsTheSync(t *testing.T) {
	chromiumPath(t)
	axeJS, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	target, _, integ, _ := integratedTarget(t, in, simURL)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "SQL injection in /search", "severity": "high"}, nil)

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	activity := "/integrations/targets/" + integ.ID + "/activity"
	b.open(ctx, activity)
	b.waitFor(ctx, "the first create in the sync log", `/SEC-1/.test(document.querySelector("#sync-log").textContent)`)
	b.do(ctx, "filter to vulnsync → Jira", chromedp.SetValue(chromedp.CSS("#log-direction"), "to_jira"))
	b.submit(ctx, "filter", `#sync-log-filter button[type=submit]`)
	if loc := b.location(ctx); !strings.Contains(loc, "direction=to_jira") {
		t.Fatalf("the filter is not in the page's URL: %q", loc)
	}
	b.eval(ctx, `window.__notReloaded = true, "marked"`)
	if vs := b.axeCheck(ctx, string(axeJS)); len(vs) > 0 {
		t.Errorf("activity page with the filtered sync log: %d serious or critical accessibility violations:%s", len(vs), formatViolations(vs))
	}
	b.shot(ctx, "synclog-before")

	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Open redirect in /login", "severity": "medium"}, nil)
	b.waitFor(ctx, "the new item's create in the open sync log", `[...document.querySelectorAll("#sync-log tbody tr")].some(r => /SEC-2/.test(r.textContent) && /create/.test(r.textContent))`)
	b.shot(ctx, "synclog-after")
	if got := b.eval(ctx, `String(window.__notReloaded === true) + " " + document.querySelector("#log-direction").value`); got != "true to_jira" {
		t.Errorf("after the new row (not reloaded, filter kept): %q, want \"true to_jira\"", got)
	}
	if got := b.eval(ctx, `String([...document.querySelectorAll("#sync-log tbody tr")].filter(r => /Jira → vulnsync/.test(r.textContent)).length)`); got != "0" {
		t.Errorf("%s Jira → vulnsync rows under the vulnsync → Jira filter", got)
	}
	if got := b.eval(ctx, `document.querySelector("#sync-log").getAttribute("hx-get")`); !strings.Contains(got, "direction=to_jira") {
		t.Errorf("the fragment polls %q, without the filter", got)
	}
}
