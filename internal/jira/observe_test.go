package jira

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOperationIsBounded(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"PUT", "/rest/api/3/issue/SEC-12", "PUT /rest/api/3/issue/{}"},
		{"POST", "/rest/api/2/issue/10042/transitions", "POST /rest/api/2/issue/{}/transitions"},
		{"DELETE", "/rest/api/3/issue/sec-1/comment/10100", "DELETE /rest/api/3/issue/{}/comment/{}"},
		{"PUT", "/rest/api/3/issue/SEC-1/properties/vulnsync", "PUT /rest/api/3/issue/{}/properties/{}"},
		{"GET", "/rest/api/3/project/SEC/statuses", "GET /rest/api/3/project/{}/statuses"},
		{"GET", "/rest/api/3/issue/createmeta/OPS/issuetypes/10001", "GET /rest/api/3/issue/createmeta/{}/issuetypes/{}"},
		{"GET", "/secure/attachment/10000/poc.png", "GET /secure/attachment/{}/{}"},
		{"GET", "/secure/attachment/10001/readme", "GET /secure/attachment/{}/{}"},
		{"DELETE", "/rest/jira-webhook/1.0/webhooks/7", "DELETE /rest/jira-webhook/1.0/webhooks/{}"},
		{"POST", "/rest/api/3/issue", "POST /rest/api/3/issue"},
	}
	for _, tt := range tests {
		if got := Operation(tt.method, tt.path); got != tt.want {
			t.Errorf("Operation(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// recordingObserver keeps what a client reports.
type recordingObserver struct {
	mu       sync.Mutex
	requests map[string]int // "operation status"
	limited  map[string]int
	waits    map[string]time.Duration
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{requests: map[string]int{}, limited: map[string]int{}, waits: map[string]time.Duration{}}
}

func (o *recordingObserver) JiraRequest(op, status string) {
	o.mu.Lock()
	o.requests[op+" "+status]++
	o.mu.Unlock()
}

func (o *recordingObserver) JiraRateLimited(op string) {
	o.mu.Lock()
	o.limited[op]++
	o.mu.Unlock()
}

func (o *recordingObserver) JiraWait(reason string, d time.Duration) {
	o.mu.Lock()
	o.waits[reason] += d
	o.mu.Unlock()
}

func TestObserverSeesExchangesRateLimitsAndWaits(t *testing.T) {
	f := newFakeJira(t)
	var calls atomic.Int32
	f.handle("PUT /rest/api/3/issue/SEC-7", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			writeJSON(w, 429, `{"errorMessages":["Rate limit exceeded."],"errors":{}}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	obs := newRecordingObserver()
	c := f.client(Cloud, func(cfg *Config) { cfg.Observer = obs })
	if err := c.EditIssue(context.Background(), "SEC-7", map[string]any{"summary": "x"}, nil); err != nil {
		t.Fatalf("EditIssue: %v", err)
	}
	const op = "PUT /rest/api/3/issue/{}"
	if obs.requests[op+" 429"] != 1 || obs.requests[op+" 204"] != 1 || len(obs.requests) != 2 {
		t.Errorf("requests = %v, want one 429 and one 204 of %q", obs.requests, op)
	}
	if obs.limited[op] != 1 {
		t.Errorf("rate limited = %v, want one for %q", obs.limited, op)
	}
	if got := obs.waits["retry_after"]; got < 5*time.Second {
		t.Errorf("retry_after wait = %v, want at least the 5s Jira asked for", got)
	}
}
