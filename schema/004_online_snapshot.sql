-- customer-cdc schema, part 4: online snapshot requests.

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS customer_cdc;

-- `customer-cdc snapshot` while the daemon runs writes a request here; the
-- daemon of the slot picks it up, re-publishes the tables to Kafka in chunks
-- of primary key order between watermarks, and records here, after each
-- chunk that the slot's acknowledged position covers, the last key done, so
-- a restart continues from there. At most one request per slot is active
-- (requested or running).
CREATE TABLE IF NOT EXISTS customer_cdc.online_snapshot (
    id bigserial PRIMARY KEY,
    slot_name text NOT NULL,
    tables text[] NOT NULL,
    where_clause text,
    state text NOT NULL DEFAULT 'requested',
    table_index integer NOT NULL DEFAULT 0,   -- into tables: the table being read
    last_key text[],                          -- primary key values of the last row done in it; NULL: none yet
    rows_done bigint NOT NULL DEFAULT 0,      -- rows read in chunks acknowledged so far
    rows_estimated bigint,                    -- pg_class.reltuples of the tables at the start
    error text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT online_snapshot_state_check
        CHECK (state IN ('requested', 'running', 'done', 'cancelled', 'failed'))
);
-- The current run (the daemon's last start or resume of the request):
-- `snapshot status` computes the rate from it, not across downtime.
ALTER TABLE customer_cdc.online_snapshot
    ADD COLUMN IF NOT EXISTS resumed_at timestamptz,
    ADD COLUMN IF NOT EXISTS rows_at_resume bigint NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX IF NOT EXISTS online_snapshot_one_active
    ON customer_cdc.online_snapshot (slot_name) WHERE state IN ('requested', 'running');
