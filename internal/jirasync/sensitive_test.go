package jirasync_test

import (
	"encoding/json"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// withMapping replaces the integration's mapping by the spec's example
// changed by edit.
func withMapping(t testing.TB, e *apptest.Env, integrationID string, edit func(m map[string]any)) int {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(mapping.Example), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return e.Do("PUT", "/api/v1/integrations/"+integrationID+"/mapping", m, nil)
}

// securityOf reads an issue's security level name ("" for none).
func securityOf(t testing.TB, e *apptest.Env, key string) string {
	t.Helper()
	var is struct {
		Fields struct {
			Security *struct {
				Name string `json:"name"`
			} `json:"security"`
		} `json:"fields"`
	}
	if st := e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"?fields=security", nil, &is); st != 200 {
		t.Fatalf("GET issue %s: %d", key, st)
	}
	if is.Fields.Security == nil {
		return ""
	}
	return is.Fields.Security.Name
}

// A critical item's issue is created with the security level the mapping
// gives critical; when the severity changes to one mapped to another
// level, the level follows; an unmapped severity leaves it as it is. A
// level the project does not have is refused with the mapping unchanged.
func TestSecurityLevelFollowsSeverity(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) {
				m["security_levels"] = map[string]any{"critical": "Top secret"}
			}); st != 422 {
				t.Fatalf("a level the project lacks: %d, want 422", st)
			}
			var cur struct {
				Mapping map[string]any `json:"mapping"`
			}
			e.Must(200, "GET", "/api/v1/integrations/"+s.IntegrationID, nil, &cur)
			if cur.Mapping["security_levels"] != nil {
				t.Fatalf("refused mapping changed the stored one: %v", cur.Mapping["security_levels"])
			}
			if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) {
				m["security_levels"] = map[string]any{"critical": "Security only", "high": "Staff only"}
			}); st != 200 {
				t.Fatalf("mapping with levels: %d", st)
			}
			it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "RCE in the upload handler", "severity": "critical",
				"fields": map[string]any{"cvss_score": 9.8}})
			e.Sync()
			key := jiraKey(t, e, it.ID)
			if got := securityOf(t, e, key); got != "Security only" {
				t.Fatalf("created with level %q, want Security only", got)
			}
			e.Deliver()
			e.Sync()
			e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"severity": "high"}, nil)
			e.Sync()
			if got := securityOf(t, e, key); got != "Staff only" {
				t.Errorf("after critical → high: level %q, want Staff only", got)
			}
			e.Deliver()
			e.Sync()
			e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"severity": "medium"}, nil)
			e.Sync()
			if got := securityOf(t, e, key); got != "Staff only" {
				t.Errorf("after high → medium (unmapped): level %q, want Staff only kept", got)
			}
			// An item whose severity has no level is created without one.
			low := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Verbose banner", "severity": "low"})
			e.Sync()
			if got := securityOf(t, e, jiraKey(t, e, low.ID)); got != "" {
				t.Errorf("low item's issue has level %q, want none", got)
			}
		})
	}
}
