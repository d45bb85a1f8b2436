-- Scanner imports (issue 17) for PostgreSQL: the identity of imported items
-- (fingerprint, per target; the scanner that reported them), the due date
-- as a column so "overdue" is a query, the import records and the per-target
-- SLA policy. Times are timestamptz.

-- +goose Up
ALTER TABLE items ADD COLUMN fingerprint text;
ALTER TABLE items ADD COLUMN scanner text;
ALTER TABLE items ADD COLUMN due_date text;
-- One live item per fingerprint per target: a re-import updates, never duplicates.
CREATE UNIQUE INDEX items_target_fingerprint ON items (target_id, fingerprint) WHERE fingerprint IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX items_target_due ON items (target_id, due_date) WHERE due_date IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE imports (
    id            text PRIMARY KEY,
    target_id     text NOT NULL REFERENCES targets (id),
    format        text NOT NULL,
    scanner       text NOT NULL,
    filename      text NOT NULL,
    sha256        text NOT NULL,
    size          bigint NOT NULL,
    actor         text NOT NULL,
    close_missing boolean NOT NULL,
    findings      bigint NOT NULL,
    created       bigint NOT NULL,
    updated       bigint NOT NULL,
    reopened      bigint NOT NULL,
    closed        bigint NOT NULL,
    unchanged     bigint NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX imports_target ON imports (target_id, id);

-- Days to fix per severity; NULL: no due date for that severity.
CREATE TABLE sla_policies (
    target_id  text PRIMARY KEY REFERENCES targets (id),
    critical   integer,
    high       integer,
    medium     integer,
    low        integer,
    info       integer,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sla_policies;
DROP TABLE imports;
DROP INDEX items_target_due;
DROP INDEX items_target_fingerprint;
ALTER TABLE items DROP COLUMN due_date;
ALTER TABLE items DROP COLUMN scanner;
ALTER TABLE items DROP COLUMN fingerprint;
