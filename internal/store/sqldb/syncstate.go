package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// ---- Webhook deliveries ----

const deliveryMeta = `id, connection_id, delivery_key, event, issue_id, status, note, received_at, updated_at`

func scanDeliveryMeta(s rowScanner) (store.Delivery, error) {
	var d store.Delivery
	err := s.Scan(&d.ID, &d.ConnectionID, &d.DeliveryKey, &d.Event, &d.IssueID, &d.Status, &d.Note,
		timeCol{&d.ReceivedAt}, timeCol{&d.UpdatedAt})
	return d, err
}

func scanDelivery(s rowScanner) (store.Delivery, error) {
	var d store.Delivery
	err := s.Scan(&d.ID, &d.ConnectionID, &d.DeliveryKey, &d.Event, &d.IssueID, &d.Status, &d.Note,
		timeCol{&d.ReceivedAt}, timeCol{&d.UpdatedAt}, &d.Body)
	if err == nil && d.Body == nil {
		d.Body = []byte{}
	}
	return d, err
}

var deliveryStatuses = []string{store.DeliveryQueued, store.DeliveryApplied, store.DeliveryIgnored, store.DeliveryFailed}

// RecordDelivery stores a webhook delivery of an existing connection unless
// one with the same (ConnectionID, DeliveryKey) is stored already, and
// returns the stored row (body included) and whether it is new. An empty
// Status is queued, a zero ReceivedAt now; UpdatedAt is ReceivedAt. The
// insert is ON CONFLICT DO NOTHING, so identical deliveries racing on one
// replica or several record one row, and exactly one of them is told it is
// new.
func (t *tx) RecordDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error) {
	if err := checkID("connection", d.ConnectionID); err != nil {
		return store.Delivery{}, false, err
	}
	if d.Status == "" {
		d.Status = store.DeliveryQueued
	}
	p := tracker.Problems{}
	checkText(p, "delivery_key", d.DeliveryKey, true, 256)
	checkText(p, "event", d.Event, false, 128)
	checkText(p, "issue_id", d.IssueID, false, store.MaxIDLen)
	oneOf(p, "status", d.Status, deliveryStatuses...)
	if err := p.Err(tracker.EInvalid, "invalid webhook delivery"); err != nil {
		return store.Delivery{}, false, err
	}
	if len(d.Body) > store.MaxDeliveryBytes {
		return store.Delivery{}, false, tracker.Errorf(tracker.ETooLarge, "webhook delivery is %d bytes; the limit is %d", len(d.Body), store.MaxDeliveryBytes)
	}
	const op = "record delivery"
	if err := t.connectionKnown(ctx, op, d.ConnectionID); err != nil {
		return store.Delivery{}, false, err
	}
	d.ID = 0
	d.Note = truncateError(d.Note)
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.ReceivedAt = t.stamp(d.ReceivedAt)
	d.UpdatedAt = d.ReceivedAt
	err := t.queryRow(ctx, `INSERT INTO deliveries (connection_id, delivery_key, event, issue_id, status, note, body, received_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (connection_id, delivery_key) DO NOTHING RETURNING id`,
		d.ConnectionID, d.DeliveryKey, d.Event, d.IssueID, d.Status, d.Note, d.Body, t.d.ts(d.ReceivedAt), t.d.ts(d.UpdatedAt)).Scan(&d.ID)
	switch {
	case err == nil:
		return d, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return store.Delivery{}, false, wrap(op, err)
	}
	// A duplicate: under READ COMMITTED this statement sees the row the
	// insert waited for.
	stored, err := scanDelivery(t.queryRow(ctx, `SELECT `+deliveryMeta+`, body FROM deliveries WHERE connection_id = ? AND delivery_key = ?`,
		d.ConnectionID, d.DeliveryKey))
	if err != nil {
		return store.Delivery{}, false, wrap(op+": read the stored duplicate", err)
	}
	return stored, false, nil
}

// GetDelivery returns one delivery with its body.
func (t *tx) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	d, err := scanDelivery(t.queryRow(ctx, `SELECT `+deliveryMeta+`, body FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Delivery{}, notFound("delivery %d not found", id)
	}
	if err != nil {
		return store.Delivery{}, wrap("get delivery", err)
	}
	return d, nil
}

// SetDeliveryStatus records what became of a delivery; a note longer than
// store.MaxJobErrorBytes is truncated.
func (t *tx) SetDeliveryStatus(ctx context.Context, id int64, status, note string) error {
	p := tracker.Problems{}
	oneOf(p, "status", status, deliveryStatuses...)
	if err := p.Err(tracker.EInvalid, "invalid delivery status"); err != nil {
		return err
	}
	n, err := t.execN(ctx, `UPDATE deliveries SET status = ?, note = ?, updated_at = ? WHERE id = ?`,
		status, truncateError(note), t.d.ts(t.now()), id)
	if err != nil {
		return wrap("set delivery status", err)
	}
	if n == 0 {
		return notFound("delivery %d not found", id)
	}
	return nil
}

// ListDeliveries returns a connection's deliveries, last recorded first,
// without their bodies. limit defaults to store.DefaultPageSize and is
// capped at store.MaxPageSize.
func (t *tx) ListDeliveries(ctx context.Context, connectionID string, limit int) ([]store.Delivery, error) {
	n, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	if err := t.connectionKnown(ctx, "list deliveries", connectionID); err != nil {
		return nil, err
	}
	return queryAll(ctx, t, "list deliveries", scanDeliveryMeta,
		`SELECT `+deliveryMeta+` FROM deliveries WHERE connection_id = ? ORDER BY id DESC LIMIT ?`, connectionID, n)
}

// QueuedDeliveries returns up to store.MaxQueuedDeliveries queued
// deliveries of one issue of a connection, with their bodies, oldest
// (first recorded) first.
func (t *tx) QueuedDeliveries(ctx context.Context, connectionID, issueID string) ([]store.Delivery, error) {
	if issueID == "" {
		return nil, invalid("listing queued deliveries needs the issue id")
	}
	return queryAll(ctx, t, "list queued deliveries", scanDelivery,
		`SELECT `+deliveryMeta+`, body FROM deliveries WHERE connection_id = ? AND issue_id = ? AND status = 'queued' ORDER BY id LIMIT ?`,
		connectionID, issueID, store.MaxQueuedDeliveries)
}

// ---- Object links ----

const objectLinkCols = `kind, local_id, item_id, integration_id, jira_id, issue_id, origin, hash, deleted, updated_at`

func scanObjectLink(s rowScanner) (store.ObjectLink, error) {
	var l store.ObjectLink
	err := s.Scan(&l.Kind, &l.LocalID, &l.ItemID, &l.IntegrationID, &l.JiraID, &l.IssueID, &l.Origin, &l.Hash, &l.Deleted, timeCol{&l.UpdatedAt})
	return l, err
}

func checkObjectKind(kind string) error {
	if kind != store.ObjectComment && kind != store.ObjectAttachment {
		return invalid("object kind must be %s or %s, not %q", store.ObjectComment, store.ObjectAttachment, kind)
	}
	return nil
}

// UpsertObjectLink inserts or replaces the link of (l.Kind, l.LocalID). The
// item (deleted or not) and the integration must exist. A Jira object
// (kind, integration, Jira id) already linked to another local object is
// EConflict; an empty JiraID (the create call has not answered) is not
// unique.
func (t *tx) UpsertObjectLink(ctx context.Context, l store.ObjectLink) error {
	if err := checkObjectKind(l.Kind); err != nil {
		return err
	}
	if err := checkID(l.Kind, l.LocalID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "item_id", l.ItemID, true, store.MaxIDLen)
	checkText(p, "integration_id", l.IntegrationID, true, store.MaxIDLen)
	checkText(p, "jira_id", l.JiraID, false, store.MaxIDLen)
	checkText(p, "issue_id", l.IssueID, false, store.MaxIDLen)
	oneOf(p, "origin", l.Origin, string(tracker.OriginVulnsync), string(tracker.OriginJira))
	checkText(p, "hash", l.Hash, false, 256)
	if err := p.Err(tracker.EInvalid, "invalid object link"); err != nil {
		return err
	}
	const op = "upsert object link"
	if err := t.itemKnown(ctx, op, l.ItemID); err != nil {
		return err
	}
	if err := t.integrationKnown(ctx, op, l.IntegrationID); err != nil {
		return err
	}
	if l.JiraID != "" {
		var other string
		err := t.queryRow(ctx, `SELECT local_id FROM object_links WHERE kind = ? AND integration_id = ? AND jira_id = ? AND local_id <> ?`,
			l.Kind, l.IntegrationID, l.JiraID, l.LocalID).Scan(&other)
		switch {
		case err == nil:
			return conflict("Jira %s %s is already linked to %s %q", l.Kind, l.JiraID, l.Kind, other)
		case !errors.Is(err, sql.ErrNoRows):
			return wrap(op, err)
		}
	}
	_, err := t.exec(ctx, `INSERT INTO object_links (`+objectLinkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, local_id) DO UPDATE SET item_id = excluded.item_id, integration_id = excluded.integration_id,
			jira_id = excluded.jira_id, issue_id = excluded.issue_id, origin = excluded.origin, hash = excluded.hash,
			deleted = excluded.deleted, updated_at = excluded.updated_at`,
		l.Kind, l.LocalID, l.ItemID, l.IntegrationID, l.JiraID, l.IssueID, l.Origin, l.Hash, l.Deleted, t.d.ts(t.stamp(l.UpdatedAt)))
	if err != nil {
		if constraint(err) == "unique" {
			// Linked concurrently after our check: run again to name it.
			return &retryError{err: wrap(op, err)}
		}
		return wrap(op, err)
	}
	return nil
}

// ObjectLinkByLocal returns the link of a vulnsync comment or attachment.
func (t *tx) ObjectLinkByLocal(ctx context.Context, kind, localID string) (store.ObjectLink, error) {
	if err := checkObjectKind(kind); err != nil {
		return store.ObjectLink{}, err
	}
	l, err := scanObjectLink(t.queryRow(ctx, `SELECT `+objectLinkCols+` FROM object_links WHERE kind = ? AND local_id = ?`, kind, localID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ObjectLink{}, notFound("%s %q has no Jira link", kind, localID)
	}
	if err != nil {
		return store.ObjectLink{}, wrap("find object link", err)
	}
	return l, nil
}

// ObjectLinkByJira returns the link of a Jira comment or attachment.
func (t *tx) ObjectLinkByJira(ctx context.Context, kind, integrationID, jiraID string) (store.ObjectLink, error) {
	if err := checkObjectKind(kind); err != nil {
		return store.ObjectLink{}, err
	}
	if jiraID == "" {
		return store.ObjectLink{}, invalid("finding an object link by Jira id needs the Jira id")
	}
	l, err := scanObjectLink(t.queryRow(ctx, `SELECT `+objectLinkCols+` FROM object_links WHERE kind = ? AND integration_id = ? AND jira_id = ?`,
		kind, integrationID, jiraID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ObjectLink{}, notFound("Jira %s %s is not linked in integration %q", kind, jiraID, integrationID)
	}
	if err != nil {
		return store.ObjectLink{}, wrap("find object link by Jira id", err)
	}
	return l, nil
}

// ListObjectLinks returns an item's object links of one kind, deleted ones
// included, by local id.
func (t *tx) ListObjectLinks(ctx context.Context, kind, itemID string) ([]store.ObjectLink, error) {
	if err := checkObjectKind(kind); err != nil {
		return nil, err
	}
	if err := t.itemKnown(ctx, "list object links", itemID); err != nil {
		return nil, err
	}
	return queryAll(ctx, t, "list object links", scanObjectLink,
		`SELECT `+objectLinkCols+` FROM object_links WHERE item_id = ? AND kind = ? ORDER BY local_id`, itemID, kind)
}

// ---- Leases ----

func checkLease(name, holder string) error {
	p := tracker.Problems{}
	checkText(p, "name", name, true, store.MaxIDLen)
	checkText(p, "holder", holder, true, store.MaxIDLen)
	return p.Err(tracker.EInvalid, "invalid lease")
}

// AcquireLease takes the named lease for holder until now+ttl when it is
// free, expired (held until before now) or already holder's (a renewal).
// One upsert decides, so concurrent acquirers on any number of replicas
// get it once: on PostgreSQL the conflicting row is locked and its
// condition re-read, on SQLite the write transaction excludes the others.
// Times are the caller's (an injectable clock), kept to the microsecond.
func (t *tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder); err != nil {
		return false, err
	}
	switch {
	case now.IsZero():
		return false, invalid("acquiring a lease needs the current time")
	case ttl <= 0:
		return false, invalid("a lease needs a positive duration")
	}
	var got string
	err := t.queryRow(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < ?
		RETURNING holder`, name, holder, t.d.ts(now.Add(ttl)), t.d.ts(now)).Scan(&got)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrap("acquire lease", err)
	}
	return true, nil
}

// ReleaseLease ends holder's lease; another holder's lease, or none, is left
// as it is.
func (t *tx) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := checkLease(name, holder); err != nil {
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return wrap("release lease", err)
}
