package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "ping" }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T) (store.Store, *clock, *Runner) {
	t.Helper()
	st, err := sqldb.OpenSQLite(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	r := NewRunner(Config{Store: st, Clock: clk.Now, BaseBackoff: time.Second, MaxBackoff: time.Minute, MaxAttempts: 3, Rand: func() float64 { return 1 }})
	return st, clk, r
}

func enqueue(t *testing.T, st store.Store, key string, n int, at time.Time) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx store.Tx) error { return Enqueue(context.Background(), tx, key, pingArgs{N: n}, at) })
	if err != nil {
		t.Fatal(err)
	}
}

func jobsIn(t *testing.T, st store.Store, state store.JobState) []store.Job {
	t.Helper()
	var out []store.Job
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListJobs(context.Background(), store.JobFilter{Kind: "ping", State: state, Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBurstCoalescesIntoOneRunOfTheLatestArgs(t *testing.T) {
	st, clk, r := setup(t)
	var mu sync.Mutex // the two keys' jobs run at once
	var got []int
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, a.N)
		return nil
	})
	for n := 1; n <= 5; n++ {
		enqueue(t, st, "item-1", n, clk.Now())
	}
	enqueue(t, st, "item-2", 9, clk.Now())
	ran, err := r.RunPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ran != 2 || len(got) != 2 {
		t.Fatalf("ran %d jobs (%v), want 2: one per key", ran, got)
	}
	if !(got[0] == 5 && got[1] == 9 || got[0] == 9 && got[1] == 5) {
		t.Fatalf("args seen %v, want the latest of item-1 (5) and item-2 (9)", got)
	}
	if n := len(jobsIn(t, st, store.JobDone)); n != 2 {
		t.Fatalf("done jobs: %d, want 2", n)
	}
}

func TestRetriesWithBackoffThenFails(t *testing.T) {
	st, clk, r := setup(t)
	attempts := 0
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error {
		attempts++
		return errors.New("jira said 503")
	})
	enqueue(t, st, "item-1", 1, clk.Now())
	if _, err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 {
		t.Fatalf("attempts: %d, want 1", attempts)
	}
	pending := jobsIn(t, st, store.JobPending)
	if len(pending) != 1 || !pending[0].RunAt.Equal(clk.Now().Add(2*time.Second)) || pending[0].LastError != "jira said 503" {
		t.Fatalf("after one failure: %+v, want pending at +2s (base 1s << 1 attempt, full jitter at 1.0)", pending)
	}
	// Not due yet: nothing runs.
	if ran, _ := r.RunPending(context.Background()); ran != 0 {
		t.Fatalf("a job ran before its backoff passed")
	}
	clk.Advance(2 * time.Second)
	_, _ = r.RunPending(context.Background())
	clk.Advance(time.Minute)
	_, _ = r.RunPending(context.Background())
	if attempts != 3 {
		t.Fatalf("attempts: %d, want 3 (MaxAttempts)", attempts)
	}
	failed := jobsIn(t, st, store.JobFailed)
	if len(failed) != 1 || failed[0].LastError != "jira said 503" {
		t.Fatalf("failed jobs: %+v", failed)
	}
	clk.Advance(time.Hour)
	if ran, _ := r.RunPending(context.Background()); ran != 0 || attempts != 3 {
		t.Fatalf("a failed job ran again")
	}
}

func TestPermanentAndRetryAfterAndPanics(t *testing.T) {
	st, clk, r := setup(t)
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error {
		switch a.N {
		case 1:
			return Permanent(errors.New("mapping refers to a deleted issue type"))
		case 2:
			return RetryAfter(errors.New("429"), 30*time.Second)
		default:
			panic("boom")
		}
	})
	enqueue(t, st, "a", 1, clk.Now())
	enqueue(t, st, "b", 2, clk.Now())
	enqueue(t, st, "c", 3, clk.Now())
	if _, err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := jobsIn(t, st, store.JobFailed)
	if len(failed) != 1 || failed[0].Key != "a" || failed[0].Attempts != 1 {
		t.Fatalf("permanent error: failed jobs %+v, want only a, after one attempt", failed)
	}
	for _, j := range jobsIn(t, st, store.JobPending) {
		switch j.Key {
		case "b":
			if !j.RunAt.Equal(clk.Now().Add(30 * time.Second)) {
				t.Errorf("RetryAfter: next run %v, want %v", j.RunAt, clk.Now().Add(30*time.Second))
			}
		case "c":
			if j.LastError == "" {
				t.Errorf("panic was not recorded as the job's error")
			}
		}
	}
}

func TestRunStopsWithContextAndRunsNotifiedWork(t *testing.T) {
	st, clk, r := setup(t)
	done := make(chan int, 10)
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error { done <- a.N; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- r.Run(ctx) }()
	enqueue(t, st, "k", 7, clk.Now())
	r.Notify()
	select {
	case n := <-done:
		if n != 7 {
			t.Fatalf("ran %d, want 7", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("notified job did not run")
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// A job that waits (snoozes) more often than MaxAttempts never fails: only
// real failures spend attempts.
func TestSnoozeDoesNotSpendAttempts(t *testing.T) {
	st, clk, r := setup(t) // MaxAttempts 3
	runs, ready := 0, false
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error {
		runs++
		if !ready {
			return Snooze(5*time.Second, "waiting for the parent")
		}
		return nil
	})
	enqueue(t, st, "item-1", 1, clk.Now())
	for range 10 {
		if _, err := r.RunPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		pending := jobsIn(t, st, store.JobPending)
		if len(pending) != 1 || pending[0].Attempts != 0 || !pending[0].RunAt.Equal(clk.Now().Add(5*time.Second)) {
			t.Fatalf("after a snooze: %+v, want one pending job at +5s with no attempt spent", pending)
		}
		if ran, _ := r.RunPending(context.Background()); ran != 0 {
			t.Fatalf("a snoozed job ran before its time")
		}
		clk.Advance(5 * time.Second)
	}
	if got := jobsIn(t, st, store.JobFailed); len(got) != 0 {
		t.Fatalf("a job that only waited failed: %+v", got)
	}
	ready = true
	if _, err := r.RunPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs != 11 || len(jobsIn(t, st, store.JobDone)) != 1 {
		t.Fatalf("runs %d, done %v: want 11 runs and the job done", runs, jobsIn(t, st, store.JobDone))
	}
}

// heartbeatRunner runs ping jobs with a one-minute lease extended every
// 10 ms of wall time, on the test's clock; started reports each job's
// context, and the job runs until release is closed or its context ends.
func heartbeatRunner(t *testing.T) (store.Store, *clock, chan context.Context, chan struct{}, chan error) {
	t.Helper()
	st, clk, _ := setup(t)
	r := NewRunner(Config{Store: st, Clock: clk.Now, Lease: time.Minute, Heartbeat: 10 * time.Millisecond, MaxAttempts: 3})
	started, release, ended := make(chan context.Context, 1), make(chan struct{}), make(chan error, 1)
	Register(r, func(ctx context.Context, j store.Job, a pingArgs) error {
		started <- ctx
		select {
		case <-release:
			ended <- nil
			return nil
		case <-ctx.Done():
			ended <- context.Cause(ctx)
			return context.Cause(ctx)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	enqueue(t, st, "item-1", 1, clk.Now())
	r.Notify()
	return st, clk, started, release, ended
}

func waitStarted(t *testing.T, started chan context.Context) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}
}

// A job running longer than its lease keeps it through heartbeats, so no
// other replica takes it over; a replica that dies stops extending it.
func TestHeartbeatExtendsTheLeaseOfARunningJob(t *testing.T) {
	st, clk, started, release, ended := heartbeatRunner(t)
	waitStarted(t, started)
	claimedTill := jobsIn(t, st, store.JobRunning)[0].LeasedTill
	clk.Advance(50 * time.Second)
	want := claimedTill.Add(50 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		running := jobsIn(t, st, store.JobRunning)
		if len(running) != 1 {
			t.Fatalf("running jobs: %+v, want the one job", running)
		}
		if !running[0].LeasedTill.Before(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease still ends at %v after the clock moved 50 s, want at least %v", running[0].LeasedTill, want)
		}
		time.Sleep(5 * time.Millisecond) // polling the store, not waiting for an event
	}
	// Past the lease it was claimed with, but within the extended one.
	clk.Advance(30 * time.Second)
	var took []store.Job
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		took, err = tx.ClaimJobs(context.Background(), store.Claim{Now: clk.Now(), Lease: time.Minute, Limit: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(took) != 0 {
		t.Fatalf("another replica took over a job whose lease is being extended: %+v", took)
	}
	close(release)
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the job ended with %v, want it to finish", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not finish")
	}
}

// When another replica took the job over (its lease had expired), the
// heartbeat's refused extension cancels the job here with ErrLeaseLost, so
// two workers do not go on syncing one item.
func TestLostLeaseCancelsTheJob(t *testing.T) {
	st, clk, started, _, ended := heartbeatRunner(t)
	waitStarted(t, started)
	// Past anything the heartbeat can have extended the lease to (now + 1 min).
	var took []store.Job
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		took, err = tx.ClaimJobs(context.Background(), store.Claim{Now: clk.Now().Add(2 * time.Minute), Lease: time.Hour, Limit: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(took) != 1 {
		t.Fatalf("takeover claimed %d jobs, want the one whose lease expired", len(took))
	}
	select {
	case err := <-ended:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("the job ended with %v, want ErrLeaseLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job went on after its lease was taken over")
	}
	if got := jobsIn(t, st, store.JobRunning); len(got) != 1 || got[0].LeaseToken != took[0].LeaseToken {
		t.Errorf("running jobs after the loser stopped: %+v, want the takeover's lease untouched", got)
	}
}
