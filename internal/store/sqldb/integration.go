package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

var _ store.IntegrationTx = (*tx)(nil)

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface{ Scan(...any) error }

// queryAll runs q and scans every row with scan.
func queryAll[T any](ctx context.Context, t *tx, what string, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(what, err)
	}
	return out, nil
}

// checkText records a problem when v is longer than max bytes, or empty
// while required.
func checkText(p tracker.Problems, field, v string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(v) == "":
		p.Add(field, "must not be empty")
	case len(v) > max:
		p.Add(field, "must be at most %d bytes", max)
	}
}

// oneOf records a problem unless v is one of allowed.
func oneOf[S ~string](p tracker.Problems, field string, v S, allowed ...S) {
	if !slices.Contains(allowed, v) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		p.Add(field, "must be one of %s, not %q", strings.Join(names, ", "), v)
	}
}

// jsonDoc checks an optional JSON document of the sync and returns what to
// store: NULL when it is empty.
func jsonDoc(what string, doc json.RawMessage) (any, error) {
	switch {
	case len(doc) == 0:
		return nil, nil
	case len(doc) > store.MaxSyncDocBytes:
		return nil, tracker.Errorf(tracker.ETooLarge, "%s is %d bytes; the limit is %d", what, len(doc), store.MaxSyncDocBytes)
	case !json.Valid(doc):
		return nil, invalid("%s is not valid JSON", what)
	}
	return string(doc), nil
}

// rawJSON turns a scanned nullable JSON column back into a document (nil for
// NULL).
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

// known reports ENotFound (naming what) unless q (a SELECT 1 ...) finds a
// row.
func (t *tx) known(ctx context.Context, op, what, id, q string) error {
	ok, err := t.exists(ctx, q, id)
	if err != nil {
		return wrap(op, err)
	}
	if !ok {
		return notFound("%s %q not found", what, id)
	}
	return nil
}

func (t *tx) connectionKnown(ctx context.Context, op, id string) error {
	return t.known(ctx, op, "connection", id, `SELECT 1 FROM connections WHERE id = ?`)
}

func (t *tx) integrationKnown(ctx context.Context, op, id string) error {
	return t.known(ctx, op, "integration", id, `SELECT 1 FROM integrations WHERE id = ?`)
}

// ---- Connections ----

const connectionCols = `id, name, base_url, deployment, auth_type, email, sealed_secret, sealed_webhook_secret, webhook_id, account_id, account_name, webhook_auth, server_version, created_at, updated_at`

func scanConnection(s rowScanner) (store.Connection, error) {
	var c store.Connection
	err := s.Scan(&c.ID, &c.Name, &c.BaseURL, &c.Deployment, &c.AuthType, &c.Email, &c.SealedSecret, &c.SealedWebhookSecret,
		&c.WebhookID, &c.AccountID, &c.AccountName, &c.WebhookAuth, &c.ServerVersion, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt})
	return c, err
}

func checkConnection(c store.Connection) error {
	if err := checkID("connection", c.ID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "name", c.Name, true, 200)
	checkText(p, "base_url", c.BaseURL, true, 2048)
	oneOf(p, "deployment", c.Deployment, "cloud", "datacenter")
	oneOf(p, "auth_type", c.AuthType, "basic", "bearer")
	checkText(p, "email", c.Email, false, 320)
	// Empty when the credentials were discarded (vulnsync serve
	// --reset-secrets after the key was lost) until new ones are given.
	checkText(p, "sealed_secret", c.SealedSecret, false, 8192)
	checkText(p, "sealed_webhook_secret", c.SealedWebhookSecret, false, 8192)
	checkText(p, "webhook_id", c.WebhookID, false, 255)
	checkText(p, "account_id", c.AccountID, false, 255)
	checkText(p, "account_name", c.AccountName, false, 255)
	oneOf(p, "webhook_auth", c.WebhookAuth, tracker.WebhookHMAC, tracker.WebhookToken)
	checkText(p, "server_version", c.ServerVersion, false, 64)
	return p.Err(tracker.EInvalid, "invalid connection")
}

// CreateConnection stores a new connection; a taken id is EConflict. Names
// need not be unique.
func (t *tx) CreateConnection(ctx context.Context, c store.Connection) error {
	if c.WebhookAuth == "" {
		c.WebhookAuth = tracker.WebhookHMAC // the column's default: Jira signs
	}
	if err := checkConnection(c); err != nil {
		return err
	}
	created := t.stamp(c.CreatedAt)
	updated := created
	if !c.UpdatedAt.IsZero() {
		updated = tracker.Truncate(c.UpdatedAt)
	}
	n, err := t.execN(ctx, `INSERT INTO connections (`+connectionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		c.ID, c.Name, c.BaseURL, c.Deployment, c.AuthType, c.Email, c.SealedSecret, c.SealedWebhookSecret,
		c.WebhookID, c.AccountID, c.AccountName, c.WebhookAuth, c.ServerVersion, t.d.ts(created), t.d.ts(updated))
	if err != nil {
		return wrap("create connection", err)
	}
	if n == 0 {
		return conflict("connection %q already exists", c.ID)
	}
	return nil
}

// GetConnection returns one connection.
func (t *tx) GetConnection(ctx context.Context, id string) (store.Connection, error) {
	c, err := scanConnection(t.queryRow(ctx, `SELECT `+connectionCols+` FROM connections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Connection{}, notFound("connection %q not found", id)
	}
	if err != nil {
		return store.Connection{}, wrap("get connection", err)
	}
	return c, nil
}

// ListConnections returns every connection, by name.
func (t *tx) ListConnections(ctx context.Context) ([]store.Connection, error) {
	return queryAll(ctx, t, "list connections", scanConnection, `SELECT `+connectionCols+` FROM connections ORDER BY name, id`)
}

// UpdateConnection replaces everything of a connection but its id and
// creation time.
func (t *tx) UpdateConnection(ctx context.Context, c store.Connection) error {
	if c.WebhookAuth == "" {
		c.WebhookAuth = tracker.WebhookHMAC
	}
	if err := checkConnection(c); err != nil {
		return err
	}
	n, err := t.execN(ctx, `UPDATE connections SET name = ?, base_url = ?, deployment = ?, auth_type = ?, email = ?, sealed_secret = ?,
		sealed_webhook_secret = ?, webhook_id = ?, account_id = ?, account_name = ?, webhook_auth = ?, server_version = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.BaseURL, c.Deployment, c.AuthType, c.Email, c.SealedSecret, c.SealedWebhookSecret,
		c.WebhookID, c.AccountID, c.AccountName, c.WebhookAuth, c.ServerVersion, t.d.ts(t.stamp(c.UpdatedAt)), c.ID)
	if err != nil {
		return wrap("update connection", err)
	}
	if n == 0 {
		return notFound("connection %q not found", c.ID)
	}
	return nil
}

// DeleteConnection removes a connection that no integration uses, with its
// recorded webhook deliveries.
func (t *tx) DeleteConnection(ctx context.Context, id string) error {
	ok, err := t.exists(ctx, `SELECT 1 FROM connections WHERE id = ?`+t.d.lockRows, id)
	if err != nil {
		return wrap("delete connection", err)
	}
	if !ok {
		return notFound("connection %q not found", id)
	}
	var used int
	if err := t.queryRow(ctx, `SELECT count(*) FROM integrations WHERE connection_id = ?`, id).Scan(&used); err != nil {
		return wrap("delete connection: count integrations", err)
	}
	if used > 0 {
		noun := "integrations"
		if used == 1 {
			noun = "integration"
		}
		return conflict("connection %q is used by %d %s; remove them first", id, used, noun)
	}
	if _, err := t.exec(ctx, `DELETE FROM deliveries WHERE connection_id = ?`, id); err != nil {
		return wrap("delete connection: delete deliveries", err)
	}
	for _, table := range []string{"webhook_counts", "webhook_rejections"} {
		if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE connection_id = ?`, id); err != nil {
			return wrap("delete connection: delete "+table, err)
		}
	}
	if _, err := t.exec(ctx, `DELETE FROM connections WHERE id = ?`, id); err != nil {
		return wrap("delete connection", err)
	}
	return nil
}

// ---- Integrations ----

const integrationCols = `id, connection_id, target_id, project_key, mapping, state, watermark, created_at, updated_at`

func scanIntegration(s rowScanner) (store.Integration, error) {
	var in store.Integration
	var mapping []byte
	err := s.Scan(&in.ID, &in.ConnectionID, &in.TargetID, &in.ProjectKey, &mapping, &in.State,
		timeCol{&in.Watermark}, timeCol{&in.CreatedAt}, timeCol{&in.UpdatedAt})
	in.Mapping = rawJSON(mapping)
	return in, err
}

// checkIntegrationState checks what UpdateIntegration may change.
func checkIntegrationState(p tracker.Problems, in store.Integration) {
	oneOf(p, "state", in.State, tracker.IntegrationNeedsMapping, tracker.IntegrationActive, tracker.IntegrationPaused)
}

// CreateIntegration stores a new integration of an existing connection and
// target. A target is integrated once, and a Jira project once per
// connection: EConflict naming the integration that holds it.
func (t *tx) CreateIntegration(ctx context.Context, in store.Integration) error {
	if err := checkID("integration", in.ID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "connection_id", in.ConnectionID, true, store.MaxIDLen)
	checkText(p, "target_id", in.TargetID, true, store.MaxIDLen)
	checkText(p, "project_key", in.ProjectKey, true, 255)
	checkIntegrationState(p, in)
	if err := p.Err(tracker.EInvalid, "invalid integration"); err != nil {
		return err
	}
	mapping, err := jsonDoc("integration mapping", in.Mapping)
	if err != nil {
		return err
	}
	const op = "create integration"
	if err := t.connectionKnown(ctx, op, in.ConnectionID); err != nil {
		return err
	}
	if err := t.known(ctx, op, "target", in.TargetID, `SELECT 1 FROM targets WHERE id = ?`); err != nil {
		return err
	}
	var otherID, otherKey string
	err = t.queryRow(ctx, `SELECT id, project_key FROM integrations WHERE target_id = ?`, in.TargetID).Scan(&otherID, &otherKey)
	switch {
	case err == nil:
		return conflict("target %q is already integrated with Jira project %s (integration %q)", in.TargetID, otherKey, otherID)
	case !errors.Is(err, sql.ErrNoRows):
		return wrap(op, err)
	}
	var otherTarget string
	err = t.queryRow(ctx, `SELECT id, target_id FROM integrations WHERE connection_id = ? AND project_key = ?`, in.ConnectionID, in.ProjectKey).
		Scan(&otherID, &otherTarget)
	switch {
	case err == nil:
		return conflict("Jira project %s of connection %q is already integrated with target %q (integration %q)", in.ProjectKey, in.ConnectionID, otherTarget, otherID)
	case !errors.Is(err, sql.ErrNoRows):
		return wrap(op, err)
	}
	created := t.stamp(in.CreatedAt)
	updated := created
	if !in.UpdatedAt.IsZero() {
		updated = tracker.Truncate(in.UpdatedAt)
	}
	n, err := t.execN(ctx, `INSERT INTO integrations (`+integrationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		in.ID, in.ConnectionID, in.TargetID, in.ProjectKey, mapping, in.State,
		t.d.nullTS(in.Watermark), t.d.ts(created), t.d.ts(updated))
	if err != nil {
		return wrap(op, err)
	}
	if n == 1 {
		return nil
	}
	taken, err := t.exists(ctx, `SELECT 1 FROM integrations WHERE id = ?`, in.ID)
	if err != nil {
		return wrap(op, err)
	}
	if taken {
		return conflict("integration %q already exists", in.ID)
	}
	// A concurrent transaction took the target or the project after the
	// checks above: run again, and they name it.
	return &retryError{err: conflict("target %q or Jira project %s was integrated concurrently", in.TargetID, in.ProjectKey)}
}

// GetIntegration returns one integration.
func (t *tx) GetIntegration(ctx context.Context, id string) (store.Integration, error) {
	in, err := scanIntegration(t.queryRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Integration{}, notFound("integration %q not found", id)
	}
	if err != nil {
		return store.Integration{}, wrap("get integration", err)
	}
	return in, nil
}

// IntegrationByTarget returns the integration of a target.
func (t *tx) IntegrationByTarget(ctx context.Context, targetID string) (store.Integration, error) {
	in, err := scanIntegration(t.queryRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE target_id = ?`, targetID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Integration{}, notFound("target %q has no integration", targetID)
	}
	if err != nil {
		return store.Integration{}, wrap("find integration of target", err)
	}
	return in, nil
}

// ListIntegrations returns every integration, oldest first.
func (t *tx) ListIntegrations(ctx context.Context) ([]store.Integration, error) {
	return queryAll(ctx, t, "list integrations", scanIntegration, `SELECT `+integrationCols+` FROM integrations ORDER BY created_at, id`)
}

// UpdateIntegration replaces an integration's mapping, state, backfill
// progress, watermark and updated time. Its connection, target, project and
// creation time are fixed at creation and ignored here.
func (t *tx) UpdateIntegration(ctx context.Context, in store.Integration) error {
	p := tracker.Problems{}
	checkIntegrationState(p, in)
	if err := p.Err(tracker.EInvalid, "invalid integration"); err != nil {
		return err
	}
	mapping, err := jsonDoc("integration mapping", in.Mapping)
	if err != nil {
		return err
	}
	n, err := t.execN(ctx, `UPDATE integrations SET mapping = ?, state = ?,
		watermark = ?, updated_at = ? WHERE id = ?`,
		mapping, in.State, t.d.nullTS(in.Watermark), t.d.ts(t.stamp(in.UpdatedAt)), in.ID)
	if err != nil {
		return wrap("update integration", err)
	}
	if n == 0 {
		return notFound("integration %q not found", in.ID)
	}
	return nil
}

// DeleteIntegration removes an integration with its links and object links;
// its sync events stay (they are the audit log).
func (t *tx) DeleteIntegration(ctx context.Context, id string) error {
	const op = "delete integration"
	ok, err := t.exists(ctx, `SELECT 1 FROM integrations WHERE id = ?`+t.d.lockRows, id)
	if err != nil {
		return wrap(op, err)
	}
	if !ok {
		return notFound("integration %q not found", id)
	}
	if _, err := t.exec(ctx, `DELETE FROM object_links WHERE integration_id = ?`, id); err != nil {
		return wrap(op+": delete object links", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM links WHERE integration_id = ?`, id); err != nil {
		return wrap(op+": delete links", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM link_counts WHERE integration_id = ?`, id); err != nil {
		return wrap(op+": delete link counts", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM integrations WHERE id = ?`, id); err != nil {
		return wrap(op, err)
	}
	return nil
}

// ---- Links ----

const linkCols = `item_id, integration_id, state, issue_id, issue_key, synced, updated_at`

func scanLink(s rowScanner) (store.Link, error) {
	var l store.Link
	var synced []byte
	err := s.Scan(&l.ItemID, &l.IntegrationID, &l.State, &l.IssueID, &l.IssueKey, &synced, timeCol{&l.UpdatedAt})
	l.Synced = rawJSON(synced)
	return l, err
}

// UpsertLink inserts or replaces the link of l.ItemID. The item (deleted or
// not) and the integration must exist. A linked link needs its issue id; an
// issue id already linked to another item of the integration is EConflict.
func (t *tx) UpsertLink(ctx context.Context, l store.Link) error {
	if err := checkID("item", l.ItemID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "integration_id", l.IntegrationID, true, store.MaxIDLen)
	oneOf(p, "state", l.State, tracker.LinkCreating, tracker.LinkLinked, tracker.LinkUnlinked, tracker.LinkRefused)
	checkText(p, "issue_id", l.IssueID, l.State == tracker.LinkLinked, store.MaxIDLen)
	checkText(p, "issue_key", l.IssueKey, false, 255)
	if err := p.Err(tracker.EInvalid, "invalid link"); err != nil {
		return err
	}
	synced, err := jsonDoc("link synced state", l.Synced)
	if err != nil {
		return err
	}
	const op = "upsert link"
	// The item's kind and liveness and the link it had, for the counters
	// (links of live items are counted).
	var kind string
	var live bool
	err = t.queryRow(ctx, `SELECT kind, deleted_at IS NULL FROM items WHERE id = ?`, l.ItemID).Scan(&kind, &live)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("item %q not found", l.ItemID)
	}
	if err != nil {
		return wrap(op, err)
	}
	var prevInteg, prevState string
	err = t.queryRow(ctx, `SELECT integration_id, state FROM links WHERE item_id = ?`+t.d.lockRows, l.ItemID).Scan(&prevInteg, &prevState)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return wrap(op, err)
	}
	if err := t.integrationKnown(ctx, op, l.IntegrationID); err != nil {
		return err
	}
	if l.IssueID != "" {
		var other string
		err := t.queryRow(ctx, `SELECT item_id FROM links WHERE integration_id = ? AND issue_id = ? AND issue_id <> '' AND item_id <> ?`, l.IntegrationID, l.IssueID, l.ItemID).Scan(&other)
		switch {
		case err == nil:
			return conflict("Jira issue %s (id %s) is already linked to item %q", l.IssueKey, l.IssueID, other)
		case !errors.Is(err, sql.ErrNoRows):
			return wrap(op, err)
		}
	}
	_, err = t.exec(ctx, `INSERT INTO links (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET integration_id = excluded.integration_id, state = excluded.state,
			issue_id = excluded.issue_id, issue_key = excluded.issue_key, synced = excluded.synced, updated_at = excluded.updated_at`,
		l.ItemID, l.IntegrationID, l.State, l.IssueID, l.IssueKey, synced, t.d.ts(t.stamp(l.UpdatedAt)))
	if err != nil {
		if constraint(err) == "unique" {
			// Another transaction linked the issue after our check: run
			// again to name the item it went to.
			return &retryError{err: wrap(op, err)}
		}
		return wrap(op, err)
	}
	if live && (prevInteg != l.IntegrationID || prevState != string(l.State)) {
		if prevInteg != "" {
			if err := t.bumpLinkCount(ctx, prevInteg, kind, tracker.LinkState(prevState), -1); err != nil {
				return err
			}
		}
		if err := t.bumpLinkCount(ctx, l.IntegrationID, kind, l.State, 1); err != nil {
			return err
		}
	}
	return nil
}

// GetLink returns the link of an item.
func (t *tx) GetLink(ctx context.Context, itemID string) (store.Link, error) {
	l, err := scanLink(t.queryRow(ctx, `SELECT `+linkCols+` FROM links WHERE item_id = ?`, itemID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Link{}, notFound("item %q has no Jira link", itemID)
	}
	if err != nil {
		return store.Link{}, wrap("get link", err)
	}
	return l, nil
}

// LinkByIssue returns the link of a Jira issue (by its id) in an
// integration.
func (t *tx) LinkByIssue(ctx context.Context, integrationID, issueID string) (store.Link, error) {
	if issueID == "" {
		return store.Link{}, invalid("finding a link by issue needs the issue id")
	}
	l, err := scanLink(t.queryRow(ctx, `SELECT `+linkCols+` FROM links WHERE integration_id = ? AND issue_id = ? AND issue_id <> ''`, integrationID, issueID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Link{}, notFound("Jira issue %s is not linked in integration %q", issueID, integrationID)
	}
	if err != nil {
		return store.Link{}, wrap("find link by issue", err)
	}
	return l, nil
}

// lookupChunk bounds the ids of one IN list, well under both databases'
// parameter limits.
const lookupChunk = 500

// LinksForItems returns the links of those of itemIDs that have one, by
// item id. Duplicate ids are looked up once.
func (t *tx) LinksForItems(ctx context.Context, itemIDs []string) ([]store.Link, error) {
	if len(itemIDs) > store.MaxLookupIDs {
		return nil, invalid("at most %d item ids can be looked up at once, not %d", store.MaxLookupIDs, len(itemIDs))
	}
	ids := slices.Clone(itemIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := []store.Link{}
	for start := 0; start < len(ids); start += lookupChunk {
		chunk := ids[start:min(start+lookupChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		links, err := queryAll(ctx, t, "links for items", scanLink,
			`SELECT `+linkCols+` FROM links WHERE item_id IN (`+placeholders(len(chunk))+`) ORDER BY item_id`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, links...)
	}
	return out, nil
}

// ListLinks returns one page of an integration's links, by item id.
func (t *tx) ListLinks(ctx context.Context, integrationID string, cursor string, limit int) ([]store.Link, string, error) {
	n, err := pageSize(limit)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + linkCols + ` FROM links WHERE integration_id = ?`
	args := []any{integrationID}
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q += ` AND item_id > ?`
		args = append(args, after)
	}
	if err := t.integrationKnown(ctx, "list links", integrationID); err != nil {
		return nil, "", err
	}
	links, err := queryAll(ctx, t, "list links", scanLink, q+` ORDER BY item_id LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(links) > n {
		links = links[:n]
		next = encodeCursor(links[n-1].ItemID)
	}
	return links, next, nil
}

// ---- Sync events ----

const syncEventCols = `id, integration_id, item_id, issue_key, direction, action, jira_call, result, error, duration_ns, job_id, at`

func scanSyncEvent(s rowScanner) (store.SyncEvent, error) {
	var e store.SyncEvent
	var ns int64
	err := s.Scan(&e.ID, &e.IntegrationID, &e.ItemID, &e.IssueKey, &e.Direction, &e.Action, &e.JiraCall, &e.Result, &e.Error,
		&ns, &e.JobID, timeCol{&e.At})
	e.Duration = time.Duration(ns)
	return e, err
}

// AddSyncEvent records one sync action; the store assigns its id (e.ID is
// ignored) and stamps a zero At with the current time. The integration need
// not exist any more: the log outlives it. The duration is kept to the
// nanosecond; an error longer than store.MaxJobErrorBytes is truncated.
func (t *tx) AddSyncEvent(ctx context.Context, e store.SyncEvent) error {
	if err := checkID("integration", e.IntegrationID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "item_id", e.ItemID, false, store.MaxIDLen)
	checkText(p, "issue_key", e.IssueKey, false, 255)
	oneOf(p, "direction", e.Direction, "to_jira", "from_jira")
	checkText(p, "action", e.Action, true, 64)
	checkText(p, "jira_call", e.JiraCall, false, 512)
	oneOf(p, "result", e.Result, "ok", "error", "skipped")
	if e.Duration < 0 {
		p.Add("duration", "must not be negative")
	}
	if e.JobID < 0 {
		p.Add("job_id", "must not be negative")
	}
	if err := p.Err(tracker.EInvalid, "invalid sync event"); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO sync_events (integration_id, item_id, issue_key, direction, action, jira_call, result, error, duration_ns, job_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.IntegrationID, e.ItemID, e.IssueKey, e.Direction, e.Action, e.JiraCall, e.Result, truncateError(e.Error),
		int64(e.Duration), e.JobID, t.d.ts(t.stamp(e.At)))
	return wrap("add sync event", err)
}

// ListSyncEvents lists an integration's events (of one item when f.ItemID is
// set), newest first; with f.FailuresFirst the errors come first, then the
// rest, each part newest first. Events of a deleted integration are still
// listed; an unknown integration simply has none. It is the first page of
// ListSyncEventsPage.
func (t *tx) ListSyncEvents(ctx context.Context, f store.SyncEventFilter) ([]store.SyncEvent, error) {
	page, err := t.ListSyncEventsPage(ctx, f)
	return page.Events, err
}
