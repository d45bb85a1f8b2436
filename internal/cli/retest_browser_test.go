package cli

import (
	"strings"
	"testing"

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
	if got := b.text(ctx, "#item-status"); got != "open" {
		t.Errorf("status after a failed retest: %q, want open", got)
	}
	if got := b.text(ctx, "#comments"); !strings.Contains(got, "the payload still fires on reload") {
		t.Errorf("the evidence is not among the comments: %.300q", got)
	}
}
