package people_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/httpapi"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// minRole is the least role each API route allows: the specification the
// route table is held to. Routes about a user's own things (marked self)
// allow any signed-in user for themselves and an admin for anyone.
var minRole = map[string]tracker.Role{
	"GET /api/v1/targets":                               tracker.RoleViewer,
	"GET /api/v1/targets/{id}":                          tracker.RoleViewer,
	"GET /api/v1/targets/{id}/items":                    tracker.RoleViewer,
	"GET /api/v1/items/{id}":                            tracker.RoleViewer,
	"GET /api/v1/items/{id}/history":                    tracker.RoleViewer,
	"GET /api/v1/items/{id}/comments":                   tracker.RoleViewer,
	"GET /api/v1/items/{id}/attachments":                tracker.RoleViewer,
	"GET /api/v1/attachments/{id}":                      tracker.RoleViewer,
	"GET /api/v1/attachments/{id}/content":              tracker.RoleViewer,
	"GET /api/v1/kinds":                                 tracker.RoleViewer,
	"GET /api/v1/fields":                                tracker.RoleViewer,
	"GET /api/v1/integrations":                          tracker.RoleViewer,
	"GET /api/v1/integrations/{id}":                     tracker.RoleViewer,
	"GET /api/v1/integrations/{id}/events":              tracker.RoleViewer,
	"GET /api/v1/items/{id}/events":                     tracker.RoleViewer,
	"GET /api/v1/items/{id}/jira-preview":               tracker.RoleViewer,
	"GET /api/v1/me":                                    tracker.RoleViewer,
	"GET /api/v1/targets/{id}/imports":                  tracker.RoleViewer,
	"GET /api/v1/targets/{id}/sla":                      tracker.RoleViewer,
	"POST /api/v1/targets/{id}/imports":                 tracker.RoleAnalyst,
	"PUT /api/v1/targets/{id}/sla":                      tracker.RoleAnalyst,
	"POST /api/v1/targets":                              tracker.RoleAnalyst,
	"POST /api/v1/targets/{id}/items":                   tracker.RoleAnalyst,
	"PATCH /api/v1/items/{id}":                          tracker.RoleAnalyst,
	"DELETE /api/v1/items/{id}":                         tracker.RoleAnalyst,
	"POST /api/v1/items/{id}/comments":                  tracker.RoleAnalyst,
	"POST /api/v1/items/{id}/attachments":               tracker.RoleAnalyst,
	"POST /api/v1/kinds":                                tracker.RoleAdmin,
	"POST /api/v1/fields":                               tracker.RoleAdmin,
	"POST /api/v1/jira/connections":                     tracker.RoleAdmin,
	"GET /api/v1/jira/connections":                      tracker.RoleAdmin,
	"GET /api/v1/jira/connections/{id}":                 tracker.RoleAdmin,
	"PATCH /api/v1/jira/connections/{id}":               tracker.RoleAdmin,
	"DELETE /api/v1/jira/connections/{id}":              tracker.RoleAdmin,
	"POST /api/v1/jira/connections/{id}/test":           tracker.RoleAdmin,
	"POST /api/v1/jira/connections/{id}/webhook-secret": tracker.RoleAdmin,
	"POST /api/v1/jira/connections/{id}/webhook":        tracker.RoleAdmin,
	"GET /api/v1/jira/connections/{id}/projects":        tracker.RoleAdmin,
	"GET /api/v1/jira/connections/{id}/health":          tracker.RoleAdmin,
	"POST /api/v1/integrations":                         tracker.RoleAdmin,
	"DELETE /api/v1/integrations/{id}":                  tracker.RoleAdmin,
	"PUT /api/v1/integrations/{id}/mapping":             tracker.RoleAdmin,
	"GET /api/v1/integrations/{id}/mapping/suggestion":  tracker.RoleAdmin,
	"GET /api/v1/integrations/{id}/jira-meta":           tracker.RoleAdmin,
	"GET /api/v1/integrations/{id}/people":              tracker.RoleAdmin,
	"POST /api/v1/integrations/{id}/backfill":           tracker.RoleAdmin,
	"POST /api/v1/integrations/{id}/pause":              tracker.RoleAdmin,
	"POST /api/v1/items/{id}/jira-link":                 tracker.RoleAdmin,
	"DELETE /api/v1/items/{id}/jira-link":               tracker.RoleAdmin,
	"POST /api/v1/integrations/{id}/resume":             tracker.RoleAdmin,
	"GET /api/v1/jobs/failed":                           tracker.RoleAdmin,
	"POST /api/v1/jobs/{id}/retry":                      tracker.RoleAdmin,
	"GET /api/v1/users":                                 tracker.RoleAdmin,
	"POST /api/v1/users":                                tracker.RoleAdmin,
	"PATCH /api/v1/users/{id}":                          tracker.RoleAdmin,
	"GET /api/v1/audit":                                 tracker.RoleAdmin,
	// self: another user's, as here, needs an admin.
	"GET /api/v1/users/{id}":         tracker.RoleAdmin,
	"GET /api/v1/users/{id}/tokens":  tracker.RoleAdmin,
	"POST /api/v1/users/{id}/tokens": tracker.RoleAdmin,
	"DELETE /api/v1/tokens/{id}":     tracker.RoleAdmin,
	// Lifecycle (issue 16).
	"POST /api/v1/items/{id}/retest":        tracker.RoleAnalyst,
	"POST /api/v1/items/{id}/acceptances":   tracker.RoleAnalyst,
	"GET /api/v1/acceptances":               tracker.RoleViewer,
	"POST /api/v1/acceptances/{id}/approve": tracker.RoleAdmin,
	"POST /api/v1/acceptances/{id}/reject":  tracker.RoleAdmin,
	"POST /api/v1/acceptances/{id}/revoke":  tracker.RoleAdmin,
}

// roleRank orders the roles, the none role (no token) first.
var roleRank = map[tracker.Role]int{"": 0, tracker.RoleViewer: 1, tracker.RoleAnalyst: 2, tracker.RoleAdmin: 3}

type env struct {
	*apptest.Env
	tokens map[tracker.Role]string
	ids    map[tracker.Role]string // user ids
}

// people creates a user per role, each with a token, through the API.
func newEnv(t *testing.T, o apptest.Options) *env {
	e := &env{Env: apptest.New(t, o), tokens: map[tracker.Role]string{}, ids: map[tracker.Role]string{}}
	for _, r := range tracker.Roles {
		var u struct {
			ID string `json:"id"`
		}
		e.Must(201, "POST", "/api/v1/users", map[string]any{"email": string(r) + "@example.test", "name": "The " + string(r), "role": r}, &u)
		var tok struct {
			Token string `json:"token"`
		}
		e.Must(201, "POST", "/api/v1/users/"+u.ID+"/tokens", map[string]any{"name": "test"}, &tok)
		e.ids[r], e.tokens[r] = u.ID, tok.Token
	}
	return e
}

// as sends a request with role's token (none: no token) and returns the
// status and body.
func (e *env) as(role tracker.Role, method, path string, body any) (int, []byte) {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.API.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// snapshot reads, as the bootstrap admin, what a refused call must not
// change.
func (e *env) snapshot() string {
	var b strings.Builder
	for _, p := range []string{"/api/v1/targets", "/api/v1/users", "/api/v1/jira/connections", "/api/v1/integrations", "/api/v1/kinds", "/api/v1/fields", "/api/v1/audit?limit=500"} {
		var v any
		e.Must(200, "GET", p, nil, &v)
		raw, _ := json.Marshal(v)
		b.Write(raw)
	}
	return b.String()
}

// Every API route, called as nobody and as each role: 401 without a
// token, 403 for a role below the route's, anything else at or above it —
// and the refused calls changed nothing.
func TestEveryRouteAsEveryRole(t *testing.T) {
	e := newEnv(t, apptest.Options{})
	routes := 0
	before := e.snapshot()
	for _, pattern := range httpapi.RoutePatterns(httpapi.Config{}) {
		method, path, _ := strings.Cut(pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/openapi.json" {
			continue
		}
		want, ok := minRole[pattern]
		if !ok {
			t.Errorf("route %s has no expected role in this test: add it", pattern)
			continue
		}
		routes++
		path = strings.ReplaceAll(path, "{id}", "no-such-id")
		var body any
		if method == "POST" || method == "PATCH" || method == "PUT" {
			body = map[string]any{}
		}
		for _, role := range []tracker.Role{"", tracker.RoleViewer, tracker.RoleAnalyst, tracker.RoleAdmin} {
			st, raw := e.as(role, method, path, body)
			switch {
			case role == "":
				if st != 401 {
					t.Errorf("%s without a token: %d, want 401", pattern, st)
				}
			case roleRank[role] < roleRank[want] && pattern == "DELETE /api/v1/tokens/{id}":
				// Revoking needs the token to know its owner: an unknown
				// id is 404 for everyone (another's token: see below).
				if st != 404 {
					t.Errorf("%s as %s: %d %s, want 404 for an unknown token", pattern, role, st, raw)
				}
			case roleRank[role] < roleRank[want]:
				if st != 403 || !strings.Contains(string(raw), "role may not") && !strings.Contains(string(raw), "themselves or an admin") {
					t.Errorf("%s as %s: %d %s, want 403", pattern, role, st, raw)
				}
			default:
				if st == 401 || st == 403 {
					t.Errorf("%s as %s: %d %s, want it allowed", pattern, role, st, raw)
				}
			}
		}
	}
	if routes < len(minRole) {
		t.Errorf("the server has %d API routes, the table %d: a route was removed or renamed", routes, len(minRole))
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused calls changed the state:\nbefore %s\nafter  %s", before, after)
	}
}

// A user's own things are theirs: they read themselves and manage their
// own tokens, never another's; deactivation and revocation stop their
// tokens at once; an expired token is refused.
func TestSelfServiceAndImmediateRevocation(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, apptest.Options{Clock: clock})
	viewer, analyst := e.ids[tracker.RoleViewer], e.ids[tracker.RoleAnalyst]
	if st, raw := e.as(tracker.RoleViewer, "GET", "/api/v1/users/"+viewer, nil); st != 200 {
		t.Fatalf("a viewer reading themselves: %d %s", st, raw)
	}
	if st, _ := e.as(tracker.RoleViewer, "GET", "/api/v1/users/"+analyst, nil); st != 403 {
		t.Errorf("a viewer reading another user: %d, want 403", st)
	}
	st, raw := e.as(tracker.RoleViewer, "POST", "/api/v1/users/"+viewer+"/tokens", map[string]any{"name": "second"})
	if st != 201 {
		t.Fatalf("a viewer creating their own token: %d %s", st, raw)
	}
	var own struct{ ID, Token string }
	_ = json.Unmarshal(raw, &own)
	var theirs struct {
		Tokens []struct{ ID string } `json:"tokens"`
	}
	e.Must(200, "GET", "/api/v1/users/"+analyst+"/tokens", nil, &theirs)
	if st, _ := e.as(tracker.RoleViewer, "DELETE", "/api/v1/tokens/"+theirs.Tokens[0].ID, nil); st != 403 {
		t.Errorf("a viewer revoking another user's token: %d, want 403", st)
	}
	if st, _ := e.as(tracker.RoleAnalyst, "GET", "/api/v1/me", nil); st != 200 {
		t.Errorf("the analyst's token after a refused revocation: %d", st)
	}
	if st, _ := e.as(tracker.RoleViewer, "DELETE", "/api/v1/tokens/"+own.ID, nil); st != 204 {
		t.Errorf("a viewer revoking their own token: %d, want 204", st)
	}

	// Deactivated: the token stops at once; reactivated: it works again.
	e.Must(200, "PATCH", "/api/v1/users/"+analyst, map[string]any{"active": false}, nil)
	if st, raw := e.as(tracker.RoleAnalyst, "GET", "/api/v1/me", nil); st != 401 || !strings.Contains(string(raw), "deactivated") {
		t.Errorf("a deactivated user's token: %d %s, want 401", st, raw)
	}
	e.Must(200, "PATCH", "/api/v1/users/"+analyst, map[string]any{"active": true, "role": "admin"}, nil)
	var me struct {
		Role string `json:"role"`
	}
	if st, raw := e.as(tracker.RoleAnalyst, "GET", "/api/v1/me", nil); st != 200 || json.Unmarshal(raw, &me) != nil || me.Role != "admin" {
		t.Errorf("after reactivation as admin: %d %s; the token acts with the user's current role", st, raw)
	}

	// An expired token is refused.
	var short struct{ Token string }
	e.Must(201, "POST", "/api/v1/users/"+viewer+"/tokens", map[string]any{"name": "short", "expires_at": clock.Now().Add(time.Hour).Format(time.RFC3339)}, &short)
	e.Must(400, "POST", "/api/v1/users/"+viewer+"/tokens", map[string]any{"name": "past", "expires_at": "2020-01-01T00:00:00Z"}, nil)
	e.tokens["short"] = short.Token
	if st, _ := e.as("short", "GET", "/api/v1/me", nil); st != 200 {
		t.Errorf("a token before its expiry: %d", st)
	}
	clock.Advance(time.Hour)
	if st, raw := e.as("short", "GET", "/api/v1/me", nil); st != 401 || !strings.Contains(string(raw), "expired") {
		t.Errorf("a token at its expiry: %d %s, want 401", st, raw)
	}

	// Every one of these is in the audit log, read back through the API.
	var audit struct {
		Entries []struct{ Action string } `json:"entries"`
	}
	e.Must(200, "GET", "/api/v1/audit?limit=500", nil, &audit)
	seen := map[string]bool{}
	for _, en := range audit.Entries {
		seen[en.Action] = true
	}
	for _, a := range []string{"user.create", "token.create", "token.revoke", "user.deactivate", "user.activate", "user.role"} {
		if !seen[a] {
			t.Errorf("no %s entry in the audit log", a)
		}
	}
}

// Only a token's hash is stored: the secret is nowhere in the database
// file or its write-ahead log.
func TestTokensAreStoredAsHashesOnly(t *testing.T) {
	e := newEnv(t, apptest.Options{})
	for role, tok := range e.tokens {
		for _, name := range []string{"vulnsync.db", "vulnsync.db-wal"} {
			raw, err := os.ReadFile(filepath.Join(e.DataDir, name))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(tok)) {
				t.Errorf("the %s token is in %s in clear", role, name)
			}
		}
	}
	if len(e.tokens) != len(tracker.Roles) {
		t.Fatalf("tokens made: %d, want one per role", len(e.tokens))
	}
}
