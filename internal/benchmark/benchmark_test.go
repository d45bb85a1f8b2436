package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEveryScenarioAtATinySize runs the whole bench at a size that takes
// seconds and checks that each scenario finished and reported sane
// numbers: present, finite, within what the setup makes possible, and a
// status that agrees with its target. It asserts no service level: the
// machine running the test is shared and noisy.
func TestEveryScenarioAtATinySize(t *testing.T) {
	const (
		latency = 5 * time.Millisecond
		rate    = 20.0
		items   = 300
	)
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Options{Duration: time.Second, Latency: latency, Rate: rate, Items: items, Senders: 4,
		CallsItems: 16, TempDir: t.TempDir(), Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var names []string
	for _, s := range rep.Scenarios {
		names = append(names, s.Name)
		if s.Error != "" {
			t.Errorf("scenario %s: %s", s.Name, s.Error)
		}
		if s.Seconds <= 0 {
			t.Errorf("scenario %s took %v s", s.Name, s.Seconds)
		}
		for _, r := range s.Results {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value < 0 {
				t.Errorf("%s / %s: value %v, want a finite non-negative number", s.Name, r.Metric, r.Value)
			}
			want := StatusInfo
			if r.Target != nil {
				want = StatusFail
				if r.Target.Met(r.Value) {
					want = StatusPass
				}
			}
			if r.Status != want {
				t.Errorf("%s / %s: status %q for %v against %+v, want %q", s.Name, r.Metric, r.Status, r.Value, r.Target, want)
			}
		}
	}
	if diff := cmp.Diff(Scenarios, names); diff != "" {
		t.Fatalf("scenarios run (-want +got):\n%s", diff)
	}
	for _, name := range Scenarios {
		if !strings.Contains(progress.String(), "bench: "+name+" done") {
			t.Errorf("progress output does not report %s: %q", name, progress.String())
		}
	}

	get := func(scenario, metricPrefix string) Result {
		t.Helper()
		for _, s := range rep.Scenarios {
			for _, r := range s.Results {
				if s.Name == scenario && strings.HasPrefix(r.Metric, metricPrefix) {
					return r
				}
			}
		}
		t.Fatalf("no %s result starting with %q", scenario, metricPrefix)
		return Result{}
	}
	// Intake: deliveries were accepted and timed; the receiver does more
	// than the verify-only handler, so it cannot be many times faster.
	if r := get(ScenarioIntake, "deliveries/s sustained"); r.Value <= 0 || r.Target.Value != 2000 {
		t.Errorf("intake rate: %+v, want a positive rate against ≥ 2000", r)
	}
	if r := get(ScenarioIntake, "p99 answer, 2000"); r.Value <= 0 {
		t.Errorf("intake p99: %+v, want a positive latency", r)
	}
	if r := get(ScenarioIntake, "ratio to a verify-only"); r.Value <= 0 || r.Value > 3 {
		t.Errorf("intake ratio: %v, want in (0, 3]", r.Value)
	}
	// Propagation: a change to Jira cannot be visible before the one call
	// it needs was answered, which takes L; the target is L + 50 ms.
	out := get(ScenarioPropagation, "vulnsync→Jira p99")
	if out.Value < ms(latency) || out.Target.Value != ms(latency)+50 {
		t.Errorf("vulnsync→Jira p99: %+v, want at least L = %v and a target of L + 50 ms", out, latency)
	}
	if in := get(ScenarioPropagation, "Jira→vulnsync p99"); in.Value <= 0 || in.Target.Value != 50 {
		t.Errorf("Jira→vulnsync p99: %+v, want a positive latency against 50 ms", in)
	}
	// Calls: vulnsync cannot make fewer calls than the changes need.
	if r := get(ScenarioCalls, "Jira calls per change"); r.Value < 1 {
		t.Errorf("calls per change: %v, want at least 1× the minimum", r.Value)
	}
	// Backfill: the simulator lets through at most R/s plus its one-second
	// burst, over a backfill of 2 s worth: at most 1.5 R/s on average.
	if r := get(ScenarioBackfill, "useful calls/s"); r.Value <= 0 || r.Value > 1.5*rate {
		t.Errorf("backfill useful calls/s: %v, want in (0, %v]", r.Value, 1.5*rate)
	}
	if r := get(ScenarioBackfill, "requests answered 429"); r.Value > 100 {
		t.Errorf("share of 429s: %v %%", r.Value)
	}
	// Memory: the process holds more than the Go heap it uses.
	rss, heap := get(ScenarioMemory, "RSS with"), get(ScenarioMemory, "Go heap in use")
	if rss.Value < 1 || rss.Value < heap.Value || !strings.Contains(rss.Metric, "300 linked items") {
		t.Errorf("memory: RSS %+v, heap %+v; want RSS of the 300 items above the heap in use", rss, heap)
	}
	// Scale: edits cannot settle before a Jira call answered after L; the
	// reads were timed and the database holds the items.
	if r := get(ScenarioScale, "20 edits settled"); r.Value < ms(latency) || r.Target.Value != 2000 {
		t.Errorf("scale settle: %+v, want at least L = %v against 2 s", r, latency)
	}
	for _, m := range []string{"list page p99", "item read p99", "integration page p99", "database size"} {
		if r := get(ScenarioScale, m); r.Value <= 0 {
			t.Errorf("scale %s: %+v, want a positive value", m, r)
		}
	}

	// Import: 150 results into a target of 300 items, timed, with a peak.
	if r := get(ScenarioImport, "150 SARIF results into 300 items"); r.Value <= 0 || r.Target.Value != 60 {
		t.Errorf("import time: %+v, want a positive time against 60 s", r)
	}
	if r := get(ScenarioImport, "peak RSS"); r.Value < 1 || r.Target.Value != 300 {
		t.Errorf("import peak RSS: %+v", r)
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, name := range Scenarios {
		if !strings.Contains(table.String(), "\n"+name+" ") {
			t.Errorf("table has no row for %s:\n%s", name, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("decode the JSON report: %v", err)
	}
	if diff := cmp.Diff(rep, back); diff != "" {
		t.Errorf("JSON report round trip (-want +got):\n%s", diff)
	}
}

func TestBadOptionsAreRefusedBeforeAnythingRuns(t *testing.T) {
	var progress bytes.Buffer
	_, err := Run(context.Background(), Options{Only: []string{"intake", "nope", "intake"}, Duration: time.Hour, Rate: -1,
		Items: MaxItems + 1, DB: "mysql://x", Progress: &progress})
	var oe *OptionsError
	if !errors.As(err, &oe) {
		t.Fatalf("Run with bad options: got %v, want an *OptionsError", err)
	}
	for _, want := range []string{`unknown scenario "nope"`, `"intake" is named twice`, "duration 1h0m0s", "rate -1", "items 2000001", "postgres://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if progress.Len() != 0 {
		t.Errorf("a scenario started despite bad options: %q", progress.String())
	}
}

func TestOnlyRunsTheNamedScenariosInOrder(t *testing.T) {
	o, err := Options{Only: []string{ScenarioMemory, ScenarioCalls}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != DefaultDuration || o.Latency != DefaultLatency || o.Rate != DefaultRate || o.Items != DefaultItems {
		t.Errorf("defaults: got %v %v %v %v", o.Duration, o.Latency, o.Rate, o.Items)
	}
	if o, _ := (Options{Latency: -1}).withDefaults(); o.Latency != 0 {
		t.Errorf("negative latency: got %v, want none (0)", o.Latency)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // out of order on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want float64
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0.1, 1}} {
		if got := percentile(ds, tt.q); got != tt.want {
			t.Errorf("p%v of 1..100 ms: got %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := percentile([]time.Duration{7 * time.Millisecond}, 99); got != 7 {
		t.Errorf("p99 of one sample: got %v, want 7", got)
	}
	if got := percentile(nil, 99); !math.IsNaN(got) {
		t.Errorf("p99 of nothing: got %v, want NaN", got)
	}
}

func TestTargetsAndFormatting(t *testing.T) {
	for _, tt := range []struct {
		t    Target
		v    float64
		want bool
	}{
		{Target{">=", 2000}, 2000, true}, {Target{">=", 2000}, 1999.9, false},
		{Target{"<=", 25}, 25, true}, {Target{"<=", 25}, 25.1, false}, {Target{"<=", 25}, math.NaN(), false},
	} {
		if got := tt.t.Met(tt.v); got != tt.want {
			t.Errorf("%+v met by %v: got %v, want %v", tt.t, tt.v, got, tt.want)
		}
	}
	rep := Report{Backend: "sqlite", Scenarios: []ScenarioReport{{Name: "intake", Seconds: 1.5, Notes: []string{"a note"}}}}
	rec := recorder{rep: &rep.Scenarios[0]}
	rec.add("p99", 31.44, "ms", atMost(25))
	rec.add("rate", 2403.2, "/s", atLeast(2000))
	rec.add("ratio", 0.1504, "x", nil)
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"31.4 ms", "≤ 25.0 ms", "fail", "2403/s", "≥ 2000/s", "pass", "0.150×", "info", "  - a note"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if got := rep.Failed(); got != 1 {
		t.Errorf("Failed: got %d, want 1", got)
	}
}

func TestJSONCarriesNothingMeasuredAsNull(t *testing.T) {
	rep := Report{Scenarios: []ScenarioReport{{Name: "propagation"}}}
	recorder{rep: &rep.Scenarios[0]}.add("p99", math.NaN(), "ms", atMost(50))
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatalf("WriteJSON with a NaN value: %v", err)
	}
	if !strings.Contains(b.String(), `"value": null`) {
		t.Errorf("NaN written as %s, want null", b.String())
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if r := back.Scenarios[0].Results[0]; !math.IsNaN(r.Value) || r.Status != StatusFail || r.Metric != "p99" {
		t.Errorf("read back: %+v, want NaN, fail, p99", r)
	}
}
