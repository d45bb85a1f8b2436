package jirasim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkSimpleRequests measures GET /rest/api/3/issue/SEC-1 served
// in-process (no network), from parallel goroutines, and reports req/s.
func BenchmarkSimpleRequests(b *testing.B) {
	sim := New(Config{})
	defer sim.Close()
	e := &client{t: b, auth: basic("admin@example.test", "admin-token")}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	e.base, e.hc, e.api = srv.URL, srv.Client(), "/rest/api/3"
	e.createIssue("Bug", "benchmark", map[string]any{"description": adf("text"), "labels": []string{"a", "b"}})
	auth := e.auth
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/rest/api/3/issue/SEC-1", nil)
			req.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkSimpleRequestsHTTP is the same over loopback HTTP, client and
// server sharing the machine's cores.
func BenchmarkSimpleRequestsHTTP(b *testing.B) {
	sim := New(Config{})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := &client{t: b, base: srv.URL, auth: basic("admin@example.test", "admin-token"), hc: srv.Client(), api: "/rest/api/3"}
	c.createIssue("Bug", "benchmark", map[string]any{"description": adf("text")})
	tr := srv.Client().Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = 64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rest/api/3/issue/SEC-1", nil)
			req.Header.Set("Authorization", c.auth)
			res, err := srv.Client().Do(req)
			if err != nil {
				b.Errorf("request: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkGetIssueUncached measures the same request when every answer
// must be rendered afresh (a change happened since the last read), the
// worst case of the render cache.
func BenchmarkGetIssueUncached(b *testing.B) {
	sim := New(Config{})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := &client{t: b, base: srv.URL, auth: basic("admin@example.test", "admin-token"), hc: srv.Client(), api: "/rest/api/3"}
	c.createIssue("Bug", "benchmark", map[string]any{"description": adf("text"), "labels": []string{"a", "b"}})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sim.lockWrite() // what any change does: invalidate the cache
			sim.mu.Unlock()
			req := httptest.NewRequest(http.MethodGet, "/rest/api/3/issue/SEC-1", nil)
			req.Header.Set("Authorization", c.auth)
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
