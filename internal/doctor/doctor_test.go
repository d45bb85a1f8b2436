package doctor

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

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
func simClient(t *testing.T, profile jirasim.Profile, admin bool) (*jira.Client, *methodCounter) {
	t.Helper()
	_, base := jirasim.StartTest(t, jirasim.Config{Profile: profile})
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
		{jirasim.ProfileCloud, "SEC", nil},
		{jirasim.ProfileCloud, "OPS", nil},
		{jirasim.ProfileDC9, "SEC", nil},
		{jirasim.ProfileDC10, "SEC", nil},
		{jirasim.ProfileDC10, "OPS", nil},
	}
	for _, tc := range cases {
		t.Run(string(tc.profile)+"/"+tc.project, func(t *testing.T) {
			c, mc := simClient(t, tc.profile, true)
			rep := Run(context.Background(), c, Options{ProjectKey: tc.project})
			var buf bytes.Buffer
			if err := rep.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", buf.String())
			if w := mc.writes(); len(w) > 0 {
				t.Errorf("the doctor wrote to Jira: %v", w)
			}
			golden(t, filepath.Join("testdata", string(tc.profile)+"-"+tc.project+".txt"), buf.Bytes())
		})
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
