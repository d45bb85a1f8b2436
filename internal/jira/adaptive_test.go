package jira

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

var tA = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sendSteadily books n reads of endpoint, one every gap from t0, and
// returns the instant after the last.
func sendSteadily(p *pacer, t0 time.Time, endpoint string, n int, gap time.Duration) time.Time {
	for i := range n {
		p.reserve(t0.Add(time.Duration(i)*gap), endpoint, "", false)
	}
	return t0.Add(time.Duration(n) * gap)
}

// slots books n requests of endpoint all asked for at now and returns
// their send times.
func slots(p *pacer, now time.Time, endpoint string, n int) []time.Time {
	var out []time.Time
	for range n {
		r, _ := p.reserve(now, endpoint, "", false)
		out = append(out, r.at)
	}
	return out
}

func checkSpacing(t *testing.T, what string, ts []time.Time, min time.Duration) {
	t.Helper()
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d < min {
			t.Fatalf("%s: sends %d and %d are %v apart, want at least %v", what, i-1, i, d, min)
		}
	}
}

func near(got, want float64) bool { return math.Abs(got-want) < 1e-6*math.Max(1, want) }

func TestA429WithALimitHeaderSetsTheRate(t *testing.T) {
	p := newPacer(DefaultLimits())
	// 60 sends in 600 ms (100/s), then a 429 saying the limit is 20.
	now := sendSteadily(p, tA, "GET /x", 60, 10*time.Millisecond)
	p.learn(now, now.Add(-5*time.Millisecond), "GET /x", "jira-quota-global-based", 20)
	if got, want := p.rate(), 0.95*20; !near(got, want) {
		t.Fatalf("rate after a 429 with X-RateLimit-Limit 20: got %v, want %v", got, want)
	}
	// Every endpoint is paced at that rate now, evenly.
	ts := slots(p, now, "GET /y", 10)
	if !ts[0].Equal(now) {
		t.Errorf("first send after the 429: got +%v, want at once (Retry-After is the client's business)", ts[0].Sub(now))
	}
	checkSpacing(t, "paced sends", ts, time.Second/19)
	if got, want := ts[9].Sub(ts[0]), 9*time.Second/19; got < want-time.Microsecond || got > want+time.Millisecond {
		t.Errorf("10 sends at 19/s span %v, want %v", got, want)
	}
}

func TestA429WithoutAHeaderCutsTheMeasuredRate(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "GET /x", 50, 20*time.Millisecond) // 50/s for a second
	p.learn(now, now.Add(-time.Millisecond), "GET /x", "jira-quota-tenant-based", 0)
	// The window is the last second: 49 sends, the first 980 ms ago.
	measured := 49 / 0.98
	if got, want := p.rate(), 0.7*measured; !near(got, want) {
		t.Fatalf("rate: got %v, want 0.7 × the measured %.2f/s = %v", got, measured, want)
	}
	// A header that does not read as a per-second budget (more than was
	// being sent: an hourly quota, say) is not taken as the rate.
	q := newPacer(DefaultLimits())
	now = sendSteadily(q, tA, "GET /x", 50, 20*time.Millisecond)
	q.learn(now, now.Add(-time.Millisecond), "jira-quota-tenant-based", "", 65000)
	if got, want := q.rate(), 0.7*measured; !near(got, want) {
		t.Errorf("rate with X-RateLimit-Limit 65000: got %v, want %v", got, want)
	}
}

func TestOneCutPerEpisode(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "GET /x", 50, 20*time.Millisecond)
	p.learn(now, now.Add(-time.Millisecond), "GET /x", "", 0)
	first := p.rate()
	// Requests in flight when the first 429 came get theirs too: the same
	// episode, no further cut.
	for i := range 4 {
		p.learn(now.Add(time.Duration(i+1)*time.Millisecond), now.Add(-time.Millisecond), "GET /x", "", 0)
	}
	if got := p.rate(); got != first {
		t.Fatalf("rate after 429s for requests sent before the cut: got %v, want %v unchanged", got, first)
	}
	// A 429 for a request sent at the new rate cuts again.
	later := now.Add(2 * time.Second)
	ts := slots(p, later, "GET /x", 5)
	p.learn(ts[4], ts[4], "GET /x", "", 0)
	if got := p.rate(); got >= first {
		t.Errorf("rate after a 429 at the learned rate: got %v, want below %v", got, first)
	}
}

func TestASecondLimitedEpisodeGoesUnderTheHeader(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "GET /x", 60, 10*time.Millisecond)
	p.learn(now, now, "GET /x", "", 20)
	// Someone else shares the budget: a 429 although we keep to 19/s.
	ts := slots(p, now.Add(time.Second), "GET /x", 20)
	p.learn(ts[19], ts[19], "GET /x", "", 20)
	if got := p.rate(); got >= 19 {
		t.Errorf("rate after a 429 at 0.95 × the announced limit: got %v, want below 19", got)
	}
}

func TestTheRateRisesWhileItHoldsRequestsBack(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "GET /x", 20, 50*time.Millisecond) // 20/s
	p.learn(now, now, "GET /x", "", 0)
	start := p.rate()
	// Demand above the rate for 10 s: two requests asked for at each slot.
	t0 := now
	for now.Sub(t0) < 10*time.Second {
		ts := slots(p, now, "GET /x", 2)
		now = ts[1]
	}
	got := p.rate()
	if got <= start {
		t.Fatalf("rate after 10 s held at the limit: got %v, want above %v", got, start)
	}
	if max := start + 11*math.Max(1, 0.02*got); got > max {
		t.Errorf("rate after 10 s: got %v, want at most %v (about one step a second)", got, max)
	}

	// With a limit announced by Jira, it never goes above 0.95 × it.
	q := newPacer(DefaultLimits())
	now = sendSteadily(q, tA, "GET /x", 60, 10*time.Millisecond)
	q.learn(now, now, "GET /x", "", 20)
	for t0 = now; now.Sub(t0) < 30*time.Second; {
		ts := slots(q, now, "GET /x", 2)
		now = ts[1]
	}
	if got := q.rate(); got > 19 {
		t.Errorf("rate under an announced limit of 20: got %v, want at most 19", got)
	}

	// Demand below the rate does not raise it.
	r := newPacer(DefaultLimits())
	now = sendSteadily(r, tA, "GET /x", 20, 50*time.Millisecond)
	r.learn(now, now, "GET /x", "", 0)
	before := r.rate()
	now = sendSteadily(r, now.Add(time.Second), "GET /x", 20, time.Second)
	if got := r.rate(); got != before {
		t.Errorf("rate after 20 s of one request a second: got %v, want %v unchanged", got, before)
	}
}

func TestPerIssueAndBurstLimitsKeepTheirScope(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "PUT /rest/api/3/issue/{}", 40, 10*time.Millisecond)
	p.learn(now, now, "PUT /rest/api/3/issue/{}", reasonPerIssue, 20)
	if got := p.rate(); got != 0 {
		t.Errorf("connection rate after a per-issue 429: got %v, want 0 (the issue's Retry-After covers it)", got)
	}
	p.learn(now, now, "PUT /rest/api/3/issue/{}", reasonBurst, 10)
	if got := p.rate(); got != 0 {
		t.Errorf("connection rate after a burst 429: got %v, want 0 (only the endpoint slows)", got)
	}
	ts := slots(p, now, "PUT /rest/api/3/issue/{}", 5)
	checkSpacing(t, "writes to the endpoint after its burst 429", ts, 2*time.Second/19)
	if other := slots(p, now, "GET /rest/api/3/myself", 3); !other[2].Equal(now) {
		t.Errorf("another endpoint waited %v after a burst 429 elsewhere", other[2].Sub(now))
	}
}

func TestConfiguredRate(t *testing.T) {
	l := DefaultLimits()
	l.Rate = 5
	p := newPacer(l)
	ts := slots(p, tA, "GET /x", 6)
	if !ts[0].Equal(tA) || !ts[5].Equal(tA.Add(time.Second)) {
		t.Fatalf("6 sends at a configured 5/s: first +%v, last +%v; want +0 and +1s", ts[0].Sub(tA), ts[5].Sub(tA))
	}
	// A 429 announcing more does not raise it; a long quiet period does
	// not forget it.
	p.learn(ts[5], ts[5], "GET /x", "", 100)
	later := tA.Add(time.Hour)
	ts = slots(p, later, "GET /x", 3)
	checkSpacing(t, "configured rate an hour later", ts, 200*time.Millisecond)
}

func TestALearnedRateIsForgotten(t *testing.T) {
	p := newPacer(DefaultLimits())
	now := sendSteadily(p, tA, "GET /x", 20, 50*time.Millisecond)
	p.learn(now, now, "GET /x", "", 0)
	if p.rate() == 0 {
		t.Fatal("no rate learned")
	}
	later := now.Add(rateMemory)
	ts := slots(p, later, "GET /x", 3)
	if !ts[2].Equal(later) || p.rate() != 0 {
		t.Errorf("%v after the last 429: rate %v, third send +%v; want no pacing", rateMemory, p.rate(), ts[2].Sub(later))
	}
}

func TestCancelReturnsTheRateSlot(t *testing.T) {
	l := DefaultLimits()
	l.Rate = 10
	p := newPacer(l)
	r1, _ := p.reserve(tA, "GET /x", "", false)
	r2, _ := p.reserve(tA, "GET /x", "", false)
	p.cancel(r2)
	r3, _ := p.reserve(tA, "GET /x", "", false)
	if !r1.at.Equal(tA) || !r3.at.Equal(r2.at) || !r2.at.Equal(tA.Add(100*time.Millisecond)) {
		t.Errorf("slots: got +%v, +%v, then +%v after cancelling the second; want +0, +100ms, +100ms",
			r1.at.Sub(tA), r2.at.Sub(tA), r3.at.Sub(tA))
	}
}

// TestClientKeepsUnderAGlobalLimit drives the client against a Jira that
// allows R requests per second (a token bucket holding one second's worth,
// as Jira's and the simulator's global limits do): after the first 429 the
// client paces itself under R, so nearly every later request succeeds,
// nothing is sent before a Retry-After, and the useful rate stays near R.
func TestClientKeepsUnderAGlobalLimit(t *testing.T) {
	const R = 10.0
	f := newFakeJira(t)
	var mu sync.Mutex
	tokens, last := R, f.clock.Now()
	var notBefore time.Time
	limited, early, ok := 0, 0, 0
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		now := f.clock.Now()
		if now.Before(notBefore) {
			early++
		}
		tokens = math.Min(R, tokens+now.Sub(last).Seconds()*R)
		last = now
		if tokens < 1 {
			limited++
			wait := time.Duration(math.Ceil((1-tokens)/R)) * time.Second
			notBefore = now.Add(wait)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
			w.Header().Set("RateLimit-Reason", "jira-quota-global-based")
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(int(R)))
			writeJSON(w, 429, `{"errorMessages":["Rate limit exceeded."]}`)
			return
		}
		tokens--
		ok++
		writeJSON(w, 200, myselfCloud)
	})
	c := f.client(Cloud)
	t0 := f.clock.Now()
	const n = 200
	for i := range n {
		if _, err := c.Myself(context.Background()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	elapsed := f.clock.Now().Sub(t0)
	if limited > 1 || early != 0 || ok != n {
		t.Errorf("%d requests: %d answered 429, %d sent before a Retry-After, %d succeeded; want at most 1, 0, %d", n, limited, early, ok, n)
	}
	if rate := float64(ok) / elapsed.Seconds(); rate < 0.9*R || rate > R+1 {
		t.Errorf("useful rate: %d in %v = %.2f/s, want between %.1f and %.1f", ok, elapsed, rate, 0.9*R, R+1)
	}
	if got := c.PacedRate(); !near(got, 0.95*R) {
		t.Errorf("PacedRate: got %v, want %v", got, 0.95*R)
	}
}
