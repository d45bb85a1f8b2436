package jirasim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// StartTest serves a new simulator on an httptest server for the duration
// of a test and returns it with its base URL. When cfg.BaseURL is empty the
// self links use the server's URL. Both are closed when the test ends.
func StartTest(t testing.TB, cfg Config) (*Simulator, string) {
	t.Helper()
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	return sim, srv.URL
}

// PostDelivery posts body to url as Jira posts a webhook delivery, for
// tests that forge, repeat or corrupt deliveries: JSON content type, the
// X-Atlassian-Webhook-Identifier and X-Hub-Signature headers when given
// (Signature makes a valid one). It returns the answer's status and body.
func PostDelivery(t testing.TB, url, identifier, signature, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("post delivery: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if identifier != "" {
		req.Header.Set("X-Atlassian-Webhook-Identifier", identifier)
	}
	if signature != "" {
		req.Header.Set("X-Hub-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("post delivery: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}
