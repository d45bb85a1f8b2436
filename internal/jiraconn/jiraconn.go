// Package jiraconn is the runtime registry of Jira connections that every
// sync job, webhook delivery and admin call shares: one Jira client per
// connection (so pacing and Retry-After are honoured across everything that
// talks to that site), the project metadata cached per connection and
// project, and the connection's webhook secret opened from the vault and
// kept briefly for the receiver's signature check.
//
// It is owned by the sync side: the admin use cases (internal/integration)
// create and delete connections through it, the sync engine only reads.
package jiraconn

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"github.com/vulnsync/vulnsync/internal/vault"
)

// Auth types of a connection, as stored.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// Config wires a Registry.
type Config struct {
	Store  store.Store
	Vault  *vault.Vault
	Logger *slog.Logger
	// HTTPClient is used by the Jira clients (tests inject validating
	// transports); nil uses the client package's default.
	HTTPClient *http.Client
	// JiraConfig, when set, adjusts each Jira client's configuration
	// (clocks, limits) before it is created.
	JiraConfig func(*jira.Config)
	// MetaTTL is how long Jira project metadata is cached; default 10 min.
	MetaTTL time.Duration
	// DenyPrivate refuses Jira sites at loopback, private and link-local
	// addresses (SSRF hygiene where every Jira is on the internet). It
	// replaces HTTPClient. Off by default: many Data Center sites are
	// private.
	DenyPrivate bool
}

// Registry holds the per-connection runtime state.
type Registry struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	mu      sync.Mutex
	clients map[string]*jira.Client // per connection: pacing state is per connection
	meta    map[string]cachedMeta   // per connection + project
	secrets map[string]cachedSecret // webhook secrets in clear, briefly
}

type cachedMeta struct {
	meta    mapping.Meta
	fields  []jira.Field
	fetched time.Time
}

// secretTTL bounds how long a webhook secret is trusted from memory; a
// secret rotated by another replica is picked up at the latest then, and
// at once when a delivery fails to verify against the cached one.
const secretTTL = 10 * time.Second

type cachedSecret struct {
	secret  string
	mode    tracker.WebhookAuth
	fetched time.Time
}

// New returns an empty registry over the store and vault.
func New(cfg Config) *Registry {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MetaTTL <= 0 {
		cfg.MetaTTL = 10 * time.Minute
	}
	if cfg.DenyPrivate {
		cfg.HTTPClient = publicOnlyClient()
	}
	return &Registry{cfg: cfg, st: cfg.Store, log: cfg.Logger, clients: map[string]*jira.Client{},
		meta: map[string]cachedMeta{}, secrets: map[string]cachedSecret{}}
}

// Vault is the vault secrets of connections are sealed with.
func (r *Registry) Vault() *vault.Vault { return r.cfg.Vault }

// NewClient builds a Jira client with the registry's transport and
// adjustments, without registering it (a connection being tested).
func (r *Registry) NewClient(baseURL string, auth jira.Auth, deployment string) (*jira.Client, error) {
	cfg := jira.Config{BaseURL: baseURL, Auth: auth, HTTPClient: r.cfg.HTTPClient, Logger: r.log, Deployment: jira.Deployment(deployment)}
	if r.cfg.JiraConfig != nil {
		r.cfg.JiraConfig(&cfg)
	}
	c, err := jira.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("build the Jira client for %s: %w", baseURL, err)
	}
	return c, nil
}

// Put registers the client of a connection just created, so the client
// that tested the credentials keeps serving it.
func (r *Registry) Put(connectionID string, c *jira.Client) {
	r.mu.Lock()
	r.clients[connectionID] = c
	r.mu.Unlock()
}

// Forget drops everything held for a deleted connection.
func (r *Registry) Forget(connectionID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.clients, connectionID)
	delete(r.secrets, connectionID)
	for k := range r.meta {
		if strings.HasPrefix(k, connectionID+"/") {
			delete(r.meta, k)
		}
	}
}

// Connection reads a stored connection.
func (r *Registry) Connection(ctx context.Context, id string) (c store.Connection, err error) {
	err = r.st.View(ctx, func(tx store.Tx) error { c, err = tx.GetConnection(ctx, id); return err })
	return c, err
}

// Client returns the Jira client of a connection (one per connection and
// process, so pacing and Retry-After are shared by everything using it).
func (r *Registry) Client(ctx context.Context, connectionID string) (*jira.Client, error) {
	r.mu.Lock()
	c, ok := r.clients[connectionID]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	conn, err := r.Connection(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	if conn.SealedSecret == "" {
		return nil, tracker.Errorf(tracker.EUnavailable, "connection %q has no credentials: they were discarded when vulnsync started with --reset-secrets; give new ones (PATCH /api/v1/jira/connections/%s)", conn.Name, conn.ID)
	}
	secret, err := r.cfg.Vault.Open(conn.SealedSecret, "connection:"+conn.ID)
	if err != nil {
		return nil, fmt.Errorf("open credentials of connection %s: %w", conn.ID, err)
	}
	var auth jira.Auth = jira.BearerAuth{Token: secret}
	if conn.AuthType == AuthBasic {
		auth = jira.BasicAuth{Email: conn.Email, APIToken: secret}
	}
	c, err = r.NewClient(conn.BaseURL, auth, conn.Deployment)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if existing, ok := r.clients[connectionID]; ok {
		return existing, nil
	}
	r.clients[connectionID] = c
	return c, nil
}

// WebhookSecret returns a connection's webhook secret in clear ("" when
// none is set).
func (r *Registry) WebhookSecret(ctx context.Context, connectionID string) (string, error) {
	c, err := r.Connection(ctx, connectionID)
	if err != nil || c.SealedWebhookSecret == "" {
		return "", err
	}
	return r.cfg.Vault.Open(c.SealedWebhookSecret, "webhook:"+c.ID)
}

// ForgetSecret drops the cached webhook secret after a rotation.
func (r *Registry) ForgetSecret(connectionID string) {
	r.mu.Lock()
	delete(r.secrets, connectionID)
	r.mu.Unlock()
}

// VerifyWebhook authenticates a delivery before anything in it is read
// (G10) and says how: with HMAC a valid X-Hub-Signature over the raw body
// is required; in token mode (Jira does not sign) the token from the URL
// must match, compared in constant time, and the delivery is then only a
// notice whose contents the sync reads back from Jira. The secret is
// cached briefly so the receiver does not read and decrypt it for every
// delivery; a failed check re-reads it once before refusing. An unknown
// connection is ENotFound; a missing or wrong signature or token is
// EUnauthorized.
func (r *Registry) VerifyWebhook(ctx context.Context, connectionID, signature, token string, body []byte) (tracker.WebhookAuth, error) {
	r.mu.Lock()
	c, ok := r.secrets[connectionID]
	r.mu.Unlock()
	if ok && time.Since(c.fetched) < secretTTL && c.secret != "" && check(c, signature, token, body) == nil {
		return c.mode, nil
	}
	conn, err := r.Connection(ctx, connectionID)
	if err != nil {
		return "", err
	}
	c = cachedSecret{mode: conn.WebhookAuth, fetched: time.Now()}
	if conn.SealedWebhookSecret != "" {
		if c.secret, err = r.cfg.Vault.Open(conn.SealedWebhookSecret, "webhook:"+conn.ID); err != nil {
			return "", fmt.Errorf("open the webhook secret of connection %s: %w", conn.ID, err)
		}
	}
	r.mu.Lock()
	r.secrets[connectionID] = c
	r.mu.Unlock()
	if c.secret == "" {
		return "", unauthorized(jirahook.ErrBadSignature)
	}
	if err := check(c, signature, token, body); err != nil {
		return "", unauthorized(err)
	}
	return c.mode, nil
}

// errBadToken is a token-mode delivery without the connection's token.
var errBadToken = errors.New("webhook URL token missing or wrong")

// check verifies one delivery against a cached secret in its mode. A
// token on an HMAC connection is refused: the URL has no token there.
func check(c cachedSecret, signature, token string, body []byte) error {
	if c.mode == tracker.WebhookToken {
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(c.secret)) != 1 {
			return errBadToken
		}
		return nil
	}
	if token != "" {
		return errBadToken
	}
	return jirahook.Verify([]byte(c.secret), signature, body)
}

func unauthorized(err error) error {
	return &tracker.Error{Kind: tracker.EUnauthorized, Message: "webhook signature missing or wrong: " + err.Error()}
}

// ProjectMeta is a Jira project's metadata: its issue types with their
// fields, workflow statuses, priorities, and every field of the site.
type ProjectMeta struct {
	mapping.Meta
	Fields []jira.Field
}

// ProjectMeta returns the (cached) metadata of a Jira project; refresh
// forces a new fetch (an admin changed the project).
func (r *Registry) ProjectMeta(ctx context.Context, connectionID, projectKey string, refresh bool) (ProjectMeta, error) {
	key := connectionID + "/" + projectKey
	r.mu.Lock()
	cached, ok := r.meta[key]
	r.mu.Unlock()
	if ok && !refresh && time.Since(cached.fetched) < r.cfg.MetaTTL {
		return ProjectMeta{Meta: cached.meta, Fields: cached.fields}, nil
	}
	client, err := r.Client(ctx, connectionID)
	if err != nil {
		return ProjectMeta{}, err
	}
	meta, fields, err := fetchMeta(ctx, client, projectKey)
	if err != nil {
		return ProjectMeta{}, err
	}
	r.mu.Lock()
	r.meta[key] = cachedMeta{meta: meta, fields: fields, fetched: time.Now()}
	r.mu.Unlock()
	return ProjectMeta{Meta: meta, Fields: fields}, nil
}

// fetchMeta reads createmeta (issue types and their fields), the project's
// statuses per issue type, the priorities its scheme allows, the site's
// resolutions and the field list.
func fetchMeta(ctx context.Context, c *jira.Client, projectKey string) (mapping.Meta, []jira.Field, error) {
	m := mapping.Meta{ProjectKey: projectKey, Statuses: map[string][]mapping.Status{}}
	types, err := c.CreateMetaIssueTypes(ctx, projectKey)
	if err != nil {
		return m, nil, Explain("read the issue types of "+projectKey, err)
	}
	for _, t := range types {
		fields, err := c.CreateMetaFields(ctx, projectKey, t.ID)
		if err != nil {
			return m, nil, Explain("read the fields of "+t.Name, err)
		}
		it := mapping.IssueType{ID: t.ID, Name: t.Name, Subtask: t.Subtask}
		for _, f := range fields {
			jf := mapping.JiraField{ID: f.FieldID, Name: f.Name, Required: f.Required, HasDefault: f.HasDefaultValue}
			if f.Schema != nil {
				jf.Schema = mapping.Schema{Type: f.Schema.Type, Items: f.Schema.Items, System: f.Schema.System, Custom: f.Schema.Custom}
			}
			for _, av := range f.AllowedValues {
				if f.FieldID == "security" {
					if _, seen := m.SecurityLevel(av.Name); !seen && av.ID != "" {
						m.SecurityLevels = append(m.SecurityLevels, mapping.SecurityLevel{ID: av.ID, Name: av.Name})
					}
				}
				switch {
				case av.Value != "":
					jf.AllowedValues = append(jf.AllowedValues, av.Value)
				case av.Name != "":
					jf.AllowedValues = append(jf.AllowedValues, av.Name)
				}
			}
			it.Fields = append(it.Fields, jf)
		}
		m.IssueTypes = append(m.IssueTypes, it)
	}
	statuses, err := c.ProjectStatuses(ctx, projectKey)
	if err != nil {
		return m, nil, Explain("read the statuses of "+projectKey, err)
	}
	for _, its := range statuses {
		for _, st := range its.Statuses {
			m.Statuses[its.Name] = append(m.Statuses[its.Name], mapping.Status{ID: st.ID, Name: st.Name, Category: st.Category.Key})
		}
	}
	// The project's priority scheme may allow only some of the site's
	// priorities: validation and the sync use what the project allows.
	project, err := c.Project(ctx, projectKey)
	if err != nil {
		return m, nil, Explain("read project "+projectKey, err)
	}
	prios, err := c.ProjectPriorities(ctx, project.ID)
	if err != nil {
		return m, nil, Explain("read the priorities of "+projectKey, err)
	}
	for _, p := range prios {
		m.Priorities = append(m.Priorities, p.Name)
	}
	// Resolutions, for transitions whose screen requires one (Data Center
	// moving to Done).
	res, err := c.Resolutions(ctx)
	if err != nil {
		return m, nil, Explain("read the resolutions", err)
	}
	for _, r := range res {
		m.Resolutions = append(m.Resolutions, r.Name)
	}
	fields, err := c.Fields(ctx)
	if err != nil {
		return m, nil, Explain("read the fields", err)
	}
	return m, fields, nil
}

// Explain turns a Jira failure into a domain error an admin can act on.
func Explain(what string, err error) error {
	var er *jira.ErrorResponse
	if errors.As(err, &er) {
		switch er.StatusCode {
		case http.StatusUnauthorized:
			return &tracker.Error{Kind: tracker.EUnprocessable, Message: "Jira refused the credentials (401) when trying to " + what,
				Fields: map[string]string{"auth": "Jira answered 401 Unauthorized: check the email and API token, or the personal access token"}}
		case http.StatusForbidden:
			return &tracker.Error{Kind: tracker.EUnprocessable, Message: "Jira forbade the service account to " + what + " (403)",
				Fields: map[string]string{"auth": "the account lacks permission"}}
		case http.StatusNotFound:
			return &tracker.Error{Kind: tracker.EUnprocessable, Message: "no Jira REST API at this URL (404 when trying to " + what + ")",
				Fields: map[string]string{"base_url": "check the site URL (and the context path on Data Center)"}}
		}
		return tracker.Errorf(tracker.EUnprocessable, "could not %s: %v", what, err)
	}
	if jira.IsRateLimited(err) {
		return tracker.Errorf(tracker.EUnavailable, "Jira is rate limiting us; try again shortly: %v", err)
	}
	return &tracker.Error{Kind: tracker.EUnprocessable, Message: "could not " + what + ": " + err.Error(),
		Fields: map[string]string{"base_url": "Jira did not answer at this URL"}}
}
