#include "cdc/sinks/postgres/rollups/registry.hpp"

#include "cdc/sinks/postgres/rollups/plan_changes_daily.hpp"
#include "cdc/sinks/postgres/rollups/plan_rollup.hpp"
#include "cdc/sinks/postgres/rollups/usage_daily.hpp"

namespace cdc::sinks {

std::vector<std::unique_ptr<Rollup>> make_rollups() {
  std::vector<std::unique_ptr<Rollup>> rollups;
  rollups.push_back(std::make_unique<PlanRollup>());
  rollups.push_back(std::make_unique<UsageDaily>());
  rollups.push_back(std::make_unique<PlanChangesDaily>());
  return rollups;
}

}  // namespace cdc::sinks
