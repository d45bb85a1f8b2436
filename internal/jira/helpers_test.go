package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/jiraspec"
)

// fakeClock is the injectable clock: Sleep advances it instantly and
// records what was asked, so tests never wait and can check every wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.slept = append(f.slept, d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// seen is one request as the fake Jira received it, stamped with the fake
// clock.
type seen struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	At     time.Time
}

// fakeJira is an httptest server that plays Jira for one test. Every
// request the client sends to it goes through jiraspec's validating
// transport, so the client is held to Atlassian's OpenAPI document.
type fakeJira struct {
	t     *testing.T
	srv   *httptest.Server
	mux   *http.ServeMux
	clock *fakeClock
	spec  *jiraspec.Spec

	mu   sync.Mutex
	reqs []seen
}

// notCoveredAllowed are the only paths outside the OpenAPI document the
// client may use; anything else (a typo) fails the test.
var notCoveredAllowed = []string{"/rest/webhooks/1.0/webhook", "/rest/jira-webhook/1.0/webhooks", "GET /rest/api/2/search", "/secure/attachment/"}

func newFakeJira(t *testing.T) *fakeJira {
	t.Helper()
	f := &fakeJira{t: t, mux: http.NewServeMux(), clock: newFakeClock(), spec: jiraspec.Optional(t)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: f.clock.Now()})
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		if f.spec == nil {
			return // no document: nothing was validated
		}
		for _, nc := range f.spec.Recorder().NotCovered() {
			ok := false
			for _, a := range notCoveredAllowed {
				ok = ok || strings.Contains(nc, a)
			}
			if !ok {
				t.Errorf("client used %s, which is not in Jira's OpenAPI document", nc)
			}
		}
	})
	return f
}

func (f *fakeJira) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

// reply registers a fixed JSON answer.
func (f *fakeJira) reply(pattern string, status int, body string) {
	f.handle(pattern, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, body) })
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// requests returns the requests received so far whose "METHOD path"
// starts with prefix.
func (f *fakeJira) requests(prefix string) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, r := range f.reqs {
		if strings.HasPrefix(r.Method+" "+r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// client returns a Client for the fake Jira with the fake clock, the
// validating transport and deployment d ("" to detect).
func (f *fakeJira) client(d Deployment, mutate ...func(*Config)) *Client {
	f.t.Helper()
	var rt http.RoundTripper = f.srv.Client().Transport
	if f.spec != nil {
		rt = f.spec.Transport(f.t, rt)
	}
	cfg := Config{
		BaseURL:    f.srv.URL,
		Auth:       BasicAuth{Email: "admin@example.test", APIToken: "admin-token"},
		Deployment: d,
		HTTPClient: &http.Client{Transport: rt},
		Clock:      f.clock.Now,
		Sleep:      f.clock.Sleep,
		Jitter:     func(max time.Duration) time.Duration { return max },
	}
	if d == DataCenter {
		cfg.Auth = BearerAuth{Token: "admin-pat"}
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		f.t.Fatalf("NewClient: %v", err)
	}
	return c
}

// decodeBody decodes a JSON request body for comparison.
func decodeBody(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode request body %q: %v", b, err)
	}
	return v
}

// roundTrip encodes and decodes v so it compares with decodeBody output.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return decodeBody(t, b)
}

// sharedDir is ../shared/jira, or the test skips.
func sharedDir(t *testing.T) string { return jiraspec.Shared(t, "jira") }

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mustAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T): want a %T in its chain", err, err, target)
	}
	return target
}

// specAvailable reports whether ../shared holds the OpenAPI document.
func specAvailable() bool {
	dir, err := os.Getwd()
	if err != nil {
		return false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(dir), "shared", "jira", "openapi", "jira-cloud-platform-v3.json"))
	return err == nil
}

// newBehaviourFake is newFakeJira for behaviour tests: traffic is validated
// against the OpenAPI document when ../shared has it, and the test still
// runs (unvalidated, saying so) when it does not.
func newBehaviourFake(t *testing.T) *fakeJira {
	t.Helper()
	if specAvailable() {
		return newFakeJira(t)
	}
	t.Log("../shared/jira/openapi is absent: requests are not validated against the OpenAPI document")
	f := &fakeJira{t: t, mux: http.NewServeMux(), clock: newFakeClock()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: f.clock.Now()})
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}
