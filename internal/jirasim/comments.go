package jirasim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file serves issue comments.

// parseCommentBody reads a comment body: ADF on v3, a wiki string on v2.
func parseCommentBody(v view, raw json.RawMessage) (*richText, string) {
	if isNull(raw) {
		return nil, "Comment body can not be empty!"
	}
	rt, msg := parseRich(v, raw)
	if msg != "" {
		return nil, msg
	}
	if rt == nil {
		return nil, "Comment body can not be empty!"
	}
	return rt, ""
}

// commentInput is the Comment body of add and update.
type commentInput struct {
	Body       json.RawMessage `json:"body"`
	Properties []propertyInput `json:"properties"`
	Visibility json.RawMessage `json:"visibility"`
}

// The roles and groups a comment may be restricted to on the seed site.
var (
	knownRoles  = []string{"Administrators", "Developers", "Users"}
	knownGroups = []string{"jira-administrators", "jira-software-users", "security-team"}
)

// parseVisibility reads a comment's visibility ({type: role|group, value}
// or, on Cloud, identifier for a group); null or absent is no restriction.
func parseVisibility(raw json.RawMessage) (*visibility, string) {
	if len(raw) == 0 || isNull(raw) {
		return nil, ""
	}
	var in struct {
		Type       string `json:"type"`
		Value      string `json:"value"`
		Identifier string `json:"identifier"`
	}
	if json.Unmarshal(raw, &in) != nil {
		return nil, "Visibility must be an object with type and value."
	}
	name := in.Value
	if name == "" {
		name = in.Identifier
	}
	switch in.Type {
	case "role":
		for _, r := range knownRoles {
			if strings.EqualFold(r, name) {
				return &visibility{Type: "role", Value: r}, ""
			}
		}
		return nil, "You are currently not a member of the project role: " + name + "."
	case "group":
		for _, g := range knownGroups {
			if strings.EqualFold(g, name) {
				return &visibility{Type: "group", Value: g}, ""
			}
		}
		return nil, "Group: " + name + " does not exist."
	}
	return nil, "Visibility type must be 'role' or 'group'."
}

func findComment(is *issue, id string) *comment {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, c := range is.Comments {
		if c.ID == n {
			return c
		}
	}
	return nil
}

func (s *Simulator) getComments(rq *request) {
	startAt, maxResults, ok := rq.pageParams(5000, 5000)
	if !ok {
		return
	}
	orderBy := rq.r.URL.Query().Get("orderBy")
	withProps := hasExpand(rq.r.URL.Query()["expand"], "properties")
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	cs := append([]*comment{}, is.Comments...)
	switch orderBy {
	case "", "created", "+created":
	case "-created":
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].ID > cs[j].ID })
	default:
		rq.fail(http.StatusBadRequest, "Invalid orderBy value '"+orderBy+"'. Valid values are 'created', '-created' and '+created'.")
		return
	}
	out := []any{}
	for _, c := range page(cs, startAt, maxResults) {
		out = append(out, rq.view.comment(is, c, withProps))
	}
	rq.json(http.StatusOK, map[string]any{"startAt": startAt, "maxResults": maxResults, "total": len(cs), "comments": out})
}

func (s *Simulator) getComment(rq *request) {
	withProps := hasExpand(rq.r.URL.Query()["expand"], "properties")
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	c := findComment(is, rq.params["id"])
	if c == nil {
		rq.fail(http.StatusNotFound, "Can not find a comment for the id: "+rq.params["id"]+".")
		return
	}
	rq.json(http.StatusOK, rq.view.comment(is, c, withProps))
}

func (s *Simulator) addComment(rq *request) {
	var in commentInput
	if !rq.decode(&in) {
		return
	}
	body, msg := parseCommentBody(rq.view, in.Body)
	if msg != "" {
		rq.failFields(http.StatusBadRequest, map[string]string{"comment": msg})
		return
	}
	if msg := checkProperties(in.Properties); msg != "" {
		rq.fail(http.StatusBadRequest, msg)
		return
	}
	vis, msg := parseVisibility(in.Visibility)
	if msg != "" {
		rq.failFields(http.StatusBadRequest, map[string]string{"commentLevel": msg})
		return
	}
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	c := s.addCommentLocked(rq.view.base, is, rq.user, rq.now, body, in.Properties, vis)
	rq.json(http.StatusCreated, rq.view.comment(is, c, len(in.Properties) > 0))
}

// addCommentLocked adds a comment and emits comment_created and
// jira:issue_updated (issue_commented), as real Jira does when both events
// are subscribed; the caller holds s.mu.
func (s *Simulator) addCommentLocked(base string, is *issue, u *user, now time.Time, body *richText, props []propertyInput, vis *visibility) *comment {
	c := &comment{ID: s.nextComment, IssueID: is.ID, Author: u, UpdateAuthor: u, Body: body, Created: now, Updated: now, Props: map[string]json.RawMessage{}, Visibility: vis}
	s.nextComment++
	for _, p := range props {
		c.Props[p.Key] = append(json.RawMessage{}, p.Value...)
	}
	is.Comments = append(is.Comments, c)
	is.Updated = now
	s.emit(base, event{name: "comment_created", is: is, user: u, comment: c})
	s.emit(base, event{name: "jira:issue_updated", typeName: "issue_commented", is: is, user: u, comment: c})
	return c
}

func (s *Simulator) updateComment(rq *request) {
	var in commentInput
	if !rq.decode(&in) {
		return
	}
	body, msg := parseCommentBody(rq.view, in.Body)
	if msg != "" {
		rq.failFields(http.StatusBadRequest, map[string]string{"comment": msg})
		return
	}
	if msg := checkProperties(in.Properties); msg != "" {
		rq.fail(http.StatusBadRequest, msg)
		return
	}
	vis, msg := parseVisibility(in.Visibility)
	if msg != "" {
		rq.failFields(http.StatusBadRequest, map[string]string{"commentLevel": msg})
		return
	}
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	c := findComment(is, rq.params["id"])
	if c == nil {
		rq.fail(http.StatusNotFound, "Can not find a comment for the id: "+rq.params["id"]+".")
		return
	}
	c.Body = body
	if len(in.Visibility) > 0 {
		// Given (null included), the restriction is replaced; absent, it
		// is kept.
		c.Visibility = vis
	}
	c.UpdateAuthor = rq.user
	c.Updated = rq.now
	for _, p := range in.Properties {
		c.Props[p.Key] = append(json.RawMessage{}, p.Value...)
	}
	is.Updated = rq.now
	s.emit(rq.view.base, event{name: "comment_updated", is: is, user: rq.user, comment: c})
	s.emit(rq.view.base, event{name: "jira:issue_updated", typeName: "issue_comment_edited", is: is, user: rq.user, comment: c})
	rq.json(http.StatusOK, rq.view.comment(is, c, false))
}

func (s *Simulator) deleteComment(rq *request) {
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	c := findComment(is, rq.params["id"])
	if c == nil {
		rq.fail(http.StatusNotFound, "Can not find a comment for the id: "+rq.params["id"]+".")
		return
	}
	for i, x := range is.Comments {
		if x == c {
			is.Comments = append(is.Comments[:i:i], is.Comments[i+1:]...)
			break
		}
	}
	is.Updated = rq.now
	s.emit(rq.view.base, event{name: "comment_deleted", is: is, user: rq.user, comment: c})
	s.emit(rq.view.base, event{name: "jira:issue_updated", typeName: "issue_comment_deleted", is: is, user: rq.user})
	rq.noContent()
}
