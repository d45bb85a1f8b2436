package jirasim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests hold each difference between the profiles (cloud, dc-9,
// dc-10) to its source in ../shared/jira/README.md, "Where real Jira
// varies". Cloud answers go through the OpenAPI validator where the
// operation is in Atlassian's document (validate: true); the webhook
// changelog items of Data Center are compared with a recorded delivery.

// profileEnv is a simulator of one profile with manual webhooks.
func profileEnv(t *testing.T, p Profile, validate bool) *env {
	t.Helper()
	return newEnv(t, envOpts{profile: p, validate: validate && p == ProfileCloud, cfg: Config{ManualWebhooks: true, WebhookRetryBase: time.Second}})
}

func TestProfileDerivation(t *testing.T) {
	cases := []struct {
		cfg  Config
		want Profile
		dep  Deployment
	}{
		{Config{}, ProfileCloud, Cloud},
		{Config{Deployment: Cloud}, ProfileCloud, Cloud},
		{Config{Deployment: DataCenter}, ProfileDC10, DataCenter}, // PRODUCT.md §5: the newest Data Center
		{Config{Profile: ProfileDC9}, ProfileDC9, DataCenter},     // a profile implies its deployment
		{Config{Profile: ProfileDC10, Deployment: Cloud}, ProfileDC10, DataCenter},
		{Config{Profile: ProfileCloud, Deployment: DataCenter}, ProfileCloud, Cloud},
	}
	for _, c := range cases {
		s := New(c.cfg)
		if s.Profile() != c.want || s.cfg.Deployment != c.dep || s.dc != (c.dep == DataCenter) {
			t.Errorf("New(%+v): profile %s deployment %s, want %s %s", c.cfg, s.Profile(), s.cfg.Deployment, c.want, c.dep)
		}
		s.Close()
	}
	if _, err := ParseProfile("dc-8"); err == nil {
		t.Error("ParseProfile(dc-8): no error")
	}
}

func TestServerInfoPerProfile(t *testing.T) {
	cases := []struct {
		p       Profile
		version string
		numbers []any
		depType string
	}{
		{ProfileCloud, "1001.0.0-SNAPSHOT", []any{1001.0, 0.0, 0.0}, "Cloud"},
		{ProfileDC9, "9.12.15", []any{9.0, 12.0, 15.0}, "Server"},
		{ProfileDC10, "10.3.4", []any{10.0, 3.0, 4.0}, "Server"},
	}
	for _, c := range cases {
		t.Run(string(c.p), func(t *testing.T) {
			e := profileEnv(t, c.p, true)
			m := e.admin.must(http.StatusOK, "GET", "serverInfo", nil).json(t)
			if m["version"] != c.version || !cmp.Equal(m["versionNumbers"], c.numbers) || m["deploymentType"] != c.depType {
				t.Errorf("serverInfo: version %v numbers %v type %v", m["version"], m["versionNumbers"], m["deploymentType"])
			}
		})
	}
}

// registerRaw registers a webhook through the profile's own API with the
// body a client written for that API would send.
func registerRaw(t *testing.T, e *env, target, secret, jql string) map[string]any {
	t.Helper()
	events := []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}
	var body map[string]any
	if e.sim.Profile() == ProfileDC10 {
		body = map[string]any{"name": "vulnsync", "url": target, "events": events, "active": true,
			"configuration": map[string]any{"SECRET": secret, "FILTERS": jql}}
	} else {
		body = map[string]any{"name": "vulnsync", "url": target, "events": events, "secret": secret,
			"filters": map[string]any{"issue-related-events-section": jql}}
	}
	return e.admin.must(http.StatusCreated, "POST", e.sim.webhookPath(), body).json(t)
}

func TestWebhookAPIPerProfile(t *testing.T) {
	cases := []struct {
		p                    Profile
		path, gone           string
		signed, ident, retry bool
		flow                 bool
		filtered             bool // the JQL filter is honoured
	}{
		{ProfileCloud, "/rest/webhooks/1.0/webhook", "/rest/jira-webhook/1.0/webhooks", true, true, true, true, true},
		{ProfileDC9, "/rest/webhooks/1.0/webhook", "/rest/jira-webhook/1.0/webhooks", false, false, false, false, true},
		{ProfileDC10, "/rest/jira-webhook/1.0/webhooks", "/rest/webhooks/1.0/webhook", true, true, true, false, false},
	}
	for _, c := range cases {
		t.Run(string(c.p), func(t *testing.T) {
			e := profileEnv(t, c.p, false)
			if e.sim.webhookPath() != c.path {
				t.Fatalf("webhook path %s, want %s", e.sim.webhookPath(), c.path)
			}
			e.admin.must(http.StatusNotFound, "GET", c.gone, nil)
			e.admin.must(http.StatusNotFound, "POST", c.gone, map[string]any{"name": "x"})
			rc := newReceiver(t, 500)
			reg := registerRaw(t, e, rc.srv.URL, "s3cret", "project = OPS")
			if c.p == ProfileDC10 {
				// jira.js src/server/models/webhook.ts: numeric id, active,
				// configuration; the secret is not echoed.
				if _, ok := reg["id"].(float64); !ok || reg["active"] != true || get(reg, "configuration", "SECRET") != nil || get(reg, "configuration", "FILTERS") != "project = OPS" {
					t.Errorf("DC 10 registration answer: %v", reg)
				}
				e.admin.must(http.StatusOK, "GET", c.path+"/1", nil)
			} else if get(reg, "filters", filterKey) != "project = OPS" {
				t.Errorf("registration answer: %v", reg)
			}
			e.admin.createIssue("Task", "a SEC issue", nil) // outside the filter
			ctx := context.Background()
			e.sim.DeliverWebhooks(ctx)
			e.clock.Advance(time.Second)
			e.sim.DeliverWebhooks(ctx)
			got := rc.all()
			wantN := 0
			if !c.filtered {
				wantN = 1 // DC 10 does not honour the filter: every event is delivered
				if c.retry {
					wantN = 2 // 500, then a retry
				}
			}
			if len(got) != wantN {
				t.Fatalf("deliveries: got %d, want %d", len(got), wantN)
			}
			if c.filtered {
				// The filter is honoured: deliver an OPS issue instead.
				createOps(t, e.admin, "an OPS issue", nil)
				e.sim.DeliverWebhooks(ctx)
				e.clock.Advance(time.Second)
				e.sim.DeliverWebhooks(ctx)
				got = rc.all()
				wantN = 1
				if c.retry {
					wantN = 2
				}
				if len(got) != wantN {
					t.Fatalf("deliveries of a covered issue: got %d, want %d", len(got), wantN)
				}
			}
			first := got[0]
			if sig := first.header.Get("X-Hub-Signature"); (sig != "") != c.signed || (c.signed && sig != Signature("s3cret", first.body)) {
				t.Errorf("X-Hub-Signature %q, want signed=%v", sig, c.signed)
			}
			if (first.header.Get("X-Atlassian-Webhook-Identifier") != "") != c.ident {
				t.Errorf("X-Atlassian-Webhook-Identifier %q, want present=%v", first.header.Get("X-Atlassian-Webhook-Identifier"), c.ident)
			}
			if (first.header.Get("X-Atlassian-Webhook-Flow") == "Primary") != c.flow {
				t.Errorf("X-Atlassian-Webhook-Flow %q, want present=%v", first.header.Get("X-Atlassian-Webhook-Flow"), c.flow)
			}
			if c.retry {
				if r := got[1]; r.header.Get("X-Atlassian-Webhook-Retry") != "1" || r.header.Get("X-Atlassian-Webhook-Identifier") != first.header.Get("X-Atlassian-Webhook-Identifier") {
					t.Errorf("retry headers: %v", r.header)
				}
			} else if w := e.sim.Counters().Webhooks; w.Retried != 0 || w.Failed != 1 {
				t.Errorf("Data Center 9 must not retry: %+v", w)
			}
		})
	}
}

func TestWebhookSecondaryFlow(t *testing.T) {
	e := profileEnv(t, ProfileCloud, false)
	rc := newReceiver(t, 503)
	e.register(t, rc.srv.URL, "", "", "jira:issue_deleted", "comment_deleted")
	key := e.admin.createIssue("Task", "doomed", nil)
	for _, text := range []string{"one", "two"} {
		e.admin.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{"body": adf(text)})
	}
	e.admin.must(http.StatusNoContent, "DELETE", "issue/"+key, nil)
	ctx := context.Background()
	e.sim.DeliverWebhooks(ctx)
	e.clock.Advance(time.Second)
	e.sim.DeliverWebhooks(ctx)
	var got []string
	for _, r := range rc.all() {
		got = append(got, fmt.Sprintf("%s %s %s", r.event["webhookEvent"], r.header.Get("X-Atlassian-Webhook-Flow"), r.header.Get("X-Atlassian-Webhook-Retry")))
	}
	want := []string{
		"jira:issue_deleted Primary ", // answered 503
		"comment_deleted Secondary ",
		"comment_deleted Secondary ",
		"jira:issue_deleted Primary 1", // the retry keeps its flow
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

// createOps creates an OPS issue through c and returns its key.
func createOps(t *testing.T, c *client, summary string, extra map[string]any) string {
	t.Helper()
	r := c.do("POST", "issue", opsBody(summary, extra))
	if r.status != http.StatusCreated {
		t.Fatalf("create OPS issue: %d %s", r.status, r.body)
	}
	return r.json(t)["key"].(string)
}

func opsBody(summary string, extra map[string]any) map[string]any {
	fields := map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Task"}, "summary": summary}
	for k, v := range extra {
		fields[k] = v
	}
	return map[string]any{"fields": fields}
}

func TestChangelogOrderAndPaging(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			key := e.admin.createIssue("Task", "s0", nil)
			const edits = 105
			for i := 1; i <= edits; i++ {
				e.clock.Advance(time.Second)
				e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"summary": fmt.Sprintf("s%d", i)}})
			}
			cl := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog&fields=summary", nil).json(t)["changelog"].(map[string]any)
			hs := cl["histories"].([]any)
			if p == ProfileCloud {
				// Newest first, the most recent 100 of 105.
				if cl["total"] != float64(edits) || cl["maxResults"] != 100.0 || cl["startAt"] != 0.0 || len(hs) != 100 {
					t.Fatalf("changelog envelope: total %v maxResults %v startAt %v histories %d", cl["total"], cl["maxResults"], cl["startAt"], len(hs))
				}
				if get(hs[0], "items", 0, "toString") != "s105" || get(hs[99], "items", 0, "toString") != "s6" {
					t.Errorf("order: first %v last %v, want s105 … s6", get(hs[0], "items", 0, "toString"), get(hs[99], "items", 0, "toString"))
				}
				// The paged changelog runs oldest first.
				pg := e.admin.must(http.StatusOK, "GET", "issue/"+key+"/changelog", nil).json(t)
				vals := pg["values"].([]any)
				if pg["maxResults"] != 100.0 || pg["total"] != float64(edits) || pg["isLast"] != false || len(vals) != 100 || pg["nextPage"] == nil {
					t.Fatalf("first page: maxResults %v total %v isLast %v values %d nextPage %v", pg["maxResults"], pg["total"], pg["isLast"], len(vals), pg["nextPage"])
				}
				if get(vals, 0, "items", 0, "toString") != "s1" {
					t.Errorf("first page starts with %v, want s1", get(vals, 0, "items", 0, "toString"))
				}
				pg = e.admin.must(http.StatusOK, "GET", "issue/"+key+"/changelog?startAt=100", nil).json(t)
				vals = pg["values"].([]any)
				if pg["isLast"] != true || len(vals) != 5 || get(vals, 4, "items", 0, "toString") != "s105" {
					t.Errorf("last page: isLast %v values %d", pg["isLast"], len(vals))
				}
				return
			}
			// Data Center: every history, oldest first; no paged changelog.
			if cl["total"] != float64(edits) || len(hs) != edits || get(hs[0], "items", 0, "toString") != "s1" {
				t.Errorf("Data Center changelog: total %v histories %d first %v", cl["total"], len(hs), get(hs[0], "items", 0, "toString"))
			}
			e.admin.must(http.StatusNotFound, "GET", "issue/"+key+"/changelog", nil)
		})
	}
}

func TestChangelogCustomFieldItemsPerProfile(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "", "", "jira:issue_updated")
			key := e.admin.createIssue("Task", "cf", nil)
			e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"customfield_10050": 7.5, "summary": "cf2"}})
			e.sim.DeliverWebhooks(context.Background())
			rest := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?expand=changelog&fields=summary", nil).json(t)
			hooks := rc.all()
			if len(hooks) != 1 {
				t.Fatalf("deliveries: %d", len(hooks))
			}
			for src, items := range map[string]any{"REST": get(rest, "changelog", "histories", 0, "items"), "webhook": get(hooks[0].event, "changelog", "items")} {
				var custom, system map[string]any
				for _, it := range items.([]any) {
					m := it.(map[string]any)
					if m["fieldtype"] == "custom" {
						custom = m
					} else {
						system = m
					}
				}
				if custom == nil || custom["field"] != "CVSS Score" || custom["toString"] != "7.5" {
					t.Fatalf("%s: custom item %v", src, custom)
				}
				_, hasID := custom["fieldId"]
				if hasID != (p == ProfileCloud) || (hasID && custom["fieldId"] != "customfield_10050") {
					t.Errorf("%s: custom item fieldId present=%v (%v), want present only on Cloud", src, hasID, custom["fieldId"])
				}
				if system["fieldId"] != "summary" {
					t.Errorf("%s: system items keep their fieldId: %v", src, system)
				}
			}
		})
	}
}

// TestDataCenterCustomItemMatchesRecording compares the keys of a Data
// Center custom-field changelog item with the recorded Server delivery.
func TestDataCenterCustomItemMatchesRecording(t *testing.T) {
	rec := recorded(t, "webhooks/webhook-server-updated-custom-field.json")
	var want []string
	for _, it := range get(rec, "changelog", "items").([]any) {
		if it.(map[string]any)["fieldtype"] == "custom" {
			for k := range it.(map[string]any) {
				want = append(want, k)
			}
			break
		}
	}
	if len(want) == 0 {
		t.Fatal("recording has no custom changelog item")
	}
	sort.Strings(want)
	e := profileEnv(t, ProfileDC10, false)
	rc := newReceiver(t)
	e.register(t, rc.srv.URL, "", "", "jira:issue_updated")
	key := e.admin.createIssue("Task", "cf", nil)
	e.admin.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"customfield_10051": "asset-9"}})
	e.sim.DeliverWebhooks(context.Background())
	got := []string{}
	for k := range get(rc.all()[0].event, "changelog", "items", 0).(map[string]any) {
		got = append(got, k)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom changelog item keys vs recording (-want +got):\n%s", diff)
	}
}

func TestTextareaField(t *testing.T) {
	surfaces := []struct {
		name string
		o    envOpts
	}{
		{"cloud v3", envOpts{profile: ProfileCloud, validate: true}},
		{"cloud v2", envOpts{profile: ProfileCloud, v2: true, validate: true}},
		{"dc-9", envOpts{profile: ProfileDC9}},
		{"dc-10", envOpts{profile: ProfileDC10}},
	}
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			s.o.cfg = Config{ManualWebhooks: true}
			e := newEnv(t, s.o)
			c := e.admin
			v3 := strings.HasSuffix(c.api, "/3")
			meta := c.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes/"+typeTask.ID, nil).json(t)
			fields := meta["fields"]
			if fields == nil {
				fields = meta["values"]
			}
			var f map[string]any
			for _, x := range fields.([]any) {
				if x.(map[string]any)["fieldId"] == "customfield_10055" {
					f = x.(map[string]any)
				}
			}
			if get(f, "schema", "type") != "string" || get(f, "schema", "custom") != "com.atlassian.jira.plugin.system.customfieldtypes:textarea" || get(f, "name") != "Steps to reproduce" {
				t.Fatalf("createmeta of customfield_10055: %v", f)
			}
			rc := newReceiver(t)
			e.register(t, rc.srv.URL, "", "", "jira:issue_created")
			key := c.createIssue("Task", "steps", map[string]any{"customfield_10055": c.rich("Open *login*")})
			got := c.must(http.StatusOK, "GET", "issue/"+key+"?fields=customfield_10055", nil).json(t)
			val := get(got, "fields", "customfield_10055")
			if v3 {
				if get(val, "type") != "doc" || get(val, "content", 0, "content", 0, "text") != "Open *login*" {
					t.Errorf("v3 read: want the ADF written, got %v", val)
				}
				// A plain string is refused on v3, as for description.
				r := c.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"customfield_10055": "wiki"}})
				if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), msgNotADF) {
					t.Errorf("v3 string write: %d %s", r.status, r.body)
				}
				v2 := *c
				v2.api = "/rest/api/2"
				if w := get(v2.must(http.StatusOK, "GET", "issue/"+key+"?fields=customfield_10055", nil).json(t), "fields", "customfield_10055"); w != "Open \\*login\\*" && w != "Open *login*" {
					t.Errorf("v2 read of an ADF value: %q", w)
				}
			} else if val != "Open *login*" {
				t.Errorf("v2 read: %v", val)
			}
			e.sim.DeliverWebhooks(context.Background())
			hook := rc.all()
			if len(hook) != 1 {
				t.Fatalf("deliveries: %d", len(hook))
			}
			if _, ok := get(hook[0].event, "issue", "fields", "customfield_10055").(string); !ok {
				t.Errorf("webhook value is not a wiki string: %v", get(hook[0].event, "issue", "fields", "customfield_10055"))
			}
			// Clearing it with null, and the changelog item in wiki markup.
			c.must(http.StatusNoContent, "PUT", "issue/"+key, map[string]any{"fields": map[string]any{"customfield_10055": nil}})
			got = c.must(http.StatusOK, "GET", "issue/"+key+"?fields=customfield_10055&expand=changelog", nil).json(t)
			if v := get(got, "fields", "customfield_10055"); v != nil {
				t.Errorf("after clearing: %v", v)
			}
			item := get(got, "changelog", "histories", 0, "items", 0) // the only history
			if get(item, "field") != "Steps to reproduce" || get(item, "fieldtype") != "custom" || get(item, "toString") != nil || get(item, "fromString") == nil {
				t.Errorf("changelog item of clearing: %v", item)
			}
		})
	}
}

func TestOpsProject(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			c := e.admin
			meta := c.must(http.StatusOK, "GET", "issue/createmeta/OPS/issuetypes/"+typeTask.ID, nil).json(t)
			fields := meta["fields"]
			if fields == nil {
				fields = meta["values"]
			}
			ids := map[string]map[string]any{}
			for _, x := range fields.([]any) {
				ids[x.(map[string]any)["fieldId"].(string)] = x.(map[string]any)
			}
			if _, ok := ids["labels"]; ok {
				t.Error("OPS createmeta lists labels; its create screen has none")
			}
			var prios []string
			for _, v := range ids["priority"]["allowedValues"].([]any) {
				prios = append(prios, v.(map[string]any)["name"].(string))
			}
			if diff := cmp.Diff([]string{"Highest", "High", "Medium", "Low"}, prios); diff != "" {
				t.Errorf("OPS priorities (-want +got):\n%s", diff)
			}
			if get(ids["project"], "allowedValues", 0, "key") != "OPS" {
				t.Errorf("OPS createmeta project: %v", ids["project"])
			}
			// Labels are not on the screen: Jira's exact answer.
			r := c.do("POST", "issue", opsBody("with labels", map[string]any{"labels": []string{"x"}}))
			if r.status != http.StatusBadRequest || string(r.body) != `{"errorMessages":[],"errors":{"labels":"Field 'labels' cannot be set. It is not on the appropriate screen, or unknown."}}` {
				t.Errorf("OPS create with labels: %d %s", r.status, r.body)
			}
			r = c.do("POST", "issue", opsBody("lowest", map[string]any{"priority": map[string]any{"name": "Lowest"}}))
			if r.status != http.StatusBadRequest || get(r.json(t), "errors", "priority") != "The priority selected is invalid." {
				t.Errorf("OPS create with Lowest: %d %s", r.status, r.body)
			}
			key := createOps(t, c, "ops work", map[string]any{"priority": map[string]any{"name": "Low"}})
			if key != "OPS-1" {
				t.Errorf("first OPS key %s, want OPS-1", key)
			}
			r = c.do("PUT", "issue/"+key, map[string]any{"fields": map[string]any{"priority": map[string]any{"id": "5"}}})
			if r.status != http.StatusBadRequest || get(r.json(t), "errors", "priority") != "The priority selected is invalid." {
				t.Errorf("OPS edit to Lowest: %d %s", r.status, r.body)
			}
			r = c.do("PUT", "issue/"+key, map[string]any{"update": map[string]any{"labels": []any{map[string]any{"add": "x"}}}})
			if r.status != http.StatusBadRequest || get(r.json(t), "errors", "labels") != msgCannotSet("labels") {
				t.Errorf("OPS edit of labels: %d %s", r.status, r.body)
			}
			is := c.must(http.StatusOK, "GET", "issue/"+key, nil).json(t)
			if get(is, "fields", "project", "key") != "OPS" || get(is, "fields", "priority", "name") != "Low" {
				t.Errorf("OPS issue: project %v priority %v", get(is, "fields", "project"), get(is, "fields", "priority"))
			}
			// SEC keeps Lowest and labels.
			sec := c.createIssue("Task", "sec", map[string]any{"priority": map[string]any{"name": "Lowest"}, "labels": []string{"x"}})
			// editmeta reflects the screens.
			opsEdit := c.must(http.StatusOK, "GET", "issue/"+key+"/editmeta", nil).json(t)["fields"].(map[string]any)
			secEdit := c.must(http.StatusOK, "GET", "issue/"+sec+"/editmeta", nil).json(t)["fields"].(map[string]any)
			if _, ok := opsEdit["labels"]; ok {
				t.Error("OPS editmeta lists labels")
			}
			if _, ok := secEdit["labels"]; !ok {
				t.Error("SEC editmeta lacks labels")
			}
			if n := len(get(opsEdit, "priority", "allowedValues").([]any)); n != 4 {
				t.Errorf("OPS editmeta priorities: %d, want 4", n)
			}
			if n := len(get(secEdit, "priority", "allowedValues").([]any)); n != 5 {
				t.Errorf("SEC editmeta priorities: %d, want 5", n)
			}
			// Priorities per project.
			ps := c.must(http.StatusOK, "GET", "priority/search?projectId="+opsProject.ID, nil).json(t)
			if ps["total"] != 4.0 || slices.ContainsFunc(ps["values"].([]any), func(v any) bool { return get(v, "name") == "Lowest" }) {
				t.Errorf("priority/search for OPS: %v", ps)
			}
			if ps := c.must(http.StatusOK, "GET", "priority/search?projectId="+secProject.ID, nil).json(t); ps["total"] != 5.0 {
				t.Errorf("priority/search for SEC: total %v", ps["total"])
			}
			if p == ProfileCloud {
				sch := c.must(http.StatusOK, "GET", "priorityscheme?expand=priorities,projects", nil).json(t)
				for _, v := range sch["values"].([]any) {
					if get(v, "projects", "values", 0, "key") == "OPS" && get(v, "priorities", "total") != 4.0 {
						t.Errorf("OPS priority scheme: %v", v)
					}
				}
			} else {
				c.must(http.StatusNotFound, "GET", "priorityscheme", nil)
			}
			// Projects and JQL know OPS.
			if n := len(c.must(http.StatusOK, "GET", "project", nil).list(t)); n != 2 {
				t.Errorf("projects: %d, want 2", n)
			}
			c.must(http.StatusOK, "GET", "project/OPS", nil)
			jql := url.QueryEscape("project = OPS")
			if p == ProfileCloud {
				res := c.must(http.StatusOK, "GET", "search/jql?fields=summary&jql="+jql, nil).json(t)
				if n := len(res["issues"].([]any)); n != 1 || get(res, "issues", 0, "key") != "OPS-1" {
					t.Errorf("project = OPS: %v", res)
				}
			} else {
				res := c.must(http.StatusOK, "GET", "search?jql="+jql, nil).json(t)
				if res["total"] != 1.0 {
					t.Errorf("project = OPS: %v", res)
				}
			}
		})
	}
}

func TestTransitionScreensPerProfile(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			c := e.admin
			var names []string
			for _, r := range c.must(http.StatusOK, "GET", "resolution", nil).list(t) {
				names = append(names, get(r, "name").(string))
			}
			if diff := cmp.Diff([]string{"Done", "Won't Do", "Duplicate", "Cannot Reproduce"}, names); diff != "" {
				t.Errorf("resolutions (-want +got):\n%s", diff)
			}
			key := c.createIssue("Task", "t", nil)
			c.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
			tr := c.must(http.StatusOK, "GET", "issue/"+key+"/transitions?expand=transitions.fields", nil).json(t)
			var done map[string]any
			for _, x := range tr["transitions"].([]any) {
				if get(x, "id") == "41" {
					done = x.(map[string]any)
				}
			}
			dc := p != ProfileCloud
			res := get(done, "fields", "resolution")
			if get(res, "required") != dc || len(get(res, "allowedValues").([]any)) != 4 {
				t.Errorf("Done screen resolution field: %v", res)
			}
			r := c.do("POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "41"}})
			if dc {
				if r.status != http.StatusBadRequest || string(r.body) != `{"errorMessages":[],"errors":{"resolution":"Resolution is required."}}` {
					t.Fatalf("Done without resolution on %s: %d %s", p, r.status, r.body)
				}
				c.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "41"},
					"fields": map[string]any{"resolution": map[string]any{"name": "Duplicate"}}})
			} else if r.status != http.StatusNoContent {
				t.Fatalf("Done without resolution on Cloud: %d %s", r.status, r.body)
			}
			want := "Done"
			if dc {
				want = "Duplicate"
			}
			if got := get(c.must(http.StatusOK, "GET", "issue/"+key+"?fields=resolution", nil).json(t), "fields", "resolution", "name"); got != want {
				t.Errorf("resolution %v, want %s", got, want)
			}
		})
	}
}

func TestTransitionConditions(t *testing.T) {
	e := profileEnv(t, ProfileCloud, false)
	r := e.admin.must(http.StatusOK, "POST", "/_sim/transition-conditions", map[string]any{"hidden": map[string]any{"51": []string{"dev"}}})
	if get(r.json(t), "hidden", "51", 0) != "dev" {
		t.Errorf("conditions answer: %s", r.body)
	}
	e.admin.must(http.StatusBadRequest, "POST", "/_sim/transition-conditions", map[string]any{"hidden": map[string]any{"99": []string{"dev"}}})
	key := e.admin.createIssue("Task", "c", nil)
	if diff := cmp.Diff([]string{"21", "51"}, transitionIDs(t, e.admin, key)); diff != "" {
		t.Errorf("admin's transitions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"21"}, transitionIDs(t, e.dev, key)); diff != "" {
		t.Errorf("dev's transitions (-want +got):\n%s", diff)
	}
	e.dev.must(http.StatusBadRequest, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "51"}})
	e.sim.SetTransitionConditions(TransitionConditions{})
	e.dev.must(http.StatusNoContent, "POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "51"}})
}

func TestSearchLag(t *testing.T) {
	for _, p := range []Profile{ProfileCloud, ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			c := e.admin
			old := c.createIssue("Task", "old", nil)
			lag := c.must(http.StatusOK, "POST", "/_sim/search-lag", map[string]any{"seconds": 30}).json(t)
			if lag["seconds"] != 30.0 || e.sim.SearchLag() != 30*time.Second {
				t.Fatalf("search lag: %v", lag)
			}
			c.must(http.StatusBadRequest, "POST", "/_sim/search-lag", map[string]any{"seconds": -1})
			e.clock.Advance(time.Minute)
			fresh := c.createIssue("Task", "fresh", nil)
			c.must(http.StatusOK, "GET", "issue/"+fresh, nil) // GET issue sees it at once
			keys := func(extra map[string]any) []string {
				t.Helper()
				var out []string
				if p == ProfileCloud {
					body := map[string]any{"jql": "project = SEC", "fields": []string{"summary"}}
					for k, v := range extra {
						body[k] = v
					}
					for _, is := range c.must(http.StatusOK, "POST", "search/jql", body).json(t)["issues"].([]any) {
						out = append(out, get(is, "key").(string))
					}
				} else {
					for _, is := range c.must(http.StatusOK, "POST", "search", map[string]any{"jql": "project = SEC"}).json(t)["issues"].([]any) {
						out = append(out, get(is, "key").(string))
					}
				}
				sort.Strings(out)
				return out
			}
			if diff := cmp.Diff([]string{old}, keys(nil)); diff != "" {
				t.Errorf("search during the lag (-want +got):\n%s", diff)
			}
			if p == ProfileCloud {
				id := c.must(http.StatusOK, "GET", "issue/"+fresh, nil).json(t)["id"].(string)
				var n int64
				fmt.Sscan(id, &n)
				if diff := cmp.Diff([]string{old, fresh}, keys(map[string]any{"reconcileIssues": []int64{n}})); diff != "" {
					t.Errorf("search with reconcileIssues (-want +got):\n%s", diff)
				}
				if cnt := c.must(http.StatusOK, "POST", "search/approximate-count", map[string]any{"jql": "project = SEC"}).json(t)["count"]; cnt != 1.0 {
					t.Errorf("approximate-count during the lag: %v", cnt)
				}
			}
			e.clock.Advance(31 * time.Second)
			if diff := cmp.Diff([]string{old, fresh}, keys(nil)); diff != "" {
				t.Errorf("search after the lag (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMyPermissions(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			q := "mypermissions?permissions=BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES,TRANSITION_ISSUES,ADMINISTER&projectKey=SEC"
			for _, u := range []struct {
				c     *client
				admin bool
			}{{e.admin, true}, {e.dev, false}} {
				perms := u.c.must(http.StatusOK, "GET", q, nil).json(t)["permissions"].(map[string]any)
				if len(perms) != 5 {
					t.Errorf("permissions: got %d, want the 5 asked for", len(perms))
				}
				for k, v := range perms {
					want := k != "ADMINISTER" || u.admin
					if get(v, "havePermission") != want || get(v, "key") != k || get(v, "id") == nil || get(v, "name") == nil || get(v, "type") == nil {
						t.Errorf("admin=%v %s: %v", u.admin, k, v)
					}
				}
			}
			e.admin.must(http.StatusNotFound, "GET", "mypermissions?permissions=BROWSE_PROJECTS&projectKey=NOPE", nil)
			if p == ProfileCloud {
				e.admin.must(http.StatusBadRequest, "GET", "mypermissions", nil)
			}
		})
	}
}

func TestOldCreateMetaAndDataCenter404(t *testing.T) {
	for _, p := range Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := profileEnv(t, p, true)
			r := e.admin.do("GET", "issue/createmeta?projectKeys=SEC&expand=projects.issuetypes.fields", nil)
			if p == ProfileCloud {
				if r.status != http.StatusOK || get(r.json(t), "projects", 0, "key") != "SEC" || get(r.json(t), "projects", 0, "issuetypes", 0, "fields", "summary", "required") != true {
					t.Errorf("Cloud createmeta: %d %s", r.status, r.body)
				}
			} else if r.status != http.StatusNotFound || strings.Contains(string(r.body), "Issue") {
				// Gone on DC 9+: a 404 for the path, not Get issue's answer.
				t.Errorf("DC createmeta: %d %s", r.status, r.body)
			}
			r = e.admin.do("GET", "issue/SEC-999", nil)
			want := `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`
			if p != ProfileCloud {
				want = `{"errorMessages":["Issue Does Not Exist"],"errors":{}}`
			}
			if r.status != http.StatusNotFound || string(r.body) != want {
				t.Errorf("missing issue: %d %s, want %s", r.status, r.body, want)
			}
		})
	}
}
