-- The Jira integration tables for SQLite: connections, integrations, item
-- links, the sync log, webhook deliveries, object links and leases. Times
-- are INTEGER unix microseconds (UTC), JSON documents TEXT kept byte for
-- byte.

-- +goose Up
CREATE TABLE connections (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    base_url              TEXT NOT NULL,
    deployment            TEXT NOT NULL CHECK (deployment IN ('cloud', 'datacenter')),
    auth_type             TEXT NOT NULL CHECK (auth_type IN ('basic', 'bearer')),
    email                 TEXT NOT NULL,
    sealed_secret         TEXT NOT NULL,
    sealed_webhook_secret TEXT NOT NULL,
    webhook_id            TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    account_name          TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- One target <-> one Jira project (per connection).
CREATE TABLE integrations (
    id              TEXT PRIMARY KEY,
    connection_id   TEXT NOT NULL REFERENCES connections (id),
    target_id       TEXT NOT NULL REFERENCES targets (id),
    project_key     TEXT NOT NULL,
    mapping         TEXT,
    state           TEXT NOT NULL CHECK (state IN ('needs_mapping', 'active', 'paused')),
    watermark       INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX integrations_target_key ON integrations (target_id);
CREATE UNIQUE INDEX integrations_project_key ON integrations (connection_id, project_key);

-- One Jira issue per item (G1), and one item per issue of an integration
-- once the issue exists.
CREATE TABLE links (
    item_id        TEXT PRIMARY KEY REFERENCES items (id),
    integration_id TEXT NOT NULL REFERENCES integrations (id),
    state          TEXT NOT NULL CHECK (state IN ('creating', 'linked', 'unlinked', 'refused')),
    issue_id       TEXT NOT NULL,
    issue_key      TEXT NOT NULL,
    synced         TEXT,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX links_issue_key ON links (integration_id, issue_id) WHERE issue_id <> '';
CREATE INDEX links_integration ON links (integration_id, item_id);

-- The sync log (G12). No foreign key: it outlives its integration.
-- job_id is 0 for an action no job ran.
CREATE TABLE sync_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT NOT NULL,
    item_id        TEXT NOT NULL,
    issue_key      TEXT NOT NULL,
    direction      TEXT NOT NULL,
    action         TEXT NOT NULL,
    jira_call      TEXT NOT NULL,
    result         TEXT NOT NULL,
    error          TEXT NOT NULL,
    duration_ns    INTEGER NOT NULL,
    job_id         INTEGER NOT NULL,
    at             INTEGER NOT NULL
);
CREATE INDEX sync_events_integration ON sync_events (integration_id, at, id);
CREATE INDEX sync_events_item ON sync_events (integration_id, item_id, at, id);
CREATE INDEX sync_events_failures ON sync_events (integration_id, at, id) WHERE result = 'error';

-- Webhook deliveries (G10), deduplicated by Jira's delivery identifier.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    delivery_key  TEXT NOT NULL,
    event         TEXT NOT NULL,
    issue_id      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'applied', 'ignored', 'failed')),
    note          TEXT NOT NULL,
    body          BLOB NOT NULL,
    received_at   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX deliveries_key ON deliveries (connection_id, delivery_key);
CREATE INDEX deliveries_connection ON deliveries (connection_id, id);
-- The queued deliveries of one issue, applied by its sync job.
CREATE INDEX deliveries_queued ON deliveries (connection_id, issue_id, id) WHERE status = 'queued';

-- Comments and attachments mirrored between the two sides.
CREATE TABLE object_links (
    kind           TEXT NOT NULL CHECK (kind IN ('comment', 'attachment')),
    local_id       TEXT NOT NULL,
    item_id        TEXT NOT NULL REFERENCES items (id),
    integration_id TEXT NOT NULL REFERENCES integrations (id),
    jira_id        TEXT NOT NULL,
    issue_id       TEXT NOT NULL,
    origin         TEXT NOT NULL,
    hash           TEXT NOT NULL,
    deleted        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (kind, local_id)
);
CREATE UNIQUE INDEX object_links_jira_key ON object_links (kind, integration_id, jira_id) WHERE jira_id <> '';
CREATE INDEX object_links_item ON object_links (item_id, kind, local_id);
CREATE INDEX object_links_integration ON object_links (integration_id);

-- Named leases: one replica at a time runs what holds one.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE object_links;
DROP TABLE deliveries;
DROP TABLE sync_events;
DROP TABLE links;
DROP TABLE integrations;
DROP TABLE connections;
