package sqldb

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The webhook health of store.WebhookHealthTx: one counter row per
// connection and result (an upsert per delivery, inside the transaction
// that records an accepted one), and a ring of the newest rejections.

var webhookResults = []string{store.WebhookAccepted, store.WebhookDuplicate, store.WebhookUnauthorized, store.WebhookInvalid,
	store.WebhookTooLarge, store.WebhookUnavailable, store.WebhookError}

func (t *tx) CountWebhookResult(ctx context.Context, connectionID, result string, n int, at time.Time) error {
	p := tracker.Problems{}
	oneOf(p, "result", result, webhookResults...)
	if n < 1 {
		p.Add("n", "must be at least 1, not %d", n)
	}
	if err := p.Err(tracker.EInvalid, "invalid webhook result"); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO webhook_counts (connection_id, result, count, last_at) VALUES (?, ?, ?, ?)
ON CONFLICT (connection_id, result) DO UPDATE SET count = webhook_counts.count + excluded.count,
last_at = CASE WHEN excluded.last_at > webhook_counts.last_at THEN excluded.last_at ELSE webhook_counts.last_at END`,
		connectionID, result, n, t.d.ts(at))
	return wrap("count webhook delivery", err)
}

func (t *tx) RecordWebhookRejection(ctx context.Context, r store.WebhookRejection) error {
	p := tracker.Problems{}
	oneOf(p, "result", r.Result, webhookResults[2:]...)
	if err := p.Err(tracker.EInvalid, "invalid webhook rejection"); err != nil {
		return err
	}
	if err := t.connectionKnown(ctx, "record webhook rejection", r.ConnectionID); err != nil {
		return err
	}
	if err := t.CountWebhookResult(ctx, r.ConnectionID, r.Result, 1, r.At); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO webhook_rejections (connection_id, at, result, reason, excerpt) VALUES (?, ?, ?, ?, ?)`,
		r.ConnectionID, t.d.ts(r.At), r.Result, clip(r.Reason, 500), store.SafeExcerpt([]byte(r.Excerpt))); err != nil {
		return wrap("record webhook rejection", err)
	}
	_, err := t.exec(ctx, `DELETE FROM webhook_rejections WHERE connection_id = ? AND id <= (
SELECT id FROM webhook_rejections WHERE connection_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		r.ConnectionID, r.ConnectionID, store.MaxWebhookRejections)
	return wrap("drop old webhook rejections", err)
}

func (t *tx) WebhookHealth(ctx context.Context, connectionID string) (store.WebhookHealth, error) {
	h := store.WebhookHealth{ConnectionID: connectionID}
	if err := t.connectionKnown(ctx, "webhook health", connectionID); err != nil {
		return h, err
	}
	counts, err := queryAll(ctx, t, "webhook health: counts", func(s rowScanner) (store.WebhookCount, error) {
		var c store.WebhookCount
		return c, s.Scan(&c.Result, &c.Count, timeCol{&c.LastAt})
	}, `SELECT result, count, last_at FROM webhook_counts WHERE connection_id = ?`, connectionID)
	if err != nil {
		return h, err
	}
	for _, res := range webhookResults {
		for _, c := range counts {
			if c.Result != res {
				continue
			}
			h.Counts = append(h.Counts, c)
			authentic := res == store.WebhookAccepted || res == store.WebhookDuplicate
			if authentic && c.LastAt.After(h.LastDeliveryAt) {
				h.LastDeliveryAt = c.LastAt
			}
		}
	}
	// Every kept row: RecordWebhookRejection keeps at most
	// MaxWebhookRejections.
	h.Rejections, err = queryAll(ctx, t, "webhook health: rejections", func(s rowScanner) (store.WebhookRejection, error) {
		var r store.WebhookRejection
		return r, s.Scan(&r.ID, &r.ConnectionID, timeCol{&r.At}, &r.Result, &r.Reason, &r.Excerpt)
	}, `SELECT id, connection_id, at, result, reason, excerpt FROM webhook_rejections WHERE connection_id = ? ORDER BY id DESC`, connectionID)
	return h, err
}

// clip cuts s to at most max bytes on a rune boundary.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
