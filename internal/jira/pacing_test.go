package jira

import (
	"testing"
	"time"
)

func TestEndpointAndIssueOf(t *testing.T) {
	tests := []struct {
		method, path string
		endpoint     string
		issue        string
	}{
		{"PUT", "/rest/api/3/issue/SEC-12", "PUT /rest/api/3/issue/{}", "SEC-12"},
		{"POST", "/rest/api/2/issue/10042/comment", "POST /rest/api/2/issue/{}/comment", "10042"},
		{"DELETE", "/rest/api/3/issue/sec-1/comment/10100", "DELETE /rest/api/3/issue/{}/comment/{}", "SEC-1"},
		{"GET", "/rest/api/3/issue/SEC-12", "GET /rest/api/3/issue/{}", ""},
		{"POST", "/rest/api/3/issue", "POST /rest/api/3/issue", ""},
		{"POST", "/rest/api/3/issue/bulkfetch", "POST /rest/api/3/issue/bulkfetch", ""},
		{"GET", "/rest/api/3/issue/createmeta/SEC/issuetypes/10001", "GET /rest/api/3/issue/createmeta/SEC/issuetypes/{}", ""},
		{"PUT", "/rest/webhooks/1.0/webhook/7", "PUT /rest/webhooks/1.0/webhook/{}", ""},
	}
	for _, tt := range tests {
		if got := endpointOf(tt.method, tt.path); got != tt.endpoint {
			t.Errorf("endpointOf(%s %s): got %q, want %q", tt.method, tt.path, got, tt.endpoint)
		}
		if got := issueOf(tt.method, tt.path); got != tt.issue {
			t.Errorf("issueOf(%s %s): got %q, want %q", tt.method, tt.path, got, tt.issue)
		}
	}
}

func TestPacerCancelReturnsSlot(t *testing.T) {
	p := newPacer(Limits{ReadBurst: Window{Max: 1, Per: time.Second}})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r1, _ := p.reserve(t0, "GET /x", "", false)
	r2, _ := p.reserve(t0, "GET /x", "", false)
	if !r1.at.Equal(t0) || !r2.at.Equal(t0.Add(time.Second)) {
		t.Fatalf("reservations: got %v, %v; want t0 and t0+1s", r1.at, r2.at)
	}
	p.cancel(r2)
	r3, _ := p.reserve(t0, "GET /x", "", false)
	if !r3.at.Equal(t0.Add(time.Second)) {
		t.Errorf("after cancelling the second slot: got %v, want t0+1s (the first is still taken)", r3.at)
	}
	p.cancel(r3)
	p.cancel(r1)
	r4, _ := p.reserve(t0, "GET /x", "", false)
	if !r4.at.Equal(t0) {
		t.Errorf("after cancelling every slot: got %v, want t0", r4.at)
	}
}

func TestPacerForgetsIdleIssues(t *testing.T) {
	p := newPacer(DefaultLimits())
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		p.reserve(t0, "PUT /rest/api/3/issue/{}", "SEC-"+string(rune('A'+i%26))+string(rune('A'+i/26%26)), true)
	}
	p.block(t0.Add(time.Second), reasonPerIssue, "SEC-AA")
	p.reserve(t0.Add(2*time.Minute), "GET /x", "", false)
	if n := len(p.issues) + len(p.issueNB); n != 0 {
		t.Errorf("per-issue state after the windows drained: %d entries, want 0", n)
	}
}
