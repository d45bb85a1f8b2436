package jirasim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file serves issue create, read, edit, delete and bulk fetch.

const msgNoIssue = "Issue does not exist or you do not have permission to see it."

// lookupIssue finds a live issue by id or key; the caller holds s.mu.
func (s *Simulator) lookupIssue(idOrKey string) *issue {
	if n, err := strconv.ParseInt(idOrKey, 10, 64); err == nil {
		return s.issues[n]
	}
	return s.byKey[strings.ToUpper(idOrKey)]
}

// issueInput is IssueUpdateDetails: the body of create, edit and
// transition.
type issueInput struct {
	Fields     map[string]json.RawMessage              `json:"fields"`
	Update     map[string][]map[string]json.RawMessage `json:"update"`
	Properties []propertyInput                         `json:"properties"`
	Transition *refObject                              `json:"transition"`
}

// propertyInput is an EntityProperty in a request body.
type propertyInput struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// checkProperties validates entity properties given on create.
func checkProperties(props []propertyInput) string {
	for _, p := range props {
		if p.Key == "" || len(p.Key) > maxPropKey {
			return "The property key must be between 1 and 255 characters."
		}
		if len(p.Value) > maxPropBytes {
			return "The property '" + p.Key + "' exceeds the maximum size of 32768 bytes."
		}
		if len(p.Value) == 0 {
			return "The property '" + p.Key + "' has no value."
		}
	}
	return ""
}

// pendingValue is a parsed field value waiting to be applied.
type pendingValue struct {
	f   *fieldDef
	val any
}

// collectUpdates parses the "fields" and "update" parts of a body against
// the fields allowed on the screen; it returns the values to apply (in a
// stable order), comment bodies to add, and Jira's per-field errors.
func (s *Simulator) collectUpdates(v view, is *issue, in *issueInput, allowed func(*fieldDef) bool, errs map[string]string) ([]pendingValue, []*richText) {
	pending := map[string]*pendingValue{}
	for _, k := range sortedKeys(in.Fields) {
		f := fieldByID[k]
		if f == nil || !allowed(f) {
			errs[k] = msgCannotSet(k)
			continue
		}
		val, msg := s.parseValue(v, f, in.Fields[k])
		if msg != "" {
			errs[k] = msg
			continue
		}
		pending[k] = &pendingValue{f: f, val: val}
	}
	var comments []*richText
	for _, k := range sortedKeys(in.Update) {
		if k == "comment" {
			for _, op := range in.Update[k] {
				raw, ok := op["add"]
				if !ok || len(op) != 1 {
					errs["comment"] = "Field 'comment' only supports the 'add' operation"
					break
				}
				var body struct {
					Body json.RawMessage `json:"body"`
				}
				if json.Unmarshal(raw, &body) != nil {
					errs["comment"] = "Comment body can not be empty!"
					break
				}
				rt, msg := parseCommentBody(v, body.Body)
				if msg != "" {
					errs["comment"] = msg
					break
				}
				comments = append(comments, rt)
			}
			continue
		}
		f := fieldByID[k]
		if f == nil || !allowed(f) {
			errs[k] = msgCannotSet(k)
			continue
		}
		for _, op := range in.Update[k] {
			for _, name := range sortedKeys(op) {
				raw := op[name]
				switch name {
				case "set":
					val, msg := s.parseValue(v, f, raw)
					if msg != "" {
						errs[k] = msg
						continue
					}
					pending[k] = &pendingValue{f: f, val: val}
				case "add", "remove":
					if f.Kind != kindLabels && f.Kind != kindMultiSelect {
						errs[k] = "Field '" + k + "' does not support operation '" + name + "'"
						continue
					}
					var cur []string
					if p := pending[k]; p != nil {
						cur, _ = p.val.([]string)
					} else if is != nil {
						if f.Kind == kindLabels {
							cur = is.Labels
						} else {
							cur, _ = is.Custom[k].([]string)
						}
					}
					nv, msg := applyOp(cur, f, name, raw)
					if msg != "" {
						errs[k] = msg
						continue
					}
					pending[k] = &pendingValue{f: f, val: nv}
				default:
					errs[k] = "Field '" + k + "' does not support operation '" + name + "'"
				}
			}
		}
	}
	out := make([]pendingValue, 0, len(pending))
	for _, k := range sortedKeys(pending) {
		out = append(out, *pending[k])
	}
	return out, comments
}

// missingValue reports whether a pending or stored value counts as "not
// given" for a required field.
func missingValue(val any) bool {
	switch x := val.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	case *richText:
		return x == nil
	case *user:
		return x == nil
	}
	return false
}

func requiredMessage(f *fieldDef) string {
	if f.Kind == kindSummary {
		return "You must specify a summary of the issue."
	}
	return f.Name + " is required."
}

func (s *Simulator) createIssue(rq *request) {
	var in issueInput
	if !rq.decode(&in) {
		return
	}
	v := rq.view
	errs := map[string]string{}
	// Project and issue type decide everything else.
	var typ *issueType
	var proj *project
	if raw, ok := in.Fields["project"]; !ok || isNull(raw) {
		errs["project"] = "Specify a valid project ID or key"
	} else if r, ok := decodeRef(raw); ok {
		if id := r.idString(); id != "" {
			proj = projectByIDOrKey(id, false)
		} else if r.Key != "" {
			proj = projectByIDOrKey(r.Key, false)
		}
	}
	if proj == nil {
		errs["project"] = "Specify a valid project ID or key"
	}
	if raw, ok := in.Fields["issuetype"]; !ok || isNull(raw) {
		errs["issuetype"] = "Specify an issue type"
	} else if r, ok := decodeRef(raw); !ok {
		errs["issuetype"] = "Specify an issue type"
	} else if typ = typeByIDOrName(r.idString(), r.Name); typ == nil {
		errs["issuetype"] = "The issue type selected is invalid."
	}
	if len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}
	if msg := checkProperties(in.Properties); msg != "" {
		rq.fail(http.StatusBadRequest, msg)
		return
	}
	if in.Transition != nil {
		rq.fail(http.StatusBadRequest, "Creating an issue with a transition is not supported by this simulator.")
		return
	}
	fields := map[string]json.RawMessage{}
	for k, raw := range in.Fields {
		if k != "project" && k != "issuetype" {
			fields[k] = raw
		}
	}
	in.Fields = fields

	s.lockWrite()
	defer s.mu.Unlock()
	screen := map[string]bool{}
	for _, f := range createScreen(proj, typ) {
		screen[f.ID] = true
	}
	allowed := func(f *fieldDef) bool { return screen[f.ID] && f.ID != "attachment" }
	// A parent on a standard issue type is a hierarchy error, not an
	// unknown field.
	if raw, ok := in.Fields["parent"]; ok && !typ.Subtask {
		delete(in.Fields, "parent")
		if !isNull(raw) {
			errs["parent"] = "Given parent issue does not belong to appropriate hierarchy."
		}
	}
	var parent *issue
	if raw, ok := in.Fields["parent"]; ok {
		delete(in.Fields, "parent")
		if !isNull(raw) {
			r, ok := decodeRef(raw)
			if ok {
				idOrKey := r.Key
				if idOrKey == "" {
					idOrKey = r.idString()
				}
				parent = s.lookupIssue(idOrKey)
			}
			switch {
			case parent == nil:
				errs["parent"] = "Could not find issue by id or key."
			case parent.Type.Subtask:
				errs["parent"] = "Given parent issue does not belong to appropriate hierarchy."
				parent = nil
			}
		}
	}
	if typ.Subtask && parent == nil && errs["parent"] == "" {
		errs["issuetype"] = "Issue type is a sub-task but parent issue key or id not specified."
	}
	pending, comments := s.collectUpdates(v, nil, &in, allowed, errs)
	if len(comments) > 0 {
		errs["comment"] = msgCannotSet("comment")
	}
	checkScheme(proj, pending, errs)
	given := map[string]any{}
	for _, p := range pending {
		given[p.f.ID] = p.val
	}
	for _, f := range createScreen(proj, typ) {
		if f.required(typ.ID) && f.Kind != kindIssueType && f.Kind != kindProject && errs[f.ID] == "" && missingValue(given[f.ID]) {
			errs[f.ID] = requiredMessage(f)
		}
	}
	if len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}

	now := rq.now
	s.nextNum[proj.Key]++
	is := &issue{
		ID:            s.nextIssueID,
		Key:           proj.Key + "-" + strconv.Itoa(s.nextNum[proj.Key]),
		Project:       proj,
		Type:          typ,
		Status:        statusToDo,
		Reporter:      rq.user,
		Creator:       rq.user,
		Labels:        []string{},
		Parent:        parent,
		Created:       now,
		Updated:       now,
		StatusChanged: now,
		Custom:        map[string]any{},
		Props:         map[string]json.RawMessage{},
	}
	s.nextIssueID++
	var items []changeItem
	reporterGiven := false
	for _, p := range pending {
		if p.f.ID == "reporter" {
			reporterGiven = true
		}
		if it := s.setField(is, p.f, p.val); it != nil {
			items = append(items, *it)
		}
	}
	if parent != nil {
		is.Security = parent.Security // a sub-task is as restricted as its parent
	}
	if is.Priority == nil {
		is.Priority = proj.Default
		items = append(items, changeItem{Field: "priority", FieldType: "jira", FieldID: "priority", To: strp(proj.Default.ID), ToString: strp(proj.Default.Name)})
	}
	if !reporterGiven {
		items = append(items, changeItem{Field: "reporter", FieldType: "jira", FieldID: "reporter", To: s.userRef(rq.user), ToString: userName(rq.user)})
	}
	items = append(items, changeItem{Field: "Status", FieldType: "jira", FieldID: "status", To: strp(statusToDo.ID), ToString: strp(statusToDo.Name)})
	sort.SliceStable(items, func(i, j int) bool { return strings.ToLower(items[i].Field) < strings.ToLower(items[j].Field) })
	for _, p := range in.Properties {
		is.Props[p.Key] = append(json.RawMessage{}, p.Value...)
	}
	s.issues[is.ID] = is
	s.byKey[is.Key] = is
	s.order = append(s.order, is)
	if parent != nil {
		parent.Subtasks = append(parent.Subtasks, is)
	}
	hid := s.nextHistory
	s.nextHistory++
	s.emit(v.base, event{name: "jira:issue_created", typeName: "issue_created", is: is, user: rq.user, items: items, historyID: hid, hasLog: true})
	rq.json(http.StatusCreated, map[string]any{
		"id":   strconv.FormatInt(is.ID, 10),
		"key":  is.Key,
		"self": v.issueSelf(is),
	})
}

// checkScheme refuses a priority the project's priority scheme leaves out,
// with the answer real Jira gives (recorded in
// tenable/integration-jira-cloud issue 205).
func checkScheme(p *project, pending []pendingValue, errs map[string]string) {
	for _, pv := range pending {
		if pr, ok := pv.val.(*priority); ok && pv.f.Kind == kindPriority && !p.allowsPriority(pr) && errs["priority"] == "" {
			errs["priority"] = "The priority selected is invalid."
		}
		if l, ok := pv.val.(*securityLevel); ok && l != nil && p.Security.level(l.ID, "") == nil {
			errs["security"] = "Security level: Security Level with id '" + l.ID + "' is not in the issue security scheme of project '" + p.Key + "'."
		}
	}
}

// readOptions parses the query of an issue read.
func readOptions(rq *request, defFields string) issueOptions {
	q := rq.r.URL.Query()
	return issueOptions{
		fields:    parseFieldSelection(q["fields"], defFields),
		changelog: hasExpand(q["expand"], "changelog"),
		props:     rq.queryList("properties"),
	}
}

func (s *Simulator) getIssue(rq *request) {
	o := readOptions(rq, "*all")
	s.mu.RLock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.mu.RUnlock()
		s.issueNotFound(rq)
		return
	}
	// Reads vastly outnumber writes in sync workloads; an answer is cached
	// until the next change anywhere.
	cacheKey := rq.view.base + "|" + strconv.Itoa(rq.api) + "|" + strconv.FormatInt(is.ID, 10) + "|" + rq.r.URL.RawQuery
	b, ok := s.cachedIssue(cacheKey)
	if !ok {
		var err error
		b, err = json.Marshal(rq.view.issue(is, o))
		if err != nil {
			s.mu.RUnlock()
			rq.fail(http.StatusInternalServerError, "encode issue: "+err.Error())
			return
		}
		s.storeIssue(cacheKey, b)
	}
	s.mu.RUnlock()
	rq.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	rq.w.WriteHeader(http.StatusOK)
	_, _ = rq.w.Write(b)
}

// recordChange appends a changelog entry and bumps `updated`; the caller
// holds s.mu. It returns the history id.
func (s *Simulator) recordChange(is *issue, u *user, now time.Time, items []changeItem) int64 {
	h := &history{ID: s.nextHistory, Author: u, Created: now, Items: items}
	s.nextHistory++
	is.History = append(is.History, h)
	is.Updated = now
	return h.ID
}

func (s *Simulator) editIssue(rq *request) {
	var in issueInput
	if !rq.decode(&in) {
		return
	}
	returnIssue := rq.r.URL.Query().Get("returnIssue") == "true"
	v := rq.view
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	if msg := checkProperties(in.Properties); msg != "" {
		rq.fail(http.StatusBadRequest, msg)
		return
	}
	errs := map[string]string{}
	pending, comments := s.collectUpdates(v, is, &in, func(f *fieldDef) bool { return editable(is, f) }, errs)
	checkScheme(is.Project, pending, errs)
	for _, p := range pending {
		if p.f.required(is.Type.ID) && missingValue(p.val) && errs[p.f.ID] == "" {
			errs[p.f.ID] = requiredMessage(p.f)
		}
	}
	if len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}
	s.applyEdit(v.base, is, rq.user, rq.now, pending, comments, in.Properties)
	if returnIssue {
		rq.json(http.StatusOK, v.issue(is, issueOptions{fields: parseFieldSelection(nil, "*all")}))
		return
	}
	rq.noContent()
}

// applyEdit applies validated changes and emits the events; the caller
// holds s.mu.
func (s *Simulator) applyEdit(base string, is *issue, u *user, now time.Time, pending []pendingValue, comments []*richText, props []propertyInput) {
	var items []changeItem
	for _, p := range pending {
		if it := s.setField(is, p.f, p.val); it != nil {
			items = append(items, *it)
		}
	}
	for _, p := range props {
		is.Props[p.Key] = append(json.RawMessage{}, p.Value...)
	}
	if len(items) > 0 {
		hid := s.recordChange(is, u, now, items)
		typeName := "issue_updated"
		if len(items) == 1 && items[0].FieldID == "assignee" {
			typeName = "issue_assigned"
		}
		s.emit(base, event{name: "jira:issue_updated", typeName: typeName, is: is, user: u, items: items, historyID: hid, hasLog: true})
	}
	for _, body := range comments {
		s.addCommentLocked(base, is, u, now, body, nil, nil)
	}
}

func (s *Simulator) deleteIssue(rq *request) {
	withSubtasks := rq.r.URL.Query().Get("deleteSubtasks") == "true"
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	if len(is.Subtasks) > 0 && !withSubtasks {
		rq.fail(http.StatusBadRequest, "The issue has subtasks. Use the deleteSubtasks parameter to delete the issue with its subtasks.")
		return
	}
	for _, st := range append([]*issue{}, is.Subtasks...) {
		s.removeIssue(rq.view.base, st, rq.user, true)
	}
	s.removeIssue(rq.view.base, is, rq.user, false)
	rq.noContent()
}

// removeIssue deletes one issue and emits jira:issue_deleted; the caller
// holds s.mu.
//
// On Cloud the deletion of the issue's comments follows as fallout:
// comment_deleted events delivered with X-Atlassian-Webhook-Flow: Secondary
// (README, "Cloud admin webhooks"); sub-tasks deleted with their parent
// are fallout too.
func (s *Simulator) removeIssue(base string, is *issue, u *user, secondary bool) {
	s.emit(base, event{name: "jira:issue_deleted", is: is, user: u, secondary: secondary})
	if !s.dc {
		for _, c := range is.Comments {
			s.emit(base, event{name: "comment_deleted", is: is, user: u, comment: c, secondary: true})
		}
	}
	delete(s.issues, is.ID)
	delete(s.byKey, is.Key)
	for _, k := range is.OldKeys {
		delete(s.byKey, k)
	}
	for _, a := range is.Attachments {
		delete(s.attachments, a.ID)
	}
	if p := is.Parent; p != nil {
		for i, st := range p.Subtasks {
			if st == is {
				p.Subtasks = append(p.Subtasks[:i:i], p.Subtasks[i+1:]...)
				break
			}
		}
	}
	is.deleted = true
	s.compactOrder()
}

// compactOrder drops deleted issues from the creation-order list once they
// make up a quarter of it.
func (s *Simulator) compactOrder() {
	if len(s.order)-len(s.issues) < len(s.order)/4+1 {
		return
	}
	live := s.order[:0]
	for _, is := range s.order {
		if !is.deleted {
			live = append(live, is)
		}
	}
	for i := len(live); i < len(s.order); i++ {
		s.order[i] = nil
	}
	s.order = live
}

func (s *Simulator) bulkFetch(rq *request) {
	var in struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		Fields         []string `json:"fields"`
		Expand         []string `json:"expand"`
		Properties     []string `json:"properties"`
		FieldsByKeys   bool     `json:"fieldsByKeys"`
	}
	if !rq.decode(&in) {
		return
	}
	if len(in.IssueIDsOrKeys) == 0 {
		rq.failFields(http.StatusBadRequest, map[string]string{"issueIdsOrKeys": "At least one issue ID or key must be provided."})
		return
	}
	if len(in.IssueIDsOrKeys) > 100 {
		rq.fail(http.StatusBadRequest, "The number of issues requested exceeds the limit of 100.")
		return
	}
	o := issueOptions{
		fields:    parseFieldSelection(in.Fields, "*navigable"),
		changelog: hasExpand(in.Expand, "changelog"),
		props:     in.Properties,
	}
	s.mu.RLock()
	issues := []any{}
	issueErrors := []any{}
	for _, k := range in.IssueIDsOrKeys {
		is := s.lookupIssue(k)
		if is == nil {
			issueErrors = append(issueErrors, map[string]any{"id": k, "errorMessage": msgNoIssue})
			continue
		}
		issues = append(issues, rq.view.issue(is, o))
	}
	b, err := json.Marshal(map[string]any{"issues": issues, "issueErrors": issueErrors})
	s.mu.RUnlock()
	if err != nil {
		rq.fail(http.StatusInternalServerError, "encode issues: "+err.Error())
		return
	}
	rq.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	rq.w.WriteHeader(http.StatusOK)
	_, _ = rq.w.Write(b)
}
