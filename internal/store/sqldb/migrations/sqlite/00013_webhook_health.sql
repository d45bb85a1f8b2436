-- Webhook health (issue 15): deliveries counted by result per connection,
-- and the newest rejected deliveries with their reason (at most 50 per
-- connection; a rejected body is kept only as a short excerpt).

-- +goose Up
CREATE TABLE webhook_counts (
    connection_id TEXT NOT NULL REFERENCES connections (id),
    result        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    PRIMARY KEY (connection_id, result)
);

CREATE TABLE webhook_rejections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL REFERENCES connections (id),
    at            INTEGER NOT NULL,
    result        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    excerpt       TEXT NOT NULL
);
CREATE INDEX webhook_rejections_connection ON webhook_rejections (connection_id, id);

-- +goose Down
DROP TABLE webhook_rejections;
DROP TABLE webhook_counts;
