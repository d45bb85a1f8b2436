package httpapi

import (
	"net/http"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// handleRetest records an analyst's verdict on an item awaiting retest:
// pass resolves it, fail reopens it; the evidence becomes a comment that
// the sync carries to the Jira issue.
func (s *server) handleRetest(w http.ResponseWriter, r *http.Request) {
	var in tracker.Retest
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	it, err := s.svc.Retest(r.Context(), s.actor(r), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeItem(w, r, http.StatusOK, it)
}
