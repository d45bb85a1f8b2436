package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRequestsAndDecidesAcceptances, in Chromium: an analyst opens
// an item's acceptances, whose request form offers expiry dates from
// tomorrow to the maximum; a date beyond it (the browser's own check
// bypassed) comes back refused with what was typed kept; a date within it
// opens a pending request until that day. Another admin rejects it with a
// note, and revokes an approved one with a note: both notes are stored and
// shown. The page passes axe-core with the form and its error.
func TestBrowserRequestsAndDecidesAcceptances(t *testing.T) {
	chromiumPath(t)
	axeJS, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	in := startServe(t, t.TempDir(), nil)
	var target, item, user idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api"}, &target)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Weak TLS ciphers", "severity": "low"}, &item)
	in.mustDo(201, "POST", "/api/v1/users", map[string]any{"email": "ben@example.test", "name": "Ben", "role": "admin"}, &user)
	var tok struct {
		Token string `json:"token"`
	}
	in.mustDo(201, "POST", "/api/v1/users/"+user.ID+"/tokens", map[string]any{"name": "browser"}, &tok)
	page := "/acceptances?state=&item_id=" + item.ID
	axe := func(b *tab, ctx context.Context, what string) {
		t.Helper()
		if vs := b.axeCheck(ctx, string(axeJS)); len(vs) > 0 {
			t.Errorf("%s: %d serious or critical accessibility violations:%s", what, len(vs), formatViolations(vs))
		}
	}

	a, actx := newTab(t, in.baseURL)
	a.signIn(actx, in.token)
	a.open(actx, page)
	a.shot(actx, "acceptance-request-form")
	axe(a, actx, "acceptances page with the request form")
	today := time.Now().UTC()
	if got, want := a.eval(actx, `document.querySelector("#request-expires").min`), today.AddDate(0, 0, 1).Format("2006-01-02"); got != want {
		t.Errorf("earliest expiry offered: %q, want tomorrow %q", got, want)
	}
	if got, want := a.eval(actx, `document.querySelector("#request-expires").max`), today.AddDate(0, 0, 1098).Format("2006-01-02"); got != want {
		t.Errorf("latest expiry offered: %q, want %q (the maximum)", got, want)
	}

	// Beyond the maximum: refused by the server, the form kept.
	tooFar := today.AddDate(0, 0, 1200).Format("2006-01-02")
	a.do(actx, "fill a request beyond the maximum",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#request-form").noValidate = true`),
		chromedp.SetValue(chromedp.CSS("#request-reason"), "clients on Windows XP need RC4 until the migration"),
		chromedp.SetValue(chromedp.CSS("#request-expires"), tooFar),
	)
	if st := a.submit(actx, "request beyond the maximum", "#request-submit"); st != http.StatusBadRequest {
		t.Errorf("a request beyond the maximum answered %d, want 400", st)
	}
	a.shot(actx, "acceptance-request-refused")
	if got := a.text(actx, "#request-error"); !strings.Contains(got, "Expiry date must be within 1098 days") {
		t.Errorf("refusal: %q", got)
	}
	if got := a.value(actx, "#request-reason"); got != "clients on Windows XP need RC4 until the migration" {
		t.Errorf("the reason typed was not kept: %q", got)
	}
	if got := a.value(actx, "#request-expires"); got != tooFar {
		t.Errorf("the date typed was not kept: %q", got)
	}
	axe(a, actx, "acceptances page with a refused request")

	// Within it: a pending request until that day.
	until := today.AddDate(0, 0, 45).Format("2006-01-02")
	a.do(actx, "choose a date within the maximum", chromedp.SetValue(chromedp.CSS("#request-expires"), until))
	a.submit(actx, "request", "#request-submit")
	if got := a.text(actx, ".flash-ok"); !strings.Contains(got, "requested until "+until) {
		t.Errorf("flash after the request: %q", got)
	}
	row := a.text(actx, "table.acceptances tbody tr")
	for _, want := range []string{"clients on Windows XP need RC4", until, "pending"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new row lacks %q: %q", want, row)
		}
	}

	// Another admin rejects it with a note.
	b, bctx := newTab(t, in.baseURL)
	b.signIn(bctx, tok.Token)
	b.open(bctx, page)
	b.do(bctx, "write why", chromedp.SetValue(chromedp.CSS("table.acceptances form[action$=reject] input[name=note]"), "needs a compensating control first"))
	b.submit(bctx, "reject", "table.acceptances button.reject")
	b.shot(bctx, "acceptance-rejected-with-note")
	if got := b.text(bctx, "table.acceptances tbody tr"); !strings.Contains(got, "rejected") || !strings.Contains(got, "needs a compensating control first") {
		t.Errorf("the rejected row does not show the note: %q", got)
	}
	if loc := b.location(bctx); loc != "/acceptances?item_id="+item.ID+"&state=" {
		t.Errorf("after the decision the page is %q, want the item's acceptances", loc)
	}

	// A second request, approved, then revoked with a note.
	a.open(actx, page)
	a.do(actx, "request again", chromedp.SetValue(chromedp.CSS("#request-reason"), "compensating control: RC4 only behind the VPN"))
	a.submit(actx, "request again", "#request-submit")
	b.open(bctx, "/acceptances?state=pending&item_id="+item.ID)
	b.submit(bctx, "approve", "table.acceptances button.approve")
	b.open(bctx, "/acceptances?state=approved&item_id="+item.ID)
	b.do(bctx, "write why", chromedp.SetValue(chromedp.CSS("table.acceptances form[action$=revoke] input[name=note]"), "the VPN is gone"))
	b.submit(bctx, "revoke", "table.acceptances button.revoke")
	var list struct {
		Acceptances []struct {
			State string `json:"state"`
			Note  string `json:"note"`
		} `json:"acceptances"`
	}
	in.mustDo(200, "GET", "/api/v1/acceptances?item_id="+item.ID, nil, &list)
	notes := map[string]string{}
	for _, x := range list.Acceptances {
		notes[x.State] = x.Note
	}
	if notes["rejected"] != "needs a compensating control first" || notes["revoked"] != "the VPN is gone" {
		t.Errorf("stored notes by state: %v", notes)
	}
	var got struct {
		Status string `json:"status"`
	}
	if in.mustDo(200, "GET", "/api/v1/items/"+item.ID, nil, &got); got.Status != "open" {
		t.Errorf("after the revocation the item is %s, want open", got.Status)
	}
}
