package apptest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// asUser sends a JSON request to the vulnsync API with another token than
// the environment's admin one and returns the status.
func asUser(t *testing.T, e *apptest.Env, token, method, path string, body, out any) int {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.API.URL+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// adminToken creates an admin user and returns one of their tokens.
func adminToken(t *testing.T, e *apptest.Env, email string) string {
	t.Helper()
	var u struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/users", map[string]any{"email": email, "name": email, "role": "admin"}, &u)
	var tok struct {
		Token string `json:"token"`
	}
	e.Must(201, "POST", "/api/v1/users/"+u.ID+"/tokens", map[string]any{"name": "test"}, &tok)
	return tok.Token
}

type acceptance struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// TestAcceptanceLifecycle, on Cloud and Data Center: an admin requests a
// risk acceptance (nothing moves), cannot approve it herself, another
// admin approves it (the item is accepted_risk, the Jira issue Won't Do
// with a comment); when the test clock passes the expiry, the periodic job
// reopens the item and the issue, with a comment saying it expired.
func TestAcceptanceLifecycle(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: p, Clock: clock})
			in := e.Setup("shop")
			var it apiItem
			e.Must(201, "POST", "/api/v1/targets/"+in.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "TLS 1.0 on the legacy host", "severity": "medium"}, &it)
			e.Sync()
			key := issueOf(t, e, it).Key
			ann, ben := adminToken(t, e, "ann@example.test"), adminToken(t, e, "ben@example.test")

			var a acceptance
			until := clock.Now().Add(30 * 24 * time.Hour)
			if st := asUser(t, e, ann, "POST", "/api/v1/items/"+it.ID+"/acceptances", map[string]any{"reason": "host is decommissioned in January", "expires_at": until}, &a); st != 201 || a.State != "pending" {
				t.Fatalf("request: %d %+v", st, a)
			}
			e.Sync()
			if is := issueOf(t, e, it); is.Fields.Status.Name != "To Do" {
				t.Errorf("a pending request moved the issue to %s", is.Fields.Status.Name)
			}
			if st := asUser(t, e, ann, "POST", "/api/v1/acceptances/"+a.ID+"/approve", map[string]any{}, nil); st != 403 {
				t.Errorf("self-approval answered %d, want 403", st)
			}
			if st := asUser(t, e, ben, "POST", "/api/v1/acceptances/"+a.ID+"/approve", map[string]any{"note": "agreed"}, &a); st != 200 || a.State != "approved" {
				t.Fatalf("approval by another admin: %d %+v", st, a)
			}
			e.Sync()
			var got apiItem
			e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got)
			if got.Status != "accepted_risk" {
				t.Errorf("after approval the item is %s, want accepted_risk", got.Status)
			}
			if is := issueOf(t, e, it); is.Fields.Status.Name != "Won't Do" {
				t.Errorf("after approval the issue is %s, want Won't Do", is.Fields.Status.Name)
			}
			if n := countContaining(issueComments(t, e, key), "Risk acceptance", "approved"); n != 1 {
				t.Errorf("%d comments on %s say the acceptance was approved, want 1", n, key)
			}
			e.Deliver()
			e.Sync()

			// The expiry job, on the test clock: nothing before the date, a
			// reopening after it.
			if err := e.Engine.ScheduleAcceptanceExpiry(t.Context()); err != nil {
				t.Fatal(err)
			}
			e.Sync()
			if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got); got.Status != "accepted_risk" {
				t.Fatalf("before the expiry the item is %s", got.Status)
			}
			clock.Advance(31 * 24 * time.Hour)
			e.Sync()
			e.Deliver()
			e.Sync()
			if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got); got.Status != "open" {
				t.Errorf("after the expiry the item is %s, want open", got.Status)
			}
			if is := issueOf(t, e, it); is.Fields.Status.Name != "To Do" {
				t.Errorf("after the expiry the issue is %s, want reopened (To Do)", is.Fields.Status.Name)
			}
			if n := countContaining(issueComments(t, e, key), "Risk acceptance", "expired"); n != 1 {
				t.Errorf("%d comments on %s say the acceptance expired, want 1: %q", n, key, issueComments(t, e, key))
			}
			var page struct {
				Acceptances []acceptance `json:"acceptances"`
			}
			e.Must(200, "GET", "/api/v1/acceptances?state=expired", nil, &page)
			if len(page.Acceptances) != 1 || page.Acceptances[0].ID != a.ID {
				t.Errorf("expired acceptances: %+v", page.Acceptances)
			}

			// Accepted again, then revoked: reopened on both sides at once.
			e.Deliver()
			e.Sync()
			var b acceptance
			if st := asUser(t, e, ben, "POST", "/api/v1/items/"+it.ID+"/acceptances", map[string]any{"reason": "migration slipped", "expires_at": clock.Now().Add(7 * 24 * time.Hour)}, &b); st != 201 {
				t.Fatalf("second request: %d", st)
			}
			if st := asUser(t, e, ann, "POST", "/api/v1/acceptances/"+b.ID+"/approve", map[string]any{}, nil); st != 200 {
				t.Fatalf("second approval: %d", st)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if is := issueOf(t, e, it); is.Fields.Status.Name != "Won't Do" {
				t.Fatalf("after the second approval the issue is %s", is.Fields.Status.Name)
			}
			if st := asUser(t, e, ann, "POST", "/api/v1/acceptances/"+b.ID+"/revoke", map[string]any{"note": "the host is exposed after all"}, nil); st != 200 {
				t.Fatalf("revoke: %d", st)
			}
			e.Sync()
			e.Deliver()
			e.Sync()
			if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got); got.Status != "open" {
				t.Errorf("after the revocation the item is %s, want open", got.Status)
			}
			if is := issueOf(t, e, it); is.Fields.Status.Name != "To Do" {
				t.Errorf("after the revocation the issue is %s, want To Do", is.Fields.Status.Name)
			}
			if n := countContaining(issueComments(t, e, key), "revoked", "the host is exposed after all"); n != 1 {
				t.Errorf("%d comments on %s say the acceptance was revoked, want 1", n, key)
			}
		})
	}
}

// TestJiraWontDoOpensAPendingAcceptance, on Cloud and Data Center: an
// engineer's Won't Do in Jira opens a pending acceptance instead of
// closing the item; Jira keeps Won't Do while it is pending; moving the
// issue on withdraws it; a rejection moves the issue back; the next Won't
// Do, approved, accepts the item.
func TestJiraWontDoOpensAPendingAcceptance(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: p, Clock: clock})
			in := e.Setup("shop")
			var it apiItem
			e.Must(201, "POST", "/api/v1/targets/"+in.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "Verbose errors", "severity": "low"}, &it)
			e.Sync()
			key := issueOf(t, e, it).Key
			status := func() (string, string) {
				var got apiItem
				e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &got)
				return got.Status, issueOf(t, e, it).Fields.Status.Name
			}
			pending := func() []acceptance {
				var page struct {
					Acceptances []acceptance `json:"acceptances"`
				}
				e.Must(200, "GET", "/api/v1/acceptances?state=pending&item_id="+it.ID, nil, &page)
				return page.Acceptances
			}

			clock.Advance(time.Minute)
			if !jiraMove(t, e, key, "Won't Do") {
				t.Fatalf("%s offers no Won't Do", key)
			}
			e.Deliver()
			e.Sync()
			if v, j := status(); v != "open" || j != "Won't Do" {
				t.Errorf("after Won't Do in Jira: vulnsync %s, Jira %s; want open (pending) and Won't Do kept", v, j)
			}
			ps := pending()
			if len(ps) != 1 {
				t.Fatalf("pending acceptances after Won't Do: %+v, want 1", ps)
			}
			// The engineer moves it on: the proposal is withdrawn.
			clock.Advance(time.Minute)
			jiraMove(t, e, key, "To Do")
			e.Deliver()
			e.Sync()
			if ps := pending(); len(ps) != 0 {
				t.Errorf("after the issue left Won't Do, %d acceptances are still pending", len(ps))
			}
			clock.Advance(time.Minute)
			jiraMove(t, e, key, "Won't Do")
			e.Deliver()
			e.Sync()
			if ps = pending(); len(ps) != 1 {
				t.Fatalf("pending acceptances after Won't Do again: %+v, want 1", ps)
			}
			clock.Advance(time.Minute)
			e.Must(200, "POST", "/api/v1/acceptances/"+ps[0].ID+"/reject", map[string]any{"note": "needs a fix"}, nil)
			e.Sync()
			if v, j := status(); v != "open" || j != "To Do" {
				t.Errorf("after the rejection: vulnsync %s, Jira %s; want open and To Do", v, j)
			}
			e.Deliver()
			e.Sync()

			clock.Advance(time.Minute)
			jiraMove(t, e, key, "Won't Do")
			e.Deliver()
			e.Sync()
			ps = pending()
			if len(ps) != 1 {
				t.Fatalf("pending acceptances after the second Won't Do: %+v, want 1", ps)
			}
			clock.Advance(time.Minute)
			e.Must(200, "POST", "/api/v1/acceptances/"+ps[0].ID+"/approve", map[string]any{}, nil)
			e.Sync()
			e.Deliver()
			e.Sync()
			if v, j := status(); v != "accepted_risk" || j != "Won't Do" {
				t.Errorf("after the approval: vulnsync %s, Jira %s; want accepted_risk and Won't Do", v, j)
			}
		})
	}
}
