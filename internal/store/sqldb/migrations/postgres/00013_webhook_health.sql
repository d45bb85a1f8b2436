-- Webhook health (issue 15): deliveries counted by result per connection,
-- and the newest rejected deliveries with their reason (at most 50 per
-- connection; a rejected body is kept only as a short excerpt).

-- +goose Up
CREATE TABLE webhook_counts (
    connection_id text NOT NULL REFERENCES connections (id),
    result        text NOT NULL,
    count         bigint NOT NULL,
    last_at       timestamptz NOT NULL,
    PRIMARY KEY (connection_id, result)
);

CREATE TABLE webhook_rejections (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id text NOT NULL REFERENCES connections (id),
    at            timestamptz NOT NULL,
    result        text NOT NULL,
    reason        text NOT NULL,
    excerpt       text NOT NULL
);
CREATE INDEX webhook_rejections_connection ON webhook_rejections (connection_id, id);

-- +goose Down
DROP TABLE webhook_rejections;
DROP TABLE webhook_counts;
