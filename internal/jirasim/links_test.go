package jirasim

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIssueLinks: POST issueLink (checked against Atlassian's OpenAPI
// document on Cloud) links two issues, and each shows the link in its
// issuelinks field from its own side; an unknown link type or issue is
// refused as Jira refuses it, and nothing is linked.
func TestIssueLinks(t *testing.T) {
	for _, o := range []envOpts{{validate: true}, {profile: ProfileDC10}} {
		e := newEnv(t, o)
		a, b := e.dev.createIssue("Bug", "old", nil), e.dev.createIssue("Bug", "new", nil)
		e.dev.must(http.StatusNotFound, "POST", "issueLink", map[string]any{"type": map[string]any{"name": "Frobs"},
			"inwardIssue": map[string]any{"key": b}, "outwardIssue": map[string]any{"key": a}})
		e.dev.must(http.StatusNotFound, "POST", "issueLink", map[string]any{"type": map[string]any{"name": "Relates"},
			"inwardIssue": map[string]any{"key": b}, "outwardIssue": map[string]any{"key": "SEC-999"}})
		e.dev.must(http.StatusCreated, "POST", "issueLink", map[string]any{"type": map[string]any{"name": "Relates"},
			"inwardIssue": map[string]any{"key": b}, "outwardIssue": map[string]any{"key": a}})
		type side struct{ Type, Inward, Outward string }
		links := func(key string) []side {
			var out []side
			for _, l := range get(e.dev.must(http.StatusOK, "GET", "issue/"+key+"?fields=issuelinks", nil).json(t), "fields", "issuelinks").([]any) {
				s := side{Type: get(l, "type", "name").(string)}
				if k, ok := get(l, "inwardIssue", "key").(string); ok {
					s.Inward = k
				}
				if k, ok := get(l, "outwardIssue", "key").(string); ok {
					s.Outward = k
				}
				out = append(out, s)
			}
			return out
		}
		if diff := cmp.Diff([]side{{Type: "Relates", Outward: a}}, links(b)); diff != "" {
			t.Errorf("links of %s (-want +got):\n%s", b, diff)
		}
		if diff := cmp.Diff([]side{{Type: "Relates", Inward: b}}, links(a)); diff != "" {
			t.Errorf("links of %s (-want +got):\n%s", a, diff)
		}
	}
}
