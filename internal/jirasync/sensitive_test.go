package jirasync_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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
			var preview struct {
				SecurityLevel string `json:"security_level"`
			}
			e.Must(200, "GET", "/api/v1/items/"+it.ID+"/jira-preview", nil, &preview)
			if preview.SecurityLevel != "Security only" {
				t.Errorf("preview's security level: %q, want Security only", preview.SecurityLevel)
			}
			e.Sync()
			key := jiraKey(t, e, it.ID)
			if got := securityOf(t, e, key); got != "Security only" {
				t.Fatalf("created with level %q, want Security only", got)
			}
			// A finding becomes a sub-task, which Jira gives its parent's
			// level: the sync sends none for it (Jira would refuse it).
			finding := createItem(t, e, s.TargetID, map[string]any{"kind": "finding", "parent_id": it.ID, "title": "upload.php on web-01", "severity": "critical"})
			e.Sync()
			if got := securityOf(t, e, jiraKey(t, e, finding.ID)); got != "Security only" {
				t.Errorf("finding's sub-task has level %q, want its parent's", got)
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

// commentPosts counts the comment creations the simulator served.
func commentPosts(e *apptest.Env) int64 {
	return e.Sim.Counters().Endpoints["POST /rest/api/"+e.APIVersion()+"/issue/{issueIdOrKey}/comment"].Requests
}

// jiraCommentBodies reads the bodies of an issue's comments as Jira has
// them (wiki markup through REST v2).
func jiraCommentBodies(t testing.TB, e *apptest.Env, key string) string {
	t.Helper()
	var page struct {
		Comments []struct {
			Body string `json:"body"`
		} `json:"comments"`
	}
	if st := e.Jira("admin", "GET", "/rest/api/2/issue/"+key+"/comment", nil, &page); st != 200 {
		t.Fatalf("GET comments of %s: %d", key, st)
	}
	var all []string
	for _, c := range page.Comments {
		all = append(all, c.Body)
	}
	return strings.Join(all, "\n---\n")
}

// An internal note never reaches Jira: no comment request is made for it
// (the simulator's counters) and no Jira comment holds its text, while an
// ordinary comment beside it goes as usual.
func TestInternalNoteNeverReachesJira(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			_, it, key := setup(t, e)
			before := commentPosts(e)
			var note map[string]any
			e.Must(201, "POST", "/api/v1/items/"+it.ID+"/comments", map[string]any{"body": "Exploit: send ../../etc/passwd to /upload", "internal": true}, &note)
			if note["internal"] != true {
				t.Fatalf("created note: %v", note)
			}
			e.Sync()
			if n := commentPosts(e) - before; n != 0 {
				t.Fatalf("an internal note made %d comment requests to Jira, want 0", n)
			}
			e.Must(201, "POST", "/api/v1/items/"+it.ID+"/comments", map[string]any{"body": "Retest scheduled for Monday."}, nil)
			e.Sync()
			e.Deliver()
			e.Sync()
			if n := commentPosts(e) - before; n != 1 {
				t.Errorf("comment requests after one public comment: %d, want 1", n)
			}
			bodies := jiraCommentBodies(t, e, key)
			if strings.Contains(bodies, "passwd") || !strings.Contains(bodies, "Retest scheduled") {
				t.Errorf("Jira's comments: %q (want the public one, never the note)", bodies)
			}
			var found bool
			for _, c := range comments(t, e, it.ID) {
				if strings.Contains(c["body"].(string), "passwd") {
					found = c["internal"] == true
				}
			}
			if !found {
				t.Error("the note is not listed, or not marked internal, in vulnsync")
			}
		})
	}
}

// A Jira comment restricted to a role or group is never shown as public in
// vulnsync: under "skip" it is not mirrored at all (also when a public
// comment later becomes restricted, it is removed); under "keep" it is
// mirrored marked restricted, with its visibility, and follows changes of
// that visibility.
func TestRestrictedJiraComments(t *testing.T) {
	for _, dep := range deployments {
		for _, policy := range []string{mapping.RestrictedSkip, mapping.RestrictedKeep} {
			t.Run(string(dep)+"/"+policy, func(t *testing.T) {
				e := apptest.New(t, apptest.Options{Profile: dep})
				s, it, key := setup(t, e)
				if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) { m["restricted_comments"] = policy }); st != 200 {
					t.Fatalf("mapping with restricted_comments %s: %d", policy, st)
				}
				public := jiraComment(t, e, key, "Fix deployed to staging.")
				restrictedComment(t, e, key, "Root cause: hard-coded admin password.", "role", "Developers", "")
				restrictedComment(t, e, key, "Customer list affected: ACME.", "group", "security-team", "")
				e.Deliver()
				e.Sync()
				byBody := func() map[string]map[string]any {
					out := map[string]map[string]any{}
					for _, c := range comments(t, e, it.ID) {
						out[c["body"].(string)] = c
					}
					return out
				}
				got := byBody()
				find := func(part string) map[string]any {
					for b, c := range got {
						if strings.Contains(b, part) {
							return c
						}
					}
					return nil
				}
				if c := find("Fix deployed"); c == nil || c["restricted"] != false {
					t.Fatalf("public comment: %v", c)
				}
				for _, part := range []string{"admin password", "ACME"} {
					c := find(part)
					switch policy {
					case mapping.RestrictedSkip:
						if c != nil {
							t.Errorf("skip policy mirrored a restricted comment: %v", c)
						}
					case mapping.RestrictedKeep:
						if c == nil || c["restricted"] != true || c["visibility"] == nil {
							t.Errorf("keep policy: restricted comment %q is %v, want it marked restricted with its visibility", part, c)
						}
					}
				}
				if c := find("admin password"); c != nil {
					if v := c["visibility"].(map[string]any); v["type"] != "role" || v["value"] != "Developers" {
						t.Errorf("visibility: %v", v)
					}
				}
				// The public comment becomes restricted in Jira.
				restrictedComment(t, e, key, "Fix deployed to staging.", "role", "Administrators", public)
				e.Deliver()
				e.Sync()
				got = byBody()
				c := find("Fix deployed")
				switch policy {
				case mapping.RestrictedSkip:
					if c != nil {
						t.Errorf("a comment restricted after mirroring is still shown: %v", c)
					}
				case mapping.RestrictedKeep:
					if c == nil || c["restricted"] != true {
						t.Errorf("a comment restricted after mirroring: %v, want it marked restricted", c)
					}
				}
			})
		}
	}
}

// restrictedComment adds (or, with id, edits) a Jira comment restricted to
// a role or group, as dev; it returns the comment id.
func restrictedComment(t testing.TB, e *apptest.Env, key, text, typ, value, id string) string {
	t.Helper()
	var body any = text
	if e.APIVersion() == "3" {
		body = map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}}}
	}
	in := map[string]any{"body": body, "visibility": map[string]any{"type": typ, "value": value}}
	var c struct{ ID string }
	path := "/rest/api/" + e.APIVersion() + "/issue/" + key + "/comment"
	method, want := "POST", 201
	if id != "" {
		path, method, want = path+"/"+id, "PUT", 200
	}
	if st := e.Jira("dev", method, path, in, &c); st != want {
		t.Fatalf("%s restricted comment on %s: %d", method, key, st)
	}
	return c.ID
}

// Reconciliation leaves a restricted comment out under "skip" for good: a
// comment whose webhook never came is not mirrored by a pull either, and
// being left out is no drift, so an hour of reconciliations adds no sync
// log row.
func TestReconciliationSkipsRestrictedComments(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Clock: clock})
	s, it, key := setup(t, e)
	e.HoldWebhooks(true)
	restrictedComment(t, e, key, "Customer list affected: ACME.", "group", "security-team", "")
	e.Deliver()
	e.Held() // dropped
	before := len(allEvents(t, e, s.IntegrationID))
	for range 12 { // an hour of 5-minute reconciliations
		clock.Advance(6 * time.Minute)
		e.Sync()
	}
	if n := len(allEvents(t, e, s.IntegrationID)); n != before {
		t.Errorf("reconciliations around a skipped restricted comment added %d sync log rows, want 0", n-before)
	}
	for _, c := range comments(t, e, it.ID) {
		if strings.Contains(c["body"].(string), "ACME") {
			t.Errorf("the restricted comment was mirrored by reconciliation: %v", c)
		}
	}
}
