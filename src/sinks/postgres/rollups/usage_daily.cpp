#include "cdc/sinks/postgres/rollups/usage_daily.hpp"

#include <algorithm>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "cdc/core/array_literal.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/core/pg_time.hpp"
#include "rollup_columns.hpp"

namespace cdc::sinks {
namespace {

using decode::Action;
using decode::Change;
using decode::Column;
namespace customer = domain::customer;

/// Collects the numeric top-level members of a JSON object, keeping each
/// number's exact text; nested values and non-numbers are skipped. Parsed in
/// place, so keys and numbers are views into the parsed copy.
/// Numeric members by name, sorted by name (a jsonb object has a handful: a
/// vector beats a map's node allocations).
using Members = std::vector<std::pair<std::string_view, std::string_view>>;

struct NumericMembers : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NumericMembers> {
  explicit NumericMembers(Members& found) : members(found) {}

  Members& members;
  std::string_view key;
  int depth = 0;
  bool top_is_object = false;

  bool Default() { return true; }
  bool StartObject() {
    if (depth == 0) top_is_object = true;
    ++depth;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth;
    return true;
  }
  bool StartArray() {
    ++depth;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth;
    return true;
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1) key = std::string_view(str, length);
    return true;
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1) {
      // A repeated key keeps the last value, as a map would.
      const std::string_view value(str, length);
      auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
      if (it == members.end()) {
        members.emplace_back(key, value);
      } else {
        it->second = value;
      }
    }
    return true;
  }
};

const std::string_view* find_member(const Members& members, std::string_view name) {
  for (const auto& [key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

/// Numeric members of a jsonb object column into `members` (views into
/// `scratch`, which receives a copy of the text); false when NULL or not an object.
bool numeric_members(const Column& column, std::string& scratch, Members& members) {
  members.clear();
  if (column.is_null()) return false;
  scratch.assign(column.text);
  NumericMembers handler(members);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(scratch.data());
  if (!reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag>(stream, handler) ||
      !handler.top_is_object) {
    return false;
  }
  std::sort(members.begin(), members.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return true;
}

}  // namespace

void UsageDaily::aggregate(const TxnInfo& txn, const Change& change) {
  if (change.action != Action::Update || !is_table(change, domain::kCustomer)) return;
  const auto old_plan = bigint_of(require_rollup_column(change, Tuple::Old, customer::kPlanId), change);
  const auto new_plan = bigint_of(require_rollup_column(change, Tuple::New, customer::kPlanId), change);
  if (old_plan != new_plan) return;  // a plan change resets the resources: not consumption
  const Column& old_remaining = require_rollup_column(change, Tuple::Old, customer::kRemainingResources);
  const Column& new_remaining = require_rollup_column(change, Tuple::New, customer::kRemainingResources);
  if (old_remaining.is_null() || new_remaining.is_null() || old_remaining.text == new_remaining.text) return;
  Scratch& scratch = scratch_;
  if (!numeric_members(old_remaining, scratch.old_text, scratch.before) ||
      !numeric_members(new_remaining, scratch.new_text, scratch.after)) {
    return;
  }
  const std::string& uuid = require_rollup_column(change, Tuple::New, customer::kUuid).text;
  if (scratch.day.empty() || scratch.day_of_us != txn.commit_time_us) {
    scratch.day = format_date_utc(txn.commit_time_us);
    scratch.day_of_us = txn.commit_time_us;
  }
  const std::string& day = scratch.day;
  for (const auto& [resource, old_text] : scratch.before) {
    const std::string_view* other = find_member(scratch.after, resource);
    if (other == nullptr) continue;
    const auto old_value = Decimal::parse(old_text);
    const auto new_value = Decimal::parse(*other);
    const auto consumed = old_value && new_value ? old_value->minus(*new_value) : std::nullopt;
    if (consumed && !consumed->positive()) continue;
    UsageKey key{day, uuid, std::string(resource)};
    if (consumed) {
      // try_emplace moves the key only when it inserts: otherwise it is still ours below.
      const auto [slot, inserted] = delta_.usage.try_emplace(std::move(key), *consumed);
      if (inserted || slot->second.add(*consumed)) continue;
    }
    delta_.wide_usage.push_back({std::move(key), std::string(old_text), std::string(*other)});
  }
}

void UsageDaily::write(PgBatch& batch) {
  if (!delta_.usage.empty()) {
    // In key order, as the table's primary key: the server's index lookups
    // then walk the index in order instead of at random.
    std::vector<const std::pair<const UsageKey, Decimal>*> sorted;
    sorted.reserve(delta_.usage.size());
    for (const auto& entry : delta_.usage) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(), [](const auto* x, const auto* y) { return x->first < y->first; });
    pg::ArrayLiteral days, uuids, resources, amounts;
    for (const auto* entry : sorted) {
      const auto& [key, amount] = *entry;
      days.add(std::get<0>(key));
      uuids.add(std::get<1>(key));
      resources.add(std::get<2>(key));
      amounts.add(amount.to_string());
    }
    batch.defer_params(
        "INSERT INTO analytics.usage_daily AS u (day, customer_uuid, resource, consumed) "
        "SELECT * FROM unnest($1::date[], $2::uuid[], $3::text[], $4::numeric[]) "
        "ON CONFLICT (day, customer_uuid, resource) DO UPDATE SET consumed = u.consumed + excluded.consumed",
        {days.take(), uuids.take(), resources.take(), amounts.take()});
  }
  if (!delta_.wide_usage.empty()) {
    pg::ArrayLiteral days, uuids, resources, olds, news;
    for (const auto& wide : delta_.wide_usage) {
      days.add(std::get<0>(wide.key));
      uuids.add(std::get<1>(wide.key));
      resources.add(std::get<2>(wide.key));
      olds.add(wide.old_value);
      news.add(wide.new_value);
    }
    batch.defer_params(
        "INSERT INTO analytics.usage_daily AS u (day, customer_uuid, resource, consumed) "
        "SELECT d, c, r, sum(greatest(0, o - n)) "
        "FROM unnest($1::date[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[]) AS t(d, c, r, o, n) "
        "GROUP BY d, c, r HAVING sum(greatest(0, o - n)) > 0 "
        "ON CONFLICT (day, customer_uuid, resource) DO UPDATE SET consumed = u.consumed + excluded.consumed",
        {days.take(), uuids.take(), resources.take(), olds.take(), news.take()});
  }
  delta_ = Delta{};
}

std::string_view UsageDaily::rebuild_sql() const {
  return R"sql(
DELETE FROM analytics.usage_daily;
INSERT INTO analytics.usage_daily (day, customer_uuid, resource, consumed)
SELECT (a.created_at AT TIME ZONE 'UTC')::date, a.customer_uuid, k.key,
       sum(greatest(0, (k.value #>> '{}')::numeric - (a.new_value -> 'remaining_resources' ->> k.key)::numeric))
FROM public.audit_logs a
CROSS JOIN LATERAL jsonb_each(a.old_value -> 'remaining_resources') AS k
WHERE a.action = 'resource_update'
  AND jsonb_typeof(a.old_value -> 'remaining_resources') = 'object'
  AND jsonb_typeof(a.new_value -> 'remaining_resources') = 'object'
  AND jsonb_typeof(k.value) = 'number'
  AND jsonb_typeof(a.new_value -> 'remaining_resources' -> k.key) = 'number'
GROUP BY 1, 2, 3
HAVING sum(greatest(0, (k.value #>> '{}')::numeric - (a.new_value -> 'remaining_resources' ->> k.key)::numeric)) > 0;
)sql";
}

}  // namespace cdc::sinks
