package jirasim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file serves the operations the profiles added: the paged changelog,
// editmeta, resolutions, my permissions, per-project priorities and
// priority schemes, the approximate search count and the deprecated
// all-projects createmeta.

// maxChangelogInIssue is how many histories Get issue with
// expand=changelog returns on Cloud: the most recent 100 (pycontribs/jira
// issue 911).
const maxChangelogInIssue = 100

// issueChangelog renders the changelog of an IssueBean. Cloud lists "a
// list of recent updates to an issue, sorted by date, starting from the
// most recent" (OpenAPI document, Get issue, parameter expand), truncated
// to the most recent 100; Data Center lists every history oldest first, as
// its ChangeHistoryManager returns them. Clients must sort by created.
func (v view) issueChangelog(is *issue) map[string]any {
	total := len(is.History)
	var hs []any
	if v.dc {
		hs = make([]any, 0, total)
		for _, h := range is.History {
			hs = append(hs, v.history(h))
		}
	} else {
		n := min(total, maxChangelogInIssue)
		hs = make([]any, 0, n)
		for i := total - 1; i >= total-n; i-- {
			hs = append(hs, v.history(is.History[i]))
		}
	}
	return map[string]any{"startAt": 0, "maxResults": len(hs), "total": total, "histories": hs}
}

// getChangelog is Get changelogs (Cloud): paged "starting from the
// oldest", maxResults 100 by default and at most.
func (s *Simulator) getChangelog(rq *request) {
	startAt, maxResults, ok := rq.pageParams(100, 100)
	if !ok {
		return
	}
	if maxResults == 0 {
		maxResults = 100
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	vals := []any{}
	for _, h := range page(is.History, startAt, maxResults) {
		vals = append(vals, rq.view.history(h))
	}
	self := rq.view.issueSelf(is) + "/changelog"
	m := map[string]any{
		"self":       self + "?startAt=" + strconv.Itoa(startAt) + "&maxResults=" + strconv.Itoa(maxResults),
		"maxResults": maxResults,
		"startAt":    startAt,
		"total":      len(is.History),
		"isLast":     startAt+len(vals) >= len(is.History),
		"values":     vals,
	}
	if next := startAt + len(vals); next < len(is.History) {
		m["nextPage"] = self + "?startAt=" + strconv.Itoa(next) + "&maxResults=" + strconv.Itoa(maxResults)
	}
	rq.json(http.StatusOK, m)
}

// editable reports whether field f is on the edit screen of the issue:
// an editable field its project has on its screens, except the security
// level of a sub-task, which follows its parent's.
func editable(is *issue, f *fieldDef) bool {
	return f.Editable && is.Project.onScreen(f.ID) && !(f.Kind == kindSecurity && is.Type.Subtask)
}

// editScreen lists the fields of an issue's edit screen: editable fields
// its project has on its screens.
func editScreen(is *issue) []*fieldDef {
	var out []*fieldDef
	for _, f := range allFields {
		if editable(is, f) {
			out = append(out, f)
		}
	}
	return out
}

// getEditMeta is Get edit issue metadata: the fields PUT issue accepts for
// this issue, so clients learn per project what they may set (OPS has no
// Labels).
func (s *Simulator) getEditMeta(rq *request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	fields := map[string]any{}
	for _, f := range editScreen(is) {
		m := s.createMetaField(rq.view, is.Project, f, is.Type)
		delete(m, "fieldId")
		delete(m, "hasDefaultValue")
		delete(m, "defaultValue")
		if f.Kind == kindLabels || f.Kind == kindMultiSelect {
			m["operations"] = []string{"add", "set", "remove"}
		} else {
			m["operations"] = []string{"set"}
		}
		m["required"] = f.required(is.Type.ID)
		fields[f.ID] = m
	}
	rq.json(http.StatusOK, map[string]any{"fields": fields})
}

func (s *Simulator) getResolutions(rq *request) {
	out := make([]any, 0, len(allResolutions))
	for _, r := range allResolutions {
		out = append(out, rq.view.resolution(r))
	}
	rq.json(http.StatusOK, out)
}

// permissionDef is a Jira permission as Get my permissions reports it.
type permissionDef struct {
	ID, Key, Name, Type, Description string
	// AdminOnly: only site administrators hold it in the simulator.
	AdminOnly bool
}

// allPermissions are the permissions the simulator knows, with Jira's ids,
// names and descriptions.
var allPermissions = []permissionDef{
	{"0", "ADMINISTER", "Administer Jira", "GLOBAL", "Create and administer projects, issue types, fields, workflows, and schemes for all projects. Users with this permission can perform most administration tasks, except: managing users, importing data, and editing system email settings.", true},
	{"23", "ADMINISTER_PROJECTS", "Administer Projects", "PROJECT", "Ability to administer a project in Jira.", true},
	{"10", "BROWSE_PROJECTS", "Browse Projects", "PROJECT", "Ability to browse projects and the issues within them.", false},
	{"11", "CREATE_ISSUES", "Create Issues", "PROJECT", "Ability to create issues.", false},
	{"12", "EDIT_ISSUES", "Edit Issues", "PROJECT", "Ability to edit issues.", false},
	{"46", "TRANSITION_ISSUES", "Transition Issues", "PROJECT", "Ability to transition issues.", false},
	{"16", "DELETE_ISSUES", "Delete Issues", "PROJECT", "Ability to delete issues.", false},
	{"13", "ASSIGN_ISSUES", "Assign Issues", "PROJECT", "Ability to assign issues to other people.", false},
	{"17", "ASSIGNABLE_USER", "Assignable User", "PROJECT", "Users with this permission may be assigned to issues.", false},
	{"15", "ADD_COMMENTS", "Add Comments", "PROJECT", "Ability to comment on issues.", false},
	{"34", "EDIT_ALL_COMMENTS", "Edit All Comments", "PROJECT", "Ability to edit all comments made on issues.", true},
	{"36", "DELETE_ALL_COMMENTS", "Delete All Comments", "PROJECT", "Ability to delete all comments made on issues.", true},
	{"19", "CREATE_ATTACHMENTS", "Create Attachments", "PROJECT", "Users with this permission may create attachments.", false},
	{"1", "USE", "Browse users and groups", "GLOBAL", "Browse users and groups.", false},
}

// getMyPermissions is Get my permissions: the admin holds every permission,
// dev every one except the administrative ones. Cloud requires the
// permissions parameter; Data Center lists all permissions without it.
func (s *Simulator) getMyPermissions(rq *request) {
	q := rq.r.URL.Query()
	want := rq.queryList("permissions")
	if len(want) == 0 && !s.dc {
		rq.fail(http.StatusBadRequest, "The 'permissions' query parameter is required.")
		return
	}
	if k := q.Get("projectKey"); k != "" && projectByIDOrKey(k, false) == nil {
		rq.fail(http.StatusNotFound, "No project could be found with key '"+k+"'.")
		return
	}
	if id := q.Get("projectId"); id != "" && projectByIDOrKey(id, false) == nil {
		rq.fail(http.StatusNotFound, "No project could be found with id '"+id+"'.")
		return
	}
	if k := q.Get("issueKey"); k != "" {
		s.mu.RLock()
		is := s.lookupIssue(k)
		s.mu.RUnlock()
		if is == nil {
			s.issueNotFound(rq)
			return
		}
	}
	out := map[string]any{}
	for _, k := range want {
		found := false
		for _, p := range allPermissions {
			if p.Key == strings.ToUpper(k) {
				found = true
			}
		}
		if !found {
			rq.fail(http.StatusBadRequest, "Invalid permission key: "+k)
			return
		}
	}
	for _, p := range allPermissions {
		if len(want) > 0 && !containsFold(want, p.Key) {
			continue
		}
		out[p.Key] = map[string]any{
			"id": p.ID, "key": p.Key, "name": p.Name, "type": p.Type, "description": p.Description,
			"havePermission": rq.user.Admin || !p.AdminOnly,
		}
	}
	rq.json(http.StatusOK, map[string]any{"permissions": out})
}

// priorityJSON renders a priority as the priority lists show it.
func (s *Simulator) priorityJSON(v view, p *priority, def *priority) map[string]any {
	m := v.priority(p).(map[string]any)
	m["statusColor"] = p.Color
	m["description"] = p.Description
	if !s.dc {
		m["isDefault"] = p == def
	}
	return m
}

// searchPriorities is Search priorities: with projectId, only the
// priorities of that project's priority scheme.
func (s *Simulator) searchPriorities(rq *request) {
	startAt, maxResults, ok := rq.pageParams(50, 100)
	if !ok {
		return
	}
	prios := allPriorities
	if ids := rq.queryList("projectId"); len(ids) > 0 {
		seen := map[*priority]bool{}
		for _, id := range ids {
			p := projectByIDOrKey(id, false)
			if p == nil || p.ID != id {
				rq.fail(http.StatusBadRequest, "The project with id '"+id+"' does not exist.")
				return
			}
			for _, pr := range p.Priorities {
				seen[pr] = true
			}
		}
		prios = []*priority{}
		for _, pr := range allPriorities { // keep the site's order
			if seen[pr] {
				prios = append(prios, pr)
			}
		}
	}
	if ids := rq.queryList("id"); len(ids) > 0 {
		var keep []*priority
		for _, pr := range prios {
			if containsFold(ids, pr.ID) {
				keep = append(keep, pr)
			}
		}
		prios = keep
	}
	vals := []any{}
	for _, pr := range page(prios, startAt, maxResults) {
		vals = append(vals, s.priorityJSON(rq.view, pr, secProject.Default))
	}
	rq.json(http.StatusOK, map[string]any{
		"self":       rq.view.rest() + "/priority/search?startAt=" + strconv.Itoa(startAt) + "&maxResults=" + strconv.Itoa(maxResults),
		"maxResults": maxResults,
		"startAt":    startAt,
		"total":      len(prios),
		"isLast":     startAt+len(vals) >= len(prios),
		"values":     vals,
	})
}

// getPrioritySchemes is Get priority schemes (Cloud): the default scheme
// (SEC) and the Operations scheme (OPS, without Lowest), with their
// priorities and projects when expanded.
func (s *Simulator) getPrioritySchemes(rq *request) {
	startAt, maxResults, ok := rq.pageParams(50, 100)
	if !ok {
		return
	}
	v := rq.view
	expand := rq.queryList("expand")
	all := []any{}
	for _, p := range allProjects {
		if ids := rq.queryList("schemeId"); len(ids) > 0 && !containsFold(ids, p.SchemeID) {
			continue
		}
		m := map[string]any{
			"id":                p.SchemeID,
			"name":              p.SchemeName,
			"description":       "Priorities of project " + p.Key + ".",
			"default":           p == secProject,
			"defaultPriorityId": p.Default.ID,
			"self":              v.rest() + "/priorityscheme/" + p.SchemeID,
		}
		prios := []any{}
		for i, pr := range p.Priorities {
			pm := s.priorityJSON(v, pr, p.Default)
			pm["sequence"] = strconv.Itoa(i)
			prios = append(prios, pm)
		}
		if containsFold(expand, "priorities") {
			m["priorities"] = map[string]any{"maxResults": 50, "startAt": 0, "total": len(prios), "isLast": true, "values": prios}
		}
		if containsFold(expand, "projects") {
			proj := map[string]any{"id": p.ID, "key": p.Key, "name": p.Name, "self": v.rest() + "/project/" + p.ID,
				"projectTypeKey": "software", "simplified": false, "avatarUrls": v.projectAvatars(p)}
			m["projects"] = map[string]any{"maxResults": 50, "startAt": 0, "total": 1, "isLast": true, "values": []any{proj}}
		}
		all = append(all, m)
	}
	vals := page(all, startAt, maxResults)
	rq.json(http.StatusOK, map[string]any{
		"self":       v.rest() + "/priorityscheme?startAt=" + strconv.Itoa(startAt) + "&maxResults=" + strconv.Itoa(maxResults),
		"maxResults": maxResults,
		"startAt":    startAt,
		"total":      len(all),
		"isLast":     startAt+len(vals) >= len(all),
		"values":     vals,
	})
}

// approximateCount is Count issues using JQL (Cloud): how a count is had
// now that /search/jql has no total. Search lag applies to it as to the
// search.
func (s *Simulator) approximateCount(rq *request) {
	var in struct {
		JQL string `json:"jql"`
	}
	if !rq.decode(&in) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	found, ok := s.boundedJQL(rq, in.JQL)
	if !ok {
		return
	}
	found = s.visible(found, rq.now, nil)
	rq.json(http.StatusOK, map[string]any{"count": len(found)})
}

// getCreateMetaOld is the deprecated all-projects createmeta: still served
// (deprecated) by Cloud, removed in Data Center 9, where it answers 404
// rather than falling through to Get issue with an issue key "createmeta".
func (s *Simulator) getCreateMetaOld(rq *request) {
	if s.dc {
		s.notFoundURI(rq.w, rq.r)
		return
	}
	q := rq.r.URL.Query()
	keys := rq.queryList("projectKeys")
	ids := rq.queryList("projectIds")
	typeIDs := rq.queryList("issuetypeIds")
	typeNames := rq.queryList("issuetypeNames")
	withFields := hasExpand(q["expand"], "projects.issuetypes.fields")
	v := rq.view
	projects := []any{}
	for _, p := range allProjects {
		if (len(keys) > 0 || len(ids) > 0) && !containsFold(keys, p.Key) && !containsFold(ids, p.ID) {
			continue
		}
		types := []any{}
		for _, t := range allTypes {
			if len(typeIDs) > 0 && !containsFold(typeIDs, t.ID) {
				continue
			}
			if len(typeNames) > 0 && !containsFold(typeNames, t.Name) {
				continue
			}
			m := v.issueType(t)
			if withFields {
				fields := map[string]any{}
				for _, f := range createScreen(p, t) {
					fm := s.createMetaField(v, p, f, t)
					delete(fm, "fieldId")
					fields[f.ID] = fm
				}
				m["fields"] = fields
			}
			types = append(types, m)
		}
		projects = append(projects, map[string]any{
			"self": v.rest() + "/project/" + p.ID, "id": p.ID, "key": p.Key, "name": p.Name,
			"avatarUrls": v.projectAvatars(p), "issuetypes": types,
		})
	}
	rq.json(http.StatusOK, map[string]any{"expand": "projects", "projects": projects})
}

// issueNotFound answers 404 for an unknown issue: Cloud's message, or Data
// Center's "Issue Does Not Exist".
func (s *Simulator) issueNotFound(rq *request) {
	if s.dc {
		rq.fail(http.StatusNotFound, "Issue Does Not Exist")
		return
	}
	rq.fail(http.StatusNotFound, msgNoIssue)
}

// SetSearchLag makes issues created within the last d (by the simulator's
// clock) invisible to search (/search, /search/jql, approximate-count)
// while GET issue already serves them: Cloud search is eventually
// consistent ("from a few seconds to minutes", JRACLOUD-96208). Zero, the
// default, turns it off. Like POST /_sim/search-lag.
func (s *Simulator) SetSearchLag(d time.Duration) {
	if d < 0 {
		d = 0
	}
	s.searchLag.Store(int64(d))
}

// SearchLag returns the search lag in force.
func (s *Simulator) SearchLag() time.Duration { return time.Duration(s.searchLag.Load()) }

// visible drops the issues search does not see yet; ids in reconcile (the
// reconcileIssues of /search/jql) are always seen. The caller holds s.mu.
func (s *Simulator) visible(found []*issue, now time.Time, reconcile map[int64]bool) []*issue {
	lag := s.SearchLag()
	if lag <= 0 {
		return found
	}
	cut := now.Add(-lag)
	out := found[:0:0]
	for _, is := range found {
		if is.Created.After(cut) && !reconcile[is.ID] {
			continue
		}
		out = append(out, is)
	}
	return out
}
