package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// handleWebhook is Jira's delivery: the raw body (bounded) and the headers
// that authenticate and identify it go to the receiver; its answer, or its
// error through the one error table, goes back. 202 means durably
// recorded, 200 a duplicate of a recorded delivery.
func (s *server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	select {
	case s.hookSlots <- struct{}{}:
		defer func() { <-s.hookSlots }()
	default:
		w.Header().Set("Retry-After", "1")
		err := tracker.Errorf(tracker.EUnavailable, "too many webhook deliveries are being read; retry")
		s.hookMetrics.WebhookDelivery(webhookResult(false, err))
		writeError(w, r, s.log, err)
		return
	}
	// A body that does not arrive in time is cut off (the server's own
	// read timeout is longer, for attachment uploads).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.hookRead))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, store.MaxDeliveryBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			err = tracker.Errorf(tracker.ETooLarge, "delivery larger than %d bytes", mbe.Limit)
		case errors.As(err, &ne) && ne.Timeout():
			err = tracker.Errorf(tracker.EInvalid, "the delivery's body did not arrive within %s", s.hookRead)
		default:
			err = tracker.Errorf(tracker.EInvalid, "could not read the delivery")
		}
		s.hookMetrics.WebhookDelivery(webhookResult(false, err))
		s.recordRejection(r, err, body)
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
		s.recordRejection(r, err, body)
		writeError(w, r, s.log, err)
		return
	}
	if rc.Duplicate {
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
}

// WebhookRejections is implemented by a receiver that keeps refused
// deliveries for the connection page's webhook health (the sync engine).
type WebhookRejections interface {
	RecordWebhookRejection(ctx context.Context, connectionID, result, reason string, body []byte) error
}

// recordRejection keeps a refused delivery with the reason it was answered
// with. Not kept: deliveries for no known connection, and those refused for
// overload or a store failure (writing more then would not help; the
// metric counts them).
func (s *server) recordRejection(r *http.Request, err error, body []byte) {
	rec, ok := s.hooks.(WebhookRejections)
	if !ok {
		return
	}
	result := webhookResult(false, err)
	switch result {
	case "unknown_connection", "unavailable", "error":
		return
	}
	reason := "refused"
	var te *tracker.Error
	if errors.As(err, &te) {
		reason = te.Message
	}
	if err := rec.RecordWebhookRejection(r.Context(), r.PathValue("connection_id"), result, reason, body); err != nil {
		s.log.ErrorContext(r.Context(), "record webhook rejection", "err", err)
	}
}
