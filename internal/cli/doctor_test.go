package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// writeCounter fails the test on any request other than GET.
type writeCounter struct {
	t      *testing.T
	writes []string
}

func (w *writeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		w.writes = append(w.writes, req.Method+" "+req.URL.Path)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestDoctorCommand(t *testing.T) {
	noenv := func(string) string { return "" }
	t.Run("table, dc-9", func(t *testing.T) {
		_, base := jirasim.StartTest(t, jirasim.Config{Profile: jirasim.ProfileDC9})
		wc := &writeCounter{t: t}
		var out, errOut bytes.Buffer
		err := runDoctorWith(context.Background(), []string{"--url", base, "--pat", jirasim.AdminPAT, "--project", "SEC"}, noenv, &out, &errOut, &http.Client{Transport: wc})
		if err != nil {
			t.Fatalf("doctor: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "⚠ Webhook API and signing") || !strings.Contains(out.String(), "0 failed") {
			t.Errorf("output:\n%s", out.String())
		}
		if len(wc.writes) > 0 {
			t.Errorf("doctor wrote: %v", wc.writes)
		}
	})
	t.Run("json, cloud, via Run", func(t *testing.T) {
		_, base := jirasim.StartTest(t, jirasim.Config{Profile: jirasim.ProfileCloud})
		env := map[string]string{"VULNSYNC_JIRA_API_TOKEN": jirasim.AdminToken}
		var out, errOut bytes.Buffer
		err := Run(context.Background(), []string{"doctor", "--url", base, "--email", jirasim.AdminEmail, "--project", "OPS", "--json"},
			func(k string) string { return env[k] }, &out, &errOut)
		if err != nil {
			t.Fatalf("doctor: %v", err)
		}
		var rep struct {
			OK     bool `json:"ok"`
			Checks []struct {
				ID, Status string
			} `json:"checks"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("decode %s: %v", out.String(), err)
		}
		got := map[string]string{}
		for _, c := range rep.Checks {
			got[c.ID] = c.Status
		}
		if !rep.OK || got["priorities"] != "warn" || got["screens"] != "warn" {
			t.Errorf("report: %s", out.String())
		}
	})
	t.Run("failing check exits non-zero", func(t *testing.T) {
		_, base := jirasim.StartTest(t, jirasim.Config{Profile: jirasim.ProfileDC10})
		var out, errOut bytes.Buffer
		err := Run(context.Background(), []string{"doctor", "--url", base, "--pat", "wrong"}, noenv, &out, &errOut)
		if !errors.Is(err, ErrChecksFailed) {
			t.Fatalf("got %v, want ErrChecksFailed", err)
		}
		if !strings.Contains(out.String(), "✘ Reachable and authenticated") {
			t.Errorf("output:\n%s", out.String())
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"doctor"}, {"doctor", "--url", "http://x"}, {"doctor", "--url", "http://x", "--pat", "p", "--email", "e", "--api-token", "t"}} {
			if err := Run(context.Background(), args, noenv, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, ErrUsage) {
				t.Errorf("%v: got %v, want ErrUsage", args, err)
			}
		}
	})
}
