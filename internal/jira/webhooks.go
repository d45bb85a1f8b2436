package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Webhook is an admin webhook, registered through the API the site has
// (see WebhookAPI): /rest/webhooks/1.0/webhook on Cloud and Data Center
// before 10, /rest/jira-webhook/1.0/webhooks on Data Center 10 and later.
// JQL scopes issue events (to the mapped projects) where the API honours it
// (not on Data Center 10+, where it is not sent and comes back empty).
// Secret, when set, makes Jira sign deliveries (X-Hub-Signature) where the
// API signs (not Data Center before 10, which ignores it); Jira never
// returns it.
type Webhook struct {
	ID      string
	Self    string
	Name    string
	URL     string
	Events  []string
	JQL     string
	Secret  string
	Enabled bool
}

type webhookJSON struct {
	Self        string            `json:"self,omitempty"`
	Name        string            `json:"name"`
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Filters     map[string]string `json:"filters,omitempty"`
	ExcludeBody bool              `json:"excludeBody"`
	Enabled     *bool             `json:"enabled,omitempty"`
	Secret      string            `json:"secret,omitempty"`
}

const jqlFilterKey = "issue-related-events-section"

func (w Webhook) check() error {
	if strings.TrimSpace(w.Name) == "" {
		return invalidf("a webhook needs a name")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalidf("webhook URL %q must be an absolute http(s) URL", w.URL)
	}
	if len(w.Events) == 0 {
		return invalidf("a webhook needs at least one event")
	}
	return nil
}

func (w Webhook) toJSON() webhookJSON {
	j := webhookJSON{Name: w.Name, URL: w.URL, Events: w.Events, Secret: w.Secret, Enabled: new(true)}
	if w.JQL != "" {
		j.Filters = map[string]string{jqlFilterKey: w.JQL}
	}
	return j
}

func (j webhookJSON) webhook() Webhook {
	w := Webhook{Self: j.Self, Name: j.Name, URL: j.URL, Events: j.Events, JQL: j.Filters[jqlFilterKey], Enabled: j.Enabled == nil || *j.Enabled}
	if j.Self != "" {
		if u, err := url.Parse(j.Self); err == nil {
			w.ID = path.Base(u.Path)
		}
	}
	return w
}

// webhookDC10JSON is a webhook of Data Center 10's
// /rest/jira-webhook/1.0/webhooks (shape from jira.js
// src/server/models/webhook.ts; see webhookAPIFor).
type webhookDC10JSON struct {
	ID                      json.Number       `json:"id,omitempty"`
	Name                    string            `json:"name"`
	URL                     string            `json:"url"`
	Events                  []string          `json:"events"`
	Active                  *bool             `json:"active,omitempty"`
	ScopeType               string            `json:"scopeType,omitempty"`
	Configuration           map[string]any    `json:"configuration,omitempty"`
	SSLVerificationRequired *bool             `json:"sslVerificationRequired,omitempty"`
	Filters                 map[string]string `json:"filters,omitempty"`
}

func (w Webhook) toDC10() webhookDC10JSON {
	conf := map[string]any{"EXCLUDE_BODY": "false"}
	if w.Secret != "" {
		conf["SECRET"] = w.Secret
	}
	return webhookDC10JSON{Name: w.Name, URL: w.URL, Events: w.Events, Active: new(true), ScopeType: "global", Configuration: conf}
}

func (j webhookDC10JSON) webhook(base string) Webhook {
	w := Webhook{ID: j.ID.String(), Name: j.Name, URL: j.URL, Events: j.Events, Enabled: j.Active == nil || *j.Active}
	if w.ID != "" {
		w.Self = base + webhookRootDC10 + "/" + w.ID
	}
	return w
}

// RegisterWebhook registers a webhook and returns it with its ID. It is a
// POST that is not retried after an unknown outcome (list Webhooks to see
// whether it exists).
func (c *Client) RegisterWebhook(ctx context.Context, w Webhook) (*Webhook, error) {
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("register webhook: %w", err)
	}
	api, err := c.WebhookAPI(ctx)
	if err != nil {
		return nil, fmt.Errorf("register webhook %s: %w", w.Name, err)
	}
	if !api.Legacy() {
		var out webhookDC10JSON
		if err := c.call(ctx, http.MethodPost, api.Path, w.toDC10(), &out); err != nil {
			return nil, fmt.Errorf("register webhook %s: %w", w.Name, err)
		}
		res := out.webhook(c.base.String())
		return &res, nil
	}
	var out webhookJSON
	if err := c.call(ctx, http.MethodPost, api.Path, w.toJSON(), &out); err != nil {
		return nil, fmt.Errorf("register webhook %s: %w", w.Name, err)
	}
	res := out.webhook()
	return &res, nil
}

// Webhooks lists the site's admin webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	api, err := c.WebhookAPI(ctx)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	if !api.Legacy() {
		var list []webhookDC10JSON
		if err := c.call(ctx, http.MethodGet, api.Path, nil, &list); err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out := make([]Webhook, len(list))
		for i, j := range list {
			out[i] = j.webhook(c.base.String())
		}
		return out, nil
	}
	var list []webhookJSON
	if err := c.call(ctx, http.MethodGet, api.Path, nil, &list); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]Webhook, len(list))
	for i, j := range list {
		out[i] = j.webhook()
	}
	return out, nil
}

// UpdateWebhook replaces webhook id's settings (e.g. a new JQL after a
// mapping change, or a rotated secret).
func (c *Client) UpdateWebhook(ctx context.Context, id string, w Webhook) (*Webhook, error) {
	if err := checkKey("webhook", id); err != nil {
		return nil, fmt.Errorf("update webhook: %w", err)
	}
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	api, err := c.WebhookAPI(ctx)
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	if !api.Legacy() {
		var out webhookDC10JSON
		if err := c.call(ctx, http.MethodPut, api.Path+"/"+esc(id), w.toDC10(), &out); err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", id, err)
		}
		res := out.webhook(c.base.String())
		return &res, nil
	}
	var out webhookJSON
	if err := c.call(ctx, http.MethodPut, api.Path+"/"+esc(id), w.toJSON(), &out); err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	res := out.webhook()
	return &res, nil
}

// DeleteWebhook removes webhook id.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if err := checkKey("webhook", id); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	api, err := c.WebhookAPI(ctx)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if err := c.call(ctx, http.MethodDelete, api.Path+"/"+esc(id), nil, nil); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}
