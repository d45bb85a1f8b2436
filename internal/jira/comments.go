package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

const commentsPageSize = 100

// Comments lists all comments of an issue, oldest first, with their entity
// properties (vulnsync's own comments carry a marker property, G4).
func (c *Client) Comments(ctx context.Context, key string) ([]Comment, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	var out []Comment
	start := 0
	for range maxPages {
		q := url.Values{}
		q.Set("startAt", strconv.Itoa(start))
		q.Set("maxResults", strconv.Itoa(commentsPageSize))
		q.Set("orderBy", "created")
		q.Set("expand", "properties")
		var page struct {
			StartAt  int          `json:"startAt"`
			Total    int          `json:"total"`
			Comments []rawComment `json:"comments"`
		}
		if err := c.call(ctx, http.MethodGet, "issue/"+esc(key)+"/comment?"+q.Encode(), nil, &page); err != nil {
			return nil, fmt.Errorf("list comments of %s: %w", key, err)
		}
		for _, rc := range page.Comments {
			cm, err := rc.comment()
			if err != nil {
				return nil, fmt.Errorf("list comments of %s: %w", key, err)
			}
			out = append(out, cm)
		}
		start += len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list comments of %s: more than %d pages", key, maxPages)
}

// AddComment adds a comment written in Markdown, with entity properties
// set in the same call. It is a POST that is never retried after an
// unknown outcome (a duplicate comment would break G4).
func (c *Client) AddComment(ctx context.Context, key, markdown string, properties map[string]any) (*Comment, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("add comment: %w", err)
	}
	if markdown == "" {
		return nil, fmt.Errorf("add comment to %s: %w", key, invalidf("the comment is empty"))
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("add comment to %s: %w", key, err)
	}
	body := map[string]any{"body": toRich(d, markdown)}
	if len(properties) > 0 {
		body["properties"] = entityProperties(properties)
	}
	var rc rawComment
	if err := c.call(ctx, http.MethodPost, "issue/"+esc(key)+"/comment", body, &rc); err != nil {
		return nil, fmt.Errorf("add comment to %s: %w", key, err)
	}
	cm, err := rc.comment()
	if err != nil {
		return nil, fmt.Errorf("add comment to %s: %w", key, err)
	}
	return &cm, nil
}

// EditComment replaces a comment's body with Markdown.
func (c *Client) EditComment(ctx context.Context, key, id, markdown string) (*Comment, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("edit comment: %w", err)
	}
	if err := checkKey("comment", id); err != nil {
		return nil, fmt.Errorf("edit comment: %w", err)
	}
	if markdown == "" {
		return nil, fmt.Errorf("edit comment %s on %s: %w", id, key, invalidf("the comment is empty"))
	}
	d, err := c.Deployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("edit comment %s on %s: %w", id, key, err)
	}
	var rc rawComment
	if err := c.call(ctx, http.MethodPut, "issue/"+esc(key)+"/comment/"+esc(id), map[string]any{"body": toRich(d, markdown)}, &rc); err != nil {
		return nil, fmt.Errorf("edit comment %s on %s: %w", id, key, err)
	}
	cm, err := rc.comment()
	if err != nil {
		return nil, fmt.Errorf("edit comment %s on %s: %w", id, key, err)
	}
	return &cm, nil
}

// DeleteComment deletes a comment.
func (c *Client) DeleteComment(ctx context.Context, key, id string) error {
	if err := checkKey("issue", key); err != nil {
		return fmt.Errorf("delete comment: %w", err)
	}
	if err := checkKey("comment", id); err != nil {
		return fmt.Errorf("delete comment: %w", err)
	}
	if err := c.call(ctx, http.MethodDelete, "issue/"+esc(key)+"/comment/"+esc(id), nil, nil); err != nil {
		return fmt.Errorf("delete comment %s on %s: %w", id, key, err)
	}
	return nil
}
