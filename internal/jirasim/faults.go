package jirasim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds fault injection, Jira's rate limits, the counters and the
// /_sim/ control API.

// Faults are the failures the simulator injects. The zero value injects
// nothing. JSON names are those of POST /_sim/faults.
type Faults struct {
	// LatencyMS delays every REST answer (wall time).
	LatencyMS int `json:"latency_ms"`
	// ErrorRate is the share of REST requests answered with a 5xx.
	ErrorRate float64 `json:"error_rate"`
	// Rate429 is the share of REST requests answered 429.
	Rate429 float64 `json:"rate429"`
	// RetryAfterS is the Retry-After of Rate429 answers (default 1).
	RetryAfterS int `json:"retry_after_s"`
	// RateLimitReason is the RateLimit-Reason of Rate429 answers (default
	// jira-quota-tenant-based).
	RateLimitReason string `json:"rate_limit_reason"`
	// BurstLimits enables Jira Cloud's per-endpoint burst limits: about 100
	// GET/POST and 50 PUT/DELETE per second.
	BurstLimits bool `json:"burst_limits"`
	// PerIssueWriteLimit enables Jira Cloud's per-issue write limits: 20
	// writes per 2 s and 100 per 30 s (reason jira-per-issue-on-write).
	PerIssueWriteLimit bool `json:"per_issue_write_limit"`
	// RequestsPerSecond is a global limit R (token bucket, burst of one
	// second's worth); 0 disables it.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// WebhookDrop is the share of deliveries never sent (drawn at their
	// first send).
	WebhookDrop float64 `json:"webhook_drop"`
	// WebhookDuplicate is the share of deliveries sent twice (same
	// identifier).
	WebhookDuplicate float64 `json:"webhook_duplicate"`
	// WebhookDelayMS holds every delivery back this long.
	WebhookDelayMS int `json:"webhook_delay_ms"`
	// WebhookReorder is the share of delivery batches (the deliveries due
	// at one moment, e.g. one DeliverWebhooks call) sent in a shuffled
	// order.
	WebhookReorder float64 `json:"webhook_reorder"`
}

// Validate reports the first out-of-range value.
func (f Faults) Validate() error {
	for name, r := range map[string]float64{"error_rate": f.ErrorRate, "rate429": f.Rate429, "webhook_drop": f.WebhookDrop, "webhook_duplicate": f.WebhookDuplicate, "webhook_reorder": f.WebhookReorder} {
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, r)
		}
	}
	switch {
	case f.LatencyMS < 0 || f.LatencyMS > 60000:
		return fmt.Errorf("latency_ms must be between 0 and 60000, got %d", f.LatencyMS)
	case f.RetryAfterS < 0 || f.RetryAfterS > 3600:
		return fmt.Errorf("retry_after_s must be between 0 and 3600, got %d", f.RetryAfterS)
	case f.WebhookDelayMS < 0 || f.WebhookDelayMS > 3600000:
		return fmt.Errorf("webhook_delay_ms must be between 0 and 3600000, got %d", f.WebhookDelayMS)
	case f.RequestsPerSecond < 0 || math.IsNaN(f.RequestsPerSecond) || math.IsInf(f.RequestsPerSecond, 0):
		return fmt.Errorf("requests_per_second must be a non-negative number, got %v", f.RequestsPerSecond)
	case len(f.RateLimitReason) > 100:
		return fmt.Errorf("rate_limit_reason is too long")
	}
	return nil
}

// EndpointCounters count what happened on one endpoint (method + route
// template, e.g. "GET /rest/api/3/issue/{issueIdOrKey}").
type EndpointCounters struct {
	Requests    int64 `json:"requests"`
	RateLimited int64 `json:"rate_limited"` // 429s sent
	Errors      int64 `json:"errors"`       // injected 5xx sent
	// Early counts requests that arrived before a Retry-After the same
	// client was given had passed (vulnsync guarantee G9).
	Early int64 `json:"early"`
}

// WebhookCounters count webhook deliveries.
type WebhookCounters struct {
	Queued     int64 `json:"queued"`     // deliveries created for a matching webhook
	Delivered  int64 `json:"delivered"`  // sends answered 2xx
	Dropped    int64 `json:"dropped"`    // never sent (webhook_drop)
	Duplicated int64 `json:"duplicated"` // sent twice (webhook_duplicate)
	Retried    int64 `json:"retried"`    // retries scheduled
	Failed     int64 `json:"failed"`     // given up: non-retryable answer or retries exhausted
}

// MediaCounters count requests to Cloud's attachment media host.
type MediaCounters struct {
	Requests int64 `json:"requests"`
	// WithAuthorization counts media requests that carried an
	// Authorization header: a client leaking its Jira credentials to
	// another host. It must stay 0.
	WithAuthorization int64 `json:"with_authorization"`
}

// Counters is the answer of GET /_sim/counters.
type Counters struct {
	Endpoints map[string]EndpointCounters `json:"endpoints"`
	Total     EndpointCounters            `json:"total"`
	Webhooks  WebhookCounters             `json:"webhooks"`
	Media     MediaCounters               `json:"media"`
}

// control holds faults, rate-limit state and counters under its own lock,
// so that counting never waits for the data lock.
type control struct {
	mu          sync.Mutex
	seed        int64
	faults      Faults
	rng         *rand.Rand
	endpoints   map[string]*EndpointCounters
	notBefore   map[string]time.Time // client → Retry-After deadline
	notBeforeIs map[string]time.Time // client|issue → per-issue deadline
	burst       map[string]*burstWindow
	issueWrites map[string][]time.Time
	tokens      float64
	tokensAt    time.Time
	mediaCtr    MediaCounters
}

// media counts a media host request.
func (c *control) media(withAuth bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mediaCtr.Requests++
	if withAuth {
		c.mediaCtr.WithAuthorization++
	}
}

type burstWindow struct {
	start time.Time
	n     int
}

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

func newControl(seed int64) *control {
	c := &control{seed: seed}
	c.resetLocked()
	return c
}

func (c *control) resetLocked() {
	c.faults = Faults{}
	c.rng = newRand(c.seed, 0x5eed0001)
	c.endpoints = map[string]*EndpointCounters{}
	c.notBefore = map[string]time.Time{}
	c.notBeforeIs = map[string]time.Time{}
	c.burst = map[string]*burstWindow{}
	c.issueWrites = map[string][]time.Time{}
	c.tokens = 0
	c.tokensAt = time.Time{}
	c.mediaCtr = MediaCounters{}
}

func (c *control) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

func (c *control) setFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.RequestsPerSecond != c.faults.RequestsPerSecond {
		c.tokens, c.tokensAt = 0, time.Time{}
	}
	c.faults = f
}

func (c *control) getFaults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

func (c *control) latency() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.faults.LatencyMS) * time.Millisecond
}

func (c *control) endpoint(key string) *EndpointCounters {
	ep := c.endpoints[key]
	if ep == nil {
		ep = &EndpointCounters{}
		c.endpoints[key] = ep
	}
	return ep
}

// arrive counts a request and whether it came before a Retry-After its
// client was given.
func (c *control) arrive(key, client, issueScope string, write bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ep := c.endpoint(key)
	ep.Requests++
	early := now.Before(c.notBefore[client])
	if !early && write && issueScope != "" {
		early = now.Before(c.notBeforeIs[client+"|"+issueScope])
	}
	if early {
		ep.Early++
	}
}

func (c *control) counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Counters{Endpoints: make(map[string]EndpointCounters, len(c.endpoints)), Media: c.mediaCtr}
	for k, ep := range c.endpoints {
		out.Endpoints[k] = *ep
		out.Total.Requests += ep.Requests
		out.Total.RateLimited += ep.RateLimited
		out.Total.Errors += ep.Errors
		out.Total.Early += ep.Early
	}
	return out
}

// decision is an injected answer (429 or 5xx).
type decision struct {
	status     int
	retryAfter time.Duration
	reason     string
	limit      int
}

func (d *decision) write(w http.ResponseWriter, now time.Time) {
	if d.status == http.StatusTooManyRequests {
		secs := int(math.Ceil(d.retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("X-RateLimit-Reset", now.Add(time.Duration(secs)*time.Second).UTC().Format(time.RFC3339))
		w.Header().Set("RateLimit-Reason", d.reason)
		if d.limit > 0 {
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(d.limit))
			w.Header().Set("X-RateLimit-Remaining", "0")
		}
		writeJSON(w, d.status, errorBody([]string{"Rate limit exceeded."}, nil))
		return
	}
	writeJSON(w, d.status, errorBody([]string{"Internal server error"}, nil))
}

// ceilSecond rounds a wait up to whole seconds (at least one), the unit of
// Retry-After.
func ceilSecond(d time.Duration) time.Duration {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		s = 1
	}
	return time.Duration(s) * time.Second
}

// decide applies rate limits and injected faults to a request that passed
// authentication; nil means serve it. Limits are checked first and only
// consumed by requests that go through.
func (c *control) decide(key, client, issueScope string, write bool, now time.Time) *decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.faults
	ep := c.endpoint(key)
	limited := func(ra time.Duration, reason string, limit int, perIssue bool) *decision {
		ra = ceilSecond(ra)
		ep.RateLimited++
		if perIssue {
			c.notBeforeIs[client+"|"+issueScope] = now.Add(ra)
		} else if nb := now.Add(ra); nb.After(c.notBefore[client]) {
			c.notBefore[client] = nb
		}
		return &decision{status: http.StatusTooManyRequests, retryAfter: ra, reason: reason, limit: limit}
	}
	if r := f.RequestsPerSecond; r > 0 {
		capacity := math.Max(1, r)
		if c.tokensAt.IsZero() {
			c.tokens = capacity
		} else if el := now.Sub(c.tokensAt).Seconds(); el > 0 {
			c.tokens = math.Min(capacity, c.tokens+el*r)
		}
		c.tokensAt = now
		if c.tokens < 1 {
			wait := time.Duration((1 - c.tokens) / r * float64(time.Second))
			return limited(wait, reasonOr(f.RateLimitReason, "jira-quota-global-based"), int(r), false)
		}
	}
	var w *burstWindow
	if f.BurstLimits {
		limit := 100
		if strings.HasPrefix(key, "PUT ") || strings.HasPrefix(key, "DELETE ") {
			limit = 50
		}
		sec := now.Truncate(time.Second)
		w = c.burst[key]
		if w == nil {
			w = &burstWindow{}
			c.burst[key] = w
		}
		if !w.start.Equal(sec) {
			w.start, w.n = sec, 0
		}
		if w.n >= limit {
			return limited(sec.Add(time.Second).Sub(now), "jira-burst-based", limit, false)
		}
	}
	perIssue := f.PerIssueWriteLimit && write && issueScope != ""
	if perIssue {
		times := c.issueWrites[issueScope]
		cut := 0
		for cut < len(times) && now.Sub(times[cut]) >= 30*time.Second {
			cut++
		}
		times = times[cut:]
		c.issueWrites[issueScope] = times
		in2 := 0
		var first2 time.Time
		for _, t := range times {
			if now.Sub(t) < 2*time.Second {
				if in2 == 0 {
					first2 = t
				}
				in2++
			}
		}
		switch {
		case in2 >= 20:
			return limited(first2.Add(2*time.Second).Sub(now), "jira-per-issue-on-write", 20, true)
		case len(times) >= 100:
			return limited(times[0].Add(30*time.Second).Sub(now), "jira-per-issue-on-write", 100, true)
		}
	}
	if f.Rate429 > 0 && c.rng.Float64() < f.Rate429 {
		ra := time.Duration(f.RetryAfterS) * time.Second
		return limited(ra, reasonOr(f.RateLimitReason, "jira-quota-tenant-based"), 0, false)
	}
	if f.ErrorRate > 0 && c.rng.Float64() < f.ErrorRate {
		ep.Errors++
		status := http.StatusInternalServerError
		if c.rng.IntN(2) == 1 {
			status = http.StatusServiceUnavailable
		}
		return &decision{status: status}
	}
	// The request goes through: consume the limits it was checked against.
	if f.RequestsPerSecond > 0 {
		c.tokens--
	}
	if w != nil {
		w.n++
	}
	if perIssue {
		c.issueWrites[issueScope] = append(c.issueWrites[issueScope], now)
	}
	return nil
}

func reasonOr(r, def string) string {
	if r != "" {
		return r
	}
	return def
}

// serveControl serves the unauthenticated /_sim/ control API.
func (s *Simulator) serveControl(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) { writeJSON(w, code, map[string]any{"error": msg}) }
	switch r.URL.Path {
	case "/_sim/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.ctl.getFaults())
		case http.MethodPost, http.MethodPut:
			var f Faults
			dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				fail(http.StatusBadRequest, "decode faults: "+err.Error())
				return
			}
			if err := f.Validate(); err != nil {
				fail(http.StatusBadRequest, err.Error())
				return
			}
			s.SetFaults(f)
			writeJSON(w, http.StatusOK, f)
		default:
			fail(http.StatusMethodNotAllowed, "use GET or POST")
		}
	case "/_sim/counters":
		if r.Method != http.MethodGet {
			fail(http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, s.Counters())
	case "/_sim/reset":
		if r.Method != http.MethodPost {
			fail(http.StatusMethodNotAllowed, "use POST")
			return
		}
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"reset": true})
	case "/_sim/webhooks/deliver":
		if r.Method != http.MethodPost {
			fail(http.StatusMethodNotAllowed, "use POST")
			return
		}
		n := s.DeliverWebhooks(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"attempted": n})
	case "/_sim/search-lag":
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost, http.MethodPut:
			var in struct {
				Seconds float64 `json:"seconds"`
			}
			dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				fail(http.StatusBadRequest, "decode search lag: "+err.Error())
				return
			}
			if in.Seconds < 0 || in.Seconds > 3600 || math.IsNaN(in.Seconds) {
				fail(http.StatusBadRequest, "seconds must be between 0 and 3600")
				return
			}
			s.SetSearchLag(time.Duration(in.Seconds * float64(time.Second)))
		default:
			fail(http.StatusMethodNotAllowed, "use GET or POST")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"seconds": s.SearchLag().Seconds()})
	case "/_sim/move":
		s.serveMove(w, r, fail)
	case "/_sim/transition-conditions":
		s.serveConditions(w, r, fail)
	default:
		fail(http.StatusNotFound, "unknown control endpoint "+r.URL.Path)
	}
}
