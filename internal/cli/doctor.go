package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vulnsync/vulnsync/internal/doctor"
	"github.com/vulnsync/vulnsync/internal/jira"
)

// ErrChecksFailed is returned by `vulnsync doctor` when a check failed, so
// the process exits non-zero and scripts can gate on it.
var ErrChecksFailed = errors.New("doctor: at least one check failed")

// runDoctor is `vulnsync doctor`: a read-only preflight against a real Jira
// site (it sends GET requests only), printed as a table or as JSON.
// Credentials may come from the environment (VULNSYNC_JIRA_API_TOKEN,
// VULNSYNC_JIRA_PAT) so they stay out of the shell history.
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runDoctorWith(ctx, args, getenv, stdout, stderr, nil)
}

// runDoctorWith is runDoctor with the HTTP client the Jira connection uses
// (nil: a default one), so tests can watch every request.
func runDoctorWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hc *http.Client) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	siteURL := fs.String("url", getenv("VULNSYNC_JIRA_URL"), "the Jira site's base URL, e.g. https://acme.atlassian.net")
	email := fs.String("email", getenv("VULNSYNC_JIRA_EMAIL"), "Jira Cloud: the service account's email (with --api-token)")
	token := fs.String("api-token", getenv("VULNSYNC_JIRA_API_TOKEN"), "Jira Cloud: the service account's API token (or VULNSYNC_JIRA_API_TOKEN)")
	pat := fs.String("pat", getenv("VULNSYNC_JIRA_PAT"), "Jira Data Center: a personal access token (or VULNSYNC_JIRA_PAT)")
	project := fs.String("project", "", "the project key vulnsync will sync with (checks its types, fields, screens, priorities and workflow)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	timeout := fs.Duration("timeout", 60*time.Second, "how long the whole preflight may take")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *siteURL == "" {
		return fmt.Errorf("%w: --url is required", ErrUsage)
	}
	var auth jira.Auth
	switch {
	case *pat != "" && (*email != "" || *token != ""):
		return fmt.Errorf("%w: give either --email and --api-token (Cloud) or --pat (Data Center), not both", ErrUsage)
	case *pat != "":
		auth = jira.BearerAuth{Token: *pat}
	case *email != "" && *token != "":
		auth = jira.BasicAuth{Email: *email, APIToken: *token}
	default:
		return fmt.Errorf("%w: give --email and --api-token (Cloud) or --pat (Data Center)", ErrUsage)
	}
	client, err := jira.NewClient(jira.Config{BaseURL: *siteURL, Auth: auth, HTTPClient: hc,
		Timeout: 20 * time.Second, MaxRetries: 2})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep := doctor.Run(ctx, client, doctor.Options{ProjectKey: *project})
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return fmt.Errorf("doctor: print report: %w", err)
	}
	if rep.Failed() {
		return ErrChecksFailed
	}
	return nil
}
