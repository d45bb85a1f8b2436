-- The dashboard (issue 15) reads bounded counters, kept by the writers of
-- items in the same transaction as the change (as the counters of 00007):
-- open items per target, kind, severity and day of creation (severity and
-- age charts: a few rows per day, whatever the number of items), and
-- resolutions per target, kind, severity and month with the time they
-- took (mean time to resolve over time).

-- +goose Up
CREATE TABLE open_item_days (
    target_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    created_day TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (target_id, kind, severity, created_day)
);
INSERT INTO open_item_days (target_id, kind, severity, created_day, n)
    SELECT target_id, kind, severity, strftime('%Y-%m-%d', created_at / 1000000, 'unixepoch'), COUNT(*)
    FROM items WHERE deleted_at IS NULL AND status IN ('open', 'in_progress')
    GROUP BY 1, 2, 3, 4;

CREATE TABLE resolution_months (
    target_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    severity  TEXT NOT NULL,
    month     TEXT NOT NULL,
    n         INTEGER NOT NULL,
    seconds   INTEGER NOT NULL,
    PRIMARY KEY (target_id, kind, severity, month)
);
-- Past resolutions come from the history: each change of status to
-- resolved, timed from the item's creation.
INSERT INTO resolution_months (target_id, kind, severity, month, n, seconds)
    SELECT i.target_id, i.kind, i.severity, strftime('%Y-%m', h.at / 1000000, 'unixepoch'), COUNT(*),
        SUM(MAX(h.at - i.created_at, 0) / 1000000)
    FROM history h JOIN items i ON i.id = h.item_id
    WHERE h.field = 'status' AND h.new = '"resolved"' AND i.deleted_at IS NULL
    GROUP BY 1, 2, 3, 4;

-- +goose Down
DROP TABLE resolution_months;
DROP TABLE open_item_days;
