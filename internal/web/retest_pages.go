package web

import (
	"net/http"
	"net/url"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// handleRetest records the verdict of the item page's retest form (pass or
// fail, with the evidence) on an item awaiting retest; the outcome is
// flashed on the item page, where the comment with the evidence appears.
func (u *ui) handleRetest(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	id := r.PathValue("id")
	v := tracker.Retest{Result: tracker.RetestResult(r.PostFormValue("result")), Evidence: r.PostFormValue("evidence")}
	it, err := u.svc.Retest(r.Context(), actorOf(sv), id, v)
	switch {
	case err == nil && it.Status == tracker.StatusResolved:
		u.sessions.addFlash(sv.ID, "ok", "Retest passed: the item is resolved, and its Jira issue gets the evidence as a comment.")
	case err == nil:
		u.sessions.addFlash(sv.ID, "ok", "Retest failed: the item is reopened, and so is its Jira issue, with the evidence as a comment.")
	default:
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.sessions.addFlash(sv.ID, "error", "Retest not recorded: "+joinProblem(p))
	}
	seeOther(w, r, "/items/"+url.PathEscape(id))
}
