#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// (UTC day, from plan id, to plan id); no plan is 0.
using PlanChangeKey = std::tuple<std::string, std::int64_t, std::int64_t>;

/// analytics.plan_changes_daily: one plan change per update of
/// public.customer whose plan_id changed, null as 0. History: counted from the
/// audit checkpoint on, snapshots do not reset it.
class PlanChangesDaily : public Rollup {
 public:
  using Delta = std::map<PlanChangeKey, std::int64_t>;  ///< plan changes to add

  domain::Feature feature() const override { return domain::Feature::PlanChangesDaily; }
  void aggregate(const TxnInfo& txn, const decode::Change& change) override;
  std::optional<std::string> rejects(const decode::Change& change) const override {
    return rejects_on_scratch<PlanChangesDaily>(change);
  }
  void write(PgBatch& batch) override;
  std::size_t pending_keys() const override { return delta_.size(); }
  bool has_pending() const override { return !delta_.empty(); }
  void discard() override { delta_.clear(); }
  std::string_view rebuild_sql() const override;

  const Delta& delta() const { return delta_; }

 private:
  Delta delta_;
};

}  // namespace cdc::sinks
