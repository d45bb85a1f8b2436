package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Risk acceptance as a workflow (issue 16): a request (a reason and an
// expiry) changes nothing until an admin other than the requester approves
// it; the approved item takes the accepted status (the sync moves its Jira
// issue), and expiry or revocation reopens it. Each step comments the item
// (the comment reaches Jira) and is audited.

// RequestAcceptance opens a pending acceptance of an item. The item keeps
// its status until approval.
func (s *Service) RequestAcceptance(ctx context.Context, actor Actor, itemID string, req tracker.AcceptanceRequest) (tracker.Acceptance, error) {
	if err := req.Validate(s.Now()); err != nil {
		return tracker.Acceptance{}, err
	}
	if req.ExpiresAt.Sub(s.Now()) > s.maxAccept {
		return tracker.Acceptance{}, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid acceptance",
			Fields: map[string]string{"expires_at": fmt.Sprintf("must be within %d days", s.MaxAcceptanceDays())}}
	}
	var a tracker.Acceptance
	err := s.write(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		if err != nil {
			return err
		}
		if it.Status == req.Status {
			return tracker.Errorf(tracker.EConflict, "item %s is already %s", itemID, it.Status)
		}
		now := s.Now()
		a = tracker.Acceptance{ID: newID(), ItemID: it.ID, TargetID: it.TargetID, Status: req.Status, State: tracker.AcceptancePending,
			Reason: req.Reason, ExpiresAt: tracker.Truncate(req.ExpiresAt), RequestedByID: actor.UserID, RequestedBy: actor.label(),
			Origin: actor.Origin, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateAcceptance(ctx, a); err != nil {
			return err
		}
		return s.systemNote(ctx, tx, it, fmt.Sprintf("**%s requested** by %s until %s, awaiting an admin's approval. Reason:\n\n%s",
			acceptanceWhat(a), a.RequestedBy, day(a.ExpiresAt), a.Reason))
	})
	if err != nil {
		return tracker.Acceptance{}, fmt.Errorf("request acceptance of item %s: %w", itemID, err)
	}
	s.audit.Record(ContextWithActor(ctx, actor), "acceptance.request", "item:"+itemID, fmt.Sprintf("%s until %s: %s", a.Status, day(a.ExpiresAt), a.Reason))
	return a, nil
}

// MaxAcceptanceDays is how many days ahead an acceptance may expire at
// most (the configured bound, else tracker.MaxAcceptance): forms offer no
// later date, and a request for one is refused.
func (s *Service) MaxAcceptanceDays() int { return int(s.maxAccept / (24 * time.Hour)) }

// ApproveAcceptance approves a pending acceptance: only an admin, and not
// the requester (EForbidden). The item takes the accepted status.
func (s *Service) ApproveAcceptance(ctx context.Context, actor Actor, id, note string) (tracker.Acceptance, error) {
	return s.decide(ctx, actor, id, note, tracker.AcceptancePending, tracker.AcceptanceApproved)
}

// RejectAcceptance rejects a pending acceptance (an admin); the item stays
// as it is.
func (s *Service) RejectAcceptance(ctx context.Context, actor Actor, id, note string) (tracker.Acceptance, error) {
	return s.decide(ctx, actor, id, note, tracker.AcceptancePending, tracker.AcceptanceRejected)
}

// WithdrawAcceptance ends a pending acceptance proposed from Jira whose
// proposer moved the issue on (rejected, by vulnsync, with note saying
// so): the proposal no longer stands, and an admin approving it later
// would move the issue back against the engineer's last word.
func (s *Service) WithdrawAcceptance(ctx context.Context, id, note string) (tracker.Acceptance, error) {
	return s.decide(ctx, System, id, note, tracker.AcceptancePending, tracker.AcceptanceRejected)
}

// RevokeAcceptance ends an approved acceptance before its expiry (an
// admin); the item reopens.
func (s *Service) RevokeAcceptance(ctx context.Context, actor Actor, id, note string) (tracker.Acceptance, error) {
	return s.decide(ctx, actor, id, note, tracker.AcceptanceApproved, tracker.AcceptanceRevoked)
}

// ExpireAcceptances ends the approved acceptances whose expiry is at or
// before the service clock's now, reopening their items; it returns how
// many it ended. The periodic expiry job calls it; it is idempotent (an
// acceptance decided meanwhile is skipped).
func (s *Service) ExpireAcceptances(ctx context.Context) (int, error) {
	n := 0
	for {
		var due []tracker.Acceptance
		if err := s.st.View(ctx, func(tx store.Tx) error {
			var err error
			due, err = tx.DueAcceptances(ctx, s.Now(), 100)
			return err
		}); err != nil {
			return n, fmt.Errorf("list due acceptances: %w", err)
		}
		if len(due) == 0 {
			return n, nil
		}
		for _, a := range due {
			_, err := s.decide(ctx, System, a.ID, "", tracker.AcceptanceApproved, tracker.AcceptanceExpired)
			switch {
			case err == nil:
				n++
			case tracker.KindOf(err) == tracker.EConflict:
				// decided meanwhile (revoked, or expired by another replica)
			default:
				return n, err
			}
		}
	}
}

// decide moves an acceptance from one state to another with its effect on
// the item, a comment and an audit entry, in one transaction.
func (s *Service) decide(ctx context.Context, actor Actor, id, note string, from, to tracker.AcceptanceState) (tracker.Acceptance, error) {
	note = strings.TrimSpace(note)
	if err := tracker.ValidateDecisionNote(note); err != nil {
		return tracker.Acceptance{}, err
	}
	if to != tracker.AcceptanceExpired && actor.Role != RoleAdmin {
		return tracker.Acceptance{}, tracker.Errorf(tracker.EForbidden, "only an admin decides on acceptances")
	}
	var a tracker.Acceptance
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if a, err = tx.GetAcceptance(ctx, id); err != nil {
			return err
		}
		if a.State != from {
			return tracker.Errorf(tracker.EConflict, "acceptance %s is %s, not %s", id, a.State, from)
		}
		if to == tracker.AcceptanceApproved && sameActor(actor, a) {
			return tracker.Errorf(tracker.EForbidden, "the requester cannot approve their own acceptance: another admin must")
		}
		it, err := tx.GetItem(ctx, a.ItemID)
		gone := tracker.KindOf(err) == tracker.ENotFound // deleted since: the acceptance still ends
		if err != nil && !gone {
			return err
		}
		if gone && to == tracker.AcceptanceApproved {
			return tracker.Errorf(tracker.EConflict, "item %s was deleted", a.ItemID)
		}
		now := s.Now()
		a.State, a.UpdatedAt = to, now
		if to != tracker.AcceptanceExpired {
			a.DecidedByID, a.DecidedBy, a.DecidedAt, a.Note = actor.UserID, actor.label(), now, note
		}
		if err := tx.UpdateAcceptance(ctx, a, from); err != nil {
			return err
		}
		if gone {
			return nil
		}
		why := ""
		if note != "" {
			why = "\n\n" + note
		}
		var body string
		switch to {
		case tracker.AcceptanceApproved:
			body = fmt.Sprintf("**%s approved** by %s until %s.%s", acceptanceWhat(a), a.DecidedBy, day(a.ExpiresAt), why)
			if err := s.setStatus(ctx, tx, actor, &it, a.Status); err != nil {
				return err
			}
		case tracker.AcceptanceRejected:
			body = fmt.Sprintf("**%s rejected** by %s; the item stays %s.%s", acceptanceWhat(a), a.DecidedBy, it.Status, why)
		case tracker.AcceptanceRevoked, tracker.AcceptanceExpired:
			body = fmt.Sprintf("**%s revoked** by %s — reopened.%s", acceptanceWhat(a), a.DecidedBy, why)
			if to == tracker.AcceptanceExpired {
				body = fmt.Sprintf("**%s expired** on %s — reopened.", acceptanceWhat(a), day(a.ExpiresAt))
			}
			if it.Status == a.Status { // changed by hand meanwhile: left as it is
				if err := s.setStatus(ctx, tx, actor, &it, tracker.StatusOpen); err != nil {
					return err
				}
			}
		}
		return s.systemNote(ctx, tx, it, body)
	})
	if err != nil {
		return tracker.Acceptance{}, fmt.Errorf("%s acceptance %s: %w", verbOf(to), id, err)
	}
	s.audit.Record(ContextWithActor(ctx, actor), "acceptance."+verbOf(to), "acceptance:"+id, fmt.Sprintf("item %s: %s", a.ItemID, note))
	return a, nil
}

// checkAcceptedByRole refuses a person below admin setting an item to
// accepted_risk or false_positive directly (an edit, a bulk edit, a new
// item): for them that status is the outcome of a request an admin other
// than the requester approves (issue 16: a reason, an approver, an
// expiry), and a plain edit would skip all three. Admins may still set it
// (and are audited as the item's editor); Jira's changes follow the
// mapping's accept_from_jira, and vulnsync's own changes (approvals,
// expiries) run as System.
func checkAcceptedByRole(actor Actor, from, to tracker.Status) error {
	if from == to || (to != tracker.StatusAcceptedRisk && to != tracker.StatusFalsePositive) {
		return nil
	}
	if actor.Origin != tracker.OriginVulnsync || actor.Role == tracker.RoleAdmin {
		return nil
	}
	return tracker.Errorf(tracker.EForbidden, "an %s cannot set status %s directly: request an acceptance "+
		"(POST /api/v1/items/{id}/acceptances, or the item's Risk acceptances page) for an admin to approve", roleName(actor.Role), to)
}

// roleName names a role for a message ("analyst"; "person" when unknown).
func roleName(r tracker.Role) string {
	if r == "" {
		return "person"
	}
	return string(r)
}

// endAcceptanceOfDeleted ends the open acceptance of an item being
// deleted, in the deleting transaction: a pending request is rejected and
// an approved one revoked, by whoever deleted the item, with a note saying
// so. Left open, a pending request of a deleted item would wait on the
// Acceptances page for an admin who can no longer approve it.
func (s *Service) endAcceptanceOfDeleted(ctx context.Context, tx store.Tx, actor Actor, itemID string) error {
	a, err := tx.OpenAcceptance(ctx, itemID)
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	from := a.State
	to := tracker.AcceptanceRejected
	if from == tracker.AcceptanceApproved {
		to = tracker.AcceptanceRevoked
	}
	now := s.Now()
	a.State, a.UpdatedAt = to, now
	a.DecidedByID, a.DecidedBy, a.DecidedAt, a.Note = actor.UserID, actor.label(), now, "the item was deleted"
	return tx.UpdateAcceptance(ctx, a, from)
}

// endLapsedAcceptance ends the item's approved acceptance when a change
// moved the item out of the accepted status it gave (a person reopened it
// here, or moved its issue on in Jira): the acceptance no longer holds.
// Left approved, it would show the item as accepted on the Acceptances
// page and refuse every new request until its expiry. It is recorded as
// revoked by whoever made the change, with a note saying so; the status
// change itself is the item's (and the issue's) record, so no comment is
// added. It returns the acceptance it ended, if any, for the audit log.
func (s *Service) endLapsedAcceptance(ctx context.Context, tx store.Tx, actor Actor, was tracker.Status, it tracker.Item) (*tracker.Acceptance, error) {
	if was == it.Status || (was != tracker.StatusAcceptedRisk && was != tracker.StatusFalsePositive) {
		return nil, nil
	}
	a, err := tx.OpenAcceptance(ctx, it.ID)
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.State != tracker.AcceptanceApproved || a.Status != was {
		return nil, nil
	}
	now := s.Now()
	a.State, a.UpdatedAt = tracker.AcceptanceRevoked, now
	a.DecidedByID, a.DecidedBy, a.DecidedAt = actor.UserID, actor.label(), now
	a.Note = fmt.Sprintf("Ended: %s changed the item from %s to %s.", actor.label(), was, it.Status)
	if err := tx.UpdateAcceptance(ctx, a, tracker.AcceptanceApproved); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAcceptances returns a page of acceptances, newest first.
func (s *Service) ListAcceptances(ctx context.Context, f store.AcceptanceFilter) (page store.AcceptancePage, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { page, err = tx.ListAcceptances(ctx, f); return err })
	return page, err
}

// GetAcceptance returns one acceptance.
func (s *Service) GetAcceptance(ctx context.Context, id string) (a tracker.Acceptance, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { a, err = tx.GetAcceptance(ctx, id); return err })
	return a, err
}

// PendingAcceptance returns the item's pending acceptance, if any.
func (s *Service) PendingAcceptance(ctx context.Context, itemID string) (a tracker.Acceptance, ok bool, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { a, err = tx.OpenAcceptance(ctx, itemID); return err })
	if tracker.KindOf(err) == tracker.ENotFound {
		return tracker.Acceptance{}, false, nil
	}
	return a, err == nil && a.State == tracker.AcceptancePending, err
}

// sameActor reports whether actor made the request: by user id when both
// have one, else by label (the bootstrap token, people from Jira).
func sameActor(actor Actor, a tracker.Acceptance) bool {
	if actor.UserID != "" && a.RequestedByID != "" {
		return actor.UserID == a.RequestedByID
	}
	return strings.EqualFold(actor.label(), a.RequestedBy)
}

// systemNote comments an item as vulnsync (the comment syncs to Jira).
func (s *Service) systemNote(ctx context.Context, tx store.Tx, it tracker.Item, body string) error {
	now := s.Now()
	c := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: System.Name}, Body: body, CreatedAt: now, UpdatedAt: now, Origin: tracker.OriginVulnsync}
	if err := tx.CreateComment(ctx, c); err != nil {
		return err
	}
	return s.emit(ctx, tx, Event{Type: CommentCreated, Item: it, Comment: &c, Origin: tracker.OriginVulnsync})
}

func acceptanceWhat(a tracker.Acceptance) string {
	if a.Status == tracker.StatusFalsePositive {
		return "False positive"
	}
	return "Risk acceptance"
}

func verbOf(st tracker.AcceptanceState) string {
	switch st {
	case tracker.AcceptanceApproved:
		return "approve"
	case tracker.AcceptanceRejected:
		return "reject"
	case tracker.AcceptanceRevoked:
		return "revoke"
	case tracker.AcceptanceExpired:
		return "expire"
	}
	return string(st)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
