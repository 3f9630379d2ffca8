// Rollups: what row changes do to the rollup tables, without a database.
#include <gtest/gtest.h>

#include <algorithm>

#include "cdc/core/pg.hpp"
#include "cdc/domain/captured_schema.hpp"
#include "cdc/sinks/mapping_error.hpp"
#include "cdc/sinks/postgres/rollups/decimal.hpp"
#include "cdc/sinks/postgres/rollups/plan_changes_daily.hpp"
#include "cdc/sinks/postgres/rollups/plan_rollup.hpp"
#include "cdc/sinks/postgres/rollups/registry.hpp"
#include "cdc/sinks/postgres/rollups/usage_daily.hpp"
#include "support/columns.hpp"

namespace cdc::sinks {
namespace {

using namespace cdc::testing;  // column builders, Action, Change, Column

constexpr std::int64_t kNoon = 1795608000LL * 1000000;  // 2026-11-25 12:00:00 UTC
const std::string kDay = "2026-11-25";
const std::string kUuid = "a16edb6b-9623-4f78-abc5-d6139c7684c0";

Column uuid() { return uuid_column(kUuid); }

Column plan_column(std::optional<int> plan) {
  return bigint_column("plan_id", plan ? std::optional<std::string>(std::to_string(*plan)) : std::nullopt);
}
Column remaining(const std::optional<std::string>& json) { return jsonb_column("remaining_resources", json); }

Change customer(Action action, std::vector<Column> columns, std::vector<Column> identity = {}) {
  return row_change(action, "customer", std::move(columns), std::move(identity), 0x1000);
}

Change update(std::optional<int> old_plan, std::optional<std::string> old_remaining, std::optional<int> new_plan,
              std::optional<std::string> new_remaining) {
  return customer(Action::Update, {uuid(), plan_column(new_plan), remaining(new_remaining)},
                  {uuid(), plan_column(old_plan), remaining(old_remaining)});
}

Change plan_change(Action action, int id, const std::optional<std::string>& price, int old_id = -1) {
  const Column price_column =
      price ? number_column("price", *price, "numeric(10,2)") : null_column("price", "numeric(10,2)");
  std::vector<Column> columns;
  std::vector<Column> identity;
  if (action != Action::Delete) columns = {number_column("id", std::to_string(id)), price_column};
  if (action != Action::Insert) identity = {number_column("id", std::to_string(old_id < 0 ? id : old_id)), price_column};
  return row_change(action, "plans", std::move(columns), std::move(identity));
}

TxnInfo txn(Lsn end = 0x2000) { return TxnInfo{7, end - 0x10, end, kNoon}; }

/// Every rollup, fed the same changes as RollupPart feeds them.
struct Rollups {
  PlanRollup plan;
  UsageDaily usage;
  PlanChangesDaily changes;

  void set_state_from(Lsn lsn) {
    for (Rollup* rollup : all()) rollup->resume(lsn);
  }
  void add(const TxnInfo& txn, const Change& change) {
    for (Rollup* rollup : all()) rollup->aggregate(txn, change);
  }
  std::vector<Rollup*> all() { return {&plan, &usage, &changes}; }
};

std::string usage(const UsageDaily::Delta& delta, const std::string& resource) {
  const auto it = delta.usage.find({kDay, kUuid, resource});
  return it == delta.usage.end() ? "absent" : it->second.to_string();
}

TEST(Rollups, CustomersFollowInsertsDeletesAndPlanSwitches) {
  Rollups aggregator;
  aggregator.add(txn(), customer(Action::Insert, {uuid(), plan_column(1), remaining(std::nullopt)}));
  aggregator.add(txn(), customer(Action::Insert, {uuid(), plan_column(std::nullopt), remaining(std::nullopt)}));
  aggregator.add(txn(), update(1, std::nullopt, 2, std::nullopt));
  aggregator.add(txn(), update(2, std::nullopt, std::nullopt, std::nullopt));
  aggregator.add(txn(), customer(Action::Delete, {}, {uuid(), plan_column(3), remaining(std::nullopt)}));
  const PlanRollup::Delta& delta = aggregator.plan.delta();
  const PlanChangesDaily::Delta& plan_changes = aggregator.changes.delta();
  EXPECT_EQ(delta.customers.at(1), 0);
  EXPECT_EQ(delta.customers.at(2), 0);
  EXPECT_EQ(delta.customers.at(3), -1);
  EXPECT_FALSE(delta.customers.contains(0));  // no plan is not a plan
  EXPECT_EQ(plan_changes.at({kDay, 1, 2}), 1);
  EXPECT_EQ(plan_changes.at({kDay, 2, 0}), 1);  // to no plan is written as 0
  EXPECT_EQ(plan_changes.size(), 2u);
  EXPECT_EQ(delta.last_commit_us, kNoon);
}

TEST(Rollups, UsageIsTheSumOfDecrementsPerKey) {
  Rollups aggregator;
  aggregator.add(txn(), update(1, R"({"api_calls": 1000, "storage_gb": 10})", 1, R"({"api_calls": 958, "storage_gb": 10})"));
  aggregator.add(txn(), update(1, R"({"api_calls": 958, "storage_gb": 10})", 1, R"({"api_calls": 900.5, "storage_gb": 12})"));
  const UsageDaily::Delta& delta = aggregator.usage.delta();
  EXPECT_EQ(usage(delta, "api_calls"), "99.5");
  EXPECT_EQ(usage(delta, "storage_gb"), "absent");  // an increase is not consumption
  EXPECT_TRUE(aggregator.changes.delta().empty());
}

TEST(Rollups, PlanResetIsNotConsumption) {
  Rollups aggregator;
  aggregator.add(txn(), update(1, R"({"api_calls": 3})", 2, R"({"api_calls": 1})"));
  EXPECT_TRUE(aggregator.usage.delta().usage.empty());
  EXPECT_EQ(aggregator.changes.delta().at({kDay, 1, 2}), 1);
}

TEST(Rollups, OnlyKeysNumericOnBothSidesCount) {
  Rollups aggregator;
  aggregator.add(txn(), update(1, R"({"api_calls": 10, "dropped": 5, "text": "7", "nested": {"x": 9}})", 1,
                               R"({"api_calls": 4, "added": 1, "text": "1", "nested": {"x": 1}})"));
  const UsageDaily::Delta& delta = aggregator.usage.delta();
  EXPECT_EQ(usage(delta, "api_calls"), "6");
  EXPECT_EQ(usage(delta, "dropped"), "absent");
  EXPECT_EQ(usage(delta, "added"), "absent");
  EXPECT_EQ(usage(delta, "text"), "absent");
  EXPECT_EQ(usage(delta, "nested"), "absent");
  EXPECT_EQ(usage(delta, "x"), "absent");
}

TEST(Rollups, NumbersBeyondTheExactDecimalGoToPostgres) {
  Rollups aggregator;
  aggregator.add(txn(), update(1, R"({"a": 0.33333333333333333333, "b": 100000000000000000000000})", 1,
                               R"({"a": 0.1, "b": 1})"));
  const UsageDaily::Delta& delta = aggregator.usage.delta();
  ASSERT_EQ(delta.wide_usage.size(), 2u);
  EXPECT_EQ(delta.wide_usage[0].old_value, "0.33333333333333333333");
  EXPECT_EQ(delta.wide_usage[1].old_value, "100000000000000000000000");
  EXPECT_TRUE(delta.usage.empty());
  EXPECT_TRUE(aggregator.usage.has_pending());
}

TEST(Rollups, PricesKeepTheLastWriteAndDeletes) {
  Rollups aggregator;
  aggregator.add(txn(), plan_change(Action::Insert, 4, "5.00"));
  aggregator.add(txn(), plan_change(Action::Update, 4, "7.50"));
  aggregator.add(txn(), plan_change(Action::Delete, 2, "19.99"));
  aggregator.add(txn(), plan_change(Action::Update, 9, "1.00", /*old_id=*/3));
  const PlanRollup::Delta& delta = aggregator.plan.delta();
  EXPECT_EQ(delta.prices.at(4), std::optional<std::string>("7.50"));
  EXPECT_EQ(delta.prices.at(2), std::nullopt);
  EXPECT_EQ(delta.prices.at(3), std::nullopt);  // a moved primary key leaves no price behind
  EXPECT_EQ(delta.prices.at(9), std::optional<std::string>("1.00"));
}

TEST(Rollups, TruncateRestartsCustomerCounts) {
  Rollups aggregator;
  aggregator.add(txn(), customer(Action::Insert, {uuid(), plan_column(1), remaining(std::nullopt)}));
  Change truncate = customer(Action::Truncate, {});
  aggregator.add(txn(), truncate);
  aggregator.add(txn(), customer(Action::Insert, {uuid(), plan_column(2), remaining(std::nullopt)}));
  const PlanRollup::Delta& delta = aggregator.plan.delta();
  EXPECT_TRUE(delta.customers_truncated);
  EXPECT_FALSE(delta.customers.contains(1));
  EXPECT_EQ(delta.customers.at(2), 1);
}

TEST(Rollups, StateUpToTheSnapshotIsNotCountedAgainButHistoryIs) {
  Rollups aggregator;
  aggregator.set_state_from(0x2000);
  aggregator.add(txn(0x2000), update(1, R"({"api_calls": 5})", 1, R"({"api_calls": 2})"));
  aggregator.add(txn(0x2000), update(1, std::nullopt, 2, std::nullopt));
  aggregator.add(txn(0x2000), plan_change(Action::Update, 2, "3.00"));
  const PlanRollup::Delta& before = aggregator.plan.delta();
  EXPECT_TRUE(before.customers.empty());
  EXPECT_TRUE(before.prices.empty());
  EXPECT_EQ(usage(aggregator.usage.delta(), "api_calls"), "3");
  EXPECT_EQ(aggregator.changes.delta().at({kDay, 1, 2}), 1);
  // The first transaction the snapshot missed: its commit record is at the consistent point.
  aggregator.add(txn(0x2010), update(2, std::nullopt, 1, std::nullopt));
  EXPECT_EQ(aggregator.plan.delta().customers.at(1), 1);
  EXPECT_EQ(aggregator.plan.delta().customers.at(2), -1);
}

TEST(Rollups, MissingColumnIsAMappingError) {
  Rollups aggregator;
  EXPECT_THROW(aggregator.add(txn(), customer(Action::Insert, {uuid()})), MappingError);
  Change bad = customer(Action::Insert, {uuid(), text_column("plan_id", "x", "bigint")});
  EXPECT_THROW(aggregator.add(txn(), bad), MappingError);
}

TEST(Decimal, ParsesCanonicalisesAndDetectsOverflow) {
  EXPECT_EQ(Decimal::parse("1.50")->to_string(), "1.5");
  EXPECT_EQ(Decimal::parse("-0.000")->to_string(), "0");
  EXPECT_EQ(Decimal::parse("12345678901234567890.123456789012345678")->to_string(),
            "12345678901234567890.123456789012345678");
  EXPECT_FALSE(Decimal::parse("123456789012345678901"));     // 21 integer digits
  EXPECT_FALSE(Decimal::parse("0.1234567890123456789"));     // 19 fractional digits
  EXPECT_FALSE(Decimal::parse("abc"));
  auto big = *Decimal::parse("99999999999999999999");
  EXPECT_EQ(Decimal::parse("5")->minus(*Decimal::parse("7.25"))->to_string(), "-2.25");
  Decimal sum = big;
  EXPECT_FALSE(sum.add(big));  // 2e38 units do not fit in 128 bits
  EXPECT_EQ(sum.to_string(), "99999999999999999999");  // unchanged after a refused add
  const auto negative = *Decimal::parse("-99999999999999999999");
  EXPECT_FALSE(big.minus(negative).has_value());
}

TEST(ArrayLiteral, QuotesEveryElement) {
  EXPECT_EQ(pg::array_literal({}), "{}");
  EXPECT_EQ(pg::array_literal({"a", "b c", "q\"x", "back\\slash", ""}), R"({"a","b c","q\"x","back\\slash",""})");
}

TEST(RollupRegistry, OneRollupPerRollupFeatureEachWithItsRebuild) {
  std::vector<domain::Feature> registered;
  for (const auto& rollup : make_rollups()) {
    registered.push_back(rollup->feature());
    EXPECT_NE(rollup->rebuild_sql().find("DELETE FROM"), std::string_view::npos);
    EXPECT_FALSE(rollup->has_pending());
  }
  EXPECT_EQ(registered, domain::rollup_features());
}

TEST(RollupRegistry, RejectsNamesTheMissingColumn) {
  const Change missing = customer(Action::Insert, {uuid()});
  EXPECT_EQ(PlanRollup().rejects(missing),
            "public.customer change at LSN 0/1000 has no column 'plan_id' (is REPLICA IDENTITY FULL set?)");
  EXPECT_EQ(UsageDaily().rejects(missing), std::nullopt);  // inserts are not usage
  EXPECT_EQ(PlanRollup().rejects(customer(Action::Insert, {uuid(), plan_column(1)})), std::nullopt);
}

}  // namespace
}  // namespace cdc::sinks
