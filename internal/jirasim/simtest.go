package jirasim

import (
	"net/http/httptest"
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
