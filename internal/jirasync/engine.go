// Package jirasync is the two-way sync between vulnsync items and Jira
// issues (PRODUCT.md §3). Every change to an item of an integrated target
// enqueues, in the same transaction, one "sync item" job keyed by the item:
// bursts coalesce into one run of the latest state and two runs for one
// item never overlap. The job creates the issue once and only once (G1),
// sends only what differs from the last state both sides agreed on (G2),
// walks the workflow to the mapped status (G5), mirrors comments, key
// events and attachments (G6, G7), and records every Jira call (G12).
package jirasync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// syncItem is the job that brings one item and its issue in line.
type syncItem struct {
	ItemID string `json:"item_id"`
}

// Kind names the job.
func (syncItem) Kind() string { return "sync_item" }

func itemKey(itemID string) string { return "item:" + itemID }

// Config wires the engine.
type Config struct {
	Tracker *service.Service
	// Connections gives the Jira client, project metadata and webhook
	// secret of each connection.
	Connections *jiraconn.Registry
	// Runner runs the engine's jobs; New registers its workers on it.
	Runner *jobs.Runner
	Logger *slog.Logger
	// CreateGrace is how long a create whose outcome is unknown is given
	// to show up in Jira's search before it is tried again: Jira Cloud's
	// search is eventually consistent, lagging "from a few seconds to
	// minutes" (Atlassian, JRACLOUD-96208); default 5 min. A duplicate
	// made after a longer lag is resolved by reconciliation.
	CreateGrace time.Duration
	// ReconcileInterval is how often each integration asks Jira for what
	// changed (G8); default 5 min. ReconcileOverlap is how far before the
	// watermark it looks again; default 5 min.
	ReconcileInterval time.Duration
	ReconcileOverlap  time.Duration
	// AfterCreate, when set, runs right after Jira answered a create call
	// and before the link is stored; tests use it to simulate a crash.
	AfterCreate func(itemID string) error
	// Metrics records sync lags and reconciliation drift; nil records
	// nothing.
	Metrics Metrics
	// Audit records the admin's link, unlink and relink actions in the
	// audit log; nil records nothing.
	Audit service.Auditor
	// AcceptanceInterval is how often expired risk acceptances are looked
	// for; default 15 min.
	AcceptanceInterval time.Duration
}

// Engine runs the sync.
type Engine struct {
	cfg    Config
	st     store.Store
	log    *slog.Logger
	graphs *graphCache
	intake *intake
	// parsed hands the receiver's parsed events to the jobs applying them.
	parsed  parsedEvents
	metrics Metrics
	// people remembers user searches and unmatched-person notes.
	people peopleCache
	// vulnsyncAlwaysWins breaks the conflict policy on purpose; only the
	// package's tests can set it (policy.go).
	vulnsyncAlwaysWins atomic.Bool
	// reconcileRuns counts completed reconciliations (ReconcileRuns).
	reconcileRuns atomic.Int64
}

// New returns the engine and registers its job workers on the runner (as
// River's AddWorker does). The tracker service must have been built with
// EnqueueOnChange as its change hook and the runner's Notify as its commit
// hook, so changes reach the engine's jobs.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CreateGrace <= 0 {
		cfg.CreateGrace = 5 * time.Minute
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = 5 * time.Minute
	}
	if cfg.ReconcileOverlap <= 0 {
		cfg.ReconcileOverlap = 5 * time.Minute
	}
	if cfg.Audit == nil {
		cfg.Audit = noAudit{}
	}
	e := &Engine{cfg: cfg, st: cfg.Tracker.Store(), log: cfg.Logger, graphs: newGraphCache(), metrics: cfg.Metrics}
	if e.metrics == nil {
		e.metrics = nopMetrics{}
	}
	e.intake = newIntake(e)
	jobs.Register(cfg.Runner, e.workItem)
	jobs.Register(cfg.Runner, e.workReconcile)
	jobs.Register(cfg.Runner, e.workExpireAcceptances)
	return e
}

func (e *Engine) now() time.Time { return e.cfg.Tracker.Now() }

// noAudit is the Auditor of an engine given none.
type noAudit struct{}

func (noAudit) Record(context.Context, string, string, string) {}

// EnqueueOnChange is the tracker service's change hook: it enqueues the
// item's sync in the transaction of the change (transactional outbox). It
// needs no engine, so the service can be built before the engine that
// works the jobs. now is the service's clock.
func EnqueueOnChange(now func() time.Time) service.Hook {
	return func(ctx context.Context, tx store.Tx, ev service.Event) error {
		return enqueueChange(ctx, tx, ev, tracker.Truncate(now()))
	}
}

// enqueueChange enqueues the sync of a changed item. Jira's own changes
// (origin jira) are not pushed back: they are already there.
func enqueueChange(ctx context.Context, tx store.Tx, ev service.Event, now time.Time) error {
	if ev.Origin == tracker.OriginJira {
		return nil
	}
	in, err := tx.IntegrationByTarget(ctx, ev.Item.TargetID)
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	// A paused integration keeps the change: the job waits (workItem
	// snoozes it) until Resume drains it.
	if in.State != tracker.IntegrationActive && in.State != tracker.IntegrationPaused {
		return nil
	}
	if err := jobs.Enqueue(ctx, tx, itemKey(ev.Item.ID), syncItem{ItemID: ev.Item.ID}, now); err != nil {
		return err
	}
	// A new finding is a key event on its vulnerability's issue.
	if ev.Type == service.ItemCreated && ev.Item.ParentID != "" {
		return jobs.Enqueue(ctx, tx, itemKey(ev.Item.ParentID), syncItem{ItemID: ev.Item.ParentID}, now)
	}
	return nil
}

// Close stops the webhook intake's writer; deliveries arriving later are
// recorded one by one. Call it after the HTTP server stopped.
func (e *Engine) Close() { e.intake.close() }

// Notify wakes the runner after a commit that enqueued work.
func (e *Engine) Notify() { e.cfg.Runner.Notify() }

// run is the context of one job: the integration, its mapping and client,
// and the sync log entries to write.
type run struct {
	e      *Engine
	in     store.Integration
	doc    *mapping.Document
	meta   jiraconn.ProjectMeta
	client *jira.Client
	dep    jira.Deployment
	itemID string
	jobID  int64
	// resolution, when set, is the resolution transitions send where
	// their screen asks for one (Duplicate, when closing a duplicate).
	resolution string
	// account identifies the connection's service account (Cloud
	// accountId, Data Center key or name): its changes are our own.
	account string
	// wrote is set once Jira accepted a write of this run (metrics).
	wrote bool
}

// record writes one sync log entry.
func (r *run) record(ctx context.Context, action, call, issueKey string, start time.Time, err error) {
	ev := store.SyncEvent{IntegrationID: r.in.ID, ItemID: r.itemID, IssueKey: issueKey, Direction: "to_jira", Action: action,
		JiraCall: call, Result: "ok", Duration: time.Since(start), JobID: r.jobID, At: r.e.now()}
	if err != nil {
		ev.Result, ev.Error = "error", explainJira(err, r.in.ProjectKey)
	} else if call != "" && !strings.HasPrefix(call, "GET ") {
		r.wrote = true
	}
	if werr := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.AddSyncEvent(ctx, ev) }); werr != nil {
		r.e.log.Error("record sync event", "err", werr)
	}
}

// recordSkipped writes a sync log entry for a call that did not happen as
// asked for a reason that is no sync failure (a person's mistake, told to
// them in the answer).
func (r *run) recordSkipped(ctx context.Context, action, call, issueKey string, start time.Time, note string) {
	ev := store.SyncEvent{IntegrationID: r.in.ID, ItemID: r.itemID, IssueKey: issueKey, Direction: "to_jira", Action: action,
		JiraCall: call, Result: "skipped", Error: note, Duration: time.Since(start), JobID: r.jobID, At: r.e.now()}
	if werr := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.AddSyncEvent(ctx, ev) }); werr != nil {
		r.e.log.Error("record sync event", "err", werr)
	}
}

// explainJira is the sync log's text for a Jira failure: Jira's own
// words, and for the failures an admin must fix in Jira, what to do.
func explainJira(err error, projectKey string) string {
	var er *jira.ErrorResponse
	if errors.As(err, &er) {
		if fs := er.FieldsNotOnScreen(); len(fs) > 0 {
			return fmt.Sprintf("%s. Fix: add %s to the create and edit screens of project %s (Project settings → Screens), "+
				"or take it out of the mapping; vulnsync syncs the other fields without it meanwhile",
				err.Error(), strings.Join(fs, ", "), projectKey)
		}
		if _, ok := er.Errors["resolution"]; ok {
			return err.Error() + ". Fix: map a resolution for the target status in the mapping (resolutions), or take the resolution off the transition screen"
		}
	}
	return err.Error()
}

// call runs one Jira call and records it.
func (r *run) call(ctx context.Context, action, call, issueKey string, fn func() error) error {
	start := time.Now()
	err := fn()
	r.record(ctx, action, call, issueKey, start, err)
	return err
}

// prepare loads what a job for an item of the integration needs.
func (e *Engine) prepare(ctx context.Context, in store.Integration, itemID string, jobID int64) (*run, error) {
	if len(in.Mapping) == 0 {
		return nil, jobs.Permanent(errors.New("the integration has no mapping"))
	}
	// The mapping comes from the row itself: reading the integration's view
	// would derive its backfill progress, a scan of the whole target, on
	// every job.
	var doc mapping.Document
	if err := json.Unmarshal(in.Mapping, &doc); err != nil {
		return nil, jobs.Permanent(fmt.Errorf("decode the mapping of integration %s: %w", in.ID, err))
	}
	doc.Normalize()
	client, err := e.cfg.Connections.Client(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	dep, err := client.Deployment(ctx)
	if err != nil {
		return nil, err
	}
	meta, err := e.cfg.Connections.ProjectMeta(ctx, in.ConnectionID, in.ProjectKey, false)
	if err != nil {
		return nil, err
	}
	var account string
	err = e.st.View(ctx, func(tx store.Tx) error {
		c, err := tx.GetConnection(ctx, in.ConnectionID)
		account = c.AccountID
		return err
	})
	if err != nil {
		return nil, err
	}
	return &run{e: e, in: in, doc: &doc, meta: meta, client: client, dep: dep, itemID: itemID, jobID: jobID, account: account}, nil
}

// jiraField returns the createmeta description of a Jira field on the
// issue type of a kind (or of any mapped type).
func (r *run) jiraField(kind, id string) mapping.JiraField {
	typeName := r.doc.IssueTypes[kind]
	for _, it := range r.meta.IssueTypes {
		if it.Name == typeName {
			for _, f := range it.Fields {
				if f.ID == id {
					return f
				}
			}
		}
	}
	for _, it := range r.meta.IssueTypes {
		for _, f := range it.Fields {
			if f.ID == id {
				return f
			}
		}
	}
	return mapping.JiraField{ID: id, Schema: mapping.Schema{Type: "string"}}
}

// refreshOnUnknownField drops the cached project metadata when Jira says a
// field is unknown or not on the screen (an admin changed the project), so
// the next attempt works from fresh createmeta.
func (r *run) refreshOnUnknownField(ctx context.Context, err error) {
	var er *jira.ErrorResponse
	if !errors.As(err, &er) || er.StatusCode != 400 {
		return
	}
	for _, msg := range er.Errors {
		if strings.Contains(msg, "not on the appropriate screen") || strings.Contains(msg, "unknown") {
			if _, rerr := r.e.cfg.Connections.ProjectMeta(ctx, r.in.ConnectionID, r.in.ProjectKey, true); rerr != nil {
				r.e.log.Warn("refresh Jira metadata", "err", rerr)
			}
			return
		}
	}
}

// classify turns a Jira failure into the job outcome: a 429 waits for its
// Retry-After; other 4xx answers cannot heal by retrying and fail the job
// at once, except 404 (handled by the caller as a deleted issue), 408 and
// 409 (transient); 5xx and transport errors are retried with backoff.
func classify(err error) error {
	var rl *jira.RateLimitError
	if errors.As(err, &rl) {
		return jobs.RetryAfter(err, rl.RetryAfter)
	}
	var er *jira.ErrorResponse
	if errors.As(err, &er) && er.StatusCode >= 400 && er.StatusCode < 500 && er.StatusCode != 404 && er.StatusCode != 409 && er.StatusCode != 408 {
		return jobs.Permanent(err)
	}
	return err
}

// MappingSet runs after a mapping was accepted (integration.Config's
// OnMappingSet): every item of the target is
// (re)synced — a backfill when the integration was just enabled, a paced
// re-sync of what the new mapping changes otherwise — and reconciliation
// starts.
func (e *Engine) MappingSet(ctx context.Context, integrationID string) {
	e.drain(ctx, integrationID)
}

// Resumed runs after a paused integration was resumed (integration.Config's
// OnResume): every item of the target is queued at once, which brings the
// jobs snoozed while paused forward (a pending job keeps the earlier time)
// and costs no Jira call for an item already in line; reconciliation
// starts again, catching up with Jira changes whose webhook never came.
func (e *Engine) Resumed(ctx context.Context, integrationID string) {
	e.drain(ctx, integrationID)
}

// drain queues the sync of every item of an integration's target and
// schedules its reconciliation.
func (e *Engine) drain(ctx context.Context, integrationID string) {
	if _, err := e.Backfill(ctx, integrationID); err != nil {
		e.log.Error("backfill after mapping change", "integration", integrationID, "err", err)
	}
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		return jobs.Enqueue(ctx, tx, reconcileKey(integrationID), reconcile{IntegrationID: integrationID}, e.now().Add(e.cfg.ReconcileInterval))
	})
	if err != nil {
		e.log.Error("schedule reconciliation", "integration", integrationID, "err", err)
	}
	e.Notify()
}
