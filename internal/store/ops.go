package store

import (
	"context"
	"time"
)

// DeliveryEventReconcile is the Event of the delivery rows reconciliation
// records for an issue whose change no webhook brought: they sit in the
// deliveries table so the item's job applies them like any other, but
// they are not webhooks, so ConnectionHealth leaves them out of "last
// webhook received".
const DeliveryEventReconcile = "vulnsync:reconcile"

// OpsTx is the part of a transaction that monitoring reads: the metrics
// scrape and a connection's health. Every method is answered from an index
// (partial where the rows counted are a small part of the table), so a
// scrape every few seconds costs little even with many items and a long
// job history. store.Tx embeds it.
type OpsTx interface {
	// QueueStats returns, for each job kind with pending jobs, how many
	// are pending and the earliest RunAt among them, by kind.
	QueueStats(ctx context.Context) ([]QueueStat, error)
	// ItemCounts returns the number of live (not deleted) items per kind
	// and status, by kind then status.
	ItemCounts(ctx context.Context) ([]ItemCount, error)
	// ConnectionHealth returns what an admin needs to tell whether a
	// connection's sync is healthy (ENotFound when there is no such
	// connection).
	ConnectionHealth(ctx context.Context, connectionID string) (ConnectionHealth, error)
}

// QueueStat is the pending work of one job kind.
type QueueStat struct {
	Kind    string
	Pending int
	// EarliestRunAt is the RunAt of the pending job due first (it may lie
	// in the future: a scheduled reconciliation, a backoff).
	EarliestRunAt time.Time
}

// ItemCount is how many live items have one kind and status.
type ItemCount struct {
	Kind   string
	Status string
	Count  int
}

// ConnectionHealth is the state of one connection's sync.
type ConnectionHealth struct {
	ConnectionID string
	// LastWebhookAt is when the newest webhook delivery of the connection
	// was recorded (zero when none ever was); reconciliation's own rows
	// do not count.
	LastWebhookAt time.Time
	// QueuedDeliveries is how many recorded deliveries (webhooks and
	// reconciliation pulls) wait to be applied: the connection's inbound
	// queue.
	QueuedDeliveries int
	// LastError is the newest failed sync event of the integrations that
	// use the connection (zero ID when none failed).
	LastError SyncEvent
}
