package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

var seenParam = regexp.MustCompile(`hx-get="(/integrations/targets/[^"?]+/live\?seen=([0-9a-f]+))"`)

// The live fragment of an integration answers 204 while what it shows is
// the version the page has (nothing for htmx to swap), and the new
// fragment, with a new version, once the integration changed.
func TestIntegrationLiveAnswersOnlyChanges(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations")
	_, in := integrated(t, e, b, tok)
	if _, err := e.integ.SetMapping(context.Background(), in.ID, json.RawMessage(mapping.Example)); err != nil {
		t.Fatal(err)
	}
	page := b.get("/integrations/targets/" + in.ID + "/activity")
	m := seenParam.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the activity page has no live fragment: %.3000s", page.body)
	}
	poll := strings.ReplaceAll(m[1], "&amp;", "&")
	if a := b.get(poll); a.status != http.StatusNoContent || a.body != "" {
		t.Fatalf("poll with the page's version: %d %q, want 204 and nothing", a.status, a.body)
	}
	if a := b.post("/integrations/targets/"+in.ID+"/pause", url.Values{"csrf_token": {tok}}); a.status != http.StatusSeeOther {
		t.Fatalf("pause: %d", a.status)
	}
	a := b.get(poll)
	if a.status != http.StatusOK || !strings.Contains(a.body, `data-state="paused"`) || !strings.Contains(a.body, `id="resume-sync"`) {
		t.Fatalf("poll after pausing: %d %.1000s", a.status, a.body)
	}
	m2 := seenParam.FindStringSubmatch(a.body)
	if m2 == nil || m2[2] == m[2] {
		t.Fatalf("the new fragment's version: %v (was %s)", m2, m[2])
	}
	if strings.Contains(a.body, "<html") {
		t.Errorf("the fragment came with the layout")
	}
	if a := b.get(strings.ReplaceAll(m2[1], "&amp;", "&")); a.status != http.StatusNoContent {
		t.Errorf("poll with the new version: %d, want 204", a.status)
	}
}

// The item's live fragment raises "item-live-changed" (which refreshes the
// page's Jira sync card) only when the page is behind: its version is
// another, or, on a page rendered without one, the Jira key it shows is
// not the item's.
func TestItemLiveTellsWhenThePageIsBehind(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	tg, err := e.svc.CreateTarget(context.Background(), tracker.Target{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.CreateItem(context.Background(), service.System, tg.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "XSS", Severity: "high"})
	if err != nil {
		t.Fatal(err)
	}
	live := "/items/" + it.ID + "/live"
	for _, tc := range []struct {
		query       string
		wantStatus  int
		wantTrigger string
	}{
		{"?key=", http.StatusOK, ""},                       // the page shows no key, nor has the item one
		{"?key=SEC-1", http.StatusOK, "item-live-changed"}, // the page shows a key the item no longer has
		{"?seen=0123456789abcdef", http.StatusOK, "item-live-changed"},
	} {
		a := b.get(live + tc.query)
		if a.status != tc.wantStatus || a.header.Get("HX-Trigger") != tc.wantTrigger {
			t.Errorf("%s: %d trigger %q, want %d %q", tc.query, a.status, a.header.Get("HX-Trigger"), tc.wantStatus, tc.wantTrigger)
		}
	}
	a := b.get(live)
	m := regexp.MustCompile(`live\?seen=([0-9a-f]+)`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("fragment without its version: %s", a.body)
	}
	if a := b.get(live + "?seen=" + m[1]); a.status != http.StatusNoContent || a.header.Get("HX-Trigger") != "" {
		t.Errorf("poll with the current version: %d %q, want 204 without trigger", a.status, a.header.Get("HX-Trigger"))
	}
}

// A fragment of something that is gone tells htmx to stop polling (286);
// without htmx it is the usual 404 page.
func TestLiveOfWhatIsGoneStopsPolling(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	for _, path := range []string{"/items/no-such-item/live", "/integrations/targets/no-such-integration/live"} {
		if a := b.get(path); a.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, a.status)
		}
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("HX-Request", "true")
		if a := b.do(req); a.status != 286 {
			t.Errorf("GET %s from htmx: %d, want 286", path, a.status)
		}
	}
}
