package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func (s *server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, people.WhoAmI(s.actor(r)))
}

func (s *server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.people.Users(r.Context(), s.actor(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": nonNil(us)})
}

func (s *server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in people.NewUser
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	u, err := s.people.CreateUser(r.Context(), s.actor(r), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.people.User(r.Context(), s.actor(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	var p people.UserPatch
	if err := s.decode(w, r, &p); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	u, err := s.people.UpdateUser(r.Context(), s.actor(r), r.PathValue("id"), p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.people.Tokens(r.Context(), s.actor(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": nonNil(ts)})
}

func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var in people.NewToken
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.people.CreateToken(r.Context(), s.actor(r), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.people.RevokeToken(r.Context(), s.actor(r), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAudit serves the audit log, newest first: ?action= (exact, or a
// prefix ending in "."), ?actor_id=, ?since= (RFC 3339), ?cursor=, ?limit=.
func (s *server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actor_id"), Cursor: q.Get("cursor")}
	p := tracker.Problems{}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			p.Add("since", "must be an RFC 3339 time like 2026-12-01T00:00:00Z")
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			p.Add("limit", "must be a number from 1 to %d", store.MaxPageSize)
		}
		f.Limit = n
	}
	if err := p.Err(tracker.EInvalid, "invalid audit query"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.people.Audit(r.Context(), s.actor(r), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(page.Entries), "next_cursor": page.NextCursor})
}
