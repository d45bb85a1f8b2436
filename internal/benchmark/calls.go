package benchmark

import (
	"context"
	"fmt"
	"time"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// callsRatio is the target: at most 1.05 × the minimum calls.
const callsRatio = 1.05

// runCalls counts the Jira calls vulnsync makes for a mixed workload and
// compares them with the minimum the changes need — the workload and the
// minimum of internal/jirasync's calls_test.go, larger, with the real job
// runner and the simulator delivering its webhooks by itself (so echoes of
// vulnsync's own writes come back and must cost nothing). The minimum per
// change: a create is one call; an edit of any number of fields is one; a
// status change is one per transition on the shortest path plus its
// key-event comment; a severity change is one edit plus its key-event
// comment; a comment or an attachment is one; a finding is its create plus
// the new-finding comment on its vulnerability; a burst of edits to one
// item is one edit.
func runCalls(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	s.startWorkers()
	in, err := s.setup(ctx, "calls")
	if err != nil {
		return err
	}
	if err := s.waitQuiet(ctx, time.Minute); err != nil {
		return err
	}
	base := s.sim.Counters().Total.Requests
	settle := time.Minute + time.Duration(o.CallsItems)*100*time.Millisecond

	minimum := 0
	items, err := s.createVulns(ctx, in.targetID, o.CallsItems, "V")
	if err != nil {
		return err
	}
	minimum += len(items)
	if err := s.waitQuiet(ctx, settle); err != nil {
		return fmt.Errorf("sync the creates: %w", err)
	}
	counts := map[string]int{}
	for i, it := range items {
		var err error
		switch i % 8 {
		case 0: // edit two fields at once
			title := fmt.Sprintf("V%d (confirmed)", i)
			_, err = s.svc.UpdateItem(ctx, benchActor, it.ID, tracker.Patch{Title: &title, Fields: map[string]any{"cvss_score": 7.5}})
			minimum++
			counts["edit of two fields"]++
		case 1: // To Do → Done: two transitions and a key event
			st := tracker.StatusResolved
			_, err = s.svc.UpdateItem(ctx, benchActor, it.ID, tracker.Patch{Status: &st})
			minimum += 3
			counts["status two transitions away"]++
		case 2: // severity: edit and key event
			sev := tracker.SeverityCritical
			_, err = s.svc.UpdateItem(ctx, benchActor, it.ID, tracker.Patch{Severity: &sev})
			minimum += 2
			counts["severity"]++
		case 3:
			_, err = s.svc.AddComment(ctx, benchActor, it.ID, "please retest")
			minimum++
			counts["comment"]++
		case 4:
			_, err = s.svc.AddAttachment(ctx, benchActor, it.ID, "poc.txt", "text/plain", []byte("proof"))
			minimum++
			counts["attachment"]++
		case 5: // a finding: create and new-finding comment
			_, err = s.svc.CreateItem(ctx, benchActor, in.targetID, tracker.NewItem{Kind: tracker.KindFinding, Title: fmt.Sprintf("F%d", i),
				Severity: tracker.SeverityLow, ParentID: it.ID})
			minimum += 2
			counts["new finding"]++
		case 6: // To Do → In Progress: one transition and a key event
			st := tracker.StatusInProgress
			_, err = s.svc.UpdateItem(ctx, benchActor, it.ID, tracker.Patch{Status: &st})
			minimum += 2
			counts["status one transition away"]++
		case 7: // a burst of edits to one item coalesces into one edit
			for j := 0; j < 5 && err == nil; j++ {
				_, err = s.svc.UpdateItem(ctx, benchActor, it.ID, tracker.Patch{Fields: map[string]any{"cvss_score": float64(j)}})
			}
			minimum++
			counts["burst of 5 edits"]++
		}
		if err != nil {
			return fmt.Errorf("change item %d: %w", i, err)
		}
	}
	if err := s.waitQuiet(ctx, settle); err != nil {
		return fmt.Errorf("sync the changes: %w", err)
	}
	c := s.sim.Counters()
	made := int(c.Total.Requests - base)
	rec.add(fmt.Sprintf("Jira calls per change, mixed workload (%d calls)", made), float64(made)/float64(minimum), "x", atMost(callsRatio))
	rec.note("%d vulnerabilities created, then per kind of change: %v; the changes need at least %d calls, %d were made", len(items), counts, minimum, made)
	rec.note("webhooks delivered by the simulator as they happen (%d delivered); 429s %d, injected errors none", c.Webhooks.Delivered, c.Total.RateLimited)
	return nil
}
