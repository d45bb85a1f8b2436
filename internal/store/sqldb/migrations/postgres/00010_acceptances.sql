-- Risk acceptances (issue 16): a request to accept an item's risk (or call
-- it a false positive) for a reason until a date, and its decision by an
-- admin other than the requester. Times are timestamptz.

-- +goose Up
CREATE TABLE acceptances (
    id              text PRIMARY KEY,
    item_id         text NOT NULL REFERENCES items (id),
    target_id       text NOT NULL REFERENCES targets (id),
    status          text NOT NULL CHECK (status IN ('accepted_risk', 'false_positive')),
    state           text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'revoked', 'expired')),
    reason          text NOT NULL,
    expires_at      timestamptz NOT NULL,
    requested_by_id text NOT NULL,
    requested_by    text NOT NULL,
    origin          text NOT NULL,
    decided_by_id   text NOT NULL,
    decided_by      text NOT NULL,
    decided_at      timestamptz,
    note            text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
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
