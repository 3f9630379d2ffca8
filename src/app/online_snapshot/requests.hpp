#pragma once
// customer_cdc.online_snapshot: the requests `customer-cdc snapshot` leaves
// for a running daemon, and the progress the daemon records in them.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cdc/core/pg.hpp"

namespace cdc::app {

/// Another request of the slot is requested or running.
class SnapshotRequestRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SnapshotRequest {
  std::int64_t id = 0;
  std::vector<std::string> tables;
  std::optional<std::string> where;
  std::string state;  ///< requested | running | done | cancelled | failed
  int table_index = 0;
  std::optional<std::vector<std::string>> last_key;  ///< of tables[table_index]; nullopt: from its start
  std::int64_t rows_done = 0;
  std::optional<std::int64_t> rows_estimated;
  std::string error;
  /// The current run, since the daemon last started or resumed the request:
  /// rows recorded in it and its seconds (to finished_at once finished).
  std::int64_t run_rows = 0;
  double run_seconds = 0;
};

/// Inserts a request; throws SnapshotRequestRefused naming the active one.
std::int64_t insert_snapshot_request(pg::Connection& conn, const std::string& slot,
                                     const std::vector<std::string>& tables, const std::optional<std::string>& where);
/// The slot's requested or running request.
std::optional<SnapshotRequest> active_snapshot_request(pg::Connection& conn, const std::string& slot);
/// The slot's latest request, whatever its state.
std::optional<SnapshotRequest> latest_snapshot_request(pg::Connection& conn, const std::string& slot);
std::optional<SnapshotRequest> snapshot_request(pg::Connection& conn, std::int64_t id);
/// Cancels the slot's active request; its id, or nullopt when none was active.
std::optional<std::int64_t> cancel_snapshot_request(pg::Connection& conn, const std::string& slot);

/// The daemon takes the request (again, after a restart).
void start_snapshot_request(pg::Connection& conn, std::int64_t id, std::int64_t rows_estimated);
/// Records a completed chunk; false when the request is no longer running (cancelled).
bool save_snapshot_progress(pg::Connection& conn, std::int64_t id, int table_index,
                            const std::optional<std::vector<std::string>>& last_key, std::int64_t rows_done);
void finish_snapshot_request(pg::Connection& conn, std::int64_t id, const std::string& state,
                             const std::string& error = "");

}  // namespace cdc::app

namespace cdc::app {

/// Session advisory lock the daemon's online snapshot runner holds for the
/// slot while it runs: `customer-cdc snapshot` takes the online path when it
/// is held. False when someone else holds it.
bool try_lock_snapshot_runner(pg::Connection& conn, const std::string& slot);
void unlock_snapshot_runner(pg::Connection& conn, const std::string& slot);

/// Rows done per second in the current run (downtime before a resume does
/// not count), and the seconds left at that rate (nullopt when unknown).
struct SnapshotRate {
  double rows_per_second = 0;
  std::optional<double> eta_seconds;
};
SnapshotRate snapshot_rate(const SnapshotRequest& request);

}  // namespace cdc::app
