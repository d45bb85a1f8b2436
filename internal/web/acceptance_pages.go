package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// acceptancesData is the acceptances page: who asked to accept which risk,
// why and until when, and where each request stands; filtered by an item,
// also the form to request an acceptance of it.
type acceptancesData struct {
	Rows   []acceptanceRow
	State  string
	ItemID string
	States []tracker.AcceptanceState
	Next   string
	// Item is the item the page is filtered by (zero when none or gone).
	Item tracker.Item
	// Request is the request form: what was typed (kept when refused),
	// the dates it offers and why it was refused.
	Request requestForm
}

// requestForm is the form requesting an acceptance of one item. The
// expiry is a date (a day's start in UTC, as the list shows it): the
// earliest offered is tomorrow, the latest the service's maximum ahead;
// the service checks again, since a browser may not.
type requestForm struct {
	Status    string
	Reason    string
	ExpiresOn string
	Min, Max  string
	MaxDays   int
	Error     *problem
}

// expiryLayout is how the form writes an expiry date (input type=date).
const expiryLayout = "2006-01-02"

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
	u.acceptancesPage(w, r, sv, http.StatusOK, state, q.Get("item_id"), q.Get("cursor"), u.newRequestForm())
}

// newRequestForm is an empty request form: accepted risk, expiring in 90
// days (or the maximum, when that is sooner).
func (u *ui) newRequestForm() requestForm {
	days := min(90, u.svc.MaxAcceptanceDays())
	return requestForm{Status: string(tracker.StatusAcceptedRisk), ExpiresOn: u.svc.Now().UTC().AddDate(0, 0, days).Format(expiryLayout)}
}

// acceptancesPage renders the list (and, for one item, the request form
// as given).
func (u *ui) acceptancesPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, state, itemID, cursor string, form requestForm) {
	f := store.AcceptanceFilter{State: tracker.AcceptanceState(state), ItemID: itemID, Cursor: cursor, Limit: 100}
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
	if f.ItemID != "" {
		if it, err := u.svc.GetItem(r.Context(), f.ItemID); err == nil {
			d.Item = it
		}
		today := u.svc.Now().UTC()
		form.MaxDays = u.svc.MaxAcceptanceDays()
		form.Min = today.AddDate(0, 0, 1).Format(expiryLayout)
		// The last whole day within the maximum: its start is at most
		// MaxDays ahead of now.
		form.Max = today.AddDate(0, 0, form.MaxDays).Format(expiryLayout)
		d.Request = form
	}
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
	u.render(w, r, sv, status, "acceptances", "Risk acceptances", "acceptances", d)
}

// handleRequestAcceptance answers the request form of an item's
// acceptances: a pending acceptance with the reason and expiry date
// given, which an admin other than the requester then decides. Refused,
// the page comes back with what was typed and why.
func (u *ui) handleRequestAcceptance(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	itemID := r.PostFormValue("item_id")
	if itemID == "" {
		u.renderError(w, r, sv, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid acceptance", Fields: map[string]string{"item_id": "must name the item"}})
		return
	}
	form := requestForm{Status: r.PostFormValue("status"), Reason: r.PostFormValue("reason"), ExpiresOn: strings.TrimSpace(r.PostFormValue("expires_on"))}
	req := tracker.AcceptanceRequest{Status: tracker.Status(form.Status), Reason: form.Reason}
	var err error
	if form.ExpiresOn != "" {
		var day time.Time
		if day, err = time.Parse(expiryLayout, form.ExpiresOn); err != nil {
			err = &tracker.Error{Kind: tracker.EInvalid, Message: "invalid acceptance", Fields: map[string]string{"expires_at": "must be a date like " + u.newRequestForm().ExpiresOn}}
		}
		req.ExpiresAt = day
	}
	if err == nil {
		var a tracker.Acceptance
		if a, err = u.svc.RequestAcceptance(r.Context(), actorOf(sv), itemID, req); err == nil {
			u.sessions.addFlash(sv.ID, "ok", "Acceptance requested until "+a.ExpiresAt.UTC().Format(expiryLayout)+"; another admin approves or rejects it.")
			seeOther(w, r, "/acceptances?"+url.Values{"state": {""}, "item_id": {itemID}}.Encode())
			return
		}
	}
	p := u.explain(r, err)
	if p.Status == http.StatusNotFound {
		u.renderError(w, r, sv, err)
		return
	}
	fields := map[string]string{}
	for k, v := range p.Fields {
		fields[k] = map[string]string{"expires_at": "Expiry date", "reason": "Reason", "status": "As"}[k] + " " + v
	}
	p.Fields = fields
	form.Error = &p
	u.acceptancesPage(w, r, sv, p.Status, "", itemID, "", form)
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
		back := url.Values{"state": {r.PostFormValue("state")}}
		if id := r.PostFormValue("item_id"); id != "" {
			back.Set("item_id", id) // the page filtered by an item stays so
		}
		seeOther(w, r, "/acceptances?"+back.Encode())
	}
}
