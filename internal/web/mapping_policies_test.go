package web

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/mapping"
)

// The Configure page shows and keeps the lifecycle policies of issue 16
// (done_means, accept_from_jira, on_retest_failed): saving the page as it
// is stored them at their defaults again, silently undoing what an admin
// had set through the API; and a change made on the page is stored.
func TestConfigureKeepsLifecyclePolicies(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	_, in := integrated(t, e, b, tok)
	var doc map[string]any
	if err := json.Unmarshal([]byte(mapping.Example), &doc); err != nil {
		t.Fatal(err)
	}
	doc["done_means"], doc["accept_from_jira"], doc["on_retest_failed"] = "resolved", "apply", "new_issue"
	raw, _ := json.Marshal(doc)
	if _, err := e.integ.SetMapping(context.Background(), in.ID, raw); err != nil {
		t.Fatal(err)
	}
	type policies struct{ DoneMeans, AcceptFromJira, OnRetestFailed string }
	stored := func() policies {
		t.Helper()
		v, err := e.integ.Integration(context.Background(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return policies{string(v.Mapping.DoneMeans), v.Mapping.AcceptFromJira, v.Mapping.OnRetestFailed}
	}
	path := "/integrations/targets/" + in.ID + "/configure"

	form := formOf(t, b.get(path).body)
	if diff := cmp.Diff(policies{"resolved", "apply", "new_issue"}, policies{form.Get("done_means"), form.Get("accept_from_jira"), form.Get("on_retest_failed")}); diff != "" {
		t.Errorf("the page's policy inputs (-want +got):\n%s", diff)
	}
	form.Set("csrf_token", tok)
	if a := b.post(path, form); a.status != http.StatusSeeOther {
		t.Fatalf("save unchanged: got %d", a.status)
	}
	if diff := cmp.Diff(policies{"resolved", "apply", "new_issue"}, stored()); diff != "" {
		t.Errorf("after saving the page unchanged (-want +got):\n%s", diff)
	}

	form = formOf(t, b.get(path).body)
	form.Set("csrf_token", tok)
	form.Set("done_means", "fixed")
	form.Set("accept_from_jira", "request")
	form.Set("on_retest_failed", "reopen")
	if a := b.post(path, form); a.status != http.StatusSeeOther {
		t.Fatalf("save changed: got %d", a.status)
	}
	if diff := cmp.Diff(policies{"fixed", "request", "reopen"}, stored()); diff != "" {
		t.Errorf("after changing them on the page (-want +got):\n%s", diff)
	}
}
