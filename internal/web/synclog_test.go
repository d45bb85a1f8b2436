package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
)

func TestReadLogTellsRecoveredFromFailed(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	evs := []store.SyncEvent{
		{ID: 1, ItemID: "a", Action: "transition", Result: "error", At: t0},
		{ID: 2, ItemID: "a", Action: "transition", Result: "ok", At: t0}, // same instant, recorded after
		{ID: 3, ItemID: "b", Action: "transition", Result: "ok", At: t0},
		{ID: 4, ItemID: "b", Action: "transition", Result: "error", At: t0.Add(time.Second)}, // the ok came before: still failed
		{ID: 5, ItemID: "c", Action: "comment", Result: "error", At: t0},
		{ID: 6, ItemID: "c", Action: "transition", Result: "ok", At: t0.Add(time.Second)}, // another action: no recovery
		{ID: 7, ItemID: "a", Action: "webhook comment_created", Result: "skipped", Error: "comment already mirrored", At: t0},
		{ID: 8, Action: "reconcile", Result: "error", At: t0},
		{ID: 9, Action: "reconcile", Result: "ok", At: t0.Add(time.Minute)},
	}
	rows, failures := readLog(evs)
	want := map[int64]string{1: rowRecovered, 2: rowOK, 3: rowOK, 4: rowFailed, 5: rowFailed, 6: rowOK, 7: rowInfo, 8: rowRecovered, 9: rowOK}
	for _, r := range rows {
		if r.Shown != want[r.ID] {
			t.Errorf("event %d (%s %s) shown %q, want %q", r.ID, r.Action, r.Result, r.Shown, want[r.ID])
		}
	}
	if failures != 2 {
		t.Errorf("failures = %d, want 2", failures)
	}
}

func TestActivityCountsOnlyFailuresThatStand(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	_, in := integrated(t, e, b, tok)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e.events = []store.SyncEvent{
		{ID: 1, IntegrationID: in.ID, ItemID: "i3", Direction: "to_jira", Action: "transition", IssueKey: "SEC-3", Result: "error",
			Error: "400 Transition id '21' is not valid for this issue.", JobID: 15, At: t0},
		{ID: 2, IntegrationID: in.ID, ItemID: "i3", Direction: "to_jira", Action: "transition", IssueKey: "SEC-3", JiraCall: "GET /issue/{key}", Result: "ok", JobID: 15, At: t0.Add(time.Millisecond)},
		{ID: 3, IntegrationID: in.ID, ItemID: "i3", Direction: "from_jira", Action: "webhook comment_created", IssueKey: "SEC-3", Result: "skipped", Error: "comment already mirrored", At: t0.Add(time.Second)},
		{ID: 4, IntegrationID: in.ID, ItemID: "i5", Direction: "to_jira", Action: "update", IssueKey: "SEC-5", Result: "error", Error: "500 Internal Server Error", JobID: 16, At: t0},
	}
	page := b.get("/integrations/targets/" + in.ID + "/activity")
	if page.status != http.StatusOK {
		t.Fatalf("activity: %d", page.status)
	}
	if !strings.Contains(page.body, "<strong class=\"err\">1 failed</strong>") {
		t.Errorf("the summary does not say \"1 failed\"")
	}
	if n := strings.Count(page.body, "/retry\""); n != 1 || !strings.Contains(page.body, "/jobs/16/retry") {
		t.Errorf("%d retry buttons, want one, for job 16", n)
	}
	shown := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr class="([^"]*)" data-shown="(\w+)">.*?</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>.*?<td>(SEC-\d)</td>\s*<td>(?:<code>([^<]*)</code>)?</td>`).FindAllStringSubmatch(page.body, -1) {
		shown[m[4]+" "+m[3]+" "+m[5]] = m[2] + "/" + m[1]
	}
	want := map[string]string{
		"SEC-3 transition ":                 "recovered/", // the refused transition, then the issue re-read: no red row
		"SEC-3 transition GET /issue/{key}": "ok/",
		"SEC-3 webhook comment_created ":    "info/",
		"SEC-5 update ":                     "failed/row-error",
	}
	for k, v := range want {
		if shown[k] != v {
			t.Errorf("row %q shown %q, want %q (all: %v)", k, shown[k], v, shown)
		}
	}
	if !strings.Contains(page.body, `<span class="badge badge-info">info</span><div class="muted small">comment already mirrored</div>`) {
		t.Errorf("the echo suppression is not quiet info")
	}
	if strings.Index(page.body, "SEC-5") > strings.Index(page.body, "SEC-3") {
		t.Errorf("the failure that stands is not listed first")
	}
}
