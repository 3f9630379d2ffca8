#include "cdc/sinks/postgres/rollups/plan_changes_daily.hpp"

#include <vector>

#include "cdc/core/pg.hpp"
#include "cdc/core/pg_time.hpp"
#include "rollup_columns.hpp"

namespace cdc::sinks {

void PlanChangesDaily::aggregate(const TxnInfo& txn, const decode::Change& change) {
  if (change.action != decode::Action::Update || !is_table(change, domain::kCustomer)) return;
  const auto old_plan = bigint_of(require_rollup_column(change, Tuple::Old, domain::customer::kPlanId), change);
  const auto new_plan = bigint_of(require_rollup_column(change, Tuple::New, domain::customer::kPlanId), change);
  if (old_plan == new_plan) return;
  ++delta_[{format_date_utc(txn.commit_time_us), old_plan.value_or(0), new_plan.value_or(0)}];
}

void PlanChangesDaily::write(PgBatch& batch) {
  if (delta_.empty()) return;
  std::vector<std::string> days, from, to, counts;
  for (const auto& [key, count] : delta_) {
    days.push_back(std::get<0>(key));
    from.push_back(std::to_string(std::get<1>(key)));
    to.push_back(std::to_string(std::get<2>(key)));
    counts.push_back(std::to_string(count));
  }
  batch.defer_params(
      "INSERT INTO analytics.plan_changes_daily AS c (day, from_plan_id, to_plan_id, changes) "
      "SELECT * FROM unnest($1::date[], $2::bigint[], $3::bigint[], $4::bigint[]) "
      "ON CONFLICT (day, from_plan_id, to_plan_id) DO UPDATE SET changes = c.changes + excluded.changes",
      {pg::array_literal(days), pg::array_literal(from), pg::array_literal(to), pg::array_literal(counts)});
  delta_.clear();
}

std::string_view PlanChangesDaily::rebuild_sql() const {
  return R"sql(
DELETE FROM analytics.plan_changes_daily;
INSERT INTO analytics.plan_changes_daily (day, from_plan_id, to_plan_id, changes)
SELECT (a.created_at AT TIME ZONE 'UTC')::date,
       coalesce((a.old_value ->> 'plan_id')::bigint, 0), coalesce((a.new_value ->> 'plan_id')::bigint, 0), count(*)
FROM public.audit_logs a
WHERE a.action = 'plan_change'
GROUP BY 1, 2, 3;
)sql";
}

}  // namespace cdc::sinks
