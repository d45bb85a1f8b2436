package jirasim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postForm posts a page form as a browser on the simulator's own page does.
func postForm(t *testing.T, e *env, path string, form url.Values, origin string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := e.dev.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func getPage(t *testing.T, e *env, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPagesDriveTheIssueAsDev(t *testing.T) {
	for _, p := range []Profile{ProfileCloud, ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, envOpts{profile: p})
			key := e.admin.createIssue("Bug", "SQL injection in search", map[string]any{"priority": map[string]any{"name": "High"}})

			if st, body := getPage(t, e, "/projects/SEC"); st != 200 || !strings.Contains(body, `href="/browse/`+key+`"`) || !strings.Contains(body, "SQL injection in search") {
				t.Fatalf("project page: %d %s", st, body)
			}
			st, body := getPage(t, e, "/browse/"+key)
			if st != 200 || !strings.Contains(body, "SQL injection in search") || !strings.Contains(body, `value="Start Progress"`) {
				t.Fatalf("issue page: %d %s", st, body)
			}

			// A transition, through the workflow as dev.
			st, loc, _ := postForm(t, e, "/browse/"+key+"/transition", url.Values{"transition": {"21"}}, e.url)
			if st != http.StatusSeeOther || loc != "/browse/"+key {
				t.Fatalf("transition: %d %q", st, loc)
			}
			is := e.dev.must(200, "GET", "issue/"+key+"?expand=changelog", nil).json(t)
			if got := get(is, "fields", "status", "name"); got != "In Progress" {
				t.Errorf("status after the form: %v", got)
			}
			hist := get(is, "changelog", "histories").([]any)
			if who := get(hist[len(hist)-1], "author", "emailAddress"); who != DevEmail && get(hist[len(hist)-1], "author", "name") != DevUsername {
				t.Errorf("the transition was not made as dev: %v", get(hist[len(hist)-1], "author"))
			}
			// Done asks for a resolution on Data Center: the form sends it.
			if st, _, body := postForm(t, e, "/browse/"+key+"/transition", url.Values{"transition": {"41"}, "resolution": {"Done"}}, e.url); st != http.StatusSeeOther {
				t.Fatalf("transition to Done: %d %s", st, body)
			}
			// A transition the issue cannot take shows Jira's refusal.
			st, _, body = postForm(t, e, "/browse/"+key+"/transition", url.Values{"transition": {"21"}}, e.url)
			if st != http.StatusBadRequest || !strings.Contains(body, "Transition id &#39;21&#39; is not valid for this issue.") {
				t.Errorf("refused transition: %d, page without Jira's message", st)
			}

			// A comment, as dev.
			if st, _, _ := postForm(t, e, "/browse/"+key+"/comment", url.Values{"body": {"Fixed in build <1423>."}}, e.url); st != http.StatusSeeOther {
				t.Fatalf("comment: %d", st)
			}
			cs := get(e.dev.must(200, "GET", "/rest/api/2/issue/"+key+"/comment", nil).json(t), "comments").([]any)
			if len(cs) != 1 || get(cs[0], "body") != "Fixed in build <1423>." || get(cs[0], "author", "displayName") != "Dev User" {
				t.Errorf("comments: %v", cs)
			}
			if _, body := getPage(t, e, "/browse/"+key); !strings.Contains(body, "Fixed in build &lt;1423&gt;.") {
				t.Errorf("the comment is not shown, escaped")
			}

			// Fields: only what changed is sent.
			form := url.Values{"summary": {"SQL injection in search"}, "priority": {"Highest"}, "labels": {"pci owasp-a03"},
				"customfield_10050": {"9.8"}, "customfield_10051": {"shop-web"}, "customfield_10052": {"API"}}
			if st, _, body := postForm(t, e, "/browse/"+key+"/edit", form, e.url); st != http.StatusSeeOther {
				t.Fatalf("edit: %d %s", st, body)
			}
			is = e.dev.must(200, "GET", "/rest/api/2/issue/"+key+"?expand=changelog", nil).json(t)
			f := is["fields"]
			if get(f, "priority", "name") != "Highest" || get(f, "customfield_10050") != 9.8 || get(f, "customfield_10051") != "shop-web" || get(f, "customfield_10052", "value") != "API" {
				t.Errorf("fields after the edit: %v", f)
			}
			if l, _ := get(f, "labels").([]any); len(l) != 2 {
				t.Errorf("labels: %v", l)
			}
			hist = get(is, "changelog", "histories").([]any)
			for _, it := range get(hist[len(hist)-1], "items").([]any) {
				if get(it, "field") == "summary" {
					t.Errorf("the unchanged summary was sent as a change")
				}
			}
			if st, _, _ := postForm(t, e, "/browse/"+key+"/edit", url.Values{"customfield_10050": {"high"}}, e.url); st != http.StatusBadRequest {
				t.Errorf("a CVSS score that is no number: %d, want 400", st)
			}

			// Another site's page cannot post as dev.
			if st, _, _ := postForm(t, e, "/browse/"+key+"/comment", url.Values{"body": {"csrf"}}, "http://evil.example"); st != http.StatusForbidden {
				t.Errorf("cross-origin post: %d, want 403", st)
			}
			if st, _ := getPage(t, e, "/browse/SEC-999"); st != http.StatusNotFound {
				t.Errorf("unknown issue: %d, want 404", st)
			}
		})
	}
}
