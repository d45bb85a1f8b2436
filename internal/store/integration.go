package store

import (
	"context"
	"encoding/json"
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
	CreatedAt   time.Time
	UpdatedAt   time.Time
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
	// State is "needs_mapping", "active" or "paused".
	State string
	// Backfill progress.
	BackfillTotal  int
	BackfillDone   int
	BackfillFailed int
	// Watermark is the reconciliation watermark (Jira "updated" time).
	Watermark time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Link ties an item to the Jira issue created for it (G1: one per item).
type Link struct {
	ItemID        string
	IntegrationID string
	// State is "creating" (a create call may be in flight: resolve by the
	// marker before trying again), "linked", or "unlinked".
	State    string
	IssueID  string
	IssueKey string
	// Synced is the last state written to or read from Jira, per mapped
	// field, so updates send only what changed.
	Synced    json.RawMessage
	UpdatedAt time.Time
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
}

// IntegrationTx is the part of a transaction that stores Jira connections,
// integrations, item links and the sync log.
type IntegrationTx interface {
	CreateConnection(ctx context.Context, c Connection) error
	GetConnection(ctx context.Context, id string) (Connection, error)
	ListConnections(ctx context.Context) ([]Connection, error)
	UpdateConnection(ctx context.Context, c Connection) error
	// DeleteConnection refuses (EConflict) while integrations use it.
	DeleteConnection(ctx context.Context, id string) error

	// CreateIntegration returns EConflict naming the other side when the
	// target or the (connection, project) pair is already integrated.
	CreateIntegration(ctx context.Context, in Integration) error
	GetIntegration(ctx context.Context, id string) (Integration, error)
	IntegrationByTarget(ctx context.Context, targetID string) (Integration, error)
	ListIntegrations(ctx context.Context) ([]Integration, error)
	UpdateIntegration(ctx context.Context, in Integration) error
	DeleteIntegration(ctx context.Context, id string) error

	UpsertLink(ctx context.Context, l Link) error
	GetLink(ctx context.Context, itemID string) (Link, error)
	LinkByIssue(ctx context.Context, integrationID, issueID string) (Link, error)
	LinksForItems(ctx context.Context, itemIDs []string) ([]Link, error)

	AddSyncEvent(ctx context.Context, e SyncEvent) error
	// ListSyncEvents lists events of an integration (and item when set),
	// failures first when failuresFirst, else newest first.
	ListSyncEvents(ctx context.Context, f SyncEventFilter) ([]SyncEvent, error)
}

// SyncEventFilter selects sync events.
type SyncEventFilter struct {
	IntegrationID string
	ItemID        string
	FailuresFirst bool
	Limit         int
}
