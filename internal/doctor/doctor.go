// Package doctor is vulnsync's read-only preflight against a real Jira
// site. Real sites differ (Cloud or Data Center, the release, the service
// account's grants, the project's screens, priority scheme and workflow),
// and each difference otherwise surfaces as a sync failure hours later; the
// doctor names each one up front, with the fix in plain words.
//
// It never writes to Jira: every request it makes is a GET. The same Run
// serves the `vulnsync doctor` command and the UI's "Test connection".
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/vulnsync/vulnsync/internal/jira"
)

// Status is a check's verdict.
type Status string

// The verdicts: OK needs nothing, Warn works with a limitation the admin
// should know about, Fail stops the sync from working, Skip could not be
// checked (for lack of a project or of an earlier check).
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Symbol is how the human report shows a status.
func (s Status) Symbol() string {
	switch s {
	case OK:
		return "✔"
	case Warn:
		return "⚠"
	case Fail:
		return "✘"
	}
	return "–"
}

// Check is one verdict: what was checked, what was found and, unless OK,
// what to do about it.
type Check struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the doctor's result, in the order the checks ran.
type Report struct {
	Checks []Check `json:"checks"`
}

// Failed reports whether any check failed (the command then exits
// non-zero).
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == Fail })
}

// Check returns the check with id, if it ran.
func (r Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Options say what to check beyond the connection itself.
type Options struct {
	// ProjectKey is the project vulnsync will sync with; without it the
	// project checks are skipped.
	ProjectKey string
	// IssueTypes are the issue types the mapping uses (default: those of
	// the default mapping, Bug, Sub-task and Task).
	IssueTypes []string
	// Priorities are the priorities the mapping sends (default: the default
	// mapping's Highest, High, Medium, Low, Lowest).
	Priorities []string
}

// DefaultIssueTypes and DefaultPriorities are what the default mapping
// (internal/mapping.Example) uses.
var (
	DefaultIssueTypes = []string{"Bug", "Sub-task", "Task"}
	DefaultPriorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
)

// fieldsVulnsyncSets are set on every create, so their being required is
// no problem.
var fieldsVulnsyncSets = map[string]bool{"project": true, "issuetype": true, "summary": true, "description": true,
	"priority": true, "labels": true, "parent": true, "reporter": true}

type run struct {
	c    *jira.Client
	opts Options
	rep  Report

	site    jira.Site
	perms   map[string]bool
	example *string // the project's newest issue key, once looked for
}

func (r *run) add(c Check) { r.rep.Checks = append(r.rep.Checks, c) }

// Run performs the checks against the site c talks to and returns them;
// problems with Jira are verdicts, not errors. It sends GET requests only.
func Run(ctx context.Context, c *jira.Client, opts Options) Report {
	if len(opts.IssueTypes) == 0 {
		opts.IssueTypes = DefaultIssueTypes
	}
	if len(opts.Priorities) == 0 {
		opts.Priorities = DefaultPriorities
	}
	r := &run{c: c, opts: opts}
	if !r.checkServer(ctx) || !r.checkAuth(ctx) {
		return r.rep
	}
	r.checkPermissions(ctx)
	r.checkWebhooks(ctx)
	r.checkProject(ctx)
	r.checkRateLimit()
	return r.rep
}

// reason shortens err to Jira's own words for a Detail.
func reason(err error) string {
	var er *jira.ErrorResponse
	if errors.As(err, &er) {
		msg := fmt.Sprintf("Jira answered %d %s", er.StatusCode, http.StatusText(er.StatusCode))
		if len(er.ErrorMessages) > 0 {
			msg += ": " + strings.Join(er.ErrorMessages, "; ")
		}
		return msg
	}
	return err.Error()
}

func statusOf(err error) int {
	var er *jira.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode
	}
	return 0
}

func siteName(s jira.Site) string {
	if s.Deployment == jira.Cloud {
		return "Jira Cloud"
	}
	return "Jira Data Center " + s.Version.String()
}

func (r *run) checkServer(ctx context.Context) bool {
	s, err := r.c.Site(ctx)
	if err != nil {
		r.add(Check{ID: "server", Title: "Deployment and version", Status: Fail, Detail: "cannot read serverInfo: " + reason(err),
			Fix: "Check the URL (it is the site's base URL, e.g. https://acme.atlassian.net or https://jira.example.com/jira) and that this machine can reach it."})
		return false
	}
	r.site = s
	ch := Check{ID: "server", Title: "Deployment and version", Status: OK, Detail: siteName(s)}
	if s.Deployment != jira.Cloud {
		ch.Detail += " (REST v2, wiki markup)"
		if s.Version.Major >= 11 && r.c.AuthScheme() == "basic" {
			ch.Status = Warn
			ch.Detail += "; Data Center 11 disables basic authentication by default"
			ch.Fix = "Use a personal access token (--pat) for the service account instead of a password."
		}
		if s.Version.Major > 0 && s.Version.Major < 9 {
			ch.Status = Warn
			ch.Detail += "; releases before 9 are not tested with vulnsync"
			ch.Fix = "Upgrade to a supported Data Center release (9.12 or 10.3 LTS)."
		}
	} else {
		ch.Detail += " (REST v3, ADF)"
	}
	r.add(ch)
	return true
}

func (r *run) checkAuth(ctx context.Context) bool {
	u, err := r.c.Myself(ctx)
	if err != nil {
		ch := Check{ID: "auth", Title: "Reachable and authenticated", Status: Fail, Detail: "GET myself failed: " + reason(err)}
		switch statusOf(err) {
		case http.StatusUnauthorized:
			if r.site.Deployment == jira.Cloud {
				ch.Fix = "Check --email and --api-token: the token must belong to that account (create one at id.atlassian.com → Security → API tokens)."
			} else {
				ch.Fix = "Check --pat: create a personal access token in the service account's profile (Personal Access Tokens); it must not be expired."
			}
		case http.StatusForbidden:
			ch.Fix = "The account is refused (CAPTCHA after failed logins, or no Jira access): log in once in a browser, and give it application access."
		default:
			ch.Fix = "Check the URL and the credentials."
		}
		r.add(ch)
		return false
	}
	who := u.DisplayName
	switch {
	case u.AccountID != "":
		who += " (accountId " + u.AccountID + ")"
	case u.Name != "":
		who += " (" + u.Name + ")"
	}
	r.add(Check{ID: "auth", Title: "Reachable and authenticated", Status: OK, Detail: "as " + who})
	return true
}

// permission is one grant the sync needs, with what breaks without it.
type permission struct {
	key      string
	required bool
	without  string
}

var permissions = []permission{
	{jira.PermBrowseProjects, true, "cannot see the project's issues"},
	{jira.PermCreateIssues, true, "cannot create issues"},
	{jira.PermEditIssues, true, "cannot update issues"},
	{jira.PermTransitionIssues, true, "cannot move issues through the workflow"},
	{jira.PermAddComments, false, "cannot sync comments to Jira"},
	{jira.PermCreateAttachments, false, "cannot sync attachments to Jira"},
}

func (r *run) checkPermissions(ctx context.Context) {
	keys := []string{jira.PermAdminister}
	for _, p := range permissions {
		keys = append(keys, p.key)
	}
	ch := Check{ID: "permissions", Title: "Service account permissions"}
	perms, err := r.c.MyPermissions(ctx, r.opts.ProjectKey, keys...)
	if err != nil {
		ch.Status, ch.Detail = Warn, "cannot read permissions: "+reason(err)
		ch.Fix = "Check the project key; the doctor could not verify the grants, so the sync may hit 403s."
		r.add(ch)
		return
	}
	r.perms = perms
	var missingReq, missingOpt, effects []string
	for _, p := range permissions {
		if perms[p.key] {
			continue
		}
		if p.required {
			missingReq = append(missingReq, p.key)
		} else {
			missingOpt = append(missingOpt, p.key)
		}
		effects = append(effects, p.without)
	}
	scope := "in " + r.opts.ProjectKey
	if r.opts.ProjectKey == "" {
		scope = "in some project (no --project given)"
	}
	switch {
	case len(missingReq) > 0:
		ch.Status = Fail
		ch.Detail = fmt.Sprintf("missing %s %s: vulnsync %s", strings.Join(append(missingReq, missingOpt...), ", "), scope, strings.Join(effects, ", "))
		ch.Fix = "Grant the service account these permissions in the project's permission scheme (Project settings → Permissions), e.g. through a project role."
	case len(missingOpt) > 0:
		ch.Status = Warn
		ch.Detail = fmt.Sprintf("missing %s %s: vulnsync %s", strings.Join(missingOpt, ", "), scope, strings.Join(effects, ", "))
		ch.Fix = "Grant them in the project's permission scheme, or turn comment/attachment sync off in the mapping."
	default:
		ch.Status = OK
		ch.Detail = "browse, create, edit, transition, comment and attach " + scope
	}
	r.add(ch)
}

func (r *run) checkWebhooks(ctx context.Context) {
	ch := Check{ID: "webhooks", Title: "Webhook API and signing"}
	api, err := r.c.WebhookAPI(ctx)
	if err != nil {
		ch.Status, ch.Detail = Warn, "cannot tell which webhook API the site has: "+reason(err)
		r.add(ch)
		return
	}
	var notes []string
	switch {
	case r.site.Deployment == jira.Cloud:
		ch.Status, ch.Detail = OK, api.Path+": deliveries are signed (X-Hub-Signature), identified and retried"
	case !api.Legacy():
		ch.Status, ch.Detail = OK, api.Path+": deliveries are signed (secret in configuration.SECRET)"
		notes = append(notes, "JQL filters are not honoured there: vulnsync drops other projects' events itself")
	default:
		ch.Status = Warn
		ch.Detail = api.Path + ": Data Center " + r.site.Version.String() + " sends webhooks unsigned, without an identifier, and does not retry them"
		ch.Fix = "Nothing to change in Jira: vulnsync registers a webhook URL carrying a secret token and reads every change back from Jira's REST API, and its reconciliation catches deliveries that never came. Keep that URL secret."
	}
	if r.perms != nil && !r.perms[jira.PermAdminister] {
		if ch.Status == OK {
			ch.Status = Warn
		}
		notes = append(notes, "the account is not a Jira administrator, so vulnsync cannot register its webhook")
		fix := "Make the service account a Jira administrator, or have an administrator register the webhook (Administration → System → WebHooks) with the URL vulnsync shows; until then changes in Jira arrive only by reconciliation."
		ch.Fix = strings.TrimSpace(ch.Fix + " " + fix)
	} else if _, err := r.c.Webhooks(ctx); err != nil {
		var er *jira.ErrorResponse
		if errors.As(err, &er) && (er.StatusCode == 401 || er.StatusCode == 403) {
			// Permissions could not be read (an unknown project, say):
			// Jira's answer here is the evidence that the account is
			// not an administrator.
			if ch.Status == OK {
				ch.Status = Warn
			}
			notes = append(notes, "the account may not manage webhooks: "+reason(err))
			ch.Fix = strings.TrimSpace(ch.Fix + " Make the service account a Jira administrator, or have an administrator register the webhook (Administration → System → WebHooks) with the URL vulnsync shows; until then changes in Jira arrive only by reconciliation.")
		} else {
			ch.Status = Fail
			notes = append(notes, "listing webhooks failed: "+reason(err))
			ch.Fix = strings.TrimSpace(ch.Fix + " Check that the webhook REST resource " + api.Path + " is enabled on the site.")
		}
	}
	if len(notes) > 0 {
		ch.Detail += "; " + strings.Join(notes, "; ")
	}
	r.add(ch)
}

func (r *run) checkRateLimit() {
	ch := Check{ID: "rate-limit", Title: "Rate limits", Status: OK}
	rl, ok := r.c.LastRateLimit()
	if !ok {
		ch.Detail = "no rate-limit headers seen; vulnsync paces itself and honours Retry-After"
		r.add(ch)
		return
	}
	var parts []string
	if rl.Limit > 0 {
		parts = append(parts, fmt.Sprintf("limit %d", rl.Limit))
	}
	parts = append(parts, fmt.Sprintf("remaining %d", rl.Remaining))
	if rl.Reason != "" {
		parts = append(parts, "reason "+rl.Reason)
	}
	ch.Detail = "Jira reports " + strings.Join(parts, ", ")
	if rl.NearLimit || (rl.Limit > 0 && rl.Remaining*10 < rl.Limit) {
		ch.Status = Warn
		ch.Detail += " (near the limit)"
		ch.Fix = "Other tools share this account's budget: give vulnsync its own service account, or lower its concurrency."
	}
	r.add(ch)
}

// WriteText prints the report as a table: one line per check with its
// symbol, then the detail and the fix indented below.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	width := 0
	for _, c := range r.Checks {
		width = max(width, len([]rune(c.Title)))
	}
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		fmt.Fprintf(&b, "%s %-*s  %s\n", c.Status.Symbol(), width, c.Title, c.Detail)
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(&b, "  %*s  fix: %s\n", width, "", c.Fix)
		}
	}
	fmt.Fprintf(&b, "\n%d ok, %d warnings, %d failed", counts[OK], counts[Warn], counts[Fail])
	if counts[Skip] > 0 {
		fmt.Fprintf(&b, ", %d skipped", counts[Skip])
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as JSON, for scripts and the UI.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		OK     bool    `json:"ok"`
		Checks []Check `json:"checks"`
	}{!r.Failed(), r.Checks})
}
