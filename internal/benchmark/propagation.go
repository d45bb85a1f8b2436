package benchmark

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// propagationSlackMS is the fixed part of the propagation target:
// p99 ≤ (minimum Jira calls × L) + 50 ms.
const propagationSlackMS = 50

// Minimum Jira calls before a change is visible on the other side. A
// status change to a status one transition away needs that transition
// (its key-event comment follows, but the status is visible before); a
// field edit needs one edit call; a change made in Jira arrives by webhook
// and needs no call at all.
const (
	minCallsOutStatus = 1
	minCallsOutField  = 1
	minCallsIn        = 0
)

// The status cycle used on both sides: each step is one transition of the
// simulator's workflow (To Do → In Progress → Done → Reopen → To Do).
var (
	cycleVulnsync = []tracker.Status{tracker.StatusOpen, tracker.StatusInProgress, tracker.StatusResolved}
	cycleJira     = []string{"To Do", "In Progress", "Done"}
	// cycleFromJira is what each of cycleJira gives in vulnsync: a Done
	// made in Jira is a claimed fix awaiting retest (mapping done_means).
	cycleFromJira = []tracker.Status{tracker.StatusOpen, tracker.StatusInProgress, tracker.StatusFixed}
)

// changeKind is one kind of change whose propagation is timed.
type changeKind struct {
	name     string
	toJira   bool
	minCalls int
}

var changeKinds = []changeKind{
	{name: "vulnsync→Jira status", toJira: true, minCalls: minCallsOutStatus},
	{name: "vulnsync→Jira field", toJira: true, minCalls: minCallsOutField},
	{name: "Jira→vulnsync status", toJira: false, minCalls: minCallsIn},
	{name: "Jira→vulnsync field", toJira: false, minCalls: minCallsIn},
}

// propItem is an item whose changes are timed, with the state the bench
// set last.
type propItem struct {
	id, key string
	status  int // index in the cycles
	cvss    float64
}

// runPropagation times changes from one side until they are visible on
// the other, with the simulator answering every REST call after L and the
// real job runner (Runner.Run) doing the work. vulnsync → Jira: PATCH an
// item's status or a field through the API, then poll the simulator's REST
// API (several polls in flight, so L does not hide when the change became
// visible). Jira → vulnsync: a person transitions or edits the issue
// through the simulator's REST API, the simulator delivers its webhook by
// itself, and the bench polls vulnsync's API. The clock starts before the
// PATCH is sent, or L after the Jira call is sent (the simulator waits L
// before it applies anything). Between two samples the sync settles, so
// each sample times one change.
func runPropagation(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	s.startWorkers()
	in, err := s.setup(ctx, "propagation")
	if err != nil {
		return err
	}
	const pool = 6
	var items [2][]*propItem // 0: changed in vulnsync, 1: changed in Jira
	for side := range items {
		its, err := s.createVulns(ctx, in.targetID, pool, fmt.Sprintf("Propagation %d", side))
		if err != nil {
			return err
		}
		for _, it := range its {
			items[side] = append(items[side], &propItem{id: it.ID, cvss: 5.0})
		}
	}
	if err := s.waitQuiet(ctx, time.Minute); err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	for side := range items {
		for _, p := range items[side] {
			l, err := s.linkOf(ctx, p.id)
			if err != nil {
				return err
			}
			if l.IssueKey == "" {
				return fmt.Errorf("item %s has no issue after the initial sync", p.id)
			}
			p.key = l.IssueKey
		}
	}
	if o.Preload > 0 {
		l, err := s.linkOf(ctx, items[0][0].id)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := preloadLinked(ctx, s, in, o.Preload, l.Synced); err != nil {
			return err
		}
		rec.note("%d more linked items preloaded in %.1f s", o.Preload, time.Since(start).Seconds())
	}
	L := o.Latency
	s.sim.SetFaults(jirasim.Faults{LatencyMS: int(L / time.Millisecond)})
	pr := &propagator{s: s, L: L, transitions: map[string]map[string]string{}, timeout: 10*time.Second + 20*L}

	// Warm-up, not timed: the sync learns the workflow from each status
	// and the bench learns the transition ids.
	for _, k := range changeKinds {
		for range len(cycleJira) {
			if _, err := pr.change(ctx, k, items[sideOf(k)][0], 0); err != nil {
				return fmt.Errorf("warm-up (%s): %w", k.name, err)
			}
			if err := s.waitQuiet(ctx, 30*time.Second); err != nil {
				return fmt.Errorf("warm-up (%s): %w", k.name, err)
			}
		}
	}

	samples := make([][]time.Duration, len(changeKinds))
	timeouts := make([]int, len(changeKinds))
	deadline := time.Now().Add(o.Duration)
	const minSamples = 3
	for n := 0; ; n++ {
		k := n % len(changeKinds)
		round := n / len(changeKinds)
		if round >= minSamples && time.Now().After(deadline) {
			break
		}
		p := items[sideOf(changeKinds[k])][round%pool]
		d, err := pr.change(ctx, changeKinds[k], p, n+1)
		var te *notVisibleError
		switch {
		case errors.As(err, &te):
			timeouts[k]++
			d = te.after
		case err != nil:
			return fmt.Errorf("%s: %w", changeKinds[k].name, err)
		}
		samples[k] = append(samples[k], d)
		if err := s.waitQuiet(ctx, 30*time.Second); err != nil {
			rec.note("after a %s change: %v", changeKinds[k].name, err)
		}
	}

	lms := ms(L)
	for _, toJira := range []bool{true, false} {
		var all []time.Duration
		calls := 0
		for i, k := range changeKinds {
			if k.toJira == toJira {
				all = append(all, samples[i]...)
				calls = max(calls, k.minCalls)
			}
		}
		dir := "Jira→vulnsync"
		if toJira {
			dir = "vulnsync→Jira"
		}
		target := float64(calls)*lms + propagationSlackMS
		rec.add(fmt.Sprintf("%s p99, L=%v (%d samples)", dir, L, len(all)), percentile(all, 99), "ms", atMost(target))
		rec.add(fmt.Sprintf("%s p50", dir), percentile(all, 50), "ms", nil)
	}
	for i, k := range changeKinds {
		rec.note("%s: minimum %d Jira call(s) assumed, target %.0f ms; %d samples, p50 %.1f ms, p99 %.1f ms, max %.1f ms%s",
			k.name, k.minCalls, float64(k.minCalls)*lms+propagationSlackMS, len(samples[i]),
			percentile(samples[i], 50), percentile(samples[i], 99), percentile(samples[i], 100), timeoutNote(timeouts[i]))
	}
	rec.note("status changes move one transition (To Do → In Progress → Done → To Do); field changes edit cvss_score ↔ customfield_10050")
	return nil
}

func timeoutNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d not visible in time, counted at the timeout)", n)
}

func sideOf(k changeKind) int {
	if k.toJira {
		return 0
	}
	return 1
}

// propagator makes timed changes.
type propagator struct {
	s       *stack
	L       time.Duration
	timeout time.Duration
	// transitions[from status][to status] = transition id, as dev sees them.
	transitions map[string]map[string]string
}

// notVisibleError is a change that did not show on the other side in time.
type notVisibleError struct {
	after time.Duration
	err   error
}

func (e *notVisibleError) Error() string {
	return fmt.Sprintf("not visible after %v: %v", e.after, e.err)
}

// change makes one change of kind k to p and returns how long it took to
// become visible on the other side. seq makes field values differ.
func (pr *propagator) change(ctx context.Context, k changeKind, p *propItem, seq int) (time.Duration, error) {
	switch k.name {
	case changeKinds[0].name:
		return pr.outStatus(ctx, p)
	case changeKinds[1].name:
		return pr.outField(ctx, p, seq)
	case changeKinds[2].name:
		return pr.inStatus(ctx, p)
	default:
		return pr.inField(ctx, p, seq)
	}
}

// nextCVSS is a score in [1, 9.9] that differs from cur.
func nextCVSS(cur float64, seq int) float64 {
	v := 1 + float64(seq%89)/10
	if math.Abs(v-cur) < 1e-9 {
		v = 1 + float64((seq+1)%89)/10
	}
	return v
}

func (pr *propagator) outStatus(ctx context.Context, p *propItem) (time.Duration, error) {
	next := (p.status + 1) % len(cycleVulnsync)
	start := time.Now()
	if err := pr.s.api(ctx, "PATCH", "/api/v1/items/"+p.id, map[string]any{"status": cycleVulnsync[next]}, nil); err != nil {
		return 0, err
	}
	p.status = next
	want := cycleJira[next]
	return pr.seenInJira(ctx, start, p.key, func(is simIssue) bool { return strings.EqualFold(is.Fields.Status.Name, want) })
}

func (pr *propagator) outField(ctx context.Context, p *propItem, seq int) (time.Duration, error) {
	v := nextCVSS(p.cvss, seq)
	start := time.Now()
	if err := pr.s.api(ctx, "PATCH", "/api/v1/items/"+p.id, map[string]any{"fields": map[string]any{"cvss_score": v}}, nil); err != nil {
		return 0, err
	}
	p.cvss = v
	return pr.seenInJira(ctx, start, p.key, func(is simIssue) bool {
		return is.Fields.CVSS != nil && math.Abs(*is.Fields.CVSS-v) < 1e-9
	})
}

func (pr *propagator) inStatus(ctx context.Context, p *propItem) (time.Duration, error) {
	next := (p.status + 1) % len(cycleJira)
	id, err := pr.transitionID(ctx, p.key, cycleJira[p.status], cycleJira[next])
	if err != nil {
		return 0, err
	}
	sent := time.Now()
	if err := pr.s.jira(ctx, "dev", "POST", "/rest/api/3/issue/"+p.key+"/transitions", map[string]any{"transition": map[string]any{"id": id}}, nil); err != nil {
		return 0, fmt.Errorf("transition %s to %s in Jira: %w", p.key, cycleJira[next], err)
	}
	p.status = next
	want := cycleFromJira[next]
	return pr.seenInVulnsync(ctx, sent.Add(pr.L), p.id, func(it tracker.Item) bool { return it.Status == want })
}

func (pr *propagator) inField(ctx context.Context, p *propItem, seq int) (time.Duration, error) {
	v := nextCVSS(p.cvss, seq)
	sent := time.Now()
	if err := pr.s.jira(ctx, "dev", "PUT", "/rest/api/3/issue/"+p.key, map[string]any{"fields": map[string]any{"customfield_10050": v}}, nil); err != nil {
		return 0, fmt.Errorf("edit %s in Jira: %w", p.key, err)
	}
	p.cvss = v
	return pr.seenInVulnsync(ctx, sent.Add(pr.L), p.id, func(it tracker.Item) bool {
		f, ok := it.Fields["cvss_score"].(float64)
		return ok && math.Abs(f-v) < 1e-9
	})
}

// transitionID finds, as dev, the transition from one status to another
// (looked up once per status, outside any timing).
func (pr *propagator) transitionID(ctx context.Context, key, from, to string) (string, error) {
	if ids, ok := pr.transitions[from]; ok {
		if id, ok := ids[to]; ok {
			return id, nil
		}
	}
	var ts struct {
		Transitions []struct {
			ID string `json:"id"`
			To struct {
				Name string `json:"name"`
			} `json:"to"`
		} `json:"transitions"`
	}
	if err := pr.s.jira(ctx, "dev", "GET", "/rest/api/3/issue/"+key+"/transitions", nil, &ts); err != nil {
		return "", fmt.Errorf("list the transitions of %s: %w", key, err)
	}
	ids := map[string]string{}
	for _, t := range ts.Transitions {
		ids[t.To.Name] = t.ID
	}
	pr.transitions[from] = ids
	id, ok := ids[to]
	if !ok {
		return "", fmt.Errorf("no transition from %s to %s in the simulator's workflow", from, to)
	}
	return id, nil
}

// simIssue is the part of an issue the bench reads back.
type simIssue struct {
	Fields struct {
		Status struct {
			Name string `json:"name"`
		} `json:"status"`
		CVSS *float64 `json:"customfield_10050"`
	} `json:"fields"`
}

// seenInJira polls the simulator until the issue satisfies ok. Every poll
// is answered after L, so polls are started every 2 ms with several in
// flight: the first that sees the change was applied within 2 ms of it.
func (pr *propagator) seenInJira(ctx context.Context, start time.Time, key string, ok func(simIssue) bool) (time.Duration, error) {
	every := 2 * time.Millisecond
	inFlight := int(pr.L/every) + 4
	at, err := pollUntil(ctx, every, inFlight, pr.timeout, func(ctx context.Context) (bool, error) {
		var is simIssue
		if err := pr.s.jira(ctx, "dev", "GET", "/rest/api/3/issue/"+key+"?fields=status,customfield_10050", nil, &is); err != nil {
			return false, err
		}
		return ok(is), nil
	})
	if err != nil {
		return 0, &notVisibleError{after: pr.timeout, err: err}
	}
	return at.Sub(start), nil
}

// seenInVulnsync polls vulnsync's API (one poll at a time, 1 ms apart)
// until the item satisfies ok.
func (pr *propagator) seenInVulnsync(ctx context.Context, start time.Time, id string, ok func(tracker.Item) bool) (time.Duration, error) {
	at, err := pollUntil(ctx, time.Millisecond, 1, pr.timeout, func(ctx context.Context) (bool, error) {
		var it tracker.Item
		if err := pr.s.api(ctx, "GET", "/api/v1/items/"+id, nil, &it); err != nil {
			return false, err
		}
		return ok(it), nil
	})
	if err != nil {
		return 0, &notVisibleError{after: pr.timeout, err: err}
	}
	return max(at.Sub(start), 0), nil
}

// pollUntil starts check every `every`, with at most inFlight running at
// once, until one reports true, and returns the time that answer arrived.
// It gives up after timeout; it always waits for the checks it started.
func pollUntil(ctx context.Context, every time.Duration, inFlight int, timeout time.Duration, check func(context.Context) (bool, error)) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		at  time.Time
		ok  bool
		err error
	}
	answers := make(chan answer, inFlight)
	running := 0
	launch := func() {
		running++
		go func() {
			ok, err := check(ctx)
			answers <- answer{at: time.Now(), ok: ok, err: err}
		}()
	}
	drain := func() {
		for ; running > 0; running-- {
			<-answers
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var lastErr error
	launch()
	for {
		select {
		case a := <-answers:
			running--
			if a.ok {
				cancel()
				drain()
				return a.at, nil
			}
			if a.err != nil && ctx.Err() == nil {
				lastErr = a.err
			}
			if running == 0 && ctx.Err() == nil {
				// One at a time: the next starts at the next tick.
				select {
				case <-tick.C:
					launch()
				case <-ctx.Done():
				}
			}
		case <-tick.C:
			if running < inFlight {
				launch()
			}
		case <-ctx.Done():
			drain()
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			return time.Time{}, fmt.Errorf("condition not met within %v: %w", timeout, lastErr)
		}
	}
}
