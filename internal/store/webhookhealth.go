package store

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Webhook delivery results as the connection page counts them. Accepted and
// duplicate deliveries are counted in the transaction that records them;
// the others were refused before anything was recorded (the names are the
// webhook metric's).
const (
	WebhookAccepted     = "accepted"
	WebhookDuplicate    = "duplicate"
	WebhookUnauthorized = "unauthorized" // bad or missing signature or token
	WebhookInvalid      = "invalid"
	WebhookTooLarge     = "too_large"
	WebhookUnavailable  = "unavailable"
	WebhookError        = "error"
)

// MaxWebhookRejections is how many rejected deliveries are kept per
// connection (the newest): enough to see why Jira's deliveries fail, bounded
// however many a misconfigured Jira or a stranger sends.
const MaxWebhookRejections = 50

// MaxRejectionExcerpt bounds the excerpt of a rejected delivery's body that
// is kept: a rejected body is not trusted, so only enough to recognise it.
const MaxRejectionExcerpt = 120

// WebhookHealthTx keeps what an admin needs to tell whether Jira's
// webhooks arrive and why some are refused (issue 15): counts of deliveries
// by result, the time of the last one, and the last rejected deliveries
// with their reason. store.Tx embeds it.
type WebhookHealthTx interface {
	// CountWebhookResult adds n deliveries of the connection with result,
	// the last of them at the given time (the intake counts a whole batch
	// at once).
	CountWebhookResult(ctx context.Context, connectionID, result string, n int, at time.Time) error
	// RecordWebhookRejection counts a rejected delivery and keeps it with
	// its reason, dropping the oldest beyond MaxWebhookRejections. The
	// connection must exist (ENotFound otherwise).
	RecordWebhookRejection(ctx context.Context, r WebhookRejection) error
	// WebhookHealth returns a connection's counts, last delivery and
	// newest rejections (ENotFound when there is no such connection).
	WebhookHealth(ctx context.Context, connectionID string) (WebhookHealth, error)
}

// WebhookRejection is one delivery refused before it was recorded.
type WebhookRejection struct {
	ID           int64
	ConnectionID string
	At           time.Time
	// Result is one of the Webhook* results other than accepted and
	// duplicate.
	Result string
	// Reason is the message the delivery was answered with (never an
	// internal error chain).
	Reason string
	// Excerpt is the start of the body, at most MaxRejectionExcerpt bytes
	// of printable text.
	Excerpt string
}

// WebhookCount is how many deliveries had one result, and the last one's
// time.
type WebhookCount struct {
	Result string
	Count  int64
	LastAt time.Time
}

// WebhookHealth is a connection's webhook deliveries at a glance.
type WebhookHealth struct {
	ConnectionID string
	// LastDeliveryAt is the newest delivery Jira's signature (or token)
	// vouched for: accepted or a duplicate (zero if none). A refused post
	// does not count: anyone can send one, and "Jira delivered a minute
	// ago" must not be an attacker's minute. The refused ones have their
	// own times in Counts and Rejections.
	LastDeliveryAt time.Time
	// Counts are by result, in result order.
	Counts []WebhookCount
	// Rejections are the newest first, at most MaxWebhookRejections.
	Rejections []WebhookRejection
}

// SafeExcerpt is the start of an untrusted body as printable text: at most
// MaxRejectionExcerpt bytes of valid UTF-8, control characters
// (other than spaces) shown as "·".
func SafeExcerpt(body []byte) string {
	var b strings.Builder
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		body = body[n:]
		switch {
		case r == utf8.RuneError:
			r = '·'
		case r == '\n' || r == '\t' || r == '\r':
			r = ' '
		case !unicode.IsPrint(r) && r != ' ':
			r = '·'
		}
		if b.Len()+utf8.RuneLen(r) > MaxRejectionExcerpt {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
