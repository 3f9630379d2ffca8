// A sink server process that hangs (SIGSTOP: it answers neither the statement
// timeout nor a cancel) is reported as a sink stall, its connection is ended
// once a call outlives postgres.sink_timeout_ms by a grace period, and the
// daemon recovers by itself when the process runs again, with nothing lost or
// doubled.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/slot_wait.hpp"
#include "support/stopped_process.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSinkTimeoutMs = 3000;

/// The daemon's sink backend: the one holding the slot's writer lock.
int sink_backend_pid(PgCluster& pg) {
  const Value pid = pg.scalar("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted LIMIT 1");
  return pid ? std::stoi(*pid) : 0;
}

TEST(SinkHang, HungSinkBackendIsCutOffAndTheDaemonRecovers) {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  PgCluster pg(options);
  install_audit_shadow(pg);
  DaemonConfig config(pg.conninfo());
  config.status_interval_ms = 500;
  config.sink_timeout_ms = kSinkTimeoutMs;
  DaemonProcess daemon({"--config", write_daemon_config(config), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();

  PgConn& conn = pg.conn();
  WorkloadKnobs knobs;
  knobs.seed = 29;
  knobs.mix = {{Statement::SignUp, 10}, {Statement::PlanChange, 20}, {Statement::ResourceUpdate, 40},
               {Statement::Delete, 5}};
  knobs.min_customers = 20;
  Workload workload(knobs);
  workload.load(conn);
  workload.run(conn, 50);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 60s));
  const int sink = sink_backend_pid(pg);
  ASSERT_GT(sink, 0) << daemon.log_text();

  {
    StoppedProcess stopped(sink);
    const auto stopped_at = Clock::now();
    workload.run(conn, 50);  // the next flush waits on a process that does not run
    ASSERT_TRUE(daemon.wait_for_output("sink stalled: the writer has waited", 20s)) << daemon.log_text();
    ASSERT_TRUE(daemon.wait_for_output("ending the sink connection", 20s)) << daemon.log_text();
    std::cout << "[sink-hang] connection ended after "
              << std::chrono::duration<double>(Clock::now() - stopped_at).count() << " s" << std::endl;
    EXPECT_TRUE(daemon.wait_for_output("reconnecting", 10s)) << daemon.log_text();
    EXPECT_TRUE(daemon.running()) << daemon.log_text();
  }

  // Running again, the old process sees its connection gone and exits (freeing
  // the writer lock); the daemon writes everything by itself.
  workload.run(conn, 50);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 90s)) << daemon.log_text();
  const AuditShadowComparison c = compare_audit_with_shadow(pg);
  EXPECT_GE(c.shadow, 100) << "the workload produced fewer shadow rows than expected";
  EXPECT_EQ(c.ours, c.shadow) << "row counts differ (lost or duplicated entries)";
  EXPECT_EQ(c.differences, 0) << "first differences:\n" << c.first_differences;
  EXPECT_EQ(c.missing, 0);
  EXPECT_EQ(c.extra, 0);

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

}  // namespace
}  // namespace cdc::testing
