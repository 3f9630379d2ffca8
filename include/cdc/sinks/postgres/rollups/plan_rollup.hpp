#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// analytics.plan_rollup (customers and MRR per plan) and the plan price
/// bookkeeping it needs (customer_cdc.plan_price: the price of each plan as
/// of the checkpoint, so MRR follows price changes in stream order).
///  - customers per plan: insert +1 on its plan, delete -1, plan change -1/+1;
///  - plan price: the last price written or deleted in commit order.
/// Both are table state: transactions up to the last snapshot are not counted.
class PlanRollup : public Rollup {
 public:
  struct Delta {
    bool customers_truncated = false;  ///< public.customer was truncated: counts restart at 0
    bool plans_truncated = false;      ///< public.plans was truncated: known prices are void
    std::map<std::int64_t, std::int64_t> customers;             ///< plan id -> change of its customer count
    std::map<std::int64_t, std::optional<std::string>> prices;  ///< plan id -> new price; nullopt: deleted
    std::int64_t last_commit_us = 0;  ///< commit time of the last change of a captured table seen
  };

  domain::Feature feature() const override { return domain::Feature::PlanRollup; }
  void aggregate(const TxnInfo& txn, const decode::Change& change) override;
  std::optional<std::string> rejects(const decode::Change& change) const override {
    return rejects_on_scratch<PlanRollup>(change);
  }
  void write(PgBatch& batch) override;
  std::size_t pending_keys() const override { return delta_.customers.size() + delta_.prices.size(); }
  bool has_pending() const override;
  void discard() override { delta_ = Delta{}; }
  void resume(Lsn snapshot_lsn) override { state_from_ = snapshot_lsn; }
  std::string_view rebuild_sql() const override;

  const Delta& delta() const { return delta_; }

 private:
  void add_customer(const TxnInfo& txn, const decode::Change& change);
  void add_plan(const decode::Change& change);

  Delta delta_;
  Lsn state_from_ = 0;  ///< end LSN of the last snapshot: table state up to it is already counted
  /// Whether the snapshot missed `txn` (it committed at or after the
  /// snapshot's consistent point). By the commit LSN, which every plugin
  /// gives at begin (pgoutput gives the end LSN only at commit).
  bool after_snapshot(const TxnInfo& txn) const { return txn.commit_lsn >= state_from_; }
};

}  // namespace cdc::sinks
