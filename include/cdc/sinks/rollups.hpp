#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cdc/sinks/decimal.hpp"
#include "cdc/sinks/pg_part.hpp"

namespace cdc::sinks {

/// (UTC day, customer uuid, resource key)
using UsageKey = std::tuple<std::string, std::string, std::string>;
/// (UTC day, from plan id, to plan id); no plan is 0.
using PlanChangeKey = std::tuple<std::string, std::int64_t, std::int64_t>;

/// What a run of changes does to the rollup tables, summed per key.
struct RollupDelta {
  bool customers_truncated = false;  ///< public.customer was truncated: counts restart at 0
  bool plans_truncated = false;      ///< public.plans was truncated: known prices are void
  std::map<std::int64_t, std::int64_t> customers;                ///< plan id -> change of its customer count
  std::map<std::int64_t, std::optional<std::string>> prices;     ///< plan id -> new price; nullopt: deleted
  std::map<UsageKey, Decimal> usage;                             ///< consumption to add
  /// A resource update whose numbers exceed Decimal (jsonb numbers have any
  /// precision): old and new text, subtracted by Postgres in numeric.
  struct WideUsage {
    UsageKey key;
    std::string old_value;
    std::string new_value;
  };
  std::vector<WideUsage> wide_usage;
  std::map<PlanChangeKey, std::int64_t> plan_changes;            ///< plan changes to add
  std::int64_t last_commit_us = 0;

  bool empty() const;
  std::size_t keys() const;
};

/// Turns row changes of public.customer and public.plans into a RollupDelta.
/// Pure: no database. Rules (README "Rollups"):
///  - customers per plan: insert +1 on its plan, delete -1, plan change -1/+1;
///  - usage: on a resource update (plan unchanged, remaining_resources changed)
///    each key numeric in both old and new adds max(0, old - new);
///  - plan changes: one per update whose plan_id changed, null as 0;
///  - plan price: the last price written or deleted in commit order.
class RollupAggregator {
 public:
  /// Customer counts and prices of transactions ending at or below `lsn` are
  /// already in plan_rollup (rebuilt by a snapshot at that point).
  void set_state_from(Lsn lsn) { state_from_ = lsn; }
  /// Throws MappingError when a needed column is missing or not a number.
  void add(const TxnInfo& txn, const decode::Change& change);
  const RollupDelta& delta() const { return delta_; }
  void clear() { delta_ = RollupDelta{}; }

 private:
  void add_customer(const TxnInfo& txn, const decode::Change& change);
  void add_plan(const decode::Change& change);
  RollupDelta delta_;
  Lsn state_from_ = 0;
};

/// Writes the rollup deltas into the Postgres sink's batch transaction.
class RollupPart : public PgPart {
 public:
  /// Deltas holding more keys than this are written into the open batch
  /// right away, so memory stays bounded inside a huge source transaction.
  explicit RollupPart(std::size_t max_keys = 20000) : max_keys_(max_keys) {}

  void change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) override;
  std::optional<std::string> rejects(const decode::Change& change) const override;
  void write(PgBatch& batch) override;
  bool has_pending() const override { return !aggregator_.delta().empty(); }
  void discard() override { aggregator_.clear(); }
  void resume(Lsn, Lsn snapshot_lsn) override { aggregator_.set_state_from(snapshot_lsn); }

 private:
  std::size_t max_keys_;
  RollupAggregator aggregator_;
};

/// `customer-cdc rebuild-rollups`: recomputes the three rollup tables (and the
/// plan price bookkeeping) from public.customer, public.plans and the audit
/// history, in the caller's transaction.
void rebuild_rollups(pg::Connection& conn);

/// Postgres array literal ({"a","b"}) of the given texts.
std::string array_literal(const std::vector<std::string>& values);

}  // namespace cdc::sinks
