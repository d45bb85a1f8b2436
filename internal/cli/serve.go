package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/vulnsync/vulnsync/internal/app"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// serveConfig is everything `serve` reads from flags and the environment.
type serveConfig struct {
	addr, data, db, publicURL string
	maxAttachment             int64
	logLevel, logFormat       string
	adminToken                string
	shutdownTimeout           time.Duration
	reconcileInterval         time.Duration
	resetSecrets              bool
	jiraAllowPrivate          bool
	oidc                      people.OIDCConfig
	maxAcceptanceDays         int
}

// parseServe parses the flags of serve; extra, when given, adds flags of
// commands that take serve's flags plus their own (demo).
func parseServe(name string, args []string, getenv func(string) string, stderr io.Writer, extra ...func(*flag.FlagSet)) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", envOr(getenv, "VULNSYNC_ADDR", "127.0.0.1:8080"), "listen address (env VULNSYNC_ADDR)")
	fs.StringVar(&c.data, "data", envOr(getenv, "VULNSYNC_DATA", "./vulnsync-data"), "data directory for the embedded SQLite store and key files (env VULNSYNC_DATA)")
	fs.StringVar(&c.db, "db", getenv("VULNSYNC_DB"), "PostgreSQL URL postgres://… instead of embedded SQLite (env VULNSYNC_DB)")
	fs.StringVar(&c.publicURL, "public-url", getenv("VULNSYNC_PUBLIC_URL"), "public base URL Jira calls webhooks on (env VULNSYNC_PUBLIC_URL; default http://<addr>)")
	maxAtt, err := envByteSize(getenv, "VULNSYNC_MAX_ATTACHMENT_BYTES", service.DefaultMaxAttachmentBytes)
	if err != nil {
		return c, err
	}
	fs.Var(&maxAtt, "max-attachment-bytes", "largest attachment accepted: bytes, or a size like 25MiB or 10MB (env VULNSYNC_MAX_ATTACHMENT_BYTES)")
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "VULNSYNC_LOG_LEVEL", "info"), "debug, info, warn or error (env VULNSYNC_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(getenv, "VULNSYNC_LOG_FORMAT", "text"), "text or json (env VULNSYNC_LOG_FORMAT)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for requests in flight on shutdown")
	ri, err := envDuration(getenv, "VULNSYNC_RECONCILE_INTERVAL", 5*time.Minute)
	if err != nil {
		return c, err
	}
	fs.DurationVar(&c.reconcileInterval, "reconcile-interval", ri, "how often each integration asks Jira for changes whose webhook never came, like 30s or 5m (env VULNSYNC_RECONCILE_INTERVAL)")
	allowPrivate := envOr(getenv, "VULNSYNC_JIRA_ALLOW_PRIVATE", "true")
	fs.BoolVar(&c.jiraAllowPrivate, "jira-allow-private", allowPrivate != "false", "allow Jira sites at private, loopback and link-local addresses (env VULNSYNC_JIRA_ALLOW_PRIVATE); false refuses them, for installations whose Jira is on the internet")
	fs.StringVar(&c.oidc.Issuer, "oidc-issuer", getenv("VULNSYNC_OIDC_ISSUER"), "single sign-on: the OpenID Connect issuer URL (env VULNSYNC_OIDC_ISSUER); the client secret comes from VULNSYNC_OIDC_CLIENT_SECRET")
	fs.StringVar(&c.oidc.ClientID, "oidc-client-id", getenv("VULNSYNC_OIDC_CLIENT_ID"), "single sign-on: the client id registered at the identity provider (env VULNSYNC_OIDC_CLIENT_ID)")
	defaultRole := envOr(getenv, "VULNSYNC_OIDC_DEFAULT_ROLE", "viewer")
	fs.StringVar(&defaultRole, "oidc-default-role", defaultRole, "single sign-on: the role of a person signing in for the first time when no group maps to one (env VULNSYNC_OIDC_DEFAULT_ROLE)")
	groupRoles := getenv("VULNSYNC_OIDC_GROUP_ROLES")
	fs.StringVar(&groupRoles, "oidc-group-roles", groupRoles, "single sign-on: group=role pairs, comma-separated (appsec=analyst,secadmins=admin); the highest applies at each sign-in (env VULNSYNC_OIDC_GROUP_ROLES)")
	fs.StringVar(&c.oidc.GroupsClaim, "oidc-groups-claim", envOr(getenv, "VULNSYNC_OIDC_GROUPS_CLAIM", "groups"), "single sign-on: the ID token claim listing groups (env VULNSYNC_OIDC_GROUPS_CLAIM)")
	fs.BoolVar(&c.resetSecrets, "reset-secrets", false, "discard stored Jira credentials and webhook secrets the secret key no longer opens (after secret.key was lost); those connections then need new credentials")
	ceiling := int(tracker.MaxAcceptance / (24 * time.Hour))
	maxAcc, err := envDays(getenv, "VULNSYNC_MAX_ACCEPTANCE_DAYS", ceiling)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.maxAcceptanceDays, "max-acceptance-days", maxAcc, fmt.Sprintf("how many days ahead a risk acceptance may expire at most, 1 to %d (env VULNSYNC_MAX_ACCEPTANCE_DAYS)", ceiling))
	for _, add := range extra {
		add(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	if c.maxAcceptanceDays < 1 || c.maxAcceptanceDays > ceiling {
		return c, fmt.Errorf("%w: --max-acceptance-days %d must be between 1 and %d", ErrUsage, c.maxAcceptanceDays, ceiling)
	}
	if maxAtt < 1 {
		return c, fmt.Errorf("%w: --max-attachment-bytes %s must be at least one byte", ErrUsage, maxAtt.String())
	}
	c.maxAttachment = int64(maxAtt)
	if c.reconcileInterval < time.Second {
		return c, fmt.Errorf("%w: --reconcile-interval %s must be at least 1s, like 5m", ErrUsage, c.reconcileInterval)
	}
	if c.publicURL != "" {
		if c.publicURL, err = checkPublicURL(c.publicURL); err != nil {
			return c, err
		}
	}
	if c.db != "" && !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") {
		return c, fmt.Errorf("%w: --db must be a postgres:// URL", ErrUsage)
	}
	c.adminToken = getenv("VULNSYNC_ADMIN_TOKEN")
	if c.oidc.Issuer != "" {
		c.oidc.ClientSecret = getenv("VULNSYNC_OIDC_CLIENT_SECRET")
		c.oidc.DefaultRole = tracker.Role(defaultRole)
		c.oidc.GroupRoles = map[string]tracker.Role{}
		for _, pair := range strings.Split(groupRoles, ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			g, r, ok := strings.Cut(pair, "=")
			if !ok || strings.TrimSpace(g) == "" {
				return c, fmt.Errorf("%w: --oidc-group-roles %q: want group=role pairs separated by commas", ErrUsage, pair)
			}
			c.oidc.GroupRoles[strings.TrimSpace(g)] = tracker.Role(strings.TrimSpace(r))
		}
		if _, err := people.NewOIDC(c.oidc); err != nil {
			return c, fmt.Errorf("%w: %v", ErrUsage, err)
		}
	}
	return c, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	a, err := assemble(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	defer a.close()
	return a.serve(ctx, stdout)
}

// process is the assembled vulnsync (internal/app) with its listener,
// ready to serve.
type process struct {
	*app.App
	cfg     serveConfig
	log     *slog.Logger
	ln      net.Listener
	baseURL string
	// onServing, when set, runs once the API and the sync workers are up
	// (the demo seeds and waits for its first sync there); an error from it
	// stops the process.
	onServing func(ctx context.Context) error
}

// assemble listens (so the webhook URL knows the real port when --addr
// ends in :0) and builds the process through app.New.
func assemble(ctx context.Context, cfg serveConfig, getenv func(string) string, log *slog.Logger) (*process, error) {
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	p := &process{cfg: cfg, log: log, ln: ln, baseURL: "http://" + ln.Addr().String()}
	public := cfg.publicURL
	if public == "" {
		public = p.baseURL
	}
	p.App, err = app.New(ctx, app.Config{DB: cfg.db, DataDir: cfg.data, SecretKey: getenv("VULNSYNC_SECRET_KEY"), ResetSecrets: cfg.resetSecrets,
		JiraDenyPrivate: !cfg.jiraAllowPrivate, PublicURL: public, Logger: log, MaxAttachmentBytes: cfg.maxAttachment, MaxAcceptanceDays: cfg.maxAcceptanceDays,
		ReconcileInterval: cfg.reconcileInterval, UI: true, OIDC: cfg.oidc, MetricsToken: getenv("VULNSYNC_METRICS_TOKEN")})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return p, nil
}

func (a *process) close() {
	a.ln.Close()
	a.App.Close()
}

// serve bootstraps the admin token, runs the sync workers and serves HTTP
// until ctx is done, then shuts down gracefully.
func (a *process) serve(ctx context.Context, stdout io.Writer) error {
	token, err := a.People.BootstrapAdminToken(ctx, a.cfg.adminToken)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: a.Handler,
		// Every phase is bounded so that slow clients cannot hold
		// connections: headers in 10 s, a whole request (an attachment
		// upload at most) in 5 min, an answer (an attachment download)
		// in 5 min; webhook bodies have their own 10 s (httpapi).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// The "listening" line comes last: tools (and tests) wait for it and
	// then have everything printed before it.
	if token != "" {
		fmt.Fprintf(stdout, "admin token (shown once, store it now): %s\n", token)
	}
	fmt.Fprintf(stdout, "UI: %s/\n", a.baseURL)
	fmt.Fprintf(stdout, "API: %s/api/v1\n", a.baseURL)
	fmt.Fprintf(stdout, "vulnsync listening on %s (store: %s)\n", a.baseURL, a.Store.Backend())
	a.log.Info("serving", "addr", a.baseURL, "store", a.Store.Backend())

	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := make(chan error, 1)
	go func() { workersDone <- a.RunWorkers(workers) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(a.ln) }()
	hookCtx, stopHook := context.WithCancel(ctx)
	defer stopHook()
	hookErr, hookDone := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(hookDone)
		if a.onServing != nil {
			if err := a.onServing(hookCtx); err != nil && hookCtx.Err() == nil {
				hookErr <- err
			}
		}
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
	case serveErr = <-hookErr:
	case <-ctx.Done():
	}
	stopHook()
	<-hookDone
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shutdown: %w", err))
	}
	stopWorkers()
	if err := <-workersDone; err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}
