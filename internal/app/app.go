// Package app assembles one whole vulnsync process in one place: the store,
// the tracker service, the Jira connection registry, the admin use cases,
// the sync engine, the job runner and the HTTP handler (REST API, browser
// UI, webhook receiver). `serve`, `demo`, `bench` and the end-to-end test
// helper all build the process through New, so they cannot drift apart.
//
// Every dependency is given at construction, in the order of the imports:
// nothing is registered on a part after it was built, so the graph can be
// read here rather than by running it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/httpapi"
	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/metrics"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
	"github.com/vulnsync/vulnsync/internal/vault"
	"github.com/vulnsync/vulnsync/internal/web"
)

// Config is everything a process is built from.
type Config struct {
	// DB is a PostgreSQL URL; empty uses the embedded SQLite store in
	// DataDir.
	DB string
	// DataDir holds the SQLite database and the secret key file.
	DataDir string
	// SecretKey is the vault key (VULNSYNC_SECRET_KEY); empty uses (or
	// creates) the key file in DataDir.
	SecretKey string
	// ResetSecrets discards, knowingly, the stored secrets SecretKey does
	// not open (the key was lost); without it such secrets stop the start
	// with an error saying so.
	ResetSecrets bool
	// OIDC, when its Issuer is set, enables single sign-on; its
	// RedirectURL is derived from PublicURL.
	OIDC people.OIDCConfig
	// JiraDenyPrivate refuses Jira sites at private, loopback and
	// link-local addresses (serve --jira-allow-private=false).
	JiraDenyPrivate bool
	// PublicURL is the base of the webhook URL Jira calls.
	PublicURL string
	Logger    *slog.Logger
	// Clock drives the tracker, the jobs and (unless JiraConfig says
	// otherwise) nothing else; nil is time.Now.
	Clock func() time.Time
	// MaxAttachmentBytes bounds one attachment; default 25 MiB.
	MaxAttachmentBytes int64
	// MaxAcceptanceDays bounds how far ahead a risk acceptance may
	// expire; 0 is vulnsync's ceiling (service.Config).
	MaxAcceptanceDays int
	// MaxImportBytes bounds one uploaded scanner report (API); default
	// httpapi.DefaultMaxImportBytes.
	MaxImportBytes int64
	// ReconcileInterval is how often each integration asks Jira for what
	// changed; default 5 min.
	ReconcileInterval time.Duration
	// UI mounts the browser UI on "/" next to the API.
	UI bool
	// JiraHTTPClient carries every Jira call (tests validate it against
	// Atlassian's OpenAPI document); nil is the Jira client's default.
	JiraHTTPClient *http.Client
	// JiraConfig adjusts each Jira client (clocks, concurrency).
	JiraConfig func(*jira.Config)
	// Jobs tunes the job runner (backoff in tests); Store, Logger and
	// Clock are filled in.
	Jobs jobs.Config
	// AfterCreate is passed to the sync engine (crash simulation in tests).
	AfterCreate func(itemID string) error
	// CreateGrace is how long a create of unknown outcome is searched for
	// before it is made again (default: the engine's).
	CreateGrace time.Duration
	// MetricsToken is a bearer token that opens GET /metrics only
	// (VULNSYNC_METRICS_TOKEN); empty leaves /metrics to admin tokens.
	MetricsToken string
}

// App is one assembled process. Its parts are exported for the commands
// and tests that drive them directly (the bench, the demo's seeding).
type App struct {
	Store   store.Store
	Tracker *service.Service
	// People authenticates requests and keeps users, tokens, sessions and
	// the audit log.
	People       *people.Service
	Connections  *jiraconn.Registry
	Integrations *integration.Service
	Engine       *jirasync.Engine
	Runner       *jobs.Runner
	// Metrics are the process's own Prometheus metrics (GET /metrics).
	Metrics *metrics.Metrics
	// Handler serves the API, the webhook receiver and (with Config.UI)
	// the browser UI.
	Handler http.Handler
}

// New builds the process. The store is opened (and migrated) here; Close
// releases it.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	st, err := sqldb.Open(ctx, cfg.DB, cfg.DataDir, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	v, err := vault.Load(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load secret key: %w", err)
	}
	a := &App{Store: st, Metrics: metrics.New(metrics.Config{Store: st, Clock: cfg.Clock, Logger: cfg.Logger})}
	jiraConfig := func(c *jira.Config) {
		c.Observer = a.Metrics
		if cfg.JiraConfig != nil {
			cfg.JiraConfig(c)
		}
	}
	jc := cfg.Jobs
	jc.Store, jc.Logger, jc.Clock = st, cfg.Logger, cfg.Clock
	a.Runner = jobs.NewRunner(jc)
	a.People = people.New(people.Config{Store: st, Logger: cfg.Logger, Clock: cfg.Clock})
	a.Tracker = service.New(service.Config{Store: st, Logger: cfg.Logger, Clock: cfg.Clock, MaxAttachmentBytes: cfg.MaxAttachmentBytes,
		OnChange: jirasync.EnqueueOnChange(cfg.Clock), OnCommit: a.Runner.Notify, Audit: a.People, MaxAcceptanceDays: cfg.MaxAcceptanceDays})
	a.Connections = jiraconn.New(jiraconn.Config{Store: st, Vault: v, Logger: cfg.Logger, HTTPClient: cfg.JiraHTTPClient, JiraConfig: jiraConfig,
		DenyPrivate: cfg.JiraDenyPrivate})
	if _, err := a.Connections.CheckSecrets(ctx, cfg.ResetSecrets); err != nil {
		st.Close()
		return nil, err
	}
	a.Engine = jirasync.New(jirasync.Config{Tracker: a.Tracker, Connections: a.Connections, Runner: a.Runner, Logger: cfg.Logger,
		ReconcileInterval: cfg.ReconcileInterval, AfterCreate: cfg.AfterCreate, CreateGrace: cfg.CreateGrace, Metrics: a.Metrics,
		Audit: a.People})
	a.Integrations = integration.New(integration.Config{Tracker: a.Tracker, Connections: a.Connections, PublicURL: cfg.PublicURL,
		Logger: cfg.Logger, Audit: a.People, OnMappingSet: a.Engine.MappingSet, Progress: a.Engine.Progress,
		Queue: a.Engine.Queue, OnResume: a.Engine.Resumed})
	var sso *people.OIDC
	if cfg.OIDC.Issuer != "" {
		cfg.OIDC.RedirectURL = strings.TrimRight(cfg.PublicURL, "/") + "/signin/oidc/callback"
		if sso, err = people.NewOIDC(cfg.OIDC); err != nil {
			st.Close()
			return nil, err
		}
	}
	var ui http.Handler
	if cfg.UI {
		ui = web.New(web.Config{
			Tracker: a.Tracker, People: a.People, OIDC: sso, Integrations: a.Integrations, Logger: cfg.Logger, Links: a.Engine.Links,
			ConnectionHealth: a.Engine.ConnectionHealth,
			WebhookHealth:    a.Engine.WebhookHealth,
			SyncEvents: func(ctx context.Context, integrationID, itemID string) ([]store.SyncEvent, error) {
				return a.Engine.Events(ctx, integrationID, itemID, 200)
			},
			SyncEventPage: a.Engine.EventPage,
			RetryJob: func(ctx context.Context, jobID int64) error {
				_, err := a.Engine.RetryJob(ctx, jobID)
				return err
			},
			Backfill: a.Engine.Backfill,
			LinkIssue: func(ctx context.Context, itemID, key string) error {
				_, err := a.Engine.LinkIssue(ctx, itemID, key)
				return err
			},
			UnlinkIssue: a.Engine.UnlinkIssue,
			Preview: func(ctx context.Context, itemID string) (any, error) {
				return a.Engine.Preview(ctx, itemID)
			},
			SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"),
		})
	}
	a.Handler = httpapi.NewServer(httpapi.Config{Service: a.Tracker, People: a.People, Integrations: a.Integrations, Sync: a.Engine,
		Webhooks: a.Engine, Links: a.Engine.Links, Logger: cfg.Logger, UI: ui,
		Metrics: a.Metrics.Handler(), MetricsToken: cfg.MetricsToken, WebhookMetrics: a.Metrics, MaxImportBytes: cfg.MaxImportBytes})
	return a, nil
}

// RunWorkers schedules reconciliation and runs the sync workers until ctx
// ends.
func (a *App) RunWorkers(ctx context.Context) error {
	if err := a.Engine.ScheduleReconcile(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the workers started: nothing to report
		}
		return fmt.Errorf("schedule reconciliation: %w", err)
	}
	if err := a.Engine.ScheduleAcceptanceExpiry(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := a.Runner.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("run sync workers: %w", err)
	}
	return nil
}

// Close stops the webhook intake's writer and closes the store. Call it
// after the HTTP server and the workers stopped.
func (a *App) Close() {
	a.Engine.Close()
	a.Store.Close()
}
