package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRetest: on the page of an item awaiting retest an analyst
// writes the evidence and clicks "Retest failed" in Chromium; the item is
// reopened and the evidence is a comment. An item not awaiting retest
// shows no retest form.
func TestBrowserRetest(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	var target, item idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Stored XSS in profile", "severity": "high"}, &item)

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	b.open(ctx, "/items/"+item.ID)
	if got := b.eval(ctx, `String(document.querySelector("#retest") !== null)`); got != "false" {
		t.Errorf("an open item shows the retest form")
	}
	in.mustDo(200, "PATCH", "/api/v1/items/"+item.ID, map[string]any{"status": "fixed"}, nil)
	b.open(ctx, "/items/"+item.ID)
	b.do(ctx, "write the evidence", chromedp.SetValue(chromedp.CSS("#retest-evidence"), "the payload still fires on reload"))
	b.submit(ctx, "retest failed", "#retest-fail")
	b.shot(ctx, "retest-failed")
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Retest failed") {
		t.Errorf("flash after the verdict: %q", got)
	}
	if got := b.text(ctx, "#item-status"); got != "Open" {
		t.Errorf("status after a failed retest: %q, want Open", got)
	}
	if got := b.text(ctx, "#comments"); !strings.Contains(got, "the payload still fires on reload") {
		t.Errorf("the evidence is not among the comments: %.300q", got)
	}
}

// TestBrowserApprovesAnAcceptance: another admin than the requester opens
// the Acceptances page in Chromium, sees who asked, why and until when,
// and approves with the button; the row moves to approved and the item is
// accepted.
func TestBrowserApprovesAnAcceptance(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	var target, item, user idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "TLS 1.0 on the legacy host", "severity": "medium"}, &item)
	until := time.Now().AddDate(0, 2, 0).UTC()
	in.mustDo(201, "POST", "/api/v1/items/"+item.ID+"/acceptances", map[string]any{"reason": "decommissioned in January", "expires_at": until}, nil)
	in.mustDo(201, "POST", "/api/v1/users", map[string]any{"email": "ben@example.test", "name": "Ben", "role": "admin"}, &user)
	var tok struct {
		Token string `json:"token"`
	}
	in.mustDo(201, "POST", "/api/v1/users/"+user.ID+"/tokens", map[string]any{"name": "browser"}, &tok)

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, tok.Token)
	b.open(ctx, "/acceptances")
	b.shot(ctx, "acceptances-pending")
	row := b.text(ctx, "table.acceptances tbody tr")
	for _, want := range []string{"TLS 1.0 on the legacy host", "decommissioned in January", until.Format("2006-01-02"), "pending"} {
		if !strings.Contains(row, want) {
			t.Errorf("the pending row lacks %q: %q", want, row)
		}
	}
	b.submit(ctx, "approve", "table.acceptances button.approve")
	b.shot(ctx, "acceptances-approved")
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "approved") {
		t.Errorf("flash after approving: %q", got)
	}
	var got struct {
		Status string `json:"status"`
	}
	in.mustDo(200, "GET", "/api/v1/items/"+item.ID, nil, &got)
	if got.Status != "accepted_risk" {
		t.Errorf("after the approval the item is %s, want accepted_risk", got.Status)
	}
}
