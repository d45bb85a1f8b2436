// Package jira is vulnsync's Jira REST client. One Client speaks to Jira
// Cloud (REST v3, rich text as ADF, Basic auth with an API token) and Jira
// Data Center (REST v2, wiki markup, bearer PAT) through the same typed
// methods, with Markdown as the rich-text format on its public side.
//
// It exists (rather than a third-party client) to own what the sync's
// guarantees depend on: nothing is sent before a received Retry-After has
// passed (a "not before" instant per connection and per issue), writes are
// paced per endpoint and per issue, rate limits surface as typed errors, and
// an issue create whose outcome is unknown is reported as such instead of
// being retried into a duplicate (G1, G9).
package jira

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Deployment says which Jira a connection talks to; it decides the REST
// version, the rich-text format and the pagination style.
type Deployment string

// The deployments vulnsync supports.
const (
	// Cloud is Jira Cloud: REST v3, ADF, Basic auth, users by accountId.
	Cloud Deployment = "cloud"
	// DataCenter is Jira Data Center (or Server): REST v2, wiki markup,
	// bearer PATs, users by name/key.
	DataCenter Deployment = "datacenter"
)

// Auth puts credentials on a request. The implementations redact
// themselves when printed or logged.
type Auth interface {
	authorize(h http.Header)
	String() string
}

// BasicAuth is Jira Cloud's email + API token.
type BasicAuth struct {
	Email    string
	APIToken string
}

func (a BasicAuth) authorize(h http.Header) {
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Email+":"+a.APIToken)))
}

// String shows the email only, so credentials cannot leak through %v.
func (a BasicAuth) String() string { return "basic(" + a.Email + ", token redacted)" }

// LogValue keeps the token out of structured logs.
func (a BasicAuth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// BearerAuth is a Jira Data Center personal access token.
type BearerAuth struct {
	Token string
}

func (a BearerAuth) authorize(h http.Header) { h.Set("Authorization", "Bearer "+a.Token) }

// String never shows the token.
func (a BearerAuth) String() string { return "bearer(token redacted)" }

// LogValue keeps the token out of structured logs.
func (a BearerAuth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// Config configures a Client. Only BaseURL and Auth are required.
type Config struct {
	// BaseURL is the site, e.g. https://acme.atlassian.net or
	// https://jira.example.com/jira (a context path is kept).
	BaseURL string
	Auth    Auth
	// HTTPClient defaults to a client without its own timeout (the
	// client's deadlines apply).
	HTTPClient *http.Client
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
	// Deployment, when empty, is detected from GET /rest/api/2/serverInfo
	// ("Cloud" → cloud, anything else → datacenter) on first use.
	Deployment Deployment
	// Clock and Sleep drive every wait (pacing, Retry-After, backoff);
	// tests inject a fake clock so they never wait.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a duration in [0, max); defaults to uniform random.
	Jitter func(max time.Duration) time.Duration
	// MaxConcurrency bounds requests in flight on this connection
	// (default 8).
	MaxConcurrency int
	// Timeout bounds a whole call, retries and waits included (default
	// 30 s); AttemptTimeout bounds one HTTP exchange (default 10 s, at
	// most Timeout), so a hung attempt leaves time to retry.
	Timeout        time.Duration
	AttemptTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt
	// (default 4; negative means none).
	MaxRetries int
	// BackoffBase and BackoffMax shape exponential backoff with full
	// jitter (defaults 250 ms and 8 s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Limits defaults to DefaultLimits().
	Limits *Limits
	// MaxResponseBytes bounds a JSON answer (default 32 MiB);
	// MaxUploadBytes bounds an attachment upload (default 10 MiB).
	MaxResponseBytes int64
	MaxUploadBytes   int64
	// Observer is told about every exchange, 429 and wait, for metrics;
	// nil observes nothing.
	Observer Observer
}

// Client is a connection to one Jira site. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	auth        Auth
	http        *http.Client
	noRedirect  *http.Client // c.http without following redirects
	log         *slog.Logger
	clock       func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	jitter      func(time.Duration) time.Duration
	sem         chan struct{}
	timeout     time.Duration
	attempt     time.Duration
	maxRetries  int
	backoffBase time.Duration
	backoffMax  time.Duration
	maxResponse int64
	maxUpload   int64
	pacer       *pacer
	obs         Observer

	depMu      sync.Mutex
	deployment Deployment
	info       *ServerInfo

	rlMu   sync.Mutex
	lastRL RateLimitSeen
}

// NewClient checks cfg and returns a Client. It sends nothing.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, invalidf("base URL is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, invalidf("base URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, invalidf("base URL %q must be http(s)://host[/path]", cfg.BaseURL)
	}
	if u.User != nil {
		return nil, invalidf("base URL must not carry credentials; use Auth")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, invalidf("base URL must not have a query or fragment")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	switch a := cfg.Auth.(type) {
	case BasicAuth:
		if a.Email == "" || a.APIToken == "" {
			return nil, invalidf("basic auth needs an email and an API token")
		}
	case BearerAuth:
		if a.Token == "" {
			return nil, invalidf("bearer auth needs a token")
		}
	case nil:
		return nil, invalidf("auth is required")
	default:
		return nil, invalidf("unsupported auth %T", cfg.Auth)
	}
	switch cfg.Deployment {
	case "", Cloud, DataCenter:
	default:
		return nil, invalidf("deployment %q is neither %q nor %q", cfg.Deployment, Cloud, DataCenter)
	}
	c := &Client{
		base:        u,
		auth:        cfg.Auth,
		http:        cfg.HTTPClient,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		sleep:       cfg.Sleep,
		jitter:      cfg.Jitter,
		timeout:     cfg.Timeout,
		attempt:     cfg.AttemptTimeout,
		maxRetries:  cfg.MaxRetries,
		backoffBase: cfg.BackoffBase,
		backoffMax:  cfg.BackoffMax,
		maxResponse: cfg.MaxResponseBytes,
		maxUpload:   cfg.MaxUploadBytes,
		deployment:  cfg.Deployment,
		obs:         cfg.Observer,
	}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	// Redirects are followed only within the site's host: a base URL that
	// answers with a redirect elsewhere (another site, an internal
	// address) is refused rather than followed with our requests.
	// Attachment downloads handle Cloud's media redirect themselves.
	follow := *c.http
	prev := follow.CheckRedirect
	follow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return fmt.Errorf("jira: %s redirected to another host (%s); refused: give the site's own URL as base_url", via[0].URL.Host, req.URL.Host)
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("jira: stopped after 10 redirects")
		}
		return nil
	}
	c.http = &follow
	nr := *c.http
	nr.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.noRedirect = &nr
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.jitter == nil {
		c.jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max)
		}
	}
	n := cfg.MaxConcurrency
	if n <= 0 {
		n = 8
	}
	c.sem = make(chan struct{}, n)
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.attempt <= 0 {
		c.attempt = 10 * time.Second
	}
	c.attempt = min(c.attempt, c.timeout)
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 4
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.backoffBase <= 0 {
		c.backoffBase = 250 * time.Millisecond
	}
	if c.backoffMax <= 0 {
		c.backoffMax = 8 * time.Second
	}
	if c.maxResponse <= 0 {
		c.maxResponse = 32 << 20
	}
	if c.maxUpload <= 0 {
		c.maxUpload = 10 << 20
	}
	limits := DefaultLimits()
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	c.pacer = newPacer(limits)
	return c, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Deployment returns the connection's deployment, detecting it from
// GET /rest/api/2/serverInfo the first time when it was not configured.
func (c *Client) Deployment(ctx context.Context) (Deployment, error) {
	c.depMu.Lock()
	defer c.depMu.Unlock()
	if c.deployment != "" {
		return c.deployment, nil
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/rest/api/2/serverInfo", nil)
	if err != nil {
		return "", fmt.Errorf("detect deployment: %w", err)
	}
	var info ServerInfo
	if _, err := c.Do(req, &info); err != nil {
		return "", fmt.Errorf("detect deployment: %w", err)
	}
	c.deployment = deploymentOf(info.DeploymentType)
	c.info = &info
	c.log.Debug("jira deployment detected", "deployment", c.deployment, "deploymentType", info.DeploymentType)
	return c.deployment, nil
}

func deploymentOf(deploymentType string) Deployment {
	if strings.EqualFold(deploymentType, "Cloud") {
		return Cloud
	}
	return DataCenter
}

// apiPrefix returns the REST root for the deployment.
func apiPrefix(d Deployment) string {
	if d == Cloud {
		return "/rest/api/3/"
	}
	return "/rest/api/2/"
}

// NewRequest builds a request for path. A path starting with "/" is taken
// from the site root (e.g. "/rest/webhooks/1.0/webhook"); any other path is
// relative to the deployment's REST root ("issue/SEC-1" becomes
// /rest/api/3/issue/SEC-1 on Cloud and /rest/api/2/issue/SEC-1 on Data
// Center). A non-nil body is sent as JSON, except an io.Reader, which is
// sent as is (set Content-Type yourself).
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if !strings.HasPrefix(path, "/") {
		d, err := c.Deployment(ctx)
		if err != nil {
			return nil, err
		}
		path = apiPrefix(d) + path
	}
	return c.newRequest(ctx, method, path, body)
}

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	rel, err := url.Parse(path)
	if err != nil {
		return nil, invalidf("path %q: %v", path, err)
	}
	if rel.Scheme != "" || rel.Host != "" {
		return nil, invalidf("path %q must be relative to the site", path)
	}
	u := *c.base
	u.Path = c.base.Path + rel.Path
	u.RawPath = ""
	if rel.RawPath != "" {
		u.RawPath = c.base.EscapedPath() + rel.RawPath
	}
	u.RawQuery = rel.RawQuery

	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("jira: encode %s %s body: %w", method, rel.Path, err)
		}
		r = bytes.NewReader(buf)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("jira: build %s %s: %w", method, rel.Path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vulnsync")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// RateLimit is what Jira said about the caller's budget on an answer.
type RateLimit struct {
	Limit     int
	Remaining int
	NearLimit bool
	Reset     time.Time
	Reason    string
}

// Response is Jira's answer with its rate-limit headers decoded. The body
// has been read (and is available again through Body); Attempts counts the
// HTTP exchanges the call took.
type Response struct {
	*http.Response
	RateLimit RateLimit
	Attempts  int
}

type ctxKey int

const (
	retrySafeKey ctxKey = iota
	// noRedirectKey marks a request whose 3xx answers are returned to the
	// caller as *redirectError instead of being followed (with
	// credentials) by the HTTP client.
	noRedirectKey
)

// redirectError is a 3xx answer to a request marked with noRedirectKey.
type redirectError struct {
	Status   int
	Location string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("jira: redirected (%d) to %s", e.Status, e.Location)
}

// MarkRetrySafe returns req marked as safe to retry although its method is
// POST, for POSTs that only read (searches, bulk fetches).
func MarkRetrySafe(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), retrySafeKey, true))
}

// retrySafe reports whether a request may be re-sent after an attempt whose
// effect is unknown (5xx, timeout, broken connection). GET, HEAD, PUT and
// DELETE are idempotent. POST is not, with the exceptions marked by
// MarkRetrySafe: issue create, comments, attachments, transitions and
// webhook registration are never retried blindly; an unknown outcome is
// returned as *UnknownOutcomeError instead. (A 429 is always retried:
// Jira rejects it before processing it.)
func noRedirect(req *http.Request) bool {
	v, _ := req.Context().Value(noRedirectKey).(bool)
	return v
}

func retrySafe(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	safe, _ := req.Context().Value(retrySafeKey).(bool)
	return safe
}

// Do sends req with pacing and retries and decodes a 2xx JSON answer into v
// (when v is not nil). Errors are *ErrorResponse (Jira said no),
// *RateLimitError (429 not waited out), *UnknownOutcomeError (a write that
// may have happened), *TooLargeError, or a wrapped transport/context error.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	return c.do(req, v, c.maxResponse)
}

func (c *Client) do(req *http.Request, v any, maxBody int64) (*Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), c.timeout)
	defer cancel()
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A streaming body can be sent once only; buffer it so a 429 can
		// be retried.
		b, err := readLimited(req.Body, c.maxUpload, "request body")
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	path := req.URL.Path
	endpoint := endpointOf(req.Method, strings.TrimPrefix(path, c.base.Path))
	issue := issueOf(req.Method, strings.TrimPrefix(path, c.base.Path))
	write := isWriteMethod(req.Method)
	safe := retrySafe(req)
	op := Operation(req.Method, strings.TrimPrefix(path, c.base.Path))

	for attempt := 0; ; attempt++ {
		if err := c.gate(ctx, req, endpoint, issue, write); err != nil {
			return nil, err
		}
		sentAt := c.clock()
		resp, body, err := c.send(ctx, req, attempt, maxBody)
		c.obs.JiraRequest(op, statusLabel(resp, err))
		last := attempt >= c.maxRetries
		if err != nil {
			if IsTooLarge(err) {
				return nil, err
			}
			sent := !isDialError(err)
			if req.Context().Err() != nil {
				// The caller gave up; a write may still have landed.
				if sent && !safe {
					return nil, &UnknownOutcomeError{Method: req.Method, Path: path, Err: err}
				}
				return nil, fmt.Errorf("jira: %s %s: %w", req.Method, path, err)
			}
			if sent && !safe {
				return nil, &UnknownOutcomeError{Method: req.Method, Path: path, Err: err}
			}
			if last || ctx.Err() != nil {
				return nil, fmt.Errorf("jira: %s %s after %d attempts: %w", req.Method, path, attempt+1, err)
			}
			if berr := c.backoff(ctx, attempt); berr != nil {
				return nil, fmt.Errorf("jira: %s %s: %v; %w", req.Method, path, err, berr)
			}
			continue
		}
		r := &Response{Response: resp, RateLimit: rateLimitOf(resp.Header), Attempts: attempt + 1}
		c.rememberRateLimit(resp.Header, r.RateLimit)
		status := resp.StatusCode
		switch {
		case status >= 300 && status < 400 && noRedirect(req):
			return r, &redirectError{Status: status, Location: resp.Header.Get("Location")}

		case status >= 200 && status < 300:
			if v != nil && len(bytes.TrimSpace(body)) > 0 {
				if w, ok := v.(io.Writer); ok {
					if _, err := w.Write(body); err != nil {
						return r, fmt.Errorf("jira: %s %s: write body: %w", req.Method, path, err)
					}
				} else if err := json.Unmarshal(body, v); err != nil {
					return r, fmt.Errorf("jira: %s %s: decode answer: %w", req.Method, path, err)
				}
			}
			return r, nil

		case status == http.StatusTooManyRequests:
			c.obs.JiraRateLimited(op)
			rl := c.rateLimitError(req, resp)
			if rl.RetryAfter <= 0 {
				// No Retry-After nor reset: back off exponentially, and
				// hold the whole connection (or issue) for that long too.
				rl.RetryAfter = max(c.backoffBase, c.backoffDelay(attempt))
				rl.Reset = c.clock().Add(rl.RetryAfter)
			}
			c.pacer.block(c.clock().Add(rl.RetryAfter), rl.Reason, issue)
			c.pacer.learn(c.clock(), sentAt, endpoint, rl.Reason, r.RateLimit.Limit)
			c.log.Warn("jira rate limited", "method", req.Method, "path", path, "reason", rl.Reason,
				"retryAfter", rl.RetryAfter, "attempt", attempt+1)
			if last {
				return r, rl
			}
			// The gate waits until the not-before instant (and fails fast
			// with a RateLimitError when that passes the deadline).
			continue

		case retryableStatus(status):
			er := errorResponse(req, resp, body)
			if ra := retryAfter(resp.Header, c.clock()); ra > 0 {
				c.pacer.block(c.clock().Add(ra), "", "")
			}
			if !safe {
				return r, &UnknownOutcomeError{Method: req.Method, Path: path, Err: er}
			}
			if last {
				return r, er
			}
			if err := c.backoff(ctx, attempt); err != nil {
				return r, er
			}
			continue

		default:
			return r, errorResponse(req, resp, body)
		}
	}
}

// PacedRate is the connection-wide rate, in requests per second, the
// client currently holds itself to: configured (Limits.Rate) or learned
// from Jira's 429s; 0 when it is not limiting itself. It is exposed for
// diagnostics (the bench reports it).
func (c *Client) PacedRate() float64 { return c.pacer.rate() }

// gate waits until req may be sent: after every not-before instant and
// within every window, then takes a concurrency slot. It fails fast when
// the wait would pass the call's deadline.
func (c *Client) gate(ctx context.Context, req *http.Request, endpoint, issue string, write bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("jira: %s %s: %w", req.Method, req.URL.Path, err)
		}
		now := c.clock()
		res, nb := c.pacer.reserve(now, endpoint, issue, write)
		if d := res.at.Sub(now); d > 0 {
			if dl, ok := ctx.Deadline(); ok && d > time.Until(dl) {
				c.pacer.cancel(res)
				if !nb.IsZero() {
					_, reason := c.pacer.blockedUntil(now, issue)
					return &RateLimitError{Method: req.Method, Path: req.URL.Path, RetryAfter: nb.Sub(now), Reset: nb, Reason: reason}
				}
				return fmt.Errorf("jira: %s %s: pacing wait of %v passes the deadline: %w", req.Method, req.URL.Path, d, context.DeadlineExceeded)
			}
			if err := c.sleep(ctx, d); err != nil {
				c.pacer.cancel(res)
				return fmt.Errorf("jira: %s %s: waiting to send: %w", req.Method, req.URL.Path, err)
			}
			// The part of the wait up to the not-before instant is Jira's
			// Retry-After; the rest is the client's own pacing.
			ra := min(d, max(0, nb.Sub(now)))
			if ra > 0 {
				c.obs.JiraWait("retry_after", ra)
			}
			if d > ra {
				c.obs.JiraWait("pacing", d-ra)
			}
		}
		if until, _ := c.pacer.blockedUntil(c.clock(), issue); !until.IsZero() {
			// A Retry-After arrived while we waited: start again.
			c.pacer.cancel(res)
			continue
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			c.pacer.cancel(res)
			return fmt.Errorf("jira: %s %s: waiting for a connection slot: %w", req.Method, req.URL.Path, ctx.Err())
		}
		if until, _ := c.pacer.blockedUntil(c.clock(), issue); !until.IsZero() {
			<-c.sem
			c.pacer.cancel(res)
			continue
		}
		return nil
	}
}

// send performs one HTTP exchange (the caller holds a slot, released here)
// and reads the answer up to maxBody bytes.
func (c *Client) send(ctx context.Context, req *http.Request, attempt int, maxBody int64) (*http.Response, []byte, error) {
	defer func() { <-c.sem }()
	actx, cancel := context.WithTimeout(ctx, c.attempt)
	defer cancel()
	r := req.Clone(actx)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, nil, fmt.Errorf("rewind body: %w", err)
		}
		r.Body = b
	}
	c.auth.authorize(r.Header)
	start := c.clock()
	hc := c.http
	if noRedirect(req) {
		hc = c.noRedirect
	}
	resp, err := hc.Do(r)
	if err != nil {
		c.log.Debug("jira request failed", "method", req.Method, "path", req.URL.Path, "attempt", attempt+1,
			"headers", redactHeaders(r.Header), "error", err)
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		maxBody = c.maxResponse // the limit is for content; errors are small
	}
	what := "answer to " + req.Method + " " + req.URL.Path
	if resp.ContentLength > maxBody {
		return nil, nil, &TooLargeError{What: what, Limit: maxBody, Size: resp.ContentLength}
	}
	body, err := readLimited(resp.Body, maxBody, what)
	if err != nil {
		return nil, nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.log.Debug("jira request", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode,
		"attempt", attempt+1, "took", c.clock().Sub(start), "headers", redactHeaders(r.Header))
	return resp, body, nil
}

func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit, Size: -1}
	}
	return b, nil
}

// redactHeaders returns the headers as they may be logged.
func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Cookie", "Proxy-Authorization", "X-Hub-Signature":
			out[k] = "REDACTED"
		default:
			out[k] = strings.Join(v, ", ")
		}
	}
	return out
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isDialError reports a failure to connect: nothing was sent, so even a
// create may be retried.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoffDelay is exponential backoff with full jitter.
func (c *Client) backoffDelay(attempt int) time.Duration {
	d := c.backoffBase << min(attempt, 20)
	if d <= 0 || d > c.backoffMax {
		d = c.backoffMax
	}
	return c.jitter(d)
}

func (c *Client) backoff(ctx context.Context, attempt int) error {
	return c.wait(ctx, c.backoffDelay(attempt))
}

// wait sleeps d unless that would pass the deadline.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && d > time.Until(dl) {
		return fmt.Errorf("backoff of %v passes the deadline: %w", d, context.DeadlineExceeded)
	}
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("backoff: %w", err)
	}
	c.obs.JiraWait("backoff", d)
	return nil
}

func (c *Client) rateLimitError(req *http.Request, resp *http.Response) *RateLimitError {
	now := c.clock()
	e := &RateLimitError{
		Method:     req.Method,
		Path:       req.URL.Path,
		RetryAfter: retryAfter(resp.Header, now),
		Reason:     resp.Header.Get("RateLimit-Reason"),
	}
	if t, err := ParseTime(resp.Header.Get("X-RateLimit-Reset")); err == nil {
		e.Reset = t
		if e.RetryAfter <= 0 {
			e.RetryAfter = t.Sub(now)
		}
	} else if e.RetryAfter > 0 {
		e.Reset = now.Add(e.RetryAfter)
	}
	return e
}

// retryAfter decodes Retry-After (seconds, possibly fractional, or an HTTP
// date) relative to now; 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case s <= 0:
			return 0
		case s > 86400: // cap absurd values at a day
			return 24 * time.Hour
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

func rateLimitOf(h http.Header) RateLimit {
	rl := RateLimit{Reason: h.Get("RateLimit-Reason")}
	rl.Limit, _ = strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rl.Remaining, _ = strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	rl.NearLimit, _ = strconv.ParseBool(h.Get("X-RateLimit-NearLimit"))
	if t, err := ParseTime(h.Get("X-RateLimit-Reset")); err == nil {
		rl.Reset = t
	}
	return rl
}

// errorResponse decodes Jira's ErrorCollection; a body that is not one is
// kept (shortened) as the only message.
func errorResponse(req *http.Request, resp *http.Response, body []byte) *ErrorResponse {
	e := &ErrorResponse{StatusCode: resp.StatusCode, Method: req.Method, Path: req.URL.Path}
	var ec struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if strings.HasSuffix(mt, "json") && json.Unmarshal(body, &ec) == nil {
		e.ErrorMessages = ec.ErrorMessages
		if ec.Message != "" {
			e.ErrorMessages = append(e.ErrorMessages, ec.Message)
		}
		if len(ec.Errors) > 0 {
			e.Errors = ec.Errors
		}
		return e
	}
	// Anything but Jira's JSON error is not echoed: the URL is an admin's
	// input, and an answer from whatever it points at (an internal
	// service, a proxy's page) must not come back through our errors.
	if len(bytes.TrimSpace(body)) > 0 {
		e.ErrorMessages = []string{fmt.Sprintf("the answer is not Jira's JSON error (%s, %d bytes; not shown)", cmp.Or(mt, "no content type"), len(body))}
	}
	return e
}
