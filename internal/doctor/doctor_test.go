package doctor

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// methodCounter counts requests by method on their way out, so a test can
// prove the doctor never writes.
type methodCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string][]string
}

func (m *methodCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	m.mu.Lock()
	if m.seen == nil {
		m.seen = map[string][]string{}
	}
	m.seen[req.Method] = append(m.seen[req.Method], req.URL.Path)
	m.mu.Unlock()
	return m.next.RoundTrip(req)
}

func (m *methodCounter) writes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for method, paths := range m.seen {
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		for _, p := range paths {
			out = append(out, method+" "+p)
		}
	}
	return out
}

// simClient starts a simulator playing profile and returns a client for it
// as the simulator's admin (or as the developer, who is no admin).
func simClient(t *testing.T, profile jirasim.Profile, admin bool, seedProject string) (*jira.Client, *methodCounter) {
	t.Helper()
	_, base := jirasim.StartTest(t, jirasim.Config{Profile: profile})
	if seedProject != "" {
		seedIssue(t, profile, base, seedProject)
	}
	mc := &methodCounter{next: http.DefaultTransport}
	var auth jira.Auth
	switch {
	case profile == jirasim.ProfileCloud && admin:
		auth = jira.BasicAuth{Email: jirasim.AdminEmail, APIToken: jirasim.AdminToken}
	case profile == jirasim.ProfileCloud:
		auth = jira.BasicAuth{Email: jirasim.DevEmail, APIToken: jirasim.DevToken}
	case admin:
		auth = jira.BearerAuth{Token: jirasim.AdminPAT}
	default:
		auth = jira.BearerAuth{Token: jirasim.DevPAT}
	}
	c, err := jira.NewClient(jira.Config{BaseURL: base, Auth: auth, HTTPClient: &http.Client{Transport: mc}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, mc
}

// seedIssue creates one issue (through a separate client, so it is not
// counted as the doctor's) for the doctor to read the edit screen and the
// transitions from.
func seedIssue(t *testing.T, profile jirasim.Profile, base, project string) {
	t.Helper()
	var auth jira.Auth = jira.BasicAuth{Email: jirasim.AdminEmail, APIToken: jirasim.AdminToken}
	if profile != jirasim.ProfileCloud {
		auth = jira.BearerAuth{Token: jirasim.AdminPAT}
	}
	c, err := jira.NewClient(jira.Config{BaseURL: base, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys []string
	for range 2 {
		is, err := c.CreateIssue(ctx, jira.IssueCreate{ProjectKey: project, IssueTypeName: "Bug", Summary: "seed",
			Fields: map[string]any{"customfield_10052": map[string]string{"value": "Web"}}})
		if err != nil {
			t.Fatalf("seed an issue in %s: %v", project, err)
		}
		keys = append(keys, is.Key)
	}
	// The second one in progress: its transitions lead into Done.
	if err := c.DoTransition(ctx, keys[1], "21", nil); err != nil {
		t.Fatalf("start progress on %s: %v", keys[1], err)
	}
}

func statuses(rep Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range rep.Checks {
		out[c.ID] = c.Status
	}
	return out
}

func TestDoctorAgainstSimulatorProfiles(t *testing.T) {
	cases := []struct {
		profile jirasim.Profile
		project string
		want    map[string]Status
	}{
		{jirasim.ProfileCloud, "SEC", map[string]Status{"server": OK, "auth": OK, "permissions": OK, "webhooks": OK, "project": OK,
			"fields": Warn, "screens": OK, "priorities": OK, "workflow": OK, "transitions": OK, "rate-limit": OK}},
		{jirasim.ProfileCloud, "OPS", map[string]Status{"server": OK, "auth": OK, "permissions": OK, "webhooks": OK, "project": OK,
			"fields": Warn, "screens": Warn, "priorities": Warn, "workflow": OK, "transitions": OK, "rate-limit": OK}},
		{jirasim.ProfileDC9, "SEC", map[string]Status{"server": OK, "auth": OK, "permissions": OK, "webhooks": Warn, "project": OK,
			"fields": Warn, "screens": OK, "priorities": OK, "workflow": OK, "transitions": Warn, "rate-limit": OK}},
		{jirasim.ProfileDC10, "SEC", map[string]Status{"server": OK, "auth": OK, "permissions": OK, "webhooks": OK, "project": OK,
			"fields": Warn, "screens": OK, "priorities": OK, "workflow": OK, "transitions": Warn, "rate-limit": OK}},
		{jirasim.ProfileDC10, "OPS", map[string]Status{"server": OK, "auth": OK, "permissions": OK, "webhooks": OK, "project": OK,
			"fields": Warn, "screens": Warn, "priorities": Warn, "workflow": OK, "transitions": Warn, "rate-limit": OK}},
	}
	for _, tc := range cases {
		t.Run(string(tc.profile)+"/"+tc.project, func(t *testing.T) {
			c, mc := simClient(t, tc.profile, true, tc.project)
			rep := Run(context.Background(), c, Options{ProjectKey: tc.project})
			var buf bytes.Buffer
			if err := rep.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", buf.String())
			if w := mc.writes(); len(w) > 0 {
				t.Errorf("the doctor wrote to Jira: %v", w)
			}
			if diff := cmp.Diff(tc.want, statuses(rep)); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if rep.Failed() {
				t.Errorf("a check failed against the %s simulator", tc.profile)
			}
			golden(t, filepath.Join("testdata", string(tc.profile)+"-"+tc.project+".txt"), buf.Bytes())
		})
	}
}

// A developer account without admin rights: webhooks cannot be registered.
func TestDoctorNonAdminCannotRegisterWebhooks(t *testing.T) {
	c, mc := simClient(t, jirasim.ProfileCloud, false, "")
	rep := Run(context.Background(), c, Options{ProjectKey: "SEC"})
	ch, ok := rep.Check("webhooks")
	if !ok || ch.Status != Warn || !strings.Contains(ch.Detail, "not a Jira administrator") {
		t.Errorf("webhooks check for a non-admin: got %+v", ch)
	}
	if w := mc.writes(); len(w) > 0 {
		t.Errorf("the doctor wrote to Jira: %v", w)
	}
}

// Wrong credentials fail the auth check, and the doctor stops there.
func TestDoctorBadCredentialsFail(t *testing.T) {
	for _, profile := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(profile), func(t *testing.T) {
			_, base := jirasim.StartTest(t, jirasim.Config{Profile: profile})
			var auth jira.Auth = jira.BasicAuth{Email: jirasim.AdminEmail, APIToken: "wrong"}
			if profile != jirasim.ProfileCloud {
				auth = jira.BearerAuth{Token: "wrong"}
			}
			c, err := jira.NewClient(jira.Config{BaseURL: base, Auth: auth, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			rep := Run(context.Background(), c, Options{ProjectKey: "SEC"})
			want := map[string]Status{"server": OK, "auth": Fail}
			if diff := cmp.Diff(want, statuses(rep)); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			if !rep.Failed() {
				t.Error("Failed() = false with a failed check")
			}
			if ch, _ := rep.Check("auth"); ch.Fix == "" {
				t.Error("the failed auth check has no fix")
			}
		})
	}
}

// An unreachable site fails the first check with a fix about the URL.
func TestDoctorUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, err := jira.NewClient(jira.Config{BaseURL: base, Auth: jira.BearerAuth{Token: "x"}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), c, Options{})
	if diff := cmp.Diff(map[string]Status{"server": Fail}, statuses(rep)); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (run go test -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
