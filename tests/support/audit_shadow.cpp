#include "support/audit_shadow.hpp"

#include <sstream>
#include <string>

namespace cdc::testing {
namespace {

std::string show(const Value& v) { return v ? "'" + *v + "'" : std::string("NULL"); }

}  // namespace

/// The reference: the seed trigger's logic, verbatim, into test_shadow.audit_logs.
const char* const kAuditShadowSql = R"sql(
CREATE SCHEMA test_shadow;
CREATE TABLE test_shadow.audit_logs (
    id bigserial PRIMARY KEY,
    customer_uuid uuid,
    action text,
    old_value jsonb,
    new_value jsonb,
    xid bigint
);

-- Copy of the seed's public.log_customer_changes (schema/001_seed.sql): same
-- logic; only the target table differs, and it records txid_current().
CREATE FUNCTION test_shadow.log_customer_changes()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  IF (OLD.plan_id IS DISTINCT FROM NEW.plan_id) OR
     (OLD.remaining_resources IS DISTINCT FROM NEW.remaining_resources) THEN
    INSERT INTO test_shadow.audit_logs (customer_uuid, action, old_value, new_value, xid)
    VALUES (
      NEW.uuid,
      CASE
        WHEN OLD.plan_id IS DISTINCT FROM NEW.plan_id THEN 'plan_change'
        ELSE 'resource_update'
      END,
      jsonb_build_object(
        'plan_id', OLD.plan_id,
        'remaining_resources', OLD.remaining_resources
      ),
      jsonb_build_object(
        'plan_id', NEW.plan_id,
        'remaining_resources', NEW.remaining_resources
      ),
      txid_current()
    );
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER test_shadow_on_customer_changes
AFTER UPDATE OF plan_id, remaining_resources ON public.customer
FOR EACH ROW
EXECUTE FUNCTION test_shadow.log_customer_changes();

CREATE FUNCTION test_shadow.log_customer_created()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO test_shadow.audit_logs (customer_uuid, action, old_value, new_value, xid)
  VALUES (NEW.uuid, 'customer_created', NULL,
          jsonb_build_object('plan_id', NEW.plan_id, 'remaining_resources', NEW.remaining_resources),
          txid_current());
  RETURN NEW;
END;
$$;

CREATE TRIGGER test_shadow_on_customer_created
AFTER INSERT ON public.customer
FOR EACH ROW
EXECUTE FUNCTION test_shadow.log_customer_created();

CREATE FUNCTION test_shadow.log_customer_deleted()
RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO test_shadow.audit_logs (customer_uuid, action, old_value, new_value, xid)
  VALUES (OLD.uuid, 'customer_deleted',
          jsonb_build_object('plan_id', OLD.plan_id, 'remaining_resources', OLD.remaining_resources),
          NULL, txid_current());
  RETURN OLD;
END;
$$;

CREATE TRIGGER test_shadow_on_customer_deleted
AFTER DELETE ON public.customer
FOR EACH ROW
EXECUTE FUNCTION test_shadow.log_customer_deleted();

-- A table the daemon does not capture.
CREATE TABLE public.unrelated_things (id bigserial PRIMARY KEY, note text, payload jsonb);
)sql";

/// Row-by-row comparison of public.audit_logs (ORDER BY id) with the shadow
/// (ORDER BY id), in SQL.
AuditShadowComparison compare_audit_with_shadow(PgCluster& pg) {
  AuditShadowComparison c;
  c.ours = std::stoll(*pg.scalar("SELECT count(*) FROM public.audit_logs"));
  c.shadow = std::stoll(*pg.scalar("SELECT count(*) FROM test_shadow.audit_logs"));
  c.null_lsn = std::stoll(*pg.scalar("SELECT count(*) FROM public.audit_logs WHERE source_lsn IS NULL"));
  c.distinct_lsn = std::stoll(*pg.scalar("SELECT count(DISTINCT source_lsn) FROM public.audit_logs"));
  const Rows rows = pg.query(R"sql(
WITH o AS (
  SELECT row_number() OVER (ORDER BY id) AS n, id, customer_uuid, action, old_value, new_value,
         source_xid, created_at, source_lsn
  FROM public.audit_logs
), s AS (
  SELECT row_number() OVER (ORDER BY id) AS n, id, customer_uuid, action, old_value, new_value, xid,
         pg_xact_commit_timestamp(xid::text::xid) AS commit_ts
  FROM test_shadow.audit_logs
)
SELECT count(*) OVER ()::text,
       coalesce(o.n, s.n)::text,
       o.id::text, o.customer_uuid::text, o.action, o.old_value::text, o.new_value::text,
       o.source_xid::text, o.created_at::text, o.source_lsn::text,
       s.id::text, s.customer_uuid::text, s.action, s.old_value::text, s.new_value::text,
       s.xid::text, s.commit_ts::text
FROM o FULL JOIN s ON o.n = s.n
WHERE o.n IS NULL OR s.n IS NULL
   OR o.customer_uuid IS DISTINCT FROM s.customer_uuid
   OR o.action IS DISTINCT FROM s.action
   OR o.old_value IS DISTINCT FROM s.old_value
   OR o.new_value IS DISTINCT FROM s.new_value
   OR o.source_xid IS DISTINCT FROM s.xid
   OR s.commit_ts IS NULL
   OR o.created_at IS DISTINCT FROM s.commit_ts
ORDER BY coalesce(o.n, s.n)
LIMIT 10
)sql");
  if (!rows.empty()) c.differences = std::stoll(*rows[0][0]);
  std::ostringstream out;
  for (const Row& r : rows) {
    out << "row #" << *r[1] << ":\n"
        << "  ours:   id=" << show(r[2]) << " uuid=" << show(r[3]) << " action=" << show(r[4])
        << " old=" << show(r[5]) << " new=" << show(r[6]) << " xid=" << show(r[7]) << " created_at=" << show(r[8])
        << " lsn=" << show(r[9]) << "\n"
        << "  shadow: id=" << show(r[10]) << " uuid=" << show(r[11]) << " action=" << show(r[12])
        << " old=" << show(r[13]) << " new=" << show(r[14]) << " xid=" << show(r[15])
        << " commit_ts=" << show(r[16]) << "\n";
  }
  c.first_differences = out.str();
  // The same rows as multisets (order ignored): rows the shadow has and ours
  // lacks (lost), and rows ours has beyond the shadow (duplicated or spurious).
  const char* kOurs =
      "SELECT customer_uuid, action, old_value, new_value, source_xid AS xid FROM public.audit_logs";
  const char* kShadow = "SELECT customer_uuid, action, old_value, new_value, xid FROM test_shadow.audit_logs";
  c.missing = std::stoll(*pg.scalar(std::string("SELECT count(*) FROM (") + kShadow + " EXCEPT ALL " + kOurs + ") x"));
  c.extra = std::stoll(*pg.scalar(std::string("SELECT count(*) FROM (") + kOurs + " EXCEPT ALL " + kShadow + ") x"));
  return c;
}

}  // namespace cdc::testing
