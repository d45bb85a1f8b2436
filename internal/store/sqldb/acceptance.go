package sqldb

import (
	"context"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

const acceptanceCols = `id, item_id, target_id, status, state, reason, expires_at, requested_by_id, requested_by, origin,
	decided_by_id, decided_by, decided_at, note, created_at, updated_at`

func scanAcceptance(s rowScanner) (tracker.Acceptance, error) {
	var a tracker.Acceptance
	var status, state, origin string
	err := s.Scan(&a.ID, &a.ItemID, &a.TargetID, &status, &state, &a.Reason, timeCol{&a.ExpiresAt}, &a.RequestedByID, &a.RequestedBy, &origin,
		&a.DecidedByID, &a.DecidedBy, timeCol{&a.DecidedAt}, &a.Note, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	a.Status, a.State, a.Origin = tracker.Status(status), tracker.AcceptanceState(state), tracker.Origin(origin)
	return a, err
}

// CreateAcceptance stores a new acceptance; the partial unique index
// acceptances_open_item keeps one open acceptance per item.
func (t *tx) CreateAcceptance(ctx context.Context, a tracker.Acceptance) error {
	if err := checkID("acceptance", a.ID); err != nil {
		return err
	}
	if !a.State.Valid() {
		return invalid("unknown acceptance state %q", a.State)
	}
	if err := t.itemKnown(ctx, "create acceptance", a.ItemID); err != nil {
		return err
	}
	if open, err := t.OpenAcceptance(ctx, a.ItemID); err == nil {
		article := "a"
		if open.State == tracker.AcceptanceApproved {
			article = "an"
		}
		return conflict("item %s already has %s %s acceptance (%s)", a.ItemID, article, open.State, open.ID)
	} else if tracker.KindOf(err) != tracker.ENotFound {
		return err
	}
	n, err := t.execN(ctx, `INSERT INTO acceptances (`+acceptanceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		a.ID, a.ItemID, a.TargetID, string(a.Status), string(a.State), a.Reason, t.d.ts(a.ExpiresAt), a.RequestedByID, a.RequestedBy, string(a.Origin),
		a.DecidedByID, a.DecidedBy, t.d.nullTS(a.DecidedAt), a.Note, t.d.ts(t.stamp(a.CreatedAt)), t.d.ts(t.stamp(a.UpdatedAt)))
	if err != nil {
		return wrap("create acceptance", err)
	}
	if n == 0 {
		return conflict("acceptance %q already exists, or item %s has an open one", a.ID, a.ItemID)
	}
	return nil
}

// GetAcceptance returns one acceptance.
func (t *tx) GetAcceptance(ctx context.Context, id string) (tracker.Acceptance, error) {
	as, err := queryAll(ctx, t, "get acceptance", scanAcceptance, `SELECT `+acceptanceCols+` FROM acceptances WHERE id = ?`, id)
	if err != nil {
		return tracker.Acceptance{}, err
	}
	if len(as) == 0 {
		return tracker.Acceptance{}, notFound("acceptance %q not found", id)
	}
	return as[0], nil
}

// UpdateAcceptance stores a decision if the state is still from.
func (t *tx) UpdateAcceptance(ctx context.Context, a tracker.Acceptance, from tracker.AcceptanceState) error {
	if !a.State.Valid() {
		return invalid("unknown acceptance state %q", a.State)
	}
	n, err := t.execN(ctx, `UPDATE acceptances SET state = ?, expires_at = ?, decided_by_id = ?, decided_by = ?, decided_at = ?, note = ?, updated_at = ?
		WHERE id = ? AND state = ?`,
		string(a.State), t.d.ts(a.ExpiresAt), a.DecidedByID, a.DecidedBy, t.d.nullTS(a.DecidedAt), a.Note, t.d.ts(t.stamp(a.UpdatedAt)), a.ID, string(from))
	if err != nil {
		return wrap("update acceptance", err)
	}
	if n == 0 {
		if _, err := t.GetAcceptance(ctx, a.ID); err != nil {
			return err
		}
		return conflict("acceptance %s is no longer %s", a.ID, from)
	}
	return nil
}

// OpenAcceptance returns the item's pending or approved acceptance (index
// acceptances_open_item).
func (t *tx) OpenAcceptance(ctx context.Context, itemID string) (tracker.Acceptance, error) {
	as, err := queryAll(ctx, t, "get open acceptance", scanAcceptance,
		`SELECT `+acceptanceCols+` FROM acceptances WHERE item_id = ? AND state IN ('pending', 'approved')`, itemID)
	if err != nil {
		return tracker.Acceptance{}, err
	}
	if len(as) == 0 {
		return tracker.Acceptance{}, notFound("item %q has no open acceptance", itemID)
	}
	return as[0], nil
}

// ListAcceptances returns a page newest first, by id (UUIDv7), from
// acceptances_state, acceptances_item or the primary key.
func (t *tx) ListAcceptances(ctx context.Context, f store.AcceptanceFilter) (store.AcceptancePage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return store.AcceptancePage{}, err
	}
	if f.State != "" && !f.State.Valid() {
		return store.AcceptancePage{}, invalid("unknown acceptance state %q", f.State)
	}
	q, args := `SELECT `+acceptanceCols+` FROM acceptances WHERE 1 = 1`, []any{}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	if f.ItemID != "" {
		q += ` AND item_id = ?`
		args = append(args, f.ItemID)
	}
	if f.Cursor != "" {
		parts, err := decodeKeys(f.Cursor, 1)
		if err != nil {
			return store.AcceptancePage{}, err
		}
		q += ` AND id < ?`
		args = append(args, parts[0])
	}
	q += ` ORDER BY id DESC LIMIT ?`
	as, err := queryAll(ctx, t, "list acceptances", scanAcceptance, q, append(args, limit+1)...)
	if err != nil {
		return store.AcceptancePage{}, err
	}
	page := store.AcceptancePage{Acceptances: as}
	if len(as) > limit {
		page.Acceptances = as[:limit]
		page.NextCursor = encodeKeys(as[limit-1].ID)
	}
	return page, nil
}

// DueAcceptances returns approved acceptances expired by now (index
// acceptances_due).
func (t *tx) DueAcceptances(ctx context.Context, now time.Time, limit int) ([]tracker.Acceptance, error) {
	limit, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, t, "list due acceptances", scanAcceptance,
		`SELECT `+acceptanceCols+` FROM acceptances WHERE state = 'approved' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, t.d.ts(now), limit)
}
