#include "support/rollup_check.hpp"

#include <sstream>
#include <string>

namespace cdc::testing::rollup_check {

std::string format_rows(const Rows& rows, std::size_t max) {
  std::ostringstream out;
  for (std::size_t i = 0; i < rows.size() && i < max; ++i) {
    out << "  ";
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      if (c > 0) out << " | ";
      out << (rows[i][c] ? *rows[i][c] : std::string("NULL"));
    }
    out << "\n";
  }
  if (rows.size() > max) out << "  ... (" << rows.size() - max << " more)\n";
  return out.str();
}

/// Rows in one relation but not the other (multiset EXCEPT, both ways); the
/// first column says which side has the row.
std::string diff_sql(const std::string& expected_sql, const std::string& actual_sql) {
  return "WITH e AS (" + expected_sql + "), a AS (" + actual_sql +
         ") SELECT 'expected-only' AS side, x.* FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM a) x "
         "UNION ALL SELECT 'daemon-only', y.* FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM e) y "
         "ORDER BY 2, 3, 4, 1";
}

::testing::AssertionResult same_rows(PgCluster& pg, const std::string& what, const std::string& expected_sql,
                                     const std::string& actual_sql, std::int64_t* differing) {
  const Rows rows = pg.query(diff_sql(expected_sql, actual_sql));
  if (differing != nullptr) *differing = static_cast<std::int64_t>(rows.size());
  if (rows.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << rows.size() << " differing rows (side | key... | value):\n"
                                       << format_rows(rows);
}

std::int64_t count_of(PgCluster& pg, const std::string& sql) {
  const Value v = pg.scalar(sql);
  return v ? std::stoll(*v) : 0;
}

// ---------------------------------------------------------------------------
// Expectations, written here in SQL (not the daemon's rebuild).

/// plan_rollup recomputed from the source tables; rows that are 0 on all
/// values are left out (absent = 0).
const char* const kExpectedPlanRollup =
    "SELECT plan_id, customers, mrr FROM ("
    "  SELECT p.id AS plan_id, count(c.uuid)::bigint AS customers, (count(c.uuid) * p.price)::numeric AS mrr"
    "  FROM public.plans p LEFT JOIN public.customer c ON c.plan_id = p.id GROUP BY p.id, p.price) r "
    "WHERE customers <> 0 OR mrr <> 0";

const char* const kActualPlanRollup =
    "SELECT plan_id, customers, mrr::numeric FROM analytics.plan_rollup WHERE customers <> 0 OR mrr <> 0";

/// plan_changes_daily from the audit history.
const char* const kPlanChangesFromAudit =
    "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, coalesce((old_value ->> 'plan_id')::bigint, 0) AS f, "
    "coalesce((new_value ->> 'plan_id')::bigint, 0) AS t, count(*)::bigint AS n "
    "FROM public.audit_logs WHERE action = 'plan_change' GROUP BY 1, 2, 3";

/// plan_changes_daily from the test-only trigger.
const char* const kPlanChangesFromShadow =
    "SELECT day, from_plan AS f, to_plan AS t, count(*)::bigint AS n FROM rollup_test.plan_changes GROUP BY 1, 2, 3";

const char* const kActualPlanChanges =
    "SELECT day, from_plan_id AS f, to_plan_id AS t, changes AS n FROM analytics.plan_changes_daily WHERE changes <> 0";

const char* const kUsageFromShadow =
    "SELECT day, customer_uuid, resource, sum(consumed) AS consumed FROM rollup_test.usage "
    "GROUP BY 1, 2, 3 HAVING sum(consumed) <> 0";

const char* const kActualUsage =
    "SELECT day, customer_uuid, resource, consumed FROM analytics.usage_daily WHERE consumed <> 0";

/// The same sums without the day (used only if the workload crossed a UTC
/// midnight: the trigger's day is the transaction start's, the daemon's the
/// commit's).
std::string without_day(const std::string& sql, const std::string& keys, const std::string& value) {
  return "SELECT " + keys + ", sum(" + value + ") AS v FROM (" + sql + ") s GROUP BY " + keys;
}

/// Test-only triggers on public.customer: an independent record of plan
/// changes and resource consumption, kept by the server in the source
/// transaction (not replicated: rollup_test is not a captured schema).
const char* const kRollupShadowSql = R"sql(
CREATE SCHEMA rollup_test;
CREATE TABLE rollup_test.plan_changes (day date NOT NULL, from_plan bigint NOT NULL, to_plan bigint NOT NULL);
CREATE TABLE rollup_test.usage (day date NOT NULL, customer_uuid uuid NOT NULL, resource text NOT NULL,
                                consumed numeric NOT NULL, PRIMARY KEY (day, customer_uuid, resource));

CREATE FUNCTION rollup_test.record_plan_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rollup_test.plan_changes
  VALUES ((now() AT TIME ZONE 'UTC')::date, coalesce(OLD.plan_id, 0), coalesce(NEW.plan_id, 0));
  RETURN NULL;
END;
$$;
CREATE TRIGGER zz_test_plan_change AFTER UPDATE OF plan_id ON public.customer
FOR EACH ROW WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id)
EXECUTE FUNCTION rollup_test.record_plan_change();

CREATE FUNCTION rollup_test.record_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF jsonb_typeof(OLD.remaining_resources) = 'object' AND jsonb_typeof(NEW.remaining_resources) = 'object' THEN
    INSERT INTO rollup_test.usage AS u (day, customer_uuid, resource, consumed)
    SELECT (now() AT TIME ZONE 'UTC')::date, NEW.uuid, o.key,
           greatest(0, (o.value #>> '{}')::numeric - (n.value #>> '{}')::numeric)
    FROM jsonb_each(OLD.remaining_resources) o
    JOIN jsonb_each(NEW.remaining_resources) n ON n.key = o.key
    WHERE jsonb_typeof(o.value) = 'number' AND jsonb_typeof(n.value) = 'number'
    ON CONFLICT (day, customer_uuid, resource) DO UPDATE SET consumed = u.consumed + excluded.consumed;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER zz_test_usage AFTER UPDATE ON public.customer
FOR EACH ROW WHEN (OLD.plan_id IS NOT DISTINCT FROM NEW.plan_id
                   AND OLD.remaining_resources IS DISTINCT FROM NEW.remaining_resources)
EXECUTE FUNCTION rollup_test.record_usage();
)sql";

}  // namespace cdc::testing::rollup_check
