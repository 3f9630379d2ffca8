#include "cdc/sinks/postgres/rollups/plan_rollup.hpp"

#include <vector>

#include "cdc/core/pg.hpp"
#include "cdc/core/pg_time.hpp"
#include "cdc/sinks/change_columns.hpp"
#include "rollup_columns.hpp"

namespace cdc::sinks {

using decode::Action;
using decode::Change;
using decode::Column;
namespace customer = domain::customer;
namespace plans = domain::plans;

void PlanRollup::aggregate(const TxnInfo& txn, const Change& change) {
  if (is_table(change, domain::kCustomer)) {
    add_customer(txn, change);
    delta_.last_commit_us = txn.commit_time_us;
  } else if (is_table(change, domain::kPlans)) {
    if (after_snapshot(txn)) add_plan(change);
    delta_.last_commit_us = txn.commit_time_us;
  }
}

void PlanRollup::add_customer(const TxnInfo& txn, const Change& change) {
  const bool count_state = after_snapshot(txn);
  switch (change.action) {
    case Action::Insert: {
      const auto plan = bigint_of(require_rollup_column(change, Tuple::New, customer::kPlanId), change);
      if (plan && count_state) ++delta_.customers[*plan];
      return;
    }
    case Action::Delete: {
      const auto plan = bigint_of(require_rollup_column(change, Tuple::Old, customer::kPlanId), change);
      if (plan && count_state) --delta_.customers[*plan];
      return;
    }
    case Action::Truncate:
      if (!count_state) return;
      delta_.customers_truncated = true;
      delta_.customers.clear();
      return;
    case Action::Update: {
      const auto old_plan = bigint_of(require_rollup_column(change, Tuple::Old, customer::kPlanId), change);
      const auto new_plan = bigint_of(require_rollup_column(change, Tuple::New, customer::kPlanId), change);
      if (old_plan == new_plan || !count_state) return;
      if (old_plan) --delta_.customers[*old_plan];
      if (new_plan) ++delta_.customers[*new_plan];
      return;
    }
    default:
      return;
  }
}

void PlanRollup::add_plan(const Change& change) {
  switch (change.action) {
    case Action::Insert:
    case Action::Update: {
      const auto id = bigint_of(require_rollup_column(change, Tuple::New, plans::kId), change);
      const Column& price = require_rollup_column(change, Tuple::New, plans::kPrice);
      if (change.action == Action::Update) {
        // A changed primary key moves the plan: the old id no longer has a price.
        const auto old_id = bigint_of(require_rollup_column(change, Tuple::Old, plans::kId), change);
        if (old_id && old_id != id) delta_.prices[*old_id] = std::nullopt;
      }
      if (id) delta_.prices[*id] = price.is_null() ? std::nullopt : std::optional<std::string>(price.text);
      return;
    }
    case Action::Delete: {
      if (auto id = bigint_of(require_rollup_column(change, Tuple::Old, plans::kId), change)) {
        delta_.prices[*id] = std::nullopt;
      }
      return;
    }
    case Action::Truncate:
      delta_.plans_truncated = true;
      delta_.prices.clear();
      return;
    default:
      return;
  }
}

bool PlanRollup::has_pending() const {
  return delta_.customers_truncated || delta_.plans_truncated || !delta_.customers.empty() || !delta_.prices.empty();
}

void PlanRollup::write(PgBatch& batch) {
  if (!has_pending()) return;
  const std::string updated_at = format_timestamp_utc(delta_.last_commit_us);

  if (delta_.plans_truncated) batch.defer("DELETE FROM customer_cdc.plan_price");
  if (delta_.customers_truncated) {
    batch.defer_params("UPDATE analytics.plan_rollup SET customers = 0, mrr = 0, updated_at = $1", {updated_at});
  }
  std::vector<std::string> touched;
  if (!delta_.prices.empty()) {
    std::vector<std::string> set_ids, set_prices, deleted_ids;
    for (const auto& [id, price] : delta_.prices) {
      touched.push_back(std::to_string(id));
      if (price) {
        set_ids.push_back(std::to_string(id));
        set_prices.push_back(*price);
      } else {
        deleted_ids.push_back(std::to_string(id));
      }
    }
    if (!deleted_ids.empty()) {
      batch.defer_params("DELETE FROM customer_cdc.plan_price WHERE plan_id = ANY($1::bigint[])",
                         {pg::array_literal(deleted_ids)});
    }
    if (!set_ids.empty()) {
      batch.defer_params(
          "INSERT INTO customer_cdc.plan_price (plan_id, price) "
          "SELECT * FROM unnest($1::bigint[], $2::numeric[]) "
          "ON CONFLICT (plan_id) DO UPDATE SET price = excluded.price",
          {pg::array_literal(set_ids), pg::array_literal(set_prices)});
    }
  }
  if (!delta_.customers.empty() || !delta_.prices.empty()) {
    std::vector<std::string> ids, deltas;
    for (const auto& [id, change] : delta_.customers) {
      ids.push_back(std::to_string(id));
      deltas.push_back(std::to_string(change));
      touched.push_back(std::to_string(id));
    }
    for (const auto& [id, price] : delta_.prices) {
      if (!delta_.customers.contains(id)) {
        ids.push_back(std::to_string(id));
        deltas.push_back("0");
      }
    }
    batch.defer_params(
        "INSERT INTO analytics.plan_rollup AS r (plan_id, customers, mrr, updated_at) "
        "SELECT d.plan_id, d.delta, 0, $3 FROM unnest($1::bigint[], $2::bigint[]) AS d(plan_id, delta) "
        "ON CONFLICT (plan_id) DO UPDATE SET customers = r.customers + excluded.customers, "
        "updated_at = excluded.updated_at",
        {pg::array_literal(ids), pg::array_literal(deltas), updated_at});
    // MRR follows the price known at this point of the stream; a plan the
    // stream has not priced yet falls back to its current row.
    batch.defer_params(
        "UPDATE analytics.plan_rollup r SET mrr = r.customers * coalesce("
        "(SELECT price FROM customer_cdc.plan_price p WHERE p.plan_id = r.plan_id), "
        "(SELECT price FROM public.plans p WHERE p.id = r.plan_id), 0) "
        "WHERE r.plan_id = ANY($1::bigint[])",
        {pg::array_literal(touched)});
  }
  delta_ = Delta{};
}

std::string_view PlanRollup::rebuild_sql() const {
  return R"sql(
DELETE FROM customer_cdc.plan_price;
INSERT INTO customer_cdc.plan_price (plan_id, price) SELECT id, price FROM public.plans;

DELETE FROM analytics.plan_rollup;
INSERT INTO analytics.plan_rollup (plan_id, customers, mrr, updated_at)
SELECT p.id, count(c.uuid), count(c.uuid) * p.price, now()
FROM public.plans p LEFT JOIN public.customer c ON c.plan_id = p.id
GROUP BY p.id, p.price;
)sql";
}

}  // namespace cdc::sinks
