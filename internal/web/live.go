package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Live parts of pages. A page that shows something the sync changes (an
// item's Jira key and last sync, an integration's state and backfill
// progress) includes a fragment that htmx fetches again every few seconds
// and swaps in place (hx-trigger "every 2s"): the page follows the sync
// without a reload and without a second code path, because the first
// render and every refresh use the same template. The fragment routes are
// read like the page they belong to (same role, same session); a page that
// is closed stops asking. See docs/decisions.md ("Live updates by htmx
// polling of small fragments").

// liveEvery is how often an open page asks for its live fragments again.
const liveEvery = "every 2s"

// A fragment carries the version of what it shows (a hash of its own
// rendering) in the URL it polls; when nothing changed the answer is 204
// No Content, which htmx leaves alone: no DOM churn, no focus lost, nothing
// for a screen reader to announce again.

// versioned renders the live fragment name of data twice: once without a
// version to hash what it shows, then with that version (set through
// setVersion) in its polling URL. It returns the version and the HTML.
func (u *ui) versioned(name string, data any, setVersion func(string)) (string, string, error) {
	var buf strings.Builder
	if err := u.base.ExecuteTemplate(&buf, name, data); err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(buf.String()))
	v := hex.EncodeToString(sum[:8])
	setVersion(v)
	buf.Reset()
	err := u.base.ExecuteTemplate(&buf, name, data)
	return v, buf.String(), err
}

// answerLive writes a live fragment, or 204 when the page already shows
// this version of it. A fragment that changed since the version the page
// had also raises the htmx event "<name>-changed", so a bigger part of the
// page can follow on that event alone (the item page's Jira sync card:
// hx-trigger="item-live-changed from:body") instead of polling itself.
// The first poll of a page rendered without a version raises the event
// only when changed says the page is behind.
func (u *ui) answerLive(w http.ResponseWriter, r *http.Request, name string, data any, setVersion func(string), changed bool) {
	v, html, err := u.versioned(name, data, setVersion)
	if err != nil {
		u.log.ErrorContext(r.Context(), "render live fragment", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	seen := r.URL.Query().Get("seen")
	if seen == v {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if seen != "" || changed {
		w.Header().Set("HX-Trigger", name+"-changed")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(html))
}

// integrationLive is the live part of an integration's pages.
type integrationLive struct {
	Integration integration.View
	// Failures counts the failures of its sync log that still stand (-1
	// when the log is not available in this process).
	Failures int
	Every    string
	// View is "" for the activity page's block, "pill" for the target
	// page's header and "cell" for a row of the integrated targets list.
	View string
	// CSRF is the session's token for the pause and resume forms.
	CSRF string
	// Version identifies what the fragment shows (see answerLive).
	Version string
}

// itemLive is the live part of an item's page: its Jira issue and its
// last sync.
type itemLive struct {
	ItemID     string
	Jira       *tracker.JiraRef
	Integrated bool
	ProjectKey string
	LastSync   *logRow
	Every      string
	Version    string
}

// statusStopPolling is htmx's answer code for "stop polling": sent when
// what a fragment follows is gone (an item deleted, an integration
// removed), so an open page stops asking every 2 s.
const statusStopPolling = 286

// liveFailed answers a live fragment that cannot be read: gone for good
// stops the polling, anything else is the usual error (htmx keeps the old
// fragment and asks again).
func (u *ui) liveFailed(w http.ResponseWriter, r *http.Request, sv *sessionView, err error) {
	if tracker.KindOf(err) == tracker.ENotFound && r.Header.Get("HX-Request") == "true" {
		w.WriteHeader(statusStopPolling)
		return
	}
	u.renderError(w, r, sv, err)
}

func (u *ui) integrationLive(r *http.Request, v integration.View) integrationLive {
	d := integrationLive{Integration: v, Failures: -1, Every: liveEvery}
	if u.cfg.SyncEvents != nil {
		if evs, err := u.cfg.SyncEvents(r.Context(), v.ID, ""); err == nil {
			_, d.Failures = readLog(evs)
		}
	}
	return d
}

// handleIntegrationLive answers the live fragment of an integration:
// GET /integrations/targets/{id}/live (?view=pill or cell for the compact
// forms).
func (u *ui) handleIntegrationLive(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if u.integ == nil {
		u.renderError(w, r, sv, errNoIntegration)
		return
	}
	v, err := u.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		u.liveFailed(w, r, sv, err)
		return
	}
	view := r.URL.Query().Get("view")
	var d integrationLive
	switch view {
	case "":
		d = u.integrationLive(r, v)
	case "pill", "cell": // no failure count: no sync log read
		d = integrationLive{Integration: v, Failures: -1, Every: liveEvery, View: view}
	default:
		u.renderError(w, r, sv, tracker.Errorf(tracker.EInvalid, "view must be pill or cell"))
		return
	}
	d.CSRF = sv.CSRF
	u.answerLive(w, r, "integration-live", &d, func(v string) { d.Version = v }, false)
}

// handleItemLive answers the live fragment of an item:
// GET /items/{id}/live (?seen= its version, or ?key= the Jira key the page
// shows).
func (u *ui) handleItemLive(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	it, err := u.svc.GetItem(r.Context(), r.PathValue("id"))
	if err != nil {
		u.liveFailed(w, r, sv, err)
		return
	}
	d := itemLive{ItemID: it.ID, Every: liveEvery}
	if row := u.rows(r, []tracker.Item{it}); row[0].Jira != nil {
		d.Jira = row[0].Jira
	}
	if v, ok := u.integrationsByTarget(r)[it.TargetID]; ok {
		d.Integrated, d.ProjectKey = true, v.ProjectKey
		if u.cfg.SyncEvents != nil {
			if evs, err := u.cfg.SyncEvents(r.Context(), v.ID, it.ID); err == nil {
				rows, _ := readLog(evs)
				for i := range rows {
					if d.LastSync == nil || rows[i].At.After(d.LastSync.At) {
						d.LastSync = &rows[i]
					}
				}
			}
		}
	}
	// A page rendered without a version says which Jira key it shows
	// (?key=, empty for none): its sync card is behind when that changed.
	q := r.URL.Query()
	current := ""
	if d.Jira != nil {
		current = d.Jira.Key
	}
	behind := q.Get("seen") == "" && q.Has("key") && q.Get("key") != current
	u.answerLive(w, r, "item-live", &d, func(v string) { d.Version = v }, behind)
}
