package jirasim

import (
	"net/http"
	"strconv"
	"strings"
)

// This file serves the read-only metadata operations: serverInfo, myself,
// projects, createmeta, fields, priorities and statuses.

func (s *Simulator) getServerInfo(rq *request) {
	v := rq.view
	m := map[string]any{
		"baseUrl":     v.base,
		"serverTime":  serverTime(rq.now),
		"scmInfo":     "2c3ac6b7d5e4b20e9b5ba0a8bd2bfad8b2cde1f1",
		"serverTitle": "Jira",
	}
	info := profileInfos[s.profile]
	m["version"] = info.version
	m["versionNumbers"] = info.numbers
	m["buildNumber"] = info.buildNumber
	m["buildDate"] = info.buildDate
	if s.dc {
		// Real Data Center answers deploymentType "Server".
		m["deploymentType"] = "Server"
	} else {
		m["deploymentType"] = "Cloud"
		m["defaultLocale"] = map[string]any{"locale": "en_US"}
		m["serverTimeZone"] = "Etc/UTC"
	}
	rq.json(http.StatusOK, m)
}

// getTenantInfo answers Cloud's unauthenticated site identity endpoint:
// {"cloudId": "…"}, the same for every request to this site.
func (s *Simulator) getTenantInfo(rq *request) {
	rq.json(http.StatusOK, map[string]any{"cloudId": s.cloudID})
}

// searchUsers is user/search: Cloud matches ?query= against display
// names and (visible) emails; Data Center matches ?username= against user
// names, emails and display names. Both answer a plain list.
func (s *Simulator) searchUsers(rq *request) {
	q := rq.r.URL.Query()
	term := strings.ToLower(strings.TrimSpace(q.Get("query")))
	if s.dc {
		term = strings.ToLower(strings.TrimSpace(q.Get("username")))
	}
	if term == "" {
		param := "query"
		if s.dc {
			param = "username"
		}
		rq.fail(http.StatusBadRequest, "The '"+param+"' query parameter is required.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	for _, u := range s.users {
		match := strings.Contains(strings.ToLower(u.DisplayName), term)
		if s.dc {
			match = match || strings.Contains(strings.ToLower(u.Name), term) || strings.Contains(strings.ToLower(u.Email), term)
		} else if !u.HideEmail {
			match = match || strings.Contains(strings.ToLower(u.Email), term)
		}
		if match {
			out = append(out, rq.view.user(u))
		}
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) getMyself(rq *request) {
	m := rq.view.user(rq.user).(map[string]any)
	m["locale"] = "en_US"
	m["groups"] = map[string]any{"size": 1, "items": []any{}}
	m["applicationRoles"] = map[string]any{"size": 1, "items": []any{}}
	m["expand"] = "groups,applicationRoles"
	rq.json(http.StatusOK, m)
}

// projectFull is a Project as GET project/{key} answers it.
func (s *Simulator) projectFull(v view, p *project) map[string]any {
	types := make([]any, 0, len(allTypes))
	for _, t := range allTypes {
		types = append(types, v.issueType(t))
	}
	m := map[string]any{
		"expand":         "description,lead,issueTypes,url,projectKeys,permissions,insight",
		"self":           v.rest() + "/project/" + p.ID,
		"id":             p.ID,
		"key":            p.Key,
		"name":           p.Name,
		"description":    p.Description,
		"lead":           v.user(s.users[0]),
		"components":     []any{},
		"issueTypes":     types,
		"assigneeType":   "UNASSIGNED",
		"versions":       []any{},
		"avatarUrls":     v.projectAvatars(p),
		"projectTypeKey": "software",
		"roles":          map[string]any{"Administrators": v.rest() + "/project/" + p.ID + "/role/10002"},
	}
	if !s.dc {
		m["simplified"] = false
		m["style"] = "classic"
		m["isPrivate"] = false
		m["properties"] = map[string]any{}
	}
	return m
}

// projectShort is a Project as the project lists show it.
func (s *Simulator) projectShort(v view, p *project) map[string]any {
	m := map[string]any{
		"expand":         "description,lead,issueTypes,url,projectKeys,permissions,insight",
		"self":           v.rest() + "/project/" + p.ID,
		"id":             p.ID,
		"key":            p.Key,
		"name":           p.Name,
		"avatarUrls":     v.projectAvatars(p),
		"projectTypeKey": "software",
	}
	if !s.dc {
		m["simplified"] = false
		m["style"] = "classic"
		m["isPrivate"] = false
		m["properties"] = map[string]any{}
	}
	return m
}

func (s *Simulator) getProjects(rq *request) {
	out := make([]any, 0, len(allProjects))
	for _, p := range allProjects {
		out = append(out, s.projectShort(rq.view, p))
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) searchProjects(rq *request) {
	startAt, maxResults, ok := rq.pageParams(50, 100)
	if !ok {
		return
	}
	q := strings.ToLower(rq.r.URL.Query().Get("query"))
	keys := rq.queryList("keys")
	all := []any{}
	for _, p := range allProjects {
		if q != "" && !strings.Contains(strings.ToLower(p.Key), q) && !strings.Contains(strings.ToLower(p.Name), q) {
			continue
		}
		if len(keys) > 0 && !containsFold(keys, p.Key) {
			continue
		}
		all = append(all, s.projectShort(rq.view, p))
	}
	rq.json(http.StatusOK, map[string]any{
		"self":       rq.view.rest() + "/project/search?startAt=" + strconv.Itoa(startAt) + "&maxResults=" + strconv.Itoa(maxResults),
		"maxResults": maxResults,
		"startAt":    startAt,
		"total":      len(all),
		"isLast":     startAt+maxResults >= len(all),
		"values":     page(all, startAt, maxResults),
	})
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// projectParam resolves a {projectIdOrKey} path parameter; it answers 404
// itself and returns nil when the project does not exist.
func (s *Simulator) projectParam(rq *request) *project {
	ref := rq.params["projectIdOrKey"]
	if p := projectByIDOrKey(ref, false); p != nil {
		return p
	}
	rq.fail(http.StatusNotFound, "No project could be found with key '"+ref+"'.")
	return nil
}

func (s *Simulator) getProject(rq *request) {
	p := s.projectParam(rq)
	if p == nil {
		return
	}
	rq.json(http.StatusOK, s.projectFull(rq.view, p))
}

func (s *Simulator) getProjectStatuses(rq *request) {
	if s.projectParam(rq) == nil {
		return
	}
	v := rq.view
	out := make([]any, 0, len(allTypes))
	for _, t := range allTypes {
		sts := make([]any, 0, len(allStatuses))
		for _, st := range allStatuses {
			sts = append(sts, v.status(st))
		}
		out = append(out, map[string]any{
			"self":     v.rest() + "/issuetype/" + t.ID,
			"id":       t.ID,
			"name":     t.Name,
			"subtask":  t.Subtask,
			"statuses": sts,
		})
	}
	rq.json(http.StatusOK, out)
}

// pageParams reads Jira's offset paging parameters: startAt (default 0)
// and maxResults (default def, at most max); a bad value has been answered
// with 400 when ok is false.
func (rq *request) pageParams(def, max int) (startAt, maxResults int, ok bool) {
	if startAt, ok = rq.queryInt("startAt", 0, 0); !ok {
		return 0, 0, false
	}
	maxResults, ok = rq.queryInt("maxResults", def, max)
	return startAt, maxResults, ok
}

// page slices a list for startAt/maxResults paging.
func page[T any](all []T, startAt, maxResults int) []T {
	if startAt >= len(all) {
		return []T{}
	}
	return all[startAt:min(len(all), startAt+maxResults)]
}

// getCreateMetaTypes answers the issue types of the create screen. Cloud
// wraps them in "issueTypes"; Data Center, like its other paged beans, in
// "values" with "isLast".
func (s *Simulator) getCreateMetaTypes(rq *request) {
	if s.projectParam(rq) == nil {
		return
	}
	startAt, maxResults, ok := rq.pageParams(50, 200)
	if !ok {
		return
	}
	v := rq.view
	all := make([]any, 0, len(allTypes))
	for _, t := range allTypes {
		m := v.issueType(t)
		if !s.dc {
			delete(m, "hierarchyLevel")
		}
		all = append(all, m)
	}
	out := map[string]any{"maxResults": maxResults, "startAt": startAt, "total": len(all)}
	if s.dc {
		out["values"] = page(all, startAt, maxResults)
		out["isLast"] = startAt+maxResults >= len(all)
	} else {
		out["issueTypes"] = page(all, startAt, maxResults)
	}
	rq.json(http.StatusOK, out)
}

// createMetaField renders one field of the create screen, with the keys
// of the recorded createmeta files (schema, required, allowedValues,
// hasDefaultValue, operations) plus fieldId and key, which the
// per-issue-type endpoint adds.
func (s *Simulator) createMetaField(v view, p *project, f *fieldDef, t *issueType) map[string]any {
	schema := map[string]any{"type": f.Type}
	if f.Items != "" {
		schema["items"] = f.Items
	}
	if f.Custom {
		schema["custom"] = f.CustomType
		schema["customId"] = f.CustomID
	} else {
		schema["system"] = f.ID
	}
	required := f.required(t.ID) || (f.Kind == kindParent && t.Subtask) || (f.ID == "reporter")
	m := map[string]any{
		"required":        required,
		"schema":          schema,
		"name":            f.Name,
		"key":             f.ID,
		"fieldId":         f.ID,
		"hasDefaultValue": false,
		"operations":      append([]string{}, f.CreateOps...),
	}
	switch f.Kind {
	case kindIssueType:
		m["allowedValues"] = []any{v.issueType(t)}
	case kindProject:
		m["allowedValues"] = []any{v.projectRef(p)}
	case kindPriority:
		vals := make([]any, 0, len(p.Priorities))
		for _, pr := range p.Priorities {
			vals = append(vals, v.priority(pr))
		}
		m["allowedValues"] = vals
		m["hasDefaultValue"] = true
		m["defaultValue"] = v.priority(p.Default)
	case kindSelect, kindMultiSelect:
		vals := make([]any, 0, len(f.Options))
		for i := range f.Options {
			vals = append(vals, v.option(f, &f.Options[i]))
		}
		m["allowedValues"] = vals
	case kindUser:
		if s.dc {
			m["autoCompleteUrl"] = v.rest() + "/user/assignable/search?project=" + p.Key + "&username="
		} else {
			m["autoCompleteUrl"] = v.rest() + "/user/assignable/search?project=" + p.Key + "&query="
		}
		if f.ID == "reporter" {
			m["hasDefaultValue"] = true
		}
	case kindLabels:
		m["autoCompleteUrl"] = v.base + "/rest/api/1.0/labels/suggest?query="
	case kindSecurity:
		vals := []any{}
		if p.Security != nil {
			for _, l := range p.Security.Levels {
				vals = append(vals, v.securityLevel(l))
			}
			if p.Security.Default != nil {
				m["hasDefaultValue"] = true
				m["defaultValue"] = v.securityLevel(p.Security.Default)
			}
		}
		m["allowedValues"] = vals
	}
	return m
}

// createScreen lists the fields on the create screen of a project's issue
// type.
func createScreen(p *project, t *issueType) []*fieldDef {
	out := make([]*fieldDef, 0, len(allFields))
	for _, f := range allFields {
		// A sub-task takes its parent's security level: Jira offers no
		// security field on its screens.
		if !f.OnCreate || (f.Kind == kindParent && !t.Subtask) || (f.Kind == kindSecurity && t.Subtask) || !p.onScreen(f.ID) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *Simulator) getCreateMetaFields(rq *request) {
	p := s.projectParam(rq)
	if p == nil {
		return
	}
	t := typeByIDOrName(rq.params["issueTypeId"], "")
	if t == nil {
		rq.fail(http.StatusBadRequest, "The issue type with id '"+rq.params["issueTypeId"]+"' does not exist or is not valid for project '"+p.Key+"'.")
		return
	}
	startAt, maxResults, ok := rq.pageParams(50, 200)
	if !ok {
		return
	}
	all := []any{}
	for _, f := range createScreen(p, t) {
		all = append(all, s.createMetaField(rq.view, p, f, t))
	}
	out := map[string]any{"maxResults": maxResults, "startAt": startAt, "total": len(all)}
	if s.dc {
		out["values"] = page(all, startAt, maxResults)
		out["isLast"] = startAt+maxResults >= len(all)
	} else {
		out["fields"] = page(all, startAt, maxResults)
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) getFields(rq *request) {
	out := make([]any, 0, len(allFields))
	for _, f := range allFields {
		schema := map[string]any{"type": f.Type}
		if f.Items != "" {
			schema["items"] = f.Items
		}
		if f.Custom {
			schema["custom"] = f.CustomType
			schema["customId"] = f.CustomID
		} else {
			schema["system"] = f.ID
		}
		m := map[string]any{
			"id":          f.ID,
			"key":         f.ID,
			"name":        f.Name,
			"custom":      f.Custom,
			"orderable":   f.Orderable,
			"navigable":   f.Navigable,
			"searchable":  true,
			"clauseNames": f.ClauseNames,
			"schema":      schema,
		}
		out = append(out, m)
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) getPriorities(rq *request) {
	v := rq.view
	out := make([]any, 0, len(allPriorities))
	for _, p := range allPriorities {
		m := v.priority(p).(map[string]any)
		m["statusColor"] = p.Color
		m["description"] = p.Description
		if !s.dc {
			m["isDefault"] = p == secProject.Default
		}
		out = append(out, m)
	}
	rq.json(http.StatusOK, out)
}

func (s *Simulator) getStatuses(rq *request) {
	out := make([]any, 0, len(allStatuses))
	for _, st := range allStatuses {
		out = append(out, rq.view.status(st))
	}
	rq.json(http.StatusOK, out)
}
