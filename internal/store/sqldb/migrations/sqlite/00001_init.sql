-- The initial vulnsync schema for SQLite. Times are INTEGER unix
-- microseconds (UTC), JSON documents are TEXT.

-- +goose Up
CREATE TABLE targets (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    url         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX targets_name_key ON targets (name);

CREATE TABLE kinds (
    name       TEXT PRIMARY KEY,
    statuses   TEXT NOT NULL,
    built_in   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE fields (
    name       TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    options    TEXT NOT NULL,
    min_value  REAL,
    max_value  REAL,
    built_in   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE items (
    id          TEXT PRIMARY KEY,
    target_id   TEXT NOT NULL REFERENCES targets (id),
    kind        TEXT NOT NULL,
    parent_id   TEXT REFERENCES items (id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    field_times TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX items_target_live ON items (target_id, id) WHERE deleted_at IS NULL;
CREATE INDEX items_parent ON items (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE history (
    id      INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES items (id),
    field   TEXT NOT NULL,
    old     TEXT NOT NULL,
    new     TEXT NOT NULL,
    actor   TEXT NOT NULL,
    origin  TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX history_item ON history (item_id, id);

CREATE TABLE comments (
    id                TEXT PRIMARY KEY,
    item_id           TEXT NOT NULL REFERENCES items (id),
    author_name       TEXT NOT NULL,
    author_email      TEXT NOT NULL,
    author_account_id TEXT NOT NULL,
    body              TEXT NOT NULL,
    origin            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER
);
CREATE INDEX comments_item ON comments (item_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    item_id      TEXT NOT NULL REFERENCES items (id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    origin       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_item ON attachments (item_id, created_at, id);

-- Content lives apart from the metadata so that listing never reads it.
CREATE TABLE attachment_contents (
    attachment_id TEXT PRIMARY KEY REFERENCES attachments (id),
    content       BLOB NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX tokens_hash_key ON tokens (hash);

-- The outbox. AUTOINCREMENT keeps ids increasing even after a row is
-- removed, so "newest first" stays true.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    job_key     TEXT NOT NULL,
    payload     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL,
    run_at      INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    lease_token TEXT NOT NULL,
    leased_till INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
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
