-- Scanner imports (issue 17) for SQLite: the identity of imported items
-- (fingerprint, per target; the scanner that reported them), the due date
-- as a column so "overdue" is a query, the import records and the per-target
-- SLA policy. Times are INTEGER unix microseconds (UTC).

-- +goose Up
ALTER TABLE items ADD COLUMN fingerprint TEXT;
ALTER TABLE items ADD COLUMN scanner TEXT;
ALTER TABLE items ADD COLUMN due_date TEXT;
-- One live item per fingerprint per target: a re-import updates, never duplicates.
CREATE UNIQUE INDEX items_target_fingerprint ON items (target_id, fingerprint) WHERE fingerprint IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX items_target_due ON items (target_id, due_date) WHERE due_date IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE imports (
    id            TEXT PRIMARY KEY,
    target_id     TEXT NOT NULL REFERENCES targets (id),
    format        TEXT NOT NULL,
    scanner       TEXT NOT NULL,
    filename      TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    close_missing INTEGER NOT NULL,
    findings      INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    reopened      INTEGER NOT NULL,
    closed        INTEGER NOT NULL,
    unchanged     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX imports_target ON imports (target_id, id);

-- Days to fix per severity; NULL: no due date for that severity.
CREATE TABLE sla_policies (
    target_id  TEXT PRIMARY KEY REFERENCES targets (id),
    critical   INTEGER,
    high       INTEGER,
    medium     INTEGER,
    low        INTEGER,
    info       INTEGER,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE sla_policies;
DROP TABLE imports;
DROP INDEX items_target_due;
DROP INDEX items_target_fingerprint;
ALTER TABLE items DROP COLUMN due_date;
ALTER TABLE items DROP COLUMN scanner;
ALTER TABLE items DROP COLUMN fingerprint;
