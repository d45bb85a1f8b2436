package apptest_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// docs/mapping.example.json is accepted by PUT /api/v1/integrations/{id}/mapping
// against the simulator's project, on every profile, and every key it uses
// is described in docs/mapping.md.
func TestDocumentedMappingExampleIsAccepted(t *testing.T) {
	raw, err := os.ReadFile("../../docs/mapping.example.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/mapping.example.json is not JSON: %v", err)
	}
	ref, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range doc {
		if !strings.Contains(string(ref), "| `"+key+"` |") {
			t.Errorf("docs/mapping.md has no row for the example's key %q", key)
		}
	}
	for _, p := range jirasim.Profiles {
		t.Run(string(p), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: p})
			var conn, target, in struct {
				ID string `json:"id"`
			}
			e.Must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": e.SimURL, "auth": e.AdminAuth()}, &conn)
			e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "docs"}, &target)
			e.Must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &in)
			var answer map[string]any
			if st := e.Do("PUT", "/api/v1/integrations/"+in.ID+"/mapping", json.RawMessage(raw), &answer); st != 200 {
				t.Fatalf("PUT the documented example: %d %v", st, answer)
			}
		})
	}
}
