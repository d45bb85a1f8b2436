package jirasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file serves admin webhook registration and turns changes into
// webhook payloads shaped like the recorded deliveries.
//
// Two registration APIs exist. Cloud and Data Center 9 serve
// /rest/webhooks/1.0/webhook with a top-level "secret" (ignored by Data
// Center 9, which delivers unsigned) and a JQL filter under
// filters["issue-related-events-section"]. Data Center 10 serves
// /rest/jira-webhook/1.0/webhooks instead; its shape follows jira.js
// src/server/api/webhooks.ts and src/server/models/webhook.ts (tested
// against Data Center 10.3): requests carry name, url, events, filters,
// excludeBody, configuration, sslVerificationRequired; answers carry a
// numeric id, name, url, events, createdDate, updatedDate, configuration,
// active, scopeType and sslVerificationRequired. The secret goes in
// configuration.SECRET (JRASERVER-78733; n8n's Jira trigger node), and the
// JQL filter is not honoured there: every event of every project is
// delivered.

// webhookEvents are the events a webhook may subscribe to; the simulator
// emits the first six.
var webhookEvents = []string{
	"jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
	"comment_created", "comment_updated", "comment_deleted",
	"attachment_created", "attachment_deleted", "issuelink_created", "issuelink_deleted",
	"worklog_created", "worklog_updated", "worklog_deleted",
}

// filterKey is where a webhook's JQL filter goes in the registration body.
const filterKey = "issue-related-events-section"

// Limits on registrations.
const (
	maxWebhooks      = 100
	maxWebhookName   = 255
	maxWebhookURL    = 2048
	maxWebhookSecret = 512
)

// webhookReg is a registered admin webhook.
type webhookReg struct {
	ID          int64
	Name        string
	URL         string
	Events      []string
	JQL         string
	Secret      string
	ExcludeBody bool
	Enabled     bool
	Created     time.Time
	Updated     time.Time
	UpdatedBy   *user
	// Config is Data Center 10's configuration map without SECRET (kept in
	// Secret); SSLVerify its sslVerificationRequired.
	Config    map[string]any
	SSLVerify bool
}

// webhookInput is the registration body.
type webhookInput struct {
	Name        string         `json:"name"`
	URL         string         `json:"url"`
	Events      []string       `json:"events"`
	Filters     map[string]any `json:"filters"`
	JQLFilter   string         `json:"jqlFilter"`
	ExcludeBody bool           `json:"excludeBody"`
	Enabled     *bool          `json:"enabled"`
	Secret      string         `json:"secret"`
	// Data Center 10 (/rest/jira-webhook/1.0/webhooks).
	Configuration map[string]any `json:"configuration"`
	Active        *bool          `json:"active"`
	SSLVerify     *bool          `json:"sslVerificationRequired"`
}

// normalize maps a request of the profile's API onto the common fields:
// on Data Center 10 the secret is configuration.SECRET and "active" stands
// for "enabled"; on Data Center 9 a secret is ignored.
func (in *webhookInput) normalize(p Profile) {
	switch {
	case p.newWebhookAPI():
		in.Secret = ""
		if sec, ok := in.Configuration["SECRET"].(string); ok {
			in.Secret = sec
		}
		if in.Enabled == nil {
			in.Enabled = in.Active
		}
	case !p.signsWebhooks():
		in.Secret = ""
	}
}

// webhookPath is the registration API's collection path for the profile.
func (s *Simulator) webhookPath() string {
	if s.profile.newWebhookAPI() {
		return "/rest/jira-webhook/1.0/webhooks"
	}
	return "/rest/webhooks/1.0/webhook"
}

func (s *Simulator) webhookJSON(base string, h *webhookReg) map[string]any {
	if s.profile.newWebhookAPI() {
		cfg := map[string]any{}
		for k, v := range h.Config {
			cfg[k] = v
		}
		// The secret is write-only: it is not echoed.
		return map[string]any{
			"self":                    base + s.webhookPath() + "/" + strconv.FormatInt(h.ID, 10),
			"id":                      h.ID,
			"name":                    h.Name,
			"url":                     h.URL,
			"events":                  h.Events,
			"createdDate":             h.Created.UnixMilli(),
			"updatedDate":             h.Updated.UnixMilli(),
			"configuration":           cfg,
			"active":                  h.Enabled,
			"scopeType":               "GLOBAL",
			"sslVerificationRequired": h.SSLVerify,
			"excludeBody":             h.ExcludeBody,
		}
	}
	m := map[string]any{
		"self":                   base + "/rest/webhooks/1.0/webhook/" + strconv.FormatInt(h.ID, 10),
		"name":                   h.Name,
		"url":                    h.URL,
		"events":                 h.Events,
		"filters":                map[string]any{filterKey: h.JQL},
		"excludeBody":            h.ExcludeBody,
		"enabled":                h.Enabled,
		"lastUpdated":            h.Updated.UnixMilli(),
		"lastUpdatedDisplayName": h.UpdatedBy.DisplayName,
	}
	if s.dc {
		m["lastUpdatedUser"] = h.UpdatedBy.Key
	} else {
		m["lastUpdatedUser"] = h.UpdatedBy.AccountID
	}
	return m
}

// adminOnly answers 403 for non-admins; it reports whether to go on.
func adminOnly(rq *request) bool {
	if rq.user.Admin {
		return true
	}
	rq.fail(http.StatusForbidden, "Only Jira administrators can manage webhooks.")
	return false
}

// checkWebhook validates a registration; the caller holds s.mu (the JQL
// filter is compiled against the site).
func (s *Simulator) checkWebhook(in *webhookInput, now time.Time, u *user) map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(in.Name) == "" {
		errs["name"] = "The webhook name must not be empty."
	} else if utf8.RuneCountInString(in.Name) > maxWebhookName {
		errs["name"] = "The webhook name must be at most 255 characters."
	}
	if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > maxWebhookURL {
		errs["url"] = "The webhook URL must be an absolute http or https URL."
	}
	if len(in.Events) == 0 {
		errs["events"] = "At least one event must be selected."
	}
	for _, e := range in.Events {
		if !slices.Contains(webhookEvents, e) {
			errs["events"] = "Unknown event '" + e + "'."
		}
	}
	if len(in.Secret) > maxWebhookSecret {
		errs["secret"] = "The secret must be at most 512 characters."
	}
	jql := in.jql()
	if jql != "" && !s.profile.newWebhookAPI() {
		parsed, err := parseJQL(jql)
		if err == nil {
			_, err = jqlEnv{s: s, now: now, user: u}.compile(parsed.where)
		}
		if err != nil {
			errs["filters"] = err.Error()
		}
	}
	return errs
}

func (in *webhookInput) jql() string {
	if j, _ := in.Filters[filterKey].(string); j != "" {
		return j
	}
	return in.JQLFilter
}

func (s *Simulator) registerWebhook(rq *request) {
	if !adminOnly(rq) {
		return
	}
	var in webhookInput
	if !rq.decode(&in) {
		return
	}
	in.normalize(s.profile)
	s.lockWrite()
	defer s.mu.Unlock()
	if errs := s.checkWebhook(&in, rq.now, rq.user); len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}
	if len(s.hooks) >= maxWebhooks {
		rq.fail(http.StatusBadRequest, "The maximum number of webhooks (100) has been reached.")
		return
	}
	h := &webhookReg{ID: s.nextHook, Name: in.Name, URL: in.URL, Events: slices.Clone(in.Events), JQL: in.jql(),
		Secret: in.Secret, ExcludeBody: in.ExcludeBody, Enabled: in.Enabled == nil || *in.Enabled, Created: rq.now, Updated: rq.now, UpdatedBy: rq.user,
		Config: webhookConfig(in.Configuration), SSLVerify: in.SSLVerify != nil && *in.SSLVerify}
	s.nextHook++
	s.hooks[h.ID] = h
	rq.w.Header().Set("Location", rq.view.base+s.webhookPath()+"/"+strconv.FormatInt(h.ID, 10))
	rq.json(http.StatusCreated, s.webhookJSON(rq.view.base, h))
}

func (s *Simulator) listWebhooks(rq *request) {
	if !adminOnly(rq) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]int64, 0, len(s.hooks))
	for id := range s.hooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.webhookJSON(rq.view.base, s.hooks[id]))
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) hookParam(rq *request) *webhookReg {
	id, err := strconv.ParseInt(rq.params["id"], 10, 64)
	if err != nil {
		return nil
	}
	return s.hooks[id]
}

func (s *Simulator) getWebhook(rq *request) {
	if !adminOnly(rq) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.hookParam(rq)
	if h == nil {
		rq.fail(http.StatusNotFound, "Webhook with id '"+rq.params["id"]+"' does not exist.")
		return
	}
	rq.json(http.StatusOK, s.webhookJSON(rq.view.base, h))
}

func (s *Simulator) updateWebhook(rq *request) {
	if !adminOnly(rq) {
		return
	}
	var in webhookInput
	if !rq.decode(&in) {
		return
	}
	in.normalize(s.profile)
	s.lockWrite()
	defer s.mu.Unlock()
	h := s.hookParam(rq)
	if h == nil {
		rq.fail(http.StatusNotFound, "Webhook with id '"+rq.params["id"]+"' does not exist.")
		return
	}
	if errs := s.checkWebhook(&in, rq.now, rq.user); len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}
	h.Name, h.URL, h.Events, h.JQL, h.ExcludeBody = in.Name, in.URL, slices.Clone(in.Events), in.jql(), in.ExcludeBody
	if in.Secret != "" {
		h.Secret = in.Secret
	}
	if in.Enabled != nil {
		h.Enabled = *in.Enabled
	}
	if in.Configuration != nil {
		h.Config = webhookConfig(in.Configuration)
	}
	if in.SSLVerify != nil {
		h.SSLVerify = *in.SSLVerify
	}
	h.Updated, h.UpdatedBy = rq.now, rq.user
	rq.json(http.StatusOK, s.webhookJSON(rq.view.base, h))
}

func (s *Simulator) deleteWebhook(rq *request) {
	if !adminOnly(rq) {
		return
	}
	s.lockWrite()
	defer s.mu.Unlock()
	h := s.hookParam(rq)
	if h == nil {
		rq.fail(http.StatusNotFound, "Webhook with id '"+rq.params["id"]+"' does not exist.")
		return
	}
	delete(s.hooks, h.ID)
	rq.noContent()
}

// webhookConfig keeps a Data Center 10 configuration map without its
// SECRET.
func webhookConfig(in map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range in {
		if k != "SECRET" {
			out[k] = v
		}
	}
	return out
}

// event is a change that may be delivered to webhooks.
type event struct {
	name      string // webhookEvent
	typeName  string // issue_event_type_name ("" for none)
	is        *issue
	user      *user
	items     []changeItem
	historyID int64
	hasLog    bool
	comment   *comment
	// secondary marks fallout of another change (the comment deletions
	// that follow an issue deletion), which Cloud delivers with
	// X-Atlassian-Webhook-Flow: Secondary.
	secondary bool
	// movedFrom is the project a moved issue left: a webhook whose
	// filter covered the issue there still hears of the move.
	movedFrom *project
}

// emit renders ev once and queues a delivery for every enabled webhook
// whose events and JQL filter cover it; the caller holds s.mu (write).
func (s *Simulator) emit(base string, ev event) {
	if len(s.hooks) == 0 {
		return
	}
	now := s.clock()
	var body []byte
	ids := make([]int64, 0, len(s.hooks))
	for id := range s.hooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := s.hooks[id]
		if !h.Enabled || !slices.Contains(h.Events, ev.name) || !(s.hookCovers(h, ev.is, now) || s.coveredBeforeMove(h, ev, now)) {
			continue
		}
		if body == nil {
			b, err := json.Marshal(s.payload(base, ev, now))
			if err != nil {
				s.log.Error("encode webhook payload", "event", ev.name, "err", err)
				return
			}
			body = b
		}
		s.wh.enqueue(h.URL, h.Secret, body, ev.secondary)
	}
}

// hookCovers evaluates a webhook's JQL filter against the issue as it is
// now; a filter that no longer compiles (an issue key it names was
// deleted) covers nothing.
func (s *Simulator) hookCovers(h *webhookReg, is *issue, now time.Time) bool {
	if h.JQL == "" || s.profile.newWebhookAPI() {
		return true
	}
	parsed, err := parseJQL(h.JQL)
	if err != nil {
		return false
	}
	pred, err := jqlEnv{s: s, now: now, user: h.UpdatedBy}.compile(parsed.where)
	if err != nil {
		return false
	}
	return pred(is)
}

// coveredBeforeMove reports whether a webhook's filter covered a moved
// issue in the project it left.
func (s *Simulator) coveredBeforeMove(h *webhookReg, ev event, now time.Time) bool {
	if ev.movedFrom == nil {
		return false
	}
	moved := ev.is.Project
	ev.is.Project = ev.movedFrom
	defer func() { ev.is.Project = moved }()
	return s.hookCovers(h, ev.is, now)
}

// payload builds a delivery body shaped like the recorded ones: v2 links
// and wiki-markup bodies on both deployments; Cloud users by accountId,
// Data Center users by name/key; Data Center comment events carry no issue
// (its id is in comment.self) and Cloud ones a short issue.
func (s *Simulator) payload(base string, ev event, now time.Time) map[string]any {
	v := view{base: base, api: 2, dc: s.dc, webhook: true}
	m := map[string]any{"timestamp": now.UnixMilli(), "webhookEvent": ev.name}
	full := func() map[string]any {
		is := v.issue(ev.is, issueOptions{fields: parseFieldSelection(nil, "*all")})
		delete(is, "expand")
		return is
	}
	switch ev.name {
	case "jira:issue_created", "jira:issue_updated":
		m["issue_event_type_name"] = ev.typeName
		m["user"] = v.user(ev.user)
		m["issue"] = full()
		if ev.hasLog {
			m["changelog"] = map[string]any{"id": strconv.FormatInt(ev.historyID, 10), "items": v.changeItems(ev.items)}
		}
		if ev.comment != nil {
			m["comment"] = v.comment(ev.is, ev.comment, false)
		}
	case "jira:issue_deleted":
		m["user"] = v.user(ev.user)
		m["issue"] = full()
	default: // comment_created, comment_updated, comment_deleted
		m["comment"] = v.comment(ev.is, ev.comment, false)
		if s.dc {
			if ev.name != "comment_created" {
				m["user"] = v.user(ev.user)
			}
		} else {
			is := ev.is
			m["issue"] = map[string]any{
				"id":   strconv.FormatInt(is.ID, 10),
				"self": v.issueSelf(is),
				"key":  is.Key,
				"fields": map[string]any{
					"summary":   is.Summary,
					"issuetype": v.issueType(is.Type),
					"project":   v.projectRef(is.Project),
					"assignee":  v.user(is.Assignee),
					"priority":  v.priority(is.Priority),
					"status":    v.status(is.Status),
				},
			}
		}
	}
	return m
}
