package httpapi

import (
	"net/http"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Risk acceptance as a workflow (issue 16): analysts request, admins other
// than the requester decide; expiry is the engine's periodic job.

func (s *server) handleRequestAcceptance(w http.ResponseWriter, r *http.Request) {
	var in tracker.AcceptanceRequest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.svc.RequestAcceptance(r.Context(), s.actor(r), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// decisionInput is the optional note of a decision.
type decisionInput struct {
	Note string `json:"note"`
}

// decideAcceptance answers approve, reject or revoke.
func (s *server) decideAcceptance(decision string) http.HandlerFunc {
	decide := s.svc.ApproveAcceptance
	switch decision {
	case "reject":
		decide = s.svc.RejectAcceptance
	case "revoke":
		decide = s.svc.RevokeAcceptance
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var in decisionInput
		if err := s.decode(w, r, &in); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		a, err := decide(r.Context(), s.actor(r), r.PathValue("id"), in.Note)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

func (s *server) handleListAcceptances(w http.ResponseWriter, r *http.Request) {
	pf, err := pageParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	f := store.AcceptanceFilter{State: tracker.AcceptanceState(q.Get("state")), ItemID: q.Get("item_id"), Cursor: pf.Cursor, Limit: pf.Limit}
	if f.State != "" && !f.State.Valid() {
		writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid query",
			Fields: map[string]string{"state": "must be pending, approved, rejected, revoked or expired"}})
		return
	}
	page, err := s.svc.ListAcceptances(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"acceptances": nonNil(page.Acceptances), "next_cursor": page.NextCursor})
}
