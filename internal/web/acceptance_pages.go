package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// acceptancesData is the acceptances page: who asked to accept which risk,
// why and until when, and where each request stands.
type acceptancesData struct {
	Rows   []acceptanceRow
	State  string
	ItemID string
	States []tracker.AcceptanceState
	Next   string
}

// acceptanceRow is one acceptance with its item's title.
type acceptanceRow struct {
	tracker.Acceptance
	ItemTitle string
}

// handleAcceptances lists acceptances newest first, filtered by state
// (pending by default, the ones that need a decision) and item (the item
// page links here).
func (u *ui) handleAcceptances(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	q := r.URL.Query()
	state := q.Get("state")
	if !q.Has("state") {
		state = string(tracker.AcceptancePending)
	}
	f := store.AcceptanceFilter{State: tracker.AcceptanceState(state), ItemID: q.Get("item_id"), Cursor: q.Get("cursor"), Limit: 100}
	if f.State != "" && !f.State.Valid() {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EInvalid, "unknown state %q", state))
		return
	}
	page, err := u.svc.ListAcceptances(r.Context(), f)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d := acceptancesData{State: state, ItemID: f.ItemID, States: []tracker.AcceptanceState{tracker.AcceptancePending, tracker.AcceptanceApproved,
		tracker.AcceptanceRejected, tracker.AcceptanceRevoked, tracker.AcceptanceExpired}}
	for _, a := range page.Acceptances {
		row := acceptanceRow{Acceptance: a, ItemTitle: a.ItemID}
		if it, err := u.svc.GetItem(r.Context(), a.ItemID); err == nil {
			row.ItemTitle = it.Title
		}
		d.Rows = append(d.Rows, row)
	}
	if page.NextCursor != "" {
		d.Next = "/acceptances?" + url.Values{"state": {state}, "item_id": {f.ItemID}, "cursor": {page.NextCursor}}.Encode()
	}
	u.render(w, r, sv, http.StatusOK, "acceptances", "Risk acceptances", "acceptances", d)
}

// decideAcceptance answers the page's approve, reject and revoke buttons;
// the outcome (or why it was refused: the requester approving their own,
// a request decided meanwhile) is flashed on the list.
func (u *ui) decideAcceptance(decide func(ctx context.Context, actor service.Actor, id, note string) (tracker.Acceptance, error), done string) func(http.ResponseWriter, *http.Request, *sessionView) {
	return func(w http.ResponseWriter, r *http.Request, sv *sessionView) {
		_, err := decide(r.Context(), actorOf(sv), r.PathValue("id"), r.PostFormValue("note"))
		if err != nil {
			p := u.explain(r, err)
			if p.Status == http.StatusNotFound {
				u.renderError(w, r, sv, err)
				return
			}
			u.sessions.addFlash(sv.ID, "error", "Not "+done+": "+joinProblem(p))
		} else {
			u.sessions.addFlash(sv.ID, "ok", "Acceptance "+done+"; the item and its Jira issue follow.")
		}
		seeOther(w, r, "/acceptances?"+url.Values{"state": {r.PostFormValue("state")}}.Encode())
	}
}
