package jirasim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// statuses sends n GET myself requests and returns the status codes.
func statuses(t *testing.T, c *client, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = c.do("GET", "myself", nil).status
	}
	return out
}

func TestFaultInjectionIsDeterministic(t *testing.T) {
	f := Faults{ErrorRate: 0.3, Rate429: 0.2}
	run := func(seed int64) []int {
		e := newEnv(t, envOpts{cfg: Config{Seed: seed}})
		e.sim.SetFaults(f)
		return statuses(t, e.admin, 60)
	}
	a, b := run(7), run(7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different sequences (-first +second):\n%s", diff)
	}
	kinds := map[int]int{}
	for _, s := range a {
		kinds[s]++
	}
	if kinds[200] == 0 || kinds[429] == 0 || kinds[500]+kinds[503] == 0 {
		t.Errorf("sequence %v: want a mix of 200, 429 and 5xx", kinds)
	}
	if c := run(8); cmp.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same sequence %v", a)
	}
	// Reset re-seeds: the same simulator replays the sequence.
	e := newEnv(t, envOpts{cfg: Config{Seed: 7}})
	e.sim.SetFaults(f)
	first := statuses(t, e.admin, 60)
	e.sim.Reset()
	e.sim.SetFaults(f)
	if diff := cmp.Diff(first, statuses(t, e.admin, 60)); diff != "" {
		t.Errorf("after Reset (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(a, first); diff != "" {
		t.Errorf("same seed in another simulator (-want +got):\n%s", diff)
	}
	errs := e.sim.Counters().Endpoints["GET /rest/api/3/myself"]
	if errs.Requests != 60 || errs.Errors+errs.RateLimited == 0 {
		t.Errorf("counters after the replay: %+v", errs)
	}
}

func TestRetryAfterAndEarlyCounter(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.SetFaults(Faults{Rate429: 1, RetryAfterS: 3, RateLimitReason: "jira-quota-tenant-based"})
	r := e.admin.do("GET", "myself", nil)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status: got %d, want 429", r.status)
	}
	wantHdr := map[string]string{
		"Retry-After":       "3",
		"RateLimit-Reason":  "jira-quota-tenant-based",
		"X-RateLimit-Reset": "2025-03-14T09:26:56Z",
	}
	for k, v := range wantHdr {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if get(r.json(t), "errorMessages", 0) == nil {
		t.Errorf("429 body: got %s, want Jira's error shape", r.body)
	}
	e.sim.SetFaults(Faults{})
	e.clock.Advance(time.Second)
	e.admin.must(http.StatusOK, "GET", "myself", nil) // early: 1 s after a Retry-After of 3
	e.dev.must(http.StatusOK, "GET", "myself", nil)   // another client is not early
	e.clock.Advance(2 * time.Second)
	e.admin.must(http.StatusOK, "GET", "myself", nil) // exactly on time
	got := e.sim.Counters().Endpoints["GET /rest/api/3/myself"]
	want := EndpointCounters{Requests: 4, RateLimited: 1, Early: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestBurstLimits(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.admin.createIssue("Task", "b", nil)
	e.sim.SetFaults(Faults{BurstLimits: true})
	for i := 0; i < 100; i++ {
		e.admin.must(http.StatusOK, "GET", "issue/SEC-1?fields=summary", nil)
	}
	r := e.admin.do("GET", "issue/SEC-1?fields=summary", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("RateLimit-Reason") != "jira-burst-based" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("101st GET in a second: got %d %v", r.status, r.header)
	}
	// Another endpoint has its own budget.
	e.admin.must(http.StatusOK, "GET", "myself", nil)
	for i := 0; i < 50; i++ {
		if r := e.admin.do("PUT", "issue/SEC-1/properties/p"+strconv.Itoa(i%2), map[string]any{"i": i}); r.status >= 300 {
			t.Fatalf("PUT %d: got %d", i, r.status)
		}
	}
	if r := e.admin.do("PUT", "issue/SEC-1/properties/p0", map[string]any{"i": 0}); r.status != http.StatusTooManyRequests {
		t.Errorf("51st PUT in a second: got %d, want 429", r.status)
	}
	e.clock.Advance(time.Second)
	e.admin.must(http.StatusOK, "GET", "issue/SEC-1?fields=summary", nil)
}

func TestPerIssueWriteLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.admin.createIssue("Task", "one", nil)
	e.admin.createIssue("Task", "two", nil)
	e.sim.SetFaults(Faults{PerIssueWriteLimit: true})
	put := func(key string) resp {
		return e.admin.do("PUT", "issue/"+key+"/properties/p", map[string]any{"v": 1})
	}
	for i := 0; i < 20; i++ {
		if r := put("SEC-1"); r.status >= 300 {
			t.Fatalf("write %d: got %d", i, r.status)
		}
	}
	r := put("SEC-1")
	if r.status != http.StatusTooManyRequests || r.header.Get("RateLimit-Reason") != "jira-per-issue-on-write" || r.header.Get("Retry-After") != "2" {
		t.Fatalf("21st write in 2 s: got %d %v", r.status, r.header)
	}
	if r := put("SEC-2"); r.status >= 300 {
		t.Errorf("another issue: got %d, want it writable", r.status)
	}
	e.admin.must(http.StatusOK, "GET", "issue/SEC-1?fields=summary", nil)
	// 100 writes per 30 s.
	for round := 0; round < 4; round++ {
		e.clock.Advance(2 * time.Second)
		for i := 0; i < 20; i++ {
			if r := put("SEC-1"); r.status >= 300 {
				t.Fatalf("round %d write %d: got %d", round, i, r.status)
			}
		}
	}
	e.clock.Advance(2 * time.Second)
	r = put("SEC-1")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "20" {
		t.Errorf("101st write in 30 s: got %d Retry-After %q, want 429 and 20", r.status, r.header.Get("Retry-After"))
	}
	ep := e.sim.Counters().Endpoints["PUT /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"]
	if ep.RateLimited != 2 || ep.Early != 0 {
		t.Errorf("counters: %+v, want 2 rate limited and none early", ep)
	}
}

func TestRequestsPerSecond(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.SetFaults(Faults{RequestsPerSecond: 10})
	for i := 0; i < 10; i++ {
		e.admin.must(http.StatusOK, "GET", "myself", nil)
	}
	r := e.admin.do("GET", "myself", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("RateLimit-Reason") != "jira-quota-global-based" {
		t.Fatalf("11th request in a second at R=10: got %d %v", r.status, r.header)
	}
	e.clock.Advance(time.Second)
	for i := 0; i < 10; i++ {
		e.admin.must(http.StatusOK, "GET", "myself", nil)
	}
}

func TestInjectedErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sim.SetFaults(Faults{ErrorRate: 1})
	r := e.admin.do("GET", "myself", nil)
	if r.status != http.StatusInternalServerError && r.status != http.StatusServiceUnavailable {
		t.Errorf("error_rate 1: got %d, want 500 or 503", r.status)
	}
	if got := e.sim.Counters().Total; got.Errors != 1 || got.Requests != 1 {
		t.Errorf("totals: %+v", got)
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctl := *e.admin
	ctl.auth = ""
	for _, bad := range []string{`{"error_rate": 2}`, `{"latency_ms": -1}`, `{"nope": 1}`, `{"error_rate": "x"}`} {
		if r := ctl.do("POST", "/_sim/faults", bad); r.status != http.StatusBadRequest {
			t.Errorf("faults %s: got %d, want 400", bad, r.status)
		}
	}
	ctl.must(http.StatusOK, "POST", "/_sim/faults", `{"rate429": 1, "retry_after_s": 2, "rate_limit_reason": "jira-quota-global-based"}`)
	if r := e.admin.do("GET", "myself", nil); r.status != http.StatusTooManyRequests || r.header.Get("RateLimit-Reason") != "jira-quota-global-based" {
		t.Errorf("after POST /_sim/faults: got %d %v", r.status, r.header)
	}
	var c Counters
	if err := json.Unmarshal(ctl.must(http.StatusOK, "GET", "/_sim/counters", nil).body, &c); err != nil {
		t.Fatalf("decode counters: %v", err)
	}
	if c.Endpoints["GET /rest/api/3/myself"].RateLimited != 1 {
		t.Errorf("counters: %+v", c)
	}
	raw := ctl.must(http.StatusOK, "GET", "/_sim/counters", nil).body
	for _, k := range []string{`"requests"`, `"rate_limited"`, `"errors"`, `"early"`, `"queued"`, `"delivered"`, `"dropped"`, `"duplicated"`, `"failed"`} {
		if !bytes.Contains(raw, []byte(k)) {
			t.Errorf("counters JSON lacks %s: %s", k, raw)
		}
	}
	ctl.must(http.StatusOK, "POST", "/_sim/reset", nil)
	e.admin.must(http.StatusOK, "GET", "myself", nil)
	if got := e.sim.Counters().Total; got.Requests != 1 || got.RateLimited != 0 {
		t.Errorf("after reset: %+v, want only the new request", got)
	}
	ctl.must(http.StatusNotFound, "GET", "/_sim/nope", nil)
	// Latency delays answers (a lower bound, not a performance check).
	e.sim.SetFaults(Faults{LatencyMS: 30})
	start := time.Now()
	e.admin.must(http.StatusOK, "GET", "myself", nil)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency_ms 30: answered after %v", d)
	}
}
