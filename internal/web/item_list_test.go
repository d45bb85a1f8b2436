package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func TestLineDiff(t *testing.T) {
	render := func(ls []diffLine) []string {
		var out []string
		for _, l := range ls {
			if l.Skipped > 0 {
				out = append(out, "…"+strings.Repeat(".", l.Skipped))
				continue
			}
			out = append(out, l.Op+l.Text)
		}
		return out
	}
	for _, c := range []struct {
		name, old, new string
		want           []string
	}{
		{"one line changed far from the ends", "a\nb\nc\nd\ne\nf\ng\nh", "a\nb\nc\nd\nE\nf\ng\nh",
			[]string{"…" + "..", " c", " d", "-e", "+E", " f", " g", "…" + "."}}, // a and b folded, then h
		{"added", "", "x\ny", []string{"+x", "+y"}},
		{"removed", "x\ny", "", []string{"-x", "-y"}},
		{"moved line", "a\nb\nc", "b\nc\na", []string{"-a", " b", " c", "+a"}},
		{"CRLF is LF", "a\r\nb\nc\nd", "a\nb\nc\nD", []string{"…" + ".", " b", " c", "-d", "+D"}}, // a folded: beyond the context
	} {
		got := render(lineDiff(c.old, c.new))
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	// Beyond the table's bound, still a correct (if coarse) diff.
	big := strings.Repeat("x\n", 2100)
	got := lineDiff("start\n"+big+"end", "START\n"+strings.Repeat("y\n", 2100)+"end")
	adds, dels := 0, 0
	for _, l := range got {
		switch l.Op {
		case "+":
			adds++
		case "-":
			dels++
		}
	}
	if adds != 2101 || dels != 2101 {
		t.Errorf("coarse diff: %d added, %d removed; want 2101 each", adds, dels)
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+cmd": "'+cmd", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"plain": "plain", "": "", "a=b": "a=b",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// The list's forms without a browser: a bulk edit applies per item and
// reports each (an item of another target is refused, the rest applied),
// reaching history; the CSV follows the filter; bad list queries are 400.
func TestBulkEditAndExport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	web, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(target, title string) tracker.Item {
		it, err := e.svc.CreateItem(ctx, service.System, target, tracker.NewItem{Kind: tracker.KindRisk, Title: title, Severity: "low"})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	a, c := mk(web.ID, "alpha"), mk(web.ID, "-charlie")
	elsewhere := mk(other.ID, "elsewhere")
	if _, err := e.people.CreateUser(ctx, service.Actor{Role: tracker.RoleAdmin}, people.NewUser{Email: "bob@example.test", Name: "Bob", Role: tracker.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}

	res := b.post("/targets/"+web.ID+"/items/bulk", url.Values{"csrf_token": {tok}, "item": {a.ID, c.ID, elsewhere.ID},
		"status": {"resolved"}, "assignee": {"bob@example.test"}, "back": {"/targets/" + web.ID + "?sort=title"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, `<strong id="bulk-summary">2 of 3 changed</strong>`) ||
		!strings.Contains(res.body, "belongs to another target") || !strings.Contains(res.body, `href="/targets/`+web.ID+`?sort=title"`) {
		t.Fatalf("bulk edit: %d %.3000s", res.status, res.body)
	}
	for _, id := range []string{a.ID, c.ID} {
		it, _ := e.svc.GetItem(ctx, id)
		if it.Status != tracker.StatusResolved || it.Fields["assignee_email"] != "bob@example.test" {
			t.Errorf("%s after the bulk edit: %s %v", it.Title, it.Status, it.Fields)
		}
		hist, _ := e.svc.History(ctx, id)
		if last := hist[len(hist)-1]; last.Field != "status" && last.Field != "assignee_email" {
			t.Errorf("%s: the bulk edit left no history (%+v)", it.Title, last)
		}
	}
	if it, _ := e.svc.GetItem(ctx, elsewhere.ID); it.Status != tracker.StatusOpen {
		t.Errorf("an item of another target was changed by the bulk edit")
	}
	// An unknown assignee is refused per item, by the same rule as an edit.
	res = b.post("/targets/"+web.ID+"/items/bulk", url.Values{"csrf_token": {tok}, "item": {a.ID}, "assignee": {"nobody@example.test"}})
	if !strings.Contains(res.body, "0 of 1 changed") || !strings.Contains(res.body, "no active vulnsync user") {
		t.Errorf("bulk edit with an unknown assignee: %.2000s", res.body)
	}
	// Nothing chosen, or nothing selected: a 400, nothing changed.
	for _, form := range []url.Values{{"item": {a.ID}}, {"status": {"open"}}} {
		form.Set("csrf_token", tok)
		if res := b.post("/targets/"+web.ID+"/items/bulk", form); res.status != http.StatusBadRequest {
			t.Errorf("bulk edit %v: %d, want 400", form, res.status)
		}
	}

	// A viewer reads the list and exports it, without the bulk controls.
	vu, err := e.people.CreateUser(ctx, service.Actor{Role: tracker.RoleAdmin}, people.NewUser{Email: "v@example.test", Name: "V", Role: tracker.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	vt, err := e.people.CreateToken(ctx, service.Actor{Role: tracker.RoleAdmin}, vu.ID, people.NewToken{Name: "ui"})
	if err != nil {
		t.Fatal(err)
	}
	viewer := e.browser()
	viewer.signInWith(vt.Token)
	if res := viewer.get("/targets/" + web.ID); res.status != http.StatusOK || strings.Contains(res.body, `name="item"`) || strings.Contains(res.body, "bulk-submit") || !strings.Contains(res.body, "alpha") {
		t.Errorf("viewer's list: %d, bulk controls shown or items missing", res.status)
	}
	if res := viewer.get("/items/" + a.ID); res.status != http.StatusOK || strings.Contains(res.body, "edit-form") || strings.Contains(res.body, "delete-link") {
		t.Errorf("viewer's item page: %d, edit form or delete link shown", res.status)
	}
	if res := viewer.get("/targets/" + web.ID + "/items.csv"); res.status != http.StatusOK {
		t.Errorf("viewer's CSV: %d", res.status)
	}

	csvOf := func(q string) [][]string {
		res := b.get("/targets/" + web.ID + "/items.csv" + q)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(res.header.Get("Content-Disposition"), `filename="web-items.csv"`) {
			t.Fatalf("CSV %s: %d %v", q, res.status, res.header)
		}
		rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	titles := func(rows [][]string) []string {
		var out []string
		for _, r := range rows[1:] {
			out = append(out, r[3])
		}
		return out
	}
	if diff := cmp.Diff([]string{"'-charlie", "alpha"}, titles(csvOf("?sort=title"))); diff != "" {
		t.Errorf("CSV sorted by title (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alpha"}, titles(csvOf("?q=alph"))); diff != "" {
		t.Errorf("CSV of a search (-want +got):\n%s", diff)
	}
	for _, q := range []string{"?sort=jira", "?order=up", "?severity=urgent", "?q=" + strings.Repeat("x", 201)} {
		if res := b.get("/targets/" + web.ID + q); res.status != http.StatusBadRequest {
			t.Errorf("list %s: %d, want 400", q, res.status)
		}
		if res := b.get("/targets/" + web.ID + "/items.csv" + q); res.status != http.StatusBadRequest {
			t.Errorf("CSV %s: %d, want 400", q, res.status)
		}
	}
}

// The edit form: a refused change keeps what was typed, with the error
// next to its field; a form naming no typed field changes only what it
// sends.
func TestEditFormKeepsInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	tg, _ := e.svc.CreateTarget(ctx, tracker.Target{Name: "web"})
	if _, err := e.svc.RegisterField(ctx, tracker.FieldDef{Name: "bounty", Type: tracker.TypeNumber, Min: new(float64), Max: ptr(100.0)}); err != nil {
		t.Fatal(err)
	}
	it, _ := e.svc.CreateItem(ctx, service.System, tg.ID, tracker.NewItem{Kind: tracker.KindRisk, Title: "t", Severity: "low", Fields: map[string]any{"cwe": "CWE-1"}})
	res := b.post("/items/"+it.ID, url.Values{"csrf_token": {tok}, "title": {"typed title"}, "description": {"typed"}, "severity": {"high"}, "status": {"open"},
		"field": {"bounty", "cwe"}, "fields.bounty": {"500"}, "fields.cwe": {"CWE-2"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, `data-error-for="bounty">must be between 0 and 100<`) ||
		!strings.Contains(res.body, `value="typed title"`) || !strings.Contains(res.body, `value="CWE-2"`) || !strings.Contains(res.body, `value="500"`) {
		t.Fatalf("refused edit: %d %.4000s", res.status, res.body)
	}
	if got, _ := e.svc.GetItem(ctx, it.ID); got.Title != "t" || got.Fields["cwe"] != "CWE-1" {
		t.Errorf("a refused edit changed the item: %+v", got)
	}
	// Clearing a field removes it.
	if res := b.post("/items/"+it.ID, url.Values{"csrf_token": {tok}, "field": {"cwe"}, "fields.cwe": {""}}); res.status != http.StatusSeeOther {
		t.Fatalf("clear cwe: %d", res.status)
	}
	if got, _ := e.svc.GetItem(ctx, it.ID); got.Fields["cwe"] != nil || got.Title != "t" {
		t.Errorf("after clearing cwe: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

// A filtered total stops counting past store.MaxItemCount ("+" is
// escaped as &#43;); an unfiltered
// one comes from the counters, exact.
func TestListTotals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	tg, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := e.svc.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var items []tracker.Item
	for i := range store.MaxItemCount + 5 {
		it, _, err := cat.Build(tg.ID, uuid.Must(uuid.NewV7()).String(), tracker.NewItem{Kind: tracker.KindRisk, Title: fmt.Sprintf("Bulk risk %d", i), Severity: "low"},
			nil, tracker.Change{Actor: "test", Origin: tracker.OriginVulnsync, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	if err := e.svc.Store().(store.BulkLoader).BulkCreateItems(ctx, items, nil); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"":                   `<strong>1,005</strong> top-level items · page <strong id="page-no">1</strong> of <span id="page-count">21</span>`,
		"?q=bulk":            `<strong>1,000&#43;</strong> items match “bulk” · page <strong id="page-no">1</strong> of <span id="page-count">20&#43;</span>`,
		"?q=risk+1000":       `<strong>1</strong> item matches “risk 1000” · page <strong id="page-no">1</strong> of <span id="page-count">1</span>`,
		"?severity=low":      `<strong>1,000&#43;</strong> items · page`,
		"?severity=critical": `No items match these filters.`,
	} {
		if res := b.get("/targets/" + tg.ID + q); res.status != http.StatusOK || !strings.Contains(res.body, want) {
			t.Errorf("list %q: %d, lacks %s\n%s", q, res.status, want, res.body[strings.Index(res.body, "list-total"):][:300])
		}
	}
}
