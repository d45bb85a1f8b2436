package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// changelogPageSize is the page asked of GET issue/{key}/changelog (Jira
// caps it at 100).
const changelogPageSize = 100

type rawHistory struct {
	ID      string       `json:"id"`
	Author  User         `json:"author"`
	Created jiraTime     `json:"created"`
	Items   []ChangeItem `json:"items"`
}

func (h rawHistory) entry() ChangelogEntry {
	return ChangelogEntry{ID: h.ID, Author: h.Author, Created: h.Created.Time, Items: h.Items}
}

// sortChangelog orders entries by Created, keeping Jira's order among
// entries of the same instant. Real Jira's ?expand=changelog is newest
// first and the paged endpoint oldest first: position means nothing.
func sortChangelog(es []ChangelogEntry) {
	slices.SortStableFunc(es, func(a, b ChangelogEntry) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		// Times tie at millisecond precision: history ids grow with
		// time, so they order changes made within one millisecond.
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID)
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Changelog returns every change of an issue, oldest first (sorted by
// Created). It pages GET issue/{key}/changelog; where a Data Center site
// lacks that resource (404 on an issue that exists) it falls back to the
// changelog embedded by ?expand=changelog, which Data Center does not cap.
// Items may lack FieldID (Data Center custom fields carry only the display
// name in Field, with FieldType "custom"): resolve those by name.
func (c *Client) Changelog(ctx context.Context, key string) ([]ChangelogEntry, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("read changelog: %w", err)
	}
	out, err := c.pagedChangelog(ctx, key)
	if err == nil {
		sortChangelog(out)
		return out, nil
	}
	if !IsNotFound(err) {
		return nil, fmt.Errorf("read changelog of %s: %w", key, err)
	}
	// No paged endpoint (or no issue): the embedded changelog decides.
	is, gerr := c.getIssue(ctx, key, GetIssueOptions{Fields: []string{"created"}, Changelog: true})
	if gerr != nil {
		return nil, fmt.Errorf("read changelog of %s: %w", key, gerr)
	}
	sortChangelog(is.Changelog)
	return is.Changelog, nil
}

func (c *Client) pagedChangelog(ctx context.Context, key string) ([]ChangelogEntry, error) {
	var out []ChangelogEntry
	start := 0
	for range maxPages {
		q := url.Values{}
		q.Set("startAt", strconv.Itoa(start))
		q.Set("maxResults", strconv.Itoa(changelogPageSize))
		var page struct {
			StartAt int          `json:"startAt"`
			Total   int          `json:"total"`
			IsLast  *bool        `json:"isLast"`
			Values  []rawHistory `json:"values"`
		}
		if err := c.call(ctx, http.MethodGet, "issue/"+esc(key)+"/changelog?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, h := range page.Values {
			out = append(out, h.entry())
		}
		start += len(page.Values)
		if len(page.Values) == 0 || (page.IsLast != nil && *page.IsLast) || (page.IsLast == nil && start >= page.Total) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("more than %d pages", maxPages)
}

// embeddedChangelogTotal reads changelog.total from a Get issue answer, to
// tell whether Jira capped the embedded list (Cloud keeps the newest 100).
func embeddedChangelogTotal(body []byte) (total int, ok bool) {
	var v struct {
		Changelog *struct {
			Total *int `json:"total"`
		} `json:"changelog"`
	}
	if json.Unmarshal(body, &v) != nil || v.Changelog == nil || v.Changelog.Total == nil {
		return 0, false
	}
	return *v.Changelog.Total, true
}

// getIssue is GetIssue without completing a capped changelog.
func (c *Client) getIssue(ctx context.Context, key string, opts GetIssueOptions) (*Issue, error) {
	_, is, err := c.getIssueRaw(ctx, key, opts)
	return is, err
}

func (c *Client) getIssueRaw(ctx context.Context, key string, opts GetIssueOptions) ([]byte, *Issue, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, issuePath(key, opts), nil)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if _, err := c.Do(req, &buf); err != nil {
		return nil, nil, err
	}
	var is Issue
	if err := json.Unmarshal(buf.Bytes(), &is); err != nil {
		return nil, nil, fmt.Errorf("decode issue: %w", err)
	}
	return buf.Bytes(), &is, nil
}
