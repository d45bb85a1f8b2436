package jirasync

import (
	"context"
	"fmt"
	"time"

	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/store"
)

// expireAcceptances is the periodic job that ends approved risk
// acceptances at their expiry (issue 16): each one reopens its item, and
// the item's sync reopens the Jira issue with the comment saying why. It
// is one job chain under one key, so replicas coalesce it into one pending
// job; each run queues the next at the engine clock's now plus
// AcceptanceInterval, so tests drive it with their clock.
type expireAcceptances struct{}

// Kind names the job.
func (expireAcceptances) Kind() string { return "expire_acceptances" }

const expireAcceptancesKey = "acceptances:expiry"

// ScheduleAcceptanceExpiry queues the expiry job to run now (a pending one
// keeps its earlier time). serve calls it at start.
func (e *Engine) ScheduleAcceptanceExpiry(ctx context.Context) error {
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		return jobs.Enqueue(ctx, tx, expireAcceptancesKey, expireAcceptances{}, e.now())
	})
	e.Notify()
	if err != nil {
		return fmt.Errorf("schedule the acceptance expiry: %w", err)
	}
	return nil
}

func (e *Engine) workExpireAcceptances(ctx context.Context, job store.Job, _ expireAcceptances) error {
	n, err := e.cfg.Tracker.ExpireAcceptances(ctx)
	if n > 0 {
		e.log.Info("risk acceptances expired", "count", n)
	}
	if err != nil {
		return err
	}
	return e.st.InTx(ctx, func(tx store.Tx) error {
		return jobs.Enqueue(ctx, tx, expireAcceptancesKey, expireAcceptances{}, e.now().Add(e.acceptanceInterval()))
	})
}

func (e *Engine) acceptanceInterval() time.Duration {
	if e.cfg.AcceptanceInterval > 0 {
		return e.cfg.AcceptanceInterval
	}
	return 15 * time.Minute
}
