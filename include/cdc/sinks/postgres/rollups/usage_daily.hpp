#pragma once
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "cdc/sinks/postgres/rollups/decimal.hpp"
#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// (UTC day, customer uuid, resource key)
using UsageKey = std::tuple<std::string, std::string, std::string>;

/// analytics.usage_daily: consumption per day, customer and resource. On a
/// resource update of public.customer (plan unchanged, remaining_resources
/// changed) each key numeric in both old and new adds max(0, old - new).
/// History: counted from the audit checkpoint on, snapshots do not reset it.
class UsageDaily : public Rollup {
 public:
  /// A resource update whose numbers exceed Decimal (jsonb numbers have any
  /// precision): old and new text, subtracted by Postgres in numeric.
  struct WideUsage {
    UsageKey key;
    std::string old_value;
    std::string new_value;
  };
  struct Delta {
    std::map<UsageKey, Decimal> usage;  ///< consumption to add
    std::vector<WideUsage> wide_usage;
  };

  domain::Feature feature() const override { return domain::Feature::UsageDaily; }
  void aggregate(const TxnInfo& txn, const decode::Change& change) override;
  std::optional<std::string> rejects(const decode::Change& change) const override {
    return rejects_on_scratch<UsageDaily>(change);
  }
  void write(PgBatch& batch) override;
  std::size_t pending_keys() const override { return delta_.usage.size() + delta_.wide_usage.size(); }
  bool has_pending() const override { return !delta_.usage.empty() || !delta_.wide_usage.empty(); }
  void discard() override { delta_ = Delta{}; }
  std::string_view rebuild_sql() const override;

  const Delta& delta() const { return delta_; }

 private:
  Delta delta_;
};

}  // namespace cdc::sinks
