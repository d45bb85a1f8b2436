package richtext

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jiraspec"
)

// sharedDir is ../shared, or the test skips.
func sharedDir(t *testing.T) string { return jiraspec.Shared(t, ".") }

// recordedWikiBodies collects the description and comment body fields of
// the recorded webhook deliveries: wiki markup, on Cloud as on Server.
func recordedWikiBodies(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join(sharedDir(t), "jira", "recorded", "mattermost-plugin-jira", "webhooks")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatalf("list recorded webhooks: %v", err)
	}
	if len(files) == 0 {
		t.Skipf("no recorded webhooks in %s", dir)
	}
	bodies := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("decode %s: %v", f, err)
		}
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch x := v.(type) {
			case map[string]any:
				for k, c := range x {
					if s, ok := c.(string); ok && (k == "description" || k == "body") && strings.TrimSpace(s) != "" {
						bodies[filepath.Base(f)+":"+path+"."+k] = s
					}
					walk(c, path+"."+k)
				}
			case []any:
				for _, c := range x {
					walk(c, path+"[]")
				}
			}
		}
		walk(v, "")
	}
	return bodies
}

var (
	wikiLinkRe    = regexp.MustCompile(`\[([^|\]\[]+)\|(https?://[^|\]\s]+)\]`)
	wikiMentionRe = regexp.MustCompile(`\[~(?:accountid:)?([^\]\s]+)\]`)
)

func TestRecordedWikiBodies(t *testing.T) {
	bodies := recordedWikiBodies(t)
	if len(bodies) == 0 {
		t.Fatal("the recorded webhooks hold no description or comment body")
	}
	keys := make([]string, 0, len(bodies))
	for k := range bodies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	links, mentions := 0, 0
	for _, k := range keys {
		wiki := bodies[k]
		md := FromWiki(wiki)
		if strings.TrimSpace(md) == "" {
			t.Errorf("%s: FromWiki(%q) is empty", k, wiki)
			continue
		}
		for _, macro := range []string{"{code", "{noformat", "{quote}", "{color", "{panel"} {
			if strings.Contains(md, macro) && !strings.Contains(wiki, `\`+macro) {
				t.Errorf("%s: FromWiki(%q) = %q still holds %s", k, wiki, md, macro)
			}
		}
		for _, m := range wikiLinkRe.FindAllStringSubmatch(wiki, -1) {
			links++
			if want := "](" + m[2] + ")"; !strings.Contains(md, want) {
				t.Errorf("%s: FromWiki(%q) = %q lost the link to %s", k, wiki, md, m[2])
			}
		}
		for _, m := range wikiMentionRe.FindAllStringSubmatch(wiki, -1) {
			mentions++
			if want := "@" + m[1]; !strings.Contains(md, want) {
				t.Errorf("%s: FromWiki(%q) = %q lost the mention of %s", k, wiki, md, m[1])
			}
		}
		doc := WikiToADF(wiki)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("%s: marshal: %v", k, err)
		}
		if _, err := ParseADF(raw); err != nil {
			t.Errorf("%s: ParseADF(WikiToADF(%q)): %v", k, wiki, err)
		}
		if again := FromADF(ToADF(md)); again != md {
			t.Errorf("%s: Markdown %q is not stable, became %q", k, md, again)
		}
		if again := FromWiki(ToWiki(md)); again != md {
			t.Errorf("%s: Markdown %q did not survive wiki markup %q: %q", k, md, ToWiki(md), again)
		}
	}
	t.Logf("checked %d recorded bodies: %d links, %d mentions", len(keys), links, mentions)
	// The recordings hold both; if they stop doing so this test checks less.
	if links == 0 || mentions == 0 {
		t.Errorf("recorded bodies exercised %d links and %d mentions, want both > 0", links, mentions)
	}
}
