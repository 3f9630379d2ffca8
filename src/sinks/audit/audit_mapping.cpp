#include "cdc/sinks/audit/audit_mapping.hpp"

#include "cdc/core/json_number.hpp"
#include "cdc/sinks/change_columns.hpp"

namespace cdc::sinks {
namespace {

using decode::Change;
using decode::Column;
namespace customer = domain::customer;

constexpr std::string_view kMissing =
    "public.customer change at LSN {lsn} has no column '{column}' in its {tuple} tuple "
    "(is REPLICA IDENTITY FULL set on public.customer?)";

const Column& require(const Change& change, Tuple tuple, std::string_view name) {
  return require_column(change, tuple, name, kMissing);
}

std::optional<std::string_view> jsonb_of(const Column& column) {
  if (column.is_null()) return std::nullopt;
  return std::string_view(column.text);
}

/// {"plan_id": .., "remaining_resources": ..} as jsonb_build_object would give it.
std::string audit_value(const Column& plan_id, const Column& remaining) {
  const std::string_view plan = plan_id.is_null() ? std::string_view("null") : std::string_view(plan_id.text);
  const std::string_view resources =
      remaining.is_null() ? std::string_view("null") : std::string_view(remaining.text);
  constexpr std::string_view kHead = "{\"plan_id\": ";
  constexpr std::string_view kMiddle = ", \"remaining_resources\": ";
  std::string value;
  value.reserve(kHead.size() + plan.size() + kMiddle.size() + resources.size() + 1);
  value += kHead;
  value += plan;
  value += kMiddle;
  value += resources;
  value += '}';
  return value;
}

bool plan_ids_equal(const Column& a, const Column& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null();
  if (a.text == b.text) return true;
  return canonical_number(a.text) == canonical_number(b.text);
}

}  // namespace

std::optional<AuditEntry> audit_entry_for(const Change& change) {
  switch (change.action) {
    case decode::Action::Insert: {
      const Column& uuid = require(change, Tuple::New, customer::kUuid);
      const Column& plan_id = require(change, Tuple::New, customer::kPlanId);
      const Column& remaining = require(change, Tuple::New, customer::kRemainingResources);
      return AuditEntry{uuid.text, "customer_created", std::nullopt, audit_value(plan_id, remaining)};
    }
    case decode::Action::Delete: {
      const Column& uuid = require(change, Tuple::Old, customer::kUuid);
      const Column& plan_id = require(change, Tuple::Old, customer::kPlanId);
      const Column& remaining = require(change, Tuple::Old, customer::kRemainingResources);
      return AuditEntry{uuid.text, "customer_deleted", audit_value(plan_id, remaining), std::nullopt};
    }
    case decode::Action::Update: {
      const Column& uuid = require(change, Tuple::New, customer::kUuid);
      const Column& new_plan = require(change, Tuple::New, customer::kPlanId);
      const Column& new_remaining = require(change, Tuple::New, customer::kRemainingResources);
      const Column& old_plan = require(change, Tuple::Old, customer::kPlanId);
      const Column& old_remaining = require(change, Tuple::Old, customer::kRemainingResources);
      const bool plan_changed = !plan_ids_equal(old_plan, new_plan);
      if (!plan_changed && jsonb_equal(jsonb_of(old_remaining), jsonb_of(new_remaining))) return std::nullopt;
      return AuditEntry{uuid.text, plan_changed ? "plan_change" : "resource_update",
                        audit_value(old_plan, old_remaining), audit_value(new_plan, new_remaining)};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace cdc::sinks
