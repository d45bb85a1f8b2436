package apptest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// retestSARIF holds one result of one rule: a vulnerability and its
// finding when imported.
const retestSARIF = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"semgrep","rules":[{"id":"xss.reflected",
"shortDescription":{"text":"Reflected XSS in the search page"},"properties":{"security-severity":"7.5"}},
{"id":"csrf.missing","shortDescription":{"text":"Form without CSRF token"},"properties":{"security-severity":"5.0"}}]}},
"results":[{"ruleId":"xss.reflected","message":{"text":"q is echoed unescaped."},
"locations":[{"physicalLocation":{"artifactLocation":{"uri":"web/search.go"},"region":{"startLine":40}}}]},
{"ruleId":"csrf.missing","message":{"text":"The form has no token."},
"locations":[{"physicalLocation":{"artifactLocation":{"uri":"web/form.go"},"region":{"startLine":9}}}]}]}]}`

// jiraDone moves an issue to Done as the developer would: through In
// Progress when the workflow goes that way, with the resolution a screen
// may require.
func jiraDone(t *testing.T, e *apptest.Env, key string) {
	t.Helper()
	if jiraMove(t, e, key, "Done") {
		return
	}
	ok := jiraMove(t, e, key, "In Progress")
	e.Clock.Advance(time.Second) // two moves, two distinct change times
	if !ok || !jiraMove(t, e, key, "Done") {
		t.Fatalf("issue %s cannot be moved to Done", key)
	}
}

// jiraMove takes the issue's transition to status, if offered.
func jiraMove(t *testing.T, e *apptest.Env, key, status string) bool {
	t.Helper()
	var ts struct {
		Transitions []struct {
			ID     string
			To     struct{ Name string } `json:"to"`
			Fields map[string]struct {
				Required bool `json:"required"`
			} `json:"fields"`
		} `json:"transitions"`
	}
	e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions?expand=transitions.fields", nil, &ts)
	for _, tr := range ts.Transitions {
		if tr.To.Name != status {
			continue
		}
		body := map[string]any{"transition": map[string]any{"id": tr.ID}}
		if tr.Fields["resolution"].Required {
			body["fields"] = map[string]any{"resolution": map[string]any{"name": "Done"}}
		}
		if st := e.Jira("dev", "POST", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/transitions", body, nil); st != 204 {
			t.Fatalf("transition %s to %s: %d", key, status, st)
		}
		return true
	}
	return false
}

// issueComments reads the raw bodies (ADF or wiki markup) of an issue's
// comments.
func issueComments(t *testing.T, e *apptest.Env, key string) []string {
	t.Helper()
	var page struct {
		Comments []struct {
			Body json.RawMessage `json:"body"`
		} `json:"comments"`
	}
	if st := e.Jira("dev", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment?maxResults=1000", nil, &page); st != 200 {
		t.Fatalf("comments of %s: %d", key, st)
	}
	out := make([]string, len(page.Comments))
	for i, c := range page.Comments {
		out[i] = string(c.Body)
	}
	return out
}

// countContaining counts the bodies that contain every one of subs.
func countContaining(bodies []string, subs ...string) int {
	n := 0
	for _, b := range bodies {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(b, s)
		}
		if all {
			n++
		}
	}
	return n
}

// TestFixRetestLifecycle, on Cloud and Data Center: an engineer's Done in
// Jira makes the item fixed (awaiting retest), not resolved; a re-import
// that still finds it reopens the item and its Jira issue, with a comment
// saying the retest failed; Done again, then a full re-scan without it
// resolves the item, the issue staying Done with a comment saying the
// retest passed. An analyst's failed verdict through the API reopens the
// issue with the evidence as a comment.
func TestFixRetestLifecycle(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: p, Clock: apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))})
			in := e.Setup("shop")
			report := []byte(retestSARIF)
			if got := importReport(t, e, in.TargetID, "sarif", "", false, "scan-1.sarif", report); got.Created != 4 {
				t.Fatalf("first import: %+v, want 4 created", got)
			}
			e.Sync()
			var xss, csrf apiItem
			for _, it := range listItems(t, e, in.TargetID) {
				switch {
				case it.Kind == "vulnerability" && strings.HasPrefix(it.Title, "xss.reflected"):
					xss = it
				case it.Kind == "vulnerability" && strings.HasPrefix(it.Title, "csrf.missing"):
					csrf = it
				}
			}
			if xss.ID == "" || csrf.ID == "" {
				t.Fatal("the import made no XSS or CSRF vulnerability")
			}
			key := issueOf(t, e, xss).Key
			status := func(it apiItem) string {
				var got apiItem
				e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got)
				return got.Status
			}
			inJira := func() string { return issueOf(t, e, xss).Fields.Status.Name }

			// The engineer's Done is a claim: fixed, awaiting retest.
			jiraDone(t, e, key)
			e.Deliver()
			e.Sync()
			if got := status(xss); got != "fixed" {
				t.Fatalf("after Done in Jira the item is %q, want fixed", got)
			}
			if got := inJira(); got != "Done" {
				t.Fatalf("the issue moved on to %q after the item became fixed", got)
			}

			// The scanner still finds it: the retest failed.
			again := importReport(t, e, in.TargetID, "sarif", "", false, "scan-2.sarif", report)
			if again.Reopened != 1 {
				t.Errorf("re-import: %+v, want the fixed vulnerability reopened", again)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if got := status(xss); got != "open" {
				t.Errorf("after a re-import that still finds it the item is %q, want open", got)
			}
			if got := inJira(); got != "To Do" {
				t.Errorf("after the failed retest the issue is %q, want reopened (To Do)", got)
			}
			if n := countContaining(issueComments(t, e, key), "Retest failed", again.ID); n != 1 {
				t.Errorf("%d comments on %s say the retest by import %s failed, want 1: %q", n, key, again.ID, issueComments(t, e, key))
			}

			// Fixed again; a full re-scan no longer finds it: resolved.
			jiraDone(t, e, key)
			e.Deliver()
			e.Sync()
			if got := status(xss); got != "fixed" {
				t.Fatalf("after the second Done the item is %q, want fixed", got)
			}
			clean := importReport(t, e, in.TargetID, "sarif", "", true, "scan-3.sarif", withoutRule(t, report, "xss.reflected"))
			if clean.Closed != 2 {
				t.Errorf("full re-scan: %+v, want the vulnerability and its finding closed", clean)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if got := status(xss); got != "resolved" {
				t.Errorf("after a re-scan without it the item is %q, want resolved", got)
			}
			if got := inJira(); got != "Done" {
				t.Errorf("after the passed retest the issue is %q, want Done", got)
			}
			if n := countContaining(issueComments(t, e, key), "Retest passed", clean.ID); n != 1 {
				t.Errorf("%d comments on %s say the retest by import %s passed, want 1: %q", n, key, clean.ID, issueComments(t, e, key))
			}

			// An analyst's verdict: refused unless fixed, then a failure
			// reopens the issue with the evidence.
			csrfKey := issueOf(t, e, csrf).Key
			verdict := map[string]any{"result": "fail", "evidence": "the form posts without a token from another origin"}
			if st := e.Do("POST", "/api/v1/items/"+csrf.ID+"/retest", verdict, nil); st != 409 {
				t.Errorf("a retest of an open item answered %d, want 409", st)
			}
			jiraDone(t, e, csrfKey)
			e.Deliver()
			e.Sync()
			if st := e.Do("POST", "/api/v1/items/"+csrf.ID+"/retest", map[string]any{"result": "fail"}, nil); st != 400 {
				t.Errorf("a verdict without evidence answered %d, want 400", st)
			}
			var got apiItem
			e.Must(200, "POST", "/api/v1/items/"+csrf.ID+"/retest", verdict, &got)
			if got.Status != "open" {
				t.Errorf("after a failed verdict the item is %q, want open", got.Status)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if got := issueOf(t, e, csrf).Fields.Status.Name; got != "To Do" {
				t.Errorf("after the failed verdict the issue is %q, want To Do", got)
			}
			if n := countContaining(issueComments(t, e, csrfKey), "Retest failed", "from another origin"); n != 1 {
				t.Errorf("%d comments on %s carry the failed verdict's evidence, want 1: %q", n, csrfKey, issueComments(t, e, csrfKey))
			}
		})
	}
}

// TestFailedRetestFilesANewIssue, on Cloud and Data Center, under
// on_retest_failed: new_issue: a failed retest leaves the done issue done
// (without the item's marker) and files a new issue, linked to the old one
// in Jira, where the evidence goes; the old issue says where it continues.
func TestFailedRetestFilesANewIssue(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: p, Clock: apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))})
			in := e.Setup("shop")
			var doc map[string]any
			if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
				t.Fatal(err)
			}
			doc["on_retest_failed"] = "new_issue"
			e.Must(200, "PUT", "/api/v1/integrations/"+in.IntegrationID+"/mapping", doc, nil)
			var it apiItem
			e.Must(201, "POST", "/api/v1/targets/"+in.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "SSRF in the webhook tester", "severity": "high"}, &it)
			e.Sync()
			oldKey := issueOf(t, e, it).Key
			jiraDone(t, e, oldKey)
			e.Deliver()
			e.Sync()
			e.Must(200, "POST", "/api/v1/items/"+it.ID+"/retest", map[string]any{"result": "fail", "evidence": "metadata endpoint still reachable"}, nil)
			e.Sync()
			e.Deliver()
			e.Sync()

			newIssue := issueOf(t, e, it)
			if newIssue.Key == oldKey {
				t.Fatalf("the item is still on %s after a failed retest under new_issue", oldKey)
			}
			if newIssue.Fields.Status.Name != "To Do" {
				t.Errorf("the new issue %s is %s, want To Do", newIssue.Key, newIssue.Fields.Status.Name)
			}
			var old struct {
				Fields struct {
					Status struct{ Name string } `json:"status"`
					Labels []string              `json:"labels"`
				} `json:"fields"`
			}
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+oldKey, nil, &old)
			if old.Fields.Status.Name != "Done" {
				t.Errorf("the old issue %s was moved to %s; the workflow does not reopen", oldKey, old.Fields.Status.Name)
			}
			for _, l := range old.Fields.Labels {
				if strings.HasPrefix(l, "vulnsync-") {
					t.Errorf("the old issue %s still carries the item's marker %s", oldKey, l)
				}
			}
			var links struct {
				Fields struct {
					IssueLinks []struct {
						Type         struct{ Name string } `json:"type"`
						OutwardIssue *struct{ Key string } `json:"outwardIssue"`
					} `json:"issuelinks"`
				} `json:"fields"`
			}
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+newIssue.Key+"?fields=issuelinks", nil, &links)
			if len(links.Fields.IssueLinks) != 1 || links.Fields.IssueLinks[0].OutwardIssue == nil || links.Fields.IssueLinks[0].OutwardIssue.Key != oldKey {
				t.Errorf("links of the new issue %s: %+v, want one to %s", newIssue.Key, links.Fields.IssueLinks, oldKey)
			}
			if n := countContaining(issueComments(t, e, newIssue.Key), "Retest failed", "metadata endpoint still reachable"); n != 1 {
				t.Errorf("%d comments with the evidence on the new issue, want 1", n)
			}
			if n := countContaining(issueComments(t, e, oldKey), "continued in "+newIssue.Key); n != 1 {
				t.Errorf("%d comments on the old issue say where it continues, want 1: %q", n, issueComments(t, e, oldKey))
			}
		})
	}
}
