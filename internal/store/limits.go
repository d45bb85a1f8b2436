package store

// Limits every Store enforces. They are exported so that the HTTP API and the
// sync can refuse oversized input with a clear message before it reaches a
// transaction, and so that the conformance suite can check both backends
// against the same numbers.
const (
	// MaxAttachmentBytes caps one attachment's content. It is above the
	// mapping's default max_bytes (10 MiB) so that an admin can raise that
	// setting, yet small enough that one row never strains either database.
	MaxAttachmentBytes = 64 << 20
	// MaxJobPayloadBytes caps a job's payload: payloads name what to sync,
	// they are not meant to carry documents.
	MaxJobPayloadBytes = 1 << 20
	// MaxJobErrorBytes bounds the last error kept on a job; longer messages
	// (a Jira error page, say) are truncated rather than refused, because
	// refusing would lose the retry itself.
	MaxJobErrorBytes = 8 << 10
	// MaxIDLen bounds the ids callers choose (UUIDs are 36 characters).
	MaxIDLen = 128
	// DefaultPageSize and MaxPageSize apply to ListItems and ListJobs.
	DefaultPageSize = 50
	MaxPageSize     = 500
	// MaxDeliveryBytes caps a recorded webhook delivery's body: Jira's
	// issue events are tens of kilobytes, and a delivery is refused before
	// it is parsed when larger.
	MaxDeliveryBytes = 1 << 20
	// MaxQueuedDeliveries caps one QueuedDeliveries batch, so that applying
	// a burst of deliveries never holds more than this many bodies in
	// memory at once.
	MaxQueuedDeliveries = 100
	// MaxSyncDocBytes caps the JSON documents the sync keeps: an
	// integration's mapping and a link's synced state.
	MaxSyncDocBytes = 1 << 20
	// MaxLookupIDs caps the ids of one LinksForItems call.
	MaxLookupIDs = 10000
	// DefaultEventPageSize and MaxEventPageSize apply to ListSyncEvents.
	DefaultEventPageSize = 100
	MaxEventPageSize     = 1000
	// MaxClaim caps the number of jobs one ClaimJobs call may take.
	MaxClaim = 1000
)
