package jirasim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSecurityLevels shows the issue security scheme the way real Jira
// exposes it: the project's levels, the security field with allowedValues
// on createmeta and editmeta, a level set at create and changed by edit
// (with its changelog item), and a level outside the scheme refused.
func TestSecurityLevels(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, envOpts{profile: p, validate: true})
			c := e.admin
			levels := c.must(http.StatusOK, "GET", "project/SEC/securitylevel", nil).json(t)
			var names []string
			for _, l := range levels["levels"].([]any) {
				names = append(names, l.(map[string]any)["name"].(string))
			}
			if diff := cmp.Diff([]string{"Security only", "Staff only"}, names); diff != "" {
				t.Errorf("levels (-want +got):\n%s", diff)
			}
			scheme := c.must(http.StatusOK, "GET", "project/SEC/issuesecuritylevelscheme", nil).json(t)
			if len(scheme["levels"].([]any)) != 2 {
				t.Errorf("scheme: %v", scheme)
			}
			meta := c.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes/"+typeBug.ID, nil).json(t)
			list := meta["fields"]
			if list == nil {
				list = meta["values"]
			}
			var sec map[string]any
			for _, f := range list.([]any) {
				if f.(map[string]any)["fieldId"] == "security" {
					sec = f.(map[string]any)
				}
			}
			if sec == nil || len(sec["allowedValues"].([]any)) != 2 || get(sec, "schema", "type") != "securitylevel" {
				t.Fatalf("createmeta security field: %v", sec)
			}
			key := c.createIssue("Task", "sensitive", map[string]any{"security": map[string]any{"name": "Security only"}})
			is := c.must(http.StatusOK, "GET", "issue/"+key+"?fields=security", nil).json(t)
			if get(is, "fields", "security", "id") != "10000" {
				t.Errorf("security after create: %v", get(is, "fields", "security"))
			}
			edit := c.must(http.StatusOK, "GET", "issue/"+key+"/editmeta", nil).json(t)
			if get(edit, "fields", "security", "allowedValues") == nil {
				t.Errorf("editmeta lacks security: %v", edit)
			}
			c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"security": map[string]any{"id": "10001"}}})
			is = c.must(http.StatusOK, "GET", "issue/"+key+"?fields=security&expand=changelog", nil).json(t)
			if get(is, "fields", "security", "name") != "Staff only" {
				t.Errorf("security after edit: %v", get(is, "fields", "security"))
			}
			hs := get(is, "changelog", "histories").([]any)
			var last map[string]any
			for _, h := range hs {
				for _, it := range h.(map[string]any)["items"].([]any) {
					if it.(map[string]any)["field"] == "security" {
						last = it.(map[string]any)
					}
				}
			}
			if last == nil || last["fromString"] != "Security only" || last["toString"] != "Staff only" {
				t.Errorf("security changelog item: %v", last)
			}
			// A sub-task takes its parent's level (no security field on its
			// screens) and follows it when the parent's changes.
			sub := c.createIssue("Sub-task", "child", map[string]any{"parent": map[string]any{"key": key}})
			if got := get(c.must(http.StatusOK, "GET", "issue/"+sub+"?fields=security", nil).json(t), "fields", "security", "name"); got != "Staff only" {
				t.Errorf("sub-task's level: %v, want its parent's", got)
			}
			r := c.do("POST", "issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Sub-task"},
				"summary": "x", "parent": map[string]any{"key": key}, "security": map[string]any{"id": "10000"}}})
			if r.status != http.StatusBadRequest || get(r.json(t), "errors", "security") == nil {
				t.Errorf("security on a sub-task create: %d %s", r.status, r.body)
			}
			c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"security": map[string]any{"id": "10000"}}})
			if got := get(c.must(http.StatusOK, "GET", "issue/"+sub+"?fields=security", nil).json(t), "fields", "security", "name"); got != "Security only" {
				t.Errorf("sub-task's level after the parent's changed: %v", got)
			}
			c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"security": map[string]any{"id": "10001"}}})
			r = c.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"security": map[string]any{"id": "99999"}}})
			if r.status != http.StatusBadRequest || get(r.json(t), "errors", "security") == nil {
				t.Errorf("unknown level: %d %s", r.status, r.body)
			}
			c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"security": nil}})
			is = c.must(http.StatusOK, "GET", "issue/"+key+"?fields=security", nil).json(t)
			if get(is, "fields", "security") != nil {
				t.Errorf("security after clearing: %v", get(is, "fields", "security"))
			}
		})
	}
}

// TestCommentVisibility shows restricted comments: created with a role or
// group visibility, carried by GET and by both webhook events; unknown
// roles refused; an update without visibility keeps it.
func TestCommentVisibility(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, envOpts{profile: p, cfg: Config{ManualWebhooks: true}})
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "s", "project = SEC", "comment_created", "jira:issue_updated")
			c := e.admin
			key := c.createIssue("Task", "restricted talk", nil)
			cm := c.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{
				"body": c.rich("for developers"), "visibility": map[string]any{"type": "role", "value": "Developers"}}).json(t)
			if get(cm, "visibility", "type") != "role" || get(cm, "visibility", "value") != "Developers" {
				t.Errorf("created comment visibility: %v", cm["visibility"])
			}
			id := cm["id"].(string)
			got := c.must(http.StatusOK, "GET", "issue/"+key+"/comment/"+id, nil).json(t)
			if get(got, "visibility", "value") != "Developers" {
				t.Errorf("GET comment visibility: %v", got["visibility"])
			}
			c.must(http.StatusOK, "PUT", "issue/"+key+"/comment/"+id, map[string]any{"body": c.rich("edited")})
			got = c.must(http.StatusOK, "GET", "issue/"+key+"/comment", nil).json(t)
			if get(got, "comments", 0, "visibility", "value") != "Developers" {
				t.Errorf("visibility after an update without one: %v", get(got, "comments", 0))
			}
			grp := c.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{
				"body": c.rich("group only"), "visibility": map[string]any{"type": "group", "value": "security-team"}}).json(t)
			if get(grp, "visibility", "type") != "group" {
				t.Errorf("group visibility: %v", grp["visibility"])
			}
			r := c.do("POST", "issue/"+key+"/comment", map[string]any{"body": c.rich("x"), "visibility": map[string]any{"type": "role", "value": "Nobody"}})
			if r.status != http.StatusBadRequest {
				t.Errorf("unknown role: %d %s", r.status, r.body)
			}
			pub := c.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{"body": c.rich("public")}).json(t)
			if _, ok := pub["visibility"]; ok {
				t.Errorf("public comment carries visibility: %v", pub["visibility"])
			}
			e.sim.DeliverWebhooks(context.Background())
			var withVis int
			for _, d := range rc.all() {
				if get(d.event, "comment", "id") == id && get(d.event, "comment", "visibility", "value") == "Developers" {
					withVis++
				}
			}
			// comment_created, then jira:issue_updated for issue_commented
			// and issue_comment_edited.
			if withVis != 3 {
				t.Errorf("deliveries of the restricted comment with its visibility: %d, want 3", withVis)
			}
		})
	}
}

// TestMoveIssue moves an issue from SEC to OPS: its id stays, its key
// changes, the old key still resolves, the changelog carries Key and
// project items, a webhook filtered on the old project hears of it as
// issue_moved, and sub-tasks follow their parent.
func TestMoveIssue(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, envOpts{profile: p, cfg: Config{ManualWebhooks: true}})
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "s", "project = SEC", "jira:issue_updated")
			c := e.admin
			key := c.createIssue("Bug", "moving", map[string]any{"customfield_10052": map[string]any{"value": "Web"}, "priority": map[string]any{"name": "Lowest"}})
			sub := c.createIssue("Sub-task", "child", map[string]any{"parent": map[string]any{"key": key}})
			before := c.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)
			mv := e.move(t, key, "OPS", http.StatusOK)
			if mv["from"] != key || mv["id"] != before["id"] || !strings.HasPrefix(mv["key"].(string), "OPS-") {
				t.Fatalf("move answer: %v", mv)
			}
			newKey := mv["key"].(string)
			after := c.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog", nil).json(t) // the old key resolves
			if after["key"] != newKey || after["id"] != before["id"] || get(after, "fields", "project", "key") != "OPS" {
				t.Errorf("issue after move: key %v id %v project %v", after["key"], after["id"], get(after, "fields", "project", "key"))
			}
			if get(after, "fields", "priority", "name") != "Medium" {
				t.Errorf("priority OPS does not allow was not reset to its default: %v", get(after, "fields", "priority", "name"))
			}
			subNow := c.must(http.StatusOK, "GET", "issue/"+sub, nil).json(t)
			if !strings.HasPrefix(subNow["key"].(string), "OPS-") {
				t.Errorf("sub-task did not follow: %v", subNow["key"])
			}
			e.sim.DeliverWebhooks(context.Background())
			var moved map[string]any
			for _, d := range rc.all() {
				if d.event["issue_event_type_name"] == "issue_moved" && get(d.event, "issue", "id") == before["id"] {
					moved = d.event
				}
			}
			if moved == nil {
				t.Fatalf("no issue_moved delivery for the parent: %v", rc.events())
			}
			items := map[string][2]any{}
			for _, it := range get(moved, "changelog", "items").([]any) {
				m := it.(map[string]any)
				items[m["field"].(string)] = [2]any{m["fromString"], m["toString"]}
			}
			want := map[string][2]any{"Key": {key, newKey}, "project": {"Security", "Operations"}, "priority": {"Lowest", "Medium"}}
			if diff := cmp.Diff(want, items); diff != "" {
				t.Errorf("move changelog (-want +got):\n%s", diff)
			}
			e.move(t, newKey, "OPS", http.StatusBadRequest)
			e.move(t, subNow["key"].(string), "SEC", http.StatusBadRequest)
			e.move(t, "SEC-999", "OPS", http.StatusNotFound)
			c.must(http.StatusNoContent, "DELETE", "issue/"+newKey+"?deleteSubtasks=true", nil)
			c.must(http.StatusNotFound, "GET", "issue/"+key, nil)
		})
	}
}

// move calls POST /_sim/move and returns its answer.
func (e *env) move(t *testing.T, key, project string, want int) map[string]any {
	t.Helper()
	r := e.admin.must(want, "POST", "/_sim/move", map[string]any{"issue": key, "project": project})
	return r.json(t)
}

// TestMoveAndRestrictPages moves an issue with the Move form of
// /browse/{key} and adds a comment restricted to a role with the comment
// form, which the page then shows as restricted.
func TestMoveAndRestrictPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	key := e.admin.createIssue("Task", "move me", nil)
	res, err := http.PostForm(e.url+"/browse/"+key+"/move", url.Values{"project": {"OPS"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/browse/OPS-") {
		t.Fatalf("move form: %d at %s", res.StatusCode, res.Request.URL.Path)
	}
	moved := strings.TrimPrefix(res.Request.URL.Path, "/browse/")
	res, err = http.PostForm(e.url+"/browse/"+moved+"/comment", url.Values{"body": {"only for devs"}, "visibility": {"Developers"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "restricted to Developers") {
		t.Errorf("comment form with a role: %d, page shows no restriction: %.300s", res.StatusCode, page)
	}
	got := e.admin.must(http.StatusOK, "GET", "issue/"+moved+"/comment", nil).json(t)
	if get(got, "comments", 0, "visibility", "value") != "Developers" {
		t.Errorf("the page's comment: %v", get(got, "comments", 0))
	}
}
