package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// signInWith signs the browser in with a token.
func (b *browser) signInWith(token string) {
	b.t.Helper()
	tok := b.csrf("/signin")
	if a := b.post("/signin", url.Values{"csrf_token": {tok}, "token": {token}}); a.status != http.StatusSeeOther {
		b.t.Fatalf("sign in: got %d; body %.400s", a.status, a.body)
	}
}

var newTokenRE = regexp.MustCompile(`id="new-token" readonly value="([^"]+)"`)

// The UI holds each role to the same rule as the API: a viewer reads but
// gets 403 pages for writes and for the admin pages; an analyst writes
// findings but not the Jira setup; an admin adds users. A user makes their
// own token (shown once) and signs in with it; "sign out everywhere" ends
// every session of theirs.
func TestUIRolesTokensAndSignOutEverywhere(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.browser()
	admin.signIn()
	tok := admin.csrf("/users")
	for _, u := range []struct{ email, role string }{{"vera@example.test", "viewer"}, {"ana@example.test", "analyst"}} {
		if a := admin.post("/users", url.Values{"csrf_token": {tok}, "email": {u.email}, "name": {u.email}, "role": {u.role}}); a.status != http.StatusSeeOther {
			t.Fatalf("add user %s: %d %.400s", u.email, a.status, a.body)
		}
	}
	users, err := e.people.Users(context.Background(), service.Actor{Role: tracker.RoleAdmin})
	if err != nil || len(users) != 2 {
		t.Fatalf("users: %v %+v", err, users)
	}
	tokens := map[string]string{}
	for _, us := range users {
		tv, err := e.people.CreateToken(context.Background(), service.Actor{Role: tracker.RoleAdmin}, us.ID, people.NewToken{Name: "first"})
		if err != nil {
			t.Fatal(err)
		}
		tokens[string(us.Role)] = tv.Token
	}

	viewer := e.browser()
	viewer.signInWith(tokens["viewer"])
	if a := viewer.get("/targets"); a.status != http.StatusOK {
		t.Errorf("viewer GET /targets: %d", a.status)
	}
	vtok := viewer.csrf("/targets")
	for _, c := range []struct{ method, path string }{{"POST", "/targets"}, {"GET", "/integrations"}, {"GET", "/users"}, {"GET", "/audit"}} {
		var a answer
		if c.method == "GET" {
			a = viewer.get(c.path)
		} else {
			a = viewer.post(c.path, url.Values{"csrf_token": {vtok}, "name": {"viewer-made"}})
		}
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "viewer role may not") {
			t.Errorf("viewer %s %s: %d, want a 403 page", c.method, c.path, a.status)
		}
	}
	analyst := e.browser()
	analyst.signInWith(tokens["analyst"])
	atok := analyst.csrf("/targets")
	if a := analyst.post("/targets", url.Values{"csrf_token": {atok}, "name": {"analyst-made"}}); a.status != http.StatusSeeOther {
		t.Errorf("analyst POST /targets: %d", a.status)
	}
	if a := analyst.get("/integrations"); a.status != http.StatusForbidden {
		t.Errorf("analyst GET /integrations: %d, want 403", a.status)
	}
	if names := e.targetNames(); len(names) != 1 || names[0] != "analyst-made" {
		t.Errorf("targets after the refused and allowed posts: %v", names)
	}

	// The analyst's own token, shown once, works for the API's sign-in too.
	if a := analyst.post("/account/tokens", url.Values{"csrf_token": {atok}, "name": {"laptop"}}); a.status != http.StatusSeeOther {
		t.Fatalf("create own token: %d %.400s", a.status, a.body)
	}
	m := newTokenRE.FindStringSubmatch(analyst.get("/account").body)
	if m == nil {
		t.Fatal("the new token is not shown on the account page")
	}
	if newTokenRE.MatchString(analyst.get("/account").body) {
		t.Error("the new token is shown a second time")
	}
	second := e.browser()
	second.signInWith(m[1])

	// Sign out everywhere ends both of the analyst's sessions.
	if a := analyst.post("/signout/everywhere", url.Values{"csrf_token": {atok}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", a.status)
	}
	for name, b := range map[string]*browser{"first": analyst, "second": second} {
		if a := b.get("/targets"); a.status != http.StatusSeeOther {
			t.Errorf("the %s session after sign out everywhere: %d, want a redirect to sign in", name, a.status)
		}
	}
	if a := viewer.get("/targets"); a.status != http.StatusOK {
		t.Errorf("another user's session after the analyst signed out everywhere: %d", a.status)
	}
}

// Sessions live in the store: a new process (a restart, another replica)
// on the same database honours them.
func TestSessionSurvivesANewProcess(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	restarted := httptest.NewServer(New(Config{Tracker: e.svc, People: people.New(people.Config{Store: e.svc.Store(), Clock: e.clock.Now}), Clock: e.clock.Now}))
	defer restarted.Close()
	req, _ := http.NewRequest("GET", restarted.URL+"/targets", nil)
	req.AddCookie(b.cookie())
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the session in a new process: %d, want 200", resp.StatusCode)
	}
}

// The mapping page lists the people and their Jira match: a person whose
// email Jira hides, or who has no Jira account, shows as not matched.
func TestMappingPageShowsWhoIsNotMatched(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations")
	_, in := integrated(t, e, b, tok)
	admin := service.Actor{Role: tracker.RoleAdmin}
	for _, email := range []string{"dev@example.test", "private@example.test", "stranger@example.test"} {
		if _, err := e.people.CreateUser(context.Background(), admin, people.NewUser{Email: email, Name: email, Role: tracker.RoleViewer}); err != nil {
			t.Fatal(err)
		}
	}
	if page := b.get("/integrations/targets/" + in.ID + "/configure"); !strings.Contains(page.body, `hx-get="/integrations/targets/`+in.ID+`/people"`) {
		t.Fatalf("the mapping page does not load the people list")
	}
	a := b.get("/integrations/targets/" + in.ID + "/people")
	if a.status != http.StatusOK {
		t.Fatalf("people: %d %.500s", a.status, a.body)
	}
	rows := regexp.MustCompile(`(?s)<tr><td>([^<]+)</td>.*?</tr>`).FindAllStringSubmatch(a.body, -1)
	matched := map[string]bool{}
	for _, r := range rows {
		matched[r[1]] = !strings.Contains(r[0], "not matched")
	}
	want := map[string]bool{"dev@example.test": true, "private@example.test": false, "stranger@example.test": false}
	for email, m := range want {
		if got, ok := matched[email]; !ok || got != m {
			t.Errorf("%s: matched %v (listed %v), want %v", email, got, ok, m)
		}
	}
}

// The activity page pauses and resumes an integration's sync and shows
// that it is paused with what waits.
func TestActivityPagePausesAndResumes(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations")
	_, in := integrated(t, e, b, tok)
	if _, err := e.integ.SetMapping(context.Background(), in.ID, json.RawMessage(mapping.Example)); err != nil {
		t.Fatal(err)
	}
	path := "/integrations/targets/" + in.ID
	if a := b.post(path+"/pause", url.Values{"csrf_token": {tok}}); a.status != http.StatusSeeOther {
		t.Fatalf("pause: %d %.300s", a.status, a.body)
	}
	if v, _ := e.integ.Integration(context.Background(), in.ID); !v.Paused {
		t.Fatalf("after pause the integration is not paused: %+v", v.State)
	}
	page := b.get(path + "/activity").body
	if !strings.Contains(page, `id="paused-note"`) || !strings.Contains(page, `id="resume-sync"`) {
		t.Errorf("the activity page does not show the pause and a resume button")
	}
	if a := b.post(path+"/resume", url.Values{"csrf_token": {tok}}); a.status != http.StatusSeeOther {
		t.Fatalf("resume: %d", a.status)
	}
	if v, _ := e.integ.Integration(context.Background(), in.ID); v.Paused {
		t.Errorf("after resume the integration is still paused")
	}
	if page := b.get(path + "/activity").body; !strings.Contains(page, `id="pause-sync"`) {
		t.Errorf("the activity page does not offer Pause after resuming")
	}
}
