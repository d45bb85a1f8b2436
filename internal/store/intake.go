package store

import (
	"context"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// IntakeTx is what scanner imports need of a transaction: the fingerprints
// a target's imported items carry, the import records and the per-target
// SLA policy. Items themselves are written with CreateItem and UpdateItem;
// their Fingerprint and Scanner are stored at creation and never change.
type IntakeTx interface {
	// ItemFingerprints returns every live item of the target that has a
	// fingerprint, without its documents: an import matches a report
	// against them in memory, with one query however large the target.
	ItemFingerprints(ctx context.Context, targetID string) ([]FingerprintRef, error)
	// CreateImport stores an import record; a taken id is EConflict and an
	// unknown target ENotFound.
	CreateImport(ctx context.Context, im tracker.Import) error
	// ListImports returns a target's import records, newest first, at
	// most limit (default 50, capped at MaxPageSize).
	ListImports(ctx context.Context, targetID, before string, limit int) ([]tracker.Import, error)
	// GetSLA returns the target's own SLA policy, ENotFound when it has
	// none (callers then use tracker.DefaultSLA).
	GetSLA(ctx context.Context, targetID string) (tracker.SLA, error)
	// PutSLA sets the target's SLA policy.
	PutSLA(ctx context.Context, targetID string, sla tracker.SLA) error
}

// FingerprintRef is a live, fingerprinted item as an import sees it.
type FingerprintRef struct {
	ItemID      string
	Fingerprint string
	Scanner     string
	Kind        string
	ParentID    string
	Status      tracker.Status
}
