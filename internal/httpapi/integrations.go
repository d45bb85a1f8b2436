package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func (s *server) handleCreateConnection(w http.ResponseWriter, r *http.Request) {
	var in integration.ConnectionInput
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.integ.CreateConnection(r.Context(), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// handleUpdateConnection replaces a connection's credentials (tested
// against the same site first) or renames it.
func (s *server) handleUpdateConnection(w http.ResponseWriter, r *http.Request) {
	var p integration.ConnectionPatch
	if err := s.decode(w, r, &p); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.integ.UpdateConnection(r.Context(), r.PathValue("id"), p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleListConnections(w http.ResponseWriter, r *http.Request) {
	vs, err := s.integ.Connections(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": nonNil(vs)})
}

func (s *server) handleGetConnection(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.Connection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleDeleteConnection(w http.ResponseWriter, r *http.Request) {
	if err := s.integ.DeleteConnection(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleTestConnection(w http.ResponseWriter, r *http.Request) {
	res, err := s.integ.TestConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) handleWebhookSecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Secret string `json:"secret"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.integ.SetWebhookSecret(r.Context(), r.PathValue("id"), in.Secret)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleRegisterWebhook(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.RegisterWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleProjects(w http.ResponseWriter, r *http.Request) {
	c, err := s.integ.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ps, err := c.Projects(r.Context())
	if err != nil {
		writeError(w, r, s.log, tracker.Errorf(tracker.EUnprocessable, "could not list Jira projects: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": nonNil(ps)})
}

func (s *server) handleIntegrate(w http.ResponseWriter, r *http.Request) {
	var in integration.IntegrationInput
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.integ.Integrate(r.Context(), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (s *server) handleListIntegrations(w http.ResponseWriter, r *http.Request) {
	vs, err := s.integ.Integrations(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"integrations": nonNil(vs)})
}

func (s *server) handleGetIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handlePauseIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.Pause(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleResumeIntegration(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.Resume(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleRemoveIntegration(w http.ResponseWriter, r *http.Request) {
	if err := s.integ.RemoveIntegration(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleSetMapping(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := s.decode(w, r, &raw); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.integ.SetMapping(r.Context(), r.PathValue("id"), raw)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) handleIntegrationMeta(w http.ResponseWriter, r *http.Request) {
	v, err := s.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	m, err := s.integ.ProjectMeta(r.Context(), v.ConnectionID, v.ProjectKey, r.URL.Query().Get("refresh") == "1")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *server) handleMappingSuggestion(w http.ResponseWriter, r *http.Request) {
	d, err := s.integ.SuggestMapping(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handlePeople lists the vulnsync users and their Jira match (assignee
// sync): not matched ones say why.
func (s *server) handlePeople(w http.ResponseWriter, r *http.Request) {
	ps, err := s.integ.People(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"people": ps})
}
