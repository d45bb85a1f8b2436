package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/benchmark"
)

// runBench is `vulnsync bench`: it measures the service levels of
// PRODUCT.md §6 on this machine and prints them beside their targets.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", "", "comma-separated scenarios to run: "+strings.Join(benchmark.Scenarios, ","))
	duration := fs.Duration("duration", benchmark.DefaultDuration, "how long each timed scenario measures")
	latency := fs.Duration("latency", benchmark.DefaultLatency, "simulator latency per Jira call L in the propagation scenario (0 for none)")
	rate := fs.Float64("rate", benchmark.DefaultRate, "simulator global limit R in requests/s in the backfill scenario")
	items := fs.Int("items", benchmark.DefaultItems, "linked items in the memory and scale scenarios; items the target holds in the import scenario")
	importResults := fs.Int("import-results", 0, "results of the import scenario's SARIF report (default half of --items)")
	senders := fs.Int("senders", benchmark.DefaultSenders, "concurrent webhook senders in the intake scenario")
	preload := fs.Int("preload", 0, "linked items written to the store before intake and propagation measure (a store of realistic size)")
	callsItems := fs.Int("calls-items", benchmark.DefaultCallsItems, "vulnerabilities in the calls scenario's mixed workload")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	db := fs.String("db", getenv("VULNSYNC_DB"), "PostgreSQL URL postgres://… to run on (each scenario gets a fresh schema); default SQLite in a temp dir")
	tmp := fs.String("tmp", "", "directory for the scenarios' SQLite data (default the system's temp dir)")
	logLevel := fs.String("log-level", "error", "level of vulnsync's own logs on stderr: debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (vulnsync, simulator and load together) to this file, for go tool pprof")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Zero means "the default" to benchmark.Options; on the command line
	// it is a mistake.
	if *duration <= 0 || *rate <= 0 || *items <= 0 || *senders <= 0 || *callsItems <= 0 || *latency < 0 {
		return fmt.Errorf("%w: --duration, --rate, --items, --senders and --calls-items must be positive, --latency not negative", ErrUsage)
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	if *importResults < 0 {
		return fmt.Errorf("%w: --import-results must not be negative", ErrUsage)
	}
	opts := benchmark.Options{ImportResults: *importResults, Duration: *duration, Rate: *rate, Items: *items, Senders: *senders, CallsItems: *callsItems, Preload: *preload,
		DB: *db, TempDir: *tmp, Logger: log, Progress: stderr, Latency: *latency}
	if *latency == 0 {
		opts.Latency = -1 // none, rather than the default
	}
	if *only != "" {
		for _, name := range strings.Split(*only, ",") {
			if name = strings.TrimSpace(name); name != "" {
				opts.Only = append(opts.Only, name)
			}
		}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "bench: %v\n", err)
			}
		}()
	}
	start := time.Now()
	rep, runErr := benchmark.Run(ctx, opts)
	var oe *benchmark.OptionsError
	if errors.As(runErr, &oe) {
		return fmt.Errorf("%w: %v", ErrUsage, oe)
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
		fmt.Fprintf(stdout, "\ntotal %.1f s; %d target(s) missed or scenario(s) failed\n", time.Since(start).Seconds(), rep.Failed())
	}
	if runErr != nil {
		return fmt.Errorf("bench: %w", runErr)
	}
	return err
}

// startCPUProfile starts profiling the process's CPU into path; stop ends
// it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --cpuprofile: %v", ErrUsage, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: start the CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("write the CPU profile %s: %w", path, err)
		}
		return nil
	}, nil
}
