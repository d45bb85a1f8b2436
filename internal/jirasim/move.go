package jirasim

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file moves issues between projects, as Jira's "Move" does: the
// issue keeps its id, takes the next key of the target project, and its old
// key keeps resolving to it (Jira redirects old keys). The change is
// recorded as a changelog entry with a "Key" item and a "project" item and
// delivered as jira:issue_updated with issue_event_type_name issue_moved.
// Real Jira offers moves through its UI and bulk APIs; the simulator offers
// POST /_sim/move for tests and a Move form on /browse/{key}.

// moveResult says what a move did.
type moveResult struct {
	ID      string `json:"id"`
	FromKey string `json:"from"`
	Key     string `json:"key"`
}

// moveIssue moves the issue (and its sub-tasks, which always follow their
// parent) to project target. It returns Jira-like refusals as a status code
// and message.
func (s *Simulator) moveIssue(base, idOrKey, target string, u *user) (moveResult, int, string) {
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(idOrKey)
	if is == nil {
		return moveResult{}, http.StatusNotFound, msgNoIssue
	}
	to := projectByIDOrKey(target, false)
	switch {
	case to == nil:
		return moveResult{}, http.StatusBadRequest, "No project could be found with key '" + target + "'."
	case to == is.Project:
		return moveResult{}, http.StatusBadRequest, "The issue is already in project '" + to.Key + "'."
	case is.Type.Subtask:
		return moveResult{}, http.StatusBadRequest, "A sub-task moves with its parent; move " + is.Parent.Key + " instead."
	}
	now := s.clock()
	res := moveResult{ID: strconv.FormatInt(is.ID, 10), FromKey: is.Key}
	for _, x := range append([]*issue{is}, is.Subtasks...) {
		s.moveOne(base, x, to, u, now)
	}
	res.Key = is.Key
	return res, http.StatusOK, ""
}

// moveOne moves one issue; the caller holds s.mu (write).
func (s *Simulator) moveOne(base string, is *issue, to *project, u *user, now time.Time) {
	from := is.Project
	oldKey := is.Key
	s.nextNum[to.Key]++
	is.Key = to.Key + "-" + strconv.Itoa(s.nextNum[to.Key])
	is.Project = to
	is.OldKeys = append(is.OldKeys, oldKey)
	s.byKey[is.Key] = is // the old key keeps resolving, as Jira redirects it
	items := []changeItem{
		{Field: "Key", FieldType: "jira", FromString: strp(oldKey), ToString: strp(is.Key)},
		{Field: "project", FieldType: "jira", FieldID: "project", From: strp(from.ID), FromString: strp(from.Name), To: strp(to.ID), ToString: strp(to.Name)},
	}
	if is.Priority != nil && !to.allowsPriority(is.Priority) {
		items = append(items, changeItem{Field: "priority", FieldType: "jira", FieldID: "priority",
			From: strp(is.Priority.ID), FromString: strp(is.Priority.Name), To: strp(to.Default.ID), ToString: strp(to.Default.Name)})
		is.Priority = to.Default
	}
	if is.Security != nil && to.Security.level(is.Security.ID, "") == nil {
		items = append(items, changeItem{Field: "security", FieldType: "jira", FieldID: "security",
			From: strp(is.Security.ID), FromString: strp(is.Security.Name)})
		is.Security = nil
	}
	hid := s.recordChange(is, u, now, items)
	s.emit(base, event{name: "jira:issue_updated", typeName: "issue_moved", is: is, user: u, items: items, historyID: hid, hasLog: true, movedFrom: from})
}

// serveMove serves POST /_sim/move {"issue": "SEC-1", "project": "OPS",
// "user": "dev"}: the named user (default dev) moves the issue.
func (s *Simulator) serveMove(w http.ResponseWriter, r *http.Request, fail func(int, string)) {
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	var in struct {
		Issue   string `json:"issue"`
		Project string `json:"project"`
		User    string `json:"user"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fail(http.StatusBadRequest, "decode move: "+err.Error())
		return
	}
	if in.Issue == "" || in.Project == "" {
		fail(http.StatusBadRequest, "issue and project are required")
		return
	}
	u := s.userNamed(cmp.Or(in.User, DevUsername))
	if u == nil {
		fail(http.StatusBadRequest, "no user named "+in.User)
		return
	}
	res, code, msg := s.moveIssue(s.baseURL(r), in.Issue, in.Project, u)
	if code != http.StatusOK {
		fail(code, msg)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// userNamed finds a seed user by username (Data Center name).
func (s *Simulator) userNamed(name string) *user {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.users {
		if strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}
