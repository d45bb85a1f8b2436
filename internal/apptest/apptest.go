// Package apptest assembles a whole vulnsync (store, services, sync engine,
// REST API) against an in-process Jira simulator for end-to-end tests, with
// every request the Jira client sends validated against Atlassian's OpenAPI
// document. Sync work runs only when a test calls Sync, so tests decide
// exactly when it happens and need no timing.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apispec"
	"github.com/vulnsync/vulnsync/internal/app"
	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/jiraspec"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
)

// Token is the admin API token of every test environment.
const Token = "apptest-admin-token-000000000000"

// Options tune an environment.
type Options struct {
	// Deployment of the simulator: "cloud" (default) or "datacenter" (the
	// newest Data Center profile). Profile, when set, chooses the Jira
	// version exactly (cloud, dc-9, dc-10) and implies the deployment.
	Deployment jirasim.Deployment
	Profile    jirasim.Profile
	// DataDir for the SQLite store; a temp dir when empty.
	DataDir string
	// DB is a PostgreSQL DSN to use instead of SQLite.
	DB string
	// Sim reuses an existing simulator (a restart of vulnsync against the
	// same Jira); SimURL is its base URL.
	Sim    *jirasim.Simulator
	SimURL string
	// AfterCreate is passed to the sync engine (crash simulation).
	AfterCreate func(itemID string) error
	// CreateGrace is how long a create of unknown outcome is searched for
	// before it is made again (default: the engine's).
	CreateGrace time.Duration
	// Clock drives vulnsync's service, jobs and Jira client waits.
	Clock *Clock
	// JiraConcurrency bounds the Jira client's requests in flight (default:
	// the client's own default).
	JiraConcurrency int
	// MetricsToken is the token that opens GET /metrics besides the admin
	// token (VULNSYNC_METRICS_TOKEN).
	MetricsToken string
	// UI serves the browser UI on "/" too.
	UI bool
	// MaxImportBytes bounds one uploaded scanner report (default: the API's).
	MaxImportBytes int64
	// Unvalidated skips checking every exchange against vulnsync's and
	// Jira's OpenAPI documents: for many-seed randomized runs whose calls
	// the other tests validate already, and where validation would be
	// most of the cost.
	Unvalidated bool
}

// Clock is a settable clock shared by the parts of an environment.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the current time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Sleep advances the clock instead of waiting (the Jira client's waits).
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Env is one running environment.
type Env struct {
	T        testing.TB
	Sim      *jirasim.Simulator
	SimURL   string
	API      *httptest.Server
	App      *app.App
	Store    store.Store
	Tracker  *service.Service
	Integ    *integration.Service
	Engine   *jirasync.Engine
	Runner   *jobs.Runner
	Spec     *jiraspec.Spec
	Clock    *Clock
	DataDir  string
	Deploy   jirasim.Deployment
	Profile  jirasim.Profile
	closeAll func()
	hooks    *capture
	// appCfg builds vulnsync again on Restart; handler is the current
	// process's, behind the API server's fixed URL.
	appCfg  app.Config
	handler atomic.Pointer[http.Handler]

	// HTTP sends Do's and Send's requests, validating every exchange with
	// vulnsync's OpenAPI document (internal/apispec).
	HTTP *http.Client
}

// Delivery is a webhook delivery the simulator sent.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
}

// Event is the delivery's webhookEvent (and issue_event_type_name).
func (d Delivery) Event() string {
	var p struct {
		E string `json:"webhookEvent"`
		T string `json:"issue_event_type_name"`
	}
	_ = json.Unmarshal(d.Body, &p)
	if p.T != "" {
		return p.E + "/" + p.T
	}
	return p.E
}

// capture is the simulator's webhook transport: it records every delivery
// and forwards it, unless held, in which case it answers 200 for vulnsync
// and keeps the delivery for the test to send (late, twice, or never).
type capture struct {
	mu   sync.Mutex
	hold bool
	held []Delivery
}

func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	d := Delivery{URL: req.URL.String(), Header: req.Header.Clone(), Body: body}
	c.mu.Lock()
	hold := c.hold
	if hold {
		c.held = append(c.held, d)
	}
	c.mu.Unlock()
	if hold {
		return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
	}
	out, _ := http.NewRequestWithContext(req.Context(), req.Method, d.URL, bytes.NewReader(body))
	out.Header = d.Header
	return http.DefaultTransport.RoundTrip(out)
}

// HoldWebhooks makes the simulator's deliveries stop at the test (true) or
// reach vulnsync (false).
func (e *Env) HoldWebhooks(hold bool) {
	e.hooks.mu.Lock()
	e.hooks.hold = hold
	e.hooks.mu.Unlock()
}

// Held returns and forgets the deliveries held so far.
func (e *Env) Held() []Delivery {
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	out := e.hooks.held
	e.hooks.held = nil
	return out
}

// Send posts a delivery to vulnsync as Jira would and returns the status.
func (e *Env) Send(d Delivery) int {
	e.T.Helper()
	req, _ := http.NewRequest("POST", d.URL, bytes.NewReader(d.Body))
	req.Header = d.Header.Clone()
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("send delivery: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Deliver makes the simulator send every queued webhook now.
func (e *Env) Deliver() int {
	e.T.Helper()
	return e.Sim.DeliverWebhooks(context.Background())
}

// New builds an environment; everything is closed when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Profile != "" {
		o.Deployment = o.Profile.Deployment()
	}
	if o.Deployment == "" {
		o.Deployment = "cloud"
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	var spec *jiraspec.Spec
	apiTransport := http.DefaultTransport
	if !o.Unvalidated {
		spec = jiraspec.Optional(t)
		apiTransport = apispec.Transport(t, http.DefaultTransport)
	}
	e := &Env{T: t, Spec: spec, DataDir: o.DataDir, Deploy: o.Deployment, Profile: o.Profile, Clock: o.Clock,
		HTTP: &http.Client{Transport: apiTransport}}
	if o.Sim != nil {
		e.Sim, e.SimURL = o.Sim, o.SimURL
		e.Profile = o.Sim.Profile()
	} else {
		e.hooks = &capture{}
		cfg := jirasim.Config{Deployment: o.Deployment, Profile: o.Profile, ManualWebhooks: true, Seed: 1, WebhookClient: &http.Client{Transport: e.hooks}}
		if o.Clock != nil {
			cfg.Clock = o.Clock.Now // one clock: Retry-After windows agree on both sides
		}
		e.Sim, e.SimURL = jirasim.StartTest(t, cfg)
		e.Profile = e.Sim.Profile()
	}
	ctx := context.Background()
	var clock func() time.Time
	if o.Clock != nil {
		clock = o.Clock.Now
	}
	e.API = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	e.appCfg = app.Config{DB: o.DB, DataDir: o.DataDir, PublicURL: "http://" + e.API.Listener.Addr().String(), Clock: clock,
		JiraHTTPClient: &http.Client{Transport: spec.Transport(t, http.DefaultTransport)},
		JiraConfig: func(c *jira.Config) {
			if o.Clock != nil {
				c.Clock, c.Sleep = o.Clock.Now, o.Clock.Sleep
			}
			if o.JiraConcurrency > 0 {
				c.MaxConcurrency = o.JiraConcurrency
			}
		},
		Jobs:           jobs.Config{BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		AfterCreate:    o.AfterCreate,
		CreateGrace:    o.CreateGrace,
		MetricsToken:   o.MetricsToken,
		UI:             o.UI,
		MaxImportBytes: o.MaxImportBytes,
	}
	if err := e.start(ctx); err != nil {
		t.Fatalf("assemble vulnsync: %v", err)
	}
	e.API.Start()
	if _, err := e.App.People.BootstrapAdminToken(ctx, Token); err != nil {
		t.Fatal(err)
	}
	e.closeAll = func() { e.API.Close(); e.App.Close() }
	t.Cleanup(e.Close)
	return e
}

// start builds a vulnsync process and puts it behind the API server.
func (e *Env) start(ctx context.Context) error {
	a, err := app.New(ctx, e.appCfg)
	if err != nil {
		return err
	}
	e.App = a
	e.Store, e.Tracker, e.Integ, e.Engine, e.Runner = a.Store, a.Tracker, a.Integrations, a.Engine, a.Runner
	e.handler.Store(&a.Handler)
	return nil
}

// serve hands a request to the current process.
func (e *Env) serve(w http.ResponseWriter, r *http.Request) {
	(*e.handler.Load()).ServeHTTP(w, r)
}

// Restart is a crash and restart of vulnsync between two steps: the
// process is closed, losing everything it held in memory, and a new one is
// built on the same database and data directory, against the same
// simulator and clock, behind the same URL (so Jira's webhooks keep
// reaching it). Env's parts (App, Store, Engine, Runner…) are the new
// process's afterwards. Call it only while no request is in flight.
func (e *Env) Restart() {
	e.T.Helper()
	e.App.Close()
	if err := e.start(context.Background()); err != nil {
		e.T.Fatalf("restart vulnsync: %v", err)
	}
}

// Close stops the API and closes the store (a "crash" when called early).
func (e *Env) Close() {
	if e.closeAll != nil {
		e.closeAll()
		e.closeAll = nil
	}
}

// Do sends a JSON request to the vulnsync API and decodes the answer into
// out (when not nil); it returns the status.
func (e *Env) Do(method, path string, body, out any) int {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				e.T.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, e.API.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+Token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.T.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// Must is Do that fails the test unless the status is want.
func (e *Env) Must(want int, method, path string, body, out any) {
	e.T.Helper()
	var raw json.RawMessage
	if got := e.Do(method, path, body, &raw); got != want {
		e.T.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.T.Fatal(err)
		}
	}
}

// Sync runs every sync job that is due, until none is left.
func (e *Env) Sync() int {
	e.T.Helper()
	n, err := e.Runner.RunPending(context.Background())
	if err != nil {
		e.T.Fatalf("run sync jobs: %v", err)
	}
	return n
}

// SpecMapping is the mapping document of PRODUCT.md §2, which fits the
// simulator's seed project.
const SpecMapping = mapping.Example

// AdminAuth is the connection auth of the simulator's admin for the
// environment's deployment.
func (e *Env) AdminAuth() map[string]any {
	if e.Deploy == "datacenter" {
		return map[string]any{"type": "bearer", "token": "admin-pat"}
	}
	return map[string]any{"type": "basic", "email": "admin@example.test", "api_token": "admin-token"}
}

// Integrated is the result of Setup.
type Integrated struct {
	ConnectionID  string
	TargetID      string
	IntegrationID string
	WebhookSecret string
}

// Setup connects the simulator, creates a target, integrates it with SEC
// and accepts the spec's mapping.
func (e *Env) Setup(targetName string) Integrated {
	e.T.Helper()
	var conn struct {
		ID            string `json:"id"`
		WebhookSecret string `json:"webhook_secret"`
	}
	e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
	var target, in struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": targetName}, &target)
	e.Must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &in)
	e.Must(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", SpecMapping, nil)
	e.Must(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook", "{}", nil)
	return Integrated{ConnectionID: conn.ID, TargetID: target.ID, IntegrationID: in.ID, WebhookSecret: conn.WebhookSecret}
}

// Jira sends a request to the simulator as a person (dev or admin) and
// decodes the answer into out; it returns the status.
func (e *Env) Jira(user, method, path string, body, out any) int {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.SimURL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.Deploy == "datacenter" {
		req.Header.Set("Authorization", "Bearer "+user+"-pat")
	} else {
		req.SetBasicAuth(user+"@example.test", user+"-token")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("jira %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.T.Fatalf("jira %s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// APIVersion is the REST version people use on the environment's Jira.
func (e *Env) APIVersion() string {
	if e.Deploy == "datacenter" {
		return "2"
	}
	return "3"
}
