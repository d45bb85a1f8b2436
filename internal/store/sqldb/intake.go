package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dueDate is the value of the items.due_date column: the item's due_date
// field when it holds a date, so that "overdue" is an indexed comparison.
func dueDate(it tracker.Item) any {
	s, _ := it.Fields["due_date"].(string)
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return nil
	}
	return s
}

// ItemFingerprints returns the target's live fingerprinted items.
func (t *tx) ItemFingerprints(ctx context.Context, targetID string) ([]store.FingerprintRef, error) {
	if err := t.targetExists(ctx, "list fingerprints", targetID); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT id, fingerprint, scanner, kind, parent_id, status FROM items
		WHERE target_id = ? AND fingerprint IS NOT NULL AND deleted_at IS NULL ORDER BY id`, targetID)
	if err != nil {
		return nil, wrap("list fingerprints", err)
	}
	defer rows.Close()
	out := []store.FingerprintRef{}
	// Scanners, kinds, statuses and parents repeat from row to row: one
	// copy of each keeps a target of 100,000 items small in memory.
	intern := map[string]string{}
	one := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	for rows.Next() {
		var r store.FingerprintRef
		var scanner, parent sql.NullString
		var status string
		if err := rows.Scan(&r.ItemID, &r.Fingerprint, &scanner, &r.Kind, &parent, &status); err != nil {
			return nil, wrap("list fingerprints", err)
		}
		r.Scanner, r.ParentID, r.Status, r.Kind = one(scanner.String), one(parent.String), tracker.Status(one(status)), one(r.Kind)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list fingerprints", err)
	}
	return out, nil
}

func (t *tx) targetExists(ctx context.Context, what, id string) error {
	ok, err := t.exists(ctx, `SELECT 1 FROM targets WHERE id = ?`, id)
	if err != nil {
		return wrap(what, err)
	}
	if !ok {
		return notFound("target %q not found", id)
	}
	return nil
}

const importCols = `id, target_id, format, scanner, filename, sha256, size, actor, close_missing, findings, created, updated, reopened, closed, unchanged, created_at`

// CreateImport stores an import record.
func (t *tx) CreateImport(ctx context.Context, im tracker.Import) error {
	if err := checkID("import", im.ID); err != nil {
		return err
	}
	if err := t.targetExists(ctx, "create import", im.TargetID); err != nil {
		return err
	}
	n, err := t.execN(ctx, `INSERT INTO imports (`+importCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		im.ID, im.TargetID, im.Format, im.Scanner, im.Filename, im.SHA256, im.Size, im.Actor, im.CloseMissing, im.Findings,
		im.Created, im.Updated, im.Reopened, im.Closed, im.Unchanged, t.d.ts(t.stamp(im.CreatedAt)))
	if err != nil {
		return wrap("create import", err)
	}
	if n == 0 {
		return conflict("import %q already exists", im.ID)
	}
	return nil
}

// ListImports returns a target's imports, newest first (ids are UUIDv7).
func (t *tx) ListImports(ctx context.Context, targetID, before string, limit int) ([]tracker.Import, error) {
	limit, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	if err := t.targetExists(ctx, "list imports", targetID); err != nil {
		return nil, err
	}
	// Keyset: the page after the import before (ids are UUIDv7, so they
	// sort by creation), read from the (target_id, id) index.
	q, args := `SELECT `+importCols+` FROM imports WHERE target_id = ?`, []any{targetID}
	if before != "" {
		q += ` AND id < ?`
		args = append(args, before)
	}
	rows, err := t.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("list imports", err)
	}
	defer rows.Close()
	out := []tracker.Import{}
	for rows.Next() {
		var im tracker.Import
		if err := rows.Scan(&im.ID, &im.TargetID, &im.Format, &im.Scanner, &im.Filename, &im.SHA256, &im.Size, &im.Actor,
			&im.CloseMissing, &im.Findings, &im.Created, &im.Updated, &im.Reopened, &im.Closed, &im.Unchanged,
			timeCol{&im.CreatedAt}); err != nil {
			return nil, wrap("list imports", err)
		}
		out = append(out, im)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list imports", err)
	}
	return out, nil
}

// GetSLA returns the target's own SLA policy.
func (t *tx) GetSLA(ctx context.Context, targetID string) (tracker.SLA, error) {
	var d [5]sql.NullInt64
	err := t.queryRow(ctx, `SELECT critical, high, medium, low, info FROM sla_policies WHERE target_id = ?`, targetID).
		Scan(&d[0], &d[1], &d[2], &d[3], &d[4])
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.SLA{}, notFound("target %q has no SLA policy of its own", targetID)
	}
	if err != nil {
		return tracker.SLA{}, wrap("get sla", err)
	}
	days := func(n sql.NullInt64) *int {
		if !n.Valid {
			return nil
		}
		v := int(n.Int64)
		return &v
	}
	return tracker.SLA{Critical: days(d[0]), High: days(d[1]), Medium: days(d[2]), Low: days(d[3]), Info: days(d[4])}, nil
}

// PutSLA sets (inserts or replaces) the target's SLA policy.
func (t *tx) PutSLA(ctx context.Context, targetID string, sla tracker.SLA) error {
	if err := sla.Validate(); err != nil {
		return err
	}
	if err := t.targetExists(ctx, "put sla", targetID); err != nil {
		return err
	}
	arg := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	_, err := t.exec(ctx, `INSERT INTO sla_policies (target_id, critical, high, medium, low, info, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (target_id) DO UPDATE SET critical = excluded.critical, high = excluded.high, medium = excluded.medium,
		low = excluded.low, info = excluded.info, updated_at = excluded.updated_at`,
		targetID, arg(sla.Critical), arg(sla.High), arg(sla.Medium), arg(sla.Low), arg(sla.Info), t.d.ts(t.stamp(time.Time{})))
	if err != nil {
		return wrap("put sla", err)
	}
	return nil
}
