package jiraconn

import (
	"context"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// With private addresses refused, a Jira at a loopback address is not
// reached (the check runs at dial time, after DNS); allowed by default.
func TestPrivateJiraAddressesCanBeRefused(t *testing.T) {
	_, url := jirasim.StartTest(t, jirasim.Config{Profile: jirasim.ProfileCloud})
	for _, deny := range []bool{false, true} {
		r := New(Config{DenyPrivate: deny})
		c, err := r.NewClient(url, jira.BasicAuth{Email: jirasim.AdminEmail, APIToken: jirasim.AdminToken}, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ServerInfo(context.Background())
		switch {
		case deny && (err == nil || !strings.Contains(err.Error(), "--jira-allow-private=false")):
			t.Errorf("private address refused: %v, want a refusal naming the setting", err)
		case !deny && err != nil:
			t.Errorf("private address allowed: %v", err)
		}
	}
	for addr, private := range map[string]bool{"127.0.0.1:443": true, "10.1.2.3:443": true, "169.254.169.254:80": true, "[::1]:443": true,
		"[fd00::1]:443": true, "100.64.0.1:443": true, "0.0.0.0:443": true, "93.184.216.34:443": false, "[2606:4700::1]:443": false} {
		if err := refusePrivate("tcp", addr, nil); (err != nil) != private {
			t.Errorf("refusePrivate(%s) = %v, want refused=%v", addr, err, private)
		}
	}
}
