#include "cdc/domain/captured_schema.hpp"

#include <algorithm>

namespace cdc::domain {

const std::vector<CapturedTable>& captured_tables() {
  static const std::vector<CapturedTable> tables = {
      {kCustomer, {customer::kUuid, customer::kPlanId, customer::kRemainingResources}},
      {kPlans, {plans::kId, plans::kPrice}},
  };
  return tables;
}

const std::vector<TableUse>& table_uses(Feature feature) {
  static const std::vector<TableUse> audit = {{"public.audit_logs", {"INSERT"}, true, {"source_lsn", "source_xid"}}};
  static const std::vector<TableUse> checkpoint = {{"customer_cdc.checkpoint", {"SELECT", "INSERT", "UPDATE"}}};
  static const std::vector<TableUse> dead_letter = {{"customer_cdc.dead_letter", {"INSERT"}}};
  // MRR reads public.plans for plans the stream has not priced yet.
  static const std::vector<TableUse> plan_rollup = {{"customer_cdc.plan_price", {"SELECT", "INSERT", "DELETE"}},
                                                    {"analytics.plan_rollup", {"SELECT", "INSERT", "UPDATE"}},
                                                    {kPlans.qualified, {}}};
  static const std::vector<TableUse> usage_daily = {{"analytics.usage_daily", {"SELECT", "INSERT", "UPDATE"}}};
  static const std::vector<TableUse> plan_changes_daily = {
      {"analytics.plan_changes_daily", {"SELECT", "INSERT", "UPDATE"}}};
  // Written with the checkpoint, whose privileges cover it.
  static const std::vector<TableUse> kafka_position = {{"customer_cdc.checkpoint", {}, true, {"kafka_lsn"}}};
  static const std::vector<TableUse> none;
  switch (feature) {
    case Feature::Audit: return audit;
    case Feature::Checkpoint: return checkpoint;
    case Feature::DeadLetter: return dead_letter;
    case Feature::PlanRollup: return plan_rollup;
    case Feature::UsageDaily: return usage_daily;
    case Feature::PlanChangesDaily: return plan_changes_daily;
    case Feature::Kafka: return none;
    case Feature::KafkaPosition: return kafka_position;
  }
  return none;
}

const std::vector<Feature>& rollup_features() {
  static const std::vector<Feature> rollups = {Feature::PlanRollup, Feature::UsageDaily, Feature::PlanChangesDaily};
  return rollups;
}

std::vector<Feature> features_of(const EnabledFeatures& enabled) {
  std::vector<Feature> out;
  if (enabled.audit) out.push_back(Feature::Audit);
  // Audit entries and rollups are written by the Postgres sink, with its checkpoint.
  if (enabled.audit || enabled.rollups) {
    out.push_back(Feature::Checkpoint);
    if (enabled.dead_letter) out.push_back(Feature::DeadLetter);
  }
  if (enabled.rollups) out.insert(out.end(), rollup_features().begin(), rollup_features().end());
  if (enabled.kafka) out.push_back(Feature::Kafka);
  if (enabled.kafka && (enabled.audit || enabled.rollups)) out.push_back(Feature::KafkaPosition);
  return out;
}

std::vector<RequiredTable> required_tables(const std::vector<std::string>& captured, const EnabledFeatures& enabled) {
  std::vector<RequiredTable> out;
  for (const auto& table : captured) {
    out.push_back({table, table == kCustomer.qualified || table == kPlans.qualified});
  }
  std::vector<const TableUse*> read_only;
  for (const Feature feature : features_of(enabled)) {
    for (const TableUse& use : table_uses(feature)) {
      if (use.privileges.empty()) {
        read_only.push_back(&use);
      } else {
        out.push_back({std::string(use.table), use.from_migrate});
      }
    }
  }
  for (const TableUse* use : read_only) {
    const bool listed = std::any_of(out.begin(), out.end(), [&](const RequiredTable& t) { return t.name == use->table; });
    if (!listed) out.push_back({std::string(use->table), use->from_migrate});
  }
  return out;
}

std::vector<RequiredPrivileges> required_privileges(const std::vector<std::string>& captured,
                                                    const EnabledFeatures& enabled) {
  std::vector<RequiredPrivileges> out;
  for (const auto& table : captured) out.push_back({table, {"SELECT"}});
  for (const Feature feature : features_of(enabled)) {
    for (const TableUse& use : table_uses(feature)) {
      if (use.privileges.empty()) continue;
      out.push_back({std::string(use.table), {use.privileges.begin(), use.privileges.end()}});
    }
  }
  return out;
}

}  // namespace cdc::domain
