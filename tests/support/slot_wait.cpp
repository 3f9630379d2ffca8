#include "support/slot_wait.hpp"

#include <sstream>

#include "support/daemon_process.hpp"

namespace cdc::testing {
namespace {

std::string show(const Value& v) { return v ? *v : std::string("NULL"); }

}  // namespace

std::optional<std::string> slot_confirmed_lsn(PgCluster& pg, const std::string& slot) {
  const Rows rows =
      pg.query("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", {slot});
  if (rows.empty()) return std::nullopt;
  return rows[0][0];
}

std::string slot_diagnostics(PgCluster& pg, DaemonProcess* daemon, const std::string& slot, std::size_t log_lines) {
  std::ostringstream out;
  try {
    const Rows rows = pg.query(
        "SELECT active::text, active_pid::text, confirmed_flush_lsn::text, pg_current_wal_lsn()::text, "
        "(pg_current_wal_lsn() - confirmed_flush_lsn)::text FROM pg_replication_slots WHERE slot_name = $1",
        {slot});
    if (rows.empty()) {
      out << "slot " << slot << " does not exist\n";
    } else {
      out << "slot " << slot << " active=" << show(rows[0][0]) << " pid=" << show(rows[0][1])
          << " confirmed_flush_lsn=" << show(rows[0][2]) << " current_wal_lsn=" << show(rows[0][3])
          << " behind=" << show(rows[0][4]) << " bytes\n";
    }
    if (pg.scalar("SELECT to_regclass('customer_cdc.checkpoint') IS NOT NULL") == Value("t")) {
      const Rows checkpoint = pg.query(
          "SELECT lsn::text, snapshot_lsn::text FROM customer_cdc.checkpoint WHERE slot_name = $1", {slot});
      if (checkpoint.empty()) {
        out << "no checkpoint row\n";
      } else {
        out << "checkpoint lsn=" << show(checkpoint[0][0]) << " snapshot_lsn=" << show(checkpoint[0][1]) << "\n";
      }
    }
    if (pg.scalar("SELECT to_regclass('public.audit_logs') IS NOT NULL") == Value("t")) {
      out << "audit rows=" << show(pg.scalar("SELECT count(*) FROM public.audit_logs")) << "\n";
    }
  } catch (const std::exception& e) {
    out << "(diagnostic query failed: " << e.what() << ")\n";
  }
  if (daemon != nullptr) {
    out << "daemon pid " << daemon->pid() << " " << (daemon->running() ? "running" : "exited");
    if (auto status = daemon->exit_status()) out << " with status " << *status;
    out << "; log tail:\n" << tail_lines(daemon->log_text(), log_lines);
  }
  return out.str();
}

::testing::AssertionResult wait_slot_caught_up(PgCluster& pg, DaemonProcess* daemon,
                                               std::chrono::milliseconds timeout, const std::string& slot) {
  const Value target = pg.scalar("SELECT pg_current_wal_lsn()::text");
  if (!target) return ::testing::AssertionFailure() << "pg_current_wal_lsn() is NULL";
  bool exited = false;
  const bool ok = wait_until(
      [&] {
        if (daemon != nullptr && !daemon->running()) {
          exited = true;
          return true;
        }
        return pg.scalar("SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2",
                         {*target, slot}) == Value("t");
      },
      timeout, std::chrono::milliseconds(100));
  if (ok && !exited) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "slot " << slot << " did not reach " << *target
                                       << (exited ? " (the daemon exited)"
                                                  : " within " + std::to_string(timeout.count()) + " ms")
                                       << "\n"
                                       << slot_diagnostics(pg, daemon, slot);
}

}  // namespace cdc::testing
