package integration_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
)

var deployments = []jirasim.Deployment{"cloud", "datacenter"}

type errBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields"`
}

func TestAdminFlowAgainstTheSimulator(t *testing.T) {
	for _, profile := range jirasim.Profiles {
		t.Run(string(profile), func(t *testing.T) {
			dep := profile.Deployment()
			e := apptest.New(t, apptest.Options{Profile: profile})

			// Connect: deployment detected, service account named, secrets masked.
			var conn map[string]any
			e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "Acme Jira", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
			if conn["deployment"] != string(dep) {
				t.Fatalf("deployment: got %v, want %s", conn["deployment"], dep)
			}
			connID := conn["id"].(string)
			secret, _ := conn["webhook_secret"].(string)
			if len(secret) < 32 {
				t.Errorf("a new connection shows its generated webhook secret once, got %q", secret)
			}
			// Data Center 9 does not sign deliveries: the URL carries the
			// secret as a token (shown once, masked afterwards).
			hookURL, mode := e.API.URL+"/webhooks/jira/"+connID, "hmac"
			if profile == jirasim.ProfileDC9 {
				hookURL, mode = hookURL+"/"+secret, "token"
			}
			if conn["webhook_url"] != hookURL || conn["webhook_auth"] != mode || conn["webhook_auth_reason"] == "" {
				t.Errorf("webhook: got %v (%v: %v), want %s (%s)", conn["webhook_url"], conn["webhook_auth"], conn["webhook_auth_reason"], hookURL, mode)
			}
			raw, _ := json.Marshal(conn)
			for _, s := range []string{"admin-token", "admin-pat"} {
				if strings.Contains(string(raw), s) {
					t.Fatalf("connection answer leaks the credential: %s", raw)
				}
			}
			var listed struct {
				Connections []map[string]any `json:"connections"`
			}
			e.Must(200, "GET", "/api/v1/jira/connections", nil, &listed)
			raw, _ = json.Marshal(listed)
			if len(listed.Connections) != 1 || strings.Contains(string(raw), "admin-token") || strings.Contains(string(raw), "admin-pat") || strings.Contains(string(raw), secret) {
				t.Fatalf("connection list: %s", raw)
			}

			var test map[string]any
			e.Must(200, "POST", "/api/v1/jira/connections/"+connID+"/test", "{}", &test)
			if test["ok"] != true || test["deployment"] != string(dep) || test["account"].(map[string]any)["name"] == "" {
				t.Fatalf("test connection: %v", test)
			}

			// Integrate a target with SEC; the mapping is then required.
			var target, other map[string]any
			e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
			e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "mobile-app"}, &other)
			var in map[string]any
			e.Must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": connID, "target_id": target["id"], "project_key": "SEC"}, &in)
			if in["state"] != "needs_mapping" || in["target_name"] != "payments-api" {
				t.Fatalf("integration: %v", in)
			}
			inID := in["id"].(string)

			// One project ↔ one target: both violations are 409 and name the other side.
			var eb errBody
			eb = errBody{}
			if got := e.Do("POST", "/api/v1/integrations", map[string]any{"connection_id": connID, "target_id": other["id"], "project_key": "SEC"}, &eb); got != 409 || !strings.Contains(eb.Error, "payments-api") {
				t.Errorf("second target on SEC: %d %q, want 409 naming payments-api", got, eb.Error)
			}
			eb = errBody{}
			if got := e.Do("POST", "/api/v1/integrations", map[string]any{"connection_id": connID, "target_id": target["id"], "project_key": "OPS"}, &eb); got != 409 || !strings.Contains(eb.Error, "SEC") {
				t.Errorf("second project on payments-api: %d %q, want 409 naming SEC", got, eb.Error)
			}
			eb = errBody{}
			if got := e.Do("POST", "/api/v1/integrations", map[string]any{"connection_id": connID, "target_id": other["id"], "project_key": "NOPE"}, &eb); got != 422 || eb.Fields["project_key"] == "" {
				t.Errorf("unknown project: %d %+v, want 422 on project_key", got, eb)
			}

			// A broken mapping is refused with each problem named.
			var broken map[string]any
			_ = json.Unmarshal([]byte(apptest.SpecMapping), &broken)
			broken["issue_types"] = map[string]any{"vulnerability": "Defect", "finding": "Sub-task", "risk": "Task"}
			broken["status_to_jira"].(map[string]any)["resolved"] = "Closed"
			broken["priority"].(map[string]any)["critical"] = "Blocker"
			broken["defaults"] = map[string]any{"customfield_10054": []any{map[string]any{"value": "hipaa"}}}
			eb = errBody{}
			if got := e.Do("PUT", "/api/v1/integrations/"+inID+"/mapping", broken, &eb); got != 422 {
				t.Fatalf("broken mapping: status %d, want 422", got)
			}
			var named []string
			for k := range eb.Fields {
				named = append(named, k)
			}
			want := []string{"issue_types.vulnerability", "status_to_jira.resolved", "priority.critical", "defaults.customfield_10054"}
			if diff := cmp.Diff(want, named, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, eb.Fields)
			}
			// The required Component field without a mapping or default.
			var noDefault map[string]any
			_ = json.Unmarshal([]byte(apptest.SpecMapping), &noDefault)
			delete(noDefault, "defaults")
			eb = errBody{}
			if got := e.Do("PUT", "/api/v1/integrations/"+inID+"/mapping", noDefault, &eb); got != 422 || !strings.Contains(eb.Fields["defaults.customfield_10052"], "required") {
				t.Errorf("missing required field: %d %v", got, eb.Fields)
			}

			e.Must(200, "PUT", "/api/v1/integrations/"+inID+"/mapping", apptest.SpecMapping, &in)
			if in["state"] != "active" || in["mapping"] == nil {
				t.Fatalf("accepted mapping: %v", in)
			}
			var got map[string]any
			e.Must(200, "GET", "/api/v1/integrations/"+inID, nil, &got)
			if got["mapping"].(map[string]any)["default_priority"] != "Medium" {
				t.Errorf("stored mapping: %v", got["mapping"])
			}

			// Register the webhook in Jira: scoped by JQL to SEC, with the secret.
			e.Must(200, "POST", "/api/v1/jira/connections/"+connID+"/webhook", "{}", &conn)
			if conn["webhook_registered"] != true {
				t.Fatalf("webhook not registered: %v", conn)
			}
			// Registered at the API the version has (Data Center 10 moved it,
			// and honours no JQL filter there).
			hooksPath := "/rest/webhooks/1.0/webhook"
			if profile == jirasim.ProfileDC10 {
				hooksPath = "/rest/jira-webhook/1.0/webhooks"
			}
			var hooks []map[string]any
			if st := e.Jira("admin", "GET", hooksPath, nil, &hooks); st != 200 || len(hooks) != 1 {
				t.Fatalf("webhooks in Jira: %d %v", st, hooks)
			}
			if hooks[0]["url"] != hookURL {
				t.Errorf("registered webhook URL: %v, want %s", hooks[0]["url"], hookURL)
			}
			if profile != jirasim.ProfileDC10 {
				if jql := hooks[0]["filters"].(map[string]any)["issue-related-events-section"]; jql != `project in ("SEC")` {
					t.Errorf("registered webhook: %v", hooks[0])
				}
			}
			// Rotating the secret shows the new one once.
			var rotated map[string]any
			e.Must(200, "POST", "/api/v1/jira/connections/"+connID+"/webhook-secret", "{}", &rotated)
			if s, _ := rotated["webhook_secret"].(string); s == "" || s == secret {
				t.Errorf("rotated secret: %q (old %q)", s, secret)
			}
			var again map[string]any
			e.Must(200, "GET", "/api/v1/jira/connections/"+connID, nil, &again)
			if _, shown := again["webhook_secret"]; shown {
				t.Errorf("the secret is shown again after rotation: %v", again)
			}
			// Removing the integration: the webhook's JQL follows (no project left: it is removed).
			e.Must(204, "DELETE", "/api/v1/integrations/"+inID, nil, nil)
			if st := e.Jira("admin", "GET", hooksPath, nil, &hooks); st != 200 || len(hooks) != 0 {
				t.Errorf("webhook left in Jira after the last integration was removed: %v", hooks)
			}
			t.Logf("operations validated against the OpenAPI document: %v", e.Spec.Covered())
		})
	}
}

func TestBadCredentialsAreExplained(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	var eb errBody
	eb = errBody{}
	got := e.Do("POST", "/api/v1/jira/connections", map[string]any{"name": "x", "base_url": e.SimURL, "auth": map[string]any{"type": "basic", "email": "admin@example.test", "api_token": "wrong"}}, &eb)
	if got != 422 || eb.Fields["auth"] == "" {
		t.Fatalf("wrong token: %d %+v, want 422 on auth", got, eb)
	}
	eb = errBody{}
	got = e.Do("POST", "/api/v1/jira/connections", map[string]any{"name": "x", "base_url": "ftp://jira", "auth": map[string]any{"type": "magic"}}, &eb)
	if got != 400 || eb.Fields["base_url"] == "" || eb.Fields["auth.type"] == "" {
		t.Fatalf("bad input: %d %+v", got, eb)
	}
	var listed struct {
		Connections []any `json:"connections"`
	}
	e.Must(200, "GET", "/api/v1/jira/connections", nil, &listed)
	if len(listed.Connections) != 0 {
		t.Fatalf("a refused connection was stored: %v", listed)
	}
}

// The SQLite file holds no API token or PAT in clear.
func TestNoCredentialInTheDatabaseFile(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Deployment: dep})
			var conn map[string]any
			e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
			e.Close() // flush and close the database
			var raw []byte
			for _, name := range []string{sqldb.SQLiteFile, sqldb.SQLiteFile + "-wal"} {
				b, err := os.ReadFile(filepath.Join(e.DataDir, name))
				if err == nil {
					raw = append(raw, b...)
				}
			}
			if len(raw) == 0 {
				t.Fatal("no database file found")
			}
			for _, secret := range []string{"admin-token", "admin-pat", conn["webhook_secret"].(string)} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the database file contains %q in clear", secret)
				}
			}
			if !bytes.Contains(raw, []byte(e.SimURL)) {
				t.Errorf("sanity: the file does not even contain the base URL; wrong file?")
			}
		})
	}
}

// A project whose priority scheme leaves out Lowest and whose screens lack
// Labels (the simulator's OPS, on every profile): the spec's mapping is
// refused naming each problem, and one that avoids them is accepted.
func TestMappingValidatedAgainstPrioritySchemeAndScreens(t *testing.T) {
	for _, profile := range jirasim.Profiles {
		t.Run(string(profile), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: profile})
			var conn, target, in struct {
				ID string `json:"id"`
			}
			e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
			e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "ops"}, &target)
			e.Must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "OPS"}, &in)
			var refused struct {
				Fields map[string]string `json:"fields"`
			}
			if st := e.Do("PUT", "/api/v1/integrations/"+in.ID+"/mapping", apptest.SpecMapping, &refused); st != 422 {
				t.Fatalf("the spec's mapping on OPS: %d, want 422", st)
			}
			if msg := refused.Fields["priority.info"]; !strings.Contains(msg, `"Lowest" is not allowed in project OPS`) {
				t.Errorf("priority.info: %q, want Lowest named as not allowed by OPS's scheme", msg)
			}
			labels := ""
			for k, v := range refused.Fields {
				if strings.Contains(k, "fields") && strings.Contains(v, "labels") {
					labels = v
				}
			}
			if !strings.Contains(labels, "screen") {
				t.Errorf("labels not on OPS's screens is not named: %v", refused.Fields)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
				t.Fatal(err)
			}
			doc["priority"].(map[string]any)["info"] = "Low"
			var kept []any
			for _, f := range doc["fields"].([]any) {
				if f.(map[string]any)["jira"] != "labels" {
					kept = append(kept, f)
				}
			}
			doc["fields"] = kept
			e.Must(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", doc, nil)
		})
	}
}

// Deleting a connection an integration uses is refused before anything
// changes: its webhook stays registered in Jira (issue 12, defect 1).
func TestDeletingAConnectionInUseChangesNothing(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s := e.Setup("payments-api")
	var before, after map[string]any
	e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID, nil, &before)
	var refused map[string]any
	if st := e.Do("DELETE", "/api/v1/jira/connections/"+s.ConnectionID, nil, &refused); st != 409 {
		t.Fatalf("delete of a connection in use: %d, want 409", st)
	}
	if msg, _ := refused["error"].(string); !strings.Contains(msg, "SEC") {
		t.Errorf("the refusal does not name the integrated project: %v", refused)
	}
	e.Must(200, "GET", "/api/v1/jira/connections/"+s.ConnectionID, nil, &after)
	if before["webhook_registered"] != true || after["webhook_registered"] != true {
		t.Fatalf("webhook_registered before %v, after %v", before["webhook_registered"], after["webhook_registered"])
	}
	var hooks []map[string]any
	if st := e.Jira("admin", "GET", "/rest/webhooks/1.0/webhook", nil, &hooks); st != 200 || len(hooks) != 1 {
		t.Fatalf("webhooks in Jira after the refused delete: %d %v, want the one registered", st, hooks)
	}
}
