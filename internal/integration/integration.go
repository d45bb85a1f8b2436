// Package integration owns the admin's Jira setup (PRODUCT.md §2):
// connections (credentials sealed by the vault, tested against serverInfo
// and myself), integrations of targets with Jira projects under the one
// project ↔ one target rule, mapping documents validated against the
// project's metadata, and the webhook each connection receives (its URL,
// its secret, and its registration in Jira scoped to the mapped projects).
package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"github.com/vulnsync/vulnsync/internal/vault"
)

// Integration states.
const (
	StateNeedsMapping = "needs_mapping"
	StateActive       = "active"
	StatePaused       = "paused"
)

// Auth types of a connection.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// WebhookEvents are the Jira events vulnsync subscribes to.
var WebhookEvents = []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}

// Config wires the integration service.
type Config struct {
	Tracker *service.Service
	Vault   *vault.Vault
	// PublicURL is the base of the webhook URL Jira calls.
	PublicURL string
	Logger    *slog.Logger
	// HTTPClient is used by the Jira clients (tests inject validating
	// transports).
	HTTPClient *http.Client
	// JiraConfig, when set, adjusts each Jira client's configuration
	// (clocks, limits) before it is created.
	JiraConfig func(*jira.Config)
	// MetaTTL is how long Jira project metadata is cached; default 10 min.
	MetaTTL time.Duration
}

// Service implements the admin flow.
type Service struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	mu      sync.Mutex
	clients map[string]*jira.Client // per connection: pacing state is per connection
	meta    map[string]cachedMeta   // per connection + project
	secrets map[string]cachedSecret // webhook secrets in clear, briefly
	// mappingHooks run after a mapping was accepted (the sync backfills).
	mappingHooks []func(ctx context.Context, integrationID string)
	// progress derives an integration's backfill progress (the sync
	// provides it); nil leaves it zero.
	progress func(ctx context.Context, integrationID string) (Progress, error)
}

// SetProgress registers how an integration's backfill progress is derived
// (from the items and their links, by the sync).
func (s *Service) SetProgress(f func(ctx context.Context, integrationID string) (Progress, error)) {
	s.progress = f
}

// AddMappingHook registers f to run after each accepted mapping, with the
// integration's id. The sync uses it to backfill and re-sync.
func (s *Service) AddMappingHook(f func(ctx context.Context, integrationID string)) {
	s.mappingHooks = append(s.mappingHooks, f)
}

type cachedMeta struct {
	meta    mapping.Meta
	fields  []jira.Field
	fetched time.Time
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MetaTTL <= 0 {
		cfg.MetaTTL = 10 * time.Minute
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, st: cfg.Tracker.Store(), log: cfg.Logger, clients: map[string]*jira.Client{}, meta: map[string]cachedMeta{}, secrets: map[string]cachedSecret{}}
}

func (s *Service) now() time.Time { return s.cfg.Tracker.Now() }

// itx runs fn with the transaction's integration methods.
func itx(tx store.Tx) store.IntegrationTx { return tx.(store.IntegrationTx) }

// --- Connections -------------------------------------------------------------

// AuthInput is the credentials part of a connection request.
type AuthInput struct {
	Type     string `json:"type"`
	Email    string `json:"email,omitempty"`
	APIToken string `json:"api_token,omitempty"`
	Token    string `json:"token,omitempty"`
}

// ConnectionInput is what an admin supplies to connect Jira.
type ConnectionInput struct {
	Name    string    `json:"name"`
	BaseURL string    `json:"base_url"`
	Auth    AuthInput `json:"auth"`
}

// AuthView shows credentials masked.
type AuthView struct {
	Type  string `json:"type"`
	Email string `json:"email,omitempty"`
	// Secret is always masked: it says a secret is stored, never what.
	Secret string `json:"secret"`
}

// Account is the Jira service account a connection acts as.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ConnectionView is a connection as the API shows it. WebhookSecret is only
// filled when the secret was just generated or rotated.
type ConnectionView struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	BaseURL           string    `json:"base_url"`
	Deployment        string    `json:"deployment"`
	Auth              AuthView  `json:"auth"`
	Account           Account   `json:"account"`
	WebhookURL        string    `json:"webhook_url"`
	WebhookSecret     string    `json:"webhook_secret,omitempty"`
	WebhookSecretSet  bool      `json:"webhook_secret_set"`
	WebhookRegistered bool      `json:"webhook_registered"`
	CreatedAt         time.Time `json:"created_at"`
}

func (s *Service) view(c store.Connection) ConnectionView {
	return ConnectionView{
		ID: c.ID, Name: c.Name, BaseURL: c.BaseURL, Deployment: c.Deployment,
		Auth:              AuthView{Type: c.AuthType, Email: c.Email, Secret: "********"},
		Account:           Account{ID: c.AccountID, Name: c.AccountName},
		WebhookURL:        s.WebhookURL(c.ID),
		WebhookSecretSet:  c.SealedWebhookSecret != "",
		WebhookRegistered: c.WebhookID != "",
		CreatedAt:         c.CreatedAt,
	}
}

// WebhookURL is the absolute URL Jira must call for a connection.
func (s *Service) WebhookURL(connectionID string) string {
	return s.cfg.PublicURL + "/webhooks/jira/" + connectionID
}

func normalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be the absolute http(s) URL of the Jira site, like https://acme.atlassian.net")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

func (in *ConnectionInput) validate() (jira.Auth, error) {
	p := tracker.Problems{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		p.Add("name", "must be 1 to 200 characters")
	}
	base, err := normalizeBaseURL(in.BaseURL)
	if err != nil {
		p.Add("base_url", "%s", err.Error())
	}
	in.BaseURL = base
	var auth jira.Auth
	switch in.Auth.Type {
	case AuthBasic:
		if !strings.Contains(in.Auth.Email, "@") {
			p.Add("auth.email", "basic auth needs the email of the Jira account")
		}
		if in.Auth.APIToken == "" {
			p.Add("auth.api_token", "basic auth needs an API token")
		}
		if in.Auth.Token != "" {
			p.Add("auth.token", "token is for bearer auth; basic auth takes api_token")
		}
		auth = jira.BasicAuth{Email: in.Auth.Email, APIToken: in.Auth.APIToken}
	case AuthBearer:
		if in.Auth.Token == "" {
			p.Add("auth.token", "bearer auth needs a personal access token")
		}
		if in.Auth.Email != "" || in.Auth.APIToken != "" {
			p.Add("auth.type", "bearer auth takes only token")
		}
		auth = jira.BearerAuth{Token: in.Auth.Token}
	default:
		p.Add("auth.type", `must be "basic" (Jira Cloud: email and API token) or "bearer" (Data Center: personal access token)`)
	}
	return auth, p.Err(tracker.EInvalid, "invalid connection")
}

func (s *Service) newClient(baseURL string, auth jira.Auth, deployment string) (*jira.Client, error) {
	cfg := jira.Config{BaseURL: baseURL, Auth: auth, HTTPClient: s.cfg.HTTPClient, Logger: s.log, Deployment: jira.Deployment(deployment)}
	if s.cfg.JiraConfig != nil {
		s.cfg.JiraConfig(&cfg)
	}
	c, err := jira.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("jira client: %w", err)
	}
	return c, nil
}

// probe checks a site and credentials: serverInfo names the deployment,
// myself the service account. Failures are explained for people.
func probe(ctx context.Context, c *jira.Client) (jira.Deployment, *jira.User, error) {
	d, err := c.Deployment(ctx)
	if err != nil {
		return "", nil, explain("reach Jira's serverInfo", err)
	}
	me, err := c.Myself(ctx)
	if err != nil {
		return "", nil, explain("read the service account (myself)", err)
	}
	return d, me, nil
}

// explain turns a Jira failure into an error an admin can act on.
func explain(what string, err error) error {
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

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateConnection tests the credentials against Jira, stores the
// connection with its secrets sealed, and returns it with the newly
// generated webhook secret (shown this once).
func (s *Service) CreateConnection(ctx context.Context, in ConnectionInput) (ConnectionView, error) {
	auth, err := in.validate()
	if err != nil {
		return ConnectionView{}, err
	}
	client, err := s.newClient(in.BaseURL, auth, "")
	if err != nil {
		return ConnectionView{}, err
	}
	dep, me, err := probe(ctx, client)
	if err != nil {
		return ConnectionView{}, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	secret := in.Auth.APIToken
	if in.Auth.Type == AuthBearer {
		secret = in.Auth.Token
	}
	hookSecret := newSecret()
	c := store.Connection{ID: id, Name: in.Name, BaseURL: in.BaseURL, Deployment: string(dep), AuthType: in.Auth.Type,
		Email: in.Auth.Email, AccountID: accountID(me), AccountName: me.DisplayName, CreatedAt: s.now(), UpdatedAt: s.now()}
	if c.SealedSecret, err = s.cfg.Vault.Seal(secret, "connection:"+id); err != nil {
		return ConnectionView{}, err
	}
	if c.SealedWebhookSecret, err = s.cfg.Vault.Seal(hookSecret, "webhook:"+id); err != nil {
		return ConnectionView{}, err
	}
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return itx(tx).CreateConnection(ctx, c) }); err != nil {
		return ConnectionView{}, fmt.Errorf("store connection: %w", err)
	}
	s.mu.Lock()
	s.clients[id] = client
	s.mu.Unlock()
	v := s.view(c)
	v.WebhookSecret = hookSecret
	return v, nil
}

func accountID(u *jira.User) string {
	if u.AccountID != "" {
		return u.AccountID
	}
	if u.Key != "" {
		return u.Key
	}
	return u.Name
}

// Connections lists the connections, credentials masked.
func (s *Service) Connections(ctx context.Context) ([]ConnectionView, error) {
	var cs []store.Connection
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		cs, err = itx(tx).ListConnections(ctx)
		return err
	})
	out := make([]ConnectionView, len(cs))
	for i, c := range cs {
		out[i] = s.view(c)
	}
	return out, err
}

func (s *Service) connection(ctx context.Context, id string) (c store.Connection, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { c, err = itx(tx).GetConnection(ctx, id); return err })
	return c, err
}

// Connection returns one connection, credentials masked.
func (s *Service) Connection(ctx context.Context, id string) (ConnectionView, error) {
	c, err := s.connection(ctx, id)
	if err != nil {
		return ConnectionView{}, err
	}
	return s.view(c), nil
}

// Client returns the Jira client of a connection (one per connection and
// process, so pacing and Retry-After are shared by everything using it).
func (s *Service) Client(ctx context.Context, connectionID string) (*jira.Client, error) {
	s.mu.Lock()
	c, ok := s.clients[connectionID]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	conn, err := s.connection(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	secret, err := s.cfg.Vault.Open(conn.SealedSecret, "connection:"+conn.ID)
	if err != nil {
		return nil, fmt.Errorf("open credentials of connection %s: %w", conn.ID, err)
	}
	var auth jira.Auth = jira.BearerAuth{Token: secret}
	if conn.AuthType == AuthBasic {
		auth = jira.BasicAuth{Email: conn.Email, APIToken: secret}
	}
	c, err = s.newClient(conn.BaseURL, auth, conn.Deployment)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.clients[connectionID]; ok {
		return existing, nil
	}
	s.clients[connectionID] = c
	return c, nil
}

// TestResult is the answer of "Test connection".
type TestResult struct {
	OK         bool    `json:"ok"`
	Deployment string  `json:"deployment"`
	Account    Account `json:"account"`
}

// TestConnection checks serverInfo and myself with the stored credentials.
func (s *Service) TestConnection(ctx context.Context, id string) (TestResult, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	dep, me, err := probe(ctx, c)
	if err != nil {
		return TestResult{}, err
	}
	return TestResult{OK: true, Deployment: string(dep), Account: Account{ID: accountID(me), Name: me.DisplayName}}, nil
}

// WebhookSecret returns a connection's webhook secret in clear, for the
// receiver's signature check ("" when none is set).
func (s *Service) WebhookSecret(ctx context.Context, connectionID string) (string, error) {
	c, err := s.connection(ctx, connectionID)
	if err != nil || c.SealedWebhookSecret == "" {
		return "", err
	}
	return s.cfg.Vault.Open(c.SealedWebhookSecret, "webhook:"+c.ID)
}

// secretTTL bounds how long a webhook secret is trusted from memory; a
// secret rotated by another replica is picked up at the latest then, and
// at once when a delivery fails to verify against the cached one.
const secretTTL = 10 * time.Second

type cachedSecret struct {
	secret  string
	fetched time.Time
}

// VerifyWebhook checks a delivery's X-Hub-Signature against the
// connection's webhook secret over the raw body (G10). The secret is
// cached briefly so the receiver does not read and decrypt it for every
// delivery; a failed check re-reads it once before refusing.
func (s *Service) VerifyWebhook(ctx context.Context, connectionID, signature string, body []byte) error {
	s.mu.Lock()
	c, ok := s.secrets[connectionID]
	s.mu.Unlock()
	fresh := ok && time.Since(c.fetched) < secretTTL
	if fresh && c.secret != "" && jirahook.Verify([]byte(c.secret), signature, body) == nil {
		return nil
	}
	secret, err := s.WebhookSecret(ctx, connectionID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.secrets[connectionID] = cachedSecret{secret: secret, fetched: time.Now()}
	s.mu.Unlock()
	if secret == "" {
		return jirahook.ErrBadSignature
	}
	return jirahook.Verify([]byte(secret), signature, body)
}

// SetWebhookSecret rotates the secret (secret == "": a new one is
// generated) or sets the one Jira generated, and shows it once. A webhook
// vulnsync registered in Jira is updated to the new secret.
func (s *Service) SetWebhookSecret(ctx context.Context, connectionID, secret string) (ConnectionView, error) {
	if secret == "" {
		secret = newSecret()
	} else if len(secret) < 16 || len(secret) > 512 {
		return ConnectionView{}, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid webhook secret", Fields: map[string]string{"secret": "must be 16 to 512 characters"}}
	}
	var c store.Connection
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if c, err = itx(tx).GetConnection(ctx, connectionID); err != nil {
			return err
		}
		if c.SealedWebhookSecret, err = s.cfg.Vault.Seal(secret, "webhook:"+c.ID); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		return itx(tx).UpdateConnection(ctx, c)
	})
	if err != nil {
		return ConnectionView{}, fmt.Errorf("set webhook secret: %w", err)
	}
	s.mu.Lock()
	delete(s.secrets, connectionID)
	s.mu.Unlock()
	if c.WebhookID != "" {
		if _, err := s.RegisterWebhook(ctx, connectionID); err != nil {
			return ConnectionView{}, fmt.Errorf("the secret changed but updating the webhook in Jira failed (retry \"Register in Jira\"): %w", err)
		}
	}
	v := s.view(c)
	v.WebhookSecret = secret
	return v, nil
}

// DeleteConnection removes a connection that no integration uses, and the
// webhook it registered in Jira.
func (s *Service) DeleteConnection(ctx context.Context, id string) error {
	c, err := s.connection(ctx, id)
	if err != nil {
		return err
	}
	if c.WebhookID != "" {
		if client, err := s.Client(ctx, id); err == nil {
			if err := client.DeleteWebhook(ctx, c.WebhookID); err != nil && !jira.IsNotFound(err) {
				s.log.Warn("could not delete the webhook in Jira", "connection", id, "err", err)
			}
		}
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error { return itx(tx).DeleteConnection(ctx, id) })
	if err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	s.mu.Lock()
	delete(s.clients, id)
	delete(s.secrets, id)
	s.mu.Unlock()
	return nil
}

// projectsOf lists the project keys integrated through a connection.
func (s *Service) projectsOf(ctx context.Context, connectionID string) ([]string, error) {
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		ins, err := itx(tx).ListIntegrations(ctx)
		for _, in := range ins {
			if in.ConnectionID == connectionID {
				keys = append(keys, in.ProjectKey)
			}
		}
		return err
	})
	sort.Strings(keys)
	return keys, err
}

// WebhookJQL is the filter of the registered webhook: the mapped projects.
func WebhookJQL(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = `"` + k + `"`
	}
	return "project in (" + strings.Join(quoted, ", ") + ")"
}

// RegisterWebhook registers (or updates) the admin webhook in Jira for the
// connection: vulnsync's URL, the issue and comment events, the secret, and
// JQL limited to the integrated projects. With no project left, a webhook
// vulnsync registered is deleted.
func (s *Service) RegisterWebhook(ctx context.Context, connectionID string) (ConnectionView, error) {
	c, err := s.connection(ctx, connectionID)
	if err != nil {
		return ConnectionView{}, err
	}
	keys, err := s.projectsOf(ctx, connectionID)
	if err != nil {
		return ConnectionView{}, err
	}
	client, err := s.Client(ctx, connectionID)
	if err != nil {
		return ConnectionView{}, err
	}
	if len(keys) == 0 {
		if c.WebhookID == "" {
			return ConnectionView{}, tracker.Errorf(tracker.EUnprocessable, "integrate a target with a Jira project first: the webhook is scoped to the integrated projects")
		}
		if err := client.DeleteWebhook(ctx, c.WebhookID); err != nil && !jira.IsNotFound(err) {
			return ConnectionView{}, explain("delete the webhook", err)
		}
		c.WebhookID = ""
	} else {
		secret, err := s.WebhookSecret(ctx, connectionID)
		if err != nil {
			return ConnectionView{}, err
		}
		hook := jira.Webhook{Name: "vulnsync " + c.Name, URL: s.WebhookURL(c.ID), Events: WebhookEvents, JQL: WebhookJQL(keys), Secret: secret}
		var got *jira.Webhook
		if c.WebhookID != "" {
			got, err = client.UpdateWebhook(ctx, c.WebhookID, hook)
			if jira.IsNotFound(err) { // deleted in Jira by someone: register anew
				got, err = client.RegisterWebhook(ctx, hook)
			}
		} else {
			got, err = client.RegisterWebhook(ctx, hook)
		}
		if err != nil {
			return ConnectionView{}, explain("register the webhook", err)
		}
		c.WebhookID = got.ID
	}
	c.UpdatedAt = s.now()
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return itx(tx).UpdateConnection(ctx, c) }); err != nil {
		return ConnectionView{}, fmt.Errorf("record webhook registration: %w", err)
	}
	return s.view(c), nil
}

// refreshWebhook keeps a registered webhook's JQL in step with the
// integrations; failures are logged, the admin can register again.
func (s *Service) refreshWebhook(ctx context.Context, connectionID string) {
	c, err := s.connection(ctx, connectionID)
	if err != nil || c.WebhookID == "" {
		return
	}
	if _, err := s.RegisterWebhook(ctx, connectionID); err != nil {
		s.log.Warn("could not update the webhook's JQL in Jira", "connection", connectionID, "err", err)
	}
}

// decodeMapping parses a mapping document strictly.
func decodeMapping(raw json.RawMessage) (mapping.Document, error) {
	var d mapping.Document
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, tracker.Errorf(tracker.EInvalid, "malformed mapping document: %v", err)
	}
	d.Normalize()
	return d, nil
}
