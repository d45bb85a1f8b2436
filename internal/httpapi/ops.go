package httpapi

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Operations endpoints: the Prometheus scrape, readiness and a
// connection's health.

// WebhookMetrics counts webhook deliveries by result (the process's
// metrics implement it).
type WebhookMetrics interface {
	WebhookDelivery(result string)
}

type nopWebhookMetrics struct{}

func (nopWebhookMetrics) WebhookDelivery(string) {}

// webhookResult names a delivery's outcome for the metrics: one of a
// fixed set, from the error's kind (the same table that picks the status).
func webhookResult(rc bool, err error) string {
	if err == nil {
		if rc {
			return "duplicate"
		}
		return "accepted"
	}
	switch tracker.KindOf(err) {
	case tracker.EUnauthorized:
		return "unauthorized"
	case tracker.ENotFound:
		return "unknown_connection"
	case tracker.ETooLarge:
		return "too_large"
	case tracker.EInvalid:
		return "invalid"
	case tracker.EUnavailable:
		return "unavailable"
	}
	return "error"
}

// requireMetricsAuth lets a scrape in with the metrics token (when one is
// configured) or an admin API token; anything else is 401. The metrics
// token opens nothing but /metrics, so a Prometheus server holds no admin
// credential.
func (s *server) requireMetricsAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			writeError(w, r, s.log, tracker.Errorf(tracker.EUnauthorized, "missing bearer token: send Authorization: Bearer <metrics or admin token>"))
			return
		}
		if s.metricsToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.metricsToken)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		actor, err := s.people.Authenticate(r.Context(), token)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if actor.Role != service.RoleAdmin {
			writeError(w, r, s.log, tracker.Errorf(tracker.EUnauthorized, "metrics need the metrics token or an admin token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		writeError(w, r, s.log, tracker.Errorf(tracker.ENotFound, "metrics are not enabled in this process"))
		return
	}
	s.metrics.ServeHTTP(w, r)
}

// ready reports why the process cannot serve yet ("" when it can): the
// store does not answer, or its schema lacks migrations this binary needs.
func (s *server) ready(ctx context.Context) string {
	st := s.svc.Store()
	if err := st.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "store not ready", "err", err)
		return "store unreachable"
	}
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "store not ready", "err", err)
		return "store unreachable: cannot read the applied migrations"
	}
	if len(pending) > 0 {
		return fmt.Sprintf("store schema not up to date: migrations %v are pending", pending)
	}
	return ""
}

// connectionHealthView is a connection's health as the API shows it.
type connectionHealthView struct {
	ConnectionID     string         `json:"connection_id"`
	LastWebhookAt    *time.Time     `json:"last_webhook_at"`
	QueuedDeliveries int            `json:"queued_deliveries"`
	LastError        *lastErrorView `json:"last_error"`
	// Webhooks counts deliveries by result; Rejected are the newest
	// refused ones with their reason (issue 15's webhook health).
	Webhooks map[string]int64 `json:"webhook_deliveries"`
	Rejected []rejectedView   `json:"rejected_deliveries"`
}

type rejectedView struct {
	At      time.Time `json:"at"`
	Result  string    `json:"result"`
	Reason  string    `json:"reason"`
	Excerpt string    `json:"excerpt"`
}

type lastErrorView struct {
	At            time.Time `json:"at"`
	IntegrationID string    `json:"integration_id"`
	ItemID        string    `json:"item_id,omitempty"`
	IssueKey      string    `json:"issue_key,omitempty"`
	Direction     string    `json:"direction"`
	Action        string    `json:"action"`
	Error         string    `json:"error"`
}

func healthView(h store.ConnectionHealth) connectionHealthView {
	v := connectionHealthView{ConnectionID: h.ConnectionID, QueuedDeliveries: h.QueuedDeliveries}
	if !h.LastWebhookAt.IsZero() {
		at := h.LastWebhookAt
		v.LastWebhookAt = &at
	}
	if e := h.LastError; e.ID != 0 {
		v.LastError = &lastErrorView{At: e.At, IntegrationID: e.IntegrationID, ItemID: e.ItemID, IssueKey: e.IssueKey,
			Direction: e.Direction, Action: e.Action, Error: e.Error}
	}
	return v
}

func (s *server) handleConnectionHealth(w http.ResponseWriter, r *http.Request) {
	h, err := s.sync.ConnectionHealth(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	wh, err := s.sync.WebhookHealth(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v := healthView(h)
	v.Webhooks, v.Rejected = map[string]int64{}, []rejectedView{}
	for _, c := range wh.Counts {
		v.Webhooks[c.Result] = c.Count
	}
	for _, rj := range wh.Rejections {
		v.Rejected = append(v.Rejected, rejectedView{At: rj.At, Result: rj.Result, Reason: rj.Reason, Excerpt: rj.Excerpt})
	}
	writeJSON(w, http.StatusOK, v)
}
