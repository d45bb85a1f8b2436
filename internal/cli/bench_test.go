package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--only", "intake,nope"},
		{"bench", "--duration", "2h"},
		{"bench", "--rate", "0.5"},
		{"bench", "--items", "0"},
		{"bench", "--latency", "-5ms"},
		{"bench", "--db", "mysql://x"},
		{"bench", "extra"},
		{"bench", "--cpuprofile", "/no/such/dir/cpu.pprof"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
		if strings.Contains(errOut.String(), "…") {
			t.Errorf("%q: a scenario started: %q", args, errOut.String())
		}
	}
}

// TestBenchPrintsJSON runs the calls scenario at its smallest size through
// the command line and reads the JSON report back.
func TestBenchPrintsJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	args := []string{"bench", "--only", "calls", "--calls-items", "8", "--json", "--tmp", t.TempDir(), "--cpuprofile", profile}
	if err := Run(t.Context(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	var rep struct {
		Backend   string `json:"backend"`
		Scenarios []struct {
			Name    string `json:"name"`
			Results []struct {
				Metric string  `json:"metric"`
				Value  float64 `json:"value"`
				Status string  `json:"status"`
			} `json:"results"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode %q: %v", out.String(), err)
	}
	if rep.Backend != "sqlite" || len(rep.Scenarios) != 1 || rep.Scenarios[0].Name != "calls" || len(rep.Scenarios[0].Results) != 1 {
		t.Fatalf("report: got %+v, want one calls result on sqlite", rep)
	}
	r := rep.Scenarios[0].Results[0]
	if r.Value < 1 || (r.Status != "pass" && r.Status != "fail") {
		t.Errorf("calls result: %+v, want at least 1× the minimum with a pass/fail status", r)
	}
	if !strings.Contains(errOut.String(), "bench: calls done") {
		t.Errorf("progress on stderr: %q", errOut.String())
	}
	// The CPU profile is a gzip-compressed protocol buffer (pprof's format).
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--cpuprofile %s: read %d bytes (%v), want a gzip-compressed profile", profile, len(b), err)
	}
}
