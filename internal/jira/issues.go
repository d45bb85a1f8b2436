package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxPages bounds every paginated listing, so a misbehaving server cannot
// keep the client paging forever.
const maxPages = 200

// call is NewRequest + Do for the typed methods.
func (c *Client) call(ctx context.Context, method, path string, body, v any) error {
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	_, err = c.Do(req, v)
	return err
}

// callSafePOST is call for POSTs that only read and may be retried.
func (c *Client) callSafePOST(ctx context.Context, path string, body, v any) error {
	req, err := c.NewRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	_, err = c.Do(MarkRetrySafe(req), v)
	return err
}

func checkKey(what, key string) error {
	if key == "" || strings.ContainsAny(key, "/?#") || len(key) > 255 {
		return invalidf("%s %q is not a valid key or id", what, key)
	}
	return nil
}

func esc(s string) string { return url.PathEscape(s) }

// IssueCreate is what CreateIssue sends. Description is Markdown. Either
// IssueTypeID or IssueTypeName is required. Fields are added as they are
// (Markdown values converted); Properties become entity properties of the
// new issue, set atomically with the create.
type IssueCreate struct {
	ProjectKey    string
	IssueTypeID   string
	IssueTypeName string
	Summary       string
	Description   string
	Priority      string // priority name
	Labels        []string
	ParentKey     string
	Fields        map[string]any
	Properties    map[string]any
}

// CreatedIssue identifies an issue CreateIssue made.
type CreatedIssue struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Self string `json:"self"`
}

// CreateIssue creates an issue. It is never retried after an attempt whose
// outcome is unknown (5xx, timeout, broken connection): the error then
// satisfies IsUnknownOutcome and the caller must look for the issue (by its
// marker) before creating it again (G1). 429s are retried: Jira rejects
// them before doing anything.
func (c *Client) CreateIssue(ctx context.Context, in IssueCreate) (*CreatedIssue, error) {
	if err := checkKey("project", in.ProjectKey); err != nil {
		return nil, fmt.Errorf("create issue: %w", err)
	}
	if in.IssueTypeID == "" && in.IssueTypeName == "" {
		return nil, fmt.Errorf("create issue: %w", invalidf("an issue type id or name is required"))
	}
	if strings.TrimSpace(in.Summary) == "" {
		return nil, fmt.Errorf("create issue: %w", invalidf("a summary is required"))
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("create issue: %w", err)
	}
	fields := convertValues(d, in.Fields)
	if fields == nil {
		fields = map[string]any{}
	}
	fields["project"] = map[string]string{"key": in.ProjectKey}
	if in.IssueTypeID != "" {
		fields["issuetype"] = map[string]string{"id": in.IssueTypeID}
	} else {
		fields["issuetype"] = map[string]string{"name": in.IssueTypeName}
	}
	fields["summary"] = in.Summary
	if in.Description != "" {
		fields["description"] = toRich(d, in.Description)
	}
	if in.Priority != "" {
		fields["priority"] = map[string]string{"name": in.Priority}
	}
	if len(in.Labels) > 0 {
		fields["labels"] = in.Labels
	}
	if in.ParentKey != "" {
		fields["parent"] = map[string]string{"key": in.ParentKey}
	}
	body := map[string]any{"fields": fields}
	if len(in.Properties) > 0 {
		body["properties"] = entityProperties(in.Properties)
	}
	var out CreatedIssue
	if err := c.call(ctx, http.MethodPost, "issue", body, &out); err != nil {
		return nil, fmt.Errorf("create issue in %s: %w", in.ProjectKey, err)
	}
	return &out, nil
}

type entityProperty struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func entityProperties(props map[string]any) []entityProperty {
	out := make([]entityProperty, 0, len(props))
	for k, v := range props {
		out = append(out, entityProperty{Key: k, Value: v})
	}
	return out
}

// GetIssueOptions narrows GetIssue: Fields to return (all when empty),
// Changelog to expand the change history, Properties to include.
type GetIssueOptions struct {
	Fields     []string
	Changelog  bool
	Properties []string
}

// GetIssue reads one issue. With Changelog, the history is sorted by
// Created (oldest first; real Jira embeds it newest first) and, when Jira
// capped it (changelog.total above what it embedded, Cloud keeps the
// newest 100), completed through the paged changelog resource.
func (c *Client) GetIssue(ctx context.Context, key string, opts GetIssueOptions) (*Issue, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("get issue: %w", err)
	}
	body, is, err := c.getIssueRaw(ctx, key, opts)
	if err != nil {
		return nil, fmt.Errorf("get issue %s: %w", key, err)
	}
	if opts.Changelog {
		if total, ok := embeddedChangelogTotal(body); ok && total > len(is.Changelog) {
			all, err := c.pagedChangelog(ctx, key)
			if err != nil {
				return nil, fmt.Errorf("get issue %s: complete its changelog (%d of %d embedded): %w", key, len(is.Changelog), total, err)
			}
			is.Changelog = all
		}
		sortChangelog(is.Changelog)
	}
	return is, nil
}

// issuePath is the Get issue path with opts as its query.
func issuePath(key string, opts GetIssueOptions) string {
	q := url.Values{}
	if len(opts.Fields) > 0 {
		q.Set("fields", strings.Join(opts.Fields, ","))
	}
	if opts.Changelog {
		q.Set("expand", "changelog")
	}
	if len(opts.Properties) > 0 {
		q.Set("properties", strings.Join(opts.Properties, ","))
	}
	path := "issue/" + esc(key)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// EditIssue changes fields of an issue: fields sets values, update applies
// operations (add/remove/set...). Markdown values are converted.
func (c *Client) EditIssue(ctx context.Context, key string, fields map[string]any, update map[string][]Op) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("edit issue: %w", err)
	}
	if len(fields) == 0 && len(update) == 0 {
		return fmt.Errorf("edit issue %s: %w", key, invalidf("nothing to change"))
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return fmt.Errorf("edit issue %s: %w", key, err)
	}
	body := map[string]any{}
	if len(fields) > 0 {
		body["fields"] = convertValues(d, fields)
	}
	if len(update) > 0 {
		u := make(map[string][]Op, len(update))
		for f, ops := range update {
			conv := make([]Op, len(ops))
			for i, op := range ops {
				conv[i] = Op(convertValues(d, op))
			}
			u[f] = conv
		}
		body["update"] = u
	}
	if err := c.call(ctx, http.MethodPut, "issue/"+esc(key), body, nil); err != nil {
		return fmt.Errorf("edit issue %s: %w", key, err)
	}
	return nil
}

// DeleteIssue deletes an issue (and its sub-tasks when deleteSubtasks;
// Jira refuses to delete an issue with sub-tasks otherwise).
func (c *Client) DeleteIssue(ctx context.Context, key string, deleteSubtasks bool) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("delete issue: %w", err)
	}
	path := "issue/" + esc(key)
	if deleteSubtasks {
		path += "?deleteSubtasks=true"
	}
	if err := c.call(ctx, http.MethodDelete, path, nil, nil); err != nil {
		return fmt.Errorf("delete issue %s: %w", key, err)
	}
	return nil
}

// bulkFetchMax is Jira Cloud's limit of issues per bulk fetch.
const bulkFetchMax = 100

// BulkFetch reads many issues at once; issues that do not exist (or are
// not visible) are left out. Cloud uses POST issue/bulkfetch (100 per
// call); Data Center has none, so it searches "key in (...)" without JQL
// validation (which would fail on a deleted key).
func (c *Client) BulkFetch(ctx context.Context, keys []string, fields []string) ([]Issue, error) {
	for _, k := range keys {
		// Keys end up in JQL on Data Center: only plain keys and ids.
		if !issueKeyRE.MatchString(k) && !numericRE.MatchString(k) {
			return nil, fmt.Errorf("bulk fetch: %w", invalidf("%q is not an issue key or id", k))
		}
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("bulk fetch: %w", err)
	}
	var out []Issue
	for start := 0; start < len(keys); start += bulkFetchMax {
		chunk := keys[start:min(start+bulkFetchMax, len(keys))]
		if d == Cloud {
			body := map[string]any{"issueIdsOrKeys": chunk}
			if len(fields) > 0 {
				body["fields"] = fields
			}
			var res struct {
				Issues []Issue `json:"issues"`
			}
			if err := c.callSafePOST(ctx, "issue/bulkfetch", body, &res); err != nil {
				return nil, fmt.Errorf("bulk fetch %d issues: %w", len(chunk), err)
			}
			out = append(out, res.Issues...)
			continue
		}
		jql := "key in (" + strings.Join(chunk, ",") + ")"
		token := ""
		for range maxPages {
			page, err := c.searchDC(ctx, jql, fields, token, bulkFetchMax, false)
			if err != nil {
				return nil, fmt.Errorf("bulk fetch %d issues: %w", len(chunk), err)
			}
			out = append(out, page.Issues...)
			if token = page.NextPageToken; token == "" {
				break
			}
		}
	}
	return out, nil
}

// TransitionField is a field a transition's screen asks for.
type TransitionField struct {
	Required      bool           `json:"required"`
	Name          string         `json:"name"`
	Schema        *FieldSchema   `json:"schema,omitempty"`
	AllowedValues []AllowedValue `json:"allowedValues,omitempty"`
}

// Transition is a workflow transition available on an issue now, with the
// fields it requires.
type Transition struct {
	ID     string                     `json:"id"`
	Name   string                     `json:"name"`
	To     Status                     `json:"to"`
	Fields map[string]TransitionField `json:"fields,omitempty"`
}

// Transitions lists the transitions available on an issue, with their
// fields expanded (to know which are required).
func (c *Client) Transitions(ctx context.Context, key string) ([]Transition, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("list transitions: %w", err)
	}
	var res struct {
		Transitions []Transition `json:"transitions"`
	}
	if err := c.call(ctx, http.MethodGet, "issue/"+esc(key)+"/transitions?expand=transitions.fields", nil, &res); err != nil {
		return nil, fmt.Errorf("list transitions of %s: %w", key, err)
	}
	return res.Transitions, nil
}

// DoTransition moves an issue through transition id, setting fields the
// transition screen needs (Markdown values converted). A transition is a
// POST that is not retried after an unknown outcome: the caller re-reads
// the status instead.
func (c *Client) DoTransition(ctx context.Context, key, id string, fields map[string]any) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("transition issue: %w", err)
	}
	if id == "" {
		return fmt.Errorf("transition issue %s: %w", key, invalidf("a transition id is required"))
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return fmt.Errorf("transition issue %s: %w", key, err)
	}
	body := map[string]any{"transition": map[string]string{"id": id}}
	if len(fields) > 0 {
		body["fields"] = convertValues(d, fields)
	}
	if err := c.call(ctx, http.MethodPost, "issue/"+esc(key)+"/transitions", body, nil); err != nil {
		return fmt.Errorf("transition issue %s (%s): %w", key, id, err)
	}
	return nil
}

// SetIssueProperty stores value (any JSON) as entity property prop of an
// issue; vulnsync marks its issues this way.
func (c *Client) SetIssueProperty(ctx context.Context, key, prop string, value any) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("set issue property: %w", err)
	}
	if err := checkKey("property", prop); err != nil {
		return fmt.Errorf("set issue property: %w", err)
	}
	if err := c.call(ctx, http.MethodPut, "issue/"+esc(key)+"/properties/"+esc(prop), value, nil); err != nil {
		return fmt.Errorf("set property %s of %s: %w", prop, key, err)
	}
	return nil
}

// GetIssueProperty decodes entity property prop of an issue into v. A
// missing property (or issue) gives an error satisfying IsNotFound.
func (c *Client) GetIssueProperty(ctx context.Context, key, prop string, v any) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("get issue property: %w", err)
	}
	if err := checkKey("property", prop); err != nil {
		return fmt.Errorf("get issue property: %w", err)
	}
	var res struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := c.call(ctx, http.MethodGet, "issue/"+esc(key)+"/properties/"+esc(prop), nil, &res); err != nil {
		return fmt.Errorf("get property %s of %s: %w", prop, key, err)
	}
	if err := json.Unmarshal(res.Value, v); err != nil {
		return fmt.Errorf("decode property %s of %s: %w", prop, key, err)
	}
	return nil
}

// LinkIssues links two issues with a link type by name (Relates, Blocks,
// Duplicate, Cloners on a default site): POST issueLink, whose body is the
// same on Cloud (v3) and Data Center (v2). inward is the issue the type's
// inward phrase applies to ("is cloned by"), outward the other.
func (c *Client) LinkIssues(ctx context.Context, linkType, inwardKey, outwardKey string) error {
	for _, k := range []string{inwardKey, outwardKey} {
		if err := checkKey("issue", k); err != nil {
			return fmt.Errorf("link issues: %w", err)
		}
	}
	body := map[string]any{"type": map[string]any{"name": linkType},
		"inwardIssue": map[string]any{"key": inwardKey}, "outwardIssue": map[string]any{"key": outwardKey}}
	if err := c.call(ctx, http.MethodPost, "issueLink", body, nil); err != nil {
		return fmt.Errorf("link %s to %s (%s): %w", inwardKey, outwardKey, linkType, err)
	}
	return nil
}
