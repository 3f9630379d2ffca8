#include "requests.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace cdc::app {
namespace {

constexpr const char* kUniqueViolation = "23505";

constexpr const char* kColumns =
    "id, array_to_json(tables)::text, where_clause, state, table_index, array_to_json(last_key)::text, rows_done, "
    "rows_estimated, coalesce(error, ''), "
    "rows_done - rows_at_resume, "
    "coalesce(extract(epoch FROM coalesce(finished_at, now()) - coalesce(resumed_at, started_at)), 0)";

/// A JSON array of strings as array_to_json prints a text[] (keys and table names: no escapes but \").
std::vector<std::string> json_strings(std::string_view json) {
  std::vector<std::string> out;
  std::string current;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (!in_string) {
      if (c == '"') {
        in_string = true;
        current.clear();
      }
      continue;
    }
    if (c == '\\' && i + 1 < json.size()) {
      const char next = json[++i];
      current += next == 'n' ? '\n' : next == 't' ? '\t' : next;
    } else if (c == '"') {
      in_string = false;
      out.push_back(current);
    } else {
      current += c;
    }
  }
  return out;
}

std::optional<SnapshotRequest> request_from(const pg::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  SnapshotRequest request;
  request.id = std::stoll(std::string(r.value(0, 0)));
  request.tables = json_strings(r.value(0, 1));
  request.where = r.optional_value(0, 2);
  request.state = r.value(0, 3);
  request.table_index = std::stoi(std::string(r.value(0, 4)));
  if (!r.is_null(0, 5)) request.last_key = json_strings(r.value(0, 5));
  request.rows_done = std::stoll(std::string(r.value(0, 6)));
  if (!r.is_null(0, 7)) request.rows_estimated = std::stoll(std::string(r.value(0, 7)));
  request.error = r.value(0, 8);
  request.run_rows = std::stoll(std::string(r.value(0, 9)));
  request.run_seconds = std::stod(std::string(r.value(0, 10)));
  return request;
}

}  // namespace

std::int64_t insert_snapshot_request(pg::Connection& conn, const std::string& slot,
                                     const std::vector<std::string>& tables, const std::optional<std::string>& where) {
  try {
    const pg::Result r = conn.exec_params(
        "INSERT INTO customer_cdc.online_snapshot (slot_name, tables, where_clause) VALUES ($1, $2::text[], $3) "
        "RETURNING id",
        {slot, pg::array_literal(tables), where});
    return std::stoll(std::string(r.value(0, 0)));
  } catch (const pg::Error& e) {
    if (e.sqlstate() != kUniqueViolation) throw;
  }
  const std::optional<SnapshotRequest> active = active_snapshot_request(conn, slot);
  throw SnapshotRequestRefused(fmt::format(
      "an online snapshot of slot \"{}\" is already {} (id {}, tables {}): wait for it (`customer-cdc snapshot "
      "status`) or cancel it (`customer-cdc snapshot --cancel`)",
      slot, active ? active->state : "active", active ? active->id : 0,
      active ? fmt::format("{}", fmt::join(active->tables, ", ")) : "?"));
}

std::optional<SnapshotRequest> active_snapshot_request(pg::Connection& conn, const std::string& slot) {
  return request_from(conn.exec_params(
      fmt::format("SELECT {} FROM customer_cdc.online_snapshot WHERE slot_name = $1 AND state IN "
                  "('requested', 'running') ORDER BY id LIMIT 1",
                  kColumns),
      {slot}));
}

std::optional<SnapshotRequest> latest_snapshot_request(pg::Connection& conn, const std::string& slot) {
  return request_from(conn.exec_params(
      fmt::format("SELECT {} FROM customer_cdc.online_snapshot WHERE slot_name = $1 ORDER BY id DESC LIMIT 1",
                  kColumns),
      {slot}));
}

std::optional<SnapshotRequest> snapshot_request(pg::Connection& conn, std::int64_t id) {
  return request_from(conn.exec_params(
      fmt::format("SELECT {} FROM customer_cdc.online_snapshot WHERE id = $1", kColumns), {std::to_string(id)}));
}

std::optional<std::int64_t> cancel_snapshot_request(pg::Connection& conn, const std::string& slot) {
  const pg::Result r = conn.exec_params(
      "UPDATE customer_cdc.online_snapshot SET state = 'cancelled', finished_at = now(), updated_at = now() "
      "WHERE slot_name = $1 AND state IN ('requested', 'running') RETURNING id",
      {slot});
  if (r.rows() == 0) return std::nullopt;
  return std::stoll(std::string(r.value(0, 0)));
}

void start_snapshot_request(pg::Connection& conn, std::int64_t id, std::int64_t rows_estimated) {
  conn.exec_params(
      "UPDATE customer_cdc.online_snapshot SET state = 'running', started_at = coalesce(started_at, now()), "
      "resumed_at = now(), rows_at_resume = rows_done, "
      "rows_estimated = coalesce(rows_estimated, $2), updated_at = now() WHERE id = $1 AND state IN "
      "('requested', 'running')",
      {std::to_string(id), std::to_string(rows_estimated)});
}

bool save_snapshot_progress(pg::Connection& conn, std::int64_t id, int table_index,
                            const std::optional<std::vector<std::string>>& last_key, std::int64_t rows_done) {
  const pg::Result r = conn.exec_params(
      "UPDATE customer_cdc.online_snapshot SET table_index = $2, last_key = $3::text[], rows_done = $4, "
      "updated_at = now() WHERE id = $1 AND state = 'running' RETURNING id",
      {std::to_string(id), std::to_string(table_index),
       last_key ? std::optional(pg::array_literal(*last_key)) : std::nullopt, std::to_string(rows_done)});
  return r.rows() > 0;
}

void finish_snapshot_request(pg::Connection& conn, std::int64_t id, const std::string& state,
                             const std::string& error) {
  conn.exec_params(
      "UPDATE customer_cdc.online_snapshot SET state = $2, error = nullif($3, ''), finished_at = now(), "
      "updated_at = now() WHERE id = $1 AND state IN ('requested', 'running')",
      {std::to_string(id), state, error});
}

}  // namespace cdc::app

namespace cdc::app {

bool try_lock_snapshot_runner(pg::Connection& conn, const std::string& slot) {
  return conn.exec_params("SELECT pg_try_advisory_lock(hashtext('customer-cdc-snapshot/' || $1))", {slot})
             .value(0, 0) == "t";
}

void unlock_snapshot_runner(pg::Connection& conn, const std::string& slot) {
  conn.exec_params("SELECT pg_advisory_unlock(hashtext('customer-cdc-snapshot/' || $1))", {slot});
}

SnapshotRate snapshot_rate(const SnapshotRequest& request) {
  SnapshotRate rate;
  if (request.run_seconds > 0) rate.rows_per_second = static_cast<double>(request.run_rows) / request.run_seconds;
  if (request.rows_estimated && rate.rows_per_second > 0) {
    const auto left = std::max<std::int64_t>(0, *request.rows_estimated - request.rows_done);
    rate.eta_seconds = static_cast<double>(left) / rate.rows_per_second;
  }
  return rate;
}

}  // namespace cdc::app
