package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// tx implements store.Tx on one database/sql transaction.
type tx struct {
	tx    *sql.Tx
	d     *dialect
	now   func() time.Time
	stmts *stmtCache // nil: no statement cache (PostgreSQL)
	// owner and write say which store opened the transaction and whether
	// it may write, for joining it (store.ContextWithTx).
	owner *DB
	write bool
}

// stmt returns q rebound for the dialect and, when the cache has it
// prepared, as a statement of this transaction.
func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, string) {
	q = t.d.rebind(q)
	if t.stmts == nil {
		return nil, q
	}
	if st := t.stmts.lookup(q); st != nil {
		return t.tx.StmtContext(ctx, st), q
	}
	return nil, q
}

var _ store.Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st, _ := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.observe(q, args)
	if st, _ := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	t.observe(q, args)
	if st, _ := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// observe tells the test hook, if any, about a query.
func (t *tx) observe(q string, args []any) {
	if t.owner != nil && t.owner.queryHook != nil {
		t.owner.queryHook(q, args)
	}
}

// execN runs a statement and returns how many rows it changed.
func (t *tx) execN(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// exists reports whether q (a SELECT 1 ...) finds a row.
func (t *tx) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// stamp returns t truncated, or the current time when t is zero.
func (t *tx) stamp(v time.Time) time.Time {
	if v.IsZero() {
		return tracker.Truncate(t.now())
	}
	return tracker.Truncate(v)
}

func invalid(format string, args ...any) error {
	return tracker.Errorf(tracker.EInvalid, format, args...)
}

func notFound(format string, args ...any) error {
	return tracker.Errorf(tracker.ENotFound, format, args...)
}

func conflict(format string, args ...any) error {
	return tracker.Errorf(tracker.EConflict, format, args...)
}

// checkID refuses an empty or oversized id chosen by the caller.
func checkID(what, id string) error {
	switch {
	case id == "":
		return invalid("%s id must not be empty", what)
	case len(id) > store.MaxIDLen:
		return invalid("%s id must be at most %d characters", what, store.MaxIDLen)
	}
	return nil
}

func marshal(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", invalid("%s cannot be encoded as JSON: %v", what, err)
	}
	return string(b), nil
}

// ---- Targets ----

const targetCols = `id, name, description, url, created_at, updated_at`

func scanTarget(s interface{ Scan(...any) error }) (tracker.Target, error) {
	var tg tracker.Target
	err := s.Scan(&tg.ID, &tg.Name, &tg.Description, &tg.URL, timeCol{&tg.CreatedAt}, timeCol{&tg.UpdatedAt})
	return tg, err
}

// CreateTarget stores a new target. Its name is validated and trimmed as
// tracker.ValidateTarget does; a taken id or name is EConflict.
func (t *tx) CreateTarget(ctx context.Context, tg tracker.Target) error {
	if err := checkID("target", tg.ID); err != nil {
		return err
	}
	if err := tracker.ValidateTarget(&tg); err != nil {
		return err
	}
	created := t.stamp(tg.CreatedAt)
	updated := created
	if !tg.UpdatedAt.IsZero() {
		updated = tracker.Truncate(tg.UpdatedAt)
	}
	n, err := t.execN(ctx, `INSERT INTO targets (`+targetCols+`) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		tg.ID, tg.Name, tg.Description, tg.URL, t.d.ts(created), t.d.ts(updated))
	if err != nil {
		return wrap("create target", err)
	}
	if n == 1 {
		return nil
	}
	taken, err := t.exists(ctx, `SELECT 1 FROM targets WHERE id = ?`, tg.ID)
	if err != nil {
		return wrap("create target", err)
	}
	if taken {
		return conflict("target %q already exists", tg.ID)
	}
	return conflict("a target named %q already exists", tg.Name)
}

// GetTarget returns one target.
func (t *tx) GetTarget(ctx context.Context, id string) (tracker.Target, error) {
	tg, err := scanTarget(t.queryRow(ctx, `SELECT `+targetCols+` FROM targets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.Target{}, notFound("target %q not found", id)
	}
	if err != nil {
		return tracker.Target{}, wrap("get target", err)
	}
	return tg, nil
}

// ListTargets returns every target, by name.
func (t *tx) ListTargets(ctx context.Context) ([]tracker.Target, error) {
	rows, err := t.query(ctx, `SELECT `+targetCols+` FROM targets ORDER BY name, id`)
	if err != nil {
		return nil, wrap("list targets", err)
	}
	defer rows.Close()
	out := []tracker.Target{}
	for rows.Next() {
		tg, err := scanTarget(rows)
		if err != nil {
			return nil, wrap("list targets", err)
		}
		out = append(out, tg)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list targets", err)
	}
	return out, nil
}

// ---- Catalog ----

// CreateKind stores a custom kind; a taken name is EConflict. Validation
// against the catalog is the caller's (tracker.Catalog.ValidateKindDef).
func (t *tx) CreateKind(ctx context.Context, k tracker.KindDef) error {
	if k.Name == "" || len(k.Name) > store.MaxIDLen {
		return invalid("kind name must be 1 to %d characters", store.MaxIDLen)
	}
	statuses := k.Statuses
	if statuses == nil {
		statuses = []tracker.Status{}
	}
	sj, err := marshal("statuses", statuses)
	if err != nil {
		return err
	}
	n, err := t.execN(ctx, `INSERT INTO kinds (name, statuses, built_in, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.Name, sj, k.BuiltIn, t.d.ts(t.stamp(k.Created)))
	if err != nil {
		return wrap("create kind", err)
	}
	if n == 0 {
		return conflict("kind %q already exists", k.Name)
	}
	return nil
}

// ListKinds returns the stored kinds, by name.
func (t *tx) ListKinds(ctx context.Context) ([]tracker.KindDef, error) {
	rows, err := t.query(ctx, `SELECT name, statuses, built_in, created_at FROM kinds ORDER BY name`)
	if err != nil {
		return nil, wrap("list kinds", err)
	}
	defer rows.Close()
	out := []tracker.KindDef{}
	for rows.Next() {
		var k tracker.KindDef
		var sj []byte
		if err := rows.Scan(&k.Name, &sj, &k.BuiltIn, timeCol{&k.Created}); err != nil {
			return nil, wrap("list kinds", err)
		}
		if err := json.Unmarshal(sj, &k.Statuses); err != nil {
			return nil, fmt.Errorf("list kinds: decode statuses of %q: %w", k.Name, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list kinds", err)
	}
	return out, nil
}

// CreateField stores a custom field; a taken name is EConflict. Validation
// against the catalog is the caller's (tracker.Catalog.ValidateFieldDef).
func (t *tx) CreateField(ctx context.Context, f tracker.FieldDef) error {
	if f.Name == "" || len(f.Name) > store.MaxIDLen {
		return invalid("field name must be 1 to %d characters", store.MaxIDLen)
	}
	if f.Type == "" {
		return invalid("field %q has no type", f.Name)
	}
	opts := f.Options
	if opts == nil {
		opts = []string{}
	}
	oj, err := marshal("options", opts)
	if err != nil {
		return err
	}
	n, err := t.execN(ctx, `INSERT INTO fields (name, type, options, min_value, max_value, built_in, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		f.Name, string(f.Type), oj, nullFloat(f.Min), nullFloat(f.Max), f.BuiltIn, t.d.ts(t.stamp(f.Created)))
	if err != nil {
		return wrap("create field", err)
	}
	if n == 0 {
		return conflict("field %q already exists", f.Name)
	}
	return nil
}

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// ListFields returns the stored fields, by name.
func (t *tx) ListFields(ctx context.Context) ([]tracker.FieldDef, error) {
	rows, err := t.query(ctx, `SELECT name, type, options, min_value, max_value, built_in, created_at FROM fields ORDER BY name`)
	if err != nil {
		return nil, wrap("list fields", err)
	}
	defer rows.Close()
	out := []tracker.FieldDef{}
	for rows.Next() {
		var f tracker.FieldDef
		var typ string
		var oj []byte
		var lo, hi sql.NullFloat64
		if err := rows.Scan(&f.Name, &typ, &oj, &lo, &hi, &f.BuiltIn, timeCol{&f.Created}); err != nil {
			return nil, wrap("list fields", err)
		}
		f.Type = tracker.FieldType(typ)
		if err := json.Unmarshal(oj, &f.Options); err != nil {
			return nil, fmt.Errorf("list fields: decode options of %q: %w", f.Name, err)
		}
		if len(f.Options) == 0 {
			f.Options = nil // matches the omitempty shape callers build
		}
		if lo.Valid {
			f.Min = &lo.Float64
		}
		if hi.Valid {
			f.Max = &hi.Float64
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list fields", err)
	}
	return out, nil
}

// ---- Items ----

const itemCols = `id, target_id, kind, parent_id, title, description, severity, status, fields, field_times, version, created_at, updated_at, fingerprint, scanner`

func scanItem(s interface{ Scan(...any) error }) (tracker.Item, error) {
	var it tracker.Item
	var parent, fingerprint, scanner sql.NullString
	var sev, status string
	var fj, ftj []byte
	err := s.Scan(&it.ID, &it.TargetID, &it.Kind, &parent, &it.Title, &it.Description, &sev, &status,
		&fj, &ftj, &it.Version, timeCol{&it.CreatedAt}, timeCol{&it.UpdatedAt}, &fingerprint, &scanner)
	if err != nil {
		return it, err
	}
	it.ParentID = parent.String
	it.Fingerprint, it.Scanner = fingerprint.String, scanner.String
	it.Severity = tracker.Severity(sev)
	it.Status = tracker.Status(status)
	if it.Fields, err = decodeFields(fj); err != nil {
		return it, fmt.Errorf("decode fields of item %q: %w", it.ID, err)
	}
	if it.FieldTimes, err = decodeFieldTimes(ftj); err != nil {
		return it, fmt.Errorf("decode field times of item %q: %w", it.ID, err)
	}
	return it, nil
}

// decodeFields reads typed field values back in the canonical shapes the
// tracker builds: float64, string and []string.
func decodeFields(b []byte) (map[string]any, error) {
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range out {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		ss := make([]string, 0, len(list))
		for _, e := range list {
			s, isStr := e.(string)
			if !isStr {
				ss = nil
				break
			}
			ss = append(ss, s)
		}
		if ss != nil {
			out[k] = ss
		}
	}
	return out, nil
}

func decodeFieldTimes(b []byte) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]time.Time{}
	}
	for k, v := range out {
		out[k] = v.UTC()
	}
	return out, nil
}

func encodeItemDocs(it tracker.Item) (fields, times string, err error) {
	f := it.Fields
	if f == nil {
		f = map[string]any{}
	}
	if fields, err = marshal("item fields", f); err != nil {
		return "", "", err
	}
	ft := make(map[string]time.Time, len(it.FieldTimes))
	for k, v := range it.FieldTimes {
		ft[k] = tracker.Truncate(v)
	}
	if times, err = marshal("item field times", ft); err != nil {
		return "", "", err
	}
	return fields, times, nil
}

func checkItem(it tracker.Item) error {
	if err := checkID("item", it.ID); err != nil {
		return err
	}
	p := tracker.Problems{}
	if it.TargetID == "" {
		p.Add("target_id", "must not be empty")
	}
	if it.Kind == "" {
		p.Add("kind", "must not be empty")
	}
	if !it.Severity.Valid() {
		p.Add("severity", "unknown severity %q", it.Severity)
	}
	if !it.Status.Valid() {
		p.Add("status", "unknown status %q", it.Status)
	}
	if it.Version < 1 {
		p.Add("version", "must be at least 1")
	}
	return p.Err(tracker.EInvalid, "invalid item")
}

// checkHistory refuses history rows that could not be shown later and fills
// in the item id.
func checkHistory(itemID string, hist []tracker.HistoryEntry) error {
	for i := range hist {
		h := &hist[i]
		switch {
		case h.ItemID != "" && h.ItemID != itemID:
			return invalid("history row %d belongs to item %q, not %q", i, h.ItemID, itemID)
		case h.Field == "":
			return invalid("history row %d names no field", i)
		case !h.Origin.Valid():
			return invalid("history row %d has unknown origin %q", i, h.Origin)
		case h.At.IsZero():
			return invalid("history row %d has no time", i)
		}
		h.ItemID = itemID
	}
	return nil
}

// historyBatch bounds the rows of one multi-row INSERT (8 parameters each),
// well under both databases' parameter limits.
const historyBatch = 200

func (t *tx) insertHistory(ctx context.Context, hist []tracker.HistoryEntry) error {
	for start := 0; start < len(hist); start += historyBatch {
		end := min(start+historyBatch, len(hist))
		var q strings.Builder
		q.WriteString(`INSERT INTO history (item_id, field, old, new, actor, origin, at) VALUES `)
		args := make([]any, 0, 7*(end-start))
		for i, h := range hist[start:end] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, h.ItemID, h.Field, h.Old, h.New, h.Actor, string(h.Origin), t.d.ts(h.At))
		}
		if _, err := t.exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// CreateItem stores a new item and its history rows. The target, and the
// parent when there is one, must exist (ENotFound otherwise); a taken id is
// EConflict.
func (t *tx) CreateItem(ctx context.Context, it tracker.Item, hist []tracker.HistoryEntry) error {
	if err := checkItem(it); err != nil {
		return err
	}
	hist = append([]tracker.HistoryEntry(nil), hist...)
	if err := checkHistory(it.ID, hist); err != nil {
		return err
	}
	ok, err := t.exists(ctx, `SELECT 1 FROM targets WHERE id = ?`, it.TargetID)
	if err != nil {
		return wrap("create item", err)
	}
	if !ok {
		return notFound("target %q not found", it.TargetID)
	}
	var parent any
	if it.ParentID != "" {
		ok, err := t.exists(ctx, `SELECT 1 FROM items WHERE id = ? AND deleted_at IS NULL`, it.ParentID)
		if err != nil {
			return wrap("create item", err)
		}
		if !ok {
			return notFound("parent item %q not found", it.ParentID)
		}
		parent = it.ParentID
	}
	fields, times, err := encodeItemDocs(it)
	if err != nil {
		return err
	}
	created := t.stamp(it.CreatedAt)
	updated := created
	if !it.UpdatedAt.IsZero() {
		updated = tracker.Truncate(it.UpdatedAt)
	}
	n, err := t.execN(ctx, `INSERT INTO items (`+itemCols+`, due_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		it.ID, it.TargetID, it.Kind, parent, it.Title, it.Description, string(it.Severity), string(it.Status),
		fields, times, it.Version, t.d.ts(created), t.d.ts(updated), nullString(it.Fingerprint), nullString(it.Scanner), dueDate(it))
	if err != nil {
		return wrap("create item", err)
	}
	if n == 0 {
		if it.Fingerprint != "" {
			taken, err := t.exists(ctx, `SELECT 1 FROM items WHERE target_id = ? AND fingerprint = ? AND deleted_at IS NULL`, it.TargetID, it.Fingerprint)
			if err != nil {
				return wrap("create item", err)
			}
			if taken {
				return conflict("target %q already has an item with fingerprint %q", it.TargetID, it.Fingerprint)
			}
		}
		return conflict("item %q already exists", it.ID)
	}
	if err := t.bumpItemCount(ctx, it.TargetID, it.Kind, it.Status, 1); err != nil {
		return err
	}
	if it.Status.IsOpen() {
		if err := t.bumpOpenDay(ctx, it.TargetID, it.Kind, it.Severity, created, 1); err != nil {
			return err
		}
	}
	if err := t.insertHistory(ctx, hist); err != nil {
		return wrap("create item: store history", err)
	}
	return nil
}

// GetItem returns a live (not deleted) item.
func (t *tx) GetItem(ctx context.Context, id string) (tracker.Item, error) {
	it, err := scanItem(t.queryRow(ctx, `SELECT `+itemCols+` FROM items WHERE id = ? AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.Item{}, notFound("item %q not found", id)
	}
	if err != nil {
		return tracker.Item{}, wrap("get item", err)
	}
	return it, nil
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > store.MaxIDLen {
		return "", invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
	}
	return string(b), nil
}

// pageSize applies the default and the cap of a page size.
func pageSize(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, invalid("limit must not be negative")
	case limit == 0:
		return store.DefaultPageSize, nil
	case limit > store.MaxPageSize:
		return store.MaxPageSize, nil
	}
	return limit, nil
}

// UpdateItem replaces a live item's mutable state (title, description,
// severity, status, fields, field times, version, updated time) if its
// stored version is prevVersion, and stores the history rows. The target,
// kind, parent and creation time are fixed at creation.
func (t *tx) UpdateItem(ctx context.Context, it tracker.Item, prevVersion int64, hist []tracker.HistoryEntry) error {
	if err := checkItem(it); err != nil {
		return err
	}
	if it.Version <= prevVersion {
		return invalid("item %q: the new version %d must be greater than the previous version %d", it.ID, it.Version, prevVersion)
	}
	hist = append([]tracker.HistoryEntry(nil), hist...)
	if err := checkHistory(it.ID, hist); err != nil {
		return err
	}
	fields, times, err := encodeItemDocs(it)
	if err != nil {
		return err
	}
	// The status at prevVersion, for the counters: if the update below
	// succeeds, the row was still at that version, so still had it.
	var target, kind, oldStatus, oldSeverity string
	var created time.Time
	err = t.queryRow(ctx, `SELECT target_id, kind, status, severity, created_at FROM items WHERE id = ? AND version = ? AND deleted_at IS NULL`,
		it.ID, prevVersion).Scan(&target, &kind, &oldStatus, &oldSeverity, timeCol{&created})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap("update item", err)
	}
	n, err := t.execN(ctx, `UPDATE items SET title = ?, description = ?, severity = ?, status = ?, fields = ?, field_times = ?, version = ?, updated_at = ?, due_date = ?
		WHERE id = ? AND version = ? AND deleted_at IS NULL`,
		it.Title, it.Description, string(it.Severity), string(it.Status), fields, times, it.Version, t.d.ts(t.stamp(it.UpdatedAt)), dueDate(it),
		it.ID, prevVersion)
	if err != nil {
		return wrap("update item", err)
	}
	if n == 0 {
		var current int64
		err := t.queryRow(ctx, `SELECT version FROM items WHERE id = ? AND deleted_at IS NULL`, it.ID).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("item %q not found", it.ID)
		}
		if err != nil {
			return wrap("update item", err)
		}
		return conflict("item %q was changed concurrently: it is at version %d, the change was made to version %d", it.ID, current, prevVersion)
	}
	if oldStatus != string(it.Status) {
		if err := t.bumpItemCount(ctx, target, kind, tracker.Status(oldStatus), -1); err != nil {
			return err
		}
		if err := t.bumpItemCount(ctx, target, kind, it.Status, 1); err != nil {
			return err
		}
	}
	if err := t.moveOpenDay(ctx, target, kind, created, tracker.Status(oldStatus), tracker.Severity(oldSeverity), it.Status, it.Severity); err != nil {
		return err
	}
	if it.Status == tracker.StatusResolved && oldStatus != string(tracker.StatusResolved) {
		if err := t.addResolution(ctx, target, kind, it.Severity, created, t.stamp(it.UpdatedAt)); err != nil {
			return err
		}
	}
	if err := t.insertHistory(ctx, hist); err != nil {
		return wrap("update item: store history", err)
	}
	return nil
}

// DeleteItem soft-deletes a live item: it is kept (the sync needs it to
// close its Jira issue) with its version bumped, and h is stored as its
// history row. h.Field is typically "deleted".
func (t *tx) DeleteItem(ctx context.Context, id string, h tracker.HistoryEntry) error {
	hist := []tracker.HistoryEntry{h}
	if err := checkHistory(id, hist); err != nil {
		return err
	}
	at := t.d.ts(hist[0].At)
	var target, kind, status, severity string
	var created time.Time
	err := t.queryRow(ctx, `UPDATE items SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND deleted_at IS NULL
		RETURNING target_id, kind, status, severity, created_at`, at, at, id).Scan(&target, &kind, &status, &severity, timeCol{&created})
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("item %q not found", id)
	}
	if err != nil {
		return wrap("delete item", err)
	}
	if err := t.bumpItemCount(ctx, target, kind, tracker.Status(status), -1); err != nil {
		return err
	}
	if tracker.Status(status).IsOpen() {
		if err := t.bumpOpenDay(ctx, target, kind, tracker.Severity(severity), created, -1); err != nil {
			return err
		}
	}
	var integ, state string
	err = t.queryRow(ctx, `SELECT integration_id, state FROM links WHERE item_id = ?`, id).Scan(&integ, &state)
	switch {
	case err == nil:
		if err := t.bumpLinkCount(ctx, integ, kind, tracker.LinkState(state), -1); err != nil {
			return err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return wrap("delete item: read its link", err)
	}
	if err := t.insertHistory(ctx, hist); err != nil {
		return wrap("delete item: store history", err)
	}
	return nil
}

// itemKnown reports ENotFound unless the item was ever created; deleted
// items keep their history, comments and attachments readable.
func (t *tx) itemKnown(ctx context.Context, what, id string) error {
	ok, err := t.exists(ctx, `SELECT 1 FROM items WHERE id = ?`, id)
	if err != nil {
		return wrap(what, err)
	}
	if !ok {
		return notFound("item %q not found", id)
	}
	return nil
}

// itemLive reports ENotFound unless the item exists and is not deleted.
func (t *tx) itemLive(ctx context.Context, what, id string) error {
	ok, err := t.exists(ctx, `SELECT 1 FROM items WHERE id = ? AND deleted_at IS NULL`, id)
	if err != nil {
		return wrap(what, err)
	}
	if !ok {
		return notFound("item %q not found", id)
	}
	return nil
}

// ListHistory returns an item's history rows in the order they were stored,
// also for a deleted item (its deletion is the last row).
func (t *tx) ListHistory(ctx context.Context, itemID string) ([]tracker.HistoryEntry, error) {
	if err := t.itemKnown(ctx, "list history", itemID); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT id, item_id, field, old, new, actor, origin, at FROM history WHERE item_id = ? ORDER BY id`, itemID)
	if err != nil {
		return nil, wrap("list history", err)
	}
	defer rows.Close()
	out := []tracker.HistoryEntry{}
	for rows.Next() {
		var h tracker.HistoryEntry
		var origin string
		if err := rows.Scan(&h.ID, &h.ItemID, &h.Field, &h.Old, &h.New, &h.Actor, &origin, timeCol{&h.At}); err != nil {
			return nil, wrap("list history", err)
		}
		h.Origin = tracker.Origin(origin)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list history", err)
	}
	return out, nil
}

// ---- Comments ----

const commentCols = `id, item_id, author_name, author_email, author_account_id, body, origin, created_at, updated_at, internal, visibility_type, visibility_value`

func scanComment(s interface{ Scan(...any) error }) (tracker.Comment, error) {
	var c tracker.Comment
	var origin, visType, visValue string
	err := s.Scan(&c.ID, &c.ItemID, &c.Author.Name, &c.Author.Email, &c.Author.AccountID, &c.Body, &origin,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, &c.Internal, &visType, &visValue)
	c.Origin = tracker.Origin(origin)
	if visType != "" {
		c.Visibility = &tracker.Visibility{Type: visType, Value: visValue}
		c.Restricted = true
	}
	return c, err
}

// visibilityCols are the stored form of a comment's visibility ("" for
// none), refusing a type Jira does not have.
func visibilityCols(v *tracker.Visibility) (string, string, error) {
	if v == nil {
		return "", "", nil
	}
	if v.Type != "role" && v.Type != "group" {
		return "", "", invalid("comment visibility type must be role or group, not %q", v.Type)
	}
	return v.Type, v.Value, nil
}

// CreateComment stores a comment on a live item.
func (t *tx) CreateComment(ctx context.Context, c tracker.Comment) error {
	if err := checkID("comment", c.ID); err != nil {
		return err
	}
	if !c.Origin.Valid() {
		return invalid("comment has unknown origin %q", c.Origin)
	}
	if err := tracker.ValidateCommentBody(c.Body); err != nil {
		return err
	}
	visType, visValue, err := visibilityCols(c.Visibility)
	if err != nil {
		return err
	}
	if c.Internal && c.Origin != tracker.OriginVulnsync {
		return invalid("only a vulnsync comment can be an internal note")
	}
	if err := t.itemLive(ctx, "create comment", c.ItemID); err != nil {
		return err
	}
	created := t.stamp(c.CreatedAt)
	updated := created
	if !c.UpdatedAt.IsZero() {
		updated = tracker.Truncate(c.UpdatedAt)
	}
	n, err := t.execN(ctx, `INSERT INTO comments (`+commentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		c.ID, c.ItemID, c.Author.Name, c.Author.Email, c.Author.AccountID, c.Body, string(c.Origin), t.d.ts(created), t.d.ts(updated),
		c.Internal, visType, visValue)
	if err != nil {
		return wrap("create comment", err)
	}
	if n == 0 {
		return conflict("comment %q already exists", c.ID)
	}
	return nil
}

// GetComment returns a comment that was not deleted.
func (t *tx) GetComment(ctx context.Context, id string) (tracker.Comment, error) {
	c, err := scanComment(t.queryRow(ctx, `SELECT `+commentCols+` FROM comments WHERE id = ? AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.Comment{}, notFound("comment %q not found", id)
	}
	if err != nil {
		return tracker.Comment{}, wrap("get comment", err)
	}
	return c, nil
}

// ListComments returns an item's comments, oldest first.
func (t *tx) ListComments(ctx context.Context, itemID string) ([]tracker.Comment, error) {
	if err := t.itemKnown(ctx, "list comments", itemID); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT `+commentCols+` FROM comments WHERE item_id = ? AND deleted_at IS NULL ORDER BY created_at, id`, itemID)
	if err != nil {
		return nil, wrap("list comments", err)
	}
	defer rows.Close()
	out := []tracker.Comment{}
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, wrap("list comments", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list comments", err)
	}
	return out, nil
}

// UpdateComment replaces a comment's body, visibility and updated time;
// its item, author, origin, internal flag and creation time are fixed.
func (t *tx) UpdateComment(ctx context.Context, c tracker.Comment) error {
	if err := tracker.ValidateCommentBody(c.Body); err != nil {
		return err
	}
	visType, visValue, err := visibilityCols(c.Visibility)
	if err != nil {
		return err
	}
	n, err := t.execN(ctx, `UPDATE comments SET body = ?, updated_at = ?, visibility_type = ?, visibility_value = ? WHERE id = ? AND deleted_at IS NULL`,
		c.Body, t.d.ts(t.stamp(c.UpdatedAt)), visType, visValue, c.ID)
	if err != nil {
		return wrap("update comment", err)
	}
	if n == 0 {
		return notFound("comment %q not found", c.ID)
	}
	return nil
}

// DeleteComment soft-deletes a comment: GetComment and ListComments no
// longer return it, the row stays for the sync.
func (t *tx) DeleteComment(ctx context.Context, id string) error {
	n, err := t.execN(ctx, `UPDATE comments SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, t.d.ts(t.now()), id)
	if err != nil {
		return wrap("delete comment", err)
	}
	if n == 0 {
		return notFound("comment %q not found", id)
	}
	return nil
}

// ---- Attachments ----

const attachmentCols = `id, item_id, filename, content_type, size, sha256, origin, created_at`

func scanAttachment(s interface{ Scan(...any) error }) (tracker.Attachment, error) {
	var a tracker.Attachment
	var origin string
	err := s.Scan(&a.ID, &a.ItemID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &origin, timeCol{&a.CreatedAt})
	a.Origin = tracker.Origin(origin)
	return a, err
}

// CreateAttachment stores an attachment of a live item: metadata in one
// table, content in another. Size and SHA256 are computed from content; when
// the caller supplied them they must agree (EInvalid otherwise).
func (t *tx) CreateAttachment(ctx context.Context, a tracker.Attachment, content []byte) error {
	if err := checkID("attachment", a.ID); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(a.Filename) == "" || len(a.Filename) > 255:
		return invalid("attachment filename must be 1 to 255 characters")
	case len(a.ContentType) > 255:
		return invalid("attachment content type must be at most 255 characters")
	case !a.Origin.Valid():
		return invalid("attachment has unknown origin %q", a.Origin)
	case len(content) > store.MaxAttachmentBytes:
		return tracker.Errorf(tracker.ETooLarge, "attachment %q is %d bytes; the limit is %d", a.Filename, len(content), store.MaxAttachmentBytes)
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	if a.Size != 0 && a.Size != int64(len(content)) {
		return invalid("attachment %q: size %d does not match the %d bytes of content", a.Filename, a.Size, len(content))
	}
	if a.SHA256 != "" && !strings.EqualFold(a.SHA256, digest) {
		return invalid("attachment %q: sha256 does not match the content", a.Filename)
	}
	if err := t.itemLive(ctx, "create attachment", a.ItemID); err != nil {
		return err
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	n, err := t.execN(ctx, `INSERT INTO attachments (`+attachmentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		a.ID, a.ItemID, a.Filename, ct, int64(len(content)), digest, string(a.Origin), t.d.ts(t.stamp(a.CreatedAt)))
	if err != nil {
		return wrap("create attachment", err)
	}
	if n == 0 {
		return conflict("attachment %q already exists", a.ID)
	}
	if content == nil {
		content = []byte{}
	}
	if _, err := t.exec(ctx, `INSERT INTO attachment_contents (attachment_id, content) VALUES (?, ?)`, a.ID, content); err != nil {
		return wrap("create attachment: store content", err)
	}
	return nil
}

// GetAttachment returns an attachment's metadata.
func (t *tx) GetAttachment(ctx context.Context, id string) (tracker.Attachment, error) {
	a, err := scanAttachment(t.queryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.Attachment{}, notFound("attachment %q not found", id)
	}
	if err != nil {
		return tracker.Attachment{}, wrap("get attachment", err)
	}
	return a, nil
}

// ListAttachments returns an item's attachments (metadata only), oldest
// first.
func (t *tx) ListAttachments(ctx context.Context, itemID string) ([]tracker.Attachment, error) {
	if err := t.itemKnown(ctx, "list attachments", itemID); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE item_id = ? ORDER BY created_at, id`, itemID)
	if err != nil {
		return nil, wrap("list attachments", err)
	}
	defer rows.Close()
	out := []tracker.Attachment{}
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, wrap("list attachments", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list attachments", err)
	}
	return out, nil
}

// AttachmentContent returns an attachment's bytes.
func (t *tx) AttachmentContent(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := t.queryRow(ctx, `SELECT content FROM attachment_contents WHERE attachment_id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("attachment %q not found", id)
	}
	if err != nil {
		return nil, wrap("read attachment content", err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// ---- Tokens ----

// CreateToken stores an API token (its hash only). A taken id or hash is
// EConflict.
func (t *tx) CreateToken(ctx context.Context, tk store.Token) error {
	if err := checkID("token", tk.ID); err != nil {
		return err
	}
	switch {
	case tk.Hash == "" || len(tk.Hash) > 256:
		return invalid("token hash must be 1 to 256 characters")
	case len(tk.Name) > 200:
		return invalid("token name must be at most 200 characters")
	case tk.Role == "" || len(tk.Role) > 64:
		return invalid("token role must be 1 to 64 characters")
	}
	n, err := t.execN(ctx, `INSERT INTO tokens (id, user_id, name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		tk.ID, nullString(tk.UserID), tk.Name, tk.Role, tk.Hash, t.d.ts(t.stamp(tk.CreatedAt)), t.d.nullTS(tk.ExpiresAt))
	if err != nil {
		return wrap("create token", err)
	}
	if n == 1 {
		return nil
	}
	taken, err := t.exists(ctx, `SELECT 1 FROM tokens WHERE id = ?`, tk.ID)
	if err != nil {
		return wrap("create token", err)
	}
	if taken {
		return conflict("token %q already exists", tk.ID)
	}
	return conflict("a token with the same secret already exists")
}

// TokenByHash finds a token by the hash of its secret.
func (t *tx) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	tk, err := scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not echoed: it is as good as a secret in logs.
		return store.Token{}, notFound("token not found")
	}
	if err != nil {
		return store.Token{}, wrap("find token", err)
	}
	return tk, nil
}

// ListTokens returns every token, oldest first (hashes included: the
// caller decides what to show).
func (t *tx) ListTokens(ctx context.Context) ([]store.Token, error) {
	return queryAll(ctx, t, "list tokens", scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at, id`)
}

// DeleteToken revokes a token: from the commit on, its secret opens
// nothing. An unknown id is ENotFound.
func (t *tx) DeleteToken(ctx context.Context, id string) error {
	// The sessions signed in with it end with it.
	if _, err := t.execN(ctx, `DELETE FROM sessions WHERE token_id = ?`, id); err != nil {
		return wrap("delete token: end its sessions", err)
	}
	n, err := t.execN(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return wrap("delete token", err)
	}
	if n == 0 {
		return notFound("token %q not found", id)
	}
	return nil
}

// CountTokens returns how many tokens exist (serve creates the first admin
// token when there are none).
func (t *tx) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil {
		return 0, wrap("count tokens", err)
	}
	return n, nil
}
