package tracker

import (
	"strings"
	"time"
)

// AcceptanceState is where a risk acceptance (or false-positive claim)
// stands. Only an approved one changes the item: a request is a proposal
// until an admin other than the requester agrees.
type AcceptanceState string

// The states of an acceptance: pending awaits a decision; approved holds
// the item in its accepted status until it expires or is revoked (both
// reopen the item); rejected left the item as it was.
const (
	AcceptancePending  AcceptanceState = "pending"
	AcceptanceApproved AcceptanceState = "approved"
	AcceptanceRejected AcceptanceState = "rejected"
	AcceptanceRevoked  AcceptanceState = "revoked"
	AcceptanceExpired  AcceptanceState = "expired"
)

// Valid reports whether s is one of the states above.
func (s AcceptanceState) Valid() bool {
	switch s {
	case AcceptancePending, AcceptanceApproved, AcceptanceRejected, AcceptanceRevoked, AcceptanceExpired:
		return true
	}
	return false
}

// Acceptance is a request to accept an item's risk (or call it a false
// positive) for a reason until a date, and its decision. Requester and
// decider are kept by user id (to refuse self-approval) and by label (to
// show who, also for people from Jira who are no vulnsync users).
type Acceptance struct {
	ID       string `json:"id"`
	ItemID   string `json:"item_id"`
	TargetID string `json:"target_id"`
	// Status is what the item becomes when approved: accepted_risk or
	// false_positive.
	Status Status          `json:"status"`
	State  AcceptanceState `json:"state"`
	Reason string          `json:"reason"`
	// ExpiresAt is when an approved acceptance lapses and the item reopens.
	ExpiresAt     time.Time `json:"expires_at"`
	RequestedByID string    `json:"requested_by_id,omitempty"`
	RequestedBy   string    `json:"requested_by"`
	// Origin says where the request came from: vulnsync (API, UI) or Jira
	// (a resolution or a comment command).
	Origin      Origin    `json:"origin"`
	DecidedByID string    `json:"decided_by_id,omitempty"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	Note        string    `json:"note,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// AcceptanceRequest is what a requester supplies.
type AcceptanceRequest struct {
	Status    Status    `json:"status"`
	Reason    string    `json:"reason"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MaxAcceptance is the longest an acceptance may run: a risk accepted for
// ever is a risk nobody looks at again.
const MaxAcceptance = 3 * 366 * 24 * time.Hour

// Validate checks a request at time now: a reason, an accepted status
// (default accepted_risk) and an expiry in the future, within
// MaxAcceptance.
func (r *AcceptanceRequest) Validate(now time.Time) error {
	p := Problems{}
	r.Reason = strings.TrimSpace(r.Reason)
	if r.Status == "" {
		r.Status = StatusAcceptedRisk
	}
	if r.Status != StatusAcceptedRisk && r.Status != StatusFalsePositive {
		p.Add("status", "must be %s or %s", StatusAcceptedRisk, StatusFalsePositive)
	}
	switch {
	case r.Reason == "":
		p.Add("reason", "must not be empty: say why the risk is acceptable")
	default:
		checkText(p, "reason", r.Reason, 4000, true, "")
	}
	switch {
	case r.ExpiresAt.IsZero():
		p.Add("expires_at", "must be set: an acceptance ends, and the item reopens then")
	case !r.ExpiresAt.After(now):
		p.Add("expires_at", "must be in the future")
	case r.ExpiresAt.Sub(now) > MaxAcceptance:
		p.Add("expires_at", "must be within %d days", int(MaxAcceptance.Hours()/24))
	}
	return p.Err(EInvalid, "invalid acceptance")
}

// ValidateDecisionNote checks the optional note of an approval, rejection
// or revocation, which becomes part of an item comment: at most 4,000
// characters as Jira counts them, no control characters. It is checked
// here, as a note, so the caller is told about "note" rather than the
// comment body it would have made.
func ValidateDecisionNote(note string) error {
	p := Problems{}
	checkText(p, "note", note, 4000, true, "")
	return p.Err(EInvalid, "invalid decision")
}
