-- How a connection's webhook deliveries are authenticated (Jira Data
-- Center before 10 does not sign them), and the Jira version that decided
-- it.

-- +goose Up
ALTER TABLE connections ADD COLUMN webhook_auth TEXT NOT NULL DEFAULT 'hmac' CHECK (webhook_auth IN ('hmac', 'token'));
ALTER TABLE connections ADD COLUMN server_version TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN server_version;
ALTER TABLE connections DROP COLUMN webhook_auth;
