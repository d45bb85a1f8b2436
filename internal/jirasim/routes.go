package jirasim

import (
	"net/http"
	"slices"
	"strings"
)

// route is one REST operation. pattern uses Jira's own path templates;
// "{v}" stands for the REST version (2 or 3), which the deployment decides.
type route struct {
	method  string
	pattern string
	segs    []string
	handler func(*Simulator, *request)
	// auth: the operation needs credentials (serverInfo does not, as on
	// real Jira).
	auth bool
	// issueScoped: writes through this route count against the per-issue
	// write limit.
	issueScoped bool
	// cloudOnly: Data Center does not have this operation.
	cloudOnly bool
	// only: the profiles that have this operation (nil: all).
	only []Profile
}

// The webhook admin APIs: Cloud and Data Center 9 serve
// /rest/webhooks/1.0/webhook; Data Center 10 moved it to
// /rest/jira-webhook/1.0/webhooks (the old path answers 404 there).
var (
	oldWebhookAPI = []Profile{ProfileCloud, ProfileDC9}
	newWebhookAPI = []Profile{ProfileDC10}
)

// routes is the route table. Literal segments are listed before the
// parameterised routes they would otherwise collide with.
var routes = func() []*route {
	rs := []*route{
		{method: "GET", pattern: "/rest/api/{v}/serverInfo", handler: (*Simulator).getServerInfo},
		{method: "GET", pattern: "/_edge/tenant_info", handler: (*Simulator).getTenantInfo, cloudOnly: true},
		{method: "GET", pattern: "/rest/api/{v}/myself", handler: (*Simulator).getMyself, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/user/search", handler: (*Simulator).searchUsers, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project", handler: (*Simulator).getProjects, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project/search", handler: (*Simulator).searchProjects, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project/{projectIdOrKey}", handler: (*Simulator).getProject, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project/{projectIdOrKey}/securitylevel", handler: (*Simulator).getProjectSecurityLevels, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project/{projectIdOrKey}/issuesecuritylevelscheme", handler: (*Simulator).getProjectSecurityScheme, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/project/{projectIdOrKey}/statuses", handler: (*Simulator).getProjectStatuses, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/createmeta/{projectIdOrKey}/issuetypes", handler: (*Simulator).getCreateMetaTypes, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", handler: (*Simulator).getCreateMetaFields, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/field", handler: (*Simulator).getFields, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/priority", handler: (*Simulator).getPriorities, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/status", handler: (*Simulator).getStatuses, auth: true},
		{method: "POST", pattern: "/rest/api/{v}/issue", handler: (*Simulator).createIssue, auth: true},
		{method: "POST", pattern: "/rest/api/{v}/issue/bulkfetch", handler: (*Simulator).bulkFetch, auth: true, cloudOnly: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/createmeta", handler: (*Simulator).getCreateMetaOld, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}", handler: (*Simulator).getIssue, auth: true},
		{method: "PUT", pattern: "/rest/api/{v}/issue/{issueIdOrKey}", handler: (*Simulator).editIssue, auth: true, issueScoped: true},
		{method: "DELETE", pattern: "/rest/api/{v}/issue/{issueIdOrKey}", handler: (*Simulator).deleteIssue, auth: true, issueScoped: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/transitions", handler: (*Simulator).getTransitions, auth: true},
		{method: "POST", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/transitions", handler: (*Simulator).doTransition, auth: true, issueScoped: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/comment", handler: (*Simulator).getComments, auth: true},
		{method: "POST", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/comment", handler: (*Simulator).addComment, auth: true, issueScoped: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/comment/{id}", handler: (*Simulator).getComment, auth: true},
		{method: "PUT", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/comment/{id}", handler: (*Simulator).updateComment, auth: true, issueScoped: true},
		{method: "DELETE", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/comment/{id}", handler: (*Simulator).deleteComment, auth: true, issueScoped: true},
		{method: "POST", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/attachments", handler: (*Simulator).addAttachments, auth: true, issueScoped: true},
		{method: "GET", pattern: "/rest/api/{v}/attachment/content/{id}", handler: (*Simulator).getAttachmentContent, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/attachment/{id}", handler: (*Simulator).getAttachment, auth: true},
		{method: "GET", pattern: "/secure/attachment/{id}/{filename}", handler: (*Simulator).getAttachmentContent, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/properties", handler: (*Simulator).getPropertyKeys, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}", handler: (*Simulator).getProperty, auth: true},
		{method: "PUT", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}", handler: (*Simulator).setProperty, auth: true, issueScoped: true},
		{method: "DELETE", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}", handler: (*Simulator).deleteProperty, auth: true, issueScoped: true},
		{method: "POST", pattern: "/rest/api/{v}/issueLink", handler: (*Simulator).createIssueLink, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/search/jql", handler: (*Simulator).searchJQL, auth: true, cloudOnly: true},
		{method: "POST", pattern: "/rest/api/{v}/search/jql", handler: (*Simulator).searchJQL, auth: true, cloudOnly: true},
		{method: "GET", pattern: "/rest/api/{v}/search", handler: (*Simulator).searchOld, auth: true},
		{method: "POST", pattern: "/rest/api/{v}/search", handler: (*Simulator).searchOld, auth: true},
		{method: "GET", pattern: "/rest/webhooks/1.0/webhook", handler: (*Simulator).listWebhooks, auth: true, only: oldWebhookAPI},
		{method: "POST", pattern: "/rest/webhooks/1.0/webhook", handler: (*Simulator).registerWebhook, auth: true, only: oldWebhookAPI},
		{method: "GET", pattern: "/rest/webhooks/1.0/webhook/{id}", handler: (*Simulator).getWebhook, auth: true, only: oldWebhookAPI},
		{method: "PUT", pattern: "/rest/webhooks/1.0/webhook/{id}", handler: (*Simulator).updateWebhook, auth: true, only: oldWebhookAPI},
		{method: "DELETE", pattern: "/rest/webhooks/1.0/webhook/{id}", handler: (*Simulator).deleteWebhook, auth: true, only: oldWebhookAPI},
		{method: "GET", pattern: "/rest/jira-webhook/1.0/webhooks", handler: (*Simulator).listWebhooks, auth: true, only: newWebhookAPI},
		{method: "POST", pattern: "/rest/jira-webhook/1.0/webhooks", handler: (*Simulator).registerWebhook, auth: true, only: newWebhookAPI},
		{method: "GET", pattern: "/rest/jira-webhook/1.0/webhooks/{id}", handler: (*Simulator).getWebhook, auth: true, only: newWebhookAPI},
		{method: "PUT", pattern: "/rest/jira-webhook/1.0/webhooks/{id}", handler: (*Simulator).updateWebhook, auth: true, only: newWebhookAPI},
		{method: "DELETE", pattern: "/rest/jira-webhook/1.0/webhooks/{id}", handler: (*Simulator).deleteWebhook, auth: true, only: newWebhookAPI},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/changelog", handler: (*Simulator).getChangelog, auth: true, cloudOnly: true},
		{method: "GET", pattern: "/rest/api/{v}/issue/{issueIdOrKey}/editmeta", handler: (*Simulator).getEditMeta, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/resolution", handler: (*Simulator).getResolutions, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/mypermissions", handler: (*Simulator).getMyPermissions, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/priority/search", handler: (*Simulator).searchPriorities, auth: true},
		{method: "GET", pattern: "/rest/api/{v}/priorityscheme", handler: (*Simulator).getPrioritySchemes, auth: true, cloudOnly: true},
		{method: "POST", pattern: "/rest/api/{v}/search/approximate-count", handler: (*Simulator).approximateCount, auth: true, cloudOnly: true},
	}
	for _, r := range rs {
		r.segs = strings.Split(strings.Trim(r.pattern, "/"), "/")
	}
	return rs
}()

// match finds the route for a request. It returns the route, its path
// parameters and REST version, or a 404/405 code.
func (s *Simulator) match(method, path string) (*route, map[string]string, int, int) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	pathMatched := false
	for _, rt := range routes {
		if len(rt.segs) != len(segs) || (rt.cloudOnly && s.dc) || (rt.only != nil && !slices.Contains(rt.only, s.profile)) {
			continue
		}
		params, api, ok := s.matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.method != method && !(method == http.MethodHead && rt.method == http.MethodGet) {
			continue
		}
		return rt, params, api, 0
	}
	if pathMatched {
		return nil, nil, 0, http.StatusMethodNotAllowed
	}
	return nil, nil, 0, http.StatusNotFound
}

func (s *Simulator) matchSegs(pattern, segs []string) (map[string]string, int, bool) {
	var params map[string]string
	api := 0
	for i, p := range pattern {
		seg := segs[i]
		switch {
		case p == "{v}":
			switch seg {
			case "2":
				api = 2
			case "3":
				if s.dc {
					return nil, 0, false // Data Center has no REST v3
				}
				api = 3
			default:
				return nil, 0, false
			}
		case strings.HasPrefix(p, "{"):
			if seg == "" {
				return nil, 0, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = seg
		case p != seg:
			return nil, 0, false
		}
	}
	if api == 0 {
		api = 2
	}
	return params, api, true
}
