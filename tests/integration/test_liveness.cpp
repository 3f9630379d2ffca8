// Liveness: a walsender that stops answering (SIGSTOP, what a hung server or
// a network blackhole looks like from the client) is reported as a stall
// within postgres.stream_timeout_ms; a sink statement that waits on a lock
// held by another session is reported (naming that session) and cancelled
// after postgres.sink_timeout_ms. In both cases the daemon recovers by itself
// once the cause is gone, with nothing lost or doubled.
#include <gtest/gtest.h>
#include <httplib.h>

#include <signal.h>

#include <cctype>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/slot_wait.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStreamTimeoutMs = 3000;
constexpr int kSinkTimeoutMs = 4000;

WorkloadKnobs knobs() {
  WorkloadKnobs knobs;
  knobs.seed = 13;
  knobs.mix = {{Statement::SignUp, 10},         {Statement::InsertOnPlan, 5}, {Statement::PlanChange, 20},
               {Statement::ResourceUpdate, 40}, {Statement::EmailUpdate, 5},  {Statement::SameRowChanges, 10},
               {Statement::Delete, 5},          {Statement::RolledBack, 3},   {Statement::Unrelated, 2}};
  knobs.min_customers = 20;
  return knobs;
}

/// The process streaming from the slot (the daemon's walsender).
int walsender_pid(PgCluster& pg) {
  const Value pid = pg.scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'customer_cdc'");
  return pid ? std::stoi(*pid) : 0;
}

/// SIGSTOPs a process for its lifetime: it is continued even when the test fails.
class StoppedProcess {
 public:
  explicit StoppedProcess(int pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~StoppedProcess() { resume(); }
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = 0;
  }

 private:
  int pid_;
};

std::string get(httplib::Client& client, const char* path, int* status = nullptr) {
  auto response = client.Get(path);
  if (!response) return "(no answer)";
  if (status) *status = response->status;
  return response->body;
}

/// Audit rows equal the seed trigger's shadow: nothing lost or doubled.
void expect_audit_equals_shadow(PgCluster& pg, int at_least) {
  const AuditShadowComparison c = compare_audit_with_shadow(pg);
  EXPECT_GE(c.shadow, at_least) << "the workload produced fewer shadow rows than expected";
  EXPECT_EQ(c.ours, c.shadow) << "row counts differ (lost or duplicated entries)";
  EXPECT_EQ(c.differences, 0) << "first differences:\n" << c.first_differences;
  EXPECT_EQ(c.missing, 0);
  EXPECT_EQ(c.extra, 0);
  EXPECT_EQ(c.distinct_lsn, c.ours);
}

TEST(Liveness, StalledWalsenderIsReportedAndTheDaemonRecovers) {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  PgCluster pg(options);
  install_audit_shadow(pg);
  const int port = pick_free_port();
  DaemonConfig config(pg.conninfo());
  config.status_interval_ms = 500;
  config.stream_timeout_ms = kStreamTimeoutMs;
  config.metrics_listen = "127.0.0.1:" + std::to_string(port);
  DaemonProcess daemon({"--config", write_daemon_config(config), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  httplib::Client client("127.0.0.1", port);

  PgConn& conn = pg.conn();
  Workload workload(knobs());
  workload.load(conn);
  workload.run(conn, 100);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 60s));
  const int walsender = walsender_pid(pg);
  ASSERT_GT(walsender, 0) << slot_diagnostics(pg, &daemon);

  {
    StoppedProcess stopped(walsender);
    const auto stopped_at = Clock::now();
    workload.run(conn, 100);  // commits go on; the stream stays silent
    // Reported within the timeout plus a few seconds of the stop.
    const auto deadline = stopped_at + std::chrono::milliseconds(kStreamTimeoutMs) + 5s;
    ASSERT_TRUE(daemon.wait_for_output(
        "replication stream stalled",
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())))
        << daemon.log_text();
    std::cout << "[liveness] stall reported after "
              << std::chrono::duration<double>(Clock::now() - stopped_at).count() << " s" << std::endl;
    int status = 0;
    const std::string health = get(client, "/healthz", &status);
    EXPECT_EQ(status, 503) << health;
    EXPECT_NE(health.find("stalled"), std::string::npos) << health;
    const std::string metrics = get(client, "/metrics");
    EXPECT_NE(metrics.find("customer_cdc_stream_stalled 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("customer_cdc_streaming 0\n"), std::string::npos) << metrics;
    // The stopped walsender still holds the slot: the daemon ends it, as its own.
    EXPECT_TRUE(daemon.wait_for_output("still held by this daemon's stalled walsender (PID " +
                                           std::to_string(walsender) + ")",
                                       10s))
        << daemon.log_text();
    // Stopped, it cannot exit yet: the daemon says so and retries (not "another instance").
    EXPECT_TRUE(daemon.wait_for_output("which was told to exit", 10s)) << daemon.log_text();
    EXPECT_TRUE(daemon.running()) << daemon.log_text();
    while (Clock::now() - stopped_at < std::chrono::milliseconds(2 * kStreamTimeoutMs)) {
      std::this_thread::sleep_for(100ms);
    }
  }

  // Continued, the old walsender exits; the daemon streams again by itself.
  ASSERT_TRUE(wait_until([&] { return walsender_pid(pg) > 0 && walsender_pid(pg) != walsender; }, 30s))
      << slot_diagnostics(pg, &daemon);
  workload.run(conn, 100);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 60s));
  EXPECT_TRUE(wait_until(
      [&] {
        int status = 0;
        get(client, "/healthz", &status);
        return status == 200;
      },
      10s));
  EXPECT_NE(get(client, "/metrics").find("customer_cdc_stream_stalled 0\n"), std::string::npos);

  expect_audit_equals_shadow(pg, 100);

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

TEST(Liveness, SinkStalledOnALockIsReportedThenRetriedAfterRelease) {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  PgCluster pg(options);
  install_audit_shadow(pg);
  const int port = pick_free_port();
  DaemonConfig config(pg.conninfo());
  config.status_interval_ms = 500;
  config.sink_timeout_ms = kSinkTimeoutMs;
  config.metrics_listen = "127.0.0.1:" + std::to_string(port);
  DaemonProcess daemon({"--config", write_daemon_config(config), "run"});
  ASSERT_TRUE(daemon.wait_for_output("streaming slot", 30s)) << daemon.log_text();
  httplib::Client client("127.0.0.1", port);

  PgConn& conn = pg.conn();
  Workload workload(knobs());
  workload.load(conn);
  workload.run(conn, 100);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 60s));

  PgConn locker = pg.connect();
  const std::string locker_pid = *locker.scalar("SELECT pg_backend_pid()::text");
  locker.exec("BEGIN; LOCK TABLE public.audit_logs IN ACCESS EXCLUSIVE MODE");
  const auto locked_at = Clock::now();
  workload.run(conn, 100);  // the source goes on; the sink cannot write

  // Stalled after half the timeout: the warning names the session holding the lock.
  ASSERT_TRUE(daemon.wait_for_output("sink stalled", std::chrono::milliseconds(kSinkTimeoutMs) + 10s))
      << daemon.log_text();
  EXPECT_TRUE(daemon.wait_for_output("blocked by PID " + locker_pid, 5s)) << daemon.log_text();
  EXPECT_TRUE(daemon.wait_for_output("waiting on Lock:relation", 5s)) << daemon.log_text();
  std::cout << "[liveness] sink stall reported after "
            << std::chrono::duration<double>(Clock::now() - locked_at).count() << " s" << std::endl;
  int status = 0;
  const std::string health = get(client, "/healthz", &status);
  EXPECT_EQ(status, 503) << health;
  EXPECT_NE(health.find("sink stalled"), std::string::npos) << health;
  // Cancelled at the timeout, rolled back and retried (again and again while the lock is held).
  EXPECT_TRUE(daemon.wait_for_output("(postgres.sink_timeout_ms)", std::chrono::milliseconds(kSinkTimeoutMs) + 10s))
      << daemon.log_text();
  EXPECT_TRUE(wait_until([&] { return get(client, "/metrics").find("customer_cdc_sink_timeouts_total 0\n") ==
                                      std::string::npos; },
                         10s));
  EXPECT_TRUE(wait_until([&] { return get(client, "/metrics").find("customer_cdc_sink_stalled 1\n") !=
                                      std::string::npos; },
                         std::chrono::milliseconds(kSinkTimeoutMs) + 10s))
      << get(client, "/metrics");
  EXPECT_TRUE(daemon.running()) << daemon.log_text();
  locker.exec("ROLLBACK");

  workload.run(conn, 100);
  ASSERT_TRUE(wait_slot_caught_up(pg, &daemon, 90s));
  EXPECT_TRUE(wait_until(
      [&] {
        int now_status = 0;
        get(client, "/healthz", &now_status);
        return now_status == 200;
      },
      10s));
  EXPECT_NE(get(client, "/metrics").find("customer_cdc_sink_stalled 0\n"), std::string::npos);
  int ready_status = 0;
  const std::string ready = get(client, "/readyz", &ready_status);
  EXPECT_EQ(ready_status, 200) << ready;
  // The monitor reads the slot's retained WAL every 10 s (NaN before).
  EXPECT_TRUE(wait_until(
      [&] {
        const std::string metrics = get(client, "/metrics");
        const auto at = metrics.find("\ncustomer_cdc_slot_retained_wal_bytes ");
        return at != std::string::npos && std::isdigit(static_cast<unsigned char>(metrics[at + 38])) != 0;
      },
      15s))
      << get(client, "/metrics");
  expect_audit_equals_shadow(pg, 200);

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

}  // namespace
}  // namespace cdc::testing
