-- customer-cdc schema, part 2: what the daemon needs on top of the seed.

SET client_min_messages = warning;

-- Old values of every column are needed for audit entries and rollups.
ALTER TABLE public.customer REPLICA IDENTITY FULL;
ALTER TABLE public.plans REPLICA IDENTITY FULL;

-- Audit history outlives the customer: drop the seed's cascading foreign key.
ALTER TABLE public.audit_logs DROP CONSTRAINT IF EXISTS audit_logs_customer_uuid_fkey;

-- Where each entry came from: the WAL position of the source row change
-- (unique: an entry is written once) and the source transaction id.
ALTER TABLE public.audit_logs ADD COLUMN IF NOT EXISTS source_lsn pg_lsn;
ALTER TABLE public.audit_logs ADD COLUMN IF NOT EXISTS source_xid bigint;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'audit_logs_source_lsn_key'
                   AND conrelid = 'public.audit_logs'::regclass) THEN
    ALTER TABLE public.audit_logs ADD CONSTRAINT audit_logs_source_lsn_key UNIQUE (source_lsn);
  END IF;
END;
$$;

-- Where the schema exists, re-applying needs no CREATE on the database (which
-- CREATE SCHEMA IF NOT EXISTS checks first).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'customer_cdc') THEN
    CREATE SCHEMA customer_cdc;
  END IF;
END;
$$;

-- The position up to which the Postgres sinks (audit, rollups) hold every
-- change of a slot: the end LSN of the last source transaction they committed.
-- Updated in the same transaction as the rows it covers.
CREATE TABLE IF NOT EXISTS customer_cdc.checkpoint (
    slot_name text PRIMARY KEY,
    lsn pg_lsn NOT NULL,
    source_xid bigint,
    source_commit_time timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Consistent point of the last snapshot of the slot: the rollups that
-- describe table state (plan_rollup) were rebuilt as of this position, so
-- transactions ending at or below it are not applied to them again. NULL
-- until a snapshot ran (snapshot_mode = initial then takes one).
ALTER TABLE customer_cdc.checkpoint ADD COLUMN IF NOT EXISTS snapshot_lsn pg_lsn;

-- The price of each plan as of the checkpoint, kept from the change stream of
-- public.plans so that analytics.plan_rollup.mrr follows price changes in
-- commit order. Rebuilt by `customer-cdc rebuild-rollups`.
CREATE TABLE IF NOT EXISTS customer_cdc.plan_price (
    plan_id bigint PRIMARY KEY,
    price numeric(10,2) NOT NULL
);

-- Poison messages recorded instead of stopping, when [dead_letter] enabled is
-- set: one row per message, written in the same transaction as the rest of
-- its source transaction (and the checkpoint). raw_message holds the bytes
-- as received (convert_from(raw_message, 'UTF8') shows them as text).
CREATE TABLE IF NOT EXISTS customer_cdc.dead_letter (
    id bigserial PRIMARY KEY,
    slot_name text NOT NULL,
    wal_lsn pg_lsn NOT NULL,
    commit_lsn pg_lsn,
    source_xid bigint,
    source_commit_time timestamptz,
    reason text NOT NULL,
    raw_message bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (slot_name, wal_lsn)
);
