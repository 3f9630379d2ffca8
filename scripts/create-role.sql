-- The least-privilege PostgreSQL role customer-cdc runs as (`run`, `check`,
-- `snapshot`, `rebuild-rollups`, `slot ...`). Not part of schema/: `migrate`
-- does not create roles. Run it as a SUPERUSER, in the application database,
-- after `customer-cdc migrate` (and again after a migration adds tables):
--
--   psql -X -v ON_ERROR_STOP=1 -d app -v role=customer_cdc -v password="$CDC_PG_PASSWORD" \
--        -f scripts/create-role.sql
--
-- Variables:
--   role      the role's name (default customer_cdc)
--   password  optional; a clear-text password or, better, a SCRAM verifier
--             ('SCRAM-SHA-256$4096:...', stored as given) so the clear text never
--             reaches the server. Omit it for certificate or peer authentication.
--             Re-running with another password changes it.
--
-- Idempotent: creates the role if it is missing, otherwise (re)applies its
-- attributes, and grants what is missing. Everything in one transaction.
--
-- Why a superuser: in PostgreSQL 15 only a superuser may give a role
-- REPLICATION (the daemon streams from a logical replication slot) or
-- BYPASSRLS (the seed enables row level security on public.customer and
-- public.plans; `snapshot`, `rebuild-rollups` and the mrr upsert read them with
-- SELECT, and without BYPASSRLS or a policy they would silently see no rows).
--
-- What the role gets, nothing more:
--   LOGIN REPLICATION BYPASSRLS, NOSUPERUSER NOCREATEDB NOCREATEROLE
--   CONNECT on this database; USAGE on schemas public, customer_cdc, analytics
--   public.customer, public.plans          SELECT                (never writes them)
--   public.audit_logs                      SELECT, INSERT        (append only: no UPDATE/DELETE)
--     + USAGE on its identity sequence
--   customer_cdc.checkpoint, plan_price    SELECT, INSERT, UPDATE, DELETE
--   customer_cdc.online_snapshot           SELECT, INSERT, UPDATE (+ its sequence)
--   pg_logical_emit_message(bool,text,text) EXECUTE (online snapshot watermarks)
--   analytics.* (every table)              SELECT, INSERT, UPDATE, DELETE (rebuild-rollups deletes)

\set ON_ERROR_STOP on
\if :{?role}
\else
  \set role customer_cdc
\endif

BEGIN;

-- psql variables are not expanded inside the DO bodies: hand them over as
-- transaction-local settings.
SELECT set_config('customer_cdc_setup.role', :'role', true) \g /dev/null
\if :{?password}
  SELECT set_config('customer_cdc_setup.password', :'password', true) \g /dev/null
\else
  SELECT set_config('customer_cdc_setup.password', '', true) \g /dev/null
\endif

DO $$
DECLARE
  r text := current_setting('customer_cdc_setup.role');
  pw text := current_setting('customer_cdc_setup.password');
BEGIN
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'scripts/create-role.sql must be run by a superuser (current user: %)', current_user
      USING HINT = 'only a superuser may grant REPLICATION and BYPASSRLS in PostgreSQL 15';
  END IF;
  IF r = '' THEN
    RAISE EXCEPTION 'the role name (psql variable role) is empty';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
    EXECUTE format('CREATE ROLE %I', r);
  ELSIF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = r) THEN
    RAISE EXCEPTION 'role % exists and is a superuser: refusing to turn it into the least-privilege role', r
      USING HINT = 'pick another name (psql -v role=...) or ALTER ROLE ... NOSUPERUSER first';
  END IF;
  EXECUTE format('ALTER ROLE %I LOGIN REPLICATION BYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
  IF pw <> '' THEN
    EXECUTE format('ALTER ROLE %I PASSWORD %L', r, pw);
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
END;
$$;

-- The settings held the password: clear them before anything else runs.
SELECT set_config('customer_cdc_setup.password', '', true) \g /dev/null

GRANT USAGE ON SCHEMA public, customer_cdc, analytics TO :"role";

GRANT SELECT ON public.customer, public.plans TO :"role";
GRANT SELECT, INSERT ON public.audit_logs TO :"role";
SELECT format('GRANT USAGE ON SEQUENCE %s TO %I', pg_get_serial_sequence('public.audit_logs', 'id'), :'role')
WHERE pg_get_serial_sequence('public.audit_logs', 'id') IS NOT NULL \gexec

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_cdc.checkpoint, customer_cdc.plan_price TO :"role";
GRANT SELECT, INSERT ON customer_cdc.dead_letter TO :"role";
GRANT USAGE ON SEQUENCE customer_cdc.dead_letter_id_seq TO :"role";
-- Online snapshots: the requests, and the watermarks written into the WAL.
GRANT SELECT, INSERT, UPDATE ON customer_cdc.online_snapshot TO :"role";
GRANT USAGE ON SEQUENCE customer_cdc.online_snapshot_id_seq TO :"role";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA analytics TO :"role";

COMMIT;
