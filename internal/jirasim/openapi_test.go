package jirasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpenAPIConformance exercises every REST operation the simulator
// serves, on Cloud v3, Cloud v2 and Data Center v2, through
// jiraspec.Middleware: each request and each answer (successes and Jira's
// error answers alike) is validated against Atlassian's OpenAPI document
// (v2 against the matching v3 operation). The middleware fails the test on
// any mismatch; this test then checks that every operation was covered and
// lists the ones the document does not describe.

// documentedOps are the operationIds the simulator implements.
var documentedOps = []string{
	"addAttachment", "addComment", "bulkFetchIssues", "createIssue", "deleteComment",
	"deleteIssue", "deleteIssueProperty", "doTransition", "editIssue", "getAllProjects",
	"getAllStatuses", "getAttachment", "getAttachmentContent", "getComment", "getComments",
	"getCreateIssueMetaIssueTypeId", "getCreateIssueMetaIssueTypes", "getCurrentUser",
	"getFields", "getIssue", "getIssueProperty", "getIssuePropertyKeys", "getPriorities",
	"getProject", "getServerInfo", "getStatuses", "getTransitions", "searchAndReconsileIssuesUsingJql",
	"searchAndReconsileIssuesUsingJqlPost", "searchProjects", "setIssueProperty", "updateComment",
	// Added with the profiles.
	"countIssues", "getChangeLogs", "getCreateIssueMeta", "getEditIssueMeta", "getMyPermissions",
	"getPrioritySchemes", "getResolutions", "searchPriorities",
	// Added with issue security and restricted comments.
	"getSecurityLevelsForProject", "getProjectIssueSecurityScheme",
}

// cloudOnlyOps are the documented operations Data Center does not have.
var cloudOnlyOps = []string{"bulkFetchIssues", "searchAndReconsileIssuesUsingJql", "searchAndReconsileIssuesUsingJqlPost",
	"countIssues", "getChangeLogs", "getCreateIssueMeta", "getPrioritySchemes"}

// exercise calls every operation once or more, including error answers.
func exercise(t *testing.T, e *env, dc bool) {
	t.Helper()
	c := e.admin
	c.must(http.StatusOK, "GET", "serverInfo", nil)
	c.must(http.StatusOK, "GET", "myself", nil)
	c.must(http.StatusOK, "GET", "project", nil)
	c.must(http.StatusOK, "GET", "project/search?maxResults=10", nil)
	c.must(http.StatusOK, "GET", "project/SEC", nil)
	c.must(http.StatusNotFound, "GET", "project/NOPE", nil)
	c.must(http.StatusOK, "GET", "project/SEC/statuses", nil)
	c.must(http.StatusOK, "GET", "project/SEC/securitylevel", nil)
	c.must(http.StatusOK, "GET", "project/SEC/issuesecuritylevelscheme", nil)
	c.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes", nil)
	for _, typ := range allTypes {
		c.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes/"+typ.ID, nil)
	}
	c.must(http.StatusOK, "GET", "field", nil)
	c.must(http.StatusOK, "GET", "priority", nil)
	c.must(http.StatusOK, "GET", "status", nil)
	c.must(http.StatusOK, "GET", "resolution", nil)
	c.must(http.StatusOK, "GET", "priority/search?projectId="+opsProject.ID, nil)
	c.must(http.StatusOK, "GET", "mypermissions?permissions=BROWSE_PROJECTS,CREATE_ISSUES,ADMINISTER&projectKey=OPS", nil)
	c.must(http.StatusOK, "GET", "issue/createmeta/OPS/issuetypes/"+typeTask.ID, nil)
	if !dc {
		c.must(http.StatusOK, "GET", "priorityscheme?expand=priorities,projects", nil)
		c.must(http.StatusOK, "GET", "issue/createmeta?projectKeys=OPS&expand=projects.issuetypes.fields", nil)
	}

	assignee := map[string]any{"accountId": "5b10a2844c20165700ede21e"}
	if dc {
		assignee = map[string]any{"name": "dev"}
	}
	key := c.createIssue("Bug", "conformance", map[string]any{
		"description": c.rich("Found *here*"), "environment": c.rich("prod"), "labels": []string{"pci"},
		"assignee": assignee, "duedate": "2025-04-01", "priority": map[string]any{"id": "2"},
		"customfield_10050": 8.8, "customfield_10051": "a-1", "customfield_10053": "https://example.test/x",
		"customfield_10054": []any{map[string]any{"value": "sox"}},
		"security":          map[string]any{"id": "10000"},
	})
	c.must(http.StatusBadRequest, "POST", "issue", map[string]any{"fields": map[string]any{
		"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Bug"}, "summary": "x"}})
	sub := c.createIssue("Sub-task", "child", map[string]any{"parent": map[string]any{"key": key}})
	c.must(http.StatusOK, "GET", "issue/"+key, nil)
	c.must(http.StatusOK, "GET", "issue/"+key+"?fields=summary,status&expand=changelog&properties=*all", nil)
	c.must(http.StatusNotFound, "GET", "issue/SEC-999", nil)
	c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{
		"fields": map[string]any{"summary": "conformance 2", "customfield_10052": map[string]any{"value": "API"}},
		"update": map[string]any{"labels": []any{map[string]any{"add": "gdpr"}}},
	})
	c.must(http.StatusBadRequest, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"status": "x"}})
	c.must(http.StatusOK, "GET", "issue/"+key+"/transitions?expand=transitions.fields", nil)
	c.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	c.must(http.StatusBadRequest, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "61"}})
	cm := c.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{
		"body": c.rich("a comment"), "properties": []any{map[string]any{"key": "k", "value": map[string]any{"v": 1}}}}).json(t)
	id := cm["id"].(string)
	c.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{
		"body": c.rich("restricted"), "visibility": map[string]any{"type": "role", "value": "Developers"}})
	c.must(http.StatusOK, "GET", "issue/"+key+"/comment", nil)
	c.must(http.StatusOK, "GET", "issue/"+key+"/comment/"+id+"?expand=properties", nil)
	c.must(http.StatusOK, "PUT", "issue/"+key+"/comment/"+id, map[string]any{"body": c.rich("edited")})
	c.must(http.StatusNotFound, "GET", "issue/"+key+"/comment/1", nil)
	body, ct := multipartBody(t, map[string][]byte{"poc.txt": []byte("proof")})
	att := c.must(http.StatusOK, "POST", "issue/"+key+"/attachments", body, "Content-Type", ct, "X-Atlassian-Token", "no-check").list(t)
	attID := get(att, 0, "id").(string)
	c.must(http.StatusOK, "GET", "attachment/"+attID, nil)
	if dc {
		c.must(http.StatusOK, "GET", "attachment/content/"+attID, nil)
	} else {
		c.must(http.StatusSeeOther, "GET", "attachment/content/"+attID, nil)
		c.must(http.StatusOK, "GET", "attachment/content/"+attID+"?redirect=false", nil)
	}
	c.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil)
	c.must(http.StatusOK, "GET", "issue/"+key+"/editmeta", nil)
	if !dc {
		c.must(http.StatusOK, "GET", "issue/"+key+"/changelog?maxResults=2", nil)
		c.must(http.StatusOK, "POST", "search/approximate-count", map[string]any{"jql": "project = SEC"})
	}
	c.must(http.StatusCreated, "PUT", "issue/"+key+"/properties/vulnsync", map[string]any{"item": "x"})
	c.must(http.StatusOK, "GET", "issue/"+key+"/properties", nil)
	c.must(http.StatusOK, "GET", "issue/"+key+"/properties/vulnsync", nil)
	c.must(http.StatusNoContent, "DELETE", "issue/"+key+"/properties/vulnsync", nil)
	c.must(http.StatusNotFound, "GET", "issue/"+key+"/properties/vulnsync", nil)
	if dc {
		c.must(http.StatusOK, "GET", "search?jql="+url.QueryEscape("project = SEC")+"&fields=*all", nil)
		c.must(http.StatusOK, "POST", "search", map[string]any{"jql": "project = SEC", "fields": []string{"summary"}})
	} else {
		c.must(http.StatusOK, "POST", "issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{key, "SEC-999"}, "fields": []string{"*all"}})
		c.must(http.StatusOK, "GET", "search/jql?jql="+url.QueryEscape("project = SEC")+"&maxResults=1", nil)
		c.must(http.StatusOK, "GET", "search/jql?jql="+url.QueryEscape("project = SEC")+"&fields=*all&expand=changelog", nil)
		c.must(http.StatusOK, "POST", "search/jql", map[string]any{"jql": "project = SEC", "fields": []string{"summary", "status"}, "maxResults": 1})
		c.must(http.StatusBadRequest, "GET", "search/jql?jql="+url.QueryEscape("order by key"), nil)
	}
	e.register(t, "http://127.0.0.1:1/hook", "s", "project = SEC", "jira:issue_created")
	c.must(http.StatusOK, "GET", e.sim.webhookPath(), nil)
	c.must(http.StatusNoContent, "DELETE", "issue/"+key+"/comment/"+id, nil)
	c.must(http.StatusNoContent, "DELETE", "issue/"+sub, nil)
	c.must(http.StatusNoContent, "DELETE", "issue/"+key, nil)
	anon := *c
	anon.auth = ""
	anon.must(http.StatusUnauthorized, "GET", "issue/"+key, nil)
}

func TestOpenAPIConformance(t *testing.T) {
	surfaces := []struct {
		name string
		o    envOpts
	}{
		{"cloud v3", envOpts{validate: true, profile: ProfileCloud}},
		{"cloud v2", envOpts{validate: true, v2: true, profile: ProfileCloud}},
		{"dc-9 v2", envOpts{validate: true, profile: ProfileDC9}},
		{"dc-10 v2", envOpts{validate: true, profile: ProfileDC10}},
	}
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t, s.o)
			dc := s.o.profile.Deployment() == DataCenter
			exercise(t, e, dc)
			rec := e.spec.Recorder()
			if errs := rec.Errors(); len(errs) > 0 {
				t.Fatalf("%d validation failures (reported above)", len(errs))
			}
			covered := rec.Operations()
			want := documentedOps
			if dc {
				want = without(documentedOps, cloudOnlyOps...)
			}
			want = sortedCopy(want)
			if diff := cmp.Diff(want, covered); diff != "" {
				t.Errorf("operations validated (-want +got):\n%s", diff)
			}
			t.Logf("%s: %d operations validated against the OpenAPI document: %s", s.name, len(covered), strings.Join(covered, ", "))
			notCovered := rec.NotCovered()
			t.Logf("%s: not in the document (not validated): %s", s.name, strings.Join(notCovered, ", "))
			var prefixes []string
			for _, nc := range notCovered {
				_, p, _ := strings.Cut(nc, " ")
				switch {
				case strings.HasPrefix(p, "/rest/webhooks/1.0/webhook"), strings.HasPrefix(p, "/rest/jira-webhook/1.0/webhooks"):
					prefixes = append(prefixes, "webhooks 1.0")
				case p == "/rest/api/2/search":
					prefixes = append(prefixes, "DC search")
				case strings.HasPrefix(p, "/secure/attachment/"):
					prefixes = append(prefixes, "attachment file")
				default:
					t.Errorf("unexpected undocumented request %s", nc)
				}
			}
			sort.Strings(prefixes)
			if !contains(prefixes, "webhooks 1.0") || (dc && !contains(prefixes, "DC search")) {
				t.Errorf("not-covered list %v: want the webhook API (and DC search on Data Center)", prefixes)
			}
		})
	}
}

func sortedCopy(list []string) []string {
	out := append([]string{}, list...)
	sort.Strings(out)
	return out
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, v := range list {
		if !contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}

// TestOpenAPIValidatorCatchesDrift shows that the conformance test can
// fail: simulator answers altered the way a careless change would alter
// them are refused by the same validator.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	e := newEnv(t, envOpts{validate: true})
	key := e.admin.createIssue("Task", "drift", nil)
	e.admin.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
	check := func(path string, mutate func(map[string]any)) {
		t.Helper()
		r := e.admin.must(http.StatusOK, "GET", path, nil)
		req, err := http.NewRequest("GET", e.url+e.admin.api+"/"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.spec.ValidateResponse(req, r.status, r.header, r.body); err != nil {
			t.Fatalf("unaltered %s: %v", path, err)
		}
		m := r.json(t)
		mutate(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.spec.ValidateResponse(req, r.status, r.header, b); err == nil {
			t.Errorf("altered %s was accepted", path)
		}
	}
	check("serverInfo", func(m map[string]any) { m["bogus"] = 1 })
	check("serverInfo", func(m map[string]any) { m["buildNumber"] = "582" })
	check("myself", func(m map[string]any) { m["accountId"] = 5 })
	check("issue/"+key+"?expand=changelog", func(m map[string]any) {
		get(m, "changelog", "histories", 0, "items", 0).(map[string]any)["from"] = 3
	})
	check("issue/createmeta/SEC/issuetypes/10004", func(m map[string]any) {
		delete(get(m, "fields", 0).(map[string]any), "fieldId")
	})
}
