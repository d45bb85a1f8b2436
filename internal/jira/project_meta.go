package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Permission keys the sync needs in a project (GET mypermissions).
const (
	PermBrowseProjects    = "BROWSE_PROJECTS"
	PermCreateIssues      = "CREATE_ISSUES"
	PermEditIssues        = "EDIT_ISSUES"
	PermTransitionIssues  = "TRANSITION_ISSUES"
	PermAddComments       = "ADD_COMMENTS"
	PermEditAllComments   = "EDIT_ALL_COMMENTS"
	PermDeleteAllComments = "DELETE_ALL_COMMENTS"
	PermCreateAttachments = "CREATE_ATTACHMENTS"
	PermAdminister        = "ADMINISTER"
)

// MyPermissions says, for each permission key asked for, whether the
// connection's account holds it in project projectKey (globally when
// projectKey is empty). Keys Jira does not report are absent from the map.
// It lets a preflight say which grant is missing before the sync hits a 403.
func (c *Client) MyPermissions(ctx context.Context, projectKey string, keys ...string) (map[string]bool, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("read permissions: %w", invalidf("at least one permission key is required"))
	}
	q := url.Values{}
	if projectKey != "" {
		if err := checkKey("project", projectKey); err != nil {
			return nil, fmt.Errorf("read permissions: %w", err)
		}
		q.Set("projectKey", projectKey)
	}
	q.Set("permissions", strings.Join(keys, ","))
	var res struct {
		Permissions map[string]struct {
			Key            string `json:"key"`
			HavePermission bool   `json:"havePermission"`
		} `json:"permissions"`
	}
	if err := c.call(ctx, http.MethodGet, "mypermissions?"+q.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("read permissions in %q: %w", projectKey, err)
	}
	out := make(map[string]bool, len(res.Permissions))
	for k, p := range res.Permissions {
		if p.Key != "" {
			k = p.Key
		}
		out[k] = p.HavePermission
	}
	return out, nil
}

// ProjectPriorities lists the priorities a project allows (its priority
// scheme may restrict them). Cloud pages GET priority/search?projectId=;
// where that is missing (Data Center) it takes the union of createmeta's
// priority allowedValues over the project's issue types, and when no create
// screen shows a priority, the site's whole list (GET priority). Sending a
// priority outside this list is refused by Jira.
func (c *Client) ProjectPriorities(ctx context.Context, projectID string) ([]Priority, error) {
	if err := checkKey("project", projectID); err != nil {
		return nil, fmt.Errorf("list project priorities: %w", err)
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("list priorities of project %s: %w", projectID, err)
	}
	if d == Cloud {
		out, err := c.searchPriorities(ctx, projectID)
		if err == nil {
			return out, nil
		}
		if !IsNotFound(err) {
			return nil, fmt.Errorf("list priorities of project %s: %w", projectID, err)
		}
	}
	out, err := c.createMetaPriorities(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("list priorities of project %s: %w", projectID, err)
	}
	if len(out) > 0 {
		return out, nil
	}
	return c.Priorities(ctx)
}

func (c *Client) searchPriorities(ctx context.Context, projectID string) ([]Priority, error) {
	var out []Priority
	start := 0
	for range maxPages {
		q := url.Values{}
		q.Set("projectId", projectID)
		q.Set("startAt", strconv.Itoa(start))
		q.Set("maxResults", "50")
		var page struct {
			IsLast bool       `json:"isLast"`
			Total  int        `json:"total"`
			Values []Priority `json:"values"`
		}
		if err := c.call(ctx, http.MethodGet, "priority/search?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Values...)
		start += len(page.Values)
		if page.IsLast || len(page.Values) == 0 || start >= page.Total {
			return out, nil
		}
	}
	return nil, fmt.Errorf("more than %d pages", maxPages)
}

func (c *Client) createMetaPriorities(ctx context.Context, project string) ([]Priority, error) {
	types, err := c.CreateMetaIssueTypes(ctx, project)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Priority
	for _, it := range types {
		fields, err := c.CreateMetaFields(ctx, project, it.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			if f.FieldID != "priority" {
				continue
			}
			for _, av := range f.AllowedValues {
				if !seen[av.ID] {
					seen[av.ID] = true
					out = append(out, Priority{ID: av.ID, Name: av.Name})
				}
			}
		}
	}
	return out, nil
}

// EditMeta lists the fields that can be edited on an issue now (those on
// its edit screen), keyed by field id, with whether they are required and
// their allowed values. A field missing here is refused by Jira on edit
// ("It is not on the appropriate screen").
func (c *Client) EditMeta(ctx context.Context, key string) (map[string]CreateMetaField, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("read edit metadata: %w", err)
	}
	var res struct {
		Fields map[string]CreateMetaField `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "issue/"+esc(key)+"/editmeta", nil, &res); err != nil {
		return nil, fmt.Errorf("read edit metadata of %s: %w", key, err)
	}
	for id, f := range res.Fields {
		if f.FieldID == "" {
			f.FieldID = id
			res.Fields[id] = f
		}
	}
	return res.Fields, nil
}

// Resolutions lists the site's resolutions, which Data Center transitions
// into a done status commonly require.
func (c *Client) Resolutions(ctx context.Context) ([]Resolution, error) {
	var out []Resolution
	if err := c.call(ctx, http.MethodGet, "resolution", nil, &out); err != nil {
		return nil, fmt.Errorf("list resolutions: %w", err)
	}
	return out, nil
}

// notOnScreenSuffix ends Jira's message for a field that cannot be set.
const notOnScreenSuffix = "It is not on the appropriate screen, or unknown."

// FieldsNotOnScreen returns the fields Jira refused because they are not on
// the create/edit/transition screen (or do not exist): its 400 says
// "Field 'x' cannot be set. It is not on the appropriate screen, or
// unknown." per field. The caller can drop those fields and tell the admin
// which screen to fix. Sorted; nil when the error is about something else.
func (e *ErrorResponse) FieldsNotOnScreen() []string {
	if e == nil || e.StatusCode != http.StatusBadRequest {
		return nil
	}
	set := map[string]bool{}
	for k, msg := range e.Errors {
		if strings.Contains(msg, notOnScreenSuffix) {
			set[k] = true
		}
	}
	for _, msg := range e.ErrorMessages {
		if !strings.Contains(msg, notOnScreenSuffix) {
			continue
		}
		if _, rest, ok := strings.Cut(msg, "Field '"); ok {
			if name, _, ok := strings.Cut(rest, "'"); ok && name != "" {
				set[name] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
