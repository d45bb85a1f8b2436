package web

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The dashboard shows the counts of what was created, per target and in
// the charts, the Jira side of each target and its sync health; a viewer
// reads it, and it is where / and sign-in lead.
func TestDashboardShowsCountsAndSyncHealth(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	_, in := integrated(t, e, b, b.csrf("/targets"))
	web, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "website"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(targetID string, n int, kind string, status tracker.Status) {
		t.Helper()
		for range n {
			if _, err := e.svc.CreateItem(ctx, service.System, targetID, tracker.NewItem{Kind: kind, Title: "x", Severity: "high", Status: status}); err != nil {
				t.Fatalf("create %s %s: %v", kind, status, err)
			}
		}
	}
	create(in.TargetID, 3, tracker.KindVulnerability, tracker.StatusOpen)
	create(in.TargetID, 2, tracker.KindVulnerability, tracker.StatusInProgress)
	create(in.TargetID, 1, tracker.KindVulnerability, tracker.StatusResolved)
	create(web.ID, 4, tracker.KindRisk, tracker.StatusOpen)
	create(web.ID, 1, tracker.KindRisk, tracker.StatusAcceptedRisk)
	e.lastWebhook = time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	e.events = []store.SyncEvent{
		{ID: 1, IntegrationID: in.ID, ItemID: "i1", Action: "update", Result: "error", At: t0},
		{ID: 2, IntegrationID: in.ID, ItemID: "i1", Action: "update", Result: "ok", At: t0.Add(time.Second)},
		{ID: 3, IntegrationID: in.ID, ItemID: "i2", Action: "transition", Result: "error", At: t0},
	}

	if a := b.get("/"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard" {
		t.Fatalf("signed in GET /: %d to %q, want /dashboard", a.status, a.header.Get("Location"))
	}
	page := b.get("/dashboard")
	if page.status != http.StatusOK {
		t.Fatalf("GET /dashboard: %d %.500s", page.status, page.body)
	}
	body := page.body
	for _, want := range []string{
		`<strong id="unresolved-total">9</strong> unresolved`,
		`<a href="/dashboard" aria-current="page">Dashboard</a>`,
		`<desc id="chart-status-desc">Open: 7, In progress: 2, Fixed: 0, Resolved: 1, Accepted risk: 1, False positive: 0.</desc>`,
		`<desc id="chart-kind-desc">Risk: 4, Vulnerability: 5.</desc>`,
		`<td><span class="state state-needs_mapping">Needs mapping</span></td>`, // no mapping saved yet
		`<time datetime="2026-03-01T08:30:00Z">2026-03-01 08:30 UTC</time>`,
		`>1 failed</a>`, // the recovered update does not count
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
	rows := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr data-target="[^"]+">\s*<th scope="row"><a href="/targets/[^"]+">([^<]+)</a></th>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">\d+</td>\s*<td class="num">(\d+)</td>\s*<td class="num"[^>]*>(\d+)</td>\s*<td>(.*?)</td>`).FindAllStringSubmatch(body, -1) {
		rows[m[1]] = m[2:]
	}
	for name, want := range map[string][]string{
		"payments": {"3", "2", "1", "0", `<a href="/integrations/targets/` + in.ID + `/activity">SEC</a>`},
		"website":  {"4", "0", "0", "1", `<span class="muted">not integrated</span>`},
	} {
		got := rows[name]
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row of %s: %q, want %q", name, got, want)
		}
	}

	// A viewer reads the same numbers.
	admin := service.Actor{Role: tracker.RoleAdmin}
	u, err := e.people.CreateUser(ctx, admin, people.NewUser{Email: "v@example.test", Name: "v", Role: tracker.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	tv, err := e.people.CreateToken(ctx, admin, u.ID, people.NewToken{Name: "ui"})
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.browser()
	viewer.signInWith(tv.Token)
	if a := viewer.get("/dashboard"); a.status != http.StatusOK || !strings.Contains(a.body, `<strong id="unresolved-total">9</strong>`) {
		t.Errorf("viewer GET /dashboard: %d, want 200 with 9 unresolved", a.status)
	}
}

// Without targets the dashboard says so, and draws empty charts.
func TestDashboardEmpty(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	page := b.get("/dashboard")
	if page.status != http.StatusOK || !strings.Contains(page.body, "No targets yet.") || !strings.Contains(page.body, `<strong id="unresolved-total">0</strong>`) {
		t.Errorf("empty dashboard: %d %.2000s", page.status, page.body)
	}
	if strings.Contains(page.body, "Jira sync health") {
		t.Errorf("the sync health shows without the Jira side configured")
	}
}

// The dashboard charts open items by severity and by age, the mean time to
// resolve per month over the last six, and counts overdue items — all from
// the counters the store keeps as items change.
func TestDashboardChartsSeverityAgeTimeToResolveAndOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	now := e.clock.Now() // 2026-03-01 09:00 UTC
	tg, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(title string, sev tracker.Severity, fields map[string]any) tracker.Item {
		t.Helper()
		it, err := e.svc.CreateItem(ctx, service.System, tg.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: title, Severity: sev, Fields: fields})
		if err != nil {
			t.Fatalf("create %s: %v", title, err)
		}
		return it
	}
	resolve := func(it tracker.Item) {
		t.Helper()
		st := tracker.StatusResolved
		if _, err := e.svc.UpdateItem(ctx, service.System, it.ID, tracker.Patch{Status: &st}); err != nil {
			t.Fatalf("resolve %s: %v", it.Title, err)
		}
	}
	e.clock.Set(now.AddDate(0, 0, -100)) // 2025-11-21
	create("old critical", tracker.SeverityCritical, nil)
	slow := create("slow high", tracker.SeverityHigh, nil)
	e.clock.Set(now.AddDate(0, 0, -30)) // 2026-01-30
	resolve(slow)                       // after 70 days, in January
	create("month-old low", tracker.SeverityLow, nil)
	e.clock.Set(now.AddDate(0, 0, -2)) // 2026-02-27
	create("new critical", tracker.SeverityCritical, map[string]any{"due_date": "2026-02-28"})
	quick := create("quick medium", tracker.SeverityMedium, map[string]any{"due_date": "2026-02-20"})
	e.clock.Advance(12 * time.Hour)
	resolve(quick) // after 12 hours, in February; resolved, so not overdue
	e.clock.Set(now)

	b := e.browser()
	b.signIn()
	page := b.get("/dashboard")
	if page.status != http.StatusOK {
		t.Fatalf("GET /dashboard: %d %.500s", page.status, page.body)
	}
	for _, want := range []string{
		`<desc id="chart-severity-desc">Critical: 2, High: 0, Medium: 0, Low: 1, Info: 0.</desc>`,
		`<desc id="chart-age-desc">Under a week: 1, 1–4 weeks: 0, 1–3 months: 1, 3–12 months: 1, Over a year: 0.</desc>`,
		`<desc id="chart-mttr-desc">Oct 2025: none resolved, Nov 2025: none resolved, Dec 2025: none resolved, Jan 2026: 70 days (1 resolved), Feb 2026: 12.0 hours (1 resolved), Mar 2026: none resolved.</desc>`,
		`<strong id="overdue-total" class="fail">1 overdue</strong>`,
		`<a class="fail" href="/targets/` + tg.ID + `?overdue=true">1</a>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
}
