-- Sensitive comments (issue 16): a vulnsync note can be internal (it never
-- goes to Jira), and a Jira comment restricted to a role or group is kept
-- with its visibility, so that it is never shown as public.

-- +goose Up
ALTER TABLE comments ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comments ADD COLUMN visibility_type TEXT NOT NULL DEFAULT '' CHECK (visibility_type IN ('', 'role', 'group'));
ALTER TABLE comments ADD COLUMN visibility_value TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE comments DROP COLUMN visibility_value;
ALTER TABLE comments DROP COLUMN visibility_type;
ALTER TABLE comments DROP COLUMN internal;
