package jirasync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/jobs"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Delivery is one webhook delivery as it reached the receiver, before
// anything in it is trusted.
type Delivery struct {
	ConnectionID string
	// Signature is the X-Hub-Signature header.
	Signature string
	// Token is the last segment of the webhook URL in token mode ("" on
	// the signed URL).
	Token string
	// Identifier is X-Atlassian-Webhook-Identifier ("" on Server versions
	// that send none).
	Identifier string
	// Body is the raw body, at most store.MaxDeliveryBytes.
	Body []byte
}

// Receipt says what became of an accepted delivery.
type Receipt struct {
	// Duplicate is true when the delivery was recorded before (a retry).
	Duplicate bool
}

// maxIdentifierLen bounds Jira's delivery identifier (a number in
// practice), which is stored as the delivery's key.
const maxIdentifierLen = 200

// Receive is the webhook receiver's use case (G10): it verifies the
// signature over the raw body before parsing anything, parses it once,
// records the delivery durably (deduplicated by Jira's identifier) and
// queues the affected item's sync in the same transaction, then returns:
// no Jira call happens here. Deliveries arriving together share one
// transaction (group commit), so the intake keeps up with bursts. Errors
// carry a domain kind: ENotFound (no such connection), EUnauthorized (bad
// or missing signature), ETooLarge, EUnavailable (not recorded; Jira will
// retry).
func (e *Engine) Receive(ctx context.Context, in Delivery) (Receipt, error) {
	if len(in.Body) > store.MaxDeliveryBytes {
		return Receipt{}, tracker.Errorf(tracker.ETooLarge, "delivery larger than %d bytes", store.MaxDeliveryBytes)
	}
	if len(in.Identifier) > maxIdentifierLen {
		// Refused, not failed: a 5xx would make Jira retry it for ever.
		return Receipt{}, tracker.Errorf(tracker.EInvalid, "X-Atlassian-Webhook-Identifier is longer than %d characters", maxIdentifierLen)
	}
	mode, err := e.cfg.Connections.VerifyWebhook(ctx, in.ConnectionID, in.Signature, in.Token, in.Body)
	if err != nil {
		if k := tracker.KindOf(err); k == tracker.ENotFound || k == tracker.EUnauthorized {
			return Receipt{}, err
		}
		return Receipt{}, fmt.Errorf("verify the webhook delivery of connection %s: %w", in.ConnectionID, err)
	}
	ev, perr := jirahook.Parse(in.Body)
	key := in.Identifier
	if key == "" {
		// Server versions without the identifier: the body itself (with
		// its timestamp) identifies a delivery and its retries.
		sum := sha256.Sum256(in.Body)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	d := store.Delivery{ConnectionID: in.ConnectionID, DeliveryKey: key, Status: store.DeliveryQueued, Body: in.Body, ReceivedAt: e.now()}
	if ev != nil {
		d.Event, d.IssueID = ev.Kind, ev.IssueID
		if mode == tracker.WebhookToken {
			// Unsigned: only a notice that something happened to the
			// issue; applying it reads the truth from Jira.
			d.Event = noticePrefix + ev.Kind
		}
	}
	if perr != nil {
		d.Status, d.Note = store.DeliveryIgnored, perr.Error()
	}
	res := e.intake.submit(ctx, intakeReq{d: d, ev: ev})
	if res.err != nil {
		if tracker.KindOf(res.err) == tracker.ETooLarge {
			return Receipt{}, res.err
		}
		e.log.Error("record webhook delivery", "connection", in.ConnectionID, "err", res.err)
		return Receipt{}, tracker.Errorf(tracker.EUnavailable, "could not record the delivery; Jira will retry")
	}
	return Receipt{Duplicate: res.dup}, nil
}

// recordOne records one delivery and queues its item's sync inside tx. It
// returns the delivery's id when a sync was queued for it (0 otherwise),
// so its parsed event can be handed to the job once tx committed. What
// the deliveries of one transaction share (the integrations, the webhook
// health counts) is read and written once per transaction through b.
func (e *Engine) recordOne(ctx context.Context, tx store.Tx, q intakeReq, b *intakeTx) (dup bool, queuedID int64, err error) {
	stored, isNew, err := tx.RecordDelivery(ctx, q.d)
	if err != nil {
		return false, 0, err
	}
	// The connection page's webhook health counts it in the same
	// transaction (b.flush: no write of its own).
	result := store.WebhookAccepted
	if !isNew {
		result = store.WebhookDuplicate
	}
	b.count(q.d.ConnectionID, result, q.d.ReceivedAt)
	if !isNew {
		return true, 0, nil
	}
	if stored.Status != store.DeliveryQueued {
		return false, 0, nil
	}
	ins, err := b.integrations(ctx, tx)
	if err != nil {
		return false, 0, err
	}
	itemID, note, err := e.route(ctx, tx, ins, q.d.ConnectionID, q.ev)
	if err != nil {
		return false, 0, err
	}
	if itemID == "" {
		return false, 0, tx.SetDeliveryStatus(ctx, stored.ID, store.DeliveryIgnored, note)
	}
	return false, stored.ID, jobs.Enqueue(ctx, tx, itemKey(itemID), syncItem{ItemID: itemID}, e.now())
}

// intakeTx is what the deliveries recorded in one transaction share: the
// integrations, listed once, and the webhook health counts, written once
// per connection and result when the transaction ends (flush), so a batch
// of a hundred deliveries is one read and one counter write, not a
// hundred of each.
type intakeTx struct {
	ins    []store.Integration
	listed bool
	counts map[[2]string]webhookCount
}

type webhookCount struct {
	n    int
	last time.Time
}

func (b *intakeTx) integrations(ctx context.Context, tx store.Tx) ([]store.Integration, error) {
	if !b.listed {
		ins, err := tx.ListIntegrations(ctx)
		if err != nil {
			return nil, err
		}
		b.ins, b.listed = ins, true
	}
	return b.ins, nil
}

func (b *intakeTx) count(connectionID, result string, at time.Time) {
	if b.counts == nil {
		b.counts = map[[2]string]webhookCount{}
	}
	k := [2]string{connectionID, result}
	c := b.counts[k]
	c.n++
	if at.After(c.last) {
		c.last = at
	}
	b.counts[k] = c
}

// flush writes the counts gathered in tx.
func (b *intakeTx) flush(ctx context.Context, tx store.Tx) error {
	for k, c := range b.counts {
		if err := tx.CountWebhookResult(ctx, k[0], k[1], c.n, c.last); err != nil {
			return err
		}
	}
	return nil
}

// route finds the item a delivery concerns: the issue must belong to a
// project integrated through this connection and be linked to an item.
// Otherwise it returns a note saying why the delivery is ignored.
func (e *Engine) route(ctx context.Context, tx store.Tx, ins []store.Integration, connID string, ev *jirahook.Event) (string, string, error) {
	mapped := false
	for _, in := range ins {
		if in.ConnectionID != connID || (ev.ProjectKey != "" && !strings.EqualFold(ev.ProjectKey, in.ProjectKey)) {
			continue
		}
		mapped = true
		l, err := tx.LinkByIssue(ctx, in.ID, ev.IssueID)
		if tracker.KindOf(err) == tracker.ENotFound {
			continue
		}
		if err != nil {
			return "", "", err
		}
		return l.ItemID, "", nil
	}
	// An issue moved out of its integrated project stays linked by its id
	// (its key and project changed, its id did not): its events still
	// reach its item, which applies the move.
	for _, in := range ins {
		if in.ConnectionID != connID || ev.IssueID == "" {
			continue
		}
		l, err := tx.LinkByIssue(ctx, in.ID, ev.IssueID)
		if tracker.KindOf(err) == tracker.ENotFound || (err == nil && l.State != tracker.LinkLinked) {
			continue // a link that ended with the move has nothing to apply
		}
		if err != nil {
			return "", "", err
		}
		return l.ItemID, "", nil
	}
	if !mapped {
		return "", fmt.Sprintf("project %s is not integrated through this connection", ev.ProjectKey), nil
	}
	return "", fmt.Sprintf("issue %s is not linked to an item", firstNonEmpty(ev.IssueKey, ev.IssueID)), nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// applyDeliveries applies the queued deliveries of the item's issue, in the
// order received; newest-change-wins makes the order irrelevant to the
// outcome.
//
// A plain webhook delivery (an issue or comment event that needs no call
// to Jira) is applied in one transaction: the item change, its synced
// state, the delivery's status and the sync log entry commit together or
// not at all. Its body was parsed by the receiver and handed over in
// memory (parsed once); only a delivery recorded by another process, or
// before a restart, is parsed again. Deliveries that must read Jira
// (reconciliation pulls, unsigned notices, attachments) make their calls
// outside any transaction.
func (r *run) applyDeliveries(ctx context.Context, s *snapshot) error {
	if !s.hasLink || s.link.IssueID == "" {
		return nil
	}
	var queued []store.Delivery
	err := r.e.st.View(ctx, func(tx store.Tx) error {
		var err error
		queued, err = tx.QueuedDeliveries(ctx, r.in.ConnectionID, s.link.IssueID)
		return err
	})
	if err != nil {
		return err
	}
	for _, d := range queued {
		if err := r.applyDelivery(ctx, s, d); err != nil {
			return err
		}
		r.observeApplied(d)
		s2, err := r.e.load(ctx, s.item.ID)
		if err != nil {
			return fmt.Errorf("reload item %s after delivery %d: %w", s.item.ID, d.ID, err)
		}
		*s = s2
	}
	return nil
}

// applyDelivery applies one delivery and records its outcome.
func (r *run) applyDelivery(ctx context.Context, s *snapshot, d store.Delivery) error {
	finish := func(ctx context.Context, tx store.Tx, status, note string) error {
		if note != "" && status == store.DeliveryApplied {
			status = store.DeliveryIgnored
		}
		if err := tx.SetDeliveryStatus(ctx, d.ID, status, note); err != nil {
			return err
		}
		return tx.AddSyncEvent(ctx, r.inboundEvent("webhook "+d.Event, s.link.IssueKey, status, note))
	}
	var note string
	var err error
	switch {
	case d.Event == eventReconcile:
		if s.link.State == tracker.LinkLinked {
			note, err = r.pull(ctx, s)
		} else {
			note = "the item is no longer linked"
		}
	case strings.HasPrefix(d.Event, noticePrefix):
		note, err = r.applyNotice(ctx, s, d)
	default:
		ev := r.e.parsed.take(d.ID)
		if ev == nil {
			ev, err = jirahook.Parse(d.Body)
		}
		if err == nil && !needsJira(ev) {
			before := *s
			err = r.e.st.InTx(ctx, func(tx store.Tx) error {
				*s = before // a retried transaction starts from the same picture
				tctx := store.ContextWithTx(ctx, tx)
				n, err := r.apply(tctx, s, ev)
				if err != nil {
					return err
				}
				return finish(tctx, tx, store.DeliveryApplied, n)
			})
			if err == nil || isRetryable(err) {
				return err
			}
			*s = before
			return r.e.st.InTx(ctx, func(tx store.Tx) error { return finish(ctx, tx, store.DeliveryFailed, err.Error()) })
		}
		if err == nil {
			note, err = r.apply(ctx, s, ev)
		}
	}
	status := store.DeliveryApplied
	if err != nil {
		if isRetryable(err) {
			return err
		}
		status, note = store.DeliveryFailed, err.Error()
	}
	return r.e.st.InTx(ctx, func(tx store.Tx) error { return finish(ctx, tx, status, note) })
}

// needsJira reports whether applying an event calls Jira: attachments are
// downloaded from it.
func needsJira(ev *jirahook.Event) bool {
	for _, c := range ev.Changelog {
		if strings.EqualFold(c.FieldID, "attachment") || strings.EqualFold(c.Field, "attachment") {
			return true
		}
	}
	return false
}

func isRetryable(err error) bool {
	var rl *jira.RateLimitError
	var er *jira.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return true
	case errors.As(err, &er):
		return er.StatusCode >= 500
	}
	return false
}

// recordIn writes a from_jira entry in the sync log.
func (r *run) recordIn(ctx context.Context, action, issueKey, result, note string) {
	ev := r.inboundEvent(action, issueKey, result, note)
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.AddSyncEvent(ctx, ev) }); err != nil {
		r.e.log.Error("record sync event", "err", err)
	}
}

// inboundEvent is the from_jira sync log entry of a delivery's outcome.
func (r *run) inboundEvent(action, issueKey, result, note string) store.SyncEvent {
	ev := store.SyncEvent{IntegrationID: r.in.ID, ItemID: r.itemID, IssueKey: issueKey, Direction: "from_jira", Action: action,
		Result: "ok", JobID: r.jobID, At: r.e.now()}
	switch result {
	case store.DeliveryFailed:
		ev.Result, ev.Error = "error", note
	case store.DeliveryIgnored:
		ev.Result, ev.Error = "skipped", note
	}
	return ev
}

// jiraActor is the Jira user behind a change, as a vulnsync actor.
func jiraActor(u jira.User) service.Actor {
	name := firstNonEmpty(u.DisplayName, u.Name, u.AccountID, "Jira")
	return service.Actor{Name: "jira:" + name, Email: u.EmailAddress, Origin: tracker.OriginJira}
}

// apply applies one delivery to the item; a non-empty note says why
// nothing was done.
func (r *run) apply(ctx context.Context, s *snapshot, ev *jirahook.Event) (string, error) {
	if s.link.State != tracker.LinkLinked {
		return "the item is no longer linked to " + firstNonEmpty(ev.IssueKey, ev.IssueID), nil
	}
	if kind, ok := ev.CommentEvent(); ok {
		return r.applyComment(ctx, s, ev, kind)
	}
	switch ev.Kind {
	case jirahook.IssueDeleted:
		return "", r.issueDeleted(ctx, s, ev.User, boundTime(ev.Time, r.e.now()))
	case jirahook.IssueCreated, jirahook.IssueUpdated:
		if ev.Issue == nil {
			return "no issue in the delivery", nil
		}
		mine := r.isServiceAccount(ev.User)
		if mine && ev.Kind == jirahook.IssueCreated {
			// Our own create, coming back: what it shows was recorded when
			// Jira answered the create, and the same job may have moved
			// the issue since (an item created in progress is created in
			// To Do, then transitioned). Applying this snapshot would make
			// the synced state go back in time, and the next push would
			// repeat a transition Jira then refuses.
			return "our own create", nil
		}
		changed := map[string]bool{}
		for _, c := range ev.Changelog {
			changed[r.changeKey(c)] = true
		}
		// Only the move's own delivery moves the link: a late delivery from
		// before the move still shows the old key, which is no news.
		if changed["key"] || changed["project"] {
			if moved, note, err := r.followMove(ctx, s, ev.Issue, ev.User, ev.Time); moved || err != nil {
				return note, err
			}
		}
		if mine && staleOwnMove(ev.Changelog, decodeState(s.link.Synced).Status, r.changeKey) {
			delete(changed, "status")
		}
		all := ev.Kind == jirahook.IssueCreated
		evAt := ev.Time
		if now := r.e.now(); evAt.After(now.Add(maxClockSkew)) && !ev.Issue.Updated.IsZero() {
			evAt = ev.Issue.Updated // the delivery's own time is not believable; the issue's may be (bounded again below)
		}
		at := func(string) time.Time { return evAt }
		ours := func(string) bool { return mine }
		note, err := r.applyIssue(ctx, s, ev.Issue, at, ev.User, ours, func(id string) bool { return all || changed[id] }, false)
		if err != nil {
			return note, err
		}
		if changed["attachment"] {
			return note, r.pullAttachments(ctx, s, ev)
		}
		return note, nil
	}
	return "event not handled: " + ev.Kind, nil
}

// staleOwnMove reports whether a status change our service account made is
// older than the status vulnsync last recorded for the issue: a move that
// neither starts from nor ends at that status is the echo of an earlier
// move of ours (a job's several transitions are recorded as each one is
// acknowledged, and their webhooks may come one at a time). A move starting
// from the recorded status is newer news (a transition whose answer was
// lost), and one ending there is the echo of the last one; both are
// applied as before.
func staleOwnMove(changelog []jira.ChangeItem, synced string, key func(jira.ChangeItem) string) bool {
	if synced == "" {
		return false
	}
	for _, c := range changelog {
		if key(c) != "status" {
			continue
		}
		if c.FromString == "" || c.ToString == "" {
			return false
		}
		return !strings.EqualFold(c.FromString, synced) && !strings.EqualFold(c.ToString, synced)
	}
	return false
}

// changeKey names a changelog item by field id. Cloud carries the id in
// fieldId; Data Center leaves it out of custom-field items, which name the
// field only by its display name ("field":"CVSS Score","fieldtype":"custom"),
// so those are resolved through the site's field list; old payloads name
// system fields by a lower-case name that is their id.
func (r *run) changeKey(c jira.ChangeItem) string {
	if c.FieldID != "" {
		return c.FieldID
	}
	if strings.EqualFold(c.FieldType, "custom") {
		if id := r.fieldIDByName(c.Field); id != "" {
			return id
		}
	}
	return strings.ToLower(c.Field)
}

// fieldIDByName finds a custom field's id by its display name: first among
// the fields the mapping uses (names are not unique across a site, the
// mapped one is the one that matters), then among all the site's fields.
func (r *run) fieldIDByName(name string) string {
	for _, f := range r.doc.Fields {
		if jf := r.jiraField("", f.Jira); strings.EqualFold(jf.Name, name) && jf.Name != "" {
			return f.Jira
		}
	}
	for _, f := range r.meta.Fields {
		if f.Custom && strings.EqualFold(f.Name, name) {
			return f.ID
		}
	}
	return ""
}

// applyIssue applies the state of an issue to the item and to the synced
// state; when gives Jira's time of the newest change of each field (the
// delivery's time for a webhook, the changelog's for reconciliation). Only
// fields for which changed says yes are looked at: a value Jira did not
// report as changed is no evidence of a newer change. Newest change wins
// (G3), locked fields take their side, and values equal to the synced state
// are our own echoes (G4).
//
// A change the service account made (ours) is vulnsync's own write coming
// back: it updates what Jira is known to hold but never changes the item;
// the push then corrects Jira if the item moved on meanwhile.
//
// current says is holds Jira's values now (a pull), not as they were when
// a webhook's change was made: a webhook's value that a later write of
// ours overtook is not taken as what Jira holds (overtaken).
func (r *run) applyIssue(ctx context.Context, s *snapshot, is *jira.Issue, when func(string) time.Time, user jira.User, ours func(string) bool, changed func(string) bool, current bool) (string, error) {
	synced := decodeState(s.link.Synced)
	if synced.Times == nil {
		synced.Times = map[string]time.Time{}
	}
	// Times beyond the server clock (plus skew) are not believed: a forged
	// or mis-set delivery time of the year 2100 would otherwise make every
	// later real change "not newer". Such a time becomes now, and a
	// watermark already poisoned by one is repaired by being ignored.
	now := r.e.now()
	given := when
	when = func(id string) time.Time { return boundTime(given(id), now) }
	synced.repair(now)
	it := s.item
	it.FieldTimes = saneTimes(it.FieldTimes, now)
	patches := map[time.Time]*tracker.Patch{}
	patchAt := func(at time.Time) *tracker.Patch {
		if patches[at] == nil {
			patches[at] = &tracker.Patch{}
		}
		return patches[at]
	}
	touched := false
	for _, f := range r.doc.Fields {
		at := when(f.Jira)
		if !f.FromJira() || !changed(f.Jira) || !fresh(at, synced.Times[f.Jira], ours(f.Jira)) {
			continue
		}
		jf := r.jiraField(it.Kind, f.Jira)
		v := fromJira(jf, is)
		if f.Jira == "labels" {
			v = withoutMarker(v)
		}
		if isUserField(jf) {
			v = r.vulnsyncUser(ctx, v)
			if who, ok := v.(string); ok && strings.HasPrefix(who, unmatchedPrefix) {
				// Jira's person is no vulnsync user (or hides their
				// email): recorded as what Jira holds, never applied as
				// someone else.
				echo := tracker.Equal(v, synced.Fields[f.Jira])
				synced.Fields[f.Jira], synced.Times[f.Jira] = v, at
				touched = true
				if !echo {
					r.recordIn(ctx, "assignee", s.link.IssueKey, store.DeliveryIgnored,
						fmt.Sprintf("%s in Jira is not matched to a vulnsync user (%s): the item's %s was left as it is", jf.Name, strings.TrimPrefix(who, unmatchedPrefix), f.Vulnsync))
				}
				continue
			}
		}
		echo := tracker.Equal(v, synced.Fields[f.Jira])
		if current || !overtaken(synced, f.Jira, at, ours(f.Jira), echo) {
			synced.Fields[f.Jira], synced.Times[f.Jira] = v, at
		}
		touched = true
		if echo || ours(f.Jira) || tracker.Equal(v, normalize(itemValue(it, f.Vulnsync))) {
			continue
		}
		if !r.e.jiraWins(f, at, it.FieldTimes[f.Vulnsync]) {
			continue // vulnsync's value is newer or locked: the push restores it
		}
		setPatch(patchAt(at), f.Vulnsync, v)
	}
	if at := when("status"); changed("status") && fresh(at, synced.Times["status"], ours("status")) && is.Status.Name != "" {
		same := strings.EqualFold(is.Status.Name, synced.Status)
		// A person's move into the status the synced state holds is a
		// change, not an echo: its way out was missed (a dropped webhook)
		// or it re-enters a status several vulnsync statuses share. Only
		// when our own writes cannot be told apart does equality decide.
		echo := ours("status") || (same && r.account == "")
		prev := synced.Status
		if current || !overtaken(synced, "status", at, ours("status"), same) {
			synced.Status, synced.Times["status"] = is.Status.Name, at
		}
		touched = true
		if !echo {
			if err := r.withdrawMovedProposal(ctx, s, prev, is.Status.Name, user); err != nil {
				return "", err
			}
		}
		if st, ok := r.doc.StatusFromJiraName(is.Status.Name, is.Status.Category.Key); ok && !echo && st != it.Status && r.e.jiraNewer(at, it.FieldTimes["status"]) {
			if r.doc.AcceptsByRequest(st) {
				// A person's Won't Do is a proposal: a pending acceptance,
				// approved by an admin, not a silent close.
				if err := r.requestAcceptance(ctx, s, st, is.Status.Name, user); err != nil {
					return "", err
				}
			} else {
				patchAt(at).Status = &st
			}
		}
	}
	if at := when("priority"); changed("priority") && fresh(at, synced.Times["priority"], ours("priority")) && is.Priority != nil {
		same := strings.EqualFold(is.Priority.Name, synced.Priority)
		echo := same || ours("priority")
		if current || !overtaken(synced, "priority", at, ours("priority"), same) {
			synced.Priority, synced.Times["priority"] = is.Priority.Name, at
		}
		touched = true
		if sev, ok := r.doc.SeverityOf(is.Priority.Name); ok && !echo && sev != it.Severity && r.e.jiraNewer(at, it.FieldTimes["severity"]) {
			patchAt(at).Severity = &sev
		}
	}
	if !touched {
		return "nothing newer than what was already applied", nil
	}
	times := make([]time.Time, 0, len(patches))
	for at := range patches {
		times = append(times, at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, at := range times {
		updated, err := r.e.cfg.Tracker.UpdateItemAt(ctx, jiraActor(user), it.ID, *patches[at], at)
		if err != nil {
			if tracker.KindOf(err) == tracker.EInvalid {
				return "", jobs.Permanent(fmt.Errorf("Jira's values do not fit the item: %w", err))
			}
			return "", err
		}
		s.item = updated
	}
	s.link.Synced = synced.encode()
	return "", r.storeLink(ctx, it.ID, s.link.IssueID, s.link.IssueKey, synced)
}

// fresh reports whether a change Jira made at "at" is newer than the one
// last applied (at "last"). Jira's times have millisecond precision, so
// two changes can share one: a person's change must be strictly newer (a
// late delivery of the same millisecond is not applied twice), while our
// own write in the same millisecond as a person's change is taken as the
// later one — we write only after reading Jira's state.
func fresh(at, last time.Time, ours bool) bool {
	if ours {
		return !at.Before(last)
	}
	return at.After(last)
}

// jiraWins decides a field changed on both sides: a lock decides, else the
// newest change by each side's own clock.
func (e *Engine) jiraWins(f mapping.Field, jiraAt, vulnsyncAt time.Time) bool {
	switch f.Locked {
	case mapping.LockJira:
		return true
	case mapping.LockVulnsync:
		return false
	}
	return e.jiraNewer(jiraAt, vulnsyncAt)
}

func setPatch(p *tracker.Patch, name string, v any) {
	switch name {
	case "title":
		s, _ := v.(string)
		s, _ = tracker.FitText(tracker.StripControl(s, false), tracker.MaxTitleLen, "…")
		p.Title = &s
	case "description":
		s, _ := v.(string)
		if s != "" {
			s = service.FromJiraText(s) // what Jira accepted is kept, cut with a note if too long here
		}
		p.Description = &s
	default:
		if p.Fields == nil {
			p.Fields = map[string]any{}
		}
		p.Fields[name] = v
	}
}

// applyComment mirrors a Jira comment: one Jira comment becomes exactly one
// vulnsync comment, whichever of its deliveries comes first (G4, G6).
//
// Under the "skip" policy for restricted comments, a comment restricted in
// Jira is not shown here: it is not mirrored, or removed if it was, its
// link then marked withheld. Made public again (an edit without a
// visibility), it is mirrored then, like a new comment; a Jira deletion
// turns a withheld link into a plain deleted one, so that a late delivery
// cannot bring a deleted comment back.
func (r *run) applyComment(ctx context.Context, s *snapshot, ev *jirahook.Event, kind string) (string, error) {
	if r.doc.Comments != mapping.CommentsBoth && r.doc.Comments != mapping.CommentsFromJira {
		return "comments do not flow from Jira under this mapping", nil
	}
	c := ev.Comment
	var link store.ObjectLink
	err := r.e.st.View(ctx, func(tx store.Tx) error {
		var err error
		link, err = tx.ObjectLinkByJira(ctx, store.ObjectComment, r.in.ID, c.ID)
		return err
	})
	known := err == nil
	if err != nil && tracker.KindOf(err) != tracker.ENotFound {
		return "", err
	}
	withheld := known && link.Deleted && link.Hash == withheldHash
	var replaced *store.ObjectLink // the withheld link a new mirror takes over
	if withheld {
		replaced = &link
	}
	skip := r.skipsRestricted(c)
	switch kind {
	case jirahook.CommentCreated:
		if known && !withheld {
			return "comment already mirrored", nil
		}
		if skip {
			return skippedNote(c), nil
		}
		return r.mirrorComment(ctx, s, c, ev.Time, replaced)
	case jirahook.CommentUpdated:
		if !known || withheld {
			// Not shown here: a comment left out while restricted (or
			// whose creation was not seen) is mirrored once it may be.
			if skip {
				return skippedNote(c), nil
			}
			return r.mirrorComment(ctx, s, c, ev.Time, replaced)
		}
		if link.Deleted {
			return "edit of a comment that is not mirrored", nil
		}
		if link.Hash == commentHash(c) || link.Origin != string(tracker.OriginJira) {
			return "no change (or our own comment)", nil
		}
		if skip {
			// Restricted in Jira since it was mirrored: under the skip
			// policy it must not stay readable here.
			if err := r.e.cfg.Tracker.RemoveComment(ctx, link.LocalID); err != nil && tracker.KindOf(err) != tracker.ENotFound {
				return "", err
			}
			link.Deleted, link.Hash, link.UpdatedAt = true, withheldHash, r.e.now()
			if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, link) }); err != nil {
				return "", err
			}
			return "comment restricted in Jira: removed (the mapping skips restricted comments)", nil
		}
		if _, err := r.e.cfg.Tracker.EditRestrictedComment(ctx, link.LocalID, c.Body, visibilityOf(c), firstTime(c.Updated, ev.Time)); err != nil {
			return "", err
		}
		link.Hash, link.UpdatedAt = commentHash(c), r.e.now()
		return "", r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, link) })
	case jirahook.CommentDeleted:
		if withheld {
			// Deleted in Jira while withheld here: it may never come back.
			link.Hash, link.UpdatedAt = "", r.e.now()
			if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, link) }); err != nil {
				return "", err
			}
			return "deletion of a comment that is not mirrored (withheld while restricted)", nil
		}
		if !known || link.Deleted {
			return "deletion of a comment that is not mirrored", nil
		}
		if link.Origin == string(tracker.OriginJira) {
			if err := r.e.cfg.Tracker.RemoveComment(ctx, link.LocalID); err != nil && tracker.KindOf(err) != tracker.ENotFound {
				return "", err
			}
		}
		link.Deleted, link.UpdatedAt = true, r.e.now()
		return "", r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, link) })
	}
	return "comment event not handled: " + kind, nil
}

// withheldHash is the hash of a deleted comment link whose Jira comment
// still exists but was removed here because it became restricted under
// the "skip" policy: it is mirrored again once Jira shows it to everyone.
// No content hash has this value (they are hex).
const withheldHash = "withheld:restricted"

// skippedNote says why a restricted comment was not mirrored.
func skippedNote(c *jira.Comment) string {
	return "restricted comment (" + c.Visibility.Type + " " + c.Visibility.Value + ") not mirrored: the mapping skips restricted comments"
}

// mirrorComment stores a Jira comment as a vulnsync comment and links the
// two. withheld is the link of the same Jira comment removed here while it
// was restricted: it gives its Jira id up to the new link in the same
// transaction, and the comment's command, if any, is not run again (it
// ran, or was refused, when the comment was first mirrored).
func (r *run) mirrorComment(ctx context.Context, s *snapshot, c *jira.Comment, at time.Time, withheld *store.ObjectLink) (string, error) {
	if strings.TrimSpace(c.Body) == "" {
		return "empty comment", nil
	}
	created := firstTime(c.Created, at)
	vis := visibilityOf(c)
	mc, err := r.e.cfg.Tracker.MirrorComment(ctx, tracker.Comment{ItemID: s.item.ID, Author: authorOf(c.Author), Body: c.Body,
		CreatedAt: created, UpdatedAt: c.Updated, Origin: tracker.OriginJira, Visibility: vis, Restricted: vis != nil})
	if err != nil {
		return "", err
	}
	ol := store.ObjectLink{Kind: store.ObjectComment, LocalID: mc.ID, ItemID: s.item.ID, IntegrationID: r.in.ID, JiraID: c.ID,
		IssueID: s.link.IssueID, Origin: string(tracker.OriginJira), Hash: commentHash(c), UpdatedAt: r.e.now()}
	err = r.e.st.InTx(ctx, func(tx store.Tx) error {
		if withheld != nil {
			old := *withheld
			old.JiraID, old.Hash, old.UpdatedAt = "", "", r.e.now()
			if err := tx.UpsertObjectLink(ctx, old); err != nil {
				return err
			}
		}
		return tx.UpsertObjectLink(ctx, ol)
	})
	if err != nil {
		return "", err
	}
	if withheld != nil {
		return "", nil
	}
	return "", r.triage(ctx, s, c) // a /vulnsync command, once: the comment's link says it was handled
}

// skipsRestricted reports whether a Jira comment is restricted to a role
// or group and the mapping's policy is to leave such comments out.
func (r *run) skipsRestricted(c *jira.Comment) bool {
	return c.Visibility != nil && r.doc.RestrictedComments != mapping.RestrictedKeep
}

// visibilityOf is a Jira comment's restriction in vulnsync's terms (nil
// for a public comment).
func visibilityOf(c *jira.Comment) *tracker.Visibility {
	if c.Visibility == nil {
		return nil
	}
	return &tracker.Visibility{Type: c.Visibility.Type, Value: c.Visibility.Value}
}

// commentHash identifies what a mirrored Jira comment holds: its body and,
// when restricted, its visibility, so that a change of either is applied
// (a public comment hashes as its body alone, as before visibility was
// kept).
func commentHash(c *jira.Comment) string {
	if c.Visibility == nil {
		return hash(c.Body)
	}
	return hash(c.Body + "\x00" + c.Visibility.Type + ":" + c.Visibility.Value)
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func authorOf(u jira.User) tracker.Author {
	a := tracker.Author{Name: firstNonEmpty(u.DisplayName, u.Name, "Jira user"), Email: u.EmailAddress, AccountID: u.AccountID}
	if a.AccountID == "" {
		a.AccountID = firstNonEmpty(u.Key, u.Name)
	}
	return a
}

// issueDeleted applies on_issue_deleted (G11): unlink keeps the item and
// says why; recreate makes the next push create a new issue.
func (r *run) issueDeleted(ctx context.Context, s *snapshot, by jira.User, at time.Time) error {
	return r.issueLost(ctx, s, by, at, "was deleted")
}

// followMove applies a move of the linked issue (Jira's Move: the id stays,
// the key and project change): the link takes the new key, so the item
// shows it. Moved to another project, the issue has left the integration
// and on_issue_deleted applies (unlink, or recreate in the integrated
// project), unless on_issue_moved is follow. It reports whether the link
// ended (nothing else is then applied).
func (r *run) followMove(ctx context.Context, s *snapshot, is *jira.Issue, by jira.User, at time.Time) (bool, string, error) {
	if is == nil || is.Key == "" || strings.EqualFold(is.Key, s.link.IssueKey) {
		return false, "", nil
	}
	if is.ID != "" && is.ID != s.link.IssueID {
		return false, "", nil // another issue: not a move of ours
	}
	oldKey := s.link.IssueKey
	l := s.link
	l.IssueKey, l.UpdatedAt = is.Key, r.e.now()
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, l) }); err != nil {
		return false, "", err
	}
	s.link = l
	proj := issueProject(is)
	if !strings.EqualFold(proj, r.in.ProjectKey) && r.doc.OnIssueMoved != mapping.OnIssueMovedFollow {
		r.recordIn(ctx, "moved", is.Key, "ok", fmt.Sprintf("%s moved to project %s as %s: it left the integrated project %s, so on_issue_deleted (%s) applies", oldKey, proj, is.Key, r.in.ProjectKey, r.doc.OnIssueDeleted))
		return true, "", r.issueLost(ctx, s, by, at, fmt.Sprintf("(formerly %s) was moved to project %s", oldKey, proj))
	}
	r.recordIn(ctx, "moved", is.Key, "ok", fmt.Sprintf("%s is now %s (project %s): the link follows the issue by its id %s", oldKey, is.Key, proj, l.IssueID))
	return false, "", nil
}

// issueLost applies on_issue_deleted to an issue that is gone from the
// integrated project (deleted, or moved out); what says how.
func (r *run) issueLost(ctx context.Context, s *snapshot, by jira.User, at time.Time, what string) error {
	l := s.link
	who := firstNonEmpty(by.DisplayName, by.Name, "someone")
	if r.doc.OnIssueDeleted == mapping.OnIssueDeletedRecreate {
		l.State, l.IssueID, l.IssueKey, l.Synced = tracker.LinkRefused, "", "", nil
	} else {
		l.State = tracker.LinkUnlinked
	}
	l.UpdatedAt = r.e.now()
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertLink(ctx, l) }); err != nil {
		return err
	}
	then := "the item is no longer linked"
	if l.State == tracker.LinkRefused {
		then = "a new issue will be created"
	}
	_, err := r.e.cfg.Tracker.MirrorComment(ctx, tracker.Comment{ItemID: s.item.ID, Author: authorOf(by),
		Body: fmt.Sprintf("Jira issue %s %s by %s; %s.", s.link.IssueKey, what, who, then), CreatedAt: firstTime(at, r.e.now()), Origin: tracker.OriginJira})
	s.link = l
	return err
}

// pullAttachments brings attachments added in Jira to the item, up to the
// mapping's max_bytes; larger ones are recorded as a link with a note (G7).
func (r *run) pullAttachments(ctx context.Context, s *snapshot, ev *jirahook.Event) error {
	if !r.doc.Attachments.FromJira || ev.Issue == nil {
		return nil
	}
	added := map[string]bool{}
	for _, c := range ev.Changelog {
		if r.changeKey(c) == "attachment" && c.To != "" {
			added[c.To] = true
		}
	}
	for _, a := range ev.Issue.Attachments {
		if !added[a.ID] {
			continue
		}
		var existing store.ObjectLink
		err := r.e.st.View(ctx, func(tx store.Tx) error {
			var err error
			existing, err = tx.ObjectLinkByJira(ctx, store.ObjectAttachment, r.in.ID, a.ID)
			return err
		})
		if err == nil {
			_ = existing
			continue // ours, or already here
		}
		if tracker.KindOf(err) != tracker.ENotFound {
			return err
		}
		max := r.doc.Attachments.MaxBytes
		var content *jira.AttachmentContent
		err = r.call(ctx, "attachment", "GET /attachment/content/{id}", s.link.IssueKey, func() error {
			var err error
			content, err = r.client.DownloadAttachment(ctx, firstNonEmpty(a.Content, a.ID), max)
			return err
		})
		var localID string
		switch {
		case jira.IsTooLarge(err) || (err == nil && a.Size > max):
			c, err := r.e.cfg.Tracker.MirrorComment(ctx, tracker.Comment{ItemID: s.item.ID, Author: authorOf(a.Author),
				Body:      fmt.Sprintf("Attachment **%s** (%d bytes) was added in Jira but is larger than the %d bytes this integration copies: %s", a.Filename, a.Size, max, a.Content),
				CreatedAt: firstTime(a.Created, ev.Time), Origin: tracker.OriginJira})
			if err != nil {
				return err
			}
			localID = "link:" + c.ID
		case err != nil:
			return classify(err)
		default:
			att, err := r.e.cfg.Tracker.AddAttachment(ctx, jiraActor(a.Author), s.item.ID, a.Filename, firstNonEmpty(a.MimeType, content.ContentType), content.Data)
			if err != nil {
				return err
			}
			localID = att.ID
		}
		ol := store.ObjectLink{Kind: store.ObjectAttachment, LocalID: localID, ItemID: s.item.ID, IntegrationID: r.in.ID, JiraID: a.ID,
			IssueID: s.link.IssueID, Origin: string(tracker.OriginJira), UpdatedAt: r.e.now()}
		if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.UpsertObjectLink(ctx, ol) }); err != nil {
			return err
		}
	}
	return nil
}

// isServiceAccount reports whether a Jira user is the connection's own
// account, i.e. the change is vulnsync's write.
func (r *run) isServiceAccount(u jira.User) bool {
	acct := r.account
	if acct == "" {
		return false
	}
	return u.AccountID == acct || u.Key == acct || u.Name == acct
}

// RecordWebhookRejection keeps a delivery refused before it was recorded
// (bad signature, unreadable, too large) for the connection page's webhook
// health: result names why (a store.Webhook* result), reason is the message
// Jira was answered with, and only a short printable excerpt of the
// untrusted body is kept. Deliveries for no known connection are not kept
// (there is nothing to show them on).
func (e *Engine) RecordWebhookRejection(ctx context.Context, connectionID, result, reason string, body []byte) error {
	if len(body) > store.MaxRejectionExcerpt {
		body = body[:store.MaxRejectionExcerpt]
	}
	r := store.WebhookRejection{ConnectionID: connectionID, At: e.now(), Result: result, Reason: reason, Excerpt: store.SafeExcerpt(body)}
	err := e.st.InTx(ctx, func(tx store.Tx) error { return tx.RecordWebhookRejection(ctx, r) })
	if tracker.KindOf(err) == tracker.ENotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record the rejected webhook delivery of connection %s: %w", connectionID, err)
	}
	return nil
}

// WebhookHealth is a connection's webhook deliveries by result, the last
// one's time and the newest rejections.
func (e *Engine) WebhookHealth(ctx context.Context, connectionID string) (h store.WebhookHealth, err error) {
	err = e.st.View(ctx, func(tx store.Tx) error {
		h, err = tx.WebhookHealth(ctx, connectionID)
		return err
	})
	return h, err
}
