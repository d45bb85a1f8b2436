package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// handleWebhook is Jira's delivery: the raw body (bounded) and the headers
// that authenticate and identify it go to the receiver; its answer, or its
// error through the one error table, goes back. 202 means durably
// recorded, 200 a duplicate of a recorded delivery.
func (s *server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, store.MaxDeliveryBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = tracker.Errorf(tracker.ETooLarge, "delivery larger than %d bytes", mbe.Limit)
		} else {
			err = tracker.Errorf(tracker.EInvalid, "could not read the delivery")
		}
		s.hookMetrics.WebhookDelivery(webhookResult(false, err))
		writeError(w, r, s.log, err)
		return
	}
	rc, err := s.hooks.Receive(r.Context(), jirasync.Delivery{
		ConnectionID: r.PathValue("connection_id"),
		Signature:    r.Header.Get("X-Hub-Signature"),
		Token:        r.PathValue("token"),
		Identifier:   r.Header.Get("X-Atlassian-Webhook-Identifier"),
		Body:         body,
	})
	s.hookMetrics.WebhookDelivery(webhookResult(rc.Duplicate, err))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if rc.Duplicate {
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
}
