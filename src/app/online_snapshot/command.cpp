#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "cdc/app/commands.hpp"
#include "cdc/app/online_snapshot.hpp"
#include "requests.hpp"

namespace cdc::app {
namespace {

constexpr int kExitUsage = 2;
constexpr auto kWaitPoll = std::chrono::milliseconds(500);
constexpr int kBarWidth = 30;

std::string eta_text(const SnapshotRate& rate) {
  return rate.eta_seconds ? fmt::format("{:.0f} s", *rate.eta_seconds) : "unknown";
}

void print_status(const SnapshotRequest& request) {
  const SnapshotRate rate = snapshot_rate(request);
  const bool active = request.state == "running" || request.state == "requested";
  const std::size_t index = std::min<std::size_t>(static_cast<std::size_t>(request.table_index),
                                                  request.tables.empty() ? 0 : request.tables.size() - 1);
  std::cout << fmt::format("id              {}\n", request.id)
            << fmt::format("state           {}\n", request.state)
            << fmt::format("tables          {}\n", fmt::join(request.tables, ", "));
  if (request.where) std::cout << fmt::format("where           {}\n", *request.where);
  if (active && !request.tables.empty()) {
    std::cout << fmt::format("table           {} ({} of {})\n", request.tables[index], index + 1, request.tables.size());
  }
  std::cout << fmt::format("rows_done       {}\n", request.rows_done)
            << fmt::format("rows_estimated  {}\n",
                           request.rows_estimated ? std::to_string(*request.rows_estimated) : "unknown")
            << fmt::format("rate            {:.0f} rows/s\n", rate.rows_per_second);
  if (active) std::cout << fmt::format("eta             {}\n", eta_text(rate));
  if (!request.error.empty()) std::cout << fmt::format("error           {}\n", request.error);
}

void print_bar(const SnapshotRequest& request) {
  const SnapshotRate rate = snapshot_rate(request);
  const double total = request.rows_estimated && *request.rows_estimated > 0 ? static_cast<double>(*request.rows_estimated) : 0;
  const double done = total > 0 ? std::min(1.0, static_cast<double>(request.rows_done) / total) : 0;
  const int filled = static_cast<int>(done * kBarWidth);
  std::cout << fmt::format("\r[{}{}] {:3.0f}% {} rows, {:.0f} rows/s, ETA {}   ", std::string(filled, '#'),
                           std::string(kBarWidth - filled, '-'), done * 100, request.rows_done, rate.rows_per_second,
                           eta_text(rate))
            << std::flush;
}

int wait_for(pg::Connection& conn, std::int64_t id, const std::atomic<bool>& stop) {
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  std::optional<SnapshotRequest> request;
  for (;;) {
    request = snapshot_request(conn, id);
    if (!request) return 1;
    if (terminal) print_bar(*request);
    if (request->state != "requested" && request->state != "running") break;
    if (stop.load()) {
      if (terminal) std::cout << "\n";
      std::cout << fmt::format("stopped waiting; online snapshot {} goes on in the daemon\n", id);
      return 0;
    }
    std::this_thread::sleep_for(kWaitPoll);
  }
  if (terminal) std::cout << "\n";
  print_status(*request);
  return request->state == "done" ? 0 : 1;
}

}  // namespace

int cmd_snapshot_command(const Config& config, const SnapshotCommand& command, const std::atomic<bool>& stop) {
  const std::string& slot = config.postgres.slot;
  pg::Connection conn(config.postgres.dsn);
  if (command.status) {
    const std::optional<SnapshotRequest> request = latest_snapshot_request(conn, slot);
    if (!request) {
      std::cout << fmt::format("no online snapshot was requested for slot \"{}\"\n", slot);
      return 0;
    }
    print_status(*request);
    return 0;
  }
  if (command.cancel) {
    if (const std::optional<std::int64_t> id = cancel_snapshot_request(conn, slot)) {
      std::cout << fmt::format("cancelled online snapshot {}\n", *id);
      return 0;
    }
    std::cout << fmt::format("no online snapshot of slot \"{}\" is requested or running\n", slot);
    return 1;
  }
  const bool daemon_running = !try_lock_snapshot_runner(conn, slot);
  if (!daemon_running) {
    unlock_snapshot_runner(conn, slot);
    if (!command.tables.empty() || command.where || command.wait) {
      spdlog::error("--table, --where and --wait ask a running daemon (with kafka.enabled) for an online snapshot; "
                    "none runs for slot \"{}\" (without one, `customer-cdc snapshot` takes the offline snapshot of "
                    "every captured table)",
                    slot);
      return kExitUsage;
    }
    return cmd_snapshot(config, stop);
  }
  for (const auto& table : command.tables) {
    if (std::find(config.postgres.tables.begin(), config.postgres.tables.end(), table) == config.postgres.tables.end()) {
      spdlog::error("--table {}: not a captured table (postgres.tables: {})", table, fmt::join(config.postgres.tables, ", "));
      return kExitUsage;
    }
  }
  const std::vector<std::string>& tables = command.tables.empty() ? config.postgres.tables : command.tables;
  if (command.where) {
    for (const auto& table : tables) {
      const auto [schema, name] = pg::split_table_name(table);
      try {
        conn.exec(fmt::format("SELECT 1 FROM {}.{} WHERE ({}) LIMIT 0", conn.quote_identifier(schema),
                              conn.quote_identifier(name), *command.where));
      } catch (const pg::Error& e) {
        spdlog::error("--where does not apply to {}: {}", table, e.what());
        return kExitUsage;
      }
    }
  }
  std::int64_t id = 0;
  try {
    id = insert_snapshot_request(conn, slot, tables, command.where);
  } catch (const SnapshotRequestRefused& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  std::cout << fmt::format("requested online snapshot {} of {} from the running daemon (slot \"{}\")\n", id,
                           fmt::join(tables, ", "), slot);
  if (!command.wait) return 0;
  return wait_for(conn, id, stop);
}

}  // namespace cdc::app
