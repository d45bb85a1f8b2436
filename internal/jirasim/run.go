package jirasim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Run is the `vulnsync jirasim` command: it serves a simulator on --addr
// (default 127.0.0.1:8089) until ctx is done, after printing its URL and
// the seed credentials.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jirasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "address to listen on")
	deployment := fs.String("deployment", string(Cloud), "cloud or datacenter (datacenter: the newest Data Center profile, dc-10)")
	profileFlag := fs.String("profile", "", "Jira version to play: cloud, dc-9 or dc-10 (implies --deployment; default from --deployment)")
	mediaBase := fs.String("media-base-url", "", "base URL of the Cloud attachment media host (default: the other loopback name of the request's host)")
	seed := fs.Int64("seed", 1, "seed for fault injection and webhook identifiers")
	baseURL := fs.String("base-url", "", "absolute base URL for self links (default: from each request's Host)")
	manual := fs.Bool("manual-webhooks", false, "queue webhook deliveries until POST /_sim/webhooks/deliver")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("jirasim: parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("jirasim: unexpected arguments %q", fs.Args())
	}
	d := Deployment(*deployment)
	if d != Cloud && d != DataCenter {
		return fmt.Errorf("jirasim: --deployment must be cloud or datacenter, got %q", *deployment)
	}
	var profile Profile
	if *profileFlag != "" {
		p, err := ParseProfile(*profileFlag)
		if err != nil {
			return fmt.Errorf("jirasim: --profile: %w", err)
		}
		deploymentSet := false
		fs.Visit(func(f *flag.Flag) { deploymentSet = deploymentSet || f.Name == "deployment" })
		if deploymentSet && p.Deployment() != d {
			return fmt.Errorf("jirasim: --profile %s is a %s profile, but --deployment is %s", p, p.Deployment(), d)
		}
		profile = p
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	sim := New(Config{Deployment: d, Profile: profile, BaseURL: *baseURL, MediaBaseURL: *mediaBase, Seed: *seed, Logger: logger, ManualWebhooks: *manual})
	defer sim.Close()
	d = sim.cfg.Deployment

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("jirasim: listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	if *baseURL != "" {
		url = *baseURL
	}
	fmt.Fprintf(stdout, "Jira simulator (%s, profile %s) listening on %s\n", d, sim.Profile(), url)
	if d == DataCenter {
		fmt.Fprintln(stdout, "Credentials (Authorization: Bearer <PAT>):")
		fmt.Fprintln(stdout, "  admin  PAT admin-pat  (site admin)")
		fmt.Fprintln(stdout, "  dev    PAT dev-pat")
	} else {
		fmt.Fprintln(stdout, "Credentials (Basic email:API token):")
		fmt.Fprintln(stdout, "  admin@example.test  admin-token  (site admin)")
		fmt.Fprintln(stdout, "  dev@example.test    dev-token")
	}
	fmt.Fprintf(stdout, "Projects SEC and OPS; webhook API %s; control API at %s/_sim/ (faults, counters, reset, search-lag, transition-conditions)\n", sim.webhookPath(), url)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("jirasim: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("jirasim: shut down: %w", err)
	}
	return nil
}
