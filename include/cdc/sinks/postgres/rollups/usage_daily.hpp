#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cdc/sinks/postgres/rollups/decimal.hpp"
#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// (UTC day, customer uuid, resource key)
using UsageKey = std::tuple<std::string, std::string, std::string>;

struct UsageKeyHash {
  std::size_t operator()(const UsageKey& key) const {
    const std::hash<std::string> hash;
    std::size_t h = hash(std::get<0>(key));
    h = h * 31 + hash(std::get<1>(key));
    return h * 31 + hash(std::get<2>(key));
  }
};

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
    /// Consumption to add. Hashed: a batch holds thousands of keys that share
    /// their day, so an ordered map compared the day and the uuid at every level.
    std::unordered_map<UsageKey, Decimal, UsageKeyHash> usage;
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
  /// Reused between changes for their buffers' capacity; holds nothing between them but the day.
  struct Scratch {
    std::string old_text, new_text;  ///< copies of the jsonb texts, parsed in place
    std::vector<std::pair<std::string_view, std::string_view>> before, after;  ///< numeric members, views into them
    std::string day;  ///< format_date_utc(day_of_us)
    std::int64_t day_of_us = 0;
  };

  Delta delta_;
  Scratch scratch_;
};

}  // namespace cdc::sinks
