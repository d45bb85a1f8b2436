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
}

func newPacer(l Limits) *pacer {
	return &pacer{
		limits:    l,
		issueNB:   map[string]time.Time{},
		endpoints: map[string]*slidingLog{},
		issues:    map[string][]*slidingLog{},
	}
}

// reservation is a send slot taken in the windows; cancel returns it.
type reservation struct {
	at   time.Time
	logs []*slidingLog
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
	// Each log's earliest() is monotone in its lower bound, so iterating to
	// a fixed point finds the first instant all of them accept.
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
	}
	for _, l := range logs {
		l.add(t)
	}
	return reservation{at: t, logs: logs}, nb
}

func (p *pacer) cancel(r reservation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range r.logs {
		l.remove(r.at)
	}
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
