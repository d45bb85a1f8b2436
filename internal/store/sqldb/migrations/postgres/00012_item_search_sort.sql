-- The item list's text search and sort (issue 15). Search is word-prefix
-- full-text search over title, description and asset: a GIN index on the
-- same tsvector expression the list query uses ('simple' configuration:
-- no stemming or stop words, like SQLite's FTS5 unicode61). Each sortable
-- column has an index in (target, key, id) order, so a sorted page reads
-- from its cursor on, whatever its depth.

-- +goose Up
-- The words, kept with the row (a generated column): a query that
-- filters rows by it never re-parses their text.
ALTER TABLE items ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, title || ' ' || description || ' ' || coalesce(fields ->> 'asset_id', ''))
) STORED;
-- fastupdate off: new rows go straight into the index, rather than to a
-- pending list every search would scan until a vacuum merges it.
CREATE INDEX items_search ON items USING gin (search_doc) WITH (fastupdate = off) WHERE deleted_at IS NULL;
CREATE INDEX items_target_title ON items (target_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_updated ON items (target_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_severity_rank ON items (target_id, (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END), id) WHERE deleted_at IS NULL;

CREATE INDEX items_target_assignee ON items (target_id, (coalesce(fields ->> 'assignee_email', '')), id) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX items_target_assignee;
DROP INDEX items_target_severity_rank;
DROP INDEX items_target_updated;
DROP INDEX items_target_title;
DROP INDEX items_search;
ALTER TABLE items DROP COLUMN search_doc;
