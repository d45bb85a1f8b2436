-- The Jira integration tables for PostgreSQL: connections, integrations, item
-- links, the sync log, webhook deliveries, object links and leases. Times
-- are timestamptz (microsecond precision), JSON documents json (kept byte for
-- byte), bodies bytea.

-- +goose Up
CREATE TABLE connections (
    id                    text PRIMARY KEY,
    name                  text NOT NULL,
    base_url              text NOT NULL,
    deployment            text NOT NULL CHECK (deployment IN ('cloud', 'datacenter')),
    auth_type             text NOT NULL CHECK (auth_type IN ('basic', 'bearer')),
    email                 text NOT NULL,
    sealed_secret         text NOT NULL,
    sealed_webhook_secret text NOT NULL,
    webhook_id            text NOT NULL,
    account_id            text NOT NULL,
    account_name          text NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- One target <-> one Jira project (per connection).
CREATE TABLE integrations (
    id              text PRIMARY KEY,
    connection_id   text NOT NULL REFERENCES connections (id),
    target_id       text NOT NULL REFERENCES targets (id),
    project_key     text NOT NULL,
    mapping         json,
    state           text NOT NULL CHECK (state IN ('needs_mapping', 'active', 'paused')),
    watermark       timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX integrations_target_key ON integrations (target_id);
CREATE UNIQUE INDEX integrations_project_key ON integrations (connection_id, project_key);

-- One Jira issue per item (G1), and one item per issue of an integration
-- once the issue exists.
CREATE TABLE links (
    item_id        text PRIMARY KEY REFERENCES items (id),
    integration_id text NOT NULL REFERENCES integrations (id),
    state          text NOT NULL CHECK (state IN ('creating', 'linked', 'unlinked', 'refused')),
    issue_id       text NOT NULL,
    issue_key      text NOT NULL,
    synced         json,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX links_issue_key ON links (integration_id, issue_id) WHERE issue_id <> '';
CREATE INDEX links_integration ON links (integration_id, item_id);

-- The sync log (G12). No foreign key: it outlives its integration.
-- job_id is 0 for an action no job ran.
CREATE TABLE sync_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    integration_id text NOT NULL,
    item_id        text NOT NULL,
    issue_key      text NOT NULL,
    direction      text NOT NULL,
    action         text NOT NULL,
    jira_call      text NOT NULL,
    result         text NOT NULL,
    error          text NOT NULL,
    duration_ns    bigint NOT NULL,
    job_id         bigint NOT NULL,
    at             timestamptz NOT NULL
);
CREATE INDEX sync_events_integration ON sync_events (integration_id, at, id);
CREATE INDEX sync_events_item ON sync_events (integration_id, item_id, at, id);
CREATE INDEX sync_events_failures ON sync_events (integration_id, at, id) WHERE result = 'error';

-- Webhook deliveries (G10), deduplicated by Jira's delivery identifier.
CREATE TABLE deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id text NOT NULL REFERENCES connections (id),
    delivery_key  text NOT NULL,
    event         text NOT NULL,
    issue_id      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'applied', 'ignored', 'failed')),
    note          text NOT NULL,
    body          bytea NOT NULL,
    received_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX deliveries_key ON deliveries (connection_id, delivery_key);
CREATE INDEX deliveries_connection ON deliveries (connection_id, id);
-- The queued deliveries of one issue, applied by its sync job.
CREATE INDEX deliveries_queued ON deliveries (connection_id, issue_id, id) WHERE status = 'queued';

-- Comments and attachments mirrored between the two sides.
CREATE TABLE object_links (
    kind           text NOT NULL CHECK (kind IN ('comment', 'attachment')),
    local_id       text NOT NULL,
    item_id        text NOT NULL REFERENCES items (id),
    integration_id text NOT NULL REFERENCES integrations (id),
    jira_id        text NOT NULL,
    issue_id       text NOT NULL,
    origin         text NOT NULL,
    hash           text NOT NULL,
    deleted        boolean NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (kind, local_id)
);
CREATE UNIQUE INDEX object_links_jira_key ON object_links (kind, integration_id, jira_id) WHERE jira_id <> '';
CREATE INDEX object_links_item ON object_links (item_id, kind, local_id);
CREATE INDEX object_links_integration ON object_links (integration_id);

-- Named leases: one replica at a time runs what holds one.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE object_links;
DROP TABLE deliveries;
DROP TABLE sync_events;
DROP TABLE links;
DROP TABLE integrations;
DROP TABLE connections;
