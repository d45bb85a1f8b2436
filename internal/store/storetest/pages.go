package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// pageTests are the conformance tests of store.CountsTx and store.PagesTx
// (issue 13: every read is O(page)).
var pageTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CountersFollowWrites", testCountersFollowWrites},
	{"HistoryPages", testHistoryPages},
	{"CommentPages", testCommentPages},
	{"SyncEventPages", testSyncEventPages},
	{"BulkCreateItems", testBulkCreateItems},
	{"DashboardCounters", testDashboardCounters},
}

// countsOf reads a target's item counters and an integration's link
// counters as maps "kind/status" → n.
func countsOf(t *testing.T, s store.Store, targetID, integrationID string) (items, links map[string]int) {
	t.Helper()
	items, links = map[string]int{}, map[string]int{}
	view(t, s, func(tx store.Tx) error {
		ic, err := tx.TargetItemCounts(t.Context(), targetID)
		if err != nil {
			return err
		}
		for _, c := range ic {
			items[c.Kind+"/"+c.Status] = c.Count
		}
		lc, err := tx.LinkCounts(t.Context(), integrationID)
		if err != nil {
			return err
		}
		for _, c := range lc {
			links[c.Kind+"/"+string(c.State)] = c.Count
		}
		return nil
	})
	return items, links
}

// testCountersFollowWrites: after a random mix of creates, status changes,
// deletes and link changes (some rolled back), the counters equal what the
// rows say, counted here the slow way, and a recount finds no drift.
func testCountersFollowWrites(t *testing.T, s store.Store) {
	su := newSetup(t, s, "counted", 0)
	other := newSetup(t, s, "elsewhere", 3) // counted apart
	rng := rand.New(rand.NewPCG(13, 7))
	statuses := []tracker.Status{tracker.StatusOpen, tracker.StatusInProgress, tracker.StatusResolved}
	states := []tracker.LinkState{tracker.LinkCreating, tracker.LinkLinked, tracker.LinkUnlinked, tracker.LinkRefused}
	type model struct {
		it      tracker.Item
		deleted bool
		link    tracker.LinkState // "" when none
	}
	var items []*model
	var vulns []tracker.Item
	at := base
	for step := range 300 {
		at = at.Add(time.Second)
		op := rng.IntN(10)
		var live []*model
		for _, m := range items {
			if !m.deleted {
				live = append(live, m)
			}
		}
		switch {
		case op < 4 || len(live) == 0:
			n := vuln(fmt.Sprintf("item %d", step))
			var parent *tracker.Item
			if len(vulns) > 0 && rng.IntN(3) == 0 {
				p := vulns[rng.IntN(len(vulns))]
				parent = &p
				n = tracker.NewItem{Kind: tracker.KindFinding, Title: n.Title, Severity: tracker.SeverityLow, ParentID: p.ID}
			}
			n.Status = statuses[rng.IntN(len(statuses))]
			it, hist := build(t, su.tg.ID, n, parent, at)
			err := txErr(t, s, func(tx store.Tx) error {
				if err := tx.CreateItem(t.Context(), it, hist); err != nil {
					return err
				}
				if rng.IntN(5) == 0 {
					return fmt.Errorf("roll back on purpose")
				}
				return nil
			})
			if err != nil {
				continue
			}
			items = append(items, &model{it: it})
			if it.Kind == tracker.KindVulnerability {
				vulns = append(vulns, it)
			}
		case op < 7:
			m := live[rng.IntN(len(live))]
			next := m.it
			next.Status = statuses[rng.IntN(len(statuses))]
			next.Version++
			next.UpdatedAt = at
			inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), next, m.it.Version, nil) })
			m.it = next
		case op < 9:
			m := items[rng.IntN(len(items))] // deleted items may be linked too
			state := states[rng.IntN(len(states))]
			l := store.Link{ItemID: m.it.ID, IntegrationID: su.in.ID, State: state, UpdatedAt: at}
			if state == tracker.LinkLinked {
				l.IssueID, l.IssueKey = "1"+strconv.Itoa(step), "CNT-"+strconv.Itoa(step)
			}
			inTx(t, s, func(tx store.Tx) error { return tx.UpsertLink(t.Context(), l) })
			m.link = state
		default:
			m := live[rng.IntN(len(live))]
			if m.it.Kind == tracker.KindVulnerability {
				continue // its findings would outlive it: not what the service does
			}
			inTx(t, s, func(tx store.Tx) error {
				return tx.DeleteItem(t.Context(), m.it.ID, tracker.HistoryEntry{Field: "deleted", Old: "false", New: "true",
					Actor: "alice", Origin: tracker.OriginVulnsync, At: at})
			})
			m.deleted = true
		}
	}
	wantItems, wantLinks := map[string]int{}, map[string]int{}
	for _, m := range items {
		if m.deleted {
			continue
		}
		wantItems[m.it.Kind+"/"+string(m.it.Status)]++
		if m.link != "" {
			wantLinks[m.it.Kind+"/"+string(m.link)]++
		}
	}
	gotItems, gotLinks := countsOf(t, s, su.tg.ID, su.in.ID)
	if fmt.Sprint(gotItems) != fmt.Sprint(wantItems) {
		t.Errorf("item counters = %v, want %v", gotItems, wantItems)
	}
	if fmt.Sprint(gotLinks) != fmt.Sprint(wantLinks) {
		t.Errorf("link counters = %v, want %v", gotLinks, wantLinks)
	}
	otherItems, _ := countsOf(t, s, other.tg.ID, other.in.ID)
	if want := map[string]int{"vulnerability/open": 3}; fmt.Sprint(otherItems) != fmt.Sprint(want) {
		t.Errorf("the other target's counters = %v, want %v", otherItems, want)
	}
	var drift []store.CounterDrift
	inTx(t, s, func(tx store.Tx) error {
		var err error
		drift, err = tx.RecountCounters(t.Context())
		return err
	})
	if len(drift) != 0 {
		t.Errorf("RecountCounters found drift after ordinary writes: %+v", drift)
	}

	// Removing the integration takes its link counters with it.
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteIntegration(t.Context(), su.in.ID) })
	if _, links := countsOf(t, s, su.tg.ID, su.in.ID); len(links) != 0 {
		t.Errorf("link counters of a deleted integration = %v, want none", links)
	}
}

// testHistoryPages: paging an item's history returns every row once, in
// the order ListHistory returns them.
func testHistoryPages(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "historic")
	it := createItem(t, s, tg.ID, vuln("changing"), nil, base)
	for i := range 11 {
		next := it
		next.Title = fmt.Sprintf("changing %d", i)
		next.Version++
		next.UpdatedAt = base.Add(time.Duration(i+1) * time.Minute)
		h := []tracker.HistoryEntry{{Field: "title", Old: it.Title, New: next.Title, Actor: "alice", Origin: tracker.OriginVulnsync, At: next.UpdatedAt}}
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), next, it.Version, h) })
		it = next
	}
	all := history(t, s, it.ID)
	if len(all) < 12 {
		t.Fatalf("history has %d rows, want at least 12", len(all))
	}
	var got []int64
	cursor, pages := "", 0
	for {
		var p store.HistoryPage
		view(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.ListHistoryPage(t.Context(), store.PageFilter{ItemID: it.ID, Cursor: cursor, Limit: 5})
			return err
		})
		pages++
		if len(p.Entries) > 5 {
			t.Fatalf("page of %d rows, limit 5", len(p.Entries))
		}
		for _, h := range p.Entries {
			got = append(got, h.ID)
		}
		if cursor = p.NextCursor; cursor == "" || pages > 10 {
			break
		}
	}
	var want []int64
	for _, h := range all {
		want = append(want, h.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged history ids = %v, want %v", got, want)
	}
	if wantPages := (len(all) + 4) / 5; pages != wantPages {
		t.Errorf("%d pages, want %d", pages, wantPages)
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListHistoryPage(t.Context(), store.PageFilter{ItemID: it.ID, Cursor: "not a cursor!"})
		return err
	})
	wantErr(t, "history page with a bad cursor", err, tracker.EInvalid, "cursor")
	err = s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListHistoryPage(t.Context(), store.PageFilter{ItemID: newID()})
		return err
	})
	wantErr(t, "history page of an unknown item", err, tracker.ENotFound)
}

// testCommentPages: comments created at the same instant are still each
// listed once (the id breaks the tie), deleted ones never.
func testCommentPages(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "talkative")
	it := createItem(t, s, tg.ID, vuln("discussed"), nil, base)
	var want []string
	inTx(t, s, func(tx store.Tx) error {
		for i := range 9 {
			c := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: "alice"}, Body: fmt.Sprintf("comment %d", i),
				Origin: tracker.OriginVulnsync, CreatedAt: base.Add(time.Duration(i/3) * time.Minute)}
			if err := tx.CreateComment(t.Context(), c); err != nil {
				return err
			}
			if i == 4 {
				if err := tx.DeleteComment(t.Context(), c.ID); err != nil {
					return err
				}
				continue
			}
			want = append(want, c.ID)
		}
		return nil
	})
	var got []string
	cursor := ""
	for range 10 {
		var p store.CommentPage
		view(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.ListCommentsPage(t.Context(), store.PageFilter{ItemID: it.ID, Cursor: cursor, Limit: 2})
			return err
		})
		for _, c := range p.Comments {
			got = append(got, c.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	// Same creation time: by id, and ids are UUIDv7 in creation order.
	if !slices.Equal(got, want) {
		t.Errorf("paged comments = %v\nwant %v", got, want)
	}
}

// testSyncEventPages: every filter and the failures-first order page
// through the sync log returning each matching event once, in order.
func testSyncEventPages(t *testing.T, s store.Store) {
	su := newSetup(t, s, "logged", 3)
	results := []string{"ok", "error", "skipped"}
	dirs := []string{"to_jira", "from_jira"}
	actions := []string{"create", "update", "comment"}
	var all []store.SyncEvent
	inTx(t, s, func(tx store.Tx) error {
		for i := range 40 {
			e := store.SyncEvent{IntegrationID: su.in.ID, ItemID: su.items[i%3].ID, Direction: dirs[i%2], Action: actions[i%3],
				Result: results[(i/2)%3], At: base.Add(time.Duration(i/4) * time.Second)} // four events per instant
			if err := tx.AddSyncEvent(t.Context(), e); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		var err error
		all, err = tx.ListSyncEvents(t.Context(), store.SyncEventFilter{IntegrationID: su.in.ID, Limit: store.MaxEventPageSize})
		return err
	})
	if len(all) != 40 {
		t.Fatalf("the log has %d events, want 40", len(all))
	}
	newestFirst := func(a, b store.SyncEvent) bool {
		return a.At.After(b.At) || a.At.Equal(b.At) && a.ID > b.ID
	}
	for i := 1; i < len(all); i++ {
		if !newestFirst(all[i-1], all[i]) {
			t.Fatalf("the log is not newest first at %d: %+v then %+v", i, all[i-1], all[i])
		}
	}
	for _, c := range []struct {
		name string
		f    store.SyncEventFilter
		keep func(store.SyncEvent) bool
	}{
		{"all", store.SyncEventFilter{}, func(store.SyncEvent) bool { return true }},
		{"result", store.SyncEventFilter{Result: "error"}, func(e store.SyncEvent) bool { return e.Result == "error" }},
		{"direction", store.SyncEventFilter{Direction: "from_jira"}, func(e store.SyncEvent) bool { return e.Direction == "from_jira" }},
		{"action", store.SyncEventFilter{Action: "comment"}, func(e store.SyncEvent) bool { return e.Action == "comment" }},
		{"item", store.SyncEventFilter{ItemID: su.items[1].ID}, func(e store.SyncEvent) bool { return e.ItemID == su.items[1].ID }},
		{"item and result", store.SyncEventFilter{ItemID: su.items[0].ID, Result: "ok"}, func(e store.SyncEvent) bool {
			return e.ItemID == su.items[0].ID && e.Result == "ok"
		}},
		{"failures first", store.SyncEventFilter{FailuresFirst: true}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []int64
			if c.keep != nil {
				for _, e := range all {
					if c.keep(e) {
						want = append(want, e.ID)
					}
				}
			} else {
				for _, e := range all {
					if e.Result == "error" {
						want = append(want, e.ID)
					}
				}
				for _, e := range all {
					if e.Result != "error" {
						want = append(want, e.ID)
					}
				}
			}
			f := c.f
			f.IntegrationID, f.Limit = su.in.ID, 3
			var got []int64
			for range 30 {
				var p store.SyncEventPage
				view(t, s, func(tx store.Tx) error {
					var err error
					p, err = tx.ListSyncEventsPage(t.Context(), f)
					return err
				})
				if len(p.Events) > 3 {
					t.Fatalf("page of %d events, limit 3", len(p.Events))
				}
				for _, e := range p.Events {
					got = append(got, e.ID)
				}
				if f.Cursor = p.NextCursor; f.Cursor == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged ids = %v\nwant %v", got, want)
			}
		})
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListSyncEventsPage(t.Context(), store.SyncEventFilter{IntegrationID: su.in.ID, Result: "maybe"})
		return err
	})
	wantErr(t, "unknown result filter", err, tracker.EInvalid, "result")
	err = s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListSyncEventsPage(t.Context(), store.SyncEventFilter{IntegrationID: su.in.ID, Cursor: "eA"})
		return err
	})
	wantErr(t, "bad sync log cursor", err, tracker.EInvalid, "cursor")
}

// testBulkCreateItems: a bulk load is listed like items created one by one,
// and its counters are right.
func testBulkCreateItems(t *testing.T, s store.Store) {
	bl, ok := s.(store.BulkLoader)
	if !ok {
		t.Skip("this store does not bulk load")
	}
	su := newSetup(t, s, "bulky", 0)
	var items []tracker.Item
	var links []store.Link
	for i := range 1203 {
		it, _ := build(t, su.tg.ID, vuln(fmt.Sprintf("bulk %d", i)), nil, base)
		items = append(items, it)
		if i%2 == 0 {
			links = append(links, store.Link{ItemID: it.ID, IntegrationID: su.in.ID, State: tracker.LinkLinked,
				IssueID: strconv.Itoa(10000 + i), IssueKey: "BULKY-" + strconv.Itoa(i), UpdatedAt: base})
		}
	}
	if err := bl.BulkCreateItems(t.Context(), items, links); err != nil {
		t.Fatalf("BulkCreateItems: %v", err)
	}
	if err := bl.SettleBulkLoad(t.Context()); err != nil {
		t.Fatalf("SettleBulkLoad: %v", err)
	}
	ids, _ := pageAll(t, s, store.ItemFilter{TargetID: su.tg.ID, Limit: 500})
	if len(ids) != len(items) {
		t.Errorf("listed %d items, want %d", len(ids), len(items))
	}
	gotItems, gotLinks := countsOf(t, s, su.tg.ID, su.in.ID)
	if want := map[string]int{"vulnerability/open": 1203}; fmt.Sprint(gotItems) != fmt.Sprint(want) {
		t.Errorf("item counters = %v, want %v", gotItems, want)
	}
	if want := map[string]int{"vulnerability/linked": 602}; fmt.Sprint(gotLinks) != fmt.Sprint(want) {
		t.Errorf("link counters = %v, want %v", gotLinks, want)
	}
}

// testDashboardCounters: open items per kind, severity and day of creation
// follow creates, severity and status changes and deletes; resolutions
// are counted in their month with the time they took; a recount finds no
// drift in what the writers kept.
func testDashboardCounters(t *testing.T, s store.Store) {
	su := newSetup(t, s, "dash", 0)
	day1 := time.Date(2025, 1, 30, 23, 30, 0, 0, time.UTC) // 2025-01-30 in UTC, 2025-01-31 in CET
	day2 := day1.Add(48 * time.Hour)
	mk := func(title string, sev tracker.Severity, at time.Time) tracker.Item {
		n := vuln(title)
		n.Severity = sev
		return createItem(t, s, su.tg.ID, n, nil, at.In(time.FixedZone("CET", 3600)))
	}
	a := mk("a", tracker.SeverityHigh, day1)
	b := mk("b", tracker.SeverityHigh, day1)
	c := mk("c", tracker.SeverityLow, day2)
	d := mk("d", tracker.SeverityCritical, day2)
	apply := func(it tracker.Item, p tracker.Patch, at time.Time) {
		t.Helper()
		got, err := getItem(t, s, it.ID)
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		prev := got.Version
		hist, err := cat.Apply(&got, p, change(at))
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), got, prev, hist) })
	}
	ptr := func(v any) tracker.Patch {
		switch v := v.(type) {
		case tracker.Severity:
			return tracker.Patch{Severity: &v}
		case tracker.Status:
			return tracker.Patch{Status: &v}
		}
		t.Fatalf("no patch for %T", v)
		return tracker.Patch{}
	}
	apply(b, ptr(tracker.SeverityCritical), day2)                   // moves from high to critical, keeps its day
	apply(c, ptr(tracker.StatusInProgress), day2.Add(time.Hour))    // still open
	apply(a, ptr(tracker.StatusResolved), day1.Add(36*time.Hour))   // resolved on 1 February after 36 h
	apply(d, ptr(tracker.StatusFalsePositive), day2.Add(time.Hour)) // closed, not resolved
	apply(d, ptr(tracker.StatusOpen), day2.Add(2*time.Hour))        // open again
	apply(d, ptr(tracker.StatusResolved), day2.Add(26*time.Hour))   // resolved after 26 h
	apply(d, ptr(tracker.StatusOpen), day2.Add(27*time.Hour))       // reopened: counts as open again
	apply(d, ptr(tracker.StatusResolved), day2.Add(50*time.Hour))   // and resolved a second time after 50 h
	e := mk("e", tracker.SeverityMedium, day2)
	inTx(t, s, func(tx store.Tx) error {
		return tx.DeleteItem(t.Context(), e.ID, tracker.HistoryEntry{ItemID: e.ID, Field: "deleted", New: "true", Actor: "a", Origin: tracker.OriginVulnsync, At: day2.Add(time.Hour)})
	})

	var open []store.OpenItemDay
	var res, none []store.ResolutionMonth
	view(t, s, func(tx store.Tx) error {
		var err error
		if open, err = tx.OpenItemDays(t.Context(), su.tg.ID); err != nil {
			return err
		}
		if none, err = tx.ResolutionMonths(t.Context(), su.tg.ID, "2025-03"); err != nil {
			return err
		}
		res, err = tx.ResolutionMonths(t.Context(), su.tg.ID, "2025-01")
		return err
	})
	wantOpen := []store.OpenItemDay{
		{Kind: tracker.KindVulnerability, Severity: tracker.SeverityCritical, Day: "2025-01-30", Count: 1}, // b
		{Kind: tracker.KindVulnerability, Severity: tracker.SeverityLow, Day: "2025-02-01", Count: 1},      // c
	}
	if diff := cmp.Diff(wantOpen, open); diff != "" {
		t.Errorf("OpenItemDays (-want +got):\n%s", diff)
	}
	wantRes := []store.ResolutionMonth{
		{Kind: tracker.KindVulnerability, Severity: tracker.SeverityCritical, Month: "2025-02", Count: 2, Seconds: (26 + 50) * 3600},
		{Kind: tracker.KindVulnerability, Severity: tracker.SeverityHigh, Month: "2025-02", Count: 1, Seconds: 36 * 3600},
	}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("ResolutionMonths (-want +got):\n%s", diff)
	}
	if len(none) != 0 {
		t.Errorf("ResolutionMonths since 2025-03: %+v, want none", none)
	}
	var err error
	view(t, s, func(tx store.Tx) error {
		_, err = tx.ResolutionMonths(t.Context(), su.tg.ID, "March")
		return nil
	})
	wantErr(t, "resolution months since a bad month", err, tracker.EInvalid, "YYYY-MM")

	// Overdue: c (open, due yesterday) and f (open, due yesterday) are,
	// g (due today) is not yet, a (resolved) no longer is.
	due := func(it tracker.Item, day string) {
		t.Helper()
		got, err := getItem(t, s, it.ID)
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		prev := got.Version
		hist, err := cat.Apply(&got, tracker.Patch{Fields: map[string]any{"due_date": day}}, change(day2.Add(3*time.Hour)))
		if err != nil {
			t.Fatalf("Apply due date: %v", err)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateItem(t.Context(), got, prev, hist) })
	}
	due(a, "2025-02-09")
	due(c, "2025-02-09")
	f := mk("f", tracker.SeverityHigh, day2)
	due(f, "2025-02-08")
	g := mk("g", tracker.SeverityHigh, day2)
	due(g, "2025-02-10")
	var overdue, capped int
	var atLeast, cappedAtLeast bool
	view(t, s, func(tx store.Tx) error {
		var err error
		if overdue, atLeast, err = tx.CountOverdue(t.Context(), su.tg.ID, "2025-02-10", 100); err != nil {
			return err
		}
		capped, cappedAtLeast, err = tx.CountOverdue(t.Context(), su.tg.ID, "2025-02-10", 2)
		return err
	})
	if overdue != 2 || atLeast {
		t.Errorf("CountOverdue = %d (at least: %v), want 2 exactly", overdue, atLeast)
	}
	if capped > 2 || !cappedAtLeast {
		t.Errorf("CountOverdue walking 2 of 3 past-due items = %d (at least: %v), want at most 2, at least", capped, cappedAtLeast)
	}
	view(t, s, func(tx store.Tx) error {
		_, _, err = tx.CountOverdue(t.Context(), su.tg.ID, "tomorrow", 100)
		return nil
	})
	wantErr(t, "overdue on a bad date", err, tracker.EInvalid, "YYYY-MM-DD")

	var drift []store.CounterDrift
	inTx(t, s, func(tx store.Tx) error {
		var err error
		drift, err = tx.RecountCounters(t.Context())
		return err
	})
	for _, d := range drift {
		if d.Counter == "open_item_days" {
			t.Errorf("the recount found drift the writers should have kept: %+v", d)
		}
	}
}
