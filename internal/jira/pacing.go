package jira

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Window is a rate limit written the way Atlassian states them: at most Max
// requests in any period of length Per.
type Window struct {
	Max int
	Per time.Duration
}

// Limits are the client's own pacing, set a little under Jira Cloud's
// published limits so that 429s are the exception (G9).
type Limits struct {
	// ReadBurst applies per endpoint to GET and POST (Jira: about 100/s).
	ReadBurst Window
	// WriteBurst applies per endpoint to PUT and DELETE (Jira: about 50/s).
	WriteBurst Window
	// IssueWrites apply to writes (POST, PUT, DELETE) aimed at one issue
	// (Jira: 20 per 2 s and 100 per 30 s).
	IssueWrites []Window
	// Rate, when positive, is a connection-wide limit in requests per
	// second known in advance (a Data Center admin's rate limit, say): the
	// client never paces above it. When zero, the client learns the limit
	// from Jira's 429s instead (see adaptiveRate).
	Rate float64
}

// DefaultLimits returns Jira Cloud's published limits.
func DefaultLimits() Limits {
	return Limits{
		ReadBurst:   Window{Max: 100, Per: time.Second},
		WriteBurst:  Window{Max: 50, Per: time.Second},
		IssueWrites: []Window{{Max: 20, Per: 2 * time.Second}, {Max: 100, Per: 30 * time.Second}},
	}
}

// slidingLog enforces "at most max in any window of length per" exactly,
// by remembering the send times (reserved, possibly in the future) that
// are still inside a window. A token bucket with burst max would let through up to twice max
// in one window, which is what Jira's per-issue limits punish.
type slidingLog struct {
	w     Window
	times []time.Time // sorted
}

// earliest returns the first instant not before lb at which one more
// request fits.
func (l *slidingLog) earliest(lb time.Time) time.Time {
	if n := len(l.times); n > 0 && l.times[n-1].After(lb) {
		lb = l.times[n-1] // keep reservations in order (FIFO)
	}
	if len(l.times) < l.w.Max {
		return lb
	}
	if t := l.times[len(l.times)-l.w.Max].Add(l.w.Per); t.After(lb) {
		return t
	}
	return lb
}

func (l *slidingLog) add(t time.Time) { l.times = append(l.times, t) }

// trim forgets sends that can no longer constrain anything sent at or
// after now. (Entries are not trimmed by count: a cancelled reservation
// must leave the earlier ones in place.)
func (l *slidingLog) trim(now time.Time) {
	i := 0
	for i < len(l.times) && !l.times[i].After(now.Add(-l.w.Per)) {
		i++
	}
	l.times = l.times[i:]
}

// remove drops one reservation at t (a request that was not sent).
func (l *slidingLog) remove(t time.Time) {
	for i := len(l.times) - 1; i >= 0; i-- {
		if l.times[i].Equal(t) {
			l.times = append(l.times[:i], l.times[i+1:]...)
			return
		}
	}
}

// idle reports whether the log no longer constrains anything after now.
func (l *slidingLog) idle(now time.Time) bool {
	n := len(l.times)
	return n == 0 || !l.times[n-1].Add(l.w.Per).After(now)
}

// pacer holds the connection's pacing state: the "not before" instants set
// by Retry-After (connection-wide, and per issue for
// jira-per-issue-on-write) and the sliding windows per endpoint and per
// issue. One mutex guards it all; it is only held for bookkeeping, never
// while waiting.
type pacer struct {
	mu         sync.Mutex
	limits     Limits
	notBefore  time.Time            // connection-wide
	reason     string               // RateLimit-Reason behind notBefore
	issueNB    map[string]time.Time // per issue
	endpoints  map[string]*slidingLog
	issues     map[string][]*slidingLog
	lastPruned time.Time
	// conn is the connection-wide adaptive rate; epRates hold one per
	// endpoint that Jira answered with jira-burst-based 429s.
	conn    adaptiveRate
	epRates map[string]*adaptiveRate
	// sent holds the connection's send slots of the last measureWindow,
	// to measure the rate a 429 interrupted.
	sent []time.Time
}

func newPacer(l Limits) *pacer {
	p := &pacer{
		limits:    l,
		issueNB:   map[string]time.Time{},
		endpoints: map[string]*slidingLog{},
		issues:    map[string][]*slidingLog{},
		epRates:   map[string]*adaptiveRate{},
	}
	if l.Rate > 0 {
		p.conn = adaptiveRate{rate: l.Rate, ceiling: l.Rate, configured: true}
	}
	return p
}

// reservation is a send slot taken in the windows and rates; cancel
// returns it.
type reservation struct {
	at    time.Time
	logs  []*slidingLog
	rates []rateBooking
}

// rateBooking is what a reservation changed in an adaptive rate, so that
// cancel can undo it while nothing was booked after it.
type rateBooking struct {
	r          *adaptiveRate
	prev, next time.Time
}

// reserve books the earliest send time at or after now that respects the
// not-before instants and every window that applies to the request. It
// returns the slot and the not-before instant that bounded it (zero when
// none did).
func (p *pacer) reserve(now time.Time, endpoint, issue string, write bool) (reservation, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prune(now)
	lb := now
	var nb time.Time
	if p.notBefore.After(lb) {
		lb, nb = p.notBefore, p.notBefore
	}
	if issue != "" {
		if t := p.issueNB[issue]; t.After(lb) {
			lb, nb = t, t
		}
	}
	var logs []*slidingLog
	w := p.limits.ReadBurst
	if write {
		w = p.limits.WriteBurst
	}
	if w.Max > 0 && w.Per > 0 {
		el := p.endpoints[endpoint]
		if el == nil {
			el = &slidingLog{w: w}
			p.endpoints[endpoint] = el
		}
		logs = append(logs, el)
	}
	if issue != "" && len(p.limits.IssueWrites) > 0 {
		il := p.issues[issue]
		if il == nil {
			for _, iw := range p.limits.IssueWrites {
				if iw.Max > 0 && iw.Per > 0 {
					il = append(il, &slidingLog{w: iw})
				}
			}
			p.issues[issue] = il
		}
		logs = append(logs, il...)
	}
	rates := []*adaptiveRate{&p.conn}
	if er := p.epRates[endpoint]; er != nil {
		rates = append(rates, er)
	}
	// Each log's and rate's earliest() is monotone in its lower bound, so
	// iterating to a fixed point finds the first instant all accept.
	for _, l := range logs {
		l.trim(now)
	}
	t := lb
	for changed := true; changed; {
		changed = false
		for _, l := range logs {
			if e := l.earliest(t); e.After(t) {
				t, changed = e, true
			}
		}
		for _, a := range rates {
			if e := a.earliest(t); e.After(t) {
				t, changed = e, true
			}
		}
	}
	for _, l := range logs {
		l.add(t)
	}
	res := reservation{at: t, logs: logs}
	for _, a := range rates {
		held := a.earliest(lb).After(lb)
		prev := a.next
		a.book(now, t, held)
		res.rates = append(res.rates, rateBooking{r: a, prev: prev, next: a.next})
	}
	// Slots are booked roughly in time order; dropping the old ones from
	// the front keeps this bounded by the sends of about one window.
	p.sent = append(p.sent, t)
	cut := 0
	for cut < len(p.sent) && !p.sent[cut].After(now.Add(-measureWindow)) {
		cut++
	}
	p.sent = p.sent[cut:]
	return res, nb
}

func (p *pacer) cancel(r reservation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range r.logs {
		l.remove(r.at)
	}
	for _, b := range r.rates {
		if b.r.next.Equal(b.next) {
			b.r.next = b.prev
		}
	}
	for i := len(p.sent) - 1; i >= 0; i-- {
		if p.sent[i].Equal(r.at) {
			p.sent = append(p.sent[:i], p.sent[i+1:]...)
			break
		}
	}
}

// learn adapts the pacing to a 429 for a request sent at sentAt: per-issue
// limits are already handled by the issue's Retry-After; a burst-based one
// slows the endpoint; any other slows the whole connection. limit is the
// answer's X-RateLimit-Limit (0 when absent).
func (p *pacer) learn(now, sentAt time.Time, endpoint, reason string, limit int) {
	if reason == reasonPerIssue {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if reason == reasonBurst {
		a := p.epRates[endpoint]
		if a == nil {
			a = &adaptiveRate{}
			p.epRates[endpoint] = a
		}
		var sent []time.Time
		if el := p.endpoints[endpoint]; el != nil {
			sent = el.times
		}
		a.cut(now, sentAt, measure(sent, now), limit)
		return
	}
	p.conn.cut(now, sentAt, measure(p.sent, now), limit)
}

// rate returns the connection-wide rate the pacer holds to (0: none).
func (p *pacer) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn.rate
}

// Adaptive pacing. Jira Cloud does not say its limits in advance, and
// honouring Retry-After alone means meeting every limit head on: each
// time the budget runs out, everything in flight is answered 429 and the
// connection stalls for the whole Retry-After. So the client also paces
// itself at a rate learned from the 429s it gets (AIMD, as TCP does): a
// 429 sets the rate under what was being sent when it came — to
// X-RateLimit-Limit per second (less a margin) when Jira sent one that is
// plausible as such, else to a fraction of the measured rate — and each
// second in which that rate held requests back raises it a little, so a
// limit that grows is found again. A learned rate is forgotten after a
// quiet period.
const (
	// rateBackoff is the multiplicative decrease without a usable
	// X-RateLimit-Limit.
	rateBackoff = 0.7
	// limitMargin keeps a rate learned from X-RateLimit-Limit under it.
	limitMargin = 0.95
	// rateStep is the additive increase per second the rate binds, as a
	// share of the rate (at least one request per second).
	rateStep = 0.02
	// minRate is the lowest rate a 429 sets (requests per second).
	minRate = 1.0
	// rateMemory is how long a learned rate outlives the last 429.
	rateMemory = 15 * time.Minute
	// measureWindow is the span over which the interrupted rate is
	// measured.
	measureWindow = time.Second
)

const reasonBurst = "jira-burst-based"

// adaptiveRate spaces sends 1/rate apart (no bursts: Jira's budgets
// refill continuously).
type adaptiveRate struct {
	rate float64 // requests per second; 0: not limited
	// ceiling bounds the additive increase: X-RateLimit-Limit less the
	// margin, or the configured rate (0: none).
	ceiling    float64
	configured bool // set from Limits.Rate: never forgotten
	next       time.Time
	lastCut    time.Time
	lastRaise  time.Time
}

func (a *adaptiveRate) interval() time.Duration {
	return time.Duration(float64(time.Second) / a.rate)
}

// earliest returns the first instant not before lb at which the rate
// allows a send.
func (a *adaptiveRate) earliest(lb time.Time) time.Time {
	if a.rate <= 0 || !a.next.After(lb) {
		return lb
	}
	return a.next
}

// book takes the slot t (reserved at now); held says the rate delayed it,
// which allows an additive increase at most once a second.
func (a *adaptiveRate) book(now, t time.Time, held bool) {
	if a.rate <= 0 {
		return
	}
	if !a.configured && now.Sub(a.lastCut) >= rateMemory {
		*a = adaptiveRate{}
		return
	}
	if held && now.Sub(a.lastRaise) >= time.Second {
		r := a.rate + max(minRate, rateStep*a.rate)
		if a.ceiling > 0 {
			r = min(r, a.ceiling)
		}
		a.rate, a.lastRaise = r, now
	}
	a.next = t.Add(a.interval())
}

// cut lowers the rate after a 429 for a request sent at sentAt, when the
// connection was sending at measured requests per second. A 429 for a
// request sent before the last cut belongs to the episode that cut
// reacted to and changes nothing; so does one when too little was sent to
// measure (the Retry-After is enough then).
func (a *adaptiveRate) cut(now, sentAt time.Time, measured float64, limit int) {
	if !a.lastCut.IsZero() && sentAt.Before(a.lastCut) {
		return
	}
	if measured <= 0 {
		return
	}
	base := measured
	if a.rate > 0 {
		base = min(base, a.rate)
	}
	r := rateBackoff * base
	if l := limitMargin * float64(limit); limit > 0 && l < measured {
		// The header reads as a per-second budget we were exceeding: it
		// bounds the rate from now on, and on a first 429 it is the rate.
		// (A 429 while already under it means the budget is shared:
		// decrease from there.)
		if a.rate == 0 {
			r = l
		}
		a.ceiling = l
	}
	if a.ceiling > 0 {
		r = min(r, a.ceiling)
	}
	a.rate = max(r, minRate)
	a.lastCut, a.lastRaise = now, now
	if a.next.Before(now) {
		a.next = now
	}
}

// measure returns the send rate before now from send times (in any
// order; reserved future ones are ignored): the sends of the last
// measureWindow over the time since the first of them (at least 100 ms).
// Fewer than two sends measure nothing (0).
func measure(times []time.Time, now time.Time) float64 {
	from := now.Add(-measureWindow)
	n := 0
	var first time.Time
	for _, t := range times {
		if t.After(from) && !t.After(now) {
			if n == 0 || t.Before(first) {
				first = t
			}
			n++
		}
	}
	if n < 2 {
		return 0
	}
	span := max(now.Sub(first), 100*time.Millisecond)
	return float64(n) / span.Seconds()
}

// blockedUntil returns the not-before instant that applies to a request
// now, or the zero time, and the reason Jira gave for it.
func (p *pacer) blockedUntil(now time.Time, issue string) (time.Time, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Time
	reason := ""
	if p.notBefore.After(now) {
		t, reason = p.notBefore, p.reason
	}
	if issue != "" {
		if it := p.issueNB[issue]; it.After(now) && it.After(t) {
			t, reason = it, reasonPerIssue
		}
	}
	return t, reason
}

// block records a Retry-After: nothing (or, for jira-per-issue-on-write
// with a known issue, nothing for that issue) is sent before until.
func (p *pacer) block(until time.Time, reason, issue string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reason == reasonPerIssue && issue != "" {
		if until.After(p.issueNB[issue]) {
			p.issueNB[issue] = until
		}
		return
	}
	if until.After(p.notBefore) {
		p.notBefore, p.reason = until, reason
	}
}

// prune forgets issues and endpoints whose windows have drained, so memory
// follows the working set rather than every issue ever written.
func (p *pacer) prune(now time.Time) {
	if now.Sub(p.lastPruned) < time.Minute {
		return
	}
	p.lastPruned = now
	for k, t := range p.issueNB {
		if !t.After(now) {
			delete(p.issueNB, k)
		}
	}
	for k, logs := range p.issues {
		idle := true
		for _, l := range logs {
			idle = idle && l.idle(now)
		}
		if idle {
			delete(p.issues, k)
		}
	}
	for k, l := range p.endpoints {
		if l.idle(now) {
			delete(p.endpoints, k)
		}
	}
	for k, a := range p.epRates {
		if now.Sub(a.lastCut) >= rateMemory {
			delete(p.epRates, k)
		}
	}
}

const reasonPerIssue = "jira-per-issue-on-write"

var (
	issueKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[0-9]+$`)
	numericRE  = regexp.MustCompile(`^[0-9]+$`)
)

// endpointOf names the endpoint a request counts against for burst limits:
// its method and path with ids and keys replaced, as Jira counts "per
// endpoint" (/issue/SEC-1 and /issue/SEC-2 are one endpoint).
func endpointOf(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if issueKeyRE.MatchString(s) || numericRE.MatchString(s) && !isVersionSegment(segs, i) {
			segs[i] = "{}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// isVersionSegment reports whether segs[i] is the "2"/"3" of /rest/api/N.
func isVersionSegment(segs []string, i int) bool {
	return i >= 2 && segs[i-1] == "api" && segs[i-2] == "rest"
}

// issueOf returns the issue a write request targets (its key or id as
// written in the path), or "" when it targets none.
func issueOf(method, path string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return ""
	}
	segs := strings.Split(path, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "issue" && i >= 1 && isAPIRoot(segs, i) {
			s := segs[i+1]
			if issueKeyRE.MatchString(s) || numericRE.MatchString(s) {
				return strings.ToUpper(s)
			}
			return ""
		}
	}
	return ""
}

// isAPIRoot reports whether segs[i] directly follows /rest/api/N.
func isAPIRoot(segs []string, i int) bool {
	return i >= 3 && segs[i-2] == "api" && segs[i-3] == "rest"
}

func isWriteMethod(method string) bool {
	return method == http.MethodPut || method == http.MethodDelete
}
