-- customer-cdc schema, part 3: analytics rollups maintained by the daemon in the
-- same transaction as the audit entries (see README, "Rollups").

SET client_min_messages = warning;

-- Where the schema exists, re-applying needs no CREATE on the database (which
-- CREATE SCHEMA IF NOT EXISTS checks first).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'analytics') THEN
    CREATE SCHEMA analytics;
  END IF;
END;
$$;

-- customers on each plan and their monthly recurring revenue (customers * price).
CREATE TABLE IF NOT EXISTS analytics.plan_rollup (
    plan_id bigint PRIMARY KEY,
    customers bigint NOT NULL,
    mrr numeric(14,2) NOT NULL,
    updated_at timestamptz NOT NULL
);

-- resource consumption per UTC day: sum of decrements of remaining_resources
-- (plan resets are not consumption).
CREATE TABLE IF NOT EXISTS analytics.usage_daily (
    day date NOT NULL,
    customer_uuid uuid NOT NULL,
    resource text NOT NULL,
    consumed numeric NOT NULL,
    PRIMARY KEY (day, customer_uuid, resource)
);
-- Every resource update rewrites its customer's row of the day: leave room on
-- each page so that those updates are HOT (no new primary key entry per update).
ALTER TABLE analytics.usage_daily SET (fillfactor = 70);

-- plan changes per UTC day and (from, to) pair; "no plan" is written as 0.
CREATE TABLE IF NOT EXISTS analytics.plan_changes_daily (
    day date NOT NULL,
    from_plan_id bigint NOT NULL,
    to_plan_id bigint NOT NULL,
    changes bigint NOT NULL,
    PRIMARY KEY (day, from_plan_id, to_plan_id)
);
