package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// itemListTests check the item list's text search, sorts, cursors in both
// directions and bounded count (issue 15).
var itemListTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"ItemSearch", testItemSearch},
	{"ItemSorts", testItemSorts},
	{"CountItems", testCountItems},
}

func listIDs(t *testing.T, s store.Store, f store.ItemFilter) []string {
	t.Helper()
	ids, _ := pageAll(t, s, f)
	return ids
}

func titlesOf(t *testing.T, s store.Store, ids []string) []string {
	t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		it, err := getItem(t, s, id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = it.Title
	}
	slices.Sort(out)
	return out
}

// Search finds words by prefix in title, description and asset, of live
// items of the target only, and follows updates and deletes.
func testItemSearch(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	other := createTarget(t, s, "other")
	mk := func(target, title, desc, asset string) tracker.Item {
		n := vuln(title)
		n.Description = desc
		if asset != "" {
			n.Fields = map[string]any{"asset_id": asset}
		}
		return createItem(t, s, target, n, nil, base)
	}
	sqli := mk(tg.ID, "SQL injection in /search", "Found with **sqlmap**.", "")
	xss := mk(tg.ID, "Reflected XSS", "The q parameter is echoed unescaped.", "payments-frontend")
	mk(tg.ID, "Weak TLS ciphers", "Server offers RC4.", "payments-db")
	mk(other.ID, "SQL injection elsewhere", "", "")
	gone := mk(tg.ID, "SQL injection, deleted", "", "")
	inTx(t, s, func(tx store.Tx) error {
		return tx.DeleteItem(t.Context(), gone.ID, tracker.HistoryEntry{ItemID: gone.ID, Field: "deleted", Old: "false", New: "true", Actor: "a", Origin: tracker.OriginVulnsync, At: base})
	})
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"sql", []string{sqli.Title}},
		{"INJEC", []string{sqli.Title}},
		{"sqlmap", []string{sqli.Title}},                      // description, through Markdown
		{"payments", []string{xss.Title, "Weak TLS ciphers"}}, // asset
		{"payments db", []string{"Weak TLS ciphers"}},         // every word
		{"unescaped xss", []string{xss.Title}},
		{"nothing-like-this", []string{}},
		{`"quoted" AND * OR (`, []string{}}, // search syntax is taken as words
		{"  ", []string{sqli.Title, xss.Title, "Weak TLS ciphers"}},
	} {
		got := titlesOf(t, s, listIDs(t, s, store.ItemFilter{TargetID: tg.ID, Search: c.q, Limit: 2}))
		want := slices.Clone(c.want)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", c.q, diff)
		}
	}

	// An update re-indexes the item: old words go, new ones come.
	upd := sqli
	next := "Command injection in /export"
	h, err := cat.Apply(&upd, tracker.Patch{Title: &next, Fields: map[string]any{"asset_id": "exporter"}}, change(base.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), upd, sqli.Version, h) })
	// ("sql" still finds it: "sqlmap" is in its description.)
	for q, want := range map[string][]string{"sql": {next}, "search": {}, "command": {next}, "exporter": {next}} {
		if got := titlesOf(t, s, listIDs(t, s, store.ItemFilter{TargetID: tg.ID, Search: q})); !slices.Equal(got, want) {
			t.Errorf("after the update, search %q: got %q, want %q", q, got, want)
		}
	}
	wantErr(t, "search too long", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID, Search: strings.Repeat("a", store.MaxSearchLen+1)})
		return err
	}), tracker.EInvalid, "search")
}

// Every sort, both ways, pages through the items in the order of its key
// then id; the previous cursors walk the same pages back.
func testItemSorts(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	kinds := []string{tracker.KindVulnerability, tracker.KindRisk, "pentest_note"}
	var items []tracker.Item
	for i := range 23 {
		n := tracker.NewItem{
			Kind:     kinds[i%3],
			Title:    fmt.Sprintf("%c%02d", 'a'+(i*7)%26, i%9),
			Severity: tracker.Severities[(i*3)%5],
			Status:   []tracker.Status{tracker.StatusOpen, tracker.StatusResolved}[(i/3)%2],
		}
		if i%4 != 0 {
			n.Fields = map[string]any{"assignee_email": fmt.Sprintf("%c@example.test", 'a'+(i*5)%7)}
		}
		items = append(items, createItem(t, s, tg.ID, n, nil, base.Add(time.Duration((i*7)%5)*time.Second)))
	}
	keys := map[store.ItemSort]func(it tracker.Item) string{
		store.SortCreated: func(tracker.Item) string { return "" },
		store.SortTitle:   func(it tracker.Item) string { return it.Title },
		store.SortKind:    func(it tracker.Item) string { return it.Kind },
		store.SortSeverity: func(it tracker.Item) string {
			return fmt.Sprint(slices.Index(tracker.Severities, it.Severity))
		},
		store.SortStatus:  func(it tracker.Item) string { return string(it.Status) },
		store.SortUpdated: func(it tracker.Item) string { return it.UpdatedAt.UTC().Format(time.RFC3339Nano) },
		store.SortAssignee: func(it tracker.Item) string {
			a, _ := it.Fields["assignee_email"].(string)
			return a
		},
	}
	for _, sort := range store.ItemSorts {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(items)
			slices.SortStableFunc(want, func(a, b tracker.Item) int {
				c := strings.Compare(keys[sort](a), keys[sort](b))
				if c == 0 {
					c = strings.Compare(a.ID, b.ID)
				}
				if desc {
					c = -c
				}
				return c
			})
			wantIDs := make([]string, len(want))
			for i, it := range want {
				wantIDs[i] = it.ID
			}
			f := store.ItemFilter{TargetID: tg.ID, Sort: sort, Desc: desc, Limit: 4}
			if diff := cmp.Diff(wantIDs, listIDs(t, s, f)); diff != "" {
				t.Errorf("sort %s desc=%v (-want +got):\n%s", sort, desc, diff)
				continue
			}
			// Forward to the last page, then back through PrevCursor.
			var pages [][]string
			var page store.ItemPage
			for {
				view(t, s, func(tx store.Tx) error { var err error; page, err = tx.ListItems(t.Context(), f); return err })
				ids := []string{}
				for _, it := range page.Items {
					ids = append(ids, it.ID)
				}
				pages = append(pages, ids)
				if page.NextCursor == "" {
					break
				}
				f.Cursor = page.NextCursor
			}
			for i := len(pages) - 2; i >= 0; i-- {
				if page.PrevCursor == "" {
					t.Fatalf("sort %s desc=%v: page %d has no previous cursor", sort, desc, i+2)
				}
				f.Cursor = page.PrevCursor
				view(t, s, func(tx store.Tx) error { var err error; page, err = tx.ListItems(t.Context(), f); return err })
				got := []string{}
				for _, it := range page.Items {
					got = append(got, it.ID)
				}
				if diff := cmp.Diff(pages[i], got); diff != "" {
					t.Errorf("sort %s desc=%v: back to page %d (-want +got):\n%s", sort, desc, i+1, diff)
				}
			}
			if page.PrevCursor != "" || page.NextCursor == "" {
				t.Errorf("sort %s desc=%v: the first page, reached back, has prev %q next %q", sort, desc, page.PrevCursor, page.NextCursor)
			}
		}
	}
	// A cursor is bound to its sort and direction.
	var first store.ItemPage
	view(t, s, func(tx store.Tx) error {
		var err error
		first, err = tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID, Sort: store.SortTitle, Limit: 5})
		return err
	})
	for _, f := range []store.ItemFilter{
		{TargetID: tg.ID, Sort: store.SortKind, Cursor: first.NextCursor},
		{TargetID: tg.ID, Sort: store.SortTitle, Desc: true, Cursor: first.NextCursor},
	} {
		wantErr(t, "cursor of another sort", txErr(t, s, func(tx store.Tx) error { _, err := tx.ListItems(t.Context(), f); return err }), tracker.EInvalid, "cursor")
	}
	wantErr(t, "unknown sort", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.ListItems(t.Context(), store.ItemFilter{TargetID: tg.ID, Sort: "jira"})
		return err
	}), tracker.EInvalid, "jira")
}

// CountItems counts what the list shows, reading at most limit+1 rows.
func testCountItems(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "web")
	for i := range 12 {
		n := vuln(fmt.Sprintf("item %d", i))
		if i%3 == 0 {
			n.Title = fmt.Sprintf("openssl %d", i)
			n.Status = tracker.StatusResolved
		}
		v := createItem(t, s, tg.ID, n, nil, base)
		if i < 2 {
			createItem(t, s, tg.ID, tracker.NewItem{Kind: tracker.KindFinding, Title: "finding", Severity: "low", ParentID: v.ID}, &v, base)
		}
	}
	for _, c := range []struct {
		f     store.ItemFilter
		limit int
		want  int
	}{
		{store.ItemFilter{TargetID: tg.ID}, 1000, 14},
		{store.ItemFilter{TargetID: tg.ID, TopLevel: true}, 1000, 12},
		{store.ItemFilter{TargetID: tg.ID}, 5, 6},
		{store.ItemFilter{TargetID: tg.ID, Search: "openssl"}, 1000, 4},
		{store.ItemFilter{TargetID: tg.ID, Status: tracker.StatusOpen}, 1000, 10},
		{store.ItemFilter{TargetID: tg.ID, Status: tracker.StatusOpen, Search: "openssl"}, 1000, 0},
	} {
		var n int
		view(t, s, func(tx store.Tx) error { var err error; n, err = tx.CountItems(t.Context(), c.f, c.limit); return err })
		if n != c.want {
			t.Errorf("CountItems %+v limit %d: got %d, want %d", c.f, c.limit, n, c.want)
		}
	}
}
