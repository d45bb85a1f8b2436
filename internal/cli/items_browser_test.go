package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// itemsFixture is a target with custom fields, a user to assign, a
// vulnerability with a long description and findings, and enough risks
// for two pages of the list.
type itemsFixture struct {
	target, vuln, finding string
	titles                []string // every top-level title
}

func newItemsFixture(t *testing.T, in *instance) itemsFixture {
	t.Helper()
	var fx itemsFixture
	var target idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	fx.target = target.ID
	for _, f := range []map[string]any{
		{"name": "environment", "type": "select", "options": []string{"production", "staging"}},
		{"name": "teams", "type": "multiselect", "options": []string{"red", "blue", "green"}},
		{"name": "bounty", "type": "number", "min": 0, "max": 10000},
		{"name": "found_on", "type": "date"},
		{"name": "ticket", "type": "url"},
		{"name": "notes", "type": "text"},
	} {
		in.mustDo(201, "POST", "/api/v1/fields", f, nil)
	}
	in.mustDo(201, "POST", "/api/v1/users", map[string]any{"email": "alice@example.test", "name": "Alice Analyst", "role": "analyst"}, nil)
	desc := "## Summary\nThe q parameter of /search is concatenated into SQL.\n\n## Steps\n1. Open /search\n2. Type a quote\n3. See the SQL error\n\n## Impact\nEvery card number can be read.\n" +
		"A very long line that goes on and on " + strings.Repeat("without-any-break-", 30) + "\n"
	var v idOnly
	in.mustDo(201, "POST", "/api/v1/targets/"+fx.target+"/items", map[string]any{
		"kind": "vulnerability", "title": "SQL injection in /search", "description": desc, "severity": "critical",
		"fields": map[string]any{"asset_id": "payments-db", "cwe": "CWE-89"},
	}, &v)
	fx.vuln = v.ID
	fx.titles = append(fx.titles, "SQL injection in /search")
	var f idOnly
	in.mustDo(201, "POST", "/api/v1/targets/"+fx.target+"/items", map[string]any{
		"kind": "finding", "title": "Injection confirmed on staging", "severity": "high", "parent_id": fx.vuln,
	}, &f)
	fx.finding = f.ID
	in.mustDo(201, "POST", "/api/v1/targets/"+fx.target+"/items", map[string]any{
		"kind": "finding", "title": "Injection confirmed in production", "severity": "critical", "parent_id": fx.vuln,
	}, nil)
	sev := []string{"low", "medium", "high", "info"}
	for i := range 52 {
		title := fmt.Sprintf("Risk %02d: outdated library", i)
		if i == 7 {
			title = "=HYPERLINK(\"http://evil.example\") risk"
		}
		in.mustDo(201, "POST", "/api/v1/targets/"+fx.target+"/items", map[string]any{
			"kind": "risk", "title": title, "severity": sev[i%4], "status": "open",
		}, nil)
		fx.titles = append(fx.titles, title)
	}
	return fx
}

// listTitles reads the titles of the list's rows, in order.
func (b *tab) listTitles(ctx context.Context) []string {
	b.t.Helper()
	s := b.eval(ctx, `JSON.stringify([...document.querySelectorAll("table.items .item-title")].map(a => a.textContent))`)
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// TestBrowserItemEditing edits every field type of an item in Chromium,
// a custom one of each type included: a bad CVSS vector is refused next to
// its field with what was typed kept, the fixed form saves everything,
// the history shows the description's change as a line diff, and the
// item is deleted through its confirmation page.
func TestBrowserItemEditing(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	fx := newItemsFixture(t, in)
	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)

	b.open(ctx, "/items/"+fx.vuln)
	b.do(ctx, "open the edit form", chromedp.Click(chromedp.CSS("#edit > summary")), chromedp.WaitVisible(chromedp.CSS("#edit-title")))
	b.do(ctx, "fill every field",
		chromedp.SetValue(chromedp.CSS("#edit-title"), "SQL injection in /search (confirmed)"),
		chromedp.SetValue(chromedp.CSS("#edit-severity"), "high"),
		chromedp.SetValue(chromedp.CSS("#edit-status"), "in_progress"),
		chromedp.SetValue(chromedp.CSS("#f-cvss_vector"), "CVSS:3.1/AV:X"),
		chromedp.SetValue(chromedp.CSS("#f-cwe"), "CWE-564"),
		chromedp.SetValue(chromedp.CSS("#f-asset_id"), "payments-db-replica"),
		chromedp.SetValue(chromedp.CSS("#f-remediation"), "Use prepared statements."),
		chromedp.SetValue(chromedp.CSS("#f-assignee_email"), "alice@example.test"),
		chromedp.SetValue(chromedp.CSS("#f-due_date"), "2026-06-30"),
		chromedp.SetValue(chromedp.CSS("#f-labels"), "pci sqli"),
		chromedp.SetValue(chromedp.CSS("#f-references"), "https://owasp.org/a\nhttps://cwe.mitre.org/b"),
		chromedp.SetValue(chromedp.CSS("#f-environment"), "production"),
		chromedp.Click(chromedp.CSS(`input[name="fields.teams"][value=red]`)),
		chromedp.Click(chromedp.CSS(`input[name="fields.teams"][value=green]`)),
		chromedp.SetValue(chromedp.CSS("#f-bounty"), "1500"),
		chromedp.SetValue(chromedp.CSS("#f-found_on"), "2026-03-01"),
		chromedp.SetValue(chromedp.CSS("#f-ticket"), "https://tickets.example.test/42"),
		chromedp.SetValue(chromedp.CSS("#f-notes"), "Seen in the March pentest"),
	)
	b.eval(ctx, `String(document.querySelector("#edit-description").value = document.querySelector("#edit-description").value.replace("2. Type a quote", "2. Type a single quote (')"))`)
	b.shot(ctx, "item-edit-filled")
	if got := b.submit(ctx, "save with a bad vector", "#edit-submit"); got != http.StatusBadRequest {
		t.Fatalf("bad CVSS vector: status %d, want 400", got)
	}
	if got := b.text(ctx, `[data-field="cvss_vector"] .field-error`); !strings.Contains(got, "CVSS") {
		t.Errorf("the vector's error next to its field: %q", got)
	}
	if got := b.value(ctx, "#edit-title"); got != "SQL injection in /search (confirmed)" {
		t.Errorf("the refused form lost the typed title: %q", got)
	}
	if got := b.value(ctx, "#f-notes"); got != "Seen in the March pentest" {
		t.Errorf("the refused form lost the typed custom field: %q", got)
	}
	if got := b.eval(ctx, `String(document.querySelector('input[name="fields.teams"][value=green]').checked)`); got != "true" {
		t.Errorf("the refused form lost a checked option")
	}
	b.shot(ctx, "item-edit-error")
	b.do(ctx, "fix the vector", chromedp.SetValue(chromedp.CSS("#f-cvss_vector"), "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"))
	if got := b.submit(ctx, "save", "#edit-submit"); got != http.StatusOK {
		t.Fatalf("save: status %d", got)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Item updated") {
		t.Errorf("after saving: flash %q", got)
	}
	var it struct {
		Title    string         `json:"title"`
		Severity string         `json:"severity"`
		Status   string         `json:"status"`
		Desc     string         `json:"description"`
		Fields   map[string]any `json:"fields"`
	}
	in.mustDo(200, "GET", "/api/v1/items/"+fx.vuln, nil, &it)
	want := map[string]any{
		"asset_id": "payments-db-replica", "cwe": "CWE-564", "remediation": "Use prepared statements.", "assignee_email": "alice@example.test",
		"due_date": "2026-06-30", "labels": []any{"pci", "sqli"}, "references": []any{"https://owasp.org/a", "https://cwe.mitre.org/b"},
		"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "cvss_score": 9.8,
		"environment": "production", "teams": []any{"red", "green"}, "bounty": 1500.0, "found_on": "2026-03-01",
		"ticket": "https://tickets.example.test/42", "notes": "Seen in the March pentest",
	}
	if diff := cmp.Diff(want, it.Fields); diff != "" {
		t.Errorf("fields after the edit (-want +got):\n%s", diff)
	}
	if it.Title != "SQL injection in /search (confirmed)" || it.Severity != "high" || it.Status != "in_progress" || !strings.Contains(it.Desc, "2. Type a single quote (')") {
		t.Errorf("attributes after the edit: %q %s %s", it.Title, it.Severity, it.Status)
	}

	// The description's change is a line diff: the changed line out and
	// in, the far lines folded, not the whole text on one line.
	diff := b.eval(ctx, `[...document.querySelectorAll('#history li[data-field="description"] pre.diff')].pop().innerText`)
	for _, want := range []string{"- 2. Type a quote", "+ 2. Type a single quote (')", "unchanged line"} {
		if !strings.Contains(diff, want) {
			t.Errorf("history diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "Every card number") {
		t.Errorf("history diff shows lines far from the change:\n%s", diff)
	}
	if w := b.eval(ctx, `String(document.documentElement.scrollWidth <= window.innerWidth)`); w != "true" {
		t.Errorf("the item page scrolls sideways (a long line widens it)")
	}
	b.do(ctx, "scroll to history", chromedp.ScrollIntoView(chromedp.CSS("#history")))
	b.shot(ctx, "item-history")
	b.open(ctx, "/items/"+fx.vuln)
	b.shot(ctx, "item")
	saveDocShot(t, b, ctx, "item.png", true)

	// Delete: a confirmation page, which Cancel leaves untouched.
	b.do(ctx, "open the edit form", chromedp.Click(chromedp.CSS("#edit > summary")), chromedp.WaitVisible(chromedp.CSS("#delete-link")))
	if got := b.submit(ctx, "ask to delete", "#delete-link"); got != http.StatusOK {
		t.Fatalf("delete page: %d", got)
	}
	if got := b.text(ctx, "#confirm-delete"); !strings.Contains(got, "with its 2 findings") {
		t.Errorf("confirmation page: %q", got)
	}
	b.shot(ctx, "delete-confirm")
	b.submit(ctx, "cancel", "#cancel-delete")
	in.mustDo(200, "GET", "/api/v1/items/"+fx.vuln, nil, nil)
	b.open(ctx, "/items/"+fx.vuln+"/delete")
	b.submit(ctx, "confirm delete", "#confirm-delete-submit")
	if loc := b.location(ctx); loc != "/targets/"+fx.target {
		t.Errorf("after deleting: at %q", loc)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "deleted") {
		t.Errorf("after deleting: flash %q", got)
	}
	in.mustDo(404, "GET", "/api/v1/items/"+fx.vuln, nil, nil)
	in.mustDo(404, "GET", "/api/v1/items/"+fx.finding, nil, nil)

	// Saving the form untouched changes nothing, whatever a textarea does
	// to a leading newline and CRLF, and spaces around a field.
	var odd idOnly
	in.mustDo(201, "POST", "/api/v1/targets/"+fx.target+"/items", map[string]any{
		"kind": "risk", "title": "Odd text", "severity": "low", "description": "\nLeading newline\r\nthen CRLF\n",
		"fields": map[string]any{"remediation": "  spaced  \n", "teams": []string{"blue"}},
	}, &odd)
	b.open(ctx, "/items/"+odd.ID)
	b.do(ctx, "open the edit form", chromedp.Click(chromedp.CSS("#edit > summary")), chromedp.WaitVisible(chromedp.CSS("#edit-submit")))
	b.submit(ctx, "save untouched", "#edit-submit")
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Nothing changed") {
		t.Errorf("saving an untouched form: flash %q", got)
	}
	var hist struct {
		History []map[string]any `json:"history"`
	}
	in.mustDo(200, "GET", "/api/v1/items/"+odd.ID+"/history", nil, &hist)
	for _, h := range hist.History {
		if h["old"] != "" && h["old"] != nil {
			t.Errorf("saving an untouched form recorded a change: %v", h)
		}
	}
}

// TestBrowserItemList searches, sorts, pages, bulk-edits and exports the
// list in Chromium, and checks it at 500 px wide.
func TestBrowserItemList(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	fx := newItemsFixture(t, in)
	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	list := "/targets/" + fx.target

	// Browsing: findings under their vulnerability, a total from the
	// counters, two pages.
	b.open(ctx, list)
	if got := b.text(ctx, "#list-total"); !strings.Contains(got, "53 top-level items") || !strings.Contains(got, "page 1 of 2") {
		t.Errorf("list summary: %q", got)
	}
	if got := b.eval(ctx, `String(document.querySelectorAll('tr.nested[data-parent="`+fx.vuln+`"]').length)`); got != "2" {
		t.Errorf("findings nested under the vulnerability: %s, want 2", got)
	}
	if got := b.text(ctx, "table.items tbody tr:nth-child(1) td:nth-child(5)"); got != "Open" {
		t.Errorf("status label: %q, want Open", got)
	}
	b.shot(ctx, "list")
	b.do(ctx, "next page", chromedp.Click(chromedp.CSS("#page-next"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#page-prev")))
	if got := b.text(ctx, "#page-no"); got != "2" {
		t.Errorf("page number after Next: %q", got)
	}
	if got := len(b.listTitles(ctx)); got != 3 {
		t.Errorf("rows on page 2: %d, want 3", got)
	}
	b.do(ctx, "previous page", chromedp.Click(chromedp.CSS("#page-prev"), chromedp.NodeVisible), chromedp.WaitNotPresent(chromedp.CSS("#page-prev")))
	if got := b.text(ctx, "#page-no"); got != "1" {
		t.Errorf("page number after Previous: %q", got)
	}

	// Sort by title, then the other way.
	b.do(ctx, "sort by title", chromedp.Click(chromedp.CSS(`th a.sort[href*="sort=title"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=ascending]`)))
	sorted := slices.Clone(fx.titles)
	slices.Sort(sorted)
	got := slices.DeleteFunc(b.listTitles(ctx), func(s string) bool { return strings.HasPrefix(s, "Injection confirmed") })
	if diff := cmp.Diff(sorted[:50], got); diff != "" {
		t.Errorf("sorted by title, page 1 (-want +got):\n%s", diff)
	}
	b.do(ctx, "sort by title descending", chromedp.Click(chromedp.CSS(`th[aria-sort=ascending] a.sort`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=descending]`)))
	slices.Reverse(sorted)
	got = slices.DeleteFunc(b.listTitles(ctx), func(s string) bool { return strings.HasPrefix(s, "Injection confirmed") })
	if diff := cmp.Diff(sorted[:50], got); diff != "" {
		t.Errorf("sorted by title descending, page 1 (-want +got):\n%s", diff)
	}
	b.shot(ctx, "list-sorted")

	// Search: word prefixes in title and asset; findings are rows then.
	b.open(ctx, list)
	b.do(ctx, "search", chromedp.SendKeys(chromedp.CSS("#q"), "injec"))
	b.submit(ctx, "search", "#filter-submit")
	if diff := cmp.Diff([]string{"SQL injection in /search", "Injection confirmed on staging", "Injection confirmed in production"}, b.listTitles(ctx)); diff != "" {
		t.Errorf("search injec (-want +got):\n%s", diff)
	}
	if got := b.text(ctx, `tr[data-item="`+fx.finding+`"] .parent-of`); got != "under SQL injection in /search" {
		t.Errorf("a finding found by a search names its vulnerability: %q", got)
	}
	if got := b.text(ctx, "#list-total"); !strings.Contains(got, "3 items") || !strings.Contains(got, "page 1 of 1") {
		t.Errorf("search summary: %q", got)
	}
	b.open(ctx, list+"?q=payments+db")
	if diff := cmp.Diff([]string{"SQL injection in /search"}, b.listTitles(ctx)); diff != "" {
		t.Errorf("search by asset (-want +got):\n%s", diff)
	}

	// CSV of the current filter, streamed, with a formula defused.
	rows := readCSV(t, b.fetchText(ctx, `document.querySelector("#csv-export").href`))
	if len(rows) != 2 || strings.Join(rows[0][:6], ",") != "id,kind,parent_id,title,severity,status" || rows[1][3] != "SQL injection in /search" || rows[1][11] != "payments-db" ||
		!strings.Contains(rows[1][15], "## Steps\n1. Open /search") {
		t.Errorf("CSV of the search: %q", rows)
	}
	b.open(ctx, list)
	rows = readCSV(t, b.fetchText(ctx, `document.querySelector("#csv-export").href`))
	if len(rows) != 1+3+52 {
		t.Errorf("CSV of everything: %d rows, want %d (header, every item over every page)", len(rows), 1+3+52)
	}
	defused := false
	for _, r := range rows {
		defused = defused || r[3] == `'=HYPERLINK("http://evil.example") risk`
		if strings.ContainsAny(r[3][:1], "=+-@") {
			t.Errorf("CSV cell starts with a formula character: %q", r[3])
		}
	}
	if !defused {
		t.Errorf("the CSV lacks the defused formula title")
	}

	// Bulk edit: two risks resolved and assigned in one request.
	b.open(ctx, list+"?sort=title")
	b.do(ctx, "select two",
		chromedp.Click(chromedp.CSS(`table.items tbody tr:nth-child(2) input[name=item]`)),
		chromedp.Click(chromedp.CSS(`table.items tbody tr:nth-child(3) input[name=item]`)),
		chromedp.SetValue(chromedp.CSS("#bulk-status"), "resolved"),
		chromedp.SetValue(chromedp.CSS("#bulk-assignee"), "alice@example.test"),
	)
	picked := []string{b.text(ctx, "table.items tbody tr:nth-child(2) .item-title"), b.text(ctx, "table.items tbody tr:nth-child(3) .item-title")}
	b.shot(ctx, "bulk-selected")
	if got := b.submit(ctx, "bulk edit", "#bulk-submit"); got != http.StatusOK {
		t.Fatalf("bulk edit: %d", got)
	}
	if got := b.text(ctx, "#bulk-summary"); got != "2 of 2 changed" {
		t.Errorf("bulk summary: %q", got)
	}
	if got := b.text(ctx, "#bulk-results tbody"); !strings.Contains(got, picked[0]) || !strings.Contains(got, picked[1]) || strings.Count(got, "done") != 2 {
		t.Errorf("bulk results: %q", got)
	}
	b.shot(ctx, "bulk-results")
	var page struct {
		Items []struct {
			Title  string         `json:"title"`
			Status string         `json:"status"`
			Fields map[string]any `json:"fields"`
		} `json:"items"`
	}
	in.mustDo(200, "GET", "/api/v1/targets/"+fx.target+"/items?status=resolved&sort=title", nil, &page)
	var resolved []string
	for _, it := range page.Items {
		if it.Fields["assignee_email"] != "alice@example.test" {
			t.Errorf("%s: assignee %v", it.Title, it.Fields["assignee_email"])
		}
		resolved = append(resolved, it.Title)
	}
	if diff := cmp.Diff(picked, resolved); diff != "" {
		t.Errorf("resolved by the bulk edit (-want +got):\n%s", diff)
	}
	b.submit(ctx, "back to the list", "#bulk-back")
	if loc := b.location(ctx); loc != list+"?sort=title" {
		t.Errorf("back from the bulk edit: %q", loc)
	}
	// By assignee, the other way: the two assigned ones first.
	b.do(ctx, "sort by assignee", chromedp.Click(chromedp.CSS(`th a.sort[href*="sort=assignee"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=ascending]`)))
	b.do(ctx, "sort by assignee descending", chromedp.Click(chromedp.CSS(`th[aria-sort=ascending] a.sort`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=descending]`)))
	if got := b.listTitles(ctx)[:2]; !cmp.Equal(got, []string{picked[1], picked[0]}) { // ties: by id, descending too
		t.Errorf("by assignee, descending: first %q, want %q", got, picked)
	}

	// 500 px: no horizontal scroll of the list or the item page.
	b.do(ctx, "narrow viewport", chromedp.EmulateViewport(500, 900))
	for _, p := range []string{list, "/items/" + fx.vuln} {
		b.open(ctx, p)
		if w := b.eval(ctx, `String(document.documentElement.scrollWidth)`); mustAtoi(t, w) > 500 {
			t.Errorf("%s at 500 px: scrollWidth %s", p, w)
		}
	}
	b.open(ctx, list)
	b.shot(ctx, "list-500px")
	saveDocShot(t, b, ctx, "items-list-500px.png", false)
	b.do(ctx, "wide viewport", chromedp.EmulateViewport(1280, 900))
	b.open(ctx, list)
	saveDocShot(t, b, ctx, "items-list.png", false)
}

// fetchText fetches a URL (a JavaScript expression) in the page, with
// its cookies, and returns the body.
func (b *tab) fetchText(ctx context.Context, urlExpr string) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+urlExpr+`).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch %s: %v", urlExpr, err)
	}
	return s
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("read CSV: %v\n%.500s", err, s)
	}
	return rows
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// saveDocShot writes a screenshot into docs/screenshots when
// VULNSYNC_DOC_SCREENSHOTS is set (to refresh the README's pictures).
func saveDocShot(t *testing.T, b *tab, ctx context.Context, name string, full bool) {
	t.Helper()
	if os.Getenv("VULNSYNC_DOC_SCREENSHOTS") == "" {
		return
	}
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile("../../docs/screenshots/"+name, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
