package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// handlePreview shows what the item's Jira issue would be under its
// mapping (the sync's own translation), writing nothing to Jira.
func (u *ui) handlePreview(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if u.cfg.Preview == nil {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EUnavailable, "preview is not available in this process"))
		return
	}
	id := r.PathValue("id")
	it, err := u.svc.GetItem(r.Context(), id)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	p, err := u.cfg.Preview(r.Context(), id)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	raw, _ := json.MarshalIndent(p, "", "  ")
	u.render(w, r, sv, http.StatusOK, "preview", "Jira preview: "+it.Title, "targets", struct {
		Item tracker.Item
		JSON string
	}{it, string(raw)})
}

// handleLinkIssue links the item to an existing Jira issue by key.
func (u *ui) handleLinkIssue(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	id := r.PathValue("id")
	key := strings.ToUpper(strings.TrimSpace(r.PostFormValue("issue_key")))
	if u.cfg.LinkIssue == nil {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EUnavailable, "linking is not available in this process"))
		return
	}
	if err := u.cfg.LinkIssue(r.Context(), id, key); err != nil {
		if p := u.explain(r, err); p.Status == http.StatusNotFound && strings.Contains(p.Message, "item") {
			u.renderError(w, r, sv, err)
			return
		}
		u.sessions.addFlash(sv.ID, "error", "Not linked: "+joinProblem(u.explain(r, err)))
	} else {
		u.sessions.addFlash(sv.ID, "ok", "Linked to "+key+": vulnsync's values are sent to it now; after that the newest change wins.")
	}
	seeOther(w, r, "/items/"+url.PathEscape(id)+"#sync")
}

// handleUnlinkIssue unlinks the item; the issue stays in Jira.
func (u *ui) handleUnlinkIssue(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	id := r.PathValue("id")
	if u.cfg.UnlinkIssue == nil {
		u.renderError(w, r, sv, tracker.Errorf(tracker.EUnavailable, "unlinking is not available in this process"))
		return
	}
	if err := u.cfg.UnlinkIssue(r.Context(), id); err != nil {
		u.sessions.addFlash(sv.ID, "error", "Not unlinked: "+joinProblem(u.explain(r, err)))
	} else {
		u.sessions.addFlash(sv.ID, "ok", "Unlinked: the issue stays in Jira; this item no longer syncs until linked again.")
	}
	seeOther(w, r, "/items/"+url.PathEscape(id)+"#sync")
}
