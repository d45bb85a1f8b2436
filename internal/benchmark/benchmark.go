// Package benchmark measures vulnsync's service levels (PRODUCT.md §6) for
// `vulnsync bench`. Each scenario assembles a whole vulnsync — store,
// services, sync engine, the real job runner and the REST API, wired as
// `vulnsync serve` wires them — next to an in-process Jira simulator, both
// on loopback, with a fresh store (SQLite in a temporary directory, or a
// fresh schema of a PostgreSQL database), drives it, and reports what it
// measured beside the target.
//
// It exists as a program rather than as Go benchmarks because the targets
// are about the assembled service (webhook intake over HTTP, propagation
// through the job runner, pacing against a rate-limited Jira, the memory of
// the process), and because people run it on their own hardware. Nothing
// here asserts a number: machines differ and are shared.
package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The scenarios, in the order they run.
const (
	ScenarioIntake      = "intake"
	ScenarioPropagation = "propagation"
	ScenarioCalls       = "calls"
	ScenarioBackfill    = "backfill"
	ScenarioMemory      = "memory"
	ScenarioImport      = "import"
	ScenarioScale       = "scale"
)

// Scenarios lists every scenario, in the order Run runs them.
var Scenarios = []string{ScenarioIntake, ScenarioPropagation, ScenarioCalls, ScenarioBackfill, ScenarioMemory, ScenarioScale, ScenarioImport}

// Limits of the options, so that a typo cannot start an hour-long run or
// an absurd load.
const (
	MinDuration = 200 * time.Millisecond
	MaxDuration = 10 * time.Minute
	MaxLatency  = 10 * time.Second
	MaxRate     = 10000
	MaxItems    = 2_000_000
	MaxSenders  = 1024
)

// Options choose what to run and at which size. The zero value of a field
// means its default.
type Options struct {
	// Only lists the scenarios to run (default: all of Scenarios).
	Only []string
	// Duration is how long each timed scenario measures (default 10 s).
	Duration time.Duration
	// Latency is the simulator's latency per Jira call L in the
	// propagation scenario (default 20 ms; negative means none).
	Latency time.Duration
	// Rate is the simulator's global limit R, in requests per second, in
	// the backfill scenario (default 50).
	Rate float64
	// Items is the number of linked items of the memory and scale
	// scenarios, and of items the target holds before the import scenario
	// (default 100,000).
	Items int
	// ImportResults is the number of results of the import scenario's
	// SARIF report (default half of Items: 50,000).
	ImportResults int
	// Senders is the number of concurrent webhook senders of the intake
	// scenario (default 32).
	Senders int
	// Preload is a number of linked items written to the store before the
	// intake and propagation scenarios measure, to see how they fare with
	// a store of a realistic size (default 0).
	Preload int
	// CallsItems is the number of vulnerabilities of the calls scenario's
	// mixed workload (default 240; at least 8, one per kind of change).
	CallsItems int
	// DB, when set, is a postgres:// URL: every scenario then runs on a
	// fresh schema of that database instead of SQLite.
	DB string
	// TempDir is where the scenarios' data directories are made (default
	// the system's temporary directory); they are removed afterwards.
	TempDir string
	// Logger receives vulnsync's own logs (default: discarded).
	Logger *slog.Logger
	// Progress, when set, gets one line as each scenario starts and ends.
	Progress io.Writer
}

// Defaults of Options.
const (
	DefaultDuration   = 10 * time.Second
	DefaultLatency    = 20 * time.Millisecond
	DefaultRate       = 50
	DefaultItems      = 100_000
	DefaultSenders    = 32
	DefaultCallsItems = 240
)

// withDefaults fills the zero fields and checks the rest; a bad option is
// reported before anything runs.
func (o Options) withDefaults() (Options, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Latency == 0 {
		o.Latency = DefaultLatency
	} else if o.Latency < 0 {
		o.Latency = 0
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Items == 0 {
		o.Items = DefaultItems
	}
	if o.ImportResults == 0 {
		o.ImportResults = max(1, o.Items/2)
	}
	if o.Senders == 0 {
		o.Senders = DefaultSenders
	}
	if o.CallsItems == 0 {
		o.CallsItems = DefaultCallsItems
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	var problems []string
	if o.Duration < MinDuration || o.Duration > MaxDuration {
		problems = append(problems, fmt.Sprintf("duration %v must be between %v and %v", o.Duration, MinDuration, MaxDuration))
	}
	if o.Latency > MaxLatency || o.Latency%time.Millisecond != 0 {
		problems = append(problems, fmt.Sprintf("latency %v must be whole milliseconds, at most %v", o.Latency, MaxLatency))
	}
	if math.IsNaN(o.Rate) || o.Rate < 1 || o.Rate > MaxRate {
		problems = append(problems, fmt.Sprintf("rate %v must be between 1 and %d requests per second", o.Rate, MaxRate))
	}
	if o.Items < 1 || o.Items > MaxItems {
		problems = append(problems, fmt.Sprintf("items %d must be between 1 and %d", o.Items, MaxItems))
	}
	if o.ImportResults < 1 || o.ImportResults > MaxItems {
		problems = append(problems, fmt.Sprintf("import results %d must be between 1 and %d", o.ImportResults, MaxItems))
	}
	if o.Senders < 1 || o.Senders > MaxSenders {
		problems = append(problems, fmt.Sprintf("senders %d must be between 1 and %d", o.Senders, MaxSenders))
	}
	if o.Preload < 0 || o.Preload > MaxItems {
		problems = append(problems, fmt.Sprintf("preload %d must be between 0 and %d", o.Preload, MaxItems))
	}
	if o.CallsItems < 8 || o.CallsItems > 100_000 {
		problems = append(problems, fmt.Sprintf("calls items %d must be between 8 and 100000", o.CallsItems))
	}
	if o.DB != "" && !strings.HasPrefix(o.DB, "postgres://") && !strings.HasPrefix(o.DB, "postgresql://") {
		problems = append(problems, "db must be a postgres:// URL")
	}
	seen := map[string]bool{}
	for _, name := range o.Only {
		if !slices.Contains(Scenarios, name) {
			problems = append(problems, fmt.Sprintf("unknown scenario %q: choose among %s", name, strings.Join(Scenarios, ", ")))
		}
		if seen[name] {
			problems = append(problems, fmt.Sprintf("scenario %q is named twice", name))
		}
		seen[name] = true
	}
	if len(problems) > 0 {
		return o, &OptionsError{Problems: problems}
	}
	return o, nil
}

// OptionsError lists what is wrong with the options; the command line
// reports it as a usage error.
type OptionsError struct {
	Problems []string
}

// Error lists the problems in one line.
func (e *OptionsError) Error() string { return "bench options: " + strings.Join(e.Problems, "; ") }

// Target is a service level: the measured value must be at least (">=")
// or at most ("<=") Value.
type Target struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// Met reports whether v meets the target.
func (t Target) Met(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if t.Op == ">=" {
		return v >= t.Value
	}
	return v <= t.Value
}

// Result statuses.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	// StatusInfo marks a number reported for context, with no target.
	StatusInfo = "info"
)

// Result is one measured number.
type Result struct {
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Target   *Target `json:"target,omitempty"`
	Status   string  `json:"status"`
}

// MarshalJSON writes a value that is not a number (nothing measured) as
// null, which JSON can carry.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	var v *float64
	if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
		v = &r.Value
	}
	return json.Marshal(struct {
		plain
		Value *float64 `json:"value"`
	}{plain(r), v})
}

// UnmarshalJSON reads what MarshalJSON wrote (null as NaN).
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var w struct {
		plain
		Value *float64 `json:"value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Result(w.plain)
	r.Value = math.NaN()
	if w.Value != nil {
		r.Value = *w.Value
	}
	return nil
}

// ScenarioReport is what one scenario measured, with notes saying how
// (sizes, assumptions) and its error if it could not finish.
type ScenarioReport struct {
	Name    string   `json:"name"`
	Seconds float64  `json:"seconds"`
	Results []Result `json:"results"`
	Notes   []string `json:"notes,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Report is a whole run.
type Report struct {
	Started    time.Time        `json:"started"`
	Backend    string           `json:"backend"`
	GoVersion  string           `json:"go_version"`
	GOMAXPROCS int              `json:"gomaxprocs"`
	CPUs       int              `json:"cpus"`
	Scenarios  []ScenarioReport `json:"scenarios"`
}

// Failed counts the results that missed their target and the scenarios
// that could not finish.
func (r Report) Failed() int {
	n := 0
	for _, s := range r.Scenarios {
		if s.Error != "" {
			n++
		}
		for _, res := range s.Results {
			if res.Status == StatusFail {
				n++
			}
		}
	}
	return n
}

// recorder collects one scenario's results.
type recorder struct {
	rep *ScenarioReport
}

// add records a value against a target (nil: informational).
func (r recorder) add(metric string, v float64, unit string, t *Target) {
	res := Result{Scenario: r.rep.Name, Metric: metric, Value: v, Unit: unit, Target: t, Status: StatusInfo}
	if t != nil {
		res.Status = StatusFail
		if t.Met(v) {
			res.Status = StatusPass
		}
	}
	r.rep.Results = append(r.rep.Results, res)
}

func (r recorder) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

func atLeast(v float64) *Target { return &Target{Op: ">=", Value: v} }
func atMost(v float64) *Target  { return &Target{Op: "<=", Value: v} }

// scenarioFunc runs one scenario in env.
type scenarioFunc func(ctx context.Context, env *runEnv, rec recorder) error

// runEnv is what scenarios share: the options and a way to make stacks.
type runEnv struct {
	opts Options
	dirs []string
}

// newStack makes a stack with a fresh store in a new temporary directory.
func (e *runEnv) newStack(ctx context.Context) (*stack, error) {
	dir, err := os.MkdirTemp(e.opts.TempDir, "vulnsync-bench-")
	if err != nil {
		return nil, fmt.Errorf("make a data directory: %w", err)
	}
	e.dirs = append(e.dirs, dir)
	return newStack(ctx, stackOptions{dir: dir, db: e.opts.DB, log: e.opts.Logger})
}

func (e *runEnv) cleanup() {
	for _, d := range e.dirs {
		_ = os.RemoveAll(d)
	}
	e.dirs = nil
}

var scenarioFuncs = map[string]scenarioFunc{
	ScenarioIntake:      runIntake,
	ScenarioPropagation: runPropagation,
	ScenarioCalls:       runCalls,
	ScenarioBackfill:    runBackfill,
	ScenarioMemory:      runMemory,
	ScenarioImport:      runImport,
	ScenarioScale:       runScale,
}

// Run runs the chosen scenarios one after the other and returns their
// report. A scenario that fails to run is recorded with its error and the
// others still run; the returned error then names them. Bad options are an
// *OptionsError, returned before anything runs.
func Run(ctx context.Context, opts Options) (Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Report{}, err
	}
	rep := Report{Started: time.Now().UTC(), Backend: "sqlite", GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: runtime.NumCPU()}
	if o.DB != "" {
		rep.Backend = "postgres"
	}
	names := o.Only
	if len(names) == 0 {
		names = Scenarios
	}
	// Run in the canonical order whatever the order asked.
	var order []string
	for _, n := range Scenarios {
		if slices.Contains(names, n) {
			order = append(order, n)
		}
	}
	var errs []error
	for _, name := range order {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("bench interrupted: %w", err)
		}
		fmt.Fprintf(o.Progress, "bench: %s…\n", name)
		sr := ScenarioReport{Name: name}
		env := &runEnv{opts: o}
		start := time.Now()
		err := scenarioFuncs[name](ctx, env, recorder{rep: &sr})
		env.cleanup()
		sr.Seconds = time.Since(start).Seconds()
		if err != nil {
			sr.Error = err.Error()
			errs = append(errs, fmt.Errorf("scenario %s: %w", name, err))
		}
		fmt.Fprintf(o.Progress, "bench: %s done in %.1f s\n", name, sr.Seconds)
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	return rep, errors.Join(errs...)
}

// WriteTable prints the report as a table (scenario, metric, measured,
// target, result) followed by each scenario's notes.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SCENARIO\tMETRIC\tMEASURED\tTARGET\tRESULT\n")
	for _, s := range r.Scenarios {
		for _, res := range s.Results {
			target := "-"
			if res.Target != nil {
				op := "≥"
				if res.Target.Op == "<=" {
					op = "≤"
				}
				target = op + " " + formatValue(res.Target.Value, res.Unit)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, res.Metric, formatValue(res.Value, res.Unit), target, res.Status)
		}
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\t(did not finish)\t-\t-\terror\n", s.Name)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the table: %w", err)
	}
	fmt.Fprintf(w, "\nstore %s, %s, GOMAXPROCS %d, %d CPUs\n", r.Backend, r.GoVersion, r.GOMAXPROCS, r.CPUs)
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "\n%s (%.1f s):\n", s.Name, s.Seconds)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  ! error: %s\n", s.Error)
		}
	}
	return nil
}

// WriteJSON prints the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write the JSON report: %w", err)
	}
	return nil
}

// formatValue prints a value with the precision its unit calls for.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch unit {
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "x":
		return fmt.Sprintf("%.3f×", v)
	case "%":
		return fmt.Sprintf("%.2f %%", v)
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	case "s":
		return fmt.Sprintf("%.1f s", v)
	case "":
		return fmt.Sprintf("%g", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}
