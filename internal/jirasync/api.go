package jirasync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Links returns the linked issues of the given items.
func (e *Engine) Links(ctx context.Context, itemIDs []string) (map[string]tracker.JiraRef, error) {
	out := map[string]tracker.JiraRef{}
	err := e.st.View(ctx, func(tx store.Tx) error {
		links, err := tx.LinksForItems(ctx, itemIDs)
		if err != nil {
			return err
		}
		bases := map[string]string{}
		for _, l := range links {
			if l.State != tracker.LinkLinked || l.IssueKey == "" {
				continue
			}
			base, ok := bases[l.IntegrationID]
			if !ok {
				in, err := tx.GetIntegration(ctx, l.IntegrationID)
				if err != nil {
					return err
				}
				c, err := tx.GetConnection(ctx, in.ConnectionID)
				if err != nil {
					return err
				}
				base = strings.TrimRight(c.BaseURL, "/")
				bases[l.IntegrationID] = base
			}
			out[l.ItemID] = tracker.JiraRef{Key: l.IssueKey, URL: base + "/browse/" + l.IssueKey}
		}
		return nil
	})
	return out, err
}

// Events lists an integration's sync log, failures first.
func (e *Engine) Events(ctx context.Context, integrationID, itemID string, limit int) (evs []store.SyncEvent, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetIntegration(ctx, integrationID); err != nil {
			return err
		}
		evs, err = tx.ListSyncEvents(ctx, store.SyncEventFilter{IntegrationID: integrationID, ItemID: itemID, FailuresFirst: true, Limit: limit})
		return err
	})
	return evs, err
}

// EventPage is one page of an integration's sync log (f.IntegrationID),
// failures first unless a result is asked for; f's filters and cursor are
// the store's. An unknown integration is ENotFound.
func (e *Engine) EventPage(ctx context.Context, f store.SyncEventFilter) (page store.SyncEventPage, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetIntegration(ctx, f.IntegrationID); err != nil {
			return err
		}
		f.FailuresFirst = true
		if page, err = tx.ListSyncEventsPage(ctx, f); err != nil {
			return err
		}
		return setOutcomes(ctx, tx, f.IntegrationID, page.Events)
	})
	return page, err
}

// setOutcomes sets the Outcome of a page of the sync log by the one rule
// of store.EventOutcomes: for each failed row's item and action it reads
// the newest success (one indexed row each; rows of other pages count),
// so a failure that a later attempt got through reads "recovered" in the
// API as in the UI.
func setOutcomes(ctx context.Context, tx store.Tx, integrationID string, evs []store.SyncEvent) error {
	var successes []store.SyncEvent
	seen := map[store.RecoveryKey]bool{}
	for _, e := range evs {
		k := store.KeyOf(e)
		if e.Result != "error" || seen[k] {
			continue
		}
		seen[k] = true
		// Without an item the filter cannot say "no item", so it reads a
		// few newest successes of the action and EventOutcomes keeps only
		// those of the integration itself.
		limit := 1
		if k.ItemID == "" {
			limit = 20
		}
		oks, err := tx.ListSyncEvents(ctx, store.SyncEventFilter{IntegrationID: integrationID, ItemID: k.ItemID, Action: k.Action, Result: "ok", Limit: limit})
		if err != nil {
			return fmt.Errorf("read the later successes of %s: %w", k.Action, err)
		}
		successes = append(successes, oks...)
	}
	out, _ := store.EventOutcomes(evs, successes)
	for i := range evs {
		evs[i].Outcome = out[i]
	}
	return nil
}

// ItemEventPage is one page of an item's sync log, newest first, with f's
// filters and cursor (f.IntegrationID and f.ItemID are set here). An item
// of a target without integration has an empty log.
func (e *Engine) ItemEventPage(ctx context.Context, itemID string, f store.SyncEventFilter) (page store.SyncEventPage, err error) {
	page.Events = []store.SyncEvent{}
	err = e.st.View(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		if err != nil {
			return err
		}
		in, err := tx.IntegrationByTarget(ctx, it.TargetID)
		if tracker.KindOf(err) == tracker.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		f.IntegrationID, f.ItemID, f.FailuresFirst = in.ID, itemID, false
		if page, err = tx.ListSyncEventsPage(ctx, f); err != nil {
			return err
		}
		return setOutcomes(ctx, tx, in.ID, page.Events)
	})
	return page, err
}

// FailedJobs lists the work that failed for good (for the retry button).
func (e *Engine) FailedJobs(ctx context.Context, limit int) (js []store.Job, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		js, err = tx.ListJobs(ctx, store.JobFilter{State: store.JobFailed, Limit: limit})
		return err
	})
	return js, err
}

// RetryJob is the manual retry of failed work (G12).
func (e *Engine) RetryJob(ctx context.Context, id int64) (store.Job, error) {
	var j store.Job
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		j, err = tx.RequeueJob(ctx, id, e.now())
		return err
	})
	if err == nil {
		e.Notify()
	}
	return j, err
}

// Backfill queues a sync of every item of the integration's target (the
// job itself skips kinds the mapping does not sync): items without an
// issue get one, linked ones are brought up to date. Running it again
// creates nothing new (G1). It returns the number of items queued. On a
// paused integration the jobs are queued and wait for Resume.
func (e *Engine) Backfill(ctx context.Context, integrationID string) (int, error) {
	var in store.Integration
	err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		in, err = tx.GetIntegration(ctx, integrationID)
		return err
	})
	if err != nil {
		return 0, err
	}
	if in.State == tracker.IntegrationNeedsMapping {
		return 0, tracker.Errorf(tracker.EUnprocessable, "the integration has no accepted mapping yet: set one before backfilling")
	}
	cursor, n := "", 0
	for {
		var page store.ItemPage
		err := e.st.InTx(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.ListItems(ctx, store.ItemFilter{TargetID: in.TargetID, Cursor: cursor, Limit: store.MaxPageSize})
			if err != nil {
				return err
			}
			for _, it := range page.Items {
				if err := jobs.Enqueue(ctx, tx, itemKey(it.ID), syncItem{ItemID: it.ID}, e.now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(page.Items)
		e.Notify()
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

// queueScanLimit bounds the work of counting a queue for a page: beyond
// it the page says "at least".
const queueScanLimit = 10_000

// Queue counts an integration's waiting work: pending item syncs and
// queued webhook deliveries (the queue a paused integration shows).
func (e *Engine) Queue(ctx context.Context, integrationID string) (w store.PendingWork, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		w, err = tx.PendingSyncWork(ctx, integrationID, syncItem{}.Kind(), itemKey(""), queueScanLimit)
		return err
	})
	if err != nil {
		return w, fmt.Errorf("count the sync queue of %s: %w", integrationID, err)
	}
	return w, nil
}

// Progress counts, for an integration, the items of its target whose kind
// the mapping syncs, those linked to an issue, and those whose sync failed
// for good. The first two come from the store's counters (a few rows per
// kind, whatever the size of the target); the failures from the failed
// sync jobs (at most store.MaxPageSize of them, newest first, through
// their own index), each looked up by id.
func (e *Engine) Progress(ctx context.Context, integrationID string) (p tracker.BackfillProgress, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, integrationID)
		if err != nil {
			return err
		}
		var doc mapping.Document
		if len(in.Mapping) > 0 {
			if err := json.Unmarshal(in.Mapping, &doc); err != nil {
				return fmt.Errorf("decode mapping of %s: %w", in.ID, err)
			}
		}
		mapped := func(kind string) bool { _, ok := doc.IssueTypes[kind]; return ok }
		items, err := tx.TargetItemCounts(ctx, in.TargetID)
		if err != nil {
			return err
		}
		for _, c := range items {
			if mapped(c.Kind) {
				p.Total += c.Count
			}
		}
		links, err := tx.LinkCounts(ctx, in.ID)
		if err != nil {
			return err
		}
		for _, c := range links {
			if c.State == tracker.LinkLinked && mapped(c.Kind) {
				p.Done += c.Count
			}
		}
		js, err := tx.ListJobs(ctx, store.JobFilter{Kind: syncItem{}.Kind(), State: store.JobFailed, Limit: store.MaxPageSize})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, j := range js {
			id, ok := strings.CutPrefix(j.Key, itemKey(""))
			if !ok || seen[id] {
				continue
			}
			seen[id] = true
			it, err := tx.GetItem(ctx, id)
			if tracker.KindOf(err) == tracker.ENotFound {
				continue
			}
			if err != nil {
				return err
			}
			if it.TargetID == in.TargetID && mapped(it.Kind) {
				p.Failed++
			}
		}
		return nil
	})
	return p, err
}

// Busy reports whether any item sync is pending or running: false once the
// sync has caught up with every change made so far.
func (e *Engine) Busy(ctx context.Context) (bool, error) {
	busy := false
	err := e.st.View(ctx, func(tx store.Tx) error {
		for _, st := range []store.JobState{store.JobPending, store.JobRunning} {
			js, err := tx.ListJobs(ctx, store.JobFilter{Kind: syncItem{}.Kind(), State: st, Limit: 1})
			if err != nil {
				return err
			}
			busy = busy || len(js) > 0
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read sync jobs: %w", err)
	}
	return busy, nil
}
