#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace cdc::domain {

/// A table by schema and name.
struct TableName {
  std::string_view schema;
  std::string_view name;
  std::string_view qualified;  ///< "schema.name"
};

/// The captured tables whose rows the features map (customer-cdc streams the
/// tables of `postgres.tables`; these two carry the product's meaning).
inline constexpr TableName kCustomer{"public", "customer", "public.customer"};
inline constexpr TableName kPlans{"public", "plans", "public.plans"};

/// Columns of public.customer that the features read.
namespace customer {
inline constexpr std::string_view kUuid = "uuid";
inline constexpr std::string_view kPlanId = "plan_id";
inline constexpr std::string_view kRemainingResources = "remaining_resources";
}  // namespace customer

/// Columns of public.plans that the features read.
namespace plans {
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kPrice = "price";
}  // namespace plans

/// A captured table and the columns features read from its changes (in old
/// tuples too: REPLICA IDENTITY FULL).
struct CapturedTable {
  TableName table;
  std::vector<std::string_view> required_columns;
};
const std::vector<CapturedTable>& captured_tables();

/// What customer-cdc does with the captured changes. Kafka writes topics, not
/// tables: beyond reading the captured tables it needs none, but beside the
/// Postgres sink it records its delivered position in that sink's checkpoint
/// (KafkaPosition).
enum class Feature { Audit, Checkpoint, DeadLetter, PlanRollup, UsageDaily, PlanChangesDaily, Kafka, KafkaPosition };

/// A table a feature reads or writes, with the table privileges that takes.
struct TableUse {
  std::string_view table;
  /// Privileges the feature needs; empty for a table it only reads inside
  /// statements on its own tables (it must exist).
  std::vector<std::string_view> privileges;
  bool from_migrate = true;  ///< created by `customer-cdc migrate` (schema/*.sql)
  /// Columns a later migration added that the feature writes (an old table
  /// without them needs `customer-cdc migrate` again).
  std::vector<std::string_view> migrated_columns = {};
};

/// The tables `feature` uses beyond the captured tables (which every feature
/// reads: SELECT, for snapshots and rebuilds).
const std::vector<TableUse>& table_uses(Feature feature);

/// The rollup features, in the order their tables are written.
const std::vector<Feature>& rollup_features();

/// The features of a configuration.
struct EnabledFeatures {
  bool audit = false;
  bool rollups = false;
  bool dead_letter = false;
  bool kafka = false;
};
/// Enabled features in a fixed order: audit, checkpoint and dead letters
/// (with the Postgres sink), the rollups, Kafka (and its position, with the
/// Postgres sink).
std::vector<Feature> features_of(const EnabledFeatures& enabled);

/// A table that must exist (what `check`'s schema step lists).
struct RequiredTable {
  std::string name;
  bool from_migrate;
};
/// The captured tables, then every table the enabled features use, each once
/// (a table only read by a feature comes last, when not already listed).
std::vector<RequiredTable> required_tables(const std::vector<std::string>& captured, const EnabledFeatures& enabled);

/// Table privileges a role needs (what `check`'s privileges step lists).
struct RequiredPrivileges {
  std::string table;
  std::vector<std::string> privileges;
};
/// SELECT on each captured table, then each enabled feature's privileges.
std::vector<RequiredPrivileges> required_privileges(const std::vector<std::string>& captured,
                                                    const EnabledFeatures& enabled);

}  // namespace cdc::domain
