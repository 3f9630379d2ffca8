#pragma once
#include <chrono>
#include <optional>
#include <string>

#include "cdc/core/pg.hpp"

namespace cdc::sinks {

/// What a server process is doing, from pg_stat_activity, for stall reports.
struct BackendActivity {
  std::string state;       ///< active, idle in transaction, ...
  std::string wait_event;  ///< "Lock:relation", "" when not waiting
  std::string query;       ///< its current or last statement, shortened
  /// The sessions holding the lock it waits for, one description each
  /// ("PID 4711 (user app, application 'psql', idle in transaction for 12 s:
  /// LOCK public.audit_logs)"), "; "-separated; empty when not blocked.
  std::string blocked_by;

  /// One line: "PID 123 is active, waiting on Lock:relation, blocked by ..."
  std::string describe(int pid) const;
};

/// The activity of `pid` as seen through `conn` (any connection to the same
/// server), or nullopt when it is gone or the query does not answer within
/// `timeout`.
std::optional<BackendActivity> read_backend_activity(pg::Connection& conn, int pid,
                                                     std::chrono::milliseconds timeout);

}  // namespace cdc::sinks
