// Package metrics owns vulnsync's Prometheus metrics: their names (all
// "vulnsync_"), labels, buckets and the registry they live in, one per
// process assembly (internal/app), so several processes in one test binary
// never share a counter. It exists so operators can tell from outside
// whether the sync keeps its promises (PRODUCT.md §6): is Jira pushing
// back, how far behind is each direction, is work piling up.
//
// The packages that record (the Jira client, the sync engine, the HTTP
// API) do not import this one: each declares the small interface it
// records through, and *Metrics implements them all. Gauges that describe
// stored state (queued jobs, items) are not kept up to date by the writers
// but read from the store when Prometheus scrapes, through indexed queries
// (store.OpsTx), so they cannot drift from the truth.
//
// Every label is bounded by the code, never by the data: webhook results,
// Jira operations as route templates (jira.Operation), HTTP status codes,
// wait reasons, job kinds, and item kinds and statuses from the catalog.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vulnsync/vulnsync/internal/store"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 5 * time.Second

// lagBuckets cover a sync lag from tens of milliseconds (a webhook applied
// at once) to an hour (a change only reconciliation found).
var lagBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600}

// Config is what the metrics read from.
type Config struct {
	// Store answers the gauges computed at scrape time; nil leaves them
	// out.
	Store store.Store
	// Clock is "now" for the age of the oldest pending job (the jobs'
	// clock); nil is time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Metrics is one process's metrics and their registry. It is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	webhookDeliveries *prometheus.CounterVec
	jiraRequests      *prometheus.CounterVec
	jiraRateLimited   *prometheus.CounterVec
	jiraWait          *prometheus.CounterVec
	outboundLag       prometheus.Histogram
	inboundLag        *prometheus.HistogramVec
	reconcileDrift    prometheus.Counter
}

// New builds the metrics on a fresh registry.
func New(cfg Config) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: cfg.Logger,
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vulnsync_webhook_deliveries_total",
			Help: "Jira webhook deliveries received, by result: accepted (recorded), duplicate (already recorded), unauthorized, unknown_connection, too_large, invalid, unavailable (not recorded; Jira retries), error.",
		}, []string{"result"}),
		jiraRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vulnsync_jira_requests_total",
			Help: "HTTP exchanges with Jira (each retry counts), by operation (method and route template) and status (HTTP status code, or error when no answer came).",
		}, []string{"operation", "status"}),
		jiraRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vulnsync_jira_rate_limited_total",
			Help: "429 answers from Jira, by operation.",
		}, []string{"operation"}),
		jiraWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vulnsync_jira_wait_seconds_total",
			Help: "Time Jira requests waited before being sent, by reason: retry_after (Jira's Retry-After or rate-limit reset), pacing (vulnsync's own pacing), backoff (between retries of a failed exchange).",
		}, []string{"reason"}),
		outboundLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vulnsync_sync_outbound_lag_seconds",
			Help:    "From the first change a sync job carried to Jira's acknowledgement of the job's last write.",
			Buckets: lagBuckets,
		}),
		inboundLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vulnsync_sync_inbound_lag_seconds",
			Help:    "From when a Jira event was recorded (webhook received, or drift found by reconciliation) to its outcome committed, by source: webhook, notice (unsigned webhook, read back from Jira), reconcile.",
			Buckets: lagBuckets,
		}, []string{"source"}),
		reconcileDrift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vulnsync_reconcile_drift_total",
			Help: "Issues reconciliation found changed in Jira without vulnsync having applied the change (a webhook lost or late), each queued for a pull.",
		}),
	}
	m.reg.MustRegister(m.webhookDeliveries, m.jiraRequests, m.jiraRateLimited, m.jiraWait, m.outboundLag, m.inboundLag, m.reconcileDrift)
	if cfg.Store != nil {
		m.reg.MustRegister(&storeCollector{st: cfg.Store, now: cfg.Clock, log: cfg.Logger})
	}
	return m
}

// Handler serves the registry in Prometheus's exposition format. A failed
// store read leaves its gauges out of the answer (and is logged) rather
// than failing the whole scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Gatherer is the registry, for tests and embedding.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// WebhookDelivery counts one webhook delivery by its result.
func (m *Metrics) WebhookDelivery(result string) { m.webhookDeliveries.WithLabelValues(result).Inc() }

// JiraRequest counts one HTTP exchange with Jira (jira.Observer).
func (m *Metrics) JiraRequest(operation, status string) {
	m.jiraRequests.WithLabelValues(operation, status).Inc()
}

// JiraRateLimited counts one 429 (jira.Observer).
func (m *Metrics) JiraRateLimited(operation string) {
	m.jiraRateLimited.WithLabelValues(operation).Inc()
}

// JiraWait adds time a request waited before its send (jira.Observer).
func (m *Metrics) JiraWait(reason string, d time.Duration) {
	m.jiraWait.WithLabelValues(reason).Add(d.Seconds())
}

// SyncOutboundLag observes the lag of one item's push to Jira.
func (m *Metrics) SyncOutboundLag(d time.Duration) { m.outboundLag.Observe(max(0, d.Seconds())) }

// SyncInboundLag observes the lag of one Jira event applied (or ignored,
// or failed for good) in vulnsync.
func (m *Metrics) SyncInboundLag(source string, d time.Duration) {
	m.inboundLag.WithLabelValues(source).Observe(max(0, d.Seconds()))
}

// ReconcileDrift counts issues reconciliation found drifted.
func (m *Metrics) ReconcileDrift(n int) { m.reconcileDrift.Add(float64(n)) }

// errorLog hands promhttp's errors to the process's logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics scrape", "err", fmt.Sprint(v...)) }

// storeCollector reads the gauges of stored state at scrape time, in one
// read-only transaction.
type storeCollector struct {
	st  store.Store
	now func() time.Time
	log *slog.Logger
}

var (
	jobsQueuedDesc = prometheus.NewDesc("vulnsync_jobs_queued",
		"Pending sync jobs (due or scheduled), by kind.", []string{"kind"}, nil)
	jobsOldestDesc = prometheus.NewDesc("vulnsync_jobs_oldest_age_seconds",
		"How long the pending job due first has been due (0 when none is due yet), by kind.", []string{"kind"}, nil)
	itemsDesc = prometheus.NewDesc("vulnsync_items",
		"Live (not deleted) items, by kind and status.", []string{"kind", "status"}, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsQueuedDesc
	ch <- jobsOldestDesc
	ch <- itemsDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	// Collect has no context of its own: the scrape's reads get a bound.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var queue []store.QueueStat
	var items []store.ItemCount
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if queue, err = tx.QueueStats(ctx); err != nil {
			return err
		}
		items, err = tx.ItemCounts(ctx)
		return err
	})
	if err != nil {
		err = fmt.Errorf("read queue and item gauges: %w", err)
		for _, d := range []*prometheus.Desc{jobsQueuedDesc, jobsOldestDesc, itemsDesc} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	now := c.now()
	for _, q := range queue {
		ch <- prometheus.MustNewConstMetric(jobsQueuedDesc, prometheus.GaugeValue, float64(q.Pending), q.Kind)
		ch <- prometheus.MustNewConstMetric(jobsOldestDesc, prometheus.GaugeValue, max(0, now.Sub(q.EarliestRunAt).Seconds()), q.Kind)
	}
	for _, it := range items {
		ch <- prometheus.MustNewConstMetric(itemsDesc, prometheus.GaugeValue, float64(it.Count), it.Kind, it.Status)
	}
}
