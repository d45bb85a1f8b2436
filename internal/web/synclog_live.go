package web

import (
	"net/http"
	"net/url"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The activity page's sync log is a live fragment like the integration's
// state (live.go): htmx asks for it again every 2 s with the page's filter,
// page (cursor) and the version it shows, and the answer is 204 until a
// row is added or changes (a failure recovered), so new events appear
// without a reload and without losing the filter or the page. The filter
// and the page are in the activity page's own URL, so a reload, a link or
// the back button show the same rows.

// syncLogPageSize is how many events one page of the sync log shows.
const syncLogPageSize = 50

// syncLogView is the sync log fragment.
type syncLogView struct {
	IntegrationID string
	Rows          []logRow
	// Failures counts the failures that still stand among the newest
	// events (-1 when unknown).
	Failures int
	Error    string
	// Result and Direction filter the rows ("" for all); Cursor is the
	// page (empty: the newest).
	Result, Direction, Cursor string
	// Filtered reports whether filters and pages are available.
	Filtered bool
	// Next is the activity page's URL of the older page ("" on the last).
	Next string
	// Newest is the URL of the first page with the same filter, shown on
	// an older page.
	Newest   string
	CanRetry bool
	CSRF     string
	Every    string
	// Query is the filter and page, encoded, for the polling URL.
	Query   string
	Version string
}

// syncLogFilter reads the sync log's filter and page from a request:
// result ok, error or skipped, direction to_jira or from_jira (else 400),
// and the cursor of a page.
func syncLogFilter(r *http.Request) (result, direction, cursor string, err error) {
	q := r.URL.Query()
	result, direction, cursor = q.Get("result"), q.Get("direction"), q.Get("cursor")
	switch result {
	case "", "ok", "error", "skipped":
	default:
		return "", "", "", &tracker.Error{Kind: tracker.EInvalid, Message: "invalid sync log filter", Fields: map[string]string{"result": "must be ok, error or skipped"}}
	}
	switch direction {
	case "", "to_jira", "from_jira":
	default:
		return "", "", "", &tracker.Error{Kind: tracker.EInvalid, Message: "invalid sync log filter", Fields: map[string]string{"direction": "must be to_jira or from_jira"}}
	}
	return result, direction, cursor, nil
}

// syncLog reads the sync log fragment of an integration for a request.
// An unusable cursor is the caller's error (4xx); a log that cannot be
// read is said in the fragment.
func (u *ui) syncLog(r *http.Request, sv *sessionView, v integration.View) (syncLogView, error) {
	result, direction, cursor, err := syncLogFilter(r)
	if err != nil {
		return syncLogView{}, err
	}
	d := syncLogView{IntegrationID: v.ID, Failures: -1, Result: result, Direction: direction, Cursor: cursor,
		CanRetry: u.cfg.RetryJob != nil, CSRF: sv.CSRF, Every: liveEvery}
	if u.cfg.SyncEvents != nil {
		evs, err := u.cfg.SyncEvents(r.Context(), v.ID, "")
		if err != nil {
			u.log.WarnContext(r.Context(), "list sync events", "integration", v.ID, "err", err)
			d.Error = "The sync log could not be read right now."
			return d, nil
		}
		var rows []logRow
		rows, d.Failures = readLog(evs)
		d.Rows = failuresFirst(rows)
	}
	if u.cfg.SyncEventPage == nil {
		return d, nil
	}
	d.Filtered, d.Rows = true, nil
	page, err := u.cfg.SyncEventPage(r.Context(), store.SyncEventFilter{IntegrationID: v.ID, Result: result, Direction: direction,
		Cursor: cursor, Limit: syncLogPageSize})
	switch {
	case tracker.KindOf(err) == tracker.EInvalid:
		return syncLogView{}, err // a cursor that is not one
	case err != nil:
		u.log.WarnContext(r.Context(), "list sync events", "integration", v.ID, "err", err)
		d.Error = "The sync log could not be read right now."
		return d, nil
	}
	for _, e := range page.Events {
		d.Rows = append(d.Rows, logRow{SyncEvent: e, Shown: e.Outcome})
	}
	base := "/integrations/targets/" + url.PathEscape(v.ID) + "/activity"
	filter := url.Values{}
	if result != "" {
		filter.Set("result", result)
	}
	if direction != "" {
		filter.Set("direction", direction)
	}
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}}
		for k, vs := range filter {
			next[k] = vs
		}
		d.Next = base + "?" + next.Encode() + "#sync-log"
	}
	if cursor != "" {
		d.Newest = base + "?" + filter.Encode() + "#sync-log"
	}
	if cursor != "" {
		filter.Set("cursor", cursor)
	}
	d.Query = filter.Encode()
	return d, nil
}

// handleSyncLogLive answers the sync log fragment:
// GET /integrations/targets/{id}/log?result=&direction=&cursor=&seen=.
func (u *ui) handleSyncLogLive(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if u.integ == nil {
		u.renderError(w, r, sv, errNoIntegration)
		return
	}
	v, err := u.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		u.liveFailed(w, r, sv, err)
		return
	}
	d, err := u.syncLog(r, sv, v)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.answerLive(w, r, "sync-log", &d, func(v string) { d.Version = v }, false)
}
