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
	if s.dc {
		// Real Data Center answers deploymentType "Server".
		m["version"] = "9.12.2"
		m["versionNumbers"] = []int{9, 12, 2}
		m["deploymentType"] = "Server"
		m["buildNumber"] = 9120002
		m["buildDate"] = "2023-12-12T00:00:00.000+0000"
	} else {
		m["version"] = "1001.0.0-SNAPSHOT"
		m["versionNumbers"] = []int{1001, 0, 0}
		m["deploymentType"] = "Cloud"
		m["buildNumber"] = 100282
		m["buildDate"] = "2025-12-01T00:00:00.000+0000"
		m["defaultLocale"] = map[string]any{"locale": "en_US"}
		m["serverTimeZone"] = "Etc/UTC"
	}
	rq.json(http.StatusOK, m)
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
func (s *Simulator) projectFull(v view) map[string]any {
	types := make([]any, 0, len(allTypes))
	for _, t := range allTypes {
		types = append(types, v.issueType(t))
	}
	m := map[string]any{
		"expand":         "description,lead,issueTypes,url,projectKeys,permissions,insight",
		"self":           v.rest() + "/project/" + secProject.ID,
		"id":             secProject.ID,
		"key":            secProject.Key,
		"name":           secProject.Name,
		"description":    secProject.Description,
		"lead":           v.user(s.users[0]),
		"components":     []any{},
		"issueTypes":     types,
		"assigneeType":   "UNASSIGNED",
		"versions":       []any{},
		"avatarUrls":     v.projectAvatars(),
		"projectTypeKey": "software",
		"roles":          map[string]any{"Administrators": v.rest() + "/project/" + secProject.ID + "/role/10002"},
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
func (s *Simulator) projectShort(v view) map[string]any {
	m := map[string]any{
		"expand":         "description,lead,issueTypes,url,projectKeys,permissions,insight",
		"self":           v.rest() + "/project/" + secProject.ID,
		"id":             secProject.ID,
		"key":            secProject.Key,
		"name":           secProject.Name,
		"avatarUrls":     v.projectAvatars(),
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
	rq.json(http.StatusOK, []any{s.projectShort(rq.view)})
}

func (s *Simulator) searchProjects(rq *request) {
	startAt, ok := rq.queryInt("startAt", 0, 0)
	if !ok {
		return
	}
	maxResults, ok := rq.queryInt("maxResults", 50, 100)
	if !ok {
		return
	}
	all := []any{s.projectShort(rq.view)}
	if q := strings.ToLower(rq.r.URL.Query().Get("query")); q != "" &&
		!strings.Contains(strings.ToLower(secProject.Key), q) && !strings.Contains(strings.ToLower(secProject.Name), q) {
		all = nil
	}
	if keys := rq.queryList("keys"); len(keys) > 0 && !containsFold(keys, secProject.Key) {
		all = nil
	}
	page := []any{}
	if startAt < len(all) {
		end := min(len(all), startAt+maxResults)
		page = all[startAt:end]
	}
	rq.json(http.StatusOK, map[string]any{
		"self":       rq.view.rest() + "/project/search?startAt=" + strconv.Itoa(startAt) + "&maxResults=" + strconv.Itoa(maxResults),
		"maxResults": maxResults,
		"startAt":    startAt,
		"total":      len(all),
		"isLast":     startAt+maxResults >= len(all),
		"values":     page,
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

// projectParam checks a {projectIdOrKey} path parameter; it answers 404
// itself and returns false when the project does not exist.
func (s *Simulator) projectParam(rq *request) bool {
	p := rq.params["projectIdOrKey"]
	if p == secProject.ID || strings.EqualFold(p, secProject.Key) {
		return true
	}
	rq.fail(http.StatusNotFound, "No project could be found with key '"+p+"'.")
	return false
}

func (s *Simulator) getProject(rq *request) {
	if !s.projectParam(rq) {
		return
	}
	rq.json(http.StatusOK, s.projectFull(rq.view))
}

func (s *Simulator) getProjectStatuses(rq *request) {
	if !s.projectParam(rq) {
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
	if !s.projectParam(rq) {
		return
	}
	startAt, ok := rq.queryInt("startAt", 0, 0)
	if !ok {
		return
	}
	maxResults, ok := rq.queryInt("maxResults", 50, 200)
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
func (s *Simulator) createMetaField(v view, f *fieldDef, t *issueType) map[string]any {
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
		p := v.projectRef()
		m["allowedValues"] = []any{p}
	case kindPriority:
		vals := make([]any, 0, len(allPriorities))
		for _, p := range allPriorities {
			vals = append(vals, v.priority(p))
		}
		m["allowedValues"] = vals
		m["hasDefaultValue"] = true
		m["defaultValue"] = v.priority(defaultPriority)
	case kindSelect, kindMultiSelect:
		vals := make([]any, 0, len(f.Options))
		for i := range f.Options {
			vals = append(vals, v.option(f, &f.Options[i]))
		}
		m["allowedValues"] = vals
	case kindUser:
		if s.dc {
			m["autoCompleteUrl"] = v.rest() + "/user/assignable/search?project=" + secProject.Key + "&username="
		} else {
			m["autoCompleteUrl"] = v.rest() + "/user/assignable/search?project=" + secProject.Key + "&query="
		}
		if f.ID == "reporter" {
			m["hasDefaultValue"] = true
		}
	case kindLabels:
		m["autoCompleteUrl"] = v.base + "/rest/api/1.0/labels/suggest?query="
	}
	return m
}

// createScreen lists the fields on the create screen of an issue type.
func createScreen(t *issueType) []*fieldDef {
	out := make([]*fieldDef, 0, len(allFields))
	for _, f := range allFields {
		if !f.OnCreate || (f.Kind == kindParent && !t.Subtask) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *Simulator) getCreateMetaFields(rq *request) {
	if !s.projectParam(rq) {
		return
	}
	t := typeByIDOrName(rq.params["issueTypeId"], "")
	if t == nil {
		rq.fail(http.StatusBadRequest, "The issue type with id '"+rq.params["issueTypeId"]+"' does not exist or is not valid for project '"+secProject.Key+"'.")
		return
	}
	startAt, ok := rq.queryInt("startAt", 0, 0)
	if !ok {
		return
	}
	maxResults, ok := rq.queryInt("maxResults", 50, 200)
	if !ok {
		return
	}
	all := []any{}
	for _, f := range createScreen(t) {
		all = append(all, s.createMetaField(rq.view, f, t))
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
			m["isDefault"] = p == defaultPriority
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
