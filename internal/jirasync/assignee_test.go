package jirasync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// assigneeMapping is the spec's mapping plus the assignee, both ways.
func assigneeMapping(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(apptest.SpecMapping), &m); err != nil {
		t.Fatal(err)
	}
	m["fields"] = append(m["fields"].([]any), map[string]any{"vulnsync": "assignee_email", "jira": "assignee", "direction": "both"})
	return m
}

type jiraAssignee struct {
	Fields struct {
		Assignee *struct {
			AccountID    string `json:"accountId"`
			Name         string `json:"name"`
			EmailAddress string `json:"emailAddress"`
		} `json:"assignee"`
	} `json:"fields"`
}

// The assignee syncs both ways, matched by email through Jira's user
// search: Cloud by accountId, Data Center by user name. A person Jira
// shows without an email (Cloud's privacy setting) is never taken for
// someone else: the item keeps its assignee, Jira keeps its own, and the
// sync log says the person is not matched. A vulnsync assignee must be a
// vulnsync user.
func TestAssigneeSyncsBothWaysMatchedByEmail(t *testing.T) {
	for _, dep := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC9} {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("assigned")
			e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", assigneeMapping(t), nil)
			for _, email := range []string{jirasim.DevEmail, jirasim.AdminEmail, jirasim.PrivateEmail} {
				e.Must(201, "POST", "/api/v1/users", map[string]any{"email": email, "name": strings.Split(email, "@")[0], "role": "analyst"}, nil)
			}
			e.Must(400, "POST", "/api/v1/targets/"+s.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "x", "severity": "low",
				"fields": map[string]any{"assignee_email": "stranger@example.test"}}, nil)

			it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Stored XSS in profile", "severity": "high",
				"fields": map[string]any{"assignee_email": jirasim.DevEmail}})
			e.Sync()
			key := jiraKey(t, e, it.ID)
			var is jiraAssignee
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, &is)
			want := jirasim.DevAccountID
			got := ""
			if a := is.Fields.Assignee; a != nil {
				got = a.AccountID
				if dep != jirasim.ProfileCloud {
					want, got = jirasim.DevUsername, a.Name
				}
			}
			if got != want {
				t.Fatalf("assignee in Jira after create: %+v, want %s", is.Fields.Assignee, want)
			}

			// Jira → vulnsync: assigned to the admin in Jira.
			ref := map[string]any{"accountId": jirasim.AdminAccountID}
			private := map[string]any{"accountId": jirasim.PrivateAccountID}
			if dep != jirasim.ProfileCloud {
				ref, private = map[string]any{"name": jirasim.AdminUsername}, map[string]any{"name": jirasim.PrivateUsername}
			}
			e.Deliver()
			e.Sync()
			jiraEdit(t, e, key, map[string]any{"assignee": ref})
			e.Deliver()
			e.Sync()
			if got := getItem(t, e, it.ID).Fields["assignee_email"]; got != jirasim.AdminEmail {
				t.Fatalf("after Jira assigned the admin: vulnsync assignee %v, want %s", got, jirasim.AdminEmail)
			}

			// A person whose email Cloud hides: not matched, nothing changes.
			jiraEdit(t, e, key, map[string]any{"assignee": private})
			e.Deliver()
			e.Sync()
			gotAssignee := getItem(t, e, it.ID).Fields["assignee_email"]
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, &is)
			if dep == jirasim.ProfileCloud {
				if gotAssignee != jirasim.AdminEmail {
					t.Errorf("after Jira assigned a person who hides their email: vulnsync assignee %v, want it unchanged (%s)", gotAssignee, jirasim.AdminEmail)
				}
				if is.Fields.Assignee == nil || is.Fields.Assignee.AccountID != jirasim.PrivateAccountID {
					t.Errorf("vulnsync overwrote Jira's assignee it could not match: %+v", is.Fields.Assignee)
				}
				if !syncLogSays(t, e, it.ID, "not matched to a vulnsync user") {
					t.Errorf("the sync log does not say the person is not matched")
				}
			} else if gotAssignee != jirasim.PrivateEmail {
				t.Errorf("Data Center shows emails: vulnsync assignee %v, want %s", gotAssignee, jirasim.PrivateEmail)
			}

			// vulnsync → Jira again, and unassigning.
			e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"assignee_email": jirasim.DevEmail}}, nil)
			e.Sync()
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, &is)
			if a := is.Fields.Assignee; a == nil || (a.AccountID != jirasim.DevAccountID && a.Name != jirasim.DevUsername) {
				t.Errorf("after vulnsync assigned dev again: Jira assignee %+v", a)
			}
			e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"assignee_email": nil}}, nil)
			e.Sync()
			is.Fields.Assignee = nil
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key, nil, &is)
			if is.Fields.Assignee != nil {
				t.Errorf("after vulnsync unassigned: Jira assignee %+v, want none", is.Fields.Assignee)
			}
		})
	}
}

func syncLogSays(t *testing.T, e *apptest.Env, itemID, text string) bool {
	t.Helper()
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/items/"+itemID+"/events", nil, &evs)
	for _, ev := range evs.Events {
		if msg, _ := ev["error"].(string); strings.Contains(msg, text) {
			return true
		}
	}
	return false
}

// An item assigned to a vulnsync user whom Jira cannot show (Cloud hides
// the email) is searched for once and named once in the sync log, not on
// every push: the answer "nobody" is remembered for a while.
func TestUnmatchedAssigneeIsSearchedAndLoggedOnce(t *testing.T) {
	e := apptest.New(t, apptest.Options{Profile: jirasim.ProfileCloud})
	s := e.Setup("unmatched")
	e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", assigneeMapping(t), nil)
	for _, email := range []string{jirasim.DevEmail, jirasim.PrivateEmail} {
		e.Must(201, "POST", "/api/v1/users", map[string]any{"email": email, "name": strings.Split(email, "@")[0], "role": "analyst"}, nil)
	}
	it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "medium",
		"fields": map[string]any{"assignee_email": jirasim.DevEmail}})
	e.Sync()
	key := jiraKey(t, e, it.ID)
	searches := func() int64 { return e.Sim.Counters().Endpoints["GET /rest/api/3/user/search"].Requests }
	before := searches()
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"fields": map[string]any{"assignee_email": jirasim.PrivateEmail}}, nil)
	e.Sync()
	first := searches()
	if first != before+1 {
		t.Fatalf("reassigning to a person Jira cannot show made %d user searches, want 1", first-before)
	}
	for i := range 3 {
		e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"title": fmt.Sprintf("Open redirect, take %d", i+2)}, nil)
		e.Sync()
	}
	var is struct {
		Fields struct {
			Summary string `json:"summary"`
		} `json:"fields"`
	}
	e.Jira("admin", "GET", "/rest/api/3/issue/"+key, nil, &is)
	if is.Fields.Summary != "Open redirect, take 4" {
		t.Fatalf("the pushes did not reach Jira: summary %q", is.Fields.Summary)
	}
	if n := searches() - first; n != 0 {
		t.Errorf("three more pushes searched Jira for the same unmatched person %d more times, want 0", n)
	}
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	e.Must(200, "GET", "/api/v1/items/"+it.ID+"/events", nil, &evs)
	notes := 0
	for _, ev := range evs.Events {
		if msg, _ := ev["error"].(string); strings.Contains(msg, "is not matched to a Jira user") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("the sync log names the unmatched assignee %d times, want once", notes)
	}
}
