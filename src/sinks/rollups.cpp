#include "cdc/sinks/rollups.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "cdc/sinks/audit_mapping.hpp"
#include "cdc/sinks/copy_text.hpp"

namespace cdc::sinks {
namespace {

using decode::Action;
using decode::Change;
using decode::Column;

const Column& require(const Column* column, std::string_view table, std::string_view name, const Change& change) {
  if (column == nullptr) {
    throw MappingError(fmt::format("{} change at LSN {} has no column '{}' (is REPLICA IDENTITY FULL set?)",
                                   table, format_lsn(change.lsn), name));
  }
  return *column;
}

/// A bigint column; nullopt for NULL.
std::optional<std::int64_t> bigint_of(const Column& column, const Change& change) {
  if (column.is_null()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(column.text.data(), column.text.data() + column.text.size(), value);
  if (ec != std::errc() || end != column.text.data() + column.text.size()) {
    throw MappingError(fmt::format("column {} at LSN {} is not a bigint: '{}'", column.name,
                                   format_lsn(change.lsn), column.text));
  }
  return value;
}

bool is_table(const Change& change, std::string_view table) {
  return change.schema == "public" && change.table == table;
}

/// Collects the numeric top-level members of a JSON object, keeping each
/// number's exact text; nested values and non-numbers are skipped.
/// Numeric members by name, sorted by name (a jsonb object has a handful: a
/// vector beats a map's node allocations).
using Members = std::vector<std::pair<std::string, std::string>>;

struct NumericMembers : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NumericMembers> {
  Members members;
  std::string key;
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
    if (depth == 1) key.assign(str, length);
    return true;
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1) {
      // A repeated key keeps the last value, as a map would.
      auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
      if (it == members.end()) {
        members.emplace_back(key, std::string(str, length));
      } else {
        it->second.assign(str, length);
      }
    }
    return true;
  }
};

const std::string* find_member(const Members& members, const std::string& name) {
  for (const auto& [key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

/// Numeric members of a jsonb object column; nullopt when NULL or not an object.
std::optional<Members> numeric_members(const Column& column) {
  if (column.is_null()) return std::nullopt;
  NumericMembers handler;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(column.text.data(), column.text.size());
  if (!reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, handler) || !handler.top_is_object) {
    return std::nullopt;
  }
  std::sort(handler.members.begin(), handler.members.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  return std::move(handler.members);
}

}  // namespace

bool RollupDelta::empty() const {
  return !customers_truncated && !plans_truncated && customers.empty() && prices.empty() && usage.empty() &&
         wide_usage.empty() && plan_changes.empty();
}

std::size_t RollupDelta::keys() const {
  return customers.size() + prices.size() + usage.size() + wide_usage.size() + plan_changes.size();
}

void RollupAggregator::add(const TxnInfo& txn, const Change& change) {
  if (is_table(change, "customer")) {
    add_customer(txn, change);
    delta_.last_commit_us = txn.commit_time_us;
  } else if (is_table(change, "plans")) {
    if (txn.end_lsn > state_from_) add_plan(change);
    delta_.last_commit_us = txn.commit_time_us;
  }
}

void RollupAggregator::add_customer(const TxnInfo& txn, const Change& change) {
  constexpr std::string_view kTable = "public.customer";
  // Usage and plan changes come from history (the audit checkpoint decides);
  // customer counts are table state, already counted up to a snapshot.
  const bool count_state = txn.end_lsn > state_from_;
  switch (change.action) {
    case Action::Insert: {
      const auto plan = bigint_of(require(change.column("plan_id"), kTable, "plan_id", change), change);
      if (plan && count_state) ++delta_.customers[*plan];
      return;
    }
    case Action::Delete: {
      const auto plan = bigint_of(require(change.old_column("plan_id"), kTable, "plan_id", change), change);
      if (plan && count_state) --delta_.customers[*plan];
      return;
    }
    case Action::Truncate:
      if (!count_state) return;
      delta_.customers_truncated = true;
      delta_.customers.clear();
      return;
    case Action::Update: {
      const auto old_plan = bigint_of(require(change.old_column("plan_id"), kTable, "plan_id", change), change);
      const auto new_plan = bigint_of(require(change.column("plan_id"), kTable, "plan_id", change), change);
      const std::string day = format_date_utc(txn.commit_time_us);
      if (old_plan != new_plan) {
        if (old_plan && count_state) --delta_.customers[*old_plan];
        if (new_plan && count_state) ++delta_.customers[*new_plan];
        ++delta_.plan_changes[{day, old_plan.value_or(0), new_plan.value_or(0)}];
        return;
      }
      const Column& old_remaining = require(change.old_column("remaining_resources"), kTable, "remaining_resources", change);
      const Column& new_remaining = require(change.column("remaining_resources"), kTable, "remaining_resources", change);
      if (old_remaining.is_null() || new_remaining.is_null() || old_remaining.text == new_remaining.text) return;
      const auto before = numeric_members(old_remaining);
      const auto after = numeric_members(new_remaining);
      if (!before || !after) return;
      const std::string& uuid = require(change.column("uuid"), kTable, "uuid", change).text;
      for (const auto& [resource, old_text] : *before) {
        const std::string* other = find_member(*after, resource);
        if (other == nullptr) continue;
        UsageKey key{day, uuid, resource};
        const auto old_value = Decimal::parse(old_text);
        const auto new_value = Decimal::parse(*other);
        const auto consumed = old_value && new_value ? old_value->minus(*new_value) : std::nullopt;
        if (consumed && !consumed->positive()) continue;
        if (consumed) {
          const auto [slot, inserted] = delta_.usage.try_emplace(key, *consumed);
          if (inserted || slot->second.add(*consumed)) continue;
        }
        delta_.wide_usage.push_back({std::move(key), old_text, *other});
      }
      return;
    }
    default:
      return;
  }
}

void RollupAggregator::add_plan(const Change& change) {
  constexpr std::string_view kTable = "public.plans";
  switch (change.action) {
    case Action::Insert:
    case Action::Update: {
      const auto id = bigint_of(require(change.column("id"), kTable, "id", change), change);
      const Column& price = require(change.column("price"), kTable, "price", change);
      if (change.action == Action::Update) {
        // A changed primary key moves the plan: the old id no longer has a price.
        const auto old_id = bigint_of(require(change.old_column("id"), kTable, "id", change), change);
        if (old_id && old_id != id) delta_.prices[*old_id] = std::nullopt;
      }
      if (id) delta_.prices[*id] = price.is_null() ? std::nullopt : std::optional<std::string>(price.text);
      return;
    }
    case Action::Delete: {
      if (auto id = bigint_of(require(change.old_column("id"), kTable, "id", change), change)) {
        delta_.prices[*id] = std::nullopt;
      }
      return;
    }
    case Action::Truncate:
      delta_.plans_truncated = true;
      delta_.prices.clear();
      return;
    default:
      return;
  }
}

std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

void RollupPart::change(const TxnInfo& txn, const Change& change, PgBatch& batch) {
  aggregator_.add(txn, change);
  if (aggregator_.delta().keys() >= max_keys_) write(batch);
}

std::optional<std::string> RollupPart::rejects(const Change& change) const {
  // The same mapping on a scratch aggregator: a change that maps there maps in change().
  RollupAggregator scratch;
  try {
    scratch.add(TxnInfo{0, 0, std::numeric_limits<Lsn>::max(), 0}, change);
  } catch (const MappingError& e) {
    return e.what();
  }
  return std::nullopt;
}

void RollupPart::write(PgBatch& batch) {
  const RollupDelta& delta = aggregator_.delta();
  if (delta.empty()) return;
  const std::string updated_at = format_timestamp_utc(delta.last_commit_us);

  if (delta.plans_truncated) batch.defer("DELETE FROM customer_cdc.plan_price");
  if (delta.customers_truncated) {
    batch.defer_params("UPDATE analytics.plan_rollup SET customers = 0, mrr = 0, updated_at = $1", {updated_at});
  }
  std::vector<std::string> touched;
  if (!delta.prices.empty()) {
    std::vector<std::string> set_ids, set_prices, deleted_ids;
    for (const auto& [id, price] : delta.prices) {
      touched.push_back(std::to_string(id));
      if (price) {
        set_ids.push_back(std::to_string(id));
        set_prices.push_back(*price);
      } else {
        deleted_ids.push_back(std::to_string(id));
      }
    }
    if (!deleted_ids.empty()) {
      batch.defer_params("DELETE FROM customer_cdc.plan_price WHERE plan_id = ANY($1::bigint[])",
                        {array_literal(deleted_ids)});
    }
    if (!set_ids.empty()) {
      batch.defer_params(
          "INSERT INTO customer_cdc.plan_price (plan_id, price) "
          "SELECT * FROM unnest($1::bigint[], $2::numeric[]) "
          "ON CONFLICT (plan_id) DO UPDATE SET price = excluded.price",
          {array_literal(set_ids), array_literal(set_prices)});
    }
  }
  if (!delta.customers.empty() || !delta.prices.empty()) {
    std::vector<std::string> ids, deltas;
    for (const auto& [id, change] : delta.customers) {
      ids.push_back(std::to_string(id));
      deltas.push_back(std::to_string(change));
      touched.push_back(std::to_string(id));
    }
    for (const auto& [id, price] : delta.prices) {
      if (!delta.customers.contains(id)) {
        ids.push_back(std::to_string(id));
        deltas.push_back("0");
      }
    }
    batch.defer_params(
        "INSERT INTO analytics.plan_rollup AS r (plan_id, customers, mrr, updated_at) "
        "SELECT d.plan_id, d.delta, 0, $3 FROM unnest($1::bigint[], $2::bigint[]) AS d(plan_id, delta) "
        "ON CONFLICT (plan_id) DO UPDATE SET customers = r.customers + excluded.customers, "
        "updated_at = excluded.updated_at",
        {array_literal(ids), array_literal(deltas), updated_at});
    // MRR follows the price known at this point of the stream; a plan the
    // stream has not priced yet falls back to its current row.
    batch.defer_params(
        "UPDATE analytics.plan_rollup r SET mrr = r.customers * coalesce("
        "(SELECT price FROM customer_cdc.plan_price p WHERE p.plan_id = r.plan_id), "
        "(SELECT price FROM public.plans p WHERE p.id = r.plan_id), 0) "
        "WHERE r.plan_id = ANY($1::bigint[])",
        {array_literal(touched)});
  }
  if (!delta.usage.empty()) {
    std::vector<std::string> days, uuids, resources, amounts;
    for (const auto& [key, amount] : delta.usage) {
      days.push_back(std::get<0>(key));
      uuids.push_back(std::get<1>(key));
      resources.push_back(std::get<2>(key));
      amounts.push_back(amount.to_string());
    }
    batch.defer_params(
        "INSERT INTO analytics.usage_daily AS u (day, customer_uuid, resource, consumed) "
        "SELECT * FROM unnest($1::date[], $2::uuid[], $3::text[], $4::numeric[]) "
        "ON CONFLICT (day, customer_uuid, resource) DO UPDATE SET consumed = u.consumed + excluded.consumed",
        {array_literal(days), array_literal(uuids), array_literal(resources), array_literal(amounts)});
  }
  if (!delta.wide_usage.empty()) {
    std::vector<std::string> days, uuids, resources, olds, news;
    for (const auto& wide : delta.wide_usage) {
      days.push_back(std::get<0>(wide.key));
      uuids.push_back(std::get<1>(wide.key));
      resources.push_back(std::get<2>(wide.key));
      olds.push_back(wide.old_value);
      news.push_back(wide.new_value);
    }
    batch.defer_params(
        "INSERT INTO analytics.usage_daily AS u (day, customer_uuid, resource, consumed) "
        "SELECT d, c, r, sum(greatest(0, o - n)) "
        "FROM unnest($1::date[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[]) AS t(d, c, r, o, n) "
        "GROUP BY d, c, r HAVING sum(greatest(0, o - n)) > 0 "
        "ON CONFLICT (day, customer_uuid, resource) DO UPDATE SET consumed = u.consumed + excluded.consumed",
        {array_literal(days), array_literal(uuids), array_literal(resources), array_literal(olds),
         array_literal(news)});
  }
  if (!delta.plan_changes.empty()) {
    std::vector<std::string> days, from, to, counts;
    for (const auto& [key, count] : delta.plan_changes) {
      days.push_back(std::get<0>(key));
      from.push_back(std::to_string(std::get<1>(key)));
      to.push_back(std::to_string(std::get<2>(key)));
      counts.push_back(std::to_string(count));
    }
    batch.defer_params(
        "INSERT INTO analytics.plan_changes_daily AS c (day, from_plan_id, to_plan_id, changes) "
        "SELECT * FROM unnest($1::date[], $2::bigint[], $3::bigint[], $4::bigint[]) "
        "ON CONFLICT (day, from_plan_id, to_plan_id) DO UPDATE SET changes = c.changes + excluded.changes",
        {array_literal(days), array_literal(from), array_literal(to), array_literal(counts)});
  }
  aggregator_.clear();
}

void rebuild_rollups(pg::Connection& conn) {
  conn.exec(R"sql(
DELETE FROM customer_cdc.plan_price;
INSERT INTO customer_cdc.plan_price (plan_id, price) SELECT id, price FROM public.plans;

DELETE FROM analytics.plan_rollup;
INSERT INTO analytics.plan_rollup (plan_id, customers, mrr, updated_at)
SELECT p.id, count(c.uuid), count(c.uuid) * p.price, now()
FROM public.plans p LEFT JOIN public.customer c ON c.plan_id = p.id
GROUP BY p.id, p.price;

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

DELETE FROM analytics.plan_changes_daily;
INSERT INTO analytics.plan_changes_daily (day, from_plan_id, to_plan_id, changes)
SELECT (a.created_at AT TIME ZONE 'UTC')::date,
       coalesce((a.old_value ->> 'plan_id')::bigint, 0), coalesce((a.new_value ->> 'plan_id')::bigint, 0), count(*)
FROM public.audit_logs a
WHERE a.action = 'plan_change'
GROUP BY 1, 2, 3;
)sql");
}

}  // namespace cdc::sinks
