-- Indexes for the reads monitoring makes on every scrape and health check
-- (internal/store OpsTx): each is answered from a partial index whose rows
-- are the ones counted, never by scanning the table.

-- +goose Up
-- Pending jobs per kind and the earliest due among them (done jobs stay
-- in the table, so the count must not touch them).
CREATE INDEX jobs_pending_kind ON jobs (kind, run_at) WHERE state = 'pending';
-- Live items per kind and status.
CREATE INDEX items_live_kind_status ON items (kind, status) WHERE deleted_at IS NULL;
-- A connection's newest webhook delivery, leaving out the rows
-- reconciliation records (store.DeliveryEventReconcile).
CREATE INDEX deliveries_webhooks ON deliveries (connection_id, id) WHERE event <> 'vulnsync:reconcile';

-- +goose Down
DROP INDEX deliveries_webhooks;
DROP INDEX items_live_kind_status;
DROP INDEX jobs_pending_kind;
