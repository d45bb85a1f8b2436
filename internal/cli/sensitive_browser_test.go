package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// TestBrowserSensitiveIssues drives the sensitive-issue features in a
// browser: the mapping page lists the project's issue security levels and
// saves one per severity (a critical item's issue then gets it); an
// internal note made with the comment form's checkbox carries a badge and
// never reaches Jira; a Jira comment restricted to a role shows with a
// "restricted" badge, never as a plain public comment.
func TestBrowserSensitiveIssues(t *testing.T) {
	chromiumPath(t)
	sim, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	var conn, target, integ struct {
		ID string `json:"id"`
	}
	in.mustDo(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": simURL,
		"auth": map[string]any{"type": "basic", "email": "admin@example.test", "api_token": "admin-token"}}, &conn)
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	in.mustDo(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &integ)
	var doc map[string]any
	if err := json.Unmarshal([]byte(mapping.Example), &doc); err != nil {
		t.Fatal(err)
	}
	doc["restricted_comments"] = "keep"
	in.mustDo(200, "PUT", "/api/v1/integrations/"+integ.ID+"/mapping", doc, nil)
	in.mustDo(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook", map[string]any{}, nil)

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)

	// The mapping page lists the project's levels; critical gets one.
	b.open(ctx, "/integrations/targets/"+integ.ID+"/configure")
	if got := b.text(ctx, "#security-levels"); !strings.Contains(got, "Security only") || !strings.Contains(got, "Staff only") {
		t.Fatalf("security levels section: %q", got)
	}
	b.do(ctx, "choose a level for critical", chromedp.SetValue(chromedp.CSS(`select[name="security_levels.critical"]`), "Security only"))
	b.shot(ctx, "configure-security-levels")
	if got := b.submit(ctx, "save the mapping", "#save-mapping"); got != http.StatusOK {
		t.Fatalf("save mapping: status %d", got)
	}
	var view struct {
		Mapping struct {
			SecurityLevels     map[string]string `json:"security_levels"`
			RestrictedComments string            `json:"restricted_comments"`
		} `json:"mapping"`
	}
	in.mustDo(200, "GET", "/api/v1/integrations/"+integ.ID, nil, &view)
	if view.Mapping.SecurityLevels["critical"] != "Security only" || view.Mapping.RestrictedComments != "keep" {
		t.Fatalf("mapping after saving the form: %+v", view.Mapping)
	}

	// A critical item's issue is created with the level.
	vid := b.createItem(ctx, target.ID, "RCE in upload", "critical")
	key := b.eventually(ctx, "the Jira key on the item page", "/items/"+vid, `(document.getElementById("jira-key") || {}).textContent || ""`, func(v string) bool {
		return strings.HasPrefix(v, "SEC-")
	})
	var is struct {
		Fields struct {
			Security *struct {
				Name string `json:"name"`
			} `json:"security"`
		} `json:"fields"`
	}
	jiraDo(t, simURL, "GET", "/rest/api/3/issue/"+key+"?fields=security", "", &is)
	if is.Fields.Security == nil || is.Fields.Security.Name != "Security only" {
		t.Errorf("the critical item's issue has level %+v, want Security only", is.Fields.Security)
	}

	// An internal note: badge here, nothing in Jira.
	before := sim.Counters().Endpoints["POST /rest/api/3/issue/{issueIdOrKey}/comment"].Requests
	b.open(ctx, "/items/"+vid)
	b.do(ctx, "write an internal note", chromedp.SendKeys(chromedp.CSS("#body"), "Exploit chain: see the private repo."), chromedp.Click(chromedp.CSS("#comment-internal")))
	b.submit(ctx, "add the note", `#comments button[type=submit]`)
	if got := b.text(ctx, "#comments .comment .badge-internal"); got != "internal note" {
		t.Errorf("internal badge: %q", got)
	}
	b.shot(ctx, "internal-note")

	// A restricted Jira comment arrives marked restricted.
	jiraDo(t, simURL, "POST", "/rest/api/2/issue/"+key+"/comment", `{"body":"Root cause: admin password in config.","visibility":{"type":"role","value":"Developers"}}`, nil)
	got := b.eventually(ctx, "the restricted comment on the item page", "/items/"+vid,
		`Array.from(document.querySelectorAll("#comments .comment")).filter(c => c.textContent.includes("admin password")).map(c => (c.querySelector(".badge-restricted") || {}).textContent || "no badge").join("|")`,
		func(v string) bool { return v != "" })
	if got != "restricted to role Developers" {
		t.Errorf("restricted comment badge: %q", got)
	}
	b.shot(ctx, "restricted-comment")
	if n := sim.Counters().Endpoints["POST /rest/api/3/issue/{issueIdOrKey}/comment"].Requests - before; n != 0 {
		t.Errorf("the internal note made %d comment requests to Jira, want 0", n)
	}
}

// jiraDo calls the simulator as dev and decodes the answer into out.
func jiraDo(t *testing.T, simURL, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, simURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("dev@example.test", "dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
