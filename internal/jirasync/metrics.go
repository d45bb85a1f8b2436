package jirasync

import (
	"context"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
)

// Metrics is what the sync reports for monitoring: how far behind each
// direction runs and how much reconciliation finds. The process's metrics
// (internal/metrics) implement it; the engine only knows this interface.
type Metrics interface {
	// SyncOutboundLag is one item's push: from the first change its job
	// carried to Jira's answer to the job's last write.
	SyncOutboundLag(d time.Duration)
	// SyncInboundLag is one Jira event's outcome committed, measured
	// from when it was recorded; source is webhook, notice or reconcile.
	SyncInboundLag(source string, d time.Duration)
	// ReconcileDrift counts issues reconciliation found drifted.
	ReconcileDrift(n int)
}

type nopMetrics struct{}

func (nopMetrics) SyncOutboundLag(time.Duration)        {}
func (nopMetrics) SyncInboundLag(string, time.Duration) {}
func (nopMetrics) ReconcileDrift(int)                   {}

// observeApplied reports the inbound lag of a delivery whose outcome just
// committed.
func (r *run) observeApplied(d store.Delivery) {
	source := "webhook"
	switch {
	case d.Event == eventReconcile:
		source = "reconcile"
	case strings.HasPrefix(d.Event, noticePrefix):
		source = "notice"
	}
	r.e.metrics.SyncInboundLag(source, r.e.now().Sub(d.ReceivedAt))
}

// observePushed reports the outbound lag of an item job that wrote to
// Jira. The job's creation time is that of the oldest change it carries:
// enqueuing while it is pending, and retrying it, keep its row. Both
// times are the store's wall clock.
func (r *run) observePushed(job store.Job) {
	if r.wrote {
		r.e.metrics.SyncOutboundLag(time.Since(job.CreatedAt))
	}
}

// ConnectionHealth reports what tells whether a connection's sync is
// healthy: its last webhook, its inbound queue and its last failure
// (ENotFound for an unknown connection).
func (e *Engine) ConnectionHealth(ctx context.Context, connectionID string) (h store.ConnectionHealth, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		h, err = tx.ConnectionHealth(ctx, connectionID)
		return err
	})
	return h, err
}
