package benchmark

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Backfill targets (PRODUCT.md §6).
const (
	backfillUseful  = 0.9 // × R useful calls per second
	backfill429Pct  = 1.0 // % of requests answered 429
	backfillSeconds = 2   // × Duration of calls at R: the size of the backfill
)

// runBackfill backfills N items (2 × Duration worth of creates at R) with
// the simulator limiting everyone to R requests per second (a token bucket
// with a burst of one second's worth, answering 429 with Retry-After), and
// measures the useful (2xx) calls per second from the moment the mapping
// is accepted — which starts the backfill — until the last issue is
// created, and the share of requests answered 429 meanwhile. The client
// learns the limit from the first 429s; that learning is part of the run.
func runBackfill(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	s.startWorkers()
	in, err := s.connect(ctx, "backfill")
	if err != nil {
		return err
	}
	n := max(int(math.Round(o.Rate*o.Duration.Seconds()*backfillSeconds)), 10)
	// The integration has no mapping yet, so these items queue no sync.
	if err := bulkCreate(ctx, s, in.targetID, n, nil); err != nil {
		return err
	}
	s.sim.SetFaults(jirasim.Faults{RequestsPerSecond: o.Rate})
	before := s.sim.Counters()
	creates := "POST /rest/api/3/issue"
	start := time.Now()
	if err := s.setMapping(ctx, in); err != nil {
		return err
	}
	// The backfill ends when the simulator has created N issues; its
	// counters are read every 5 ms, which bounds the error on the end time.
	var end time.Time
	limit := time.Duration(float64(n)/o.Rate*float64(time.Second))*3 + time.Minute
	deadline := start.Add(limit)
	created := func(c jirasim.Counters) int64 {
		ep := c.Endpoints[creates]
		return ep.Requests - ep.RateLimited - ep.Errors
	}
	for {
		got := created(s.sim.Counters()) - created(before)
		if got >= int64(n) {
			end = time.Now()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the backfill of %d items did not finish within %v (%d created)", n, limit, got)
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	after := s.sim.Counters()
	elapsed := end.Sub(start)
	requests := after.Total.Requests - before.Total.Requests
	limited := after.Total.RateLimited - before.Total.RateLimited
	failed := after.Total.Errors - before.Total.Errors
	useful := requests - limited - failed
	prog, err := s.engine.Progress(ctx, in.integrationID)
	total, done, failedItems := prog.Total, prog.Done, prog.Failed
	if err != nil {
		return fmt.Errorf("read backfill progress: %w", err)
	}
	client, err := s.integ.Client(ctx, in.connectionID)
	if err != nil {
		return fmt.Errorf("read the connection's client: %w", err)
	}
	rate := perSecond(int(useful), elapsed)
	rec.add(fmt.Sprintf("useful calls/s under R=%g/s (%d items)", o.Rate, n), rate, "/s", atLeast(backfillUseful*o.Rate))
	share := 100 * float64(limited) / float64(max(requests, 1))
	rec.add("requests answered 429", share, "%", atMost(backfill429Pct))
	rec.add("useful calls / R", rate/o.Rate, "x", nil)
	rec.note("%d items backfilled in %.1f s: %d requests, %d useful, %d answered 429; progress %d/%d linked, %d failed; %d sent before a Retry-After",
		n, elapsed.Seconds(), requests, useful, limited, done, total, failedItems, after.Total.Early-before.Total.Early)
	if r := client.PacedRate(); r > 0 {
		rec.note("the Jira client learned to pace itself at %.1f requests/s", r)
	} else {
		rec.note("the Jira client never had to pace itself (vulnsync's own backfill rate stayed under R)")
	}
	return nil
}

// bulkCreate writes n vulnerabilities of a target straight to the store,
// 500 per transaction (no service hooks, so no sync jobs). When link is
// set, it is called with each item and may write its link in the same
// transaction.
func bulkCreate(ctx context.Context, s *stack, targetID string, n int, link func(ctx context.Context, tx store.Tx, it tracker.Item, i int) error) error {
	cat, err := s.svc.Catalog(ctx)
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	const batch = 500
	for from := 0; from < n; from += batch {
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				it, hist, err := cat.Build(targetID, newItemID(), tracker.NewItem{Kind: tracker.KindVulnerability,
					Title: fmt.Sprintf("Bulk vulnerability %d", i), Description: "Found by the bench.", Severity: tracker.SeverityMedium,
					Fields: map[string]any{"cvss_score": 5.0, "asset_id": fmt.Sprintf("asset-%d", i)}},
					nil, tracker.Change{Actor: benchActor.Email, Origin: tracker.OriginVulnsync, At: time.Now()})
				if err != nil {
					return err
				}
				if err := tx.CreateItem(ctx, it, hist); err != nil {
					return err
				}
				if link != nil {
					if err := link(ctx, tx, it, i); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("create items %d–%d: %w", from, min(from+batch, n)-1, err)
		}
	}
	return nil
}

// newItemID is an item id as the service makes them (UUIDv7).
func newItemID() string { return uuid.Must(uuid.NewV7()).String() }
