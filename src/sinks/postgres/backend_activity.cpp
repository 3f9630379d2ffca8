#include "cdc/sinks/postgres/backend_activity.hpp"

#include <fmt/format.h>

namespace cdc::sinks {

std::string BackendActivity::describe(int pid) const {
  std::string out = fmt::format("PID {} is {}", pid, state.empty() ? "in an unknown state" : state);
  if (!wait_event.empty()) out += ", waiting on " + wait_event;
  if (!query.empty()) out += " (" + query + ")";
  if (!blocked_by.empty()) out += ", blocked by " + blocked_by;
  return out;
}

std::optional<BackendActivity> read_backend_activity(pg::Connection& conn, int pid,
                                                     std::chrono::milliseconds timeout) {
  // Without pg_monitor, other roles' queries read "<insufficient privilege>";
  // their PIDs, users and applications still show.
  const std::string sql = fmt::format(
      "SELECT coalesce(a.state, ''), "
      "       coalesce(a.wait_event_type || ':' || a.wait_event, ''), "
      "       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120), "
      "       coalesce((SELECT string_agg(format('PID %s (user %s, application %L, %s for %s s: %s)', "
      "                   b.pid, b.usename, b.application_name, coalesce(b.state, 'unknown'), "
      "                   round(extract(epoch FROM now() - coalesce(b.xact_start, b.query_start, now())))::bigint, "
      "                   left(regexp_replace(coalesce(b.query, ''), '\\s+', ' ', 'g'), 120)), '; ' ORDER BY b.pid) "
      "                 FROM pg_stat_activity b WHERE b.pid = ANY(pg_blocking_pids(a.pid))), '') "
      "FROM pg_stat_activity a WHERE a.pid = {}",
      pid);
  const std::optional<pg::Result> result = conn.exec_with_deadline(sql, timeout);
  if (!result || result->rows() == 0) return std::nullopt;
  return BackendActivity{std::string(result->value(0, 0)), std::string(result->value(0, 1)),
                         std::string(result->value(0, 2)), std::string(result->value(0, 3))};
}

}  // namespace cdc::sinks
