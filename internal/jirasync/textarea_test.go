package jirasync_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// Textarea custom fields hold rich text: ADF in REST v3, wiki markup in v2
// and in webhook payloads. A vulnsync text field mapped to one ("Steps to
// reproduce", customfield_10055) travels as Markdown both ways, on every
// profile, through webhooks and through reconciliation.
func TestTextareaFieldBothWays(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("payments-api")
			var doc map[string]any
			if err := json.Unmarshal([]byte(apptest.SpecMapping), &doc); err != nil {
				t.Fatal(err)
			}
			doc["fields"] = append(doc["fields"].([]any), map[string]any{"vulnsync": "remediation", "jira": "customfield_10055", "direction": "both"})
			e.Must(200, "PUT", "/api/v1/integrations/"+s.IntegrationID+"/mapping", doc, nil)

			it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": "SSRF in the image proxy", "severity": "high",
				"fields": map[string]any{"remediation": "Allow-list the **hosts**; see `proxy.go`"}})
			e.Sync()
			e.Deliver()
			e.Sync()
			key := jiraKey(t, e, it.ID)

			// vulnsync → Jira: rich text in the API version's form.
			var raw struct {
				Fields map[string]json.RawMessage `json:"fields"`
			}
			e.Jira("admin", "GET", "/rest/api/"+e.APIVersion()+"/issue/"+key+"?fields=customfield_10055", nil, &raw)
			got := string(raw.Fields["customfield_10055"])
			if e.APIVersion() == "3" && !(strings.Contains(got, `"type":"doc"`) && strings.Contains(got, `"strong"`)) {
				t.Fatalf("v3 textarea: %s, want an ADF document with strong text", got)
			}
			if e.APIVersion() == "2" && !strings.Contains(got, `*hosts*`) {
				t.Fatalf("v2 textarea: %s, want wiki markup *hosts*", got)
			}

			// Jira → vulnsync, by webhook: a person writes wiki/ADF, the
			// item gets Markdown.
			var value any = "Block *169.254.169.254* first"
			if e.APIVersion() == "3" {
				value = map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{
					map[string]any{"type": "text", "text": "Block "},
					map[string]any{"type": "text", "text": "169.254.169.254", "marks": []any{map[string]any{"type": "strong"}}},
					map[string]any{"type": "text", "text": " first"}}}}}
			}
			jiraEdit(t, e, key, map[string]any{"customfield_10055": value})
			e.Deliver()
			e.Sync()
			if got := getItem(t, e, it.ID).Fields["remediation"]; got != "Block **169.254.169.254** first" {
				t.Fatalf("remediation after the Jira edit: %q", got)
			}
		})
	}
}
