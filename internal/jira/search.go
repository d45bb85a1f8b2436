package jira

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxSearchPage is the largest page asked for; Jira caps pages itself.
const maxSearchPage = 100

// SearchPage is one page of a JQL search. NextPageToken is "" on the last
// page; Total is -1 where Jira does not say (Cloud).
type SearchPage struct {
	Issues        []Issue
	NextPageToken string
	Total         int
}

// SearchJQL runs one page of a JQL search. Cloud uses
// /rest/api/3/search/jql with nextPageToken; Data Center uses
// /rest/api/2/search with startAt, carried in the token. Pass the previous
// page's NextPageToken ("" for the first page). Cloud returns only ids
// unless fields are given, and rejects unbounded JQL.
func (c *Client) SearchJQL(ctx context.Context, jql string, fields []string, pageToken string, max int) (*SearchPage, error) {
	if strings.TrimSpace(jql) == "" {
		return nil, fmt.Errorf("search: %w", invalidf("JQL is required"))
	}
	if max <= 0 || max > maxSearchPage {
		max = maxSearchPage
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if d != Cloud {
		return c.searchDC(ctx, jql, fields, pageToken, max, true)
	}
	q := url.Values{}
	q.Set("jql", jql)
	q.Set("maxResults", strconv.Itoa(max))
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	if pageToken != "" {
		q.Set("nextPageToken", pageToken)
	}
	var res struct {
		Issues        []Issue `json:"issues"`
		NextPageToken string  `json:"nextPageToken"`
		IsLast        *bool   `json:"isLast"`
	}
	if err := c.call(ctx, http.MethodGet, "search/jql?"+q.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("search %q: %w", jql, err)
	}
	page := &SearchPage{Issues: res.Issues, NextPageToken: res.NextPageToken, Total: -1}
	if res.IsLast != nil && *res.IsLast {
		page.NextPageToken = ""
	}
	return page, nil
}

// searchDC is Data Center's startAt search; the page token is the decimal
// startAt of the next page. validate=false tolerates keys that no longer
// exist (bulk fetch).
func (c *Client) searchDC(ctx context.Context, jql string, fields []string, pageToken string, max int, validate bool) (*SearchPage, error) {
	start := 0
	if pageToken != "" {
		n, err := strconv.Atoi(pageToken)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("search: %w", invalidf("page token %q is not one this client issued", pageToken))
		}
		start = n
	}
	q := url.Values{}
	q.Set("jql", jql)
	q.Set("startAt", strconv.Itoa(start))
	q.Set("maxResults", strconv.Itoa(max))
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	if !validate {
		q.Set("validateQuery", "false")
	}
	var res struct {
		StartAt    int     `json:"startAt"`
		MaxResults int     `json:"maxResults"`
		Total      int     `json:"total"`
		Issues     []Issue `json:"issues"`
	}
	if err := c.call(ctx, http.MethodGet, "/rest/api/2/search?"+q.Encode(), nil, &res); err != nil {
		return nil, fmt.Errorf("search %q: %w", jql, err)
	}
	page := &SearchPage{Issues: res.Issues, Total: res.Total}
	if next := res.StartAt + len(res.Issues); len(res.Issues) > 0 && next < res.Total {
		page.NextPageToken = strconv.Itoa(next)
	}
	return page, nil
}

// SearchAll iterates over every issue a JQL search finds, page by page,
// on either deployment. Iteration stops at the first error, which is
// yielded with a nil issue.
func (c *Client) SearchAll(ctx context.Context, jql string, fields []string, pageSize int) iter.Seq2[*Issue, error] {
	return func(yield func(*Issue, error) bool) {
		token := ""
		for range maxPages * 10 {
			page, err := c.SearchJQL(ctx, jql, fields, token, pageSize)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Issues {
				if !yield(&page.Issues[i], nil) {
					return
				}
			}
			if page.NextPageToken == "" || page.NextPageToken == token {
				return
			}
			token = page.NextPageToken
		}
		yield(nil, fmt.Errorf("search %q: more than %d pages", jql, maxPages*10))
	}
}
