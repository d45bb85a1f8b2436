package jira

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests pin the client to the ways real Jira sites differ
// (../shared/jira/README.md, "Where real Jira varies").

func dcServerInfo(version string, numbers string) string {
	return fmt.Sprintf(`{"baseUrl":"https://jira.example.com","version":%q,"versionNumbers":%s,"deploymentType":"Server","buildNumber":1,"serverTime":"2025-03-01T12:00:00.000+0000","serverTitle":"Jira"}`, version, numbers)
}

func TestWebhookAPIByVersion(t *testing.T) {
	ctx := context.Background()
	in := Webhook{Name: "vulnsync", URL: "https://vulnsync.example.test/webhooks/jira/c1", Events: []string{"jira:issue_created"}, JQL: "project = SEC", Secret: "s3cret"}

	t.Run("dc-9 legacy, unsigned", func(t *testing.T) {
		f := newBehaviourFake(t)
		f.reply("GET /rest/api/2/serverInfo", 200, dcServerInfo("9.12.15", "[9,12,15]"))
		f.reply("POST /rest/webhooks/1.0/webhook", 201, `{"self":"https://jira.example.com/rest/webhooks/1.0/webhook/3","name":"vulnsync","url":"https://vulnsync.example.test/webhooks/jira/c1","events":["jira:issue_created"],"filters":{"issue-related-events-section":"project = SEC"},"enabled":true}`)
		c := f.client(DataCenter)
		api, err := c.WebhookAPI(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(WebhookAPI{Path: "/rest/webhooks/1.0/webhook", JQLFilter: true}, api); diff != "" {
			t.Errorf("WebhookAPI (-want +got):\n%s", diff)
		}
		got, err := c.RegisterWebhook(ctx, in)
		if err != nil || got.ID != "3" || got.JQL != "project = SEC" {
			t.Fatalf("RegisterWebhook: (%+v, %v)", got, err)
		}
	})

	t.Run("dc-10 jira-webhook API", func(t *testing.T) {
		f := newBehaviourFake(t)
		f.reply("GET /rest/api/2/serverInfo", 200, dcServerInfo("10.3.4", "[10,3,4]"))
		hook := `{"id":12,"name":"vulnsync","url":"https://vulnsync.example.test/webhooks/jira/c1","events":["jira:issue_created"],"configuration":{"EXCLUDE_BODY":"false"},"active":true,"scopeType":"global","createdDate":1740830400000}`
		f.reply("POST /rest/jira-webhook/1.0/webhooks", 201, hook)
		f.reply("GET /rest/jira-webhook/1.0/webhooks", 200, "["+hook+"]")
		f.reply("PUT /rest/jira-webhook/1.0/webhooks/12", 200, hook)
		f.handle("DELETE /rest/jira-webhook/1.0/webhooks/12", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
		c := f.client("") // detected from serverInfo
		api, err := c.WebhookAPI(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(WebhookAPI{Path: "/rest/jira-webhook/1.0/webhooks", Signed: true}, api); diff != "" {
			t.Errorf("WebhookAPI (-want +got):\n%s", diff)
		}
		got, err := c.RegisterWebhook(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		want := &Webhook{ID: "12", Self: f.srv.URL + "/rest/jira-webhook/1.0/webhooks/12", Name: "vulnsync", URL: in.URL, Events: in.Events, Enabled: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("registered (-want +got):\n%s", diff)
		}
		wantBody := roundTrip(t, map[string]any{"name": "vulnsync", "url": in.URL, "events": in.Events, "active": true, "scopeType": "global",
			"configuration": map[string]string{"SECRET": "s3cret", "EXCLUDE_BODY": "false"}})
		if diff := cmp.Diff(wantBody, decodeBody(t, f.requests("POST /rest/jira-webhook/1.0/webhooks")[0].Body)); diff != "" {
			t.Errorf("register body (-want +got):\n%s", diff)
		}
		if list, err := c.Webhooks(ctx); err != nil || len(list) != 1 || list[0].ID != "12" {
			t.Errorf("Webhooks: (%+v, %v)", list, err)
		}
		if _, err := c.UpdateWebhook(ctx, "12", in); err != nil {
			t.Errorf("UpdateWebhook: %v", err)
		}
		if err := c.DeleteWebhook(ctx, "12"); err != nil {
			t.Errorf("DeleteWebhook: %v", err)
		}
		if n := len(f.requests("GET /rest/api/2/serverInfo")); n != 1 {
			t.Errorf("serverInfo read %d times, want once per connection", n)
		}
		if n := len(f.requests("POST /rest/webhooks/")) + len(f.requests("GET /rest/webhooks/")); n != 0 {
			t.Errorf("legacy webhook API used %d times on Data Center 10", n)
		}
	})
}

func TestParsedVersion(t *testing.T) {
	for _, tc := range []struct {
		info ServerInfo
		want Version
	}{
		{ServerInfo{VersionNumbers: []int{10, 3, 4}}, Version{10, 3, 4}},
		{ServerInfo{Version: "9.12.2"}, Version{9, 12, 2}},
		{ServerInfo{Version: "11.0.0-SNAPSHOT"}, Version{11, 0, 0}},
		{ServerInfo{Version: "8.20"}, Version{8, 20, 0}},
	} {
		if got := tc.info.ParsedVersion(); got != tc.want {
			t.Errorf("%+v: got %v, want %v", tc.info, got, tc.want)
		}
	}
	if !(Version{10, 0, 0}).AtLeast(10, 0) || (Version{9, 12, 0}).AtLeast(10, 0) {
		t.Error("AtLeast")
	}
}

const historyFmt = `{"id":%q,"author":{"accountId":"5b10","displayName":"Dev","active":true},"created":%q,"items":[%s]}`

func TestChangelogSortedAndCompleted(t *testing.T) {
	f := newBehaviourFake(t)
	item := `{"field":"status","fieldtype":"jira","fieldId":"status","from":"1","fromString":"To Do","to":"3","toString":"In Progress"}`
	custom := `{"field":"numfield","fieldtype":"custom","from":null,"fromString":null,"to":null,"toString":"5"}`
	h1 := fmt.Sprintf(historyFmt, "100", "2025-03-01T10:00:00.000+0000", custom)
	h2 := fmt.Sprintf(historyFmt, "101", "2025-03-01T11:00:00.000+0000", item)
	h3 := fmt.Sprintf(historyFmt, "102", "2025-03-01T12:00:00.000+0000", item)
	// Embedded: newest first and capped (2 of 3).
	f.reply("GET /rest/api/3/issue/SEC-1", 200, `{"id":"10001","key":"SEC-1","fields":{"summary":"x"},"changelog":{"startAt":0,"maxResults":2,"total":3,"histories":[`+h3+","+h2+`]}}`)
	f.handle("GET /rest/api/3/issue/SEC-1/changelog", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("startAt") == "0" {
			writeJSON(w, 200, `{"startAt":0,"maxResults":2,"total":3,"isLast":false,"values":[`+h1+","+h2+`]}`)
			return
		}
		writeJSON(w, 200, `{"startAt":2,"maxResults":2,"total":3,"isLast":true,"values":[`+h3+`]}`)
	})
	c := f.client(Cloud)
	ctx := context.Background()
	is, err := c.GetIssue(ctx, "SEC-1", GetIssueOptions{Changelog: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(es []ChangelogEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"100", "101", "102"}, ids(is.Changelog)); diff != "" {
		t.Errorf("GetIssue changelog (-want +got):\n%s", diff)
	}
	if got := is.Changelog[0].Items[0]; got.Field != "numfield" || got.FieldType != "custom" || got.FieldID != "" || got.ToString != "5" {
		t.Errorf("custom item without fieldId: %+v", got)
	}
	all, err := c.Changelog(ctx, "SEC-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"100", "101", "102"}, ids(all)); diff != "" {
		t.Errorf("Changelog (-want +got):\n%s", diff)
	}
	if !slices.IsSortedFunc(all, func(a, b ChangelogEntry) int { return a.Created.Compare(b.Created) }) {
		t.Error("Changelog not sorted by created")
	}
}

func TestChangelogFallsBackToEmbeddedOnDataCenter(t *testing.T) {
	f := newBehaviourFake(t)
	h1 := fmt.Sprintf(historyFmt, "100", "2025-03-01T10:00:00.000+0000", `{"field":"labels","fieldtype":"jira","from":null,"fromString":"","to":null,"toString":"a"}`)
	h2 := fmt.Sprintf(historyFmt, "101", "2025-03-01T11:00:00.000+0000", `{"field":"labels","fieldtype":"jira","from":null,"fromString":"a","to":null,"toString":"b"}`)
	f.reply("GET /rest/api/2/issue/SEC-1/changelog", 404, `{"errorMessages":["null for uri"],"errors":{}}`)
	f.reply("GET /rest/api/2/issue/SEC-1", 200, `{"id":"10001","key":"SEC-1","fields":{"created":"2025-03-01T09:00:00.000+0000"},"changelog":{"startAt":0,"maxResults":2,"total":2,"histories":[`+h2+","+h1+`]}}`)
	c := f.client(DataCenter)
	all, err := c.Changelog(context.Background(), "SEC-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "100" || all[1].ID != "101" {
		t.Errorf("Changelog: %+v", all)
	}
}

func TestMyPermissionsPrioritiesEditMetaResolutions(t *testing.T) {
	ctx := context.Background()
	f := newBehaviourFake(t)
	f.handle("GET /rest/api/3/mypermissions", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("projectKey") != "OPS" || r.URL.Query().Get("permissions") != "CREATE_ISSUES,ADMINISTER" {
			writeJSON(w, 400, `{"errorMessages":["bad query"],"errors":{}}`)
			return
		}
		writeJSON(w, 200, `{"permissions":{"CREATE_ISSUES":{"id":"11","key":"CREATE_ISSUES","name":"Create Issues","type":"PROJECT","description":"d","havePermission":true},"ADMINISTER":{"id":"0","key":"ADMINISTER","name":"Administer Jira","type":"GLOBAL","description":"d","havePermission":false}}}`)
	})
	f.reply("GET /rest/api/3/priority/search", 200, `{"startAt":0,"maxResults":50,"total":2,"isLast":true,"values":[{"id":"1","name":"Highest","isDefault":false},{"id":"3","name":"Medium","isDefault":true}]}`)
	f.reply("GET /rest/api/3/issue/OPS-1/editmeta", 200, `{"fields":{"summary":{"required":true,"name":"Summary","key":"summary","operations":["set"],"schema":{"type":"string","system":"summary"}}}}`)
	f.reply("GET /rest/api/3/resolution", 200, `[{"id":"10000","name":"Done","description":"d","self":"http://jira/rest/api/3/resolution/10000"}]`)
	c := f.client(Cloud)
	perms, err := c.MyPermissions(ctx, "OPS", PermCreateIssues, PermAdminister)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"CREATE_ISSUES": true, "ADMINISTER": false}, perms); diff != "" {
		t.Errorf("MyPermissions (-want +got):\n%s", diff)
	}
	prios, err := c.ProjectPriorities(ctx, "10001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Priority{{ID: "1", Name: "Highest"}, {ID: "3", Name: "Medium", IsDefault: true}}, prios); diff != "" {
		t.Errorf("ProjectPriorities (-want +got):\n%s", diff)
	}
	if q := f.requests("GET /rest/api/3/priority/search")[0].Query.Get("projectId"); q != "10001" {
		t.Errorf("priority/search projectId = %q", q)
	}
	em, err := c.EditMeta(ctx, "OPS-1")
	if err != nil || !em["summary"].Required || em["summary"].FieldID != "summary" {
		t.Errorf("EditMeta: (%+v, %v)", em, err)
	}
	res, err := c.Resolutions(ctx)
	if err != nil || len(res) != 1 || res[0].Name != "Done" {
		t.Errorf("Resolutions: (%+v, %v)", res, err)
	}
}

func TestProjectPrioritiesDataCenterUsesCreateMeta(t *testing.T) {
	f := newBehaviourFake(t)
	f.reply("GET /rest/api/2/issue/createmeta/10001/issuetypes", 200, `{"startAt":0,"maxResults":50,"total":1,"values":[{"id":"10004","name":"Bug","subtask":false}]}`)
	f.reply("GET /rest/api/2/issue/createmeta/10001/issuetypes/10004", 200, `{"startAt":0,"maxResults":50,"total":1,"values":[{"fieldId":"priority","name":"Priority","required":false,"hasDefaultValue":true,"operations":["set"],"schema":{"type":"priority","system":"priority"},"allowedValues":[{"id":"2","name":"High"},{"id":"3","name":"Medium"}]}]}`)
	c := f.client(DataCenter)
	prios, err := c.ProjectPriorities(context.Background(), "10001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Priority{{ID: "2", Name: "High"}, {ID: "3", Name: "Medium"}}, prios); diff != "" {
		t.Errorf("ProjectPriorities (-want +got):\n%s", diff)
	}
	if n := len(f.requests("GET /rest/api/2/priority/search")); n != 0 {
		t.Errorf("priority/search used on Data Center")
	}
}

// Cloud answers attachment content with 303 to a media host: the client
// follows it without Authorization or cookies.
func TestAttachmentRedirectToOtherHostDropsCredentials(t *testing.T) {
	var mediaAuth, mediaCookie []string
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaAuth = append(mediaAuth, r.Header.Get("Authorization"))
		mediaCookie = append(mediaCookie, r.Header.Get("Cookie"))
		if r.URL.Query().Get("token") != "signed" {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "scan report")
	}))
	defer media.Close()
	var siteAuth []string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		siteAuth = append(siteAuth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/rest/api/3/attachment/content/10000":
			// A same-site hop first, then the media host.
			http.Redirect(w, r, "/rest/api/3/attachment/content/10000/moved", http.StatusFound)
		case "/rest/api/3/attachment/content/10000/moved":
			http.Redirect(w, r, media.URL+"/file/abc?token=signed", http.StatusSeeOther)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	jar, _ := cookiejar.New(nil)
	su, _ := url.Parse(site.URL)
	jar.SetCookies(su, []*http.Cookie{{Name: "JSESSIONID", Value: "secret-session", Path: "/"}})
	c, err := NewClient(Config{BaseURL: site.URL, Deployment: Cloud, Auth: BasicAuth{Email: "a@example.test", APIToken: "tok"},
		HTTPClient: &http.Client{Jar: jar}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.DownloadAttachment(context.Background(), "10000", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "scan report" || got.ContentType != "text/plain" {
		t.Errorf("content: %+v", got)
	}
	if len(siteAuth) != 2 || siteAuth[0] == "" || siteAuth[1] == "" {
		t.Errorf("site requests' Authorization: %q, want credentials on both same-site hops", siteAuth)
	}
	if diff := cmp.Diff([]string{""}, mediaAuth); diff != "" {
		t.Errorf("media host saw Authorization (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{""}, mediaCookie); diff != "" {
		t.Errorf("media host saw cookies (-want +got):\n%s", diff)
	}
	// Over the limit on the media host: a TooLargeError, as for the site.
	if _, err := c.DownloadAttachment(context.Background(), "10000", 4); !IsTooLarge(err) {
		t.Errorf("small max: got %v, want a TooLargeError", err)
	}
}

func TestFieldsNotOnScreen(t *testing.T) {
	e := &ErrorResponse{StatusCode: 400, Errors: map[string]string{
		"labels":            "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown.",
		"customfield_10050": "Field 'customfield_10050' cannot be set. It is not on the appropriate screen, or unknown.",
		"summary":           "You must specify a summary of the issue.",
	}, ErrorMessages: []string{"Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."}}
	if diff := cmp.Diff([]string{"customfield_10050", "labels", "priority"}, e.FieldsNotOnScreen()); diff != "" {
		t.Errorf("FieldsNotOnScreen (-want +got):\n%s", diff)
	}
	if got := (&ErrorResponse{StatusCode: 400, Errors: map[string]string{"summary": "required"}}).FieldsNotOnScreen(); got != nil {
		t.Errorf("other 400: got %v", got)
	}
}

func TestLastRateLimitRemembered(t *testing.T) {
	f := newBehaviourFake(t)
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "97")
		w.Header().Set("RateLimit-Reason", "jira-burst-based")
		writeJSON(w, 200, `{"accountId":"5b10","displayName":"Admin","active":true}`)
	})
	f.reply("GET /rest/api/3/serverInfo", 200, `{"baseUrl":"https://acme.atlassian.net","version":"1001.0.0-SNAPSHOT","versionNumbers":[1001,0,0],"deploymentType":"Cloud","buildNumber":1,"serverTime":"2025-03-01T12:00:00.000+0000","serverTitle":"Jira"}`)
	c := f.client(Cloud)
	if _, ok := c.LastRateLimit(); ok {
		t.Error("rate limit reported before any answer")
	}
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerInfo(context.Background()); err != nil { // no headers: keeps the last seen
		t.Fatal(err)
	}
	rl, ok := c.LastRateLimit()
	if !ok || rl.Limit != 100 || rl.Remaining != 97 || rl.Reason != "jira-burst-based" || !rl.At.Equal(f.clock.Now()) {
		t.Errorf("LastRateLimit: (%+v, %v)", rl, ok)
	}
}
