package httpapi

import (
	"net/http"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// routes lists every endpoint the process serves, in one place: health,
// the REST API, Jira's webhook receiver and, last, the UI on everything
// else.
func (s *server) routes() {
	// Authorization is decided here, once per route, by the permission
	// the route needs (tracker.Role.Allows): viewers read, analysts also
	// write findings, admins also run the installation. Routes about a
	// user's own things (their tokens) need only read; the use case then
	// allows the user themselves or an admin.
	read := func(h http.HandlerFunc) http.Handler { return s.requireAuth(tracker.PermRead, h) }
	write := func(h http.HandlerFunc) http.Handler { return s.requireAuth(tracker.PermWrite, h) }
	admin := func(h http.HandlerFunc) http.Handler { return s.requireAuth(tracker.PermAdmin, h) }

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	// Prometheus scrape: the metrics token or an admin token.
	s.mux.Handle("GET /metrics", s.requireMetricsAuth(http.HandlerFunc(s.handleMetrics)))
	// The API's own description (internal/httpapi/openapi.json), public.
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)

	// Tracker.
	s.mux.Handle("POST /api/v1/targets", write(s.handleCreateTarget))
	s.mux.Handle("GET /api/v1/targets", read(s.handleListTargets))
	s.mux.Handle("GET /api/v1/targets/{id}", read(s.handleGetTarget))
	s.mux.Handle("POST /api/v1/targets/{id}/items", write(s.handleCreateItem))
	s.mux.Handle("GET /api/v1/targets/{id}/items", read(s.handleListItems))
	// Scanner imports (issue 17) and the target's SLA policy.
	s.mux.Handle("POST /api/v1/targets/{id}/imports", write(s.handleImport))
	s.mux.Handle("GET /api/v1/targets/{id}/imports", read(s.handleListImports))
	s.mux.Handle("GET /api/v1/targets/{id}/sla", read(s.handleGetSLA))
	s.mux.Handle("PUT /api/v1/targets/{id}/sla", write(s.handlePutSLA))

	s.mux.Handle("GET /api/v1/items/{id}", read(s.handleGetItem))
	s.mux.Handle("PATCH /api/v1/items/{id}", write(s.handleUpdateItem))
	s.mux.Handle("DELETE /api/v1/items/{id}", write(s.handleDeleteItem))
	s.mux.Handle("GET /api/v1/items/{id}/history", read(s.handleHistory))
	s.mux.Handle("GET /api/v1/items/{id}/comments", read(s.handleListComments))
	s.mux.Handle("POST /api/v1/items/{id}/comments", write(s.handleCreateComment))
	s.mux.Handle("GET /api/v1/items/{id}/attachments", read(s.handleListAttachments))
	s.mux.Handle("POST /api/v1/items/{id}/attachments", write(s.handleCreateAttachment))
	s.mux.Handle("GET /api/v1/attachments/{id}", read(s.handleGetAttachment))
	s.mux.Handle("GET /api/v1/attachments/{id}/content", read(s.handleAttachmentContent))
	// A retest's verdict on a claimed fix (issue 16).
	s.mux.Handle("POST /api/v1/items/{id}/retest", write(s.handleRetest))
	// Risk acceptances: analysts request, another admin decides (issue 16).
	s.mux.Handle("POST /api/v1/items/{id}/acceptances", write(s.handleRequestAcceptance))
	s.mux.Handle("GET /api/v1/acceptances", read(s.handleListAcceptances))
	s.mux.Handle("POST /api/v1/acceptances/{id}/approve", admin(s.decideAcceptance("approve")))
	s.mux.Handle("POST /api/v1/acceptances/{id}/reject", admin(s.decideAcceptance("reject")))
	s.mux.Handle("POST /api/v1/acceptances/{id}/revoke", admin(s.decideAcceptance("revoke")))

	s.mux.Handle("GET /api/v1/kinds", read(s.handleListKinds))
	s.mux.Handle("POST /api/v1/kinds", admin(s.handleCreateKind))
	s.mux.Handle("GET /api/v1/fields", read(s.handleListFields))
	s.mux.Handle("POST /api/v1/fields", admin(s.handleCreateField))

	// Jira setup (PRODUCT.md §2).
	s.mux.Handle("POST /api/v1/jira/connections", admin(s.handleCreateConnection))
	s.mux.Handle("GET /api/v1/jira/connections", admin(s.handleListConnections))
	s.mux.Handle("GET /api/v1/jira/connections/{id}", admin(s.handleGetConnection))
	s.mux.Handle("PATCH /api/v1/jira/connections/{id}", admin(s.handleUpdateConnection))
	s.mux.Handle("DELETE /api/v1/jira/connections/{id}", admin(s.handleDeleteConnection))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/test", admin(s.handleTestConnection))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/webhook-secret", admin(s.handleWebhookSecret))
	s.mux.Handle("POST /api/v1/jira/connections/{id}/webhook", admin(s.handleRegisterWebhook))
	s.mux.Handle("GET /api/v1/jira/connections/{id}/projects", admin(s.handleProjects))
	s.mux.Handle("GET /api/v1/jira/connections/{id}/health", admin(s.handleConnectionHealth))

	s.mux.Handle("POST /api/v1/integrations", admin(s.handleIntegrate))
	s.mux.Handle("GET /api/v1/integrations", read(s.handleListIntegrations))
	s.mux.Handle("GET /api/v1/integrations/{id}", read(s.handleGetIntegration))
	s.mux.Handle("DELETE /api/v1/integrations/{id}", admin(s.handleRemoveIntegration))
	s.mux.Handle("PUT /api/v1/integrations/{id}/mapping", admin(s.handleSetMapping))
	s.mux.Handle("GET /api/v1/integrations/{id}/mapping/suggestion", admin(s.handleMappingSuggestion))
	s.mux.Handle("GET /api/v1/integrations/{id}/jira-meta", admin(s.handleIntegrationMeta))
	s.mux.Handle("GET /api/v1/integrations/{id}/people", admin(s.handlePeople))
	// Pause keeps changes on both sides without syncing them; resume
	// drains them (issue 16).
	s.mux.Handle("POST /api/v1/integrations/{id}/pause", admin(s.handlePauseIntegration))
	s.mux.Handle("POST /api/v1/integrations/{id}/resume", admin(s.handleResumeIntegration))

	// Sync log, backfill and manual retry (G12).
	s.mux.Handle("GET /api/v1/integrations/{id}/events", read(s.handleIntegrationEvents))
	s.mux.Handle("POST /api/v1/integrations/{id}/backfill", admin(s.handleBackfill))
	s.mux.Handle("GET /api/v1/items/{id}/events", read(s.handleItemEvents))
	// What the item's issue would be; no Jira write (issue 16).
	s.mux.Handle("GET /api/v1/items/{id}/jira-preview", read(s.handleJiraPreview))
	// Link an item to an existing issue, or end its link (issue 16).
	s.mux.Handle("POST /api/v1/items/{id}/jira-link", admin(s.handleLinkIssue))
	s.mux.Handle("DELETE /api/v1/items/{id}/jira-link", admin(s.handleUnlinkIssue))
	s.mux.Handle("GET /api/v1/jobs/failed", admin(s.handleFailedJobs))
	s.mux.Handle("POST /api/v1/jobs/{id}/retry", admin(s.handleRetryJob))

	// People (the caller, users, their tokens) and the audit log.
	s.mux.Handle("GET /api/v1/me", read(s.handleMe))
	s.mux.Handle("GET /api/v1/users", admin(s.handleListUsers))
	s.mux.Handle("POST /api/v1/users", admin(s.handleCreateUser))
	s.mux.Handle("GET /api/v1/users/{id}", read(s.handleGetUser))
	s.mux.Handle("PATCH /api/v1/users/{id}", admin(s.handleUpdateUser))
	s.mux.Handle("GET /api/v1/users/{id}/tokens", read(s.handleListTokens))
	s.mux.Handle("POST /api/v1/users/{id}/tokens", read(s.handleCreateToken))
	s.mux.Handle("DELETE /api/v1/tokens/{id}", read(s.handleRevokeToken))
	s.mux.Handle("GET /api/v1/audit", admin(s.handleAudit))

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
