package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServerInfo reads the site's server information ("Test connection").
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	var info ServerInfo
	if err := c.call(ctx, http.MethodGet, "serverInfo", nil, &info); err != nil {
		return nil, fmt.Errorf("read server info: %w", err)
	}
	return &info, nil
}

// CloudID reads a Cloud site's identity from GET /_edge/tenant_info, which
// needs no credentials: the same id means the same site, whatever its URL.
// Data Center has no such endpoint (404).
func (c *Client) CloudID(ctx context.Context) (string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/_edge/tenant_info", nil)
	if err != nil {
		return "", fmt.Errorf("read the cloud id: %w", err)
	}
	var ti struct {
		CloudID string `json:"cloudId"`
	}
	if _, err := c.Do(req, &ti); err != nil {
		return "", fmt.Errorf("read the cloud id: %w", err)
	}
	if ti.CloudID == "" {
		return "", fmt.Errorf("read the cloud id: tenant_info has no cloudId")
	}
	return ti.CloudID, nil
}

// Myself returns the account the connection acts as (the service account).
func (c *Client) Myself(ctx context.Context) (*User, error) {
	var u User
	if err := c.call(ctx, http.MethodGet, "myself", nil, &u); err != nil {
		return nil, fmt.Errorf("read own account: %w", err)
	}
	return &u, nil
}

// Projects lists the projects the account can see. Cloud pages through
// project/search; Data Center answers project in one list.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	if d != Cloud {
		var out []Project
		if err := c.call(ctx, http.MethodGet, "project", nil, &out); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		return out, nil
	}
	var out []Project
	start := 0
	for range maxPages {
		var page struct {
			Values []Project `json:"values"`
			IsLast bool      `json:"isLast"`
			Total  int       `json:"total"`
		}
		path := "project/search?startAt=" + strconv.Itoa(start) + "&maxResults=50"
		if err := c.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, page.Values...)
		start += len(page.Values)
		if page.IsLast || len(page.Values) == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list projects: more than %d pages", maxPages)
}

// Project reads one project with its issue types.
func (c *Client) Project(ctx context.Context, key string) (*Project, error) {
	if err := checkKey("project", key); err != nil {
		return nil, fmt.Errorf("read project: %w", err)
	}
	var p Project
	if err := c.call(ctx, http.MethodGet, "project/"+esc(key), nil, &p); err != nil {
		return nil, fmt.Errorf("read project %s: %w", key, err)
	}
	return &p, nil
}

// metaPage is one page of createmeta. Cloud names the list issueTypes or
// fields; Data Center names it values.
type metaPage struct {
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
	IsLast     *bool             `json:"isLast"`
	IssueTypes []json.RawMessage `json:"issueTypes"`
	Fields     []json.RawMessage `json:"fields"`
	Results    []json.RawMessage `json:"results"`
	Values     []json.RawMessage `json:"values"`
}

func (p *metaPage) items() []json.RawMessage {
	for _, l := range [][]json.RawMessage{p.IssueTypes, p.Fields, p.Results, p.Values} {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

// pagedMeta collects every item of a startAt-paginated createmeta listing.
func (c *Client) pagedMeta(ctx context.Context, path string, each func(json.RawMessage) error) error {
	start := 0
	for range maxPages {
		q := url.Values{}
		q.Set("startAt", strconv.Itoa(start))
		q.Set("maxResults", "50")
		var page metaPage
		if err := c.call(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		items := page.items()
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		start += len(items)
		if len(items) == 0 || (page.IsLast != nil && *page.IsLast) || start >= page.Total {
			return nil
		}
	}
	return fmt.Errorf("more than %d pages", maxPages)
}

// CreateMetaIssueTypes lists the issue types that can be created in a
// project.
func (c *Client) CreateMetaIssueTypes(ctx context.Context, project string) ([]IssueType, error) {
	if err := checkKey("project", project); err != nil {
		return nil, fmt.Errorf("read create metadata: %w", err)
	}
	var out []IssueType
	err := c.pagedMeta(ctx, "issue/createmeta/"+esc(project)+"/issuetypes", func(raw json.RawMessage) error {
		var it IssueType
		if err := json.Unmarshal(raw, &it); err != nil {
			return fmt.Errorf("decode issue type: %w", err)
		}
		out = append(out, it)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read issue types of %s: %w", project, err)
	}
	return out, nil
}

// CreateMetaFields lists the fields of the create screen of one issue type
// in a project, with their schemas, allowed values and whether they are
// required (the mapping is validated against them).
func (c *Client) CreateMetaFields(ctx context.Context, project, issueTypeID string) ([]CreateMetaField, error) {
	if err := checkKey("project", project); err != nil {
		return nil, fmt.Errorf("read create metadata: %w", err)
	}
	if err := checkKey("issue type", issueTypeID); err != nil {
		return nil, fmt.Errorf("read create metadata: %w", err)
	}
	var out []CreateMetaField
	err := c.pagedMeta(ctx, "issue/createmeta/"+esc(project)+"/issuetypes/"+esc(issueTypeID), func(raw json.RawMessage) error {
		var f CreateMetaField
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("decode field: %w", err)
		}
		if f.FieldID == "" {
			f.FieldID = f.Key
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read fields of %s/%s: %w", project, issueTypeID, err)
	}
	return out, nil
}

// Fields lists every field of the site, system and custom.
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	var out []Field
	if err := c.call(ctx, http.MethodGet, "field", nil, &out); err != nil {
		return nil, fmt.Errorf("list fields: %w", err)
	}
	return out, nil
}

// Priorities lists the site's priorities.
func (c *Client) Priorities(ctx context.Context) ([]Priority, error) {
	var out []Priority
	if err := c.call(ctx, http.MethodGet, "priority", nil, &out); err != nil {
		return nil, fmt.Errorf("list priorities: %w", err)
	}
	return out, nil
}

// Statuses lists every status of the site with its category.
func (c *Client) Statuses(ctx context.Context) ([]Status, error) {
	var out []Status
	if err := c.call(ctx, http.MethodGet, "status", nil, &out); err != nil {
		return nil, fmt.Errorf("list statuses: %w", err)
	}
	return out, nil
}

// ProjectStatuses lists, per issue type, the statuses a project's
// workflows use (the status mapping is validated against them).
func (c *Client) ProjectStatuses(ctx context.Context, key string) ([]IssueTypeStatuses, error) {
	if err := checkKey("project", key); err != nil {
		return nil, fmt.Errorf("list project statuses: %w", err)
	}
	var out []IssueTypeStatuses
	if err := c.call(ctx, http.MethodGet, "project/"+esc(key)+"/statuses", nil, &out); err != nil {
		return nil, fmt.Errorf("list statuses of %s: %w", key, err)
	}
	return out, nil
}

// FindUserByEmail finds the Jira user whose email is email, through the
// user search (Cloud: user/search?query=, Data Center:
// user/search?username=, which also matches emails). A user whose email
// Jira hides (Cloud's profile visibility) can never match: nil, nil is
// "no such user", never a guess by name.
func (c *Client) FindUserByEmail(ctx context.Context, email string) (*User, error) {
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", email, err)
	}
	q := url.Values{}
	if d == Cloud {
		q.Set("query", email)
	} else {
		q.Set("username", email)
	}
	q.Set("maxResults", "50")
	var users []User
	if err := c.call(ctx, http.MethodGet, "user/search?"+q.Encode(), nil, &users); err != nil {
		return nil, fmt.Errorf("find user %s: %w", email, err)
	}
	for i := range users {
		if users[i].EmailAddress != "" && strings.EqualFold(users[i].EmailAddress, email) {
			return &users[i], nil
		}
	}
	return nil, nil
}
