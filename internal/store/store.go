// Package store is the persistence seam of vulnsync: one interface, two real
// implementations (SQLite, the embedded default, and PostgreSQL for several
// replicas on one database), and one conformance suite (storetest) that runs
// the same tests against both.
//
// Everything that must commit together goes through Store.InTx: an item
// change, its history rows and the sync jobs it causes are written in one
// transaction (a transactional outbox), so a crash can never leave a change
// without the work that propagates it, nor work for a change that was lost.
package store

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Store opens transactions on one database.
type Store interface {
	// InTx runs fn in a read-write transaction and commits it when fn
	// returns nil. Called with a context that carries a read-write
	// transaction of the same store (ContextWithTx), it runs fn in that
	// transaction instead: the caller commits. View joins likewise.
	//
	// returns nil; any error rolls everything back. fn may be retried when
	// the database reports a serialization conflict, so it must not have
	// side effects outside tx.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction: one consistent snapshot.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the database answers (readiness).
	Ping(ctx context.Context) error
	// PendingMigrations returns the versions of the schema migrations this
	// binary carries that the database has not applied, in order (none
	// after a successful open, unless the schema was rolled back since).
	// Readiness fails while any is pending.
	PendingMigrations(ctx context.Context) ([]int64, error)
	// Backend names the implementation: "sqlite" or "postgres".
	Backend() string
	Close() error
}

// Tx is everything that can be read and written inside one transaction.
// Methods return a *tracker.Error of kind ENotFound for missing rows and
// EConflict for uniqueness violations; anything else is wrapped with what
// was being done.
type Tx interface {
	// Jira connections, integrations, links, the sync log, webhook
	// deliveries, object links and leases: see IntegrationTx.
	IntegrationTx
	// Monitoring reads (metrics, connection health): see OpsTx.
	OpsTx
	// Counters of items and links, and their recount: see CountsTx.
	CountsTx
	// Keyset pages of history, comments and the sync log: see PagesTx.
	PagesTx

	// Users, their tokens and sessions, and the audit log.
	PeopleTx
	// Scanner imports: fingerprints, import records, SLA policies.
	IntakeTx
	// Webhook delivery counts and rejections: see WebhookHealthTx.
	WebhookHealthTx
	// Risk acceptances and their decisions.
	AcceptanceTx

	// Targets. Names are unique.
	CreateTarget(ctx context.Context, t tracker.Target) error
	GetTarget(ctx context.Context, id string) (tracker.Target, error)
	ListTargets(ctx context.Context) ([]tracker.Target, error)

	// Catalog: custom kinds and fields. Names are unique.
	CreateKind(ctx context.Context, k tracker.KindDef) error
	ListKinds(ctx context.Context) ([]tracker.KindDef, error)
	CreateField(ctx context.Context, f tracker.FieldDef) error
	ListFields(ctx context.Context) ([]tracker.FieldDef, error)

	// Items. CreateItem and UpdateItem store the history rows given with
	// them. UpdateItem succeeds only if the stored version is prevVersion,
	// else it returns EConflict (optimistic concurrency). Deleted items are
	// kept (the sync needs them to close their Jira issue) but are not
	// found by GetItem or ListItems.
	CreateItem(ctx context.Context, it tracker.Item, hist []tracker.HistoryEntry) error
	GetItem(ctx context.Context, id string) (tracker.Item, error)
	ListItems(ctx context.Context, f ItemFilter) (ItemPage, error)
	// CountItems counts the items ListItems would list for f (its
	// cursor, sort and limit ignored), reading at most limit+1 of them:
	// a result above limit means "more than limit".
	CountItems(ctx context.Context, f ItemFilter, limit int) (int, error)
	UpdateItem(ctx context.Context, it tracker.Item, prevVersion int64, hist []tracker.HistoryEntry) error
	DeleteItem(ctx context.Context, id string, h tracker.HistoryEntry) error
	ListHistory(ctx context.Context, itemID string) ([]tracker.HistoryEntry, error)

	// Comments.
	CreateComment(ctx context.Context, c tracker.Comment) error
	GetComment(ctx context.Context, id string) (tracker.Comment, error)
	ListComments(ctx context.Context, itemID string) ([]tracker.Comment, error)
	UpdateComment(ctx context.Context, c tracker.Comment) error
	DeleteComment(ctx context.Context, id string) error

	// Attachments: metadata and content stored together, read apart.
	CreateAttachment(ctx context.Context, a tracker.Attachment, content []byte) error
	GetAttachment(ctx context.Context, id string) (tracker.Attachment, error)
	ListAttachments(ctx context.Context, itemID string) ([]tracker.Attachment, error)
	AttachmentContent(ctx context.Context, id string) ([]byte, error)

	// API tokens, stored as SHA-256 hashes of the secret.
	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	CountTokens(ctx context.Context) (int, error)
	// ListTokens returns every token, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken revokes a token (ENotFound when there is none).
	DeleteToken(ctx context.Context, id string) error

	// Jobs: the outbox of sync work. See Job.
	Enqueue(ctx context.Context, j Job) error
	ClaimJobs(ctx context.Context, c Claim) ([]Job, error)
	CompleteJob(ctx context.Context, id int64, leaseToken string) error
	RetryJob(ctx context.Context, id int64, leaseToken string, runAt time.Time, lastErr string) error
	FailJob(ctx context.Context, id int64, leaseToken string, lastErr string) error
	// SnoozeJob is RetryJob without spending an attempt: the job waits
	// for something else (a finding for its vulnerability's issue), it
	// did not fail.
	SnoozeJob(ctx context.Context, id int64, leaseToken string, runAt time.Time, reason string) error
	// ExtendJobLease moves the lease of a job the caller still holds to
	// till (the runner's heartbeat): a replica that dies stops extending,
	// so its jobs are taken over after one short lease instead of a lease
	// long enough for the slowest job. EConflict when the lease was lost.
	ExtendJobLease(ctx context.Context, id int64, leaseToken string, till time.Time) error
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)
	// GetJob returns one job (ENotFound when there is none).
	GetJob(ctx context.Context, id int64) (Job, error)
	// RequeueJob is the manual retry of failed work (G12): a failed job
	// becomes pending again with RunAt = now and no attempts, its last
	// error kept. When a pending job of the same (Kind, Key) exists the
	// failed one is merged into it instead (that job keeps the earlier run
	// time, the failed row goes away), keeping one pending job per key. It
	// returns the pending job. Any state but failed is EConflict.
	RequeueJob(ctx context.Context, id int64, now time.Time) (Job, error)
}

// ItemFilter selects items of a target, oldest first. Cursor is the
// NextCursor of the previous page; Limit defaults to 50 and is capped at 500.
type ItemFilter struct {
	TargetID string
	Kind     string
	Status   tracker.Status
	Severity tracker.Severity
	ParentID string
	// TopLevel keeps only items without a parent (findings are listed
	// under their vulnerability instead).
	TopLevel bool
	// OverdueOn, a YYYY-MM-DD date, keeps only items still open or in
	// progress whose due date is before it (tracker.Item.Overdue).
	OverdueOn string
	// Search keeps the items whose title, description or asset have a
	// word starting with each word of Search (case-insensitive; words are
	// runs of letters and digits). It is answered from a full-text index.
	Search string
	// Sort orders the items by one column (ItemSorts; "" is SortCreated),
	// ascending unless Desc. Ties break by id. A cursor carries its sort:
	// it is refused with another one.
	Sort ItemSort
	Desc bool
	// Cursor is the NextCursor or PrevCursor of a page of the same filter.
	Cursor string
	Limit  int
}

// ItemSort names a column items are sorted by.
type ItemSort string

// The item sorts: creation order (ids are UUIDv7), title, kind, severity
// (most severe first), status, last change and assignee (unassigned
// first).
const (
	SortCreated  ItemSort = "created"
	SortTitle    ItemSort = "title"
	SortKind     ItemSort = "kind"
	SortSeverity ItemSort = "severity"
	SortStatus   ItemSort = "status"
	SortUpdated  ItemSort = "updated"
	SortAssignee ItemSort = "assignee"
)

// ItemSorts lists every item sort.
var ItemSorts = []ItemSort{SortCreated, SortTitle, SortKind, SortSeverity, SortStatus, SortUpdated, SortAssignee}

// Valid reports whether s is a known sort ("" is the default).
func (s ItemSort) Valid() bool { return s == "" || slices.Contains(ItemSorts, s) }

// MaxSearchLen bounds ItemFilter.Search; MaxSearchTerms bounds its words.
const (
	MaxSearchLen   = 200
	MaxSearchTerms = 8
)

// MaxItemCount caps CountItems: beyond it a filtered list says "more than".
const MaxItemCount = 1000

// ItemPage is one page of items; NextCursor is empty on the last page,
// PrevCursor on the first.
type ItemPage struct {
	Items      []tracker.Item
	NextCursor string
	PrevCursor string
}

// Token is an API token. Only the hash of the secret is stored. A token
// belongs to a user (UserID) and acts with the user's current role; the
// bootstrap admin token (VULNSYNC_ADMIN_TOKEN) has no user and acts with
// Role.
type Token struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id,omitempty"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working (zero: never).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// LastUsedAt is when it was last used (zero: never), to the minute.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// JobState is where a job stands in the outbox.
type JobState string

// Job states. A job moves pending → running → done, or back to pending with a
// later RunAt after a retryable failure, or to failed for good.
const (
	JobPending JobState = "pending"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Job is a unit of sync work.
//
// Key makes jobs coalesce and serialise: at most one pending job exists per
// (Kind, Key) — enqueuing another while one is pending keeps the earlier
// RunAt and replaces the payload, so a burst of edits to one item becomes one
// sync of its latest state — and ClaimJobs never hands out a job whose
// (Kind, Key) is running elsewhere, so two workers never sync one item at
// once. A job enqueued while its key is running stays pending until then.
type Job struct {
	ID         int64           `json:"id"`
	Kind       string          `json:"kind"`
	Key        string          `json:"key"`
	Payload    json.RawMessage `json:"payload"`
	State      JobState        `json:"state"`
	Attempts   int             `json:"attempts"`
	RunAt      time.Time       `json:"run_at"`
	LastError  string          `json:"last_error,omitempty"`
	LeaseToken string          `json:"-"`
	LeasedTill time.Time       `json:"leased_till"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Claim asks for up to Limit pending jobs whose RunAt is not after Now (and
// running jobs whose lease expired before Now, which are taken over), of the
// given kinds (all when empty). Each claimed job gets state running, a fresh
// LeaseToken, LeasedTill = Now + Lease and one more attempt.
type Claim struct {
	Kinds []string
	Now   time.Time
	Lease time.Duration
	Limit int
}

// JobFilter lists jobs, newest first.
type JobFilter struct {
	Kind  string
	Key   string
	State JobState
	Limit int
}

type txKey struct{}

// ContextWithTx returns ctx carrying tx, so that every InTx and View of the
// same store called with it joins tx instead of opening its own. The sync
// applies one webhook delivery this way: the item change, its synced state,
// the delivery's status and the sync log entry commit together or not at
// all, through the service's ordinary use cases.
func ContextWithTx(ctx context.Context, tx Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFromContext returns the transaction ctx carries, or nil.
func TxFromContext(ctx context.Context) Tx {
	tx, _ := ctx.Value(txKey{}).(Tx)
	return tx
}
