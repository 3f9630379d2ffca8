// Tests for include/cdc/sinks/audit/audit_mapping.hpp: the audit rows the seed's
// log_customer_changes trigger (plus customer_created / customer_deleted) writes.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdc/decode/change.hpp"
#include "cdc/core/json_number.hpp"
#include "cdc/sinks/audit/audit_mapping.hpp"
#include "support/columns.hpp"

namespace cdc::sinks {
namespace {

using namespace cdc::testing;  // column builders, Action, Change, Column

constexpr const char* kUuid = "0b7c1f6e-6a9e-4c1e-9d0b-3f1f8a1e2c11";

/// A full row of public.customer as wal2json v2 would give it.
std::vector<Column> row(std::optional<const char*> plan, std::optional<const char*> resources,
                        const char* email = "a@example.com") {
  return {uuid_column(kUuid),
          text_column("created_at", "2026-01-01 00:00:00+00", "timestamp with time zone"),
          text_column("email", email, "character varying"),
          jsonb_column("metadata", "{}"),
          bigint_column("plan_id", plan),
          jsonb_column("remaining_resources", resources)};
}

Change make(Action action, std::vector<Column> new_tuple, std::vector<Column> old_tuple) {
  return row_change(action, "customer", std::move(new_tuple), std::move(old_tuple), 0x16B374D848ULL, 1234);
}

Change update(std::optional<const char*> old_plan, std::optional<const char*> old_res,
              std::optional<const char*> new_plan, std::optional<const char*> new_res) {
  return make(Action::Update, row(new_plan, new_res), row(old_plan, old_res));
}

constexpr const char* kRes = "{\"api_calls\": 1000, \"storage_gb\": 10}";

// ---- INSERT / DELETE -------------------------------------------------------

TEST(AuditMapping, InsertWithPlan) {
  const auto entry = audit_entry_for(make(Action::Insert, row("1", kRes), {}));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, kUuid);
  EXPECT_EQ(entry->action, "customer_created");
  EXPECT_EQ(entry->old_value, std::nullopt);
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>(
                "{\"plan_id\": 1, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
}

TEST(AuditMapping, InsertWithoutPlan) {
  const auto entry = audit_entry_for(make(Action::Insert, row(std::nullopt, std::nullopt), {}));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "customer_created");
  EXPECT_EQ(entry->customer_uuid, kUuid);
  EXPECT_EQ(entry->old_value, std::nullopt);
  EXPECT_EQ(entry->new_value, std::optional<std::string>("{\"plan_id\": null, \"remaining_resources\": null}"));
}

TEST(AuditMapping, Delete) {
  const auto entry = audit_entry_for(make(Action::Delete, {}, row("2", "{\"api_calls\": 5}")));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, kUuid);
  EXPECT_EQ(entry->action, "customer_deleted");
  EXPECT_EQ(entry->old_value,
            std::optional<std::string>("{\"plan_id\": 2, \"remaining_resources\": {\"api_calls\": 5}}"));
  EXPECT_EQ(entry->new_value, std::nullopt);
}

TEST(AuditMapping, DeleteUsesOldTupleUuid) {
  std::vector<Column> old_row = row(std::nullopt, std::nullopt);
  old_row[0] = uuid_column("11111111-2222-3333-4444-555555555555");
  const auto entry = audit_entry_for(make(Action::Delete, {}, old_row));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(entry->old_value, std::optional<std::string>("{\"plan_id\": null, \"remaining_resources\": null}"));
}

// ---- UPDATE -----------------------------------------------------------------

TEST(AuditMapping, PlanChangeNullToOne) {
  const auto entry = audit_entry_for(update(std::nullopt, std::nullopt, "1", kRes));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, kUuid);
  EXPECT_EQ(entry->action, "plan_change");
  EXPECT_EQ(entry->old_value, std::optional<std::string>("{\"plan_id\": null, \"remaining_resources\": null}"));
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>(
                "{\"plan_id\": 1, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
}

TEST(AuditMapping, PlanChangeOneToTwo) {
  const auto entry = audit_entry_for(update("1", kRes, "2", "{\"api_calls\": 5000}"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "plan_change");
  EXPECT_EQ(entry->old_value,
            std::optional<std::string>(
                "{\"plan_id\": 1, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>("{\"plan_id\": 2, \"remaining_resources\": {\"api_calls\": 5000}}"));
}

TEST(AuditMapping, PlanChangeWithSameResourcesIsStillPlanChange) {
  const auto entry = audit_entry_for(update("1", kRes, "2", kRes));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "plan_change");
}

TEST(AuditMapping, PlanChangeTwoToNull) {
  const auto entry = audit_entry_for(update("2", kRes, std::nullopt, kRes));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "plan_change");
  EXPECT_EQ(entry->old_value,
            std::optional<std::string>(
                "{\"plan_id\": 2, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>(
                "{\"plan_id\": null, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
}

TEST(AuditMapping, ResourceDecrement) {
  const auto entry = audit_entry_for(update("1", kRes, "1", "{\"api_calls\": 999, \"storage_gb\": 10}"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, kUuid);
  EXPECT_EQ(entry->action, "resource_update");
  EXPECT_EQ(entry->old_value,
            std::optional<std::string>(
                "{\"plan_id\": 1, \"remaining_resources\": {\"api_calls\": 1000, \"storage_gb\": 10}}"));
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>(
                "{\"plan_id\": 1, \"remaining_resources\": {\"api_calls\": 999, \"storage_gb\": 10}}"));
}

TEST(AuditMapping, UpdateUsesNewTupleUuid) {
  Change change = update("1", kRes, "2", kRes);
  change.columns[0] = uuid_column("99999999-2222-3333-4444-555555555555");
  const auto entry = audit_entry_for(change);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->customer_uuid, "99999999-2222-3333-4444-555555555555");
}

TEST(AuditMapping, EmailOnlyUpdateWritesNothing) {
  const Change change = make(Action::Update, row("1", kRes, "new@example.com"), row("1", kRes, "old@example.com"));
  EXPECT_EQ(audit_entry_for(change), std::nullopt);
}

TEST(AuditMapping, UpdateWithBothNullWritesNothing) {
  EXPECT_EQ(audit_entry_for(update(std::nullopt, std::nullopt, std::nullopt, std::nullopt)), std::nullopt);
}

TEST(AuditMapping, ResourcesEqualByValueWritesNothing) {
  EXPECT_EQ(audit_entry_for(update("1", "{\"a\": 1.0}", "1", "{\"a\": 1}")), std::nullopt);
}

TEST(AuditMapping, PlanIdEqualByValueWritesNothing) {
  // Defensive: plan_id is bigint, but compare numbers by value regardless of text.
  EXPECT_EQ(audit_entry_for(update("1", kRes, "1.0", kRes)), std::nullopt);
}

TEST(AuditMapping, NullToEmptyObjectIsAChange) {
  const auto entry = audit_entry_for(update("1", std::nullopt, "1", "{}"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "resource_update");
  EXPECT_EQ(entry->old_value, std::optional<std::string>("{\"plan_id\": 1, \"remaining_resources\": null}"));
  EXPECT_EQ(entry->new_value, std::optional<std::string>("{\"plan_id\": 1, \"remaining_resources\": {}}"));
}

TEST(AuditMapping, EmptyObjectToNullIsAChange) {
  const auto entry = audit_entry_for(update("1", "{}", "1", std::nullopt));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "resource_update");
}

TEST(AuditMapping, JsonNullIsDistinctFromSqlNull) {
  const auto entry = audit_entry_for(update("1", std::nullopt, "1", "null"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "resource_update");
}

TEST(AuditMapping, StringVersusNumberIsAChange) {
  const auto entry = audit_entry_for(update("1", "{\"a\": 1}", "1", "{\"a\": \"1\"}"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->action, "resource_update");
  EXPECT_EQ(entry->old_value, std::optional<std::string>("{\"plan_id\": 1, \"remaining_resources\": {\"a\": 1}}"));
  EXPECT_EQ(entry->new_value,
            std::optional<std::string>("{\"plan_id\": 1, \"remaining_resources\": {\"a\": \"1\"}}"));
}

TEST(AuditMapping, OtherTableActionsWriteNothing) {
  for (const Action action : {Action::Begin, Action::Commit, Action::Truncate, Action::Message}) {
    EXPECT_EQ(audit_entry_for(make(action, {}, {})), std::nullopt) << static_cast<char>(action);
  }
}

// ---- missing columns --------------------------------------------------------

void expect_mapping_error_naming(const Change& change, const std::string& column) {
  try {
    (void)audit_entry_for(change);
    FAIL() << "no MappingError for missing " << column;
  } catch (const MappingError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + column + "'"), std::string::npos) << e.what();
  }
}

std::vector<Column> without(std::vector<Column> columns, std::string_view name) {
  std::erase_if(columns, [&](const Column& c) { return c.name == name; });
  return columns;
}

TEST(AuditMapping, MissingPlanIdInNewTupleThrows) {
  expect_mapping_error_naming(make(Action::Insert, without(row("1", kRes), "plan_id"), {}), "plan_id");
  expect_mapping_error_naming(make(Action::Update, without(row("1", kRes), "plan_id"), row("1", kRes)), "plan_id");
}

TEST(AuditMapping, MissingPlanIdInOldTupleThrows) {
  // REPLICA IDENTITY DEFAULT: the old tuple holds only the primary key.
  expect_mapping_error_naming(make(Action::Update, row("1", kRes), {uuid_column(kUuid)}), "plan_id");
  expect_mapping_error_naming(make(Action::Delete, {}, {uuid_column(kUuid)}), "plan_id");
}

TEST(AuditMapping, MissingOtherColumnsThrow) {
  expect_mapping_error_naming(make(Action::Insert, without(row("1", kRes), "uuid"), {}), "uuid");
  expect_mapping_error_naming(make(Action::Insert, without(row("1", kRes), "remaining_resources"), {}),
                              "remaining_resources");
  expect_mapping_error_naming(make(Action::Delete, {}, without(row("1", kRes), "uuid")), "uuid");
  expect_mapping_error_naming(
      make(Action::Update, row("1", kRes), without(row("1", kRes), "remaining_resources")), "remaining_resources");
}

// ---- jsonb_equal -----------------------------------------------------------

std::optional<std::string_view> j(const char* text) { return std::string_view(text); }
const std::optional<std::string_view> kNull = std::nullopt;

TEST(JsonbEqual, SqlNull) {
  EXPECT_TRUE(jsonb_equal(kNull, kNull));
  EXPECT_FALSE(jsonb_equal(kNull, j("{}")));
  EXPECT_FALSE(jsonb_equal(j("{}"), kNull));
  EXPECT_FALSE(jsonb_equal(kNull, j("null")));
}

TEST(JsonbEqual, IdenticalText) {
  EXPECT_TRUE(jsonb_equal(j("{}"), j("{}")));
  EXPECT_TRUE(jsonb_equal(j(kRes), j(kRes)));
}

TEST(JsonbEqual, NumbersCompareByValue) {
  EXPECT_TRUE(jsonb_equal(j("{\"a\": 1.0}"), j("{\"a\": 1}")));
  EXPECT_TRUE(jsonb_equal(j("[1.50, 100]"), j("[1.5, 1e2]")));
  EXPECT_TRUE(jsonb_equal(j("-0"), j("0")));
  EXPECT_TRUE(jsonb_equal(j("{\"a\": {\"b\": [0.10]}}"), j("{\"a\": {\"b\": [0.1]}}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1}"), j("{\"a\": 2}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1.01}"), j("{\"a\": 1.1}")));
  EXPECT_FALSE(jsonb_equal(j("10"), j("1")));
}

TEST(JsonbEqual, TypesMatter) {
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1}"), j("{\"a\": \"1\"}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": true}"), j("{\"a\": \"true\"}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": null}"), j("{}")));
  EXPECT_FALSE(jsonb_equal(j("[]"), j("{}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 0}"), j("{\"a\": false}")));
}

TEST(JsonbEqual, WhitespaceDoesNotMatter) {
  EXPECT_TRUE(jsonb_equal(j("{\"a\":1,\"b\":[1,2]}"), j("{\"a\": 1, \"b\": [1, 2]}")));
}

TEST(JsonbEqual, StructureMatters) {
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1}"), j("{\"b\": 1}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1}"), j("{\"a\": 1, \"b\": 2}")));
  EXPECT_FALSE(jsonb_equal(j("[1, 2]"), j("[2, 1]")));
  EXPECT_FALSE(jsonb_equal(j("\"x\""), j("\"y\"")));
}

// The shortcut for texts that first differ in a number must agree with the
// full comparison around numbers, strings and escapes.
TEST(JsonbEqual, FirstDifferenceInANumber) {
  EXPECT_FALSE(jsonb_equal(j("{\"api_calls\": 999, \"storage_gb\": 10}"), j("{\"api_calls\": 998, \"storage_gb\": 10}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1.0, \"b\": 2}"), j("{\"a\": 1, \"b\": 3}")));
  EXPECT_TRUE(jsonb_equal(j("{\"a\": 1.0, \"b\": 2}"), j("{\"a\": 1, \"b\": 2}")));
  EXPECT_TRUE(jsonb_equal(j("{\"a\": 12, \"b\": 1}"), j("{\"a\": 12.0, \"b\": 1}")));
  EXPECT_TRUE(jsonb_equal(j("[1e2, 5]"), j("[100, 5]")));
  EXPECT_FALSE(jsonb_equal(j("[1e2, 5]"), j("[100, 6]")));
  EXPECT_FALSE(jsonb_equal(j("[-1]"), j("[1]")));
  EXPECT_FALSE(jsonb_equal(j("[1]"), j("[11]")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": \"x1\"}"), j("{\"a\": \"x2\"}")));
  EXPECT_FALSE(jsonb_equal(j("{\"k\\\"1\": 5}"), j("{\"k\\\"1\": 6}")));
  EXPECT_TRUE(jsonb_equal(j("{\"k\\\"1\": 5}"), j("{\"k\\\"1\": 5.00}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1}"), j("{\"a\": true}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 5"), j("{\"a\": 6}")));  // invalid: never equal
}

TEST(JsonbEqual, InvalidJsonIsNotEqualToDifferentText) {
  EXPECT_FALSE(jsonb_equal(j("{not json"), j("{}")));
  EXPECT_FALSE(jsonb_equal(j("{\"a\": 1"), j("{\"a\": 1.0")));
}

// ---- canonical_number ------------------------------------------------------

TEST(CanonicalNumber, Cases) {
  const std::pair<const char*, const char*> cases[] = {
      {"0", "0"},       {"1", "1"},         {"1.50", "1.5"},   {"-0", "0"},          {"-0.0", "0"},
      {"1e3", "1000"},  {"1E3", "1000"},    {"1e+3", "1000"},  {"0.000", "0"},       {"007", "7"},
      {"1.2e-2", "0.012"}, {"-1.2e-2", "-0.012"}, {"12.5e1", "125"}, {"125e-1", "12.5"}, {"-42", "-42"},
      {"100", "100"},   {"0.1", "0.1"},     {"10.010", "10.01"}, {"9223372036854775807", "9223372036854775807"},
      {"1e0", "1"},     {"0e5", "0"},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(canonical_number(input), std::optional<std::string>(expected)) << input;
  }
}

TEST(CanonicalNumber, NotANumber) {
  for (const char* input : {"abc", "", "-", ".", "1e", "1e-", "1x", "1.2.3", "e5", "1 ", " 1", "--1", "0x10"}) {
    EXPECT_EQ(canonical_number(input), std::nullopt) << '"' << input << '"';
  }
}

}  // namespace
}  // namespace cdc::sinks
