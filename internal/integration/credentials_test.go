package integration_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// An expiring API token or PAT is replaced in place: bad credentials and
// another site are refused without changing anything, good ones are taken
// and the sync goes on with the same integrations and links.
func TestConnectionCredentialsAreReplacedInPlace(t *testing.T) {
	for _, profile := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC9} {
		t.Run(string(profile), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: profile})
			s := e.Setup("payments")
			connURL := "/api/v1/jira/connections/" + s.ConnectionID
			var before json.RawMessage
			e.Must(200, "GET", connURL, nil, &before)

			apiToken, pat := e.Sim.RotateCredentials(jirasim.AdminUsername)
			fresh := map[string]any{"type": "basic", "email": jirasim.AdminEmail, "api_token": apiToken}
			if profile != jirasim.ProfileCloud {
				fresh = map[string]any{"type": "bearer", "token": pat}
			}

			// Wrong credentials: refused, nothing changed.
			var eb errBody
			if st := e.Do("PATCH", connURL, map[string]any{"auth": e.AdminAuth()}, &eb); st < 400 || st >= 500 {
				t.Fatalf("PATCH with the revoked credentials: %d %+v, want a 4xx", st, eb)
			}
			// Another Jira site, with credentials valid there: refused.
			_, otherURL := jirasim.StartTest(t, jirasim.Config{Profile: profile})
			otherAuth := e.AdminAuth() // the other site still has the seed credentials
			if st := e.Do("PATCH", connURL, map[string]any{"base_url": otherURL, "auth": otherAuth}, &eb); st != 409 || !strings.Contains(eb.Error, "another Jira site") {
				t.Fatalf("PATCH to another site: %d %+v, want 409 naming another site", st, eb)
			}
			// A base_url with user info: bad input, not a 500.
			if st := e.Do("PATCH", connURL, map[string]any{"base_url": strings.Replace(e.SimURL, "://", "://admin:pw@", 1), "auth": fresh}, &eb); st != 400 || !strings.Contains(eb.Fields["base_url"], "user name or password") {
				t.Fatalf("PATCH with user info in base_url: %d %+v, want 400", st, eb)
			}
			e.Must(400, "POST", "/api/v1/jira/connections", map[string]any{"name": "x", "base_url": strings.Replace(e.SimURL, "://", "://admin:pw@", 1), "auth": fresh}, nil)
			// A base_url without credentials to test it with: refused.
			e.Must(400, "PATCH", connURL, map[string]any{"base_url": e.SimURL}, nil)
			var after json.RawMessage
			e.Must(200, "GET", connURL, nil, &after)
			if string(before) != string(after) {
				t.Fatalf("a refused PATCH changed the connection:\n%s\n%s", before, after)
			}

			// The revoked token fails the sync; the new one fixes it.
			var it struct {
				ID   string `json:"id"`
				Jira *struct {
					Key string `json:"key"`
				} `json:"jira"`
			}
			e.Must(201, "POST", "/api/v1/targets/"+s.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "XSS in search", "severity": "high"}, &it)
			e.Sync()
			e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it)
			if it.Jira != nil && it.Jira.Key != "" {
				t.Fatalf("an issue was created with revoked credentials: %s", it.Jira.Key)
			}
			var v map[string]any
			e.Must(200, "PATCH", connURL, map[string]any{"auth": fresh, "name": "Acme Jira (rotated)"}, &v)
			if v["name"] != "Acme Jira (rotated)" || v["id"] != s.ConnectionID {
				t.Fatalf("PATCH answer: %v", v)
			}
			if _, shown := v["webhook_secret"]; shown {
				t.Errorf("rotating credentials showed the webhook secret, which did not change")
			}
			e.Must(200, "POST", connURL+"/test", nil, nil)
			var failed struct {
				Jobs []struct {
					ID int64 `json:"id"`
				} `json:"jobs"`
			}
			e.Must(200, "GET", "/api/v1/jobs/failed", nil, &failed)
			if len(failed.Jobs) == 0 {
				t.Fatal("the sync with revoked credentials did not fail")
			}
			for _, j := range failed.Jobs {
				e.Must(200, "POST", fmt.Sprintf("/api/v1/jobs/%d/retry", j.ID), nil, nil)
			}
			e.Sync()
			e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it)
			if it.Jira == nil || it.Jira.Key == "" {
				t.Fatalf("no issue after the credentials were replaced")
			}
		})
	}
}
