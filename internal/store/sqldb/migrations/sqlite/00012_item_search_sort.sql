-- The item list's text search and sort (issue 15). Search is word-prefix
-- full-text search over title, description and asset (FTS5): a term is
-- looked up in the index, never by scanning the items. Each sortable
-- column has an index in (target, key, id) order, so a sorted page reads
-- from its cursor on, whatever its depth.

-- +goose Up
-- item_search gives each item a stable integer key for the FTS rows (an
-- items rowid may change on VACUUM: items has a text primary key).
CREATE TABLE item_search (
    rowid   INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, description, asset,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO item_search (item_id) SELECT id FROM items WHERE deleted_at IS NULL;
INSERT INTO items_fts (rowid, title, description, asset)
    SELECT s.rowid, i.title, i.description, coalesce(json_extract(i.fields, '$.asset_id'), '')
    FROM items i JOIN item_search s ON s.item_id = i.id;

-- +goose StatementBegin
CREATE TRIGGER items_search_insert AFTER INSERT ON items WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO item_search (item_id) VALUES (new.id);
    INSERT INTO items_fts (rowid, title, description, asset)
        VALUES ((SELECT rowid FROM item_search WHERE item_id = new.id), new.title, new.description,
                coalesce(json_extract(new.fields, '$.asset_id'), ''));
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER items_search_update AFTER UPDATE OF title, description, fields ON items
WHEN new.deleted_at IS NULL AND (old.title IS NOT new.title OR old.description IS NOT new.description
    OR json_extract(old.fields, '$.asset_id') IS NOT json_extract(new.fields, '$.asset_id')) BEGIN
    DELETE FROM items_fts WHERE rowid = (SELECT rowid FROM item_search WHERE item_id = new.id);
    INSERT INTO items_fts (rowid, title, description, asset)
        VALUES ((SELECT rowid FROM item_search WHERE item_id = new.id), new.title, new.description,
                coalesce(json_extract(new.fields, '$.asset_id'), ''));
END;
-- +goose StatementEnd
-- A deleted item leaves the index (lists never show deleted items).
-- +goose StatementBegin
CREATE TRIGGER items_search_delete AFTER UPDATE OF deleted_at ON items
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL BEGIN
    DELETE FROM items_fts WHERE rowid = (SELECT rowid FROM item_search WHERE item_id = new.id);
    DELETE FROM item_search WHERE item_id = new.id;
END;
-- +goose StatementEnd

CREATE INDEX items_target_title ON items (target_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX items_target_updated ON items (target_id, updated_at, id) WHERE deleted_at IS NULL;
-- Severity sorts by rank, most severe first: a generated column, so that
-- the keyset condition (severity_rank, id) > (?, ?) is an index range
-- (SQLite does not match a row value against an expression index).
ALTER TABLE items ADD COLUMN severity_rank INTEGER GENERATED ALWAYS AS (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END) VIRTUAL;
CREATE INDEX items_target_severity_rank ON items (target_id, severity_rank, id) WHERE deleted_at IS NULL;

-- The assignee's email ('' when unassigned), for the assignee sort.
ALTER TABLE items ADD COLUMN assignee TEXT GENERATED ALWAYS AS (coalesce(json_extract(fields, '$.assignee_email'), '')) VIRTUAL;
CREATE INDEX items_target_assignee ON items (target_id, assignee, id) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX items_target_assignee;
ALTER TABLE items DROP COLUMN assignee;
DROP INDEX items_target_severity_rank;
ALTER TABLE items DROP COLUMN severity_rank;
DROP INDEX items_target_updated;
DROP INDEX items_target_title;
DROP TRIGGER items_search_delete;
DROP TRIGGER items_search_update;
DROP TRIGGER items_search_insert;
DROP TABLE items_fts;
DROP TABLE item_search;
