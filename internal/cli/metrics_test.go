package cli

import "testing"

// serve hands VULNSYNC_METRICS_TOKEN to the process: that token opens
// /metrics (and nothing else), a wrong one does not.
func TestServeMetricsToken(t *testing.T) {
	const metricsToken = "serve-metrics-token-00000000000"
	in := startServe(t, t.TempDir(), map[string]string{"VULNSYNC_METRICS_TOKEN": metricsToken})
	if st := in.send("GET", "/metrics", nil, "", metricsToken, nil); st != 200 {
		t.Errorf("GET /metrics with VULNSYNC_METRICS_TOKEN: status %d, want 200", st)
	}
	if st := in.send("GET", "/metrics", nil, "", "wrong-token", nil); st != 401 {
		t.Errorf("GET /metrics with a wrong token: status %d, want 401", st)
	}
	if st := in.send("GET", "/api/v1/targets", nil, "", metricsToken, nil); st != 401 {
		t.Errorf("GET /api/v1/targets with the metrics token: status %d, want 401", st)
	}
}
