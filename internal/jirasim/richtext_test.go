package jirasim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRichTextStoredOnceRenderedPerVersion: a description or comment reads
// back unchanged in the format it was written in, converts to the other
// format on the other REST version, and travels as wiki markup in webhooks
// even on Cloud.
func TestRichTextStoredOnceRenderedPerVersion(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{ManualWebhooks: true}})
	rc := newReceiver(t)
	e.register(t, rc.srv.URL, "", "", "jira:issue_created", "comment_created")
	v2 := *e.admin
	v2.api = "/rest/api/2"

	doc := map[string]any{"type": "doc", "version": 1.0, "content": []any{
		map[string]any{"type": "heading", "attrs": map[string]any{"level": 1.0}, "content": []any{map[string]any{"type": "text", "text": "Impact"}}},
		map[string]any{"type": "paragraph", "content": []any{
			map[string]any{"type": "text", "text": "Attackers can "},
			map[string]any{"type": "text", "text": "read", "marks": []any{map[string]any{"type": "strong"}}},
			map[string]any{"type": "text", "text": " the "},
			map[string]any{"type": "text", "text": "users", "marks": []any{map[string]any{"type": "code"}}},
			map[string]any{"type": "text", "text": " table."},
		}},
		map[string]any{"type": "bulletList", "content": []any{
			map[string]any{"type": "listItem", "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "login"}}}}},
			map[string]any{"type": "listItem", "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "search"}}}}},
		}},
	}}
	key := e.admin.createIssue("Task", "rich", map[string]any{"description": doc})

	got := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=description", nil).json(t)
	if diff := cmp.Diff(doc, get(got, "fields", "description")); diff != "" {
		t.Errorf("v3 reads back the ADF it was given (-want +got):\n%s", diff)
	}
	wiki, _ := get(v2.must(http.StatusOK, "GET", "issue/"+key+"?fields=description", nil).json(t), "fields", "description").(string)
	for _, want := range []string{"h1. Impact", "*read*", "{{users}}", "* login", "* search"} {
		if !strings.Contains(wiki, want) {
			t.Errorf("v2 rendering %q lacks %q", wiki, want)
		}
	}

	// Written as wiki on v2, read as ADF on v3.
	key2 := v2.createIssue("Task", "wiki", map[string]any{"description": "h2. Steps\n\n# open *login*\n# submit"})
	got = e.admin.must(http.StatusOK, "GET", "issue/"+key2+"?fields=description", nil).json(t)
	d := get(got, "fields", "description")
	if get(d, "type") != "doc" || get(d, "content", 0, "type") != "heading" || get(d, "content", 1, "type") != "orderedList" {
		b, _ := json.Marshal(d)
		t.Errorf("v3 rendering of wiki: %s", b)
	}
	if w := get(v2.must(http.StatusOK, "GET", "issue/"+key2+"?fields=description", nil).json(t), "fields", "description"); w != "h2. Steps\n\n# open *login*\n# submit" {
		t.Errorf("v2 reads back the wiki it was given: got %q", w)
	}

	e.admin.must(http.StatusCreated, "POST", "issue/"+key+"/comment", map[string]any{"body": adf("Reproduced on *staging*")})
	e.sim.DeliverWebhooks(context.Background())
	deliveries := rc.all()
	if len(deliveries) != 3 {
		t.Fatalf("deliveries: got %d, want 3", len(deliveries))
	}
	if desc, ok := get(deliveries[0].event, "issue", "fields", "description").(string); !ok || !strings.Contains(desc, "h1. Impact") {
		t.Errorf("Cloud webhook description: got %v, want a wiki string", get(deliveries[0].event, "issue", "fields", "description"))
	}
	if body, ok := get(deliveries[2].event, "comment", "body").(string); !ok || !strings.Contains(body, "Reproduced on") {
		t.Errorf("Cloud webhook comment body: got %v, want a wiki string", get(deliveries[2].event, "comment", "body"))
	}
	// The creation changelog names the description in wiki markup too.
	for _, it := range get(deliveries[0].event, "changelog", "items").([]any) {
		if get(it, "field") == "description" && !strings.Contains(get(it, "toString").(string), "h1. Impact") {
			t.Errorf("description changelog item: %v", it)
		}
	}
}
