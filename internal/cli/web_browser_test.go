package cli

// Browser tests of the UI (internal/web): the real process, started through
// Run on port 0, driven by headless Chromium through chromedp, against an
// in-process Jira simulator.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// chromiumPath finds Debian's chromium (or another Chrome); tests skip when
// there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary found: install Debian's chromium (apt-get install -y chromium) to run the browser tests")
	return ""
}

// tab is one headless Chromium tab with helpers that fail the test.
type tab struct {
	t       *testing.T
	base    string
	shots   string
	n       int
	dialogs atomic.Int32
	opened  chan string // messages of dialogs that opened
}

// newTab starts a fresh headless Chromium (its own profile, no network
// beyond this machine) with a deadline for the whole test.
func newTab(t *testing.T, base string) (*tab, context.Context) {
	t.Helper()
	exe := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The browser lives as long as the first Run's context: start it on
	// ctx itself, and bound the test with a timer that cancels it.
	b := &tab{t: t, base: base, shots: t.ArtifactDir(), opened: make(chan string, 16)}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			select {
			case b.opened <- ev.Message:
			default:
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	deadline := time.AfterFunc(2*time.Minute, cancelCtx)
	t.Cleanup(func() {
		deadline.Stop()
		cancelCtx()
		cancelAlloc()
	})
	t.Logf("screenshots of %s go to %s", t.Name(), b.shots)
	return b, ctx
}

func (b *tab) do(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot(ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates and returns the HTTP status of the page.
func (b *tab) open(ctx context.Context, path string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// submit clicks a button that posts a form and returns the status of the
// page that comes back (after redirects).
func (b *tab) submit(ctx context.Context, what, button string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button), chromedp.NodeVisible))
	if err != nil {
		b.shot(ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
	return resp.Status
}

func (b *tab) text(ctx context.Context, sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.shot(ctx, "failed-text")
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) value(ctx context.Context, sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

func (b *tab) eval(ctx context.Context, js string) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *tab) location(ctx context.Context) string {
	b.t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(s, b.base)
}

// shot saves a full-page PNG screenshot named after the step.
func (b *tab) shot(ctx context.Context, name string) {
	b.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	p := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// signIn signs in through the form with the test admin token.
func (b *tab) signIn(ctx context.Context, token string) {
	b.t.Helper()
	if got := b.open(ctx, "/"); got != http.StatusOK {
		b.t.Fatalf("GET / (redirected to sign in): status %d", got)
	}
	if loc := b.location(ctx); loc != "/signin" {
		b.t.Fatalf("signed out, / went to %q, want /signin", loc)
	}
	b.shot(ctx, "signin")
	b.do(ctx, "type the token", chromedp.SendKeys(chromedp.CSS("#token"), token))
	if got := b.submit(ctx, "sign in", `form[action="/signin"] button[type=submit]`); got != http.StatusOK {
		b.t.Fatalf("sign in: status %d", got)
	}
	if loc := b.location(ctx); loc != "/dashboard" {
		b.t.Fatalf("after sign-in: at %q, want /dashboard", loc)
	}
}

// createTarget creates a target through the Targets page and returns its id.
func (b *tab) createTarget(ctx context.Context, name, description string) string {
	b.t.Helper()
	b.open(ctx, "/targets")
	b.do(ctx, "fill the new target", chromedp.SendKeys(chromedp.CSS("#name"), name), chromedp.SendKeys(chromedp.CSS("#description"), description))
	if got := b.submit(ctx, "create target "+name, `form[action="/targets"] button[type=submit]`); got != http.StatusOK {
		b.t.Fatalf("create target %s: status %d", name, got)
	}
	loc := b.location(ctx)
	if !strings.HasPrefix(loc, "/targets/") {
		b.t.Fatalf("after creating a target: at %q", loc)
	}
	return strings.TrimPrefix(loc, "/targets/")
}

// createItem creates a vulnerability through the target page and returns
// the item's id.
func (b *tab) createItem(ctx context.Context, targetID, title, severity string) string {
	b.t.Helper()
	b.open(ctx, "/targets/"+targetID)
	b.do(ctx, "fill the new item", chromedp.SendKeys(chromedp.CSS("#title"), title), chromedp.SetValue(chromedp.CSS("#severity"), severity))
	if got := b.submit(ctx, "create item", `#new-item button[type=submit]`); got != http.StatusOK {
		b.t.Fatalf("create item: status %d", got)
	}
	loc := b.location(ctx)
	if !strings.HasPrefix(loc, "/items/") {
		b.t.Fatalf("after creating an item: at %q", loc)
	}
	return strings.TrimPrefix(loc, "/items/")
}

// TestBrowserAdminFlow follows PRODUCT.md §2 in a browser: sign in, create
// a target and a vulnerability, connect Jira (the simulator), integrate the
// target with SEC (a second target on SEC is refused), configure the
// mapping (the missing Component default is shown next to its field, then
// fixed), and set up the webhook; then the sync runs: a new item gets its
// Jira key, and a transition made in Jira shows on the item page.
func TestBrowserAdminFlow(t *testing.T) {
	chromiumPath(t)
	_, simURL := jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	b, ctx := newTab(t, in.baseURL)

	b.signIn(ctx, in.token)
	b.shot(ctx, "dashboard-empty")
	tid := b.createTarget(ctx, "payments-api", "Card payments")
	vid := b.createItem(ctx, tid, "SQL injection in /search", "critical")
	if got := b.text(ctx, "#item-title"); got != "SQL injection in /search" {
		t.Fatalf("item page title: got %q", got)
	}
	b.do(ctx, "comment", chromedp.SendKeys(chromedp.CSS("#body"), "Reproduced with sqlmap."))
	b.submit(ctx, "add comment", `#comments button[type=submit]`)
	if got := b.text(ctx, "#comments .comment"); !strings.Contains(got, "Reproduced with sqlmap.") || !strings.Contains(got, "vulnsync") {
		t.Fatalf("comment on the item page: got %q", got)
	}
	b.shot(ctx, "item")
	b.open(ctx, "/targets/"+tid)
	if got := b.text(ctx, "table.items .item-title"); got != "SQL injection in /search" {
		t.Fatalf("item list: got %q", got)
	}
	b.shot(ctx, "target-items")

	// Integrations → Jira → Connect.
	b.open(ctx, "/integrations")
	b.shot(ctx, "integrations-empty")
	b.submit(ctx, "open connect", `a[href="/integrations/jira/connect"]`)
	b.do(ctx, "fill the connection",
		chromedp.SetValue(chromedp.CSS("#name"), "Jira (simulator)"),
		chromedp.SendKeys(chromedp.CSS("#base_url"), simURL),
		chromedp.Click(chromedp.CSS(`input[name=deployment][value=cloud]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.test"),
		chromedp.SendKeys(chromedp.CSS("#api_token"), "admin-token"),
	)
	if vis := b.eval(ctx, `String(document.querySelector("#pat").checkVisibility()) + "/" + String(document.querySelector("#email").checkVisibility())`); vis != "false/true" {
		t.Errorf("Cloud chosen: PAT/email visible: got %s, want false/true", vis)
	}
	b.shot(ctx, "connect")
	if got := b.submit(ctx, "connect", "#connect-submit"); got != http.StatusOK {
		t.Fatalf("connect: status %d", got)
	}
	connPath := b.location(ctx)
	secret := b.value(ctx, "#webhook-secret")
	if len(secret) < 32 {
		t.Fatalf("webhook secret right after connecting: got %q", secret)
	}
	if got := b.value(ctx, "#webhook-url"); !strings.HasPrefix(got, in.baseURL+"/webhooks/jira/") {
		t.Fatalf("webhook URL: got %q", got)
	}
	b.do(ctx, "copy the webhook URL", chromedp.Click(chromedp.CSS(`button[data-copy="webhook-url"]`)), chromedp.WaitVisible(chromedp.CSS(`button.copied[data-copy="webhook-url"]`)))
	b.shot(ctx, "connection-new-secret")
	b.do(ctx, "test connection", chromedp.Click(chromedp.CSS("#test-connection")), chromedp.WaitVisible(chromedp.CSS("#test-result.result-ok")))
	if got := b.text(ctx, "#test-result"); !strings.Contains(got, "Connection works.") || !strings.Contains(got, "Jira Cloud") ||
		!strings.Contains(got, "Webhook API and signing") || !strings.Contains(got, "✔") {
		t.Fatalf("test connection result: got %q", got)
	}
	if loc := b.location(ctx); loc != connPath {
		t.Fatalf("test connection left the page (htmx swap expected): at %q", loc)
	}
	b.shot(ctx, "test-connection")

	// Targets → Configure Two-Way Jira Sync → Integrate Target.
	b.open(ctx, "/targets")
	b.submit(ctx, "open sync setup", `a[href="/integrations/targets"]`)
	b.do(ctx, "choose target and project",
		chromedp.Click(chromedp.CSS(`input[name=target][value="`+tid+`"]`)),
		chromedp.SetValue(chromedp.CSS("#project_key"), "SEC"),
	)
	b.shot(ctx, "sync-setup")
	if got := b.submit(ctx, "integrate", "#integrate-submit"); got != http.StatusOK {
		t.Fatalf("integrate: status %d", got)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Integrated payments-api with Jira project SEC") {
		t.Fatalf("after integrating: flash %q", got)
	}
	if got := b.text(ctx, `#integrated-targets tr[data-target="payments-api"]`); !strings.Contains(got, "SEC") || !strings.Contains(got, "needs_mapping") {
		t.Fatalf("Integrated Target List row: got %q", got)
	}
	b.shot(ctx, "integrated")

	// One project ↔ one target: a second target on SEC is refused with the rule.
	other := b.createTarget(ctx, "mobile-app", "iOS and Android")
	b.open(ctx, "/integrations/targets")
	b.do(ctx, "choose the second target", chromedp.Click(chromedp.CSS(`input[name=target][value="`+other+`"]`)), chromedp.SetValue(chromedp.CSS("#project_key"), "SEC"))
	if got := b.submit(ctx, "integrate a second target", "#integrate-submit"); got != http.StatusConflict {
		t.Fatalf("second target on SEC: status %d, want 409", got)
	}
	if got := b.text(ctx, ".results .flash-error"); !strings.Contains(got, "one project maps to one target") || !strings.Contains(got, "payments-api") {
		t.Fatalf("refusal message: got %q", got)
	}
	b.shot(ctx, "integrate-refused")

	// Configure the mapping.
	b.submit(ctx, "open configure", `#integrated-targets tr[data-target="payments-api"] a[href$="/configure"]`)
	if got := b.text(ctx, ".flash-info"); !strings.Contains(got, "Not saved yet") {
		t.Fatalf("configure page: got %q", got)
	}
	b.shot(ctx, "configure-suggested")
	if got := b.submit(ctx, "save the suggested mapping", "#save-mapping"); got != http.StatusUnprocessableEntity {
		t.Fatalf("saving without a Component default: status %d, want 422", got)
	}
	if got := b.text(ctx, `[data-error-for="defaults.customfield_10052"]`); !strings.Contains(got, "Component (customfield_10052) is required on Bug") {
		t.Fatalf("problem next to the Component default: got %q", got)
	}
	if got := b.eval(ctx, `document.getElementById("default.customfield_10052").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the Component input is not marked invalid: %q", got)
	}
	b.do(ctx, "scroll to the problem", chromedp.ScrollIntoView(chromedp.CSS(`[data-error-for="defaults.customfield_10052"]`)))
	b.shot(ctx, "configure-missing-component")
	b.do(ctx, "choose a Component default", chromedp.SetValue(chromedp.CSS(`select[name="default.customfield_10052"]`), "Web"))
	if got := b.submit(ctx, "save the fixed mapping", "#save-mapping"); got != http.StatusOK {
		t.Fatalf("saving with a Component default: status %d", got)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "Mapping saved") {
		t.Fatalf("after saving: flash %q", got)
	}
	b.shot(ctx, "configure-saved")
	integID := strings.Split(strings.TrimPrefix(b.location(ctx), "/integrations/targets/"), "/")[0]
	var view struct {
		State   string `json:"state"`
		Mapping struct {
			Defaults   map[string]map[string]string `json:"defaults"`
			IssueTypes map[string]string            `json:"issue_types"`
		} `json:"mapping"`
	}
	in.mustDo(200, "GET", "/api/v1/integrations/"+integID, nil, &view)
	if view.State != "active" || view.Mapping.Defaults["customfield_10052"]["value"] != "Web" || view.Mapping.IssueTypes["vulnerability"] != "Bug" {
		t.Fatalf("integration through the API after saving: %+v", view)
	}

	// Webhook: register it in Jira from the connection page.
	b.open(ctx, connPath)
	if got := b.eval(ctx, `document.getElementById("webhook-secret") === null ? "hidden" : "shown"`); got != "hidden" {
		t.Errorf("the webhook secret is shown again on a later visit")
	}
	if got := b.text(ctx, "#webhook-jql"); got != `project in ("SEC")` {
		t.Errorf("JQL in the Jira steps: got %q", got)
	}
	if got := b.submit(ctx, "register the webhook", "#register-webhook"); got != http.StatusOK {
		t.Fatalf("register webhook: status %d", got)
	}
	if got := b.text(ctx, ".flash-ok"); !strings.Contains(got, "registered in Jira") {
		t.Fatalf("after registering: flash %q (errors: %q)", got, b.eval(ctx, `Array.from(document.querySelectorAll(".flash-error")).map(e => e.textContent).join("; ")`))
	}
	b.shot(ctx, "webhook-registered")
	b.open(ctx, "/integrations/targets/"+integID+"/activity")
	b.shot(ctx, "activity")
	b.open(ctx, "/items/"+vid)
	b.shot(ctx, "item-integrated")

	// With the sync running: a new vulnerability gets its Jira issue, and
	// its key shows on the item page and in the list.
	nid := b.createItem(ctx, tid, "Stored XSS in profile", "high")
	key := b.eventually(ctx, "the Jira key on the item page", "/items/"+nid, `(document.getElementById("jira-key") || {}).textContent || ""`, func(v string) bool {
		return strings.HasPrefix(v, "SEC-")
	})
	if href := b.eval(ctx, `document.getElementById("jira-key").getAttribute("href")`); href != simURL+"/browse/"+key {
		t.Errorf("Jira link: got %q, want %q", href, simURL+"/browse/"+key)
	}
	b.shot(ctx, "item-linked")
	b.open(ctx, "/targets/"+tid)
	if got := b.eval(ctx, `Array.from(document.querySelectorAll("table.items .jira-key")).map(a => a.textContent).sort().join(",")`); !strings.Contains(got, key) {
		t.Errorf("Jira keys in the item list: got %q, want %s among them", got, key)
	}
	b.shot(ctx, "target-items-linked")

	// A developer starts progress in Jira: the status comes back.
	req, _ := http.NewRequest("POST", simURL+"/rest/api/3/issue/"+key+"/transitions", strings.NewReader(`{"transition":{"id":"21"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("dev@example.test", "dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("transition in the simulator: status %d", resp.StatusCode)
	}
	b.eventually(ctx, "the status from Jira on the item page", "/items/"+nid, `document.getElementById("item-status").textContent`, func(v string) bool {
		return v == "In progress" // the status's label
	})
	if got := b.text(ctx, "#history"); !strings.Contains(got, "In progress") || !strings.Contains(got, "jira") {
		t.Errorf("history after the Jira transition: got %q", got)
	}
	b.shot(ctx, "item-status-from-jira")
	b.open(ctx, "/integrations/targets/"+integID+"/activity")
	b.shot(ctx, "activity-synced")
	// Backfill: every item of the target is linked, the bar says so.
	b.submit(ctx, "start a backfill", `form[action$="/backfill"] button`)
	b.eventually(ctx, "a full backfill progress bar", "/integrations/targets/"+integID+"/activity",
		`(p => p ? p.value + "/" + p.max : "none")(document.getElementById("backfill"))`, func(v string) bool {
			parts := strings.Split(v, "/")
			return len(parts) == 2 && parts[0] == parts[1] && parts[0] != "0"
		})
	b.shot(ctx, "activity-backfilled")

	// A phone-sized window: nothing is wider than the screen.
	b.do(ctx, "narrow the window", chromedp.EmulateViewport(400, 800))
	for _, path := range []string{"/items/" + nid, "/integrations/targets/" + integID + "/configure"} {
		b.open(ctx, path)
		if got := b.eval(ctx, `String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
			t.Errorf("%s at 400 px: the page scrolls sideways (%s px wide); too wide: %s", path, b.eval(ctx, `String(document.documentElement.scrollWidth)`),
				b.eval(ctx, `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest(".scroll")).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right)).join(", ")`))
		}
		b.shot(ctx, "narrow-"+strings.Split(strings.TrimPrefix(path, "/"), "/")[0])
	}
}

// eventually reloads path until the JavaScript expression's value
// satisfies ok, and returns that value; it fails after 30 s.
func (b *tab) eventually(ctx context.Context, what, path, expr string, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		b.open(ctx, path)
		if last = b.eval(ctx, expr); ok(last) {
			return last
		}
		if time.Now().After(deadline) {
			b.shot(ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("%s: still %q after 30 s", what, last)
		}
		<-tick.C
	}
}

// TestBrowserShowsScriptTitlesAsText checks that a vulnerability titled
// <script>alert(1)</script> is shown as text and runs nothing.
func TestBrowserShowsScriptTitlesAsText(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	const evil = `<script>alert(1)</script>`
	var target, item idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "xss-" + evil, "description": `"><img src=x onerror=alert(2)>`}, &target)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": evil, "severity": "high",
		"description": `<img src=x onerror=alert(3)>`, "fields": map[string]any{"cwe": `<svg onload=alert(4)>`}}, &item)
	in.mustDo(201, "POST", "/api/v1/items/"+item.ID+"/comments", map[string]any{"body": `<iframe src="javascript:alert(5)"></iframe>`}, nil)

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	for _, path := range []string{"/targets", "/targets/" + target.ID, "/items/" + item.ID} {
		if got := b.open(ctx, path); got != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, got)
		}
		// Only our two script files are scripts; nothing user-supplied
		// became an element.
		if got := b.eval(ctx, `Array.from(document.scripts).map(s => s.src ? new URL(s.src).pathname : "inline").join(",")`); got != "/static/htmx.min.js,/static/app.js" {
			t.Errorf("GET %s: scripts in the page: %q", path, got)
		}
		if got := b.eval(ctx, `String(document.querySelectorAll("main img, main svg, main iframe").length)`); got != "0" {
			t.Errorf("GET %s: user data became %s elements", path, got)
		}
	}
	if got := b.text(ctx, "#item-title"); got != evil {
		t.Errorf("item title in the DOM: got %q, want the literal text %q", got, evil)
	}
	if got := strings.TrimSpace(b.text(ctx, "#comments .comment .markdown")); got != `<iframe src="javascript:alert(5)"></iframe>` {
		t.Errorf("comment in the DOM: got %q", got)
	}
	b.shot(ctx, "xss-item")
	if n := b.dialogs.Load(); n != 0 {
		t.Fatalf("%d dialogs opened while showing user data", n)
	}
	// Control: the dialog watch does see a dialog when one opens.
	b.eval(ctx, `setTimeout(() => alert("probe"), 0), "scheduled"`)
	select {
	case msg := <-b.opened:
		if msg != "probe" {
			t.Fatalf("the only dialog should be the probe, got %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the dialog watch saw no dialog after alert()")
	}
}

// TestBrowserRefusesFormsWithoutCSRFToken submits the New target form with
// its token removed, and the same form from another origin with a valid
// token: both are refused with 403 and create nothing.
func TestBrowserRefusesFormsWithoutCSRFToken(t *testing.T) {
	chromiumPath(t)
	in := startServe(t, t.TempDir(), nil)
	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token)
	before := in.snapshot()

	b.open(ctx, "/targets")
	token := b.value(ctx, `form[action="/targets"] input[name=csrf_token]`)
	b.eval(ctx, `document.querySelector('form[action="/targets"] input[name=csrf_token]').remove(), "removed"`)
	b.do(ctx, "fill the form", chromedp.SendKeys(chromedp.CSS("#name"), "forged-without-token"))
	if got := b.submit(ctx, "submit without token", `form[action="/targets"] button[type=submit]`); got != http.StatusForbidden {
		t.Fatalf("form without its CSRF token: status %d, want 403", got)
	}
	if got := b.text(ctx, ".error-message"); !strings.Contains(got, "reload the page") {
		t.Errorf("refusal page: got %q", got)
	}
	b.shot(ctx, "csrf-refused")

	// Another site on this machine (another port: same-site, not
	// same-origin) posts the form with the real token: refused too.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/targets">
<input name="csrf_token" value="%s"><input name="name" value="forged-cross-origin"><button id="go">go</button></form>`, in.baseURL, token)
	}))
	t.Cleanup(evil.Close)
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#go"), chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden {
		t.Fatalf("cross-origin post with a valid token: status %d, want 403", resp.Status)
	}
	b.shot(ctx, "cross-origin-refused")

	if diff := cmp.Diff(before, in.snapshot(), rawJSON); diff != "" {
		t.Fatalf("refused forms changed the store:\n%s", diff)
	}
	// The session is intact and the genuine form still works.
	b.open(ctx, "/targets")
	b.do(ctx, "fill the form", chromedp.SendKeys(chromedp.CSS("#name"), "genuine"))
	if got := b.submit(ctx, "genuine submit", `form[action="/targets"] button[type=submit]`); got != http.StatusOK {
		t.Fatalf("genuine form: status %d", got)
	}
}

// TestBrowserDashboard signs in and lands on the dashboard: the chart is an
// image named by its title (which carries the numbers), the numbers are
// also in a table hidden from sight only, and each target has its row.
func TestBrowserDashboard(t *testing.T) {
	chromiumPath(t)
	_, simURL := jirasim.StartTest(t, jirasim.Config{Seed: 1})
	in := startServe(t, t.TempDir(), nil)
	var payments, website, conn, integ idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api", "description": "Card payments"}, &payments)
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "website", "description": "Marketing site"}, &website)
	in.mustDo(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "Jira (simulator)", "base_url": simURL,
		"auth": map[string]any{"type": "basic", "email": "admin@example.test", "api_token": jirasim.AdminToken}}, &conn)
	in.mustDo(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": payments.ID, "project_key": "SEC"}, &integ)
	in.mustDo(200, "PUT", "/api/v1/integrations/"+integ.ID+"/mapping", mapping.Example, nil)
	for _, it := range []struct {
		target, kind, severity, status string
		n                              int
	}{
		{payments.ID, "vulnerability", "critical", "open", 3},
		{payments.ID, "vulnerability", "high", "in_progress", 2},
		{payments.ID, "vulnerability", "medium", "resolved", 4},
		{website.ID, "vulnerability", "low", "open", 1},
		{website.ID, "risk", "medium", "accepted_risk", 1},
	} {
		for i := range it.n {
			in.mustDo(201, "POST", "/api/v1/targets/"+it.target+"/items", map[string]any{"kind": it.kind,
				"title": fmt.Sprintf("%s %s %d", it.kind, it.status, i), "severity": it.severity, "status": it.status}, nil)
		}
	}

	b, ctx := newTab(t, in.baseURL)
	b.signIn(ctx, in.token) // lands on /dashboard
	if got := b.text(ctx, "#unresolved-total"); got != "6" {
		t.Errorf("unresolved total: got %q, want 6", got)
	}
	// The accessible name of the chart is its <title>, its description the
	// numbers.
	name := b.eval(ctx, `(() => {
		const svg = document.querySelector("#chart-status svg");
		return svg.getAttribute("role") + "|" + svg.getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id).textContent).join("|");
	})()`)
	if want := "img|Items by status|Open: 4, In progress: 2, Fixed: 0, Resolved: 4, Accepted risk: 1, False positive: 0."; name != want {
		t.Errorf("chart's role and name: got %q, want %q", name, want)
	}
	if got := b.eval(ctx, `String(document.querySelector("#chart-status .visually-hidden").getBoundingClientRect().width <= 1) + "/" + document.querySelector("#chart-status table").textContent`); !strings.HasPrefix(got, "true/") || !strings.Contains(got, "In progress2") {
		t.Errorf("the chart's data table: got %q, want hidden from sight with the numbers", got)
	}
	if got := b.eval(ctx, `String(document.querySelector('#chart-status rect[data-value="4"]').getBoundingClientRect().width > document.querySelector('#chart-status rect[data-value="2"]').getBoundingClientRect().width)`); got != "true" {
		t.Errorf("the bar of 4 is not longer than the bar of 2")
	}
	row := b.text(ctx, `#dash-targets-table tr[data-target="`+payments.ID+`"]`)
	if f := strings.Fields(row); strings.Join(f, " ") != "payments-api 3 2 0 4 0 SEC Active" {
		t.Errorf("payments-api row: got %q, want payments-api 3 2 0 4 0 SEC Active (open, in progress, overdue, resolved, other)", row)
	}
	severity := b.eval(ctx, `(() => {
		const svg = document.querySelector("#chart-severity svg");
		return svg.getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id).textContent).join("|");
	})()`)
	if want := "Open items by severity|Critical: 3, High: 2, Medium: 0, Low: 1, Info: 0."; severity != want {
		t.Errorf("severity chart's name: got %q, want %q", severity, want)
	}
	if got := b.text(ctx, `#dash-sync-table tr[data-integration="`+integ.ID+`"] td:nth-of-type(3)`); got != "Active" {
		t.Errorf("sync health state of payments-api: got %q, want Active", got)
	}
	b.shot(ctx, "dashboard")
}
