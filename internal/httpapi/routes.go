package httpapi

import (
	"net/http"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// routes lists every endpoint the process serves, in one place: health,
// the REST API, Jira's webhook receiver and, last, the UI on everything
// else.
func (s *server) routes() {
	a := func(h http.HandlerFunc) http.Handler { return s.requireAuth(h) }

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	// The API's own description (internal/httpapi/openapi.json), public.
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)

	// Tracker.
	s.mux.Handle("POST /api/v1/targets", a(s.handleCreateTarget))
	s.mux.Handle("GET /api/v1/targets", a(s.handleListTargets))
	s.mux.Handle("GET /api/v1/targets/{id}", a(s.handleGetTarget))
	s.mux.Handle("POST /api/v1/targets/{id}/items", a(s.handleCreateItem))
	s.mux.Handle("GET /api/v1/targets/{id}/items", a(s.handleListItems))
	// Scanner imports (issue 17) and the target's SLA policy.
	s.mux.Handle("POST /api/v1/targets/{id}/imports", a(s.handleImport))
	s.mux.Handle("GET /api/v1/targets/{id}/imports", a(s.handleListImports))
	s.mux.Handle("GET /api/v1/targets/{id}/sla", a(s.handleGetSLA))
	s.mux.Handle("PUT /api/v1/targets/{id}/sla", a(s.handlePutSLA))

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

	// Jira setup (PRODUCT.md §2).
	s.mux.Handle("POST /api/v1/jira/connections", a(s.handleCreateConnection))
	s.mux.Handle("GET /api/v1/jira/connections", a(s.handleListConnections))
	s.mux.Handle("GET /api/v1/jira/connections/{id}", a(s.handleGetConnection))
	s.mux.Handle("DELETE /api/v1/jira/connections/{id}", a(s.handleDeleteConnection))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/test", a(s.handleTestConnection))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/webhook-secret", a(s.handleWebhookSecret))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/webhook", a(s.handleRegisterWebhook))
	s.mux.Handle("GET /api/v1/jira/connections/{id}/projects", a(s.handleProjects))

	s.mux.Handle("POST /api/v1/integrations", a(s.handleIntegrate))
	s.mux.Handle("GET /api/v1/integrations", a(s.handleListIntegrations))
	s.mux.Handle("GET /api/v1/integrations/{id}", a(s.handleGetIntegration))
	s.mux.Handle("DELETE /api/v1/integrations/{id}", a(s.handleRemoveIntegration))
	s.mux.Handle("PUT /api/v1/integrations/{id}/mapping", a(s.handleSetMapping))
	s.mux.Handle("GET /api/v1/integrations/{id}/mapping/suggestion", a(s.handleMappingSuggestion))
	s.mux.Handle("GET /api/v1/integrations/{id}/jira-meta", a(s.handleIntegrationMeta))

	// Sync log, backfill and manual retry (G12).
	s.mux.Handle("GET /api/v1/integrations/{id}/events", a(s.handleIntegrationEvents))
	s.mux.Handle("POST /api/v1/integrations/{id}/backfill", a(s.handleBackfill))
	s.mux.Handle("GET /api/v1/items/{id}/events", a(s.handleItemEvents))
	s.mux.Handle("GET /api/v1/jobs/failed", a(s.handleFailedJobs))
	s.mux.Handle("POST /api/v1/jobs/{id}/retry", a(s.handleRetryJob))

	// Jira authenticates with the webhook signature, not a token (G10).
	s.mux.HandleFunc("POST /webhooks/jira/{connection_id}", s.handleWebhook)
	// Jira Data Center before 10 does not sign: the URL carries a token.
	s.mux.HandleFunc("POST /webhooks/jira/{connection_id}/{token}", s.handleWebhook)

	// Anything else under /api/ answers a JSON 404 rather than the mux's text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, tracker.Errorf(tracker.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	if s.ui != nil {
		s.mux.Handle("/", s.ui)
	}
}
