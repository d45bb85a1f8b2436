-- Every read is O(page) (issue 13): counters kept by the writers in the
-- same transaction as the change, so counts and backfill progress never
-- count rows, and indexes that answer each filtered list page in key
-- order, so that no list reads past the rows it returns.

-- +goose Up
-- Live (not deleted) items per target, kind and status.
CREATE TABLE item_counts (
    target_id text NOT NULL,
    kind      text NOT NULL,
    status    text NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (target_id, kind, status)
);
INSERT INTO item_counts (target_id, kind, status, n)
    SELECT target_id, kind, status, COUNT(*) FROM items WHERE deleted_at IS NULL GROUP BY target_id, kind, status;

-- Links of live items per integration, item kind and link state.
CREATE TABLE link_counts (
    integration_id text NOT NULL,
    kind           text NOT NULL,
    state          text NOT NULL,
    n              bigint NOT NULL,
    PRIMARY KEY (integration_id, kind, state)
);
INSERT INTO link_counts (integration_id, kind, state, n)
    SELECT l.integration_id, i.kind, l.state, COUNT(*) FROM links l JOIN items i ON i.id = l.item_id
    WHERE i.deleted_at IS NULL GROUP BY l.integration_id, i.kind, l.state;

-- Item list pages filtered by one column, in id order; the children of a
-- vulnerability (read by every sync of it).
CREATE INDEX items_parent_live ON items (parent_id, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_kind ON items (target_id, kind, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_status ON items (target_id, status, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_severity ON items (target_id, severity, id) WHERE deleted_at IS NULL;

-- Sync log pages filtered by result, direction or action, newest first.
-- sync_events_result answers the failures too: it replaces the partial
-- sync_events_failures.
CREATE INDEX sync_events_result ON sync_events (integration_id, result, at, id);
DROP INDEX sync_events_failures;
CREATE INDEX sync_events_direction ON sync_events (integration_id, direction, at, id);
CREATE INDEX sync_events_action ON sync_events (integration_id, action, at, id);

-- Failed jobs per kind, newest first (backfill progress, the retry list).
CREATE INDEX jobs_failed ON jobs (kind, id) WHERE state = 'failed';

-- +goose Down
DROP INDEX jobs_failed;
DROP INDEX sync_events_action;
DROP INDEX sync_events_direction;
CREATE INDEX sync_events_failures ON sync_events (integration_id, at, id) WHERE result = 'error';
DROP INDEX sync_events_result;
DROP INDEX items_target_severity;
DROP INDEX items_target_status;
DROP INDEX items_target_kind;
DROP INDEX items_parent_live;
DROP TABLE link_counts;
DROP TABLE item_counts;
