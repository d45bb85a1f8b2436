package cli

// Browser tests of issue 15's live pages and connection page: sync state,
// Jira keys and backfill progress follow the sync on an open page (no
// reload), long actions show a spinner, the connection page shows webhook
// health and asks before rotating the secret, and errors fold their
// technical details away.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// waitFor waits until the JavaScript expression is truthy in the page,
// checking on every DOM change (no fixed sleeps); it fails after 30 s with
// a screenshot.
func (b *tab) waitFor(ctx context.Context, what, expr string) {
	b.t.Helper()
	b.do(ctx, what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second)))
}

// integratedTarget sets up, through the API, a target integrated with the
// simulator's SEC project and a saved mapping, and returns the ids.
func integratedTarget(t *testing.T, in *instance, simURL string) (target, conn, integ idOnly, secret string) {
	t.Helper()
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api", "description": "Card payments"}, &target)
	var c struct {
		ID            string `json:"id"`
		WebhookSecret string `json:"webhook_secret"`
	}
	in.mustDo(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "Jira (simulator)", "base_url": simURL,
		"auth": map[string]any{"type": "basic", "email": "admin@example.test", "api_token": jirasim.AdminToken}}, &c)
	conn.ID = c.ID
	in.mustDo(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &integ)
	in.mustDo(200, "PUT", "/api/v1/integrations/"+integ.ID+"/mapping", mapping.Example, nil)
	return target, conn, integ, c.WebhookSecret
}

// TestBrowserLiveUpdates opens an item page, the activity page and the
// target page while the integration is paused, resumes it through the API,
// and watches the Jira key, the backfill progress and the state arrive on
// the open pages; a marker set on each page shows it was never reloaded.
func TestBrowserLiveUpdates(t *testing.T) {
	chromiumPath(t)
	_, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	target, _, integ, _ := integratedTarget(t, in, simURL)
	in.mustDo(200, "POST", "/api/v1/integrations/"+integ.ID+"/pause", nil, nil)
	var item idOnly
	for i := range 3 {
		var it idOnly
		in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability",
			"title": fmt.Sprintf("SQL injection %d", i), "severity": "high"}, &it)
		if i == 0 {
			item = it
		}
	}

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	mark := `window.__notReloaded = true, "marked"`
	stillMarked := `String(window.__notReloaded === true)`

	// The item page: not in Jira yet, then its key.
	b.open(ctx, "/items/"+item.ID)
	if got := b.text(ctx, "#jira-key-none"); got != "not in Jira yet" {
		t.Fatalf("item of a paused integration: got %q", got)
	}
	b.eval(ctx, mark)
	b.shot(ctx, "live-item-before")

	// The activity page: paused, 0 of 3; it records every progress value
	// it shows.
	ctx2, cancel2 := chromedp.NewContext(ctx) // a second tab
	defer cancel2()
	b2 := &tab{t: t, base: b.base, shots: b.shots, opened: b.opened}
	b2.open(ctx2, "/integrations/targets/"+integ.ID+"/activity")
	if got := b2.eval(ctx2, `document.querySelector("#integration-live").dataset.state + " " + document.getElementById("backfill").value + "/" + document.getElementById("backfill").max`); got != "paused 0/3" {
		t.Fatalf("activity page of a paused integration: got %q, want paused 0/3", got)
	}
	b2.eval(ctx2, mark)
	b2.eval(ctx2, `window.__seen = [], new MutationObserver(() => {
		const p = document.getElementById("backfill");
		if (p && window.__seen[window.__seen.length - 1] !== p.value) window.__seen.push(p.value);
	}).observe(document.body, {subtree: true, childList: true, attributes: true}), "watching"`)
	b2.shot(ctx2, "live-activity-before")

	// The target page's header pill.
	ctx3, cancel3 := chromedp.NewContext(ctx)
	defer cancel3()
	b3 := &tab{t: t, base: b.base, shots: b.shots, opened: b.opened}
	b3.open(ctx3, "/targets/"+target.ID)
	b3.eval(ctx3, mark)

	// The integrated targets list: the row's state and backfill.
	ctx4, cancel4 := chromedp.NewContext(ctx)
	defer cancel4()
	b4 := &tab{t: t, base: b.base, shots: b.shots, opened: b.opened}
	b4.open(ctx4, "/integrations/targets")
	b4.eval(ctx4, mark)
	cell := `document.getElementById("integration-live-` + integ.ID + `")`
	if got := b4.eval(ctx4, `(c => c.dataset.state + " " + c.querySelector("progress").value)(`+cell+`)`); got != "paused 0" {
		t.Errorf("integrated targets row while paused: %q", got)
	}

	in.mustDo(200, "POST", "/api/v1/integrations/"+integ.ID+"/resume", nil, nil)

	b.waitFor(ctx, "the Jira key on the open item page", `(document.getElementById("jira-key") || {}).textContent?.startsWith("SEC-")`)
	if got := b.eval(ctx, stillMarked); got != "true" {
		t.Errorf("the item page was reloaded")
	}
	if got := b.eval(ctx, `document.getElementById("jira-key").getAttribute("href")`); !strings.HasPrefix(got, simURL+"/browse/SEC-") {
		t.Errorf("Jira link on the item page: %q", got)
	}
	b.waitFor(ctx, "the last sync on the open item page", `document.querySelector("#last-sync .badge-ok")`)
	// The Jira sync card follows: Unlink instead of Link, the create in
	// its log.
	b.waitFor(ctx, "the linked Jira sync card", `document.querySelector("#sync #jira-unlink") && /create/.test(document.querySelector("#sync").textContent)`)
	if got := b.eval(ctx, stillMarked+` + " " + document.querySelectorAll("#sync").length`); got != "true 1" {
		t.Errorf("item page after the card's refresh (not reloaded, one card): %q", got)
	}
	b.shot(ctx, "live-item-after")

	b2.waitFor(ctx2, "a full backfill bar on the open activity page", `(p => p && p.value === 3 && p.max === 3)(document.getElementById("backfill")) && document.querySelector("#integration-live").dataset.state === "active"`)
	// The bar moved on the page: the values it showed end at 3.
	if got := b2.eval(ctx2, stillMarked+` + " " + window.__seen.join(",")`); !strings.HasPrefix(got, "true ") || !strings.HasSuffix(got, "3") {
		t.Errorf("activity page (not reloaded, values shown): %q, want true and values ending at 3", got)
	}
	if got := b2.text(ctx2, "#backfill-text"); !strings.HasPrefix(got, "3 of 3 items linked") {
		t.Errorf("backfill text after the sync: %q", got)
	}
	b2.shot(ctx2, "live-activity-after")

	b3.waitFor(ctx3, "the active state on the open target page", `document.querySelector('#integration-live-pill[data-state="active"]')`)
	if got := b3.eval(ctx3, stillMarked); got != "true" {
		t.Errorf("the target page was reloaded")
	}
	b3.shot(ctx3, "live-target-after")

	b4.waitFor(ctx4, "the active, backfilled row on the open integrated targets list", `(c => c && c.dataset.state === "active" && c.querySelector("progress").value === 3)(`+cell+`)`)
	if got := b4.eval(ctx4, stillMarked); got != "true" {
		t.Errorf("the integrated targets list was reloaded")
	}
	b4.shot(ctx4, "live-sync-setup-after")
}

// TestBrowserConnectShowsProgressAndFoldsErrors submits "Test and connect"
// against a Jira that holds the request, sees the disabled button with its
// spinner while it waits, then lets the request fail: the headline is for
// people, the library's error chain is folded under "Technical details",
// and the form keeps what was typed except the token.
func TestBrowserConnectShowsProgressAndFoldsErrors(t *testing.T) {
	chromiumPath(t)
	release := make(chan struct{})
	held := make(chan struct{}, 16)
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held <- struct{}{}
		<-release
		// Hang up without an answer: the client sees EOF.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	}))
	t.Cleanup(jira.Close)
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) })
	in := startServe(t, t.TempDir(), nil)
	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	b.open(ctx, "/integrations/jira/connect")
	b.do(ctx, "fill the connection",
		chromedp.SetValue(chromedp.CSS("#name"), "Held Jira"),
		chromedp.SendKeys(chromedp.CSS("#base_url"), jira.URL),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.test"),
		chromedp.SendKeys(chromedp.CSS("#api_token"), "secret-token"),
	)
	// The page being left cannot be asked once its navigation started:
	// a listener that runs after the UI's own records what the button
	// looks like while the request runs, in the tab's session storage.
	b.eval(ctx, `document.addEventListener("submit", () => {
		const btn = document.getElementById("connect-submit"), note = document.querySelector(".busy-note");
		sessionStorage.setItem("busy", [btn.disabled, btn.classList.contains("busy"), getComputedStyle(btn, "::before").animationName,
			note.checkVisibility(), note.textContent].join("|"));
	}), "listening"`)
	answered := make(chan int64, 1)
	go func() {
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#connect-submit"), chromedp.NodeVisible))
		if err != nil {
			t.Errorf("submit the connection: %v", err)
			answered <- 0
			return
		}
		answered <- resp.Status
	}()
	<-held // the request is at Jira now, and stays there
	b.shot(ctx, "connect-busy")
	released.Do(func() { close(release) })
	if got := <-answered; got != http.StatusUnprocessableEntity {
		t.Fatalf("connect to a Jira that hangs up: status %d, want 422", got)
	}
	if got := b.eval(ctx, `sessionStorage.getItem("busy")`); got != "true|true|spin|true|Testing the site and the credentials with Jira…" {
		t.Errorf("the button while the request ran (disabled|busy|animation|note shown|note): %q", got)
	}

	head := b.eval(ctx, `document.getElementById("connect-error").firstChild.textContent`)
	if !strings.HasPrefix(head, "Could not reach Jira") || strings.Contains(head, "EOF") || strings.Contains(head, `"`) {
		t.Errorf("error headline: %q, want words for people without the error chain", head)
	}
	if got := b.eval(ctx, `(d => d ? String(d.open) + " " + d.textContent : "none")(document.querySelector("#connect-error details"))`); !strings.HasPrefix(got, "false Technical details") || !strings.Contains(got, "EOF") {
		t.Errorf("technical details: %q, want folded, with the error chain", got)
	}
	got := b.eval(ctx, `["name", "base_url", "email", "api_token"].map(id => document.getElementById(id).value).join("|")`)
	if want := "Held Jira|" + jira.URL + "|admin@example.test|"; got != want {
		t.Errorf("form after the error: %q, want %q (the token not kept)", got, want)
	}
	if got := b.eval(ctx, `String(document.getElementById("connect-submit").disabled)`); got != "false" {
		t.Errorf("the button is still disabled on the answer page")
	}
	b.do(ctx, "open the details", chromedp.Click(chromedp.CSS("#connect-error summary")))
	b.shot(ctx, "connect-error-details")
}

// TestBrowserWebhookHealthAndRotation sends deliveries signed, unsigned,
// wrongly signed and repeated to the connection's webhook URL; the
// connection page counts them by result and lists the rejected ones with
// their reason. Rotating the secret asks first: opening the confirmation
// changes nothing (the old secret still works); confirming replaces it.
func TestBrowserWebhookHealthAndRotation(t *testing.T) {
	chromiumPath(t)
	_, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	_, conn, _, secret := integratedTarget(t, in, simURL)
	if secret == "" {
		t.Fatal("no webhook secret at creation")
	}
	deliver := func(id, signature, body string) int {
		t.Helper()
		status, _ := jirasim.PostDelivery(t, in.baseURL+"/webhooks/jira/"+conn.ID, id, signature, body)
		return status
	}
	body := func(n int) string {
		return fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"jira:issue_updated","issue":{"id":"99%d","key":"SEC-99%d","fields":{"project":{"key":"SEC"}}}}`, 1700000000000+n, n, n)
	}
	for _, d := range []struct {
		id, sig, body string
		want          int
	}{
		{"d1", jirasim.Signature(secret, []byte(body(1))), body(1), 202},
		{"d2", jirasim.Signature(secret, []byte(body(2))), body(2), 202},
		{"d2", jirasim.Signature(secret, []byte(body(2))), body(2), 200}, // Jira's retry
		{"d3", "", body(3), 401},
		{"d4", jirasim.Signature("not-the-secret", []byte(body(4))), "<script>alert(1)</script>" + body(4), 401},
	} {
		if got := deliver(d.id, d.sig, d.body); got != d.want {
			t.Fatalf("delivery %s: status %d, want %d", d.id, got, d.want)
		}
	}

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	b.open(ctx, "/integrations/jira/"+conn.ID)
	counts := b.eval(ctx, `Array.from(document.querySelectorAll("#webhook-counts tbody tr")).map(r => r.dataset.result + "=" + r.cells[1].textContent).join(" ")`)
	if want := "accepted=2 duplicate=1 unauthorized=2"; counts != want {
		t.Errorf("delivery counts: %q, want %q", counts, want)
	}
	if got := b.text(ctx, "#webhook-last"); !strings.Contains(got, "UTC") {
		t.Errorf("last delivery: %q", got)
	}
	rows := b.eval(ctx, `Array.from(document.querySelectorAll("#webhook-rejections tbody tr")).map(r => r.dataset.result + ":" + r.querySelector(".reason").textContent + ":" + (r.querySelector(".excerpt") || {}).textContent).join("\n")`)
	lines := strings.Split(rows, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "unauthorized:") || !strings.Contains(lines[0], "signature") ||
		!strings.Contains(lines[0], ":<script>alert(1)</script>{") || !strings.HasPrefix(lines[1], "unauthorized:") {
		t.Errorf("rejected deliveries:\n%s", rows)
	}
	if n := b.eval(ctx, `String(document.querySelectorAll("main script").length)`); n != "0" {
		t.Errorf("a rejected body became a script element")
	}
	b.do(ctx, "scroll to the webhook health", chromedp.ScrollIntoView(chromedp.CSS("#webhook-health")))
	b.shot(ctx, "connection-webhook-health")

	// Rotate asks first; asking changes nothing.
	b.do(ctx, "open the rotate confirmation", chromedp.Click(chromedp.CSS("#rotate-secret")), chromedp.WaitVisible(chromedp.CSS("#rotate-secret-confirm")))
	if got := b.text(ctx, "#rotate-confirm form"); !strings.Contains(got, "stops working") {
		t.Errorf("confirmation text: %q", got)
	}
	b.shot(ctx, "connection-rotate-confirm")
	if got := deliver("d5", jirasim.Signature(secret, []byte(body(5))), body(5)); got != 202 {
		t.Fatalf("the old secret after opening the confirmation: status %d, want 202", got)
	}
	if got := b.submit(ctx, "confirm the rotation", "#rotate-secret-confirm"); got != http.StatusOK {
		t.Fatalf("rotate: status %d", got)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "new webhook secret") {
		t.Errorf("after rotating: %q", got)
	}
	if s := b.value(ctx, "#webhook-secret"); len(s) < 32 || s == secret {
		t.Errorf("secret after rotating: %q (old %q)", s, secret)
	}
	if got := deliver("d6", jirasim.Signature(secret, []byte(body(6))), body(6)); got != 401 {
		t.Errorf("the old secret after rotating: status %d, want 401", got)
	}
}
