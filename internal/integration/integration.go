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
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/doctor"
	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"github.com/vulnsync/vulnsync/internal/vault"
)

// WebhookEvents are the Jira events vulnsync subscribes to.
var WebhookEvents = []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}

// Config wires the integration service. Everything it calls is given here:
// nothing is registered on it after it was built.
type Config struct {
	Tracker *service.Service
	// Connections is the runtime registry of Jira clients, metadata and
	// webhook secrets that the sync shares.
	Connections *jiraconn.Registry
	// PublicURL is the base of the webhook URL Jira calls.
	PublicURL string
	Logger    *slog.Logger
	// OnMappingSet runs after a mapping was accepted, with the
	// integration's id: the sync backfills and re-syncs. Nil does nothing.
	OnMappingSet func(ctx context.Context, integrationID string)
	// Audit records the admin actions in the audit log; nil records
	// nothing.
	Audit service.Auditor
	// Progress derives an integration's backfill progress (the sync
	// provides it from items and links); nil leaves it zero.
	Progress func(ctx context.Context, integrationID string) (tracker.BackfillProgress, error)
	// Queue counts an integration's waiting sync work (the sync provides
	// it); nil leaves it zero.
	Queue func(ctx context.Context, integrationID string) (store.PendingWork, error)
	// OnResume runs after a paused integration was resumed: the sync
	// drains what waited. Nil does nothing.
	OnResume func(ctx context.Context, integrationID string)
}

// Service implements the admin flow.
type Service struct {
	audit service.Auditor
	cfg   Config
	st    store.Store
	log   *slog.Logger
	conns *jiraconn.Registry
	vault *vault.Vault
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{cfg: cfg, st: cfg.Tracker.Store(), log: cfg.Logger, conns: cfg.Connections, vault: cfg.Connections.Vault(), audit: cfg.Audit}
	if s.audit == nil {
		s.audit = noAudit{}
	}
	return s
}

func (s *Service) now() time.Time { return s.cfg.Tracker.Now() }

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
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	BaseURL    string   `json:"base_url"`
	Deployment string   `json:"deployment"`
	Auth       AuthView `json:"auth"`
	Account    Account  `json:"account"`
	WebhookURL string   `json:"webhook_url"`
	// WebhookAuth is how deliveries are authenticated: "hmac" (signed by
	// Jira) or "token" (Jira does not sign: a token in the URL, and every
	// delivery is read back from Jira before it is applied).
	WebhookAuth tracker.WebhookAuth `json:"webhook_auth"`
	// WebhookAuthReason says why, for the admin.
	WebhookAuthReason string `json:"webhook_auth_reason"`
	// ServerVersion is the Jira version ("" on Cloud).
	ServerVersion     string    `json:"server_version"`
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
		WebhookURL:        s.webhookURL(c, maskedToken),
		WebhookAuth:       c.WebhookAuth,
		WebhookAuthReason: authReason(c),
		ServerVersion:     c.ServerVersion,
		WebhookSecretSet:  c.SealedWebhookSecret != "",
		WebhookRegistered: c.WebhookID != "",
		CreatedAt:         c.CreatedAt,
	}
}

// maskedToken stands for the URL token where the URL is shown after the
// moment it was generated: in token mode the URL is a credential.
const maskedToken = "********"

// webhookURL is the absolute URL Jira must call for a connection: in token
// mode it ends with the token (the webhook secret), shown as given.
func (s *Service) webhookURL(c store.Connection, token string) string {
	u := s.cfg.PublicURL + "/webhooks/jira/" + c.ID
	if c.WebhookAuth == tracker.WebhookToken {
		u += "/" + token
	}
	return u
}

// RevealedWebhookURL is a connection's webhook URL with its secret shown:
// in token mode the URL carries the secret, so where the secret is shown
// (right after it was generated) the whole URL is too.
func (s *Service) RevealedWebhookURL(v ConnectionView, secret string) string {
	return s.webhookURL(store.Connection{ID: v.ID, WebhookAuth: v.WebhookAuth}, secret)
}

// authReason explains the connection's webhook authentication.
func authReason(c store.Connection) string {
	if c.WebhookAuth == tracker.WebhookToken {
		return "Jira " + firstNonEmpty(c.ServerVersion, "Data Center") + " does not sign webhook deliveries (Data Center signs from 10.0): " +
			"the webhook URL carries a secret token, keep it secret; every delivery is only a notice, and vulnsync reads the issue from Jira before applying anything"
	}
	return "Jira signs every delivery with the webhook secret (X-Hub-Signature, HMAC-SHA256); unsigned or wrongly signed deliveries are refused"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// detectWebhookAuth asks the site which webhook API it has: a site that
// signs gets HMAC, one that does not gets a URL token.
func detectWebhookAuth(ctx context.Context, client *jira.Client) (tracker.WebhookAuth, string, error) {
	site, err := client.Site(ctx)
	if err != nil {
		return "", "", jiraconn.Explain("read the Jira version", err)
	}
	api, err := client.WebhookAPI(ctx)
	if err != nil {
		return "", "", jiraconn.Explain("find the webhook API", err)
	}
	version := ""
	if site.Deployment != jira.Cloud {
		version = site.Version.String()
	}
	if api.Signed {
		return tracker.WebhookHMAC, version, nil
	}
	return tracker.WebhookToken, version, nil
}

func normalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be the absolute http(s) URL of the Jira site, like https://acme.atlassian.net")
	}
	if u.User != nil {
		return "", errors.New("must not carry a user name or password (give the credentials under auth)")
	}
	if len(u.String()) > 2048 {
		return "", errors.New("must be at most 2048 characters")
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
	case jiraconn.AuthBasic:
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
	case jiraconn.AuthBearer:
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

// probe checks a site and credentials: serverInfo names the deployment,
// myself the service account. Failures are explained for people.
func probe(ctx context.Context, c *jira.Client) (jira.Deployment, *jira.User, error) {
	d, err := c.Deployment(ctx)
	if err != nil {
		return "", nil, jiraconn.Explain("reach Jira's serverInfo", err)
	}
	me, err := c.Myself(ctx)
	if err != nil {
		return "", nil, jiraconn.Explain("read the service account (myself)", err)
	}
	return d, me, nil
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
	client, err := s.conns.NewClient(in.BaseURL, auth, "")
	if err != nil {
		return ConnectionView{}, err
	}
	dep, me, err := probe(ctx, client)
	if err != nil {
		return ConnectionView{}, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	secret := in.Auth.APIToken
	if in.Auth.Type == jiraconn.AuthBearer {
		secret = in.Auth.Token
	}
	hookSecret := newSecret()
	mode, version, err := detectWebhookAuth(ctx, client)
	if err != nil {
		return ConnectionView{}, err
	}
	c := store.Connection{ID: id, Name: in.Name, BaseURL: in.BaseURL, Deployment: string(dep), AuthType: in.Auth.Type,
		Email: in.Auth.Email, AccountID: accountID(me), AccountName: me.DisplayName, WebhookAuth: mode, ServerVersion: version,
		CreatedAt: s.now(), UpdatedAt: s.now()}
	if c.SealedSecret, err = s.vault.Seal(secret, "connection:"+id); err != nil {
		return ConnectionView{}, err
	}
	if c.SealedWebhookSecret, err = s.vault.Seal(hookSecret, "webhook:"+id); err != nil {
		return ConnectionView{}, err
	}
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.CreateConnection(ctx, c) }); err != nil {
		return ConnectionView{}, fmt.Errorf("store connection: %w", err)
	}
	s.conns.Put(id, client)
	s.audit.Record(ctx, "connection.create", "connection:"+id, fmt.Sprintf("%q at %s as %s", c.Name, c.BaseURL, c.AccountName))
	v := s.view(c)
	v.WebhookSecret, v.WebhookURL = hookSecret, s.webhookURL(c, hookSecret)
	return v, nil
}

// ConnectionPatch changes a connection in place: its name, and its
// credentials (with, when the site moved, its new URL). Integrations,
// links and the registered webhook stay as they are.
type ConnectionPatch struct {
	Name    *string    `json:"name,omitempty"`
	BaseURL *string    `json:"base_url,omitempty"`
	Auth    *AuthInput `json:"auth,omitempty"`
}

// UpdateConnection replaces a connection's credentials (an expiring API
// token or PAT is rotated without tearing the integrations down) and
// renames it. New credentials are tested first: the site must answer
// myself with them, be the same kind of deployment, and — when the URL
// changes — be the same site (Cloud: the same cloud id from tenant_info;
// Data Center: the same base URL and title in serverInfo). Nothing changes
// on refusal. Credentials discarded by --reset-secrets also get a new
// webhook secret here, shown once, and a registered webhook is updated.
func (s *Service) UpdateConnection(ctx context.Context, id string, p ConnectionPatch) (ConnectionView, error) {
	c, err := s.connection(ctx, id)
	if err != nil {
		return ConnectionView{}, err
	}
	if p.Name == nil && p.BaseURL == nil && p.Auth == nil {
		return ConnectionView{}, tracker.Errorf(tracker.EInvalid, "nothing to change: give name, auth, or base_url with auth")
	}
	if p.BaseURL != nil && p.Auth == nil {
		return ConnectionView{}, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid connection",
			Fields: map[string]string{"auth": "a new base_url is tested with the credentials given with it"}}
	}
	in := ConnectionInput{Name: c.Name, BaseURL: c.BaseURL}
	if p.Name != nil {
		in.Name = *p.Name
	}
	if p.BaseURL != nil {
		in.BaseURL = *p.BaseURL
	}
	if p.Auth == nil {
		in.Auth = AuthInput{Type: jiraconn.AuthBearer, Token: "unchanged"} // only name and URL are checked
	} else {
		in.Auth = *p.Auth
	}
	auth, err := in.validate()
	if err != nil {
		return ConnectionView{}, err
	}
	next := c
	next.Name, next.UpdatedAt = in.Name, s.now()
	var client *jira.Client
	hookSecret := ""
	if p.Auth != nil {
		if client, err = s.conns.NewClient(in.BaseURL, auth, ""); err != nil {
			return ConnectionView{}, err
		}
		dep, me, err := probe(ctx, client)
		if err != nil {
			return ConnectionView{}, err
		}
		if string(dep) != c.Deployment {
			return ConnectionView{}, tracker.Errorf(tracker.EConflict, "these credentials reach a Jira %s site; the connection is to a Jira %s site", dep, c.Deployment)
		}
		if in.BaseURL != c.BaseURL {
			if err := s.sameSite(ctx, c, in.BaseURL, auth); err != nil {
				return ConnectionView{}, err
			}
		}
		secret := in.Auth.APIToken
		if in.Auth.Type == jiraconn.AuthBearer {
			secret = in.Auth.Token
		}
		next.BaseURL, next.AuthType, next.Email = in.BaseURL, in.Auth.Type, in.Auth.Email
		next.AccountID, next.AccountName = accountID(me), me.DisplayName
		if next.SealedSecret, err = s.vault.Seal(secret, "connection:"+c.ID); err != nil {
			return ConnectionView{}, err
		}
		if c.SealedWebhookSecret == "" {
			hookSecret = newSecret()
			if next.SealedWebhookSecret, err = s.vault.Seal(hookSecret, "webhook:"+c.ID); err != nil {
				return ConnectionView{}, err
			}
		}
	}
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.UpdateConnection(ctx, next) }); err != nil {
		return ConnectionView{}, fmt.Errorf("update connection %s: %w", id, err)
	}
	if client != nil {
		s.conns.Forget(id)
		s.conns.Put(id, client)
		s.conns.ForgetSecret(id)
		s.log.Info("connection credentials replaced", "connection", id, "account", next.AccountName)
	}
	what := "renamed"
	if client != nil {
		what = "credentials replaced (account " + next.AccountName + ")"
	}
	s.audit.Record(ctx, "connection.update", "connection:"+id, what)
	v := s.view(next)
	if hookSecret != "" {
		if next.WebhookID != "" {
			if _, err := s.RegisterWebhook(ctx, id); err != nil {
				return ConnectionView{}, fmt.Errorf("the credentials were replaced but updating the webhook in Jira to the new secret failed (retry \"Register in Jira\"): %w", err)
			}
		}
		v.WebhookSecret, v.WebhookURL = hookSecret, s.webhookURL(next, hookSecret)
	}
	return v, nil
}

// sameSite refuses a new URL that is another Jira site than the
// connection's: its integrations' issue ids mean nothing there.
func (s *Service) sameSite(ctx context.Context, c store.Connection, newURL string, auth jira.Auth) error {
	identity := func(base string) (string, error) {
		cl, err := s.conns.NewClient(base, auth, c.Deployment)
		if err != nil {
			return "", err
		}
		if c.Deployment == string(jira.Cloud) {
			return cl.CloudID(ctx)
		}
		info, err := cl.ServerInfo(ctx)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(info.BaseURL, "/") + " (" + info.ServerTitle + ")", nil
	}
	was, err := identity(c.BaseURL)
	if err != nil {
		return jiraconn.Explain("read the identity of the connection's site at "+c.BaseURL, err)
	}
	now, err := identity(newURL)
	if err != nil {
		return jiraconn.Explain("read the identity of the site at "+newURL, err)
	}
	if was != now {
		return tracker.Errorf(tracker.EConflict, "%s is another Jira site than the connection's (%s is %s, %s is %s): connect it as a new connection", newURL, c.BaseURL, was, newURL, now)
	}
	return nil
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
		cs, err = tx.ListConnections(ctx)
		return err
	})
	out := make([]ConnectionView, len(cs))
	for i, c := range cs {
		out[i] = s.view(c)
	}
	return out, err
}

func (s *Service) connection(ctx context.Context, id string) (store.Connection, error) {
	return s.conns.Connection(ctx, id)
}

// Connection returns one connection, credentials masked.
func (s *Service) Connection(ctx context.Context, id string) (ConnectionView, error) {
	c, err := s.connection(ctx, id)
	if err != nil {
		return ConnectionView{}, err
	}
	return s.view(c), nil
}

// Client returns the Jira client of a connection (shared with the sync).
func (s *Service) Client(ctx context.Context, connectionID string) (*jira.Client, error) {
	return s.conns.Client(ctx, connectionID)
}

// TestResult is the answer of "Test connection".
type TestResult struct {
	OK            bool                `json:"ok"`
	Deployment    string              `json:"deployment"`
	ServerVersion string              `json:"server_version"`
	Account       Account             `json:"account"`
	WebhookAuth   tracker.WebhookAuth `json:"webhook_auth"`
	// WebhookAuthReason says why deliveries are authenticated so.
	WebhookAuthReason string `json:"webhook_auth_reason"`
	// Checks are the read-only preflight of `vulnsync doctor` against the
	// site (and the first project integrated through the connection).
	Checks []doctor.Check `json:"checks"`
}

// TestConnection checks serverInfo and myself with the stored credentials,
// and follows a change of Jira version: a Data Center upgraded to 10 signs
// its deliveries, so the connection moves to HMAC (and a webhook vulnsync
// registered is registered again at the new API).
func (s *Service) TestConnection(ctx context.Context, id string) (TestResult, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	dep, me, err := probe(ctx, c)
	if err != nil {
		return TestResult{}, err
	}
	mode, version, err := detectWebhookAuth(ctx, c)
	if err != nil {
		return TestResult{}, err
	}
	conn, err := s.connection(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	if conn.WebhookAuth != mode || conn.ServerVersion != version {
		conn.WebhookAuth, conn.ServerVersion, conn.UpdatedAt = mode, version, s.now()
		if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.UpdateConnection(ctx, conn) }); err != nil {
			return TestResult{}, fmt.Errorf("record the connection's Jira version: %w", err)
		}
		if conn.WebhookID != "" {
			if _, err := s.RegisterWebhook(ctx, id); err != nil {
				return TestResult{}, err
			}
		}
	}
	keys, err := s.projectsOf(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	opts := doctor.Options{}
	if len(keys) > 0 {
		opts.ProjectKey = keys[0]
	}
	report := doctor.Run(ctx, c, opts)
	return TestResult{OK: true, Deployment: string(dep), ServerVersion: version, Account: Account{ID: accountID(me), Name: me.DisplayName},
		WebhookAuth: mode, WebhookAuthReason: authReason(conn), Checks: report.Checks}, nil
}

// WebhookSecret returns a connection's webhook secret in clear ("" when
// none is set).
func (s *Service) WebhookSecret(ctx context.Context, connectionID string) (string, error) {
	return s.conns.WebhookSecret(ctx, connectionID)
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
		if c, err = tx.GetConnection(ctx, connectionID); err != nil {
			return err
		}
		if c.SealedWebhookSecret, err = s.vault.Seal(secret, "webhook:"+c.ID); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		return tx.UpdateConnection(ctx, c)
	})
	if err != nil {
		return ConnectionView{}, fmt.Errorf("set webhook secret: %w", err)
	}
	s.conns.ForgetSecret(connectionID)
	if c.WebhookID != "" {
		if _, err := s.RegisterWebhook(ctx, connectionID); err != nil {
			return ConnectionView{}, fmt.Errorf("the secret changed but updating the webhook in Jira failed (retry \"Register in Jira\"): %w", err)
		}
	}
	s.audit.Record(ctx, "connection.webhook_secret", "connection:"+connectionID, "")
	v := s.view(c)
	v.WebhookSecret, v.WebhookURL = secret, s.webhookURL(c, secret)
	return v, nil
}

// DeleteConnection removes a connection that no integration uses, and the
// webhook it registered in Jira.
func (s *Service) DeleteConnection(ctx context.Context, id string) error {
	c, err := s.connection(ctx, id)
	if err != nil {
		return err
	}
	// Refuse before touching Jira: a connection in use keeps its webhook.
	keys, err := s.projectsOf(ctx, id)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return tracker.Errorf(tracker.EConflict, "connection %q is used by the integration of project(s) %s: remove those integrations first", c.Name, strings.Join(keys, ", "))
	}
	if c.WebhookID != "" {
		if client, err := s.Client(ctx, id); err == nil {
			if err := client.DeleteWebhook(ctx, c.WebhookID); err != nil && !jira.IsNotFound(err) {
				s.log.Warn("could not delete the webhook in Jira", "connection", id, "err", err)
			}
		}
	}
	err = s.st.InTx(ctx, func(tx store.Tx) error { return tx.DeleteConnection(ctx, id) })
	if err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	s.conns.Forget(id)
	s.audit.Record(ctx, "connection.delete", "connection:"+id, fmt.Sprintf("%q at %s", c.Name, c.BaseURL))
	return nil
}

// projectsOf lists the project keys integrated through a connection.
func (s *Service) projectsOf(ctx context.Context, connectionID string) ([]string, error) {
	var keys []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		ins, err := tx.ListIntegrations(ctx)
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
			return ConnectionView{}, jiraconn.Explain("delete the webhook", err)
		}
		c.WebhookID = ""
	} else {
		secret, err := s.WebhookSecret(ctx, connectionID)
		if err != nil {
			return ConnectionView{}, err
		}
		hook := jira.Webhook{Name: "vulnsync " + c.Name, URL: s.webhookURL(c, secret), Events: WebhookEvents, JQL: WebhookJQL(keys), Secret: secret}
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
			return ConnectionView{}, jiraconn.Explain("register the webhook", err)
		}
		c.WebhookID = got.ID
	}
	c.UpdatedAt = s.now()
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.UpdateConnection(ctx, c) }); err != nil {
		return ConnectionView{}, fmt.Errorf("record webhook registration: %w", err)
	}
	s.audit.Record(ctx, "connection.webhook", "connection:"+connectionID, "registered in Jira as "+firstNonEmpty(c.WebhookID, "(none: no integrated project)"))
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
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return d, &tracker.Error{Kind: tracker.EInvalid, Message: "malformed mapping document",
				Fields: map[string]string{typ.Field: tracker.JSONTypeMismatch(typ)}}
		}
		return d, tracker.Errorf(tracker.EInvalid, "malformed mapping document: %v", err)
	}
	d.Normalize()
	return d, nil
}

type noAudit struct{}

func (noAudit) Record(context.Context, string, string, string) {}
