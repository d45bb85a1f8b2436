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
