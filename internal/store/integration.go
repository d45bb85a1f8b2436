package store

import (
	"context"
	"encoding/json"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"time"
)

// Connection is a stored Jira connection. Secrets are sealed by the vault
// before they reach the store; the store never sees them in clear.
type Connection struct {
	ID         string
	Name       string
	BaseURL    string
	Deployment string // "cloud" or "datacenter"
	AuthType   string // "basic" or "bearer"
	Email      string // basic auth user
	// SealedSecret is the API token (basic) or PAT (bearer), sealed.
	SealedSecret string
	// SealedWebhookSecret is the webhook secret, sealed ("" when none).
	SealedWebhookSecret string
	// WebhookID is the id of the webhook vulnsync registered in Jira, if any.
	WebhookID   string
	AccountID   string // Cloud accountId or Data Center key of the service account
	AccountName string // its display name
	// WebhookAuth is how deliveries are authenticated (HMAC signature, or
	// a token in the URL where Jira does not sign).
	WebhookAuth tracker.WebhookAuth
	// ServerVersion is the Jira version seen at the last test ("" on Cloud).
	ServerVersion string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Integration links one target to one Jira project through a connection.
// TargetID is unique, and so is (ConnectionID, ProjectKey): one Jira project
// ↔ one target.
type Integration struct {
	ID           string
	ConnectionID string
	TargetID     string
	ProjectKey   string
	// Mapping is the mapping document (JSON); nil until one was accepted.
	Mapping json.RawMessage
	// State is where the integration stands.
	State tracker.IntegrationState
	// Watermark is the reconciliation watermark (Jira "updated" time).
	Watermark time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Link ties an item to the Jira issue created for it (G1: one per item).
type Link struct {
	ItemID        string
	IntegrationID string
	// State is where the link stands (see tracker.LinkState).
	State    tracker.LinkState
	IssueID  string
	IssueKey string
	// Synced is the last state written to or read from Jira, per mapped
	// field, so updates send only what changed.
	Synced    json.RawMessage
	UpdatedAt time.Time
}

// PendingWork is an integration's waiting work (PendingSyncWork).
type PendingWork struct {
	Jobs       int `json:"jobs"`
	Deliveries int `json:"deliveries"`
	// AtLeast says the counts are lower bounds: the queue was longer than
	// the store walks to count it (a read is O(page), never O(queue)).
	AtLeast bool `json:"at_least,omitempty"`
}

// SyncEvent is one recorded sync action (G12).
type SyncEvent struct {
	ID            int64         `json:"id"`
	IntegrationID string        `json:"integration_id"`
	ItemID        string        `json:"item_id,omitempty"`
	IssueKey      string        `json:"issue_key,omitempty"`
	Direction     string        `json:"direction"` // "to_jira" or "from_jira"
	Action        string        `json:"action"`    // "create", "update", "transition", "comment", ...
	JiraCall      string        `json:"jira_call,omitempty"`
	Result        string        `json:"result"` // "ok", "error", "skipped"
	Error         string        `json:"error,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
	JobID         int64         `json:"job_id,omitempty"`
	At            time.Time     `json:"at"`
	// Outcome is how people read the row (OutcomeOK, OutcomeFailed,
	// OutcomeRecovered, OutcomeInfo; see EventOutcomes). It is not stored:
	// the sync engine sets it on the pages of the log it answers.
	Outcome string `json:"outcome,omitempty"`
}

// IntegrationTx is the part of a transaction that stores Jira connections,
// integrations, item links and the sync log, plus what the sync needs to
// stay exactly-once across retries and replicas: webhook deliveries, object
// links and leases. store.Tx embeds it.
type IntegrationTx interface {
	CreateConnection(ctx context.Context, c Connection) error
	GetConnection(ctx context.Context, id string) (Connection, error)
	// ListConnections returns every connection, by name.
	ListConnections(ctx context.Context) ([]Connection, error)
	// UpdateConnection replaces everything but the id and creation time.
	UpdateConnection(ctx context.Context, c Connection) error
	// DeleteConnection refuses (EConflict) while integrations use it; its
	// webhook deliveries go with it.
	DeleteConnection(ctx context.Context, id string) error

	// CreateIntegration returns EConflict naming the other side when the
	// target or the (connection, project) pair is already integrated.
	CreateIntegration(ctx context.Context, in Integration) error
	GetIntegration(ctx context.Context, id string) (Integration, error)
	IntegrationByTarget(ctx context.Context, targetID string) (Integration, error)
	ListIntegrations(ctx context.Context) ([]Integration, error)
	// UpdateIntegration replaces the mapping, state, watermark and updated
	// time; connection, target and project are fixed at creation.
	UpdateIntegration(ctx context.Context, in Integration) error
	// DeleteIntegration removes the integration with its links and object
	// links (its items stop syncing) but keeps its sync events: they are
	// the audit log, still listed by ListSyncEvents.
	DeleteIntegration(ctx context.Context, id string) error

	// UpsertLink inserts or replaces the link of l.ItemID. An issue is
	// linked to one item per integration: EConflict when l.IssueID is
	// already another item's.
	UpsertLink(ctx context.Context, l Link) error
	GetLink(ctx context.Context, itemID string) (Link, error)
	// PendingSyncWork counts an integration's waiting work: pending jobs
	// of jobKind whose key is jobKeyPrefix followed by the id of one of
	// its target's live items, and queued deliveries of the issues linked
	// through it. A paused integration shows it as its queue. At most
	// scanLimit jobs and scanLimit deliveries are walked; beyond, the
	// counts are lower bounds (AtLeast).
	PendingSyncWork(ctx context.Context, integrationID, jobKind, jobKeyPrefix string, scanLimit int) (PendingWork, error)
	LinkByIssue(ctx context.Context, integrationID, issueID string) (Link, error)
	// LinksForItems returns the links of those of itemIDs that have one,
	// by item id (at most MaxLookupIDs ids).
	LinksForItems(ctx context.Context, itemIDs []string) ([]Link, error)
	// ListLinks pages through an integration's links by item id, for
	// backfill and reconciliation. cursor is the previous call's next
	// cursor ("" to start); limit defaults to DefaultPageSize and is capped
	// at MaxPageSize; the next cursor is "" on the last page.
	ListLinks(ctx context.Context, integrationID string, cursor string, limit int) ([]Link, string, error)

	// AddSyncEvent records e; the store assigns its id. An error longer
	// than MaxJobErrorBytes is truncated rather than refused.
	AddSyncEvent(ctx context.Context, e SyncEvent) error
	// ListSyncEvents lists events of an integration (and item when set),
	// failures first when failuresFirst, else newest first.
	ListSyncEvents(ctx context.Context, f SyncEventFilter) ([]SyncEvent, error)

	// RecordDelivery inserts d unless (ConnectionID, DeliveryKey) exists;
	// it returns the stored row and whether it was new. It is safe under
	// concurrent identical deliveries: exactly one of them is new.
	RecordDelivery(ctx context.Context, d Delivery) (Delivery, bool, error)
	GetDelivery(ctx context.Context, id int64) (Delivery, error)
	SetDeliveryStatus(ctx context.Context, id int64, status, note string) error
	// ListDeliveries lists a connection's deliveries, newest first, without
	// their bodies.
	ListDeliveries(ctx context.Context, connectionID string, limit int) ([]Delivery, error)
	// QueuedDeliveries returns the queued deliveries of one issue of a
	// connection, with their bodies, in the order they were recorded: at
	// most MaxQueuedDeliveries, so call again after applying them while a
	// full batch comes back.
	QueuedDeliveries(ctx context.Context, connectionID, issueID string) ([]Delivery, error)

	// UpsertObjectLink inserts or replaces the link of (l.Kind, l.LocalID).
	// (Kind, IntegrationID, JiraID) is unique when JiraID is set: EConflict
	// when that Jira object is already another local object's.
	UpsertObjectLink(ctx context.Context, l ObjectLink) error
	ObjectLinkByLocal(ctx context.Context, kind, localID string) (ObjectLink, error)
	ObjectLinkByJira(ctx context.Context, kind, integrationID, jiraID string) (ObjectLink, error)
	// ListObjectLinks returns an item's object links of one kind, deleted
	// ones included, by local id.
	ListObjectLinks(ctx context.Context, kind, itemID string) ([]ObjectLink, error)

	// AcquireLease takes or renews the named lease for holder until
	// now+ttl; it returns false when another holder's lease has not expired
	// at now (a lease held until T is still held at T).
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease early. It never ends another
	// holder's lease, and releasing a lease not held is no error.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// SyncEventFilter selects sync events. IntegrationID is required, ItemID
// optional. FailuresFirst puts events with result "error" before the others,
// each part newest first. Limit defaults to DefaultEventPageSize and is
// capped at MaxEventPageSize.
type SyncEventFilter struct {
	IntegrationID string
	ItemID        string
	FailuresFirst bool
	Limit         int
	// Result, Direction and Action, when set, keep only the events with
	// that value (ListSyncEventsPage). A Result filter makes FailuresFirst
	// moot and it is then ignored.
	Result    string
	Direction string
	Action    string
	// Cursor is the NextCursor of the previous page (ListSyncEventsPage).
	Cursor string
}

// Delivery is one webhook delivery from Jira, recorded durably before it is
// answered (G10) and deduplicated by (ConnectionID, DeliveryKey), the
// X-Atlassian-Webhook-Identifier, so that Jira's redeliveries change
// nothing twice.
type Delivery struct {
	ID           int64     `json:"id"`
	ConnectionID string    `json:"connection_id"`
	DeliveryKey  string    `json:"delivery_key"`
	Event        string    `json:"event"`
	IssueID      string    `json:"issue_id,omitempty"`
	Status       string    `json:"status"` // DeliveryQueued, DeliveryApplied, ...
	Note         string    `json:"note,omitempty"`
	Body         []byte    `json:"-"`
	ReceivedAt   time.Time `json:"received_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Delivery statuses: a delivery is queued when recorded, then applied,
// ignored (for an unmapped project, say) or failed.
const (
	DeliveryQueued  = "queued"
	DeliveryApplied = "applied"
	DeliveryIgnored = "ignored"
	DeliveryFailed  = "failed"
)

// ObjectLink ties a comment or attachment to its mirror on the other side,
// so that the echo of our own write is recognised and nothing is mirrored
// twice.
type ObjectLink struct {
	Kind          string // ObjectComment or ObjectAttachment
	LocalID       string // the vulnsync comment or attachment id
	ItemID        string
	IntegrationID string
	// JiraID is the Jira comment or attachment id; "" while the create
	// call has not answered yet.
	JiraID  string
	IssueID string
	// Origin is the side that created the object: "vulnsync" or "jira".
	Origin string
	// Hash is of the last synced content, to tell an edit from an echo.
	Hash      string
	Deleted   bool
	UpdatedAt time.Time
}

// Object link kinds.
const (
	ObjectComment    = "comment"
	ObjectAttachment = "attachment"
)
