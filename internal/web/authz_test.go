package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// uiMinRole is the least role each UI action allows: the specification
// the page table is held to ("" for the public pages).
var uiMinRole = map[string]tracker.Role{
	"GET /items/{id}/jira-preview": tracker.RoleViewer, "POST /items/{id}/jira-link": tracker.RoleAdmin, "POST /items/{id}/jira-unlink": tracker.RoleAdmin,
	"POST /signout": tracker.RoleViewer, "POST /signout/everywhere": tracker.RoleViewer,
	"GET /dashboard": tracker.RoleViewer, "GET /targets": tracker.RoleViewer, "GET /targets/{id}": tracker.RoleViewer, "GET /items/{id}": tracker.RoleViewer,
	"GET /attachments/{id}": tracker.RoleViewer, "GET /account": tracker.RoleViewer, "POST /account/tokens": tracker.RoleViewer,
	"POST /tokens/{id}/revoke": tracker.RoleViewer, "GET /integrations/targets/{id}/activity": tracker.RoleViewer,
	"POST /targets": tracker.RoleAnalyst, "POST /targets/{id}/items": tracker.RoleAnalyst, "POST /targets/{id}/imports": tracker.RoleAnalyst,
	"POST /items/{id}": tracker.RoleAnalyst, "POST /items/{id}/comments": tracker.RoleAnalyst, "POST /items/{id}/attachments": tracker.RoleAnalyst,
	"POST /targets/{id}/items/bulk": tracker.RoleAnalyst, "GET /targets/{id}/items.csv": tracker.RoleViewer,
	"GET /items/{id}/delete": tracker.RoleAnalyst, "POST /items/{id}/delete": tracker.RoleAnalyst,
	"GET /users": tracker.RoleAdmin, "POST /users": tracker.RoleAdmin, "POST /users/{id}": tracker.RoleAdmin,
	"POST /users/{id}/tokens": tracker.RoleAdmin, "GET /audit": tracker.RoleAdmin,
	"GET /integrations": tracker.RoleAdmin, "GET /integrations/jira/connect": tracker.RoleAdmin, "POST /integrations/jira/connect": tracker.RoleAdmin,
	"GET /integrations/jira/projects": tracker.RoleAdmin, "GET /integrations/jira/{conn}": tracker.RoleAdmin,
	"POST /integrations/jira/{conn}/test": tracker.RoleAdmin, "POST /integrations/jira/{conn}/webhook-secret": tracker.RoleAdmin,
	"POST /integrations/jira/{conn}/credentials": tracker.RoleAdmin, "POST /integrations/jira/{conn}/webhook": tracker.RoleAdmin,
	"GET /integrations/targets": tracker.RoleAdmin, "POST /integrations/targets": tracker.RoleAdmin,
	"GET /integrations/targets/{id}/configure": tracker.RoleAdmin, "POST /integrations/targets/{id}/configure": tracker.RoleAdmin,
	"POST /integrations/targets/{id}/remove": tracker.RoleAdmin, "GET /integrations/targets/{id}/people": tracker.RoleAdmin,
	"POST /integrations/targets/{id}/jobs/{job}/retry": tracker.RoleAdmin,
	"POST /integrations/targets/{id}/pause":            tracker.RoleAdmin, "POST /integrations/targets/{id}/resume": tracker.RoleAdmin, "POST /integrations/targets/{id}/backfill": tracker.RoleAdmin,
	"GET /integrations/targets/{id}/live": tracker.RoleViewer, "GET /items/{id}/live": tracker.RoleViewer,
	// Lifecycle (issue 16).
	"POST /items/{id}/retest": tracker.RoleAnalyst, "GET /acceptances": tracker.RoleViewer,
	"POST /acceptances/{id}/approve": tracker.RoleAdmin, "POST /acceptances/{id}/reject": tracker.RoleAdmin, "POST /acceptances/{id}/revoke": tracker.RoleAdmin,
	"POST /acceptances": tracker.RoleAnalyst, "GET /integrations/targets/{id}/log": tracker.RoleViewer,
}

var uiRank = map[tracker.Role]int{"": 0, tracker.RoleViewer: 1, tracker.RoleAnalyst: 2, tracker.RoleAdmin: 3}

// Every UI action, as nobody and as each role: signed out, a GET goes to
// sign in and a POST is refused; below the action's role, a 403 page;
// at or above it, the action is let through — and the refused actions
// changed nothing.
func TestEveryUIActionAsEveryRole(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	admin := service.Actor{Role: tracker.RoleAdmin}
	browsers := map[tracker.Role]*browser{"": e.browser()}
	for _, r := range tracker.Roles {
		u, err := e.people.CreateUser(context.Background(), admin, people.NewUser{Email: string(r) + "@example.test", Name: string(r), Role: r})
		if err != nil {
			t.Fatal(err)
		}
		tv, err := e.people.CreateToken(context.Background(), admin, u.ID, people.NewToken{Name: "ui"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.signInWith(tv.Token)
		browsers[r] = b
	}
	snapshot := func() string {
		ts, _ := e.svc.ListTargets(context.Background())
		us, _ := e.people.Users(context.Background(), admin)
		var sb strings.Builder
		for _, x := range ts {
			sb.WriteString(x.ID + x.Name + ";")
		}
		for _, x := range us {
			sb.WriteString(x.ID + string(x.Role) + ";")
		}
		return sb.String()
	}
	before := snapshot()
	seen := 0
	for _, pattern := range e.ui.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		want, ok := uiMinRole[pattern]
		if !ok {
			if strings.HasPrefix(path, "/signin") || path == "/static/" || path == "/{$}" || pattern == "/" {
				continue // public
			}
			t.Errorf("UI action %s has no expected role in this test: add it", pattern)
			continue
		}
		seen++
		for _, k := range []string{"{id}", "{conn}", "{job}"} {
			path = strings.ReplaceAll(path, k, "no-such-id")
		}
		for _, role := range []tracker.Role{"", tracker.RoleViewer, tracker.RoleAnalyst, tracker.RoleAdmin} {
			b := browsers[role]
			var a answer
			if method == "GET" {
				a = b.get(path)
			} else {
				form := url.Values{}
				if role != "" {
					form.Set(CSRFField, b.csrf("/account"))
				}
				a = b.post(path, form)
			}
			switch {
			case role == "" && method == "GET":
				if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/signin") {
					t.Errorf("%s signed out: %d to %q, want a redirect to sign in", pattern, a.status, a.header.Get("Location"))
				}
			case role == "":
				if a.status != http.StatusForbidden {
					t.Errorf("%s signed out: %d, want 403", pattern, a.status)
				}
			case uiRank[role] < uiRank[want]:
				if a.status != http.StatusForbidden || !strings.Contains(a.body, "role may not") {
					t.Errorf("%s as %s: %d, want a 403 page", pattern, role, a.status)
				}
			default:
				if a.status == http.StatusForbidden || a.status == http.StatusUnauthorized {
					t.Errorf("%s as %s: %d %.300s, want it let through", pattern, role, a.status, a.body)
				}
			}
		}
		// The sign-out actions end the session: sign in again.
		if strings.HasPrefix(pattern, "POST /signout") {
			for _, r := range tracker.Roles {
				u, _ := e.people.Users(context.Background(), admin)
				for _, x := range u {
					if x.Role == r && x.Name == string(r) {
						tv, err := e.people.CreateToken(context.Background(), admin, x.ID, people.NewToken{Name: "again"})
						if err != nil {
							t.Fatal(err)
						}
						browsers[r] = e.browser()
						browsers[r].signInWith(tv.Token)
					}
				}
			}
		}
	}
	if seen != len(uiMinRole) {
		t.Errorf("the UI has %d role-guarded actions, the table %d", seen, len(uiMinRole))
	}
	if after := snapshot(); after != before {
		t.Errorf("the actions changed targets or users:\nbefore %s\nafter  %s", before, after)
	}
}
