package web_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

var syncLogPoll = regexp.MustCompile(`id="sync-log" hx-get="([^"]+)"`)

// The activity page's sync log follows the sync: its fragment answers 204
// while nothing changed and the new rows once events were added, always
// under the page's filter and page (both kept in the polling URL); the
// filter and the page are in the page's URL too, with older and newest
// links; a filter that is not one is a 400.
func TestSyncLogFollowsTheSyncUnderItsFilter(t *testing.T) {
	e := apptest.New(t, apptest.Options{UI: true})
	s := e.Setup("payments-api")
	create := func(title string) {
		t.Helper()
		e.Must(201, "POST", "/api/v1/targets/"+s.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": title, "severity": "low"}, nil)
	}
	for i := range 30 {
		create(fmt.Sprintf("Finding %02d", i))
	}
	e.Sync()
	e.Deliver() // our creates coming back: from_jira rows
	e.Sync()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(e.API.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	_, signin := get("/signin")
	req, _ := http.NewRequest("POST", e.API.URL+"/signin", strings.NewReader(url.Values{"csrf_token": {csrfRE.FindStringSubmatch(signin)[1]}, "token": {apptest.Token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.API.URL)
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	activity := "/integrations/targets/" + s.IntegrationID + "/activity"
	poll := func(body string) string {
		t.Helper()
		m := syncLogPoll.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no sync log fragment: %.2000s", body)
		}
		return html.UnescapeString(m[1])
	}

	st, page := get(activity + "?direction=to_jira")
	if st != 200 {
		t.Fatalf("activity: %d", st)
	}
	p := poll(page)
	if !strings.Contains(p, "direction=to_jira") {
		t.Errorf("the polling URL %q lost the filter", p)
	}
	if strings.Contains(page, "Jira → vulnsync</td>") || !strings.Contains(page, "vulnsync → Jira</td>") {
		t.Errorf("the filtered page shows other directions, or nothing")
	}
	if st, body := get(p); st != http.StatusNoContent || body != "" {
		t.Fatalf("poll with nothing new: %d %.200q, want 204", st, body)
	}

	create("Brand new finding")
	e.Sync()
	e.Deliver()
	e.Sync()
	st, frag := get(p)
	if st != 200 || strings.Contains(frag, "<html") {
		t.Fatalf("poll after a new event: %d (a fragment, not a page): %.300q", st, frag)
	}
	if !strings.Contains(frag, "SEC-31") || strings.Contains(frag, "Jira → vulnsync</td>") {
		t.Errorf("the fragment after the new event lacks its row, or shows other directions: %.3000s", frag)
	}
	p2 := poll(frag)
	if p2 == p || !strings.Contains(p2, "direction=to_jira") {
		t.Errorf("the new polling URL %q (was %q): want a new version and the same filter", p2, p)
	}
	if st, _ := get(p2); st != http.StatusNoContent {
		t.Errorf("poll with the new version: %d, want 204", st)
	}

	// Pages: the older page keeps the filter, and so does its polling.
	_, page = get(activity)
	older := regexp.MustCompile(`href="([^"]+)" id="log-older"`).FindStringSubmatch(page)
	if older == nil {
		t.Fatalf("more than a page of events and no older link")
	}
	st, page = get(html.UnescapeString(older[1]))
	if st != 200 || !strings.Contains(page, `id="log-newest"`) {
		t.Fatalf("older page: %d, newest link: %v", st, strings.Contains(page, `id="log-newest"`))
	}
	p3 := poll(page)
	if !strings.Contains(p3, "cursor=") {
		t.Errorf("the older page's polling URL %q lost its page", p3)
	}
	if st, _ := get(p3); st != http.StatusNoContent {
		t.Errorf("poll of the older page: %d, want 204", st)
	}

	for _, bad := range []string{activity + "?result=maybe", activity + "?direction=sideways",
		"/integrations/targets/" + s.IntegrationID + "/log?result=maybe", activity + "?cursor=not-a-cursor"} {
		if st, _ := get(bad); st != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, st)
		}
	}
}
