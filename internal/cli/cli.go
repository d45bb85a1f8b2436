// Package cli is the vulnsync command line: it parses arguments and the
// environment and starts the requested command. cmd/vulnsync only calls
// Run, so end-to-end tests can start the real program in-process, on port 0,
// with their own environment and output.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version and Commit are set at build time with -ldflags "-X ...".
var (
	Version = "dev"
	Commit  = ""
)

// ErrUsage marks errors caused by a wrong command line; main exits 2 on it.
var ErrUsage = errors.New("usage error")

const usage = `vulnsync — a vulnerability tracker with real-time two-way Jira sync

Usage:
  vulnsync serve   [flags]   run the service (API, UI, webhook receiver, sync workers)
  vulnsync demo    [flags]   serve plus an in-process Jira simulator, seeded and synced
  vulnsync jirasim [flags]   run the Jira simulator alone
  vulnsync bench   [flags]   measure the service levels (README, "Measuring service levels") on this machine
  vulnsync doctor  [flags]   read-only preflight against a real Jira site (version, permissions, webhooks, project)
  vulnsync import  [flags] FILE   import a scanner report into a target through the API (token in VULNSYNC_TOKEN)
  vulnsync recount [flags]   recompute the item and link counters, correct them and report any drift
  vulnsync version           print version, commit and Go version (also --version)

Run "vulnsync <command> -h" for the flags of a command.
`

// Run runs the command named by args (without the program name). getenv
// reads the environment; stdout gets what people should see (URLs, the
// admin token), stderr the logs.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", ErrUsage)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], getenv, stdout, stderr)
	case "jirasim":
		return runJirasim(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args[1:], getenv, stdout, stderr)
	case "import":
		return runImport(ctx, args[1:], getenv, stdout, stderr)
	case "recount":
		return runRecount(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
	}
}

func runVersion(stdout io.Writer) error {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(stdout, "vulnsync %s\ncommit %s\n%s %s/%s\n", Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", ErrUsage, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: use text or json", ErrUsage, format)
}

// envOr returns the environment value of key, or def when it is unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseFlags parses args with fs, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	return nil
}
