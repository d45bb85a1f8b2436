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
		`<desc id="chart-status-desc">Open: 7, In progress: 2, Resolved: 1, Accepted risk: 1, False positive: 0.</desc>`,
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
	for _, m := range regexp.MustCompile(`(?s)<tr data-target="[^"]+">\s*<th scope="row"><a href="/targets/[^"]+">([^<]+)</a></th>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num"[^>]*>(\d+)</td>\s*<td>(.*?)</td>`).FindAllStringSubmatch(body, -1) {
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
