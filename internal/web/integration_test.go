package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// connect connects the simulator through the UI and returns the
// connection's page path.
func (b *browser) connect(tok string) string {
	b.t.Helper()
	a := b.post("/integrations/jira/connect", url.Values{"csrf_token": {tok}, "name": {"Sim"}, "base_url": {b.e.simURL},
		"deployment": {"cloud"}, "email": {"admin@example.test"}, "api_token": {"admin-token"}})
	if a.status != http.StatusSeeOther {
		b.t.Fatalf("connect: got %d; body %.800s", a.status, a.body)
	}
	return a.header.Get("Location")
}

var secretRE = regexp.MustCompile(`id="webhook-secret" readonly value="([^"]+)"`)

func TestConnectTestAndWebhookSecret(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations/jira/connect")

	bad := b.post("/integrations/jira/connect", url.Values{"csrf_token": {tok}, "name": {"Sim"}, "base_url": {e.simURL},
		"deployment": {"cloud"}, "email": {"admin@example.test"}, "api_token": {"wrong-token"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "Jira refused the credentials (401)") {
		t.Fatalf("wrong API token: got %d; body %.800s", bad.status, bad.body)
	}
	if a := b.post("/integrations/jira/connect", url.Values{"csrf_token": {tok}, "name": {"Sim"}, "base_url": {"not a url"},
		"deployment": {"datacenter"}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "absolute http(s) URL") || !strings.Contains(a.body, "personal access token") {
		t.Fatalf("bad URL and no PAT: got %d; body %.800s", a.status, a.body)
	}
	if cs, _ := e.integ.Connections(context.Background()); len(cs) != 0 {
		t.Fatalf("refused connections were stored: %+v", cs)
	}

	path := b.connect(tok)
	page := b.get(path)
	m := secretRE.FindStringSubmatch(page.body)
	if m == nil || len(m[1]) < 32 {
		t.Fatalf("connection page right after connecting does not show the new webhook secret")
	}
	connID := strings.TrimPrefix(path, "/integrations/jira/")
	if got, _ := e.integ.WebhookSecret(context.Background(), connID); got != m[1] {
		t.Fatalf("shown secret %q is not the stored one", m[1])
	}
	if !strings.Contains(page.body, e.srv.URL+"/webhooks/jira/"+connID) || !strings.Contains(page.body, "System → WebHooks") {
		t.Errorf("webhook section lacks the URL or the Jira steps")
	}
	if again := b.get(path); secretRE.MatchString(again.body) {
		t.Fatalf("the secret is shown a second time")
	}

	// Test connection, as htmx asks for it: a fragment to swap in.
	req, _ := http.NewRequest("POST", e.srv.URL+path+"/test", strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	frag := b.do(req)
	if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, "Connection works.") ||
		!strings.Contains(frag.body, "Jira Cloud") || !strings.Contains(frag.body, `id="test-result"`) {
		t.Fatalf("htmx test connection: got %d %q", frag.status, frag.body)
	}
	// It shows how webhooks are authenticated and the doctor's checks.
	for _, want := range []string{"signed (HMAC)", `data-check="server"`, `data-check="webhooks"`, "Webhook API and signing"} {
		if !strings.Contains(frag.body, want) {
			t.Errorf("test connection result lacks %q: %s", want, frag.body)
		}
	}
	// Without htmx the page comes back with the result.
	if a := b.post(path+"/test", url.Values{"csrf_token": {tok}}); a.status != http.StatusOK || !strings.Contains(a.body, "Connection works.") || !strings.Contains(a.body, "<html") {
		t.Fatalf("plain test connection: got %d", a.status)
	}

	// Rotate: a new secret, shown once.
	rot := b.post(path+"/webhook-secret", url.Values{"csrf_token": {tok}})
	if rot.status != http.StatusSeeOther {
		t.Fatalf("rotate: got %d", rot.status)
	}
	m2 := secretRE.FindStringSubmatch(b.get(path).body)
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("after rotation: got %v, want a new secret shown", m2)
	}
	// Paste the one Jira generated; too short is refused and changes nothing.
	if a := b.post(path+"/webhook-secret", url.Values{"csrf_token": {tok}, "secret": {"short"}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "16 to 512 characters") {
		t.Fatalf("short pasted secret: got %d", a.status)
	}
	if got, _ := e.integ.WebhookSecret(context.Background(), connID); got != m2[1] {
		t.Fatalf("a refused secret changed the stored one")
	}
	pasted := "jira-generated-secret-0123456789"
	if a := b.post(path+"/webhook-secret", url.Values{"csrf_token": {tok}, "secret": {pasted}}); a.status != http.StatusSeeOther {
		t.Fatalf("pasted secret: got %d", a.status)
	}
	if got, _ := e.integ.WebhookSecret(context.Background(), connID); got != pasted {
		t.Fatalf("stored secret after paste: got %q", got)
	}
	if strings.Contains(b.get(path).body, pasted) {
		t.Fatalf("a pasted secret is shown back")
	}

	// Replacing the credentials: a wrong token is refused with Jira's
	// reason and changes nothing; the right one is taken.
	before, _ := e.integ.Connection(context.Background(), connID)
	if a := b.post(path+"/credentials", url.Values{"csrf_token": {tok}, "auth_type": {"basic"}, "email": {"admin@example.test"}, "secret": {"wrong-token"}}); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Jira refused the credentials (401)") {
		t.Fatalf("replace with a wrong token: got %d; body %.600s", a.status, a.body)
	}
	if after, _ := e.integ.Connection(context.Background(), connID); after != before {
		t.Fatalf("a refused replacement changed the connection: %+v", after)
	}
	if a := b.post(path+"/credentials", url.Values{"csrf_token": {tok}, "auth_type": {"basic"}, "email": {"admin@example.test"}, "secret": {"admin-token"}}); a.status != http.StatusSeeOther {
		t.Fatalf("replace with the right token: got %d; body %.600s", a.status, a.body)
	}
	if !strings.Contains(b.get(path).body, "credentials were replaced") {
		t.Errorf("no confirmation after replacing the credentials")
	}

	// Registering needs an integrated project first: the reason is shown.
	b.post(path+"/webhook", url.Values{"csrf_token": {tok}})
	if page := b.get(path); !strings.Contains(page.body, "integrate a target with a Jira project first") {
		t.Errorf("register without projects: the reason is not shown")
	}
}

// integrated sets up a connection and a target integrated with SEC.
func integrated(t *testing.T, e *env, b *browser, tok string) (connPath string, in integration.View) {
	t.Helper()
	connPath = b.connect(tok)
	tg, err := e.svc.CreateTarget(context.Background(), tracker.Target{Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/integrations/targets")
	if !strings.Contains(page.body, `<option value="SEC">SEC — Security</option>`) {
		t.Fatalf("the project dropdown does not list Jira's projects: %.2000s", page.body)
	}
	connID := strings.TrimPrefix(connPath, "/integrations/jira/")
	a := b.post("/integrations/targets", url.Values{"csrf_token": {tok}, "target": {tg.ID}, "connection_id": {connID}, "project_key": {"SEC"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("integrate: got %d; body %.1000s", a.status, a.body)
	}
	vs, err := e.integ.Integrations(context.Background())
	if err != nil || len(vs) != 1 {
		t.Fatalf("integrations: %v %v", vs, err)
	}
	return connPath, vs[0]
}

func TestIntegrateRefusesASecondTargetOnAProject(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	connPath, in := integrated(t, e, b, tok)
	other, _ := e.svc.CreateTarget(context.Background(), tracker.Target{Name: "mobile"})
	a := b.post("/integrations/targets", url.Values{"csrf_token": {tok}, "target": {other.ID},
		"connection_id": {strings.TrimPrefix(connPath, "/integrations/jira/")}, "project_key": {"SEC"}})
	if a.status != http.StatusConflict || !strings.Contains(a.body, "one project maps to one target") || !strings.Contains(a.body, "payments") {
		t.Fatalf("second target on SEC: got %d; body %.1500s", a.status, a.body)
	}
	if a := b.post("/integrations/targets", url.Values{"csrf_token": {tok}, "connection_id": {in.ConnectionID}, "project_key": {"SEC"}}); a.status != http.StatusBadRequest {
		t.Fatalf("no target selected: got %d, want 400", a.status)
	}
	if vs, _ := e.integ.Integrations(context.Background()); len(vs) != 1 {
		t.Fatalf("refused integrations were stored: %+v", vs)
	}
	// The projects fragment follows the chosen connection.
	frag := b.get("/integrations/jira/projects?connection_id=" + url.QueryEscape(in.ConnectionID))
	if !strings.Contains(frag.body, `value="SEC"`) || strings.Contains(frag.body, "<html") {
		t.Fatalf("projects fragment: %q", frag.body)
	}

	// Remove frees the project for the other target.
	if a := b.post("/integrations/targets/"+in.ID+"/remove", url.Values{"csrf_token": {tok}}); a.status != http.StatusSeeOther {
		t.Fatalf("remove: got %d", a.status)
	}
	if a := b.post("/integrations/targets", url.Values{"csrf_token": {tok}, "target": {other.ID}, "connection_id": {in.ConnectionID}, "project_key": {"SEC"}}); a.status != http.StatusSeeOther {
		t.Fatalf("integrate after remove: got %d", a.status)
	}
}

// errorFor returns the problem shown next to the input named key.
func errorFor(body, key string) string {
	m := regexp.MustCompile(`data-error-for="` + regexp.QuoteMeta(key) + `">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return htmlUnescape(m[1])
}

// formOf reads the values a browser would submit for the mapping form:
// the selected option of each select and the value of each input.
func formOf(t *testing.T, body string) url.Values {
	t.Helper()
	start := strings.Index(body, `id="mapping-form"`)
	if start < 0 {
		t.Fatalf("no mapping form in page")
	}
	body = body[start:]
	v := url.Values{}
	for _, m := range regexp.MustCompile(`(?s)<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>`).FindAllStringSubmatch(body, -1) {
		sel := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[2])
		if sel != nil {
			v.Set(htmlUnescape(m[1]), htmlUnescape(sel[1]))
		} else if first := regexp.MustCompile(`<option value="([^"]*)"`).FindStringSubmatch(m[2]); first != nil && !strings.Contains(m[0], " multiple") {
			v.Set(htmlUnescape(m[1]), htmlUnescape(first[1]))
		}
	}
	for _, m := range regexp.MustCompile(`<input([^>]*)>`).FindAllStringSubmatch(body, -1) {
		name := regexp.MustCompile(`name="([^"]+)"`).FindStringSubmatch(m[1])
		val := regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(m[1])
		if name == nil {
			continue
		}
		if strings.Contains(m[1], `type="checkbox"`) && !strings.Contains(m[1], " checked") {
			continue
		}
		if val != nil {
			v.Set(htmlUnescape(name[1]), htmlUnescape(val[1]))
		}
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&quot;", `"`).Replace(s)
}

func TestConfigureShowsEachProblemNextToItsField(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	_, in := integrated(t, e, b, tok)
	path := "/integrations/targets/" + in.ID + "/configure"

	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Not saved yet") {
		t.Fatalf("configure: got %d", page.status)
	}
	form := formOf(t, page.body)
	// The suggestion maps the usual things from Jira's metadata.
	for k, want := range map[string]string{"issue_types.vulnerability": "Bug", "issue_types.finding": "Sub-task",
		"status_to_jira.resolved": "Done", "status_to_jira.open": "To Do", "priority.critical": "Highest",
		"field.summary.vulnsync": "title", "field.customfield_10050.vulnsync": "cvss_score", "default.customfield_10052": "",
		"resolutions.Won't Do": "Won't Do", "resolutions.Done": "Done"} {
		if got := form.Get(k); got != want {
			t.Errorf("suggested %s: got %q, want %q", k, got, want)
		}
	}

	// As suggested, Component (required on Bug) has no default: refused,
	// with the problem next to Component's default.
	a := b.post(path, form)
	if a.status != http.StatusUnprocessableEntity {
		t.Fatalf("save without Component: got %d, want 422", a.status)
	}
	if got := errorFor(a.body, "defaults.customfield_10052"); !strings.Contains(got, "Component (customfield_10052) is required on Bug") {
		t.Fatalf("problem next to the Component default: got %q", got)
	}
	if v, _ := e.integ.Integration(context.Background(), in.ID); v.Mapping != nil || v.State != tracker.IntegrationNeedsMapping {
		t.Fatalf("a refused mapping was stored: %+v", v)
	}

	// Several problems at once, each at its input: a status Jira does not
	// have, a sub-task type for vulnerabilities, an incompatible field and a
	// lock without both directions.
	bad := formOf(t, a.body)
	bad.Set("csrf_token", tok)
	bad.Set("status_to_jira.resolved", "Closed")
	bad.Set("issue_types.vulnerability", "Sub-task")
	bad.Set("field.customfield_10051.vulnsync", "cvss_score")
	bad.Set("field.customfield_10050.vulnsync", "")
	bad.Set("field.labels.direction", "to_jira")
	bad.Set("field.labels.locked", "jira")
	bad.Set("default.customfield_10052", "Web")
	a = b.post(path, bad)
	if a.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad mapping: got %d", a.status)
	}
	for key, want := range map[string]string{
		"status_to_jira.resolved":   `"Closed"`,
		"issue_types.vulnerability": "sub-task type",
	} {
		if got := errorFor(a.body, key); !strings.Contains(got, want) {
			t.Errorf("problem at %s: got %q, want it to mention %s", key, got, want)
		}
	}
	rowErr := func(id string) string {
		m := regexp.MustCompile(`(?s)<tr id="field-` + id + `" class="row-error">(.*?)</tr>`).FindStringSubmatch(a.body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	if got := rowErr("customfield_10051"); !strings.Contains(got, "cannot hold vulnsync&#39;s cvss_score") {
		t.Errorf("Asset ID row: got %q, want the incompatibility", got)
	}
	if got := rowErr("labels"); !strings.Contains(got, "only fields synced both ways can be locked") {
		t.Errorf("Labels row: got %q, want the lock problem", got)
	}
	if strings.Contains(a.body, `id="mapping-errors"`) && strings.Contains(a.body, "<code>fields[") {
		t.Errorf("field-row problems were listed at the top instead of at their rows")
	}
	// The posted values come back as posted.
	back := formOf(t, a.body)
	for _, k := range []string{"status_to_jira.resolved", "issue_types.vulnerability", "field.labels.locked", "default.customfield_10052"} {
		if back.Get(k) != bad.Get(k) {
			t.Errorf("re-shown %s: got %q, want %q", k, back.Get(k), bad.Get(k))
		}
	}

	// Fixed: choose a default for Component and save.
	form.Set("default.customfield_10052", "Web")
	a = b.post(path, form)
	if a.status != http.StatusSeeOther {
		t.Fatalf("save with a Component default: got %d; problems %v", a.status, regexp.MustCompile(`field-error[^>]*>([^<]*)`).FindAllStringSubmatch(a.body, -1))
	}
	v, _ := e.integ.Integration(context.Background(), in.ID)
	if v.State != tracker.IntegrationActive || v.Mapping == nil {
		t.Fatalf("after save: state %s mapping %v", v.State, v.Mapping)
	}
	want := mapping.Document{
		IssueTypes:     map[string]string{"vulnerability": "Bug", "finding": "Sub-task", "risk": "Task"},
		StatusToJira:   map[tracker.Status]string{"open": "To Do", "in_progress": "In Progress", "resolved": "Done", "accepted_risk": "Won't Do", "false_positive": "Won't Do"},
		StatusFromJira: map[string]tracker.Status{"To Do": "open", "In Progress": "in_progress", "Done": "resolved", "Won't Do": "accepted_risk"},
		Defaults:       map[string]json.RawMessage{"customfield_10052": json.RawMessage(`{"value":"Web"}`)},
		Resolutions:    map[string]string{"Done": "Done", "Won't Do": "Won't Do"},
	}
	got := mapping.Document{IssueTypes: v.Mapping.IssueTypes, StatusToJira: v.Mapping.StatusToJira, StatusFromJira: v.Mapping.StatusFromJira, Defaults: v.Mapping.Defaults,
		Resolutions: v.Mapping.Resolutions}
	if diff := cmp.Diff(want, got, cmp.Transformer("json", func(r json.RawMessage) string { return string(r) })); diff != "" {
		t.Errorf("stored mapping (-want +got):\n%s", diff)
	}
	if f, ok := v.Mapping.FieldFor("cvss_score"); !ok || f.Jira != "customfield_10050" || f.Direction != mapping.Both {
		t.Errorf("stored cvss_score mapping: %+v %v", f, ok)
	}
	// The saved mapping shows as saved, with the chosen default.
	saved := b.get(path)
	if strings.Contains(saved.body, "Not saved yet") || formOf(t, saved.body).Get("default.customfield_10052") != "Web" {
		t.Errorf("saved mapping page does not show the saved default")
	}
}

func TestParseMappingFormKeepsRowOrderAndTypes(t *testing.T) {
	meta := mapping.Meta{ProjectKey: "SEC", IssueTypes: []mapping.IssueType{{Name: "Bug", Fields: []mapping.JiraField{
		{ID: "summary", Name: "Summary", Schema: mapping.Schema{Type: "string"}},
		{ID: "customfield_1", Name: "Score", Schema: mapping.Schema{Type: "number"}},
		{ID: "customfield_2", Name: "Tags", Schema: mapping.Schema{Type: "array", Items: "option"}, AllowedValues: []string{"a", "b"}},
		{ID: "customfield_3", Name: "Env", Schema: mapping.Schema{Type: "option"}, AllowedValues: []string{"prod"}},
		{ID: "customfield_4", Name: "Count", Schema: mapping.Schema{Type: "number"}},
	}}}}
	form := url.Values{
		"field.customfield_1.vulnsync": {"cvss_score"}, "field.customfield_1.direction": {"both"}, "field.customfield_1.locked": {"jira"},
		"field.summary.vulnsync": {"title"}, "field.summary.direction": {"to_jira"},
		"field.customfield_3.vulnsync": {""},
		"default.customfield_2":        {"a", "b"}, "default.customfield_3": {"prod"}, "default.customfield_4": {"many"},
		"attachments.to_jira": {"on"}, "attachments.max_bytes": {"1024"}, "comments": {"none"},
	}
	doc, raw, problems := parseMappingForm(form, meta)
	wantFields := []mapping.Field{{Vulnsync: "title", Jira: "summary", Direction: "to_jira"}, {Vulnsync: "cvss_score", Jira: "customfield_1", Direction: "both", Locked: "jira"}}
	if diff := cmp.Diff(wantFields, doc.Fields); diff != "" {
		t.Errorf("fields in Jira's order (-want +got):\n%s", diff)
	}
	gotDefaults := map[string]string{}
	for k, v := range doc.Defaults {
		gotDefaults[k] = string(v)
	}
	if diff := cmp.Diff(map[string]string{"customfield_2": `[{"value":"a"},{"value":"b"}]`, "customfield_3": `{"value":"prod"}`}, gotDefaults); diff != "" {
		t.Errorf("encoded defaults (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"defaults.customfield_4": "must be a number"}, map[string]string(problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"many"}, raw["customfield_4"]); diff != "" {
		t.Errorf("raw input kept for re-display (-want +got):\n%s", diff)
	}
	if !doc.Attachments.ToJira || doc.Attachments.FromJira || doc.Attachments.MaxBytes != 1024 || doc.Comments != "none" {
		t.Errorf("policies: %+v comments %q", doc.Attachments, doc.Comments)
	}

	// Problems reported as fields[i] land on the row of the i-th mapped field.
	f := buildForm(integration.View{}, meta, tracker.NewCatalog(nil, nil), doc, raw)
	f.applyProblems("bad", map[string]string{"fields[1].locked": "nope", "fields[0].jira": "gone", "fields[9].jira": "stray", "whatever": "odd"}, doc)
	rowErrs := map[string]map[string]string{}
	for _, r := range f.Fields {
		if r.HasErr() {
			rowErrs[r.ID] = r.Errs
		}
	}
	if diff := cmp.Diff(map[string]map[string]string{"summary": {"jira": "gone"}, "customfield_1": {"locked": "nope"}}, rowErrs); diff != "" {
		t.Errorf("row problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]keyedProblem{{"fields[9].jira", "stray"}, {"whatever", "odd"}}, f.Problems); diff != "" {
		t.Errorf("problems with no input (-want +got):\n%s", diff)
	}
}

func TestActivityShowsFailuresFirstAndRetries(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	_, in := integrated(t, e, b, tok)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e.events = []store.SyncEvent{
		{ID: 1, IntegrationID: in.ID, Direction: "to_jira", Action: "create", IssueKey: "SEC-1", Result: "ok", At: t0},
		{ID: 2, IntegrationID: in.ID, Direction: "to_jira", Action: "transition", IssueKey: "SEC-1", Result: "error", Error: "no transition to Done", JobID: 42, At: t0.Add(time.Minute)},
		{ID: 3, IntegrationID: in.ID, Direction: "from_jira", Action: "update", IssueKey: "SEC-2", Result: "ok", At: t0.Add(2 * time.Minute)},
		{ID: 4, IntegrationID: "other", Direction: "to_jira", Action: "create", IssueKey: "OTHER-1", Result: "error", JobID: 7, At: t0},
	}
	path := "/integrations/targets/" + in.ID + "/activity"
	page := b.get(path)
	if page.status != http.StatusOK {
		t.Fatalf("activity: %d", page.status)
	}
	var keys []string
	for _, m := range regexp.MustCompile(`<td>(SEC-\d+|OTHER-\d+)</td>`).FindAllStringSubmatch(page.body, -1) {
		keys = append(keys, m[1])
	}
	if diff := cmp.Diff([]string{"SEC-1", "SEC-2", "SEC-1"}, keys); diff != "" {
		t.Errorf("event order, failures first then newest (-want +got):\n%s", diff)
	}
	if !strings.Contains(page.body, "no transition to Done") || !strings.Contains(page.body, "/jobs/42/retry") || strings.Count(page.body, "/retry\"") != 1 {
		t.Errorf("the failure, its error and exactly one retry button are not shown")
	}
	if a := b.post(path[:len(path)-len("/activity")]+"/jobs/42/retry", url.Values{"csrf_token": {tok}}); a.status != http.StatusSeeOther {
		t.Fatalf("retry: got %d", a.status)
	}
	if diff := cmp.Diff([]int64{42}, e.retried); diff != "" {
		t.Errorf("retried jobs (-want +got):\n%s", diff)
	}
	if a := b.post(path[:len(path)-len("/activity")]+"/jobs/x/retry", url.Values{"csrf_token": {tok}}); a.status != http.StatusBadRequest {
		t.Errorf("retry of a malformed job id: got %d, want 400", a.status)
	}
}
