package jira

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Version is a Jira release number. Data Center behaviour changes by
// release (the webhook API moved in 10.0, basic auth is off by default in
// 11), so callers choose by it; Cloud has no meaningful release number.
type Version struct {
	Major, Minor, Patch int
}

// String prints the version as major.minor.patch.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// ParsedVersion returns the release number serverInfo gives, from
// versionNumbers or, when that is absent, from the version string
// ("10.3.1", "9.12.2-SNAPSHOT").
func (s *ServerInfo) ParsedVersion() Version {
	n := s.VersionNumbers
	if len(n) == 0 {
		for _, part := range strings.SplitN(s.Version, ".", 3) {
			digits := part
			if i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
				digits = part[:i]
			}
			x, err := strconv.Atoi(digits)
			if err != nil {
				break
			}
			n = append(n, x)
		}
	}
	var v Version
	for i, p := range []*int{&v.Major, &v.Minor, &v.Patch} {
		if i < len(n) {
			*p = n[i]
		}
	}
	return v
}

// Site is what the client knows about the Jira it talks to: the
// deployment, and on Data Center the release that decides which APIs exist.
type Site struct {
	Deployment Deployment
	// Version is the Data Center release; zero on Cloud (whose serverInfo
	// says 1001.0.0-SNAPSHOT, which means nothing).
	Version Version
	// Info is serverInfo as Jira answered it.
	Info ServerInfo
}

// Site reads serverInfo once (it needs no permission) and remembers it, so
// that per-version choices (the webhook API) cost one call per connection.
// A configured Deployment wins over the detected one.
func (c *Client) Site(ctx context.Context) (Site, error) {
	c.depMu.Lock()
	info := c.info
	c.depMu.Unlock()
	if info == nil {
		req, err := c.newRequest(ctx, http.MethodGet, "/rest/api/2/serverInfo", nil)
		if err != nil {
			return Site{}, fmt.Errorf("read server info: %w", err)
		}
		var si ServerInfo
		if _, err := c.Do(req, &si); err != nil {
			return Site{}, fmt.Errorf("read server info: %w", err)
		}
		info = &si
		c.depMu.Lock()
		c.info = info
		if c.deployment == "" {
			c.deployment = deploymentOf(si.DeploymentType)
		}
		c.depMu.Unlock()
	}
	c.depMu.Lock()
	d := c.deployment
	c.depMu.Unlock()
	s := Site{Deployment: d, Info: *info}
	if d != Cloud {
		s.Version = info.ParsedVersion()
	}
	return s, nil
}

// The webhook registration paths, by API generation.
const (
	webhookRootLegacy = "/rest/webhooks/1.0/webhook"
	webhookRootDC10   = "/rest/jira-webhook/1.0/webhooks"
)

// WebhookAPI describes the admin-webhook API a site has and what its
// deliveries will carry, so the integration can choose how to authenticate
// them (a signature where Jira signs, a token in the URL where it does not)
// and whether to scope them by JQL or filter them itself.
type WebhookAPI struct {
	// Path is the registration resource: /rest/webhooks/1.0/webhook on
	// Cloud and Data Center before 10, /rest/jira-webhook/1.0/webhooks on
	// Data Center 10 and later.
	Path string
	// Signed: deliveries carry X-Hub-Signature when a secret is registered.
	Signed bool
	// Identified: deliveries carry X-Atlassian-Webhook-Identifier.
	Identified bool
	// Retried: Jira re-sends a delivery that failed.
	Retried bool
	// JQLFilter: the registration's JQL filter is honoured; otherwise every
	// issue event of the site arrives and the receiver must filter.
	JQLFilter bool
}

// Legacy reports whether the site uses the pre-10 webhook resource.
func (a WebhookAPI) Legacy() bool { return a.Path == webhookRootLegacy }

// webhookAPIFor picks the webhook API by deployment and release.
//
// Cloud and Data Center before 10 register at /rest/webhooks/1.0/webhook;
// only Cloud signs, identifies and retries (Data Center before 10 ignores a
// secret, sends no identifier and does not retry). Data Center 10 moved
// registration to /rest/jira-webhook/1.0/webhooks with the secret in a
// `configuration` map (`configuration.SECRET`) and does not honour the old
// `filters` JQL. Sources: n8n's Jira node, GenericFunctions.ts
// getWebhookEndpoint (Cloud → /webhooks/1.0/webhook; versionNumbers[0] >= 10
// → /jira-webhook/1.0/webhooks); jira.js src/server/api/webhooks.ts and
// src/server/models/webhook.ts (POST/GET/PUT/DELETE
// /rest/jira-webhook/1.0/webhooks[/{id}], body {name, url, events, filters,
// excludeBody, configuration, sslVerificationRequired}, answer {id: number,
// name, url, events, createdDate, updatedDate, configuration, active,
// scopeType, sslVerificationRequired}); OpenHands' Jira DC integration
// (payload {name, url, events, active, scopeType: "global",
// configuration: {SECRET, EXCLUDE_BODY: "false"}}); Sentry PR 90116 ("as of
// v10.0.0, the webhook URL for Jira Datacenter has changed"); Atlassian
// JRASERVER-78733.
func webhookAPIFor(s Site) WebhookAPI {
	switch {
	case s.Deployment == Cloud:
		return WebhookAPI{Path: webhookRootLegacy, Signed: true, Identified: true, Retried: true, JQLFilter: true}
	case s.Version.Major >= 10:
		return WebhookAPI{Path: webhookRootDC10, Signed: true}
	default:
		return WebhookAPI{Path: webhookRootLegacy, JQLFilter: true}
	}
}

// WebhookAPI tells which webhook API the site has (reading serverInfo once).
// RegisterWebhook, Webhooks, UpdateWebhook and DeleteWebhook use it
// transparently.
func (c *Client) WebhookAPI(ctx context.Context) (WebhookAPI, error) {
	c.depMu.Lock()
	d := c.deployment
	c.depMu.Unlock()
	if d == Cloud {
		// Cloud has one webhook API whatever its release: no call needed.
		return webhookAPIFor(Site{Deployment: Cloud}), nil
	}
	s, err := c.Site(ctx)
	if err != nil {
		return WebhookAPI{}, fmt.Errorf("choose webhook API: %w", err)
	}
	return webhookAPIFor(s), nil
}

// AuthScheme says how the connection authenticates ("basic" or "bearer"),
// for diagnostics such as Data Center 11 turning basic auth off.
func (c *Client) AuthScheme() string {
	switch c.auth.(type) {
	case BasicAuth:
		return "basic"
	case BearerAuth:
		return "bearer"
	}
	return "unknown"
}

// RateLimitSeen is the last rate-limit information Jira sent, with when it
// arrived.
type RateLimitSeen struct {
	RateLimit
	At time.Time
}

// hasRateLimitHeaders reports whether an answer said anything about rate
// limits.
func hasRateLimitHeaders(h http.Header) bool {
	for _, k := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-NearLimit", "RateLimit-Reason"} {
		if h.Get(k) != "" {
			return true
		}
	}
	return false
}

// LastRateLimit returns the rate-limit headers of the most recent answer
// that carried any, so an operator can see the budget (the doctor and the
// UI report it); ok is false when no answer carried them.
func (c *Client) LastRateLimit() (seen RateLimitSeen, ok bool) {
	c.rlMu.Lock()
	defer c.rlMu.Unlock()
	return c.lastRL, !c.lastRL.At.IsZero()
}

func (c *Client) rememberRateLimit(h http.Header, rl RateLimit) {
	if !hasRateLimitHeaders(h) {
		return
	}
	c.rlMu.Lock()
	c.lastRL = RateLimitSeen{RateLimit: rl, At: c.clock()}
	c.rlMu.Unlock()
}
