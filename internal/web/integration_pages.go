package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/doctor"
	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// errNoIntegration is shown when the process runs without the Jira setup.
var errNoIntegration = tracker.Errorf(tracker.EUnavailable, "the Jira integration is not configured in this process")

// jiraGuard runs the checks every Jira setup page needs.
func (u *ui) jiraGuard(w http.ResponseWriter, r *http.Request, sv *sessionView) bool {
	if err := requireAdmin(sv); err != nil {
		u.renderError(w, r, sv, err)
		return false
	}
	if u.integ == nil {
		u.renderError(w, r, sv, errNoIntegration)
		return false
	}
	return true
}

// --- Overview ----------------------------------------------------------------------

type integrationsData struct {
	Connections  []integration.ConnectionView
	Integrations []integration.View
}

func (u *ui) handleIntegrations(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	var d integrationsData
	var err error
	if d.Connections, err = u.integ.Connections(r.Context()); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if d.Integrations, err = u.integ.Integrations(r.Context()); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.render(w, r, sv, http.StatusOK, "integrations", "Integrations", "integrations", d)
}

// --- Connect ---------------------------------------------------------------------

type connectForm struct {
	Name       string
	BaseURL    string
	Deployment string
	Email      string
}

type connectData struct {
	Form    connectForm
	Errors  map[string]string
	Message string
}

func (u *ui) handleConnectPage(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	u.render(w, r, sv, http.StatusOK, "connect", "Connect Jira", "integrations", connectData{Form: connectForm{Name: "Jira", Deployment: "cloud"}})
}

// handleConnect tests the credentials against Jira and stores the
// connection; the new webhook secret is shown once on the next page.
func (u *ui) handleConnect(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	f := connectForm{Name: r.PostFormValue("name"), BaseURL: r.PostFormValue("base_url"),
		Deployment: r.PostFormValue("deployment"), Email: strings.TrimSpace(r.PostFormValue("email"))}
	in := integration.ConnectionInput{Name: f.Name, BaseURL: f.BaseURL}
	switch f.Deployment {
	case "cloud":
		in.Auth = integration.AuthInput{Type: jiraconn.AuthBasic, Email: f.Email, APIToken: strings.TrimSpace(r.PostFormValue("api_token"))}
	case "datacenter":
		in.Auth = integration.AuthInput{Type: jiraconn.AuthBearer, Token: strings.TrimSpace(r.PostFormValue("pat"))}
	default:
		u.render(w, r, sv, http.StatusBadRequest, "connect", "Connect Jira", "integrations",
			connectData{Form: f, Message: "invalid connection", Errors: map[string]string{"deployment": "choose Jira Cloud or Jira Data Center"}})
		return
	}
	c, err := u.integ.CreateConnection(r.Context(), in)
	if err != nil {
		p := u.explain(r, err)
		u.render(w, r, sv, p.Status, "connect", "Connect Jira", "integrations", connectData{Form: f, Errors: p.Fields, Message: p.Message})
		return
	}
	u.sessions.setReveal(sv.ID, c.ID, c.WebhookSecret)
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Connected to Jira %s as %s.", deploymentLabel(c.Deployment), c.Account.Name))
	seeOther(w, r, "/integrations/jira/"+url.PathEscape(c.ID))
}

func deploymentLabel(d string) string {
	switch d {
	case "cloud":
		return "Cloud"
	case "datacenter":
		return "Data Center"
	}
	return d
}

// --- A connection and its webhook ------------------------------------------------------

type testResult struct {
	OK         bool
	Deployment string
	Account    string
	Error      string
	Fields     map[string]string
	// WebhookAuth and its reason; Checks are the doctor's preflight.
	WebhookAuth       string
	WebhookAuthReason string
	Checks            []doctor.Check
}

type connectionData struct {
	Conn       integration.ConnectionView
	Deployment string
	Secret     string // shown once, right after generation or rotation
	Projects   []string
	JQL        string
	Events     []string
	Test       *testResult
	SecretErr  string
	// CredErr says why replacing the credentials was refused; CredEmail
	// is the email typed then (kept; the secret is not).
	CredErr   string
	CredEmail string
	// Health is the webhook health panel (nil hides it).
	Health *webhookHealthView
}

func (u *ui) connectionPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d connectionData) {
	c, err := u.integ.Connection(r.Context(), r.PathValue("conn"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Conn = c
	d.Deployment = deploymentLabel(c.Deployment)
	d.Secret = u.sessions.popReveal(sv.ID, c.ID)
	if d.Secret != "" {
		d.Conn.WebhookURL = u.integ.RevealedWebhookURL(c, d.Secret)
	}
	ins, err := u.integ.Integrations(r.Context())
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	for _, in := range ins {
		if in.ConnectionID == c.ID {
			d.Projects = append(d.Projects, in.ProjectKey)
		}
	}
	sort.Strings(d.Projects)
	if len(d.Projects) > 0 {
		d.JQL = integration.WebhookJQL(d.Projects)
	}
	d.Events = integration.WebhookEvents
	d.Health = u.webhookHealth(r, c.ID)
	if d.CredEmail == "" {
		d.CredEmail = c.Auth.Email
	}
	u.render(w, r, sv, status, "connection", c.Name, "integrations", d)
}

func (u *ui) handleConnection(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	u.connectionPage(w, r, sv, http.StatusOK, connectionData{})
}

// handleTestConnection checks serverInfo and myself; htmx swaps the result
// in place, a plain form post gets the connection page with it.
func (u *ui) handleTestConnection(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	res, err := u.integ.TestConnection(r.Context(), r.PathValue("conn"))
	tr := testResult{OK: err == nil, Deployment: deploymentLabel(res.Deployment), Account: res.Account.Name,
		WebhookAuth: string(res.WebhookAuth), WebhookAuthReason: res.WebhookAuthReason, Checks: res.Checks}
	status := http.StatusOK
	if err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		tr.Error, tr.Fields = p.Message, p.Fields
	}
	if r.Header.Get("HX-Request") == "true" {
		u.renderPartial(w, r, status, "test-result", tr)
		return
	}
	u.connectionPage(w, r, sv, status, connectionData{Test: &tr})
}

// handleCredentials replaces the connection's API token or PAT after
// testing it against the same site; nothing changes on refusal.
func (u *ui) handleCredentials(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("conn")
	auth := integration.AuthInput{Type: r.PostFormValue("auth_type")}
	if auth.Type == "basic" {
		auth.Email, auth.APIToken = strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("secret"))
	} else {
		auth.Token = strings.TrimSpace(r.PostFormValue("secret"))
	}
	c, err := u.integ.UpdateConnection(r.Context(), id, integration.ConnectionPatch{Auth: &auth})
	if err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.connectionPage(w, r, sv, p.Status, connectionData{CredErr: joinProblem(p), CredEmail: auth.Email})
		return
	}
	if c.WebhookSecret != "" {
		u.sessions.setReveal(sv.ID, c.ID, c.WebhookSecret)
		u.sessions.addFlash(sv.ID, "ok", "The credentials were replaced, and a new webhook secret was generated: copy it now.")
	} else {
		u.sessions.addFlash(sv.ID, "ok", "The credentials were replaced after a successful test against "+c.BaseURL+".")
	}
	seeOther(w, r, "/integrations/jira/"+url.PathEscape(c.ID))
}

// handleWebhookSecret rotates the webhook secret (empty field) or sets the
// one Jira generated; a generated one is shown once.
func (u *ui) handleWebhookSecret(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("conn")
	pasted := strings.TrimSpace(r.PostFormValue("secret"))
	c, err := u.integ.SetWebhookSecret(r.Context(), id, pasted)
	if err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		msg := p.Message
		if f := p.Fields["secret"]; f != "" {
			msg = "The secret " + f + "."
		}
		u.connectionPage(w, r, sv, p.Status, connectionData{SecretErr: msg})
		return
	}
	if pasted == "" {
		u.sessions.setReveal(sv.ID, c.ID, c.WebhookSecret)
		u.sessions.addFlash(sv.ID, "ok", "A new webhook secret was generated. Copy it now: it is shown only once.")
	} else {
		u.sessions.addFlash(sv.ID, "ok", "The webhook secret from Jira was saved.")
	}
	seeOther(w, r, "/integrations/jira/"+url.PathEscape(c.ID)+"#webhook")
}

func (u *ui) handleRegisterWebhook(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("conn")
	if _, err := u.integ.RegisterWebhook(r.Context(), id); err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.sessions.addFlash(sv.ID, "error", "Registering the webhook in Jira failed: "+joinProblem(p))
	} else {
		u.sessions.addFlash(sv.ID, "ok", "The webhook is registered in Jira.")
	}
	seeOther(w, r, "/integrations/jira/"+url.PathEscape(id)+"#webhook")
}

func joinProblem(p problem) string {
	if len(p.Fields) == 0 {
		return p.Message
	}
	keys := make([]string, 0, len(p.Fields))
	for k := range p.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = p.Fields[k]
	}
	return p.Message + ": " + strings.Join(parts, "; ")
}

// --- Configure Two-Way Jira Sync ---------------------------------------------------------

type projectOptions struct {
	Projects []jira.Project
	Selected string
	Error    string
}

type integrateResult struct {
	Target string
	OK     bool
	Text   string
}

type syncData struct {
	Targets      []targetRow
	Checked      map[string]bool
	Connections  []integration.ConnectionView
	ConnectionID string
	Projects     projectOptions
	Integrations []integration.View
	Results      []integrateResult
	// Live is each integration's state and backfill cell, by id.
	Live map[string]*integrationLive
}

// projects lists the Jira projects a connection sees, for the dropdown.
func (u *ui) projects(r *http.Request, connID, selected string) projectOptions {
	po := projectOptions{Selected: selected}
	if connID == "" {
		return po
	}
	c, err := u.integ.Client(r.Context(), connID)
	if err == nil {
		po.Projects, err = c.Projects(r.Context())
	}
	if err != nil {
		if tracker.KindOf(err) == tracker.ENotFound {
			po.Error = "No such connection."
		} else {
			u.log.WarnContext(r.Context(), "list jira projects", "connection", connID, "err", err)
			po.Error = "Could not list the Jira projects: " + err.Error()
		}
	}
	sort.Slice(po.Projects, func(i, j int) bool { return po.Projects[i].Key < po.Projects[j].Key })
	return po
}

func (u *ui) syncPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d syncData) {
	ctx := r.Context()
	ts, err := u.svc.ListTargets(ctx)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if d.Integrations, err = u.integ.Integrations(ctx); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	byTarget := map[string]integration.View{}
	d.Live = map[string]*integrationLive{}
	for _, v := range d.Integrations {
		byTarget[v.TargetID] = v
		l := &integrationLive{Integration: v, Failures: -1, Every: liveEvery, View: "cell"}
		if _, _, err := u.versioned("integration-live", l, func(ver string) { l.Version = ver }); err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		d.Live[v.ID] = l
	}
	for _, t := range ts {
		row := targetRow{Target: t}
		if v, ok := byTarget[t.ID]; ok {
			row.ProjectKey, row.IntegrationID = v.ProjectKey, v.ID
		}
		d.Targets = append(d.Targets, row)
	}
	if d.Connections, err = u.integ.Connections(ctx); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if d.ConnectionID == "" {
		d.ConnectionID = r.URL.Query().Get("connection_id")
	}
	if d.ConnectionID == "" && len(d.Connections) > 0 {
		d.ConnectionID = d.Connections[0].ID
	}
	d.Projects = u.projects(r, d.ConnectionID, d.Projects.Selected)
	if d.Checked == nil {
		d.Checked = map[string]bool{}
		if t := r.URL.Query().Get("target"); t != "" {
			d.Checked[t] = true
		}
	}
	u.render(w, r, sv, status, "sync", "Configure Two-Way Jira Sync", "integrations", d)
}

func (u *ui) handleSyncSetup(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	u.syncPage(w, r, sv, http.StatusOK, syncData{})
}

// handleProjectOptions answers the project dropdown for the chosen
// connection (htmx swaps it in when the connection changes).
func (u *ui) handleProjectOptions(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	u.renderPartial(w, r, http.StatusOK, "project-options", u.projects(r, r.URL.Query().Get("connection_id"), ""))
}

// handleIntegrate integrates each selected target with the project. A
// refusal (409: one project ↔ one target) is shown with its explanation.
func (u *ui) handleIntegrate(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	targets := r.PostForm["target"]
	connID, project := r.PostFormValue("connection_id"), r.PostFormValue("project_key")
	checked := map[string]bool{}
	for _, t := range targets {
		checked[t] = true
	}
	d := syncData{Checked: checked, ConnectionID: connID, Projects: projectOptions{Selected: project}}
	if len(targets) == 0 || len(targets) > 100 {
		d.Results = []integrateResult{{Text: "Select the targets to integrate (at most 100 at once)."}}
		u.syncPage(w, r, sv, http.StatusBadRequest, d)
		return
	}
	status := 0
	var done []string
	for _, tid := range targets {
		name := tid
		if t, err := u.svc.GetTarget(r.Context(), tid); err == nil {
			name = t.Name
		}
		v, err := u.integ.Integrate(r.Context(), integration.IntegrationInput{ConnectionID: connID, TargetID: tid, ProjectKey: project})
		if err != nil {
			p := u.explain(r, err)
			if status == 0 {
				status = p.Status
			}
			d.Results = append(d.Results, integrateResult{Target: name, Text: joinProblem(p)})
			continue
		}
		done = append(done, name)
		delete(checked, tid)
		d.Results = append(d.Results, integrateResult{Target: name, OK: true,
			Text: fmt.Sprintf("integrated with Jira project %s: configure its mapping next", v.ProjectKey)})
	}
	if status == 0 {
		u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Integrated %s with Jira project %s. Configure the mapping to start syncing.", strings.Join(done, ", "), strings.ToUpper(strings.TrimSpace(project))))
		seeOther(w, r, "/integrations/targets")
		return
	}
	u.syncPage(w, r, sv, status, d)
}

func (u *ui) handleRemoveIntegration(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	v, err := u.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if err := u.integ.RemoveIntegration(r.Context(), v.ID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Removed the integration of %s with %s: its items stop syncing and keep their history.", v.TargetName, v.ProjectKey))
	seeOther(w, r, "/integrations/targets")
}

// --- Sync activity ---------------------------------------------------------------------

type activityData struct {
	Integration integration.View
	Failures    int // failures that no later attempt got through
	EventsShown bool
	CanBackfill bool
	// Live is the part that follows the sync without a reload.
	Live integrationLive
	// Log is the sync log, which follows it too (synclog_live.go).
	Log syncLogView
}

func (u *ui) handleActivity(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	// The sync log is for everyone who reads (as the API's events are);
	// its retry and backfill buttons post to admin-only actions.
	if u.integ == nil {
		u.renderError(w, r, sv, errNoIntegration)
		return
	}
	v, err := u.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d := activityData{Integration: v, CanBackfill: u.cfg.Backfill != nil && v.State == tracker.IntegrationActive}
	d.EventsShown = u.cfg.SyncEvents != nil || u.cfg.SyncEventPage != nil
	if d.Log, err = u.syncLog(r, sv, v); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Failures = max(d.Log.Failures, 0)
	d.Live = integrationLive{Integration: v, Failures: d.Log.Failures, Every: liveEvery, CSRF: sv.CSRF}
	if _, _, err := u.versioned("integration-live", &d.Live, func(v string) { d.Live.Version = v }); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if _, _, err := u.versioned("sync-log", &d.Log, func(v string) { d.Log.Version = v }); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.render(w, r, sv, http.StatusOK, "activity", "Sync activity: "+v.TargetName+" ↔ "+v.ProjectKey, "integrations", d)
}

func (u *ui) handleBackfill(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("id")
	if u.cfg.Backfill == nil {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EUnavailable, "backfill is not available in this process"))
		return
	}
	n, err := u.cfg.Backfill(r.Context(), id)
	if err != nil {
		p := u.explain(r, err)
		u.sessions.addFlash(sv.ID, "error", "The backfill did not start: "+joinProblem(p))
	} else {
		u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Backfill started: %d items queued. Items that already have an issue are only brought up to date.", n))
	}
	seeOther(w, r, "/integrations/targets/"+url.PathEscape(id)+"/activity")
}

// handlePause and handleResume stop and restart the sync of an
// integration: while paused, changes on both sides wait (webhooks are
// still recorded) and resuming applies them in order.
func (u *ui) handlePause(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.pauseOrResume(w, r, sv, true)
}

func (u *ui) handleResume(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.pauseOrResume(w, r, sv, false)
}

func (u *ui) pauseOrResume(w http.ResponseWriter, r *http.Request, sv *sessionView, pause bool) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("id")
	var err error
	if pause {
		_, err = u.integ.Pause(r.Context(), id)
	} else {
		_, err = u.integ.Resume(r.Context(), id)
	}
	switch {
	case err != nil && u.explain(r, err).Status == http.StatusNotFound:
		u.renderError(w, r, sv, err)
		return
	case err != nil:
		u.sessions.addFlash(sv.ID, "error", joinProblem(u.explain(r, err)))
	case pause:
		u.sessions.addFlash(sv.ID, "ok", "The sync is paused: changes on both sides wait here until you resume.")
	default:
		u.sessions.addFlash(sv.ID, "ok", "The sync is resumed: the changes that waited are being applied in order.")
	}
	seeOther(w, r, "/integrations/targets/"+url.PathEscape(id)+"/activity")
}

func (u *ui) handleRetryJob(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	id := r.PathValue("id")
	back := "/integrations/targets/" + url.PathEscape(id) + "/activity"
	if u.cfg.RetryJob == nil {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EUnavailable, "retrying sync work is not available in this process"))
		return
	}
	job, err := strconv.ParseInt(r.PathValue("job"), 10, 64)
	if err != nil || job <= 0 {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EInvalid, "invalid job id %q", r.PathValue("job")))
		return
	}
	if err := u.cfg.RetryJob(r.Context(), job); err != nil {
		p := u.explain(r, err)
		u.sessions.addFlash(sv.ID, "error", fmt.Sprintf("Job %d was not retried: %s", job, joinProblem(p)))
	} else {
		u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Job %d will run again shortly.", job))
	}
	seeOther(w, r, back)
}
