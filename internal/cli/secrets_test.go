package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/vault"
)

// Losing secret.key while the database holds sealed Jira credentials is no
// longer silent: vulnsync refuses to start and says what happened and what
// to do; --reset-secrets discards them knowingly, deliveries are then
// refused (401, not 500), and new credentials (PATCH) bring the
// connection back with a new webhook secret shown once.
func TestLostSecretKeyStopsTheStart(t *testing.T) {
	_, simURL := jirasim.StartTest(t, jirasim.Config{Profile: jirasim.ProfileCloud})
	dir := t.TempDir()
	a := startServe(t, dir, nil)
	var conn map[string]any
	a.mustDo(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "acme", "base_url": simURL,
		"auth": map[string]any{"type": "basic", "email": jirasim.AdminEmail, "api_token": jirasim.AdminToken}}, &conn)
	id := conn["id"].(string)
	a.stop()

	if err := os.Remove(filepath.Join(dir, vault.KeyFile)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VULNSYNC_ADMIN_TOKEN": testToken}
	var stderr bytes.Buffer
	err := Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"},
		func(k string) string { return env[k] }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "does not open the Jira credentials") || !strings.Contains(err.Error(), "--reset-secrets") {
		t.Fatalf("start without the key: %v, want a refusal naming the lost key and --reset-secrets", err)
	}

	b := startServe(t, dir, nil, "--reset-secrets")
	var got map[string]any
	b.mustDo(200, "GET", "/api/v1/jira/connections/"+id, nil, &got)
	if got["webhook_secret_set"] != false {
		t.Errorf("after --reset-secrets the connection still claims a webhook secret: %v", got)
	}
	if st := b.send("POST", "/webhooks/jira/"+id, strings.NewReader(`{"webhookEvent":"jira:issue_updated"}`), "application/json", "", nil); st != 401 {
		t.Errorf("a delivery to a connection whose secret was discarded: %d, want 401", st)
	}
	var patched map[string]any
	b.mustDo(200, "PATCH", "/api/v1/jira/connections/"+id, map[string]any{
		"auth": map[string]any{"type": "basic", "email": jirasim.AdminEmail, "api_token": jirasim.AdminToken}}, &patched)
	if s, _ := patched["webhook_secret"].(string); len(s) < 32 {
		t.Errorf("new credentials after a reset: no new webhook secret shown (%v)", patched["webhook_secret"])
	}
	b.mustDo(200, "POST", "/api/v1/jira/connections/"+id+"/test", nil, nil)
	b.stop()

	// The next start, with the new key file, opens everything.
	c := startServe(t, dir, nil)
	c.mustDo(200, "POST", "/api/v1/jira/connections/"+id+"/test", nil, nil)
}
