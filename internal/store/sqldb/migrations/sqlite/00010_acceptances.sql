-- Risk acceptances (issue 16): a request to accept an item's risk (or call
-- it a false positive) for a reason until a date, and its decision by an
-- admin other than the requester. Times are INTEGER unix microseconds (UTC).

-- +goose Up
CREATE TABLE acceptances (
    id              TEXT PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items (id),
    target_id       TEXT NOT NULL REFERENCES targets (id),
    status          TEXT NOT NULL CHECK (status IN ('accepted_risk', 'false_positive')),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'revoked', 'expired')),
    reason          TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    origin          TEXT NOT NULL,
    decided_by_id   TEXT NOT NULL,
    decided_by      TEXT NOT NULL,
    decided_at      INTEGER,
    note            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- At most one open (pending or approved) acceptance per item.
CREATE UNIQUE INDEX acceptances_open_item ON acceptances (item_id) WHERE state IN ('pending', 'approved');
-- Keyset pages: all, by state, by item (ids are UUIDv7: newest last).
CREATE INDEX acceptances_state ON acceptances (state, id);
CREATE INDEX acceptances_item ON acceptances (item_id, id);
-- The expiry job's range.
CREATE INDEX acceptances_due ON acceptances (expires_at) WHERE state = 'approved';

-- +goose Down
DROP TABLE acceptances;
