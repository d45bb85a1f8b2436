package jirasync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// expireAcceptances is the periodic job that ends approved risk
// acceptances at their expiry (issue 16): each one reopens its item, and
// the item's sync reopens the Jira issue with the comment saying why. It
// is one job chain under one key, so replicas coalesce it into one pending
// job; each run queues the next at the engine clock's now plus
// AcceptanceInterval, so tests drive it with their clock.
type expireAcceptances struct{}

// Kind names the job.
func (expireAcceptances) Kind() string { return "expire_acceptances" }

const expireAcceptancesKey = "acceptances:expiry"

// ScheduleAcceptanceExpiry queues the expiry job to run now (a pending one
// keeps its earlier time). serve calls it at start.
func (e *Engine) ScheduleAcceptanceExpiry(ctx context.Context) error {
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		return jobs.Enqueue(ctx, tx, expireAcceptancesKey, expireAcceptances{}, e.now())
	})
	e.Notify()
	if err != nil {
		return fmt.Errorf("schedule the acceptance expiry: %w", err)
	}
	return nil
}

func (e *Engine) workExpireAcceptances(ctx context.Context, job store.Job, _ expireAcceptances) error {
	n, err := e.cfg.Tracker.ExpireAcceptances(ctx)
	if n > 0 {
		e.log.Info("risk acceptances expired", "count", n)
	}
	if err != nil {
		return err
	}
	return e.st.InTx(ctx, func(tx store.Tx) error {
		return jobs.Enqueue(ctx, tx, expireAcceptancesKey, expireAcceptances{}, e.now().Add(e.acceptanceInterval()))
	})
}

func (e *Engine) acceptanceInterval() time.Duration {
	if e.cfg.AcceptanceInterval > 0 {
		return e.cfg.AcceptanceInterval
	}
	return 15 * time.Minute
}

// jiraAcceptanceDays is how long an acceptance proposed from Jira runs
// once approved; the approver may revoke it earlier.
const jiraAcceptanceDays = 90

// defaultExpiry is the expiry of an acceptance proposed from Jira without
// a date: jiraAcceptanceDays ahead, or the installation's maximum when
// that is shorter (a proposal must not be refused for a date nobody
// chose).
func (r *run) defaultExpiry() time.Time {
	days := min(jiraAcceptanceDays, r.e.cfg.Tracker.MaxAcceptanceDays())
	return r.e.now().Add(time.Duration(days) * 24 * time.Hour)
}

// requestAcceptance turns a person's move in Jira into a status meaning
// accepted_risk or false_positive into a pending acceptance (issue 16);
// the item keeps its status and Jira keeps the proposed one until an
// admin decides. An item with an open acceptance already is left alone.
func (r *run) requestAcceptance(ctx context.Context, s *snapshot, st tracker.Status, jiraStatus string, user jira.User) error {
	actor := jiraActor(user)
	req := tracker.AcceptanceRequest{Status: st, ExpiresAt: r.defaultExpiry(),
		Reason: fmt.Sprintf("%s moved %s to %s in Jira.", strings.TrimPrefix(actor.Name, "jira:"), s.link.IssueKey, jiraStatus)}
	_, err := r.e.cfg.Tracker.RequestAcceptance(ctx, actor, s.item.ID, req)
	if tracker.KindOf(err) == tracker.EConflict {
		return nil
	}
	return err
}

// heldByPendingAcceptance reports whether the issue's Jira status is the
// one a pending acceptance of the item proposes: the push leaves it there
// until an admin decides (a rejection then moves it back).
func (r *run) heldByPendingAcceptance(ctx context.Context, itemID, jiraStatus string) (bool, error) {
	a, pending, err := r.e.cfg.Tracker.PendingAcceptance(ctx, itemID)
	if err != nil || !pending {
		return false, err
	}
	return strings.EqualFold(r.doc.JiraStatus(a.Status), jiraStatus), nil
}

// withdrawMovedProposal ends the item's pending acceptance proposed from
// Jira when a person moves the issue out of the proposed status (from
// prevStatus, the last one synced): the proposal no longer stands. An
// issue that was not in the proposed status (a request made by a
// /vulnsync comment, or a pull that finds the status unchanged) leaves
// the request alone: nobody took anything back.
func (r *run) withdrawMovedProposal(ctx context.Context, s *snapshot, prevStatus, jiraStatus string, user jira.User) error {
	a, pending, err := r.e.cfg.Tracker.PendingAcceptance(ctx, s.item.ID)
	if err != nil || !pending || a.Origin != tracker.OriginJira {
		return err
	}
	if proposed := r.doc.JiraStatus(a.Status); strings.EqualFold(proposed, jiraStatus) || !strings.EqualFold(proposed, prevStatus) {
		return nil
	}
	who := strings.TrimPrefix(jiraActor(user).Name, "jira:")
	_, err = r.e.cfg.Tracker.WithdrawAcceptance(ctx, a.ID, fmt.Sprintf("Withdrawn in Jira: %s moved %s to %s.", who, s.link.IssueKey, jiraStatus))
	if tracker.KindOf(err) == tracker.EConflict {
		return nil // decided meanwhile
	}
	return err
}
