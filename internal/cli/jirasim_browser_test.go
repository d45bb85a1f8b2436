package cli

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// TestBrowserDrivesTheDemoLikeJira opens the demo's printed /browse link in
// Chromium, moves the issue and comments on it through the simulator's
// pages, and sees both arrive in vulnsync; the demo's own start leaves no
// failure in the sync log.
func TestBrowserDrivesTheDemoLikeJira(t *testing.T) {
	chromiumPath(t)
	d := startDemo(t, t.TempDir(), jirasim.Cloud)
	m := regexp.MustCompile(`item (\S+), Jira (SEC-\d+) \((http://\S+/browse/SEC-\d+)\)`).FindStringSubmatch(d.printed)
	if m == nil {
		t.Fatalf("the demo printed no /browse link:\n%s", d.printed)
	}
	itemID, key, link := m[1], m[2], m[3]

	var ins struct {
		Integrations []struct {
			ID string `json:"id"`
		} `json:"integrations"`
	}
	d.mustDo(200, "GET", "/api/v1/integrations", nil, &ins)
	var log struct {
		Events []struct {
			Action, Result, Error string
		} `json:"events"`
	}
	d.mustDo(200, "GET", "/api/v1/integrations/"+ins.Integrations[0].ID+"/events?limit=1000", nil, &log)
	for _, ev := range log.Events {
		if ev.Result == "error" {
			t.Errorf("the demo's start left a failure in the sync log: %s: %s", ev.Action, ev.Error)
		}
	}

	b, ctx := newTab(t, d.jiraURL)
	if st := b.open(ctx, strings.TrimPrefix(link, d.jiraURL)); st != http.StatusOK {
		t.Fatalf("GET %s: %d", link, st)
	}
	b.shot(ctx, "browse")
	if got := b.text(ctx, "#status"); !strings.EqualFold(got, "To Do") {
		t.Fatalf("%s status on its page: %q", key, got)
	}
	if st := b.submit(ctx, "start progress", `button[value="Start Progress"]`); st != http.StatusOK {
		t.Fatalf("Start Progress: %d", st)
	}
	if got := b.text(ctx, "#status"); !strings.EqualFold(got, "In Progress") {
		t.Errorf("after Start Progress the page shows %q", got)
	}
	b.do(ctx, "type a comment", chromedp.SendKeys(chromedp.CSS(`textarea[name=body]`), "Fix deployed to staging, please retest."))
	if st := b.submit(ctx, "comment", `form[action$="/comment"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("comment: %d", st)
	}
	if !strings.Contains(b.text(ctx, "main"), "Fix deployed to staging, please retest.") {
		t.Errorf("the comment is not on the page")
	}
	b.shot(ctx, "after")

	// Both changes arrive in vulnsync through the webhooks.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var it struct{ Status string }
		var cs struct {
			Comments []struct{ Body, Origin string }
		}
		d.mustDo(200, "GET", "/api/v1/items/"+itemID, nil, &it)
		d.mustDo(200, "GET", "/api/v1/items/"+itemID+"/comments", nil, &cs)
		found := false
		for _, c := range cs.Comments {
			found = found || (c.Origin == "jira" && strings.Contains(c.Body, "please retest"))
		}
		if it.Status == "in_progress" && found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the item is %q, Jira comment arrived: %v", it.Status, found)
		}
		<-tick.C
	}
}
