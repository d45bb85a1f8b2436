-- The initial vulnsync schema for PostgreSQL. Times are timestamptz
-- (microsecond precision), item documents jsonb, job payloads json (kept
-- byte for byte).

-- +goose Up
CREATE TABLE targets (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL,
    url         text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX targets_name_key ON targets (name);

CREATE TABLE kinds (
    name       text PRIMARY KEY,
    statuses   jsonb NOT NULL,
    built_in   boolean NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE fields (
    name       text PRIMARY KEY,
    type       text NOT NULL,
    options    jsonb NOT NULL,
    min_value  double precision,
    max_value  double precision,
    built_in   boolean NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE items (
    id          text PRIMARY KEY,
    target_id   text NOT NULL REFERENCES targets (id),
    kind        text NOT NULL,
    parent_id   text REFERENCES items (id),
    title       text NOT NULL,
    description text NOT NULL,
    severity    text NOT NULL,
    status      text NOT NULL,
    fields      jsonb NOT NULL,
    field_times jsonb NOT NULL,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz
);
CREATE INDEX items_target_live ON items (target_id, id) WHERE deleted_at IS NULL;
CREATE INDEX items_parent ON items (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE history (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id text NOT NULL REFERENCES items (id),
    field   text NOT NULL,
    old     text NOT NULL,
    new     text NOT NULL,
    actor   text NOT NULL,
    origin  text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX history_item ON history (item_id, id);

CREATE TABLE comments (
    id                text PRIMARY KEY,
    item_id           text NOT NULL REFERENCES items (id),
    author_name       text NOT NULL,
    author_email      text NOT NULL,
    author_account_id text NOT NULL,
    body              text NOT NULL,
    origin            text NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    deleted_at        timestamptz
);
CREATE INDEX comments_item ON comments (item_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE attachments (
    id           text PRIMARY KEY,
    item_id      text NOT NULL REFERENCES items (id),
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    origin       text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX attachments_item ON attachments (item_id, created_at, id);

-- Content lives apart from the metadata so that listing never reads it.
CREATE TABLE attachment_contents (
    attachment_id text PRIMARY KEY REFERENCES attachments (id),
    content       bytea NOT NULL
);

CREATE TABLE tokens (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL,
    hash       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX tokens_hash_key ON tokens (hash);

CREATE TABLE jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    job_key     text NOT NULL,
    payload     json,
    state       text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts    integer NOT NULL,
    run_at      timestamptz NOT NULL,
    last_error  text NOT NULL,
    lease_token text NOT NULL,
    leased_till timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- Coalescing: at most one pending job per (kind, key).
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, job_key) WHERE state = 'pending';
-- Claiming due work and taking over expired leases stay indexed however many
-- done jobs accumulate.
CREATE INDEX jobs_pending_due ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_running_key ON jobs (kind, job_key) WHERE state = 'running';
CREATE INDEX jobs_running_lease ON jobs (leased_till, id) WHERE state = 'running';
-- The per-item sync log.
CREATE INDEX jobs_kind_key ON jobs (kind, job_key, id);

-- +goose Down
DROP TABLE jobs;
DROP TABLE tokens;
DROP TABLE attachment_contents;
DROP TABLE attachments;
DROP TABLE comments;
DROP TABLE history;
DROP TABLE items;
DROP TABLE fields;
DROP TABLE kinds;
DROP TABLE targets;
