package jirasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/jiraspec"
)

// fakeClock is an injectable clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// client talks to a simulator as one user.
type client struct {
	t    testing.TB
	base string
	auth string
	hc   *http.Client
	api  string // "/rest/api/3" or "/rest/api/2"
}

// env is a simulator under test with an admin and a dev client.
type env struct {
	sim   *Simulator
	url   string
	clock *fakeClock
	admin *client
	dev   *client
	spec  *jiraspec.Spec
}

type envOpts struct {
	dc       bool
	profile  Profile // overrides dc when set
	v2       bool    // Cloud clients use REST v2
	validate bool    // wrap the simulator in the OpenAPI validator
	cfg      Config
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	cfg := o.cfg
	clock := newFakeClock()
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	if o.profile != "" {
		cfg.Profile = o.profile
		o.dc = o.profile.Deployment() == DataCenter
	}
	if o.dc {
		cfg.Deployment = DataCenter
	}
	sim := New(cfg)
	var h http.Handler = sim
	e := &env{sim: sim, clock: clock}
	if o.validate {
		e.spec = jiraspec.Load(t)
		h = e.spec.Middleware(t, sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	e.url = srv.URL
	api := "/rest/api/3"
	if o.dc || o.v2 {
		api = "/rest/api/2"
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	mk := func(authHeader string) *client {
		return &client{t: t, base: srv.URL, auth: authHeader, hc: noRedirect, api: api}
	}
	if o.dc {
		e.admin, e.dev = mk("Bearer admin-pat"), mk("Bearer dev-pat")
	} else {
		e.admin, e.dev = mk(basic("admin@example.test", "admin-token")), mk(basic("dev@example.test", "dev-token"))
	}
	return e
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

func (r resp) list(t testing.TB) []any {
	t.Helper()
	var l []any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return l
}

// do sends a request; path is absolute ("/rest/...") or relative to the
// client's API root ("issue/SEC-1").
func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rdr = bytes.NewReader(b)
	case string:
		rdr = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode body: %v", err)
		}
		rdr = bytes.NewReader(raw)
	}
	url := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		if !strings.HasPrefix(path, "/") {
			path = c.api + "/" + path
		}
		url = c.base + path
	}
	req, err := http.NewRequest(method, url, rdr)
	if err != nil {
		c.t.Fatalf("build request: %v", err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.status != want {
		c.t.Fatalf("%s %s: got status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// adf wraps text in a one-paragraph ADF document.
func adf(text string) map[string]any {
	return map[string]any{"type": "doc", "version": 1, "content": []any{
		map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}},
	}}
}

// richValue is a description/comment body in the client's API format.
func (c *client) rich(text string) any {
	if strings.HasSuffix(c.api, "/3") {
		return adf(text)
	}
	return text
}

// createIssue creates an issue and returns its key.
func (c *client) createIssue(typ, summary string, extra map[string]any) string {
	c.t.Helper()
	fields := map[string]any{
		"project":   map[string]any{"key": "SEC"},
		"issuetype": map[string]any{"name": typ},
		"summary":   summary,
	}
	if typ == "Bug" {
		fields["customfield_10052"] = map[string]any{"value": "Web"}
	}
	for k, v := range extra {
		fields[k] = v
	}
	r := c.must(http.StatusCreated, "POST", "issue", map[string]any{"fields": fields})
	return r.json(c.t)["key"].(string)
}

// recorded reads a file of ../shared/jira/recorded/mattermost-plugin-jira,
// skipping the test when the shared material is absent.
func recorded(t testing.TB, rel string) any {
	t.Helper()
	p := jiraspec.Shared(t, "jira/recorded/mattermost-plugin-jira/"+rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return v
}

// get digs into decoded JSON by keys and indexes ("fields", "status", 0...).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
