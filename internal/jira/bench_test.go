package jira

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkPacerReserve measures the bookkeeping every request pays for
// pacing (one endpoint window and two per-issue windows).
func BenchmarkPacerReserve(b *testing.B) {
	p := newPacer(DefaultLimits())
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	for b.Loop() {
		// Spread over issues and time so windows stay realistic.
		now = now.Add(time.Millisecond)
		p.reserve(now, "PUT /rest/api/3/issue/{}", fmt.Sprintf("SEC-%d", i%500), true)
		i++
	}
}

// BenchmarkDo measures the client's own overhead per call (request
// building, gate, decode) against a local server, with pacing wide open.
func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, myselfCloud)
	}))
	defer srv.Close()
	c, err := NewClient(Config{BaseURL: srv.URL, Auth: BasicAuth{Email: "a@example.test", APIToken: "t"}, Deployment: Cloud,
		HTTPClient: srv.Client(), Limits: &Limits{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Myself(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
