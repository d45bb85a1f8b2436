// Package httpapi is vulnsync's REST API (PRODUCT.md §4): JSON over HTTP
// under /api/v1, bearer-token auth, field-by-field JSON errors, and the
// health endpoints. Handlers only translate between HTTP and the service;
// every rule lives in the service and the domain.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// WebhookReceiver is the use case behind POST /webhooks/jira/{connection_id}:
// the sync engine verifies, records and queues a delivery and answers with
// a domain error kind that the one error table turns into a status.
type WebhookReceiver interface {
	Receive(ctx context.Context, d jirasync.Delivery) (jirasync.Receipt, error)
}

// Config wires the API to the rest of the process.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// People authenticates requests and serves users, tokens and the
	// audit log.
	People *people.Service
	// Integrations serves the Jira setup endpoints.
	Integrations *integration.Service
	// Sync serves the sync log, backfill and retry endpoints.
	Sync Sync
	// Webhooks receives Jira's deliveries.
	Webhooks WebhookReceiver
	// Links resolves the Jira issues linked to items (items without one
	// are absent from the answer); nil answers "jira": null.
	Links func(ctx context.Context, itemIDs []string) (map[string]tracker.JiraRef, error)
	// UI, when set, serves every path the API and the receiver do not
	// claim (the browser UI).
	UI http.Handler
	// MaxJSONBytes bounds JSON request bodies; default 1 MiB.
	MaxJSONBytes int64
	// MaxWebhookBodies caps the webhook bodies read at once (default 64):
	// past it a delivery is answered 503 with Retry-After at once, which
	// Jira retries, instead of holding one more connection.
	MaxWebhookBodies int
	// WebhookReadTimeout bounds reading one delivery's body (default
	// 10 s): a slow sender cannot hold a connection and a slot.
	WebhookReadTimeout time.Duration
	// Metrics serves GET /metrics (Prometheus); nil answers 404 there.
	Metrics http.Handler
	// MetricsToken, when set, is a bearer token that opens /metrics and
	// nothing else (VULNSYNC_METRICS_TOKEN); admin tokens open it too.
	MetricsToken string
	// WebhookMetrics counts webhook deliveries by result; nil counts
	// nothing.
	WebhookMetrics WebhookMetrics
	// MaxImportBytes bounds one uploaded scanner report; default
	// DefaultMaxImportBytes.
	MaxImportBytes int64
}

type server struct {
	people *people.Service
	// hookSlots bounds the webhook bodies being read at once; hookRead
	// is the deadline for reading one.
	hookSlots chan struct{}
	hookRead  time.Duration
	svc       *service.Service
	log       *slog.Logger
	integ     *integration.Service
	sync      Sync
	hooks     WebhookReceiver
	links     func(ctx context.Context, itemIDs []string) (map[string]tracker.JiraRef, error)
	ui        http.Handler
	maxJSON   int64
	mux       *routeMux

	metrics      http.Handler
	metricsToken string
	hookMetrics  WebhookMetrics
	// maxImport bounds one uploaded scanner report.
	maxImport int64
}

// routeMux is the server's mux, keeping the patterns registered on it so
// tests can hold the OpenAPI document to the routes (RoutePatterns).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// RoutePatterns returns the ServeMux patterns ("METHOD /path") of the
// routes NewServer(cfg) registers, in registration order; the UI's "/" is
// not listed. The catch-all "/api/" (a JSON 404 for unknown endpoints) is.
func RoutePatterns(cfg Config) []string {
	s := newServer(cfg)
	return append([]string(nil), s.mux.patterns...)
}

// NewServer returns the HTTP handler serving the API, the webhook receiver
// and the UI. Service, Integrations, Sync and Webhooks are required.
func NewServer(cfg Config) http.Handler {
	if cfg.Service == nil || cfg.People == nil || cfg.Integrations == nil || cfg.Sync == nil || cfg.Webhooks == nil {
		panic("httpapi.NewServer: Service, People, Integrations, Sync and Webhooks are required")
	}
	s := newServer(cfg)
	return s.logRequests(s.recoverPanics(s.mux))
}

// newServer builds the server and registers its routes; handlers are
// only called when requests arrive, so RoutePatterns can list the routes
// of a configuration without its dependencies.
func newServer(cfg Config) *server {
	s := &server{svc: cfg.Service, people: cfg.People, integ: cfg.Integrations, sync: cfg.Sync, hooks: cfg.Webhooks, log: cfg.Logger, links: cfg.Links, ui: cfg.UI, maxJSON: cfg.MaxJSONBytes, mux: &routeMux{ServeMux: http.NewServeMux()}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxJSON <= 0 {
		s.maxJSON = 1 << 20
	}
	if cfg.MaxWebhookBodies <= 0 {
		cfg.MaxWebhookBodies = 64
	}
	s.hookSlots = make(chan struct{}, cfg.MaxWebhookBodies)
	s.hookRead = cfg.WebhookReadTimeout
	if s.hookRead <= 0 {
		s.hookRead = 10 * time.Second
	}
	s.metrics, s.metricsToken, s.hookMetrics = cfg.Metrics, cfg.MetricsToken, cfg.WebhookMetrics
	if s.hookMetrics == nil {
		s.hookMetrics = nopWebhookMetrics{}
	}
	s.maxImport = cfg.MaxImportBytes
	if s.maxImport <= 0 {
		s.maxImport = DefaultMaxImportBytes
	}
	s.routes()
	return s
}

// requireAuth authenticates the request's bearer token (people), then
// authorizes it: the actor's role must hold perm (the one rule,
// people.Authorize). The actor and the client address go into the
// request's context, for the handlers and for the audit log.
func (s *server) requireAuth(perm tracker.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		if h == "" || !strings.EqualFold(scheme, "Bearer") {
			writeError(w, r, s.log, tracker.Errorf(tracker.EUnauthorized, "missing bearer token: send Authorization: Bearer <token>"))
			return
		}
		ctx := people.ContextWithRemote(r.Context(), r.RemoteAddr)
		actor, err := s.people.Authenticate(ctx, strings.TrimSpace(token))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if err := people.Authorize(actor, perm); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(service.ContextWithActor(ctx, actor)))
	})
}

func (s *server) actor(r *http.Request) service.Actor {
	a, _ := service.ActorFrom(r.Context())
	return a
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(b []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	return sr.ResponseWriter.Write(b)
}

func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads one JSON object into v, refusing unknown fields, trailing
// data and bodies over the limit, with a message that says what is wrong.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	// The body is read as JSON whatever its Content-Type says (curl -d
	// sends form encoding by default); a body that is not JSON is refused
	// with the decoder's reason.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return tracker.Errorf(tracker.ETooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
		case errors.Is(err, io.EOF):
			return tracker.Errorf(tracker.EInvalid, "request body is empty: a JSON object is required")
		case errors.As(err, &syn):
			return tracker.Errorf(tracker.EInvalid, "malformed JSON body at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			e := &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body"}
			if typ.Field != "" {
				e.Fields = map[string]string{typ.Field: tracker.JSONTypeMismatch(typ)}
			} else {
				e.Message = "JSON body " + tracker.JSONTypeMismatch(typ)
			}
			return e
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{name: "unknown field"}}
		default:
			return tracker.Errorf(tracker.EInvalid, "malformed JSON body: %v", err)
		}
	}
	if dec.More() {
		return tracker.Errorf(tracker.EInvalid, "malformed JSON body: unexpected data after the JSON object")
	}
	return nil
}
