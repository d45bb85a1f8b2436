// Package jobs runs the sync work queued in the store's outbox (store.Job):
// typed job arguments with a Kind, workers registered per kind, claiming
// with leases, retries with exponential backoff and jitter, and the
// outcome of each attempt recorded on the job.
//
// The queue itself (coalescing per key, per-key exclusion, leases) is the
// store's; this package decides when to claim, how long a job may run, and
// what an error means for the next attempt. Enqueue is called inside the
// store transaction of the change that causes the work, and Notify after it
// commits, so work starts at once instead of at the next poll.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Args are a job's typed arguments; Kind names the worker that runs them.
type Args interface {
	Kind() string
}

// Enqueue queues args under key inside tx. At most one pending job exists
// per (kind, key): a later Enqueue replaces the payload of a pending one,
// so a burst of changes becomes one run on the latest state.
func Enqueue(ctx context.Context, tx store.Tx, key string, args Args, runAt time.Time) error {
	payload, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s job: %w", args.Kind(), err)
	}
	if err := tx.Enqueue(ctx, store.Job{Kind: args.Kind(), Key: key, Payload: payload, RunAt: runAt}); err != nil {
		return fmt.Errorf("enqueue %s job %s: %w", args.Kind(), key, err)
	}
	return nil
}

// errPermanent marks an error that retrying cannot fix.
type errPermanent struct{ err error }

func (e errPermanent) Error() string { return e.err.Error() }
func (e errPermanent) Unwrap() error { return e.err }

// Permanent wraps err so the job fails at once instead of being retried.
func Permanent(err error) error { return errPermanent{err} }

// errAfter asks for the next attempt no earlier than a given delay.
type errAfter struct {
	err   error
	delay time.Duration
}

func (e errAfter) Error() string { return e.err.Error() }
func (e errAfter) Unwrap() error { return e.err }

// errSnooze asks for the job to run again later without it counting as an
// attempt (River's JobSnooze).
type errSnooze struct {
	reason string
	delay  time.Duration
}

func (e errSnooze) Error() string { return "snoozed: " + e.reason }

// Snooze makes the job wait d and run again without spending an attempt:
// waiting is not failing (a finding waiting for its vulnerability's issue
// must not exhaust its retries). reason is kept as the job's last note.
func Snooze(d time.Duration, reason string) error { return errSnooze{reason: reason, delay: d} }

// RetryAfter wraps err so the next attempt waits at least d (a Jira
// Retry-After, say) rather than the usual backoff.
func RetryAfter(err error, d time.Duration) error { return errAfter{err, d} }

// WorkFunc runs one job with its decoded arguments.
type WorkFunc[A Args] func(ctx context.Context, job store.Job, args A) error

type worker func(ctx context.Context, job store.Job) error

// Config tunes a Runner.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	Clock  func() time.Time
	// Concurrency is how many jobs run at once in this process; default 4.
	Concurrency int
	// Lease is how long a claimed job is ours without a heartbeat before
	// another replica may take it over: what a SIGKILLed replica costs the
	// keys it was working on. Default 30 s.
	Lease time.Duration
	// Heartbeat is how often a running job's lease is extended by Lease;
	// default Lease/3. A job whose lease was taken over, or could not be
	// extended before it ran out, has its context cancelled with
	// ErrLeaseLost.
	Heartbeat time.Duration
	// Timeout is the longest one job may run; default 90 s.
	Timeout time.Duration
	// PollInterval is how often to look for work nobody notified us of
	// (other replicas, scheduled retries); default 1 s.
	PollInterval time.Duration
	// MaxAttempts before a job fails for good; default 20.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the retry delay; defaults 1 s, 10 min.
	BaseBackoff, MaxBackoff time.Duration
	// Rand returns a float in [0,1) for jitter; tests make it deterministic.
	Rand func() float64
}

// Runner claims and runs jobs.
type Runner struct {
	cfg     Config
	log     *slog.Logger
	workers map[string]worker
	wake    chan struct{}
}

// NewRunner returns a runner with no workers; Register them before Run.
func NewRunner(cfg Config) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Heartbeat <= 0 || cfg.Heartbeat >= cfg.Lease {
		cfg.Heartbeat = cfg.Lease / 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 90 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &Runner{cfg: cfg, log: cfg.Logger, workers: map[string]worker{}, wake: make(chan struct{}, 1)}
}

// Register adds the worker for jobs of args' kind.
func Register[A Args](r *Runner, work WorkFunc[A]) {
	var zero A
	r.workers[zero.Kind()] = func(ctx context.Context, job store.Job) error {
		var args A
		if err := json.Unmarshal(job.Payload, &args); err != nil {
			return Permanent(fmt.Errorf("decode %s job %d: %w", job.Kind, job.ID, err))
		}
		return work(ctx, job, args)
	}
}

// Notify wakes the runner: call it after committing a transaction that
// enqueued work. It never blocks.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx is done, then waits for the jobs in
// flight to finish.
func (r *Runner) Run(ctx context.Context) error {
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.wake:
		}
		for {
			free := r.cfg.Concurrency - len(sem)
			if free == 0 {
				break
			}
			claimed, err := r.claim(ctx, free)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.log.Error("claim jobs", "err", err)
				break
			}
			for _, job := range claimed {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done(); r.Notify() }()
					r.runOne(context.WithoutCancel(ctx), job)
				}()
			}
			if len(claimed) < free {
				break
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(r.cfg.PollInterval)
	}
}

// RunPending runs every job that is due now, one batch after another,
// until none is left; it is what tests drive instead of Run so they need
// no timing. It returns the number of jobs run.
func (r *Runner) RunPending(ctx context.Context) (int, error) {
	total := 0
	for {
		claimed, err := r.claim(ctx, r.cfg.Concurrency)
		if err != nil {
			return total, err
		}
		if len(claimed) == 0 {
			return total, nil
		}
		var wg sync.WaitGroup
		for _, job := range claimed {
			wg.Add(1)
			go func() { defer wg.Done(); r.runOne(ctx, job) }()
		}
		wg.Wait()
		total += len(claimed)
	}
}

func (r *Runner) kinds() []string {
	out := make([]string, 0, len(r.workers))
	for k := range r.workers {
		out = append(out, k)
	}
	return out
}

func (r *Runner) claim(ctx context.Context, n int) ([]store.Job, error) {
	var claimed []store.Job
	err := r.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimJobs(ctx, store.Claim{Kinds: r.kinds(), Now: r.cfg.Clock(), Lease: r.cfg.Lease, Limit: n})
		return err
	})
	return claimed, err
}

// ErrLeaseLost is the cause of a running job's cancelled context when its
// lease ended (taken over by another replica, or not extended in time
// because the store did not answer): the job must stop, since another
// worker may already run it.
var ErrLeaseLost = errors.New("job lease lost")

func (r *Runner) runOne(ctx context.Context, job store.Job) {
	w := r.workers[job.Kind]
	jctx, cancelTimeout := context.WithTimeout(ctx, r.cfg.Timeout)
	jctx, lost := context.WithCancelCause(jctx)
	beat := make(chan struct{})
	go func() { defer close(beat); r.heartbeat(jctx, job, lost) }()
	err := safeRun(jctx, w, job)
	lost(nil)
	cancelTimeout()
	<-beat
	now := r.cfg.Clock()
	var dbErr error
	switch {
	case err == nil:
		dbErr = r.cfg.Store.InTx(ctx, func(tx store.Tx) error { return tx.CompleteJob(ctx, job.ID, job.LeaseToken) })
	case errors.As(err, new(errSnooze)):
		var sn errSnooze
		errors.As(err, &sn)
		dbErr = r.cfg.Store.InTx(ctx, func(tx store.Tx) error {
			return tx.SnoozeJob(ctx, job.ID, job.LeaseToken, now.Add(sn.delay), sn.reason)
		})
	case isPermanent(err) || job.Attempts >= r.cfg.MaxAttempts:
		r.log.Warn("job failed for good", "kind", job.Kind, "key", job.Key, "attempts", job.Attempts, "err", err)
		dbErr = r.cfg.Store.InTx(ctx, func(tx store.Tx) error { return tx.FailJob(ctx, job.ID, job.LeaseToken, err.Error()) })
	default:
		delay := r.backoff(job.Attempts, err)
		r.log.Info("job will be retried", "kind", job.Kind, "key", job.Key, "attempt", job.Attempts, "in", delay, "err", err)
		dbErr = r.cfg.Store.InTx(ctx, func(tx store.Tx) error {
			return tx.RetryJob(ctx, job.ID, job.LeaseToken, now.Add(delay), err.Error())
		})
	}
	if dbErr != nil {
		r.log.Error("record job outcome", "kind", job.Kind, "key", job.Key, "err", dbErr)
	}
}

// heartbeat extends job's lease every Heartbeat until ctx ends. The lease
// is short so a dead replica's jobs are taken over quickly; a live one
// keeps its jobs however long Jira takes. When the lease is lost (taken
// over) or is about to run out without an extension (the store does not
// answer), the job is cancelled before another worker can start it.
func (r *Runner) heartbeat(ctx context.Context, job store.Job, lost context.CancelCauseFunc) {
	tick := time.NewTicker(r.cfg.Heartbeat)
	defer tick.Stop()
	till := job.LeasedTill
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		next := r.cfg.Clock().Add(r.cfg.Lease)
		err := r.cfg.Store.InTx(ctx, func(tx store.Tx) error { return tx.ExtendJobLease(ctx, job.ID, job.LeaseToken, next) })
		switch {
		case err == nil:
			till = next
		case ctx.Err() != nil:
			return
		case tracker.KindOf(err) == tracker.EConflict:
			r.log.Warn("job lease taken over; stopping the job", "kind", job.Kind, "key", job.Key, "err", err)
			lost(fmt.Errorf("%w: %w", ErrLeaseLost, err))
			return
		case !r.cfg.Clock().Add(r.cfg.Heartbeat).Before(till):
			r.log.Warn("job lease not extended in time; stopping the job", "kind", job.Kind, "key", job.Key, "err", err)
			lost(fmt.Errorf("%w: %w", ErrLeaseLost, err))
			return
		default:
			r.log.Warn("extend job lease", "kind", job.Kind, "key", job.Key, "err", err)
		}
	}
}

func safeRun(ctx context.Context, w worker, job store.Job) (err error) {
	if w == nil {
		return Permanent(fmt.Errorf("no worker for job kind %q", job.Kind))
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("job %s %d panicked: %v", job.Kind, job.ID, v)
		}
	}()
	return w(ctx, job)
}

func isPermanent(err error) bool {
	var p errPermanent
	return errors.As(err, &p)
}

// backoff is exponential with full jitter, bounded, and never shorter than
// a delay the error asked for.
func (r *Runner) backoff(attempt int, err error) time.Duration {
	d := r.cfg.BaseBackoff << min(attempt, 20)
	if d <= 0 || d > r.cfg.MaxBackoff {
		d = r.cfg.MaxBackoff
	}
	d = time.Duration(float64(d) * (0.5 + r.cfg.Rand()/2))
	var after errAfter
	if errors.As(err, &after) && after.delay > d {
		d = after.delay
	}
	return d
}
