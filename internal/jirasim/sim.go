package jirasim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Deployment selects which Jira the simulator plays.
type Deployment string

// The two deployments: Cloud serves REST v3 (ADF) and v2 (wiki) with Basic
// email:API-token auth and accountId users; Data Center serves v2 only with
// Bearer PATs and name/key users.
const (
	Cloud      Deployment = "cloud"
	DataCenter Deployment = "datacenter"
)

// Config configures a Simulator. The zero value is a Cloud site with a real
// clock and seed 0.
type Config struct {
	// Deployment is "cloud" (default) or "datacenter". It is overridden by
	// Profile when that is set: a profile implies its deployment.
	Deployment Deployment
	// Profile is the Jira version played: ProfileCloud, ProfileDC9 or
	// ProfileDC10. Empty derives it from Deployment (cloud → ProfileCloud,
	// datacenter → ProfileDC10, the newest Data Center).
	Profile Profile
	// MediaBaseURL is the base of the media host Cloud attachment content
	// redirects to (real Cloud redirects to api.media.atlassian.com). Empty
	// derives a second loopback host name from each request's Host
	// (127.0.0.1:P ↔ localhost:P), so a client that carries its
	// Authorization header across hosts is caught.
	MediaBaseURL string
	// BaseURL is the absolute base used in "self" links; if empty it is
	// derived from each request's Host.
	BaseURL string
	// Clock is used for every time decision (timestamps, Retry-After
	// windows, rate limits, manual webhook retry schedules) so tests can
	// drive time; default time.Now.
	Clock func() time.Time
	// Seed makes fault injection and webhook identifiers deterministic.
	Seed int64
	// MaxAttachmentBytes limits one attachment; default 10 MiB.
	MaxAttachmentBytes int64
	// Logger receives the simulator's logs; default discards them.
	Logger *slog.Logger
	// WebhookClient sends webhook deliveries; default a client with a 10 s
	// timeout.
	WebhookClient *http.Client
	// ManualWebhooks queues deliveries until DeliverWebhooks is called, so
	// tests decide exactly when (and in which clock state) they go out.
	ManualWebhooks bool
	// WebhookRetryBase is the first retry delay; each further retry doubles
	// it (default 200 ms; real Jira waits minutes, which no test can afford).
	WebhookRetryBase time.Duration
	// WebhookWorkers is the number of concurrent senders in automatic mode
	// (default 1, which keeps deliveries in order unless faults reorder them).
	WebhookWorkers int
}

// Simulator is an in-memory Jira. It implements http.Handler and is safe for
// concurrent requests.
type Simulator struct {
	cfg   Config
	clock func() time.Time
	log   *slog.Logger
	dc    bool
	// profile is cfg.Profile, never empty.
	profile Profile
	// searchLag (a time.Duration) hides recently created issues from
	// search; see SetSearchLag.
	searchLag atomic.Int64
	// mediaKey signs the short-lived tokens of Cloud media URLs.
	mediaKey []byte
	// cloudID identifies this site, as a real Cloud site's cloud id does
	// (GET /_edge/tenant_info): each simulator is another site.
	cloudID string
	users   []*user

	mu          sync.RWMutex
	issues      map[int64]*issue
	byKey       map[string]*issue
	order       []*issue // creation order, deleted ones removed lazily
	nextIssueID int64
	nextNum     map[string]int // per project key
	nextComment int64
	nextHistory int64
	nextAttach  int64
	nextLinkID  int64 // issue links (links.go)
	attachments map[int64]*attachment
	hooks       map[int64]*webhookReg
	nextHook    int64
	// version counts write-locked sections; rendered issues cached under
	// an older version are stale.
	version uint64

	cacheMu sync.Mutex
	cache   map[string]cachedRender

	ctl  *control
	wh   *dispatcher
	cond conditions
}

// New builds a Simulator with the seed data of PRODUCT.md §5.
func New(cfg Config) *Simulator {
	if cfg.Profile == "" {
		cfg.Profile = defaultProfile(cfg.Deployment)
	}
	cfg.Deployment = cfg.Profile.Deployment()
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = 10 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.WebhookRetryBase <= 0 {
		cfg.WebhookRetryBase = 200 * time.Millisecond
	}
	if cfg.WebhookWorkers <= 0 {
		cfg.WebhookWorkers = 1
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.MediaBaseURL = strings.TrimRight(cfg.MediaBaseURL, "/")
	s := &Simulator{
		cfg:         cfg,
		profile:     cfg.Profile,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		dc:          cfg.Deployment == DataCenter,
		users:       seedUsers(),
		issues:      map[int64]*issue{},
		byKey:       map[string]*issue{},
		nextIssueID: 10000,
		nextNum:     map[string]int{},
		nextComment: 10000,
		nextHistory: 10100,
		nextAttach:  10000,
		attachments: map[int64]*attachment{},
		hooks:       map[int64]*webhookReg{},
		nextHook:    1,
		cache:       map[string]cachedRender{},
	}
	s.mediaKey = []byte(fmt.Sprintf("jirasim-media-%d", cfg.Seed))
	s.cloudID = rand.Text()
	s.ctl = newControl(cfg.Seed)
	s.wh = newDispatcher(s, cfg)
	return s
}

// Close stops webhook delivery. Queued deliveries are abandoned.
func (s *Simulator) Close() { s.wh.close() }

// SetFaults replaces the injected faults, like POST /_sim/faults.
func (s *Simulator) SetFaults(f Faults) {
	s.ctl.setFaults(f)
	s.wh.setFaults(f)
}

// Counters returns what the simulator counted, like GET /_sim/counters.
func (s *Simulator) Counters() Counters {
	c := s.ctl.counters()
	c.Webhooks = s.wh.counters()
	return c
}

// Reset clears faults, counters and rate-limit state and re-seeds the fault
// generator; issues, comments and webhooks are kept. Like POST /_sim/reset.
func (s *Simulator) Reset() {
	s.ctl.reset()
	s.wh.reset()
}

// DeliverWebhooks sends every delivery that is due now (by the simulator's
// clock), honouring drop/duplicate/reorder faults, and returns how many
// sends it attempted. Failed retryable deliveries are re-queued with
// exponential backoff on the same clock. It is meant for ManualWebhooks.
func (s *Simulator) DeliverWebhooks(ctx context.Context) int { return s.wh.deliverDue(ctx) }

// WaitIdle blocks until no webhook delivery is queued or in flight, or ctx
// ends.
func (s *Simulator) WaitIdle(ctx context.Context) error { return s.wh.waitIdle(ctx) }

// lockWrite takes the data lock for a change. Every change bumps the
// version, which invalidates all cached renderings at once: a change to one
// issue can show in others (a sub-task's status in its parent's subtasks).
func (s *Simulator) lockWrite() {
	s.mu.Lock()
	s.version++
}

// cachedRender is an issue answer rendered at a data version.
type cachedRender struct {
	version uint64
	body    []byte
}

// maxCached bounds the render cache; it is emptied when full.
const maxCached = 4096

// cachedIssue returns the rendering cached under key at the current
// version; the caller holds s.mu for reading.
func (s *Simulator) cachedIssue(key string) ([]byte, bool) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c, ok := s.cache[key]
	if !ok || c.version != s.version {
		return nil, false
	}
	return c.body, true
}

// storeIssue caches a rendering; the caller holds s.mu for reading.
func (s *Simulator) storeIssue(key string, body []byte) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[key] = cachedRender{version: s.version, body: body}
}

// request is one REST call being served.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	params map[string]string
	api    int
	user   *user
	view   view
	now    time.Time
}

func (s *Simulator) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP serves Jira's REST API, the webhook registration API, the
// /_sim/ control API and the pages a person uses from a browser
// (/projects/{key}, /browse/{key}).
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	if !s.dc && strings.HasPrefix(r.URL.Path, mediaPrefix) {
		s.serveMedia(w, r)
		return
	}
	if isPagePath(r.URL.Path) {
		s.servePages(w, r)
		return
	}
	rt, params, api, code := s.match(r.Method, r.URL.Path)
	key := r.Method + " (unmatched)"
	if rt != nil {
		key = r.Method + " " + strings.Replace(rt.pattern, "{v}", strconv.Itoa(api), 1)
	}
	now := s.clock()
	client := clientID(r)
	issueScope := ""
	if rt != nil && rt.issueScoped {
		issueScope = s.issueScope(params["issueIdOrKey"])
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	s.ctl.arrive(key, client, issueScope, write, now)
	if d := s.ctl.latency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if rt == nil {
		if code == http.StatusMethodNotAllowed {
			writeJSON(w, code, errorBody(nil, nil))
			return
		}
		s.notFoundURI(w, r)
		return
	}
	rq := &request{w: w, r: r, params: params, api: api, now: now}
	rq.view = view{base: s.baseURL(r), api: api, dc: s.dc}
	if rt.auth {
		u := s.authenticate(r)
		if u == nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
			if s.dc {
				w.Header().Set("WWW-Authenticate", `Bearer realm="Jira"`)
			}
			writeJSON(w, http.StatusUnauthorized, errorBody([]string{"You are not authenticated. Authentication required to perform this operation."}, nil))
			return
		}
		rq.user = u
	}
	if d := s.ctl.decide(key, client, issueScope, write, now); d != nil {
		d.write(w, now)
		return
	}
	rt.handler(s, rq)
}

// issueScope resolves the issue a request is about, for per-issue rate
// limits; unknown issues get their path value as scope.
func (s *Simulator) issueScope(idOrKey string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if is := s.lookupIssue(idOrKey); is != nil {
		return strconv.FormatInt(is.ID, 10)
	}
	return idOrKey
}

// clientID identifies a client for Retry-After bookkeeping: its credentials
// if it sent any, else its address.
func clientID(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		return a
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return host
}

// authenticate returns the caller: on Cloud, Basic email:API-token; on Data
// Center, a Bearer PAT (Basic is refused, as Data Center 11 does by default).
func (s *Simulator) authenticate(r *http.Request) *user {
	h := r.Header.Get("Authorization")
	s.mu.RLock() // credentials can be rotated (RotateCredentials)
	defer s.mu.RUnlock()
	if s.dc {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return nil
		}
		for _, u := range s.users {
			if u.PAT == tok {
				return u
			}
		}
		return nil
	}
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return nil
	}
	email, token, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) && u.APIToken == token {
			return u
		}
	}
	return nil
}

// RotateCredentials gives a user a new API token and PAT, as a person
// does when a token expires or leaks: the old ones stop working at once.
// It returns the new API token (Cloud) and PAT (Data Center).
func (s *Simulator) RotateCredentials(username string) (apiToken, pat string) {
	s.lockWrite()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Name == username {
			u.APIToken, u.PAT = "tok-"+rand.Text(), "pat-"+rand.Text()
			return u.APIToken, u.PAT
		}
	}
	return "", ""
}

// userByRef finds a user by the identifier the deployment uses in request
// bodies: accountId on Cloud, name (or key) on Data Center.
func (s *Simulator) userByRef(accountID, name, key string) *user {
	for _, u := range s.users {
		if s.dc {
			if (name != "" && u.Name == name) || (key != "" && u.Key == key) {
				return u
			}
		} else if accountID != "" && u.AccountID == accountID {
			return u
		}
	}
	return nil
}

// errorBody is Jira's error shape.
func errorBody(messages []string, fields map[string]string) map[string]any {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	return map[string]any{"errorMessages": messages, "errors": fields}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func (rq *request) json(code int, v any) { writeJSON(rq.w, code, v) }

func (rq *request) fail(code int, messages ...string) {
	writeJSON(rq.w, code, errorBody(messages, nil))
}

func (rq *request) failFields(code int, fields map[string]string) {
	writeJSON(rq.w, code, errorBody(nil, fields))
}

func (rq *request) noContent() { rq.w.WriteHeader(http.StatusNoContent) }

// notFoundURI answers a path no route serves the way Jira's REST layer
// does.
func (s *Simulator) notFoundURI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"message":     "null for uri: " + s.baseURL(r) + r.URL.RequestURI(),
		"status-code": http.StatusNotFound,
	})
}

// maxJSONBody limits request bodies other than attachments.
const maxJSONBody = 1 << 20

var errBodyTooLarge = errors.New("request body too large")

// body reads the request body up to maxJSONBody.
func (rq *request) body() ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(rq.r.Body, maxJSONBody+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) > maxJSONBody {
		return nil, errBodyTooLarge
	}
	return b, nil
}

// decode reads a JSON body into v, answering 400/413 itself when it cannot;
// it reports whether the caller may go on.
func (rq *request) decode(v any) bool {
	b, err := rq.body()
	if errors.Is(err, errBodyTooLarge) {
		rq.fail(http.StatusRequestEntityTooLarge, "The request body is too large.")
		return false
	}
	if err != nil {
		rq.fail(http.StatusBadRequest, "Invalid request payload. Refer to the REST API documentation and try again.")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		rq.fail(http.StatusBadRequest, "Invalid request payload. Refer to the REST API documentation and try again.")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		rq.fail(http.StatusBadRequest, "Invalid request payload. Refer to the REST API documentation and try again.")
		return false
	}
	return true
}

// queryList returns a multi-valued, comma-separated query parameter.
func (rq *request) queryList(name string) []string {
	var out []string
	for _, v := range rq.r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (rq *request) queryInt(name string, def, max int) (int, bool) {
	v := rq.r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		rq.fail(http.StatusBadRequest, fmt.Sprintf("The '%s' parameter must be a non-negative integer.", name))
		return 0, false
	}
	if max > 0 && n > max {
		n = max
	}
	return n, true
}

func hasExpand(values []string, what string) bool {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == what {
				return true
			}
		}
	}
	return false
}
