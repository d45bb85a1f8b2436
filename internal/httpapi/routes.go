package httpapi

import (
	"net/http"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// routes lists every endpoint of the API in one place.
func (s *server) routes() {
	a := func(h http.HandlerFunc) http.Handler { return s.requireAuth(h) }

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	// The API's own description (internal/httpapi/openapi.json), public.
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)

	s.mux.Handle("POST /api/v1/targets", a(s.handleCreateTarget))
	s.mux.Handle("GET /api/v1/targets", a(s.handleListTargets))
	s.mux.Handle("GET /api/v1/targets/{id}", a(s.handleGetTarget))
	s.mux.Handle("POST /api/v1/targets/{id}/items", a(s.handleCreateItem))
	s.mux.Handle("GET /api/v1/targets/{id}/items", a(s.handleListItems))

	s.mux.Handle("GET /api/v1/items/{id}", a(s.handleGetItem))
	s.mux.Handle("PATCH /api/v1/items/{id}", a(s.handleUpdateItem))
	s.mux.Handle("DELETE /api/v1/items/{id}", a(s.handleDeleteItem))
	s.mux.Handle("GET /api/v1/items/{id}/history", a(s.handleHistory))
	s.mux.Handle("GET /api/v1/items/{id}/comments", a(s.handleListComments))
	s.mux.Handle("POST /api/v1/items/{id}/comments", a(s.handleCreateComment))
	s.mux.Handle("GET /api/v1/items/{id}/attachments", a(s.handleListAttachments))
	s.mux.Handle("POST /api/v1/items/{id}/attachments", a(s.handleCreateAttachment))
	s.mux.Handle("GET /api/v1/attachments/{id}", a(s.handleGetAttachment))
	s.mux.Handle("GET /api/v1/attachments/{id}/content", a(s.handleAttachmentContent))

	s.mux.Handle("GET /api/v1/kinds", a(s.handleListKinds))
	s.mux.Handle("POST /api/v1/kinds", a(s.handleCreateKind))
	s.mux.Handle("GET /api/v1/fields", a(s.handleListFields))
	s.mux.Handle("POST /api/v1/fields", a(s.handleCreateField))

	if s.integ != nil {
		s.integrationRoutes(a)
	}
	if s.sync != nil {
		s.syncRoutes(a)
	}
	if s.hooks != nil {
		// Jira authenticates with the webhook signature, not a token.
		s.mux.HandleFunc("POST /webhooks/jira/{connection_id}", s.hooks)
	}

	// Anything else under /api/ answers a JSON 404 rather than the mux's text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, tracker.Errorf(tracker.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}
