// Tests for include/cdc/domain/captured_schema.hpp: the tables each feature
// needs, in the order `check` lists them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cdc/domain/captured_schema.hpp"

namespace cdc::domain {
namespace {

const std::vector<std::string> kCaptured = {"public.customer", "public.plans"};

std::vector<std::pair<std::string, bool>> tables(const std::vector<std::string>& captured, EnabledFeatures enabled) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& table : required_tables(captured, enabled)) out.emplace_back(table.name, table.from_migrate);
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> privileges(const std::vector<std::string>& captured,
                                                                         EnabledFeatures enabled) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& need : required_privileges(captured, enabled)) out.emplace_back(need.table, need.privileges);
  return out;
}

TEST(CapturedSchema, EveryPostgresFeatureInCheckOrder) {
  const EnabledFeatures all{.audit = true, .rollups = true, .dead_letter = true, .kafka = true};
  const std::vector<std::pair<std::string, bool>> expected_tables = {
      {"public.customer", true},           {"public.plans", true},          {"public.audit_logs", true},
      {"customer_cdc.checkpoint", true},   {"customer_cdc.dead_letter", true}, {"customer_cdc.plan_price", true},
      {"analytics.plan_rollup", true},     {"analytics.usage_daily", true}, {"analytics.plan_changes_daily", true}};
  EXPECT_EQ(tables(kCaptured, all), expected_tables);
  using P = std::vector<std::string>;
  const std::vector<std::pair<std::string, P>> expected_privileges = {
      {"public.customer", P{"SELECT"}},
      {"public.plans", P{"SELECT"}},
      {"public.audit_logs", P{"INSERT"}},
      {"customer_cdc.checkpoint", P{"SELECT", "INSERT", "UPDATE"}},
      {"customer_cdc.dead_letter", P{"INSERT"}},
      {"customer_cdc.plan_price", P{"SELECT", "INSERT", "DELETE"}},
      {"analytics.plan_rollup", P{"SELECT", "INSERT", "UPDATE"}},
      {"analytics.usage_daily", P{"SELECT", "INSERT", "UPDATE"}},
      {"analytics.plan_changes_daily", P{"SELECT", "INSERT", "UPDATE"}}};
  EXPECT_EQ(privileges(kCaptured, all), expected_privileges);
}

TEST(CapturedSchema, RollupsNeedPublicPlansEvenWhenNotCaptured) {
  const auto needed = tables({"public.customer", "other.t"}, EnabledFeatures{.rollups = true});
  const std::vector<std::pair<std::string, bool>> expected = {
      {"public.customer", true},       {"other.t", false},
      {"customer_cdc.checkpoint", true}, {"customer_cdc.plan_price", true},
      {"analytics.plan_rollup", true}, {"analytics.usage_daily", true},
      {"analytics.plan_changes_daily", true}, {"public.plans", true}};
  EXPECT_EQ(needed, expected);
  // Only read inside the rollup statements: no privilege of its own is checked.
  for (const auto& [table, _] : privileges({"public.customer"}, EnabledFeatures{.rollups = true})) {
    EXPECT_NE(table, "public.plans");
  }
}

TEST(CapturedSchema, KafkaAloneNeedsOnlyTheCapturedTables) {
  const EnabledFeatures kafka{.kafka = true};
  EXPECT_EQ(tables(kCaptured, kafka).size(), 2u);
  EXPECT_EQ(privileges(kCaptured, kafka).size(), 2u);
  // Dead letters go to Kafka then: no dead-letter table.
  EXPECT_EQ(tables(kCaptured, EnabledFeatures{.dead_letter = true, .kafka = true}).size(), 2u);
}

TEST(CapturedSchema, AuditWritesTheSourcePositionColumns) {
  const TableUse& audit_logs = table_uses(Feature::Audit).at(0);
  EXPECT_EQ(audit_logs.table, "public.audit_logs");
  EXPECT_EQ(audit_logs.migrated_columns, (std::vector<std::string_view>{"source_lsn", "source_xid"}));
}

TEST(CapturedSchema, KafkaBesideThePostgresSinkWritesTheCheckpointsKafkaColumn) {
  const TableUse& checkpoint = table_uses(Feature::KafkaPosition).at(0);
  EXPECT_EQ(checkpoint.table, "customer_cdc.checkpoint");
  EXPECT_EQ(checkpoint.migrated_columns, (std::vector<std::string_view>{"kafka_lsn"}));
  auto has_position = [](EnabledFeatures enabled) {
    const std::vector<Feature> features = features_of(enabled);
    return std::find(features.begin(), features.end(), Feature::KafkaPosition) != features.end();
  };
  EXPECT_TRUE(has_position({.audit = true, .kafka = true}));
  EXPECT_TRUE(has_position({.rollups = true, .kafka = true}));
  EXPECT_FALSE(has_position({.kafka = true}));
  EXPECT_FALSE(has_position({.audit = true, .rollups = true}));
  // The checkpoint is listed once, with the Checkpoint feature's privileges.
  const auto needed = tables(kCaptured, {.audit = true, .kafka = true});
  EXPECT_EQ(std::count(needed.begin(), needed.end(), std::pair<std::string, bool>{"customer_cdc.checkpoint", true}), 1);
}

TEST(CapturedSchema, RequiredColumnsOfTheCapturedTables) {
  ASSERT_EQ(captured_tables().size(), 2u);
  EXPECT_EQ(captured_tables()[0].table.qualified, "public.customer");
  EXPECT_EQ(captured_tables()[0].required_columns,
            (std::vector<std::string_view>{"uuid", "plan_id", "remaining_resources"}));
  EXPECT_EQ(captured_tables()[1].required_columns, (std::vector<std::string_view>{"id", "price"}));
}

}  // namespace
}  // namespace cdc::domain
