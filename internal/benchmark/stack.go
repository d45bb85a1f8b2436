package benchmark

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the bench's own schemas

	"github.com/vulnsync/vulnsync/internal/app"
	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// stack is one whole vulnsync, wired as `vulnsync serve` wires it (store,
// tracker service, integration service, job runner, sync engine, REST API
// on a loopback listener), next to an in-process Jira simulator on its own
// loopback listener that delivers webhooks by itself.
type stack struct {
	app    *app.App
	log    *slog.Logger
	sim    *jirasim.Simulator
	simURL string
	st     store.Store
	svc    *service.Service
	integ  *integration.Service
	runner *jobs.Runner
	engine *jirasync.Engine
	apiURL string
	token  string
	// http talks to the API and the simulator (as a person would).
	http *http.Client
	// hooks sees every webhook delivery the simulator sends.
	hooks *hookTap

	// dir is the data directory; dsn the PostgreSQL schema's URL ("" on
	// SQLite).
	dir, dsn string

	mu      sync.Mutex
	closers []func()
	stopRun func()
}

// stackOptions choose where the store lives.
type stackOptions struct {
	// dir holds the SQLite file and the vault key.
	dir string
	// db, when set, is a PostgreSQL URL: the stack gets a fresh schema in
	// that database, dropped on close.
	db  string
	log *slog.Logger
}

// newStack assembles and starts everything but the job runner (see
// startWorkers).
func newStack(ctx context.Context, o stackOptions) (_ *stack, err error) {
	s := &stack{log: o.log, dir: o.dir, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		hooks: &hookTap{base: &http.Transport{MaxIdleConnsPerHost: 16}}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	s.sim = jirasim.New(jirasim.Config{Deployment: jirasim.Cloud, Seed: 1, Logger: o.log.With("component", "jirasim"),
		WebhookClient: &http.Client{Timeout: 10 * time.Second, Transport: s.hooks}})
	simURL, stopSim, err := serveLoopback(s.sim, o.log)
	if err != nil {
		s.sim.Close()
		return nil, fmt.Errorf("start the Jira simulator: %w", err)
	}
	s.simURL = simURL
	s.onClose(func() { s.sim.Close(); stopSim() })

	dsn := ""
	if o.db != "" {
		var drop func()
		if dsn, drop, err = freshSchema(ctx, o.db); err != nil {
			return nil, err
		}
		s.onClose(drop)
		s.dsn = dsn
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the API: %w", err)
	}
	s.apiURL = "http://" + ln.Addr().String()
	a, err := app.New(ctx, app.Config{DB: dsn, DataDir: o.dir, PublicURL: s.apiURL, Logger: o.log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.onClose(a.Close)
	s.app, s.st, s.svc, s.integ, s.runner, s.engine = a, a.Store, a.Tracker, a.Integrations, a.Runner, a.Engine
	stopAPI := serveListener(ln, a.Handler, o.log)
	s.onClose(stopAPI)

	s.token = "bench-" + rand.Text()
	if _, err := a.People.BootstrapAdminToken(ctx, s.token); err != nil {
		return nil, err
	}
	return s, nil
}

// serveLoopback serves h on a new loopback port and returns its URL and a
// stop function.
func serveLoopback(h http.Handler, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	return "http://" + ln.Addr().String(), serveListener(ln, h, log), nil
}

func serveListener(ln net.Listener, h http.Handler, log *slog.Logger) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}
}

// freshSchema creates an empty schema in the PostgreSQL database of dsn
// and returns a DSN that uses it, and a function that drops it.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("parse --db: the URL cannot be parsed")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	schema := "vulnsync_bench_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	return u.String(), drop, nil
}

func (s *stack) onClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// close stops the workers, then everything else in the reverse order of
// creation.
func (s *stack) close() {
	s.stopWorkers()
	s.mu.Lock()
	cs := s.closers
	s.closers = nil
	s.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// startWorkers runs the real job runner (Runner.Run), as serve does.
func (s *stack) startWorkers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopRun != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.runner.Run(ctx); err != nil {
			s.log.Error("job runner stopped", "err", err)
		}
	}()
	s.stopRun = func() { cancel(); <-done }
}

func (s *stack) stopWorkers() {
	s.mu.Lock()
	stop := s.stopRun
	s.stopRun = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// integrated names what setup created.
type integrated struct {
	connectionID  string
	targetID      string
	integrationID string
	secret        string
}

// benchActor is who makes the bench's changes in vulnsync.
var benchActor = service.Actor{Name: "bench", Email: "bench@example.test", Role: service.RoleAdmin, Origin: tracker.OriginVulnsync}

// connect connects the simulator as its admin, creates a target and
// integrates it with SEC, and registers the webhook. The mapping is set
// separately (setMapping), since accepting one starts a backfill.
func (s *stack) connect(ctx context.Context, targetName string) (integrated, error) {
	var in integrated
	conn, err := s.integ.CreateConnection(ctx, integration.ConnectionInput{Name: "sim", BaseURL: s.simURL,
		Auth: integration.AuthInput{Type: jiraconn.AuthBasic, Email: "admin@example.test", APIToken: "admin-token"}})
	if err != nil {
		return in, fmt.Errorf("connect the simulator: %w", err)
	}
	in.connectionID, in.secret = conn.ID, conn.WebhookSecret
	if in.secret == "" {
		if in.secret, err = s.integ.WebhookSecret(ctx, conn.ID); err != nil {
			return in, fmt.Errorf("read the webhook secret: %w", err)
		}
	}
	t, err := s.svc.CreateTarget(ctx, tracker.Target{Name: targetName})
	if err != nil {
		return in, fmt.Errorf("create target: %w", err)
	}
	in.targetID = t.ID
	v, err := s.integ.Integrate(ctx, integration.IntegrationInput{ConnectionID: conn.ID, TargetID: t.ID, ProjectKey: "SEC"})
	if err != nil {
		return in, fmt.Errorf("integrate the target with SEC: %w", err)
	}
	in.integrationID = v.ID
	if _, err := s.integ.RegisterWebhook(ctx, conn.ID); err != nil {
		return in, fmt.Errorf("register the webhook: %w", err)
	}
	return in, nil
}

// setMapping accepts the mapping document of PRODUCT.md §2.
func (s *stack) setMapping(ctx context.Context, in integrated) error {
	if _, err := s.integ.SetMapping(ctx, in.integrationID, json.RawMessage(mapping.Example)); err != nil {
		return fmt.Errorf("set the mapping: %w", err)
	}
	return nil
}

// setup is connect followed by setMapping.
func (s *stack) setup(ctx context.Context, targetName string) (integrated, error) {
	in, err := s.connect(ctx, targetName)
	if err != nil {
		return in, err
	}
	return in, s.setMapping(ctx, in)
}

// createVulns creates n vulnerabilities through the tracker service (one
// transaction each, with their sync jobs).
func (s *stack) createVulns(ctx context.Context, targetID string, n int, prefix string) ([]tracker.Item, error) {
	out := make([]tracker.Item, 0, n)
	for i := range n {
		it, err := s.svc.CreateItem(ctx, benchActor, targetID, tracker.NewItem{Kind: tracker.KindVulnerability,
			Title: fmt.Sprintf("%s %d", prefix, i), Severity: tracker.SeverityMedium, Fields: map[string]any{"cvss_score": 5.0}})
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// linkOf returns an item's link (its issue id and key).
func (s *stack) linkOf(ctx context.Context, itemID string) (store.Link, error) {
	var l store.Link
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		l, err = tx.GetLink(ctx, itemID)
		return err
	})
	if err != nil {
		return l, fmt.Errorf("read the link of item %s: %w", itemID, err)
	}
	return l, nil
}

// waitQuiet waits until no sync job is pending or running and the
// simulator has no webhook queued or in flight, twice in a row, or until
// the timeout passes (an error then).
func (s *stack) waitQuiet(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	quiet := 0
	for {
		busy, err := s.engine.Busy(ctx)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		simBusy := s.sim.WaitIdle(wctx) != nil
		cancel()
		if !busy && !simBusy {
			quiet++
			if quiet == 2 {
				return nil
			}
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the sync did not settle within %v", timeout)
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// api sends a JSON request to vulnsync's REST API with the admin token
// and decodes a 2xx answer into out.
func (s *stack) api(ctx context.Context, method, path string, body, out any) error {
	return s.do(ctx, method, s.apiURL+path, func(h http.Header) { h.Set("Authorization", "Bearer "+s.token) }, body, out)
}

// jira sends a request to the simulator's REST API as one of its people
// ("dev" or "admin") and decodes a 2xx answer into out.
func (s *stack) jira(ctx context.Context, user, method, path string, body, out any) error {
	return s.do(ctx, method, s.simURL+path, func(h http.Header) {
		h.Set("Authorization", "Basic "+basic(user+"@example.test", user+"-token"))
	}, body, out)
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "http://x", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// errStatus is a non-2xx answer.
type errStatus struct {
	method, url string
	status      int
	body        string
}

// Error says which request got which answer.
func (e *errStatus) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.url, e.status, e.body)
}

func (s *stack) do(ctx context.Context, method, u string, auth func(http.Header), body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, u, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, u, err)
	}
	auth(req.Header)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(raw) > 300 {
			raw = raw[:300]
		}
		return &errStatus{method: method, url: u, status: resp.StatusCode, body: string(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, u, err)
		}
	}
	return nil
}

// hookTap is the simulator's webhook transport: it keeps a copy of the
// latest deliveries and forwards each one unchanged.
type hookTap struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []tappedDelivery
}

// tappedDelivery is a delivery the simulator sent.
type tappedDelivery struct {
	header http.Header
	body   []byte
}

// maxTapped bounds the deliveries the tap keeps.
const maxTapped = 64

func (h *hookTap) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(io.LimitReader(req.Body, store.MaxDeliveryBytes+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read webhook body: %w", err)
		}
		h.mu.Lock()
		if len(h.seen) == maxTapped {
			h.seen = append(h.seen[:0], h.seen[1:]...)
		}
		h.seen = append(h.seen, tappedDelivery{header: req.Header.Clone(), body: body})
		h.mu.Unlock()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return h.base.RoundTrip(req)
}

// find returns the newest delivery whose body satisfies match.
func (h *hookTap) find(match func(body []byte) bool) (tappedDelivery, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.seen) - 1; i >= 0; i-- {
		if match(h.seen[i].body) {
			return h.seen[i], true
		}
	}
	return tappedDelivery{}, false
}
