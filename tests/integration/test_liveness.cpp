// Liveness: a walsender that stops answering (SIGSTOP, what a hung server or
// a network blackhole looks like from the client) is reported as a stall
// within postgres.stream_timeout_ms; a sink statement that waits on a lock
// held by another session is reported (naming that session) and cancelled
// after postgres.sink_timeout_ms. In both cases the daemon recovers by itself
// once the cause is gone, with nothing lost or doubled: public.audit_logs
// equals the seed trigger's shadow, and Kafka (librdkafka's mock cluster in
// this process) holds every change of the WAL (a second wal2json slot read by
// the test), per key in commit order (support/kafka_verify).
#include <gtest/gtest.h>
#include <httplib.h>

#include <signal.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/kafka_verify.hpp"
#include "support/pg_cluster.hpp"
#include "support/slot_wait.hpp"
#include "support/stopped_process.hpp"
#include "support/wal_oracle.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStreamTimeoutMs = 3000;
constexpr int kSinkTimeoutMs = 4000;
constexpr const char* kOracleSlot = "test_liveness_oracle";
const CdcTopics kTopics(3);

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

std::string get(httplib::Client& client, const char* path, int* status = nullptr) {
  auto response = client.Get(path);
  if (!response) return "(no answer)";
  if (status) *status = response->status;
  return response->body;
}

/// /healthz answers 200 within `timeout`.
bool becomes_healthy(httplib::Client& client, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        int status = 0;
        get(client, "/healthz", &status);
        return status == 200;
      },
      timeout);
}

PgClusterOptions cluster_options() {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  return options;
}

/// Both tests' scene: Kafka with the daemon's topics and a consumer reading
/// them from the start, a cluster with the audit shadow and the oracle slot
/// (created before the daemon's), then the daemon (audit + Kafka, metrics on
/// a free port) streaming under a workload.
class Liveness : public ::testing::Test {
 protected:
  Liveness() : pg_(cluster_options()), oracle_(kOracleSlot) {
    kTopics.create(kafka_);
    collector_ = std::make_unique<KafkaCollector>(kafka_, kTopics);
    install_audit_shadow(pg_);
    create_oracle_slot(pg_, kOracleSlot);
  }

  /// Starts the daemon with `tune` applied to its configuration; once it
  /// streams, runs 100 transactions and waits until it has caught up.
  void start_streaming(const std::function<void(DaemonConfig&)>& tune) {
    const int port = pick_free_port();
    DaemonConfig config(pg_.conninfo());
    config.status_interval_ms = 500;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    config.metrics_listen = "127.0.0.1:" + std::to_string(port);
    tune(config);
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", write_daemon_config(config), "run"});
    ASSERT_TRUE(daemon_->wait_for_output("streaming slot", 30s)) << daemon_->log_text();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    workload_.load(pg_.conn());
    workload_.run(pg_.conn(), 100);
    ASSERT_TRUE(wait_slot_caught_up(pg_, daemon_.get(), 60s));
  }

  /// Audit rows equal the seed trigger's shadow, and Kafka holds every change
  /// of the oracle slot (and every audit row), per key in commit order. Call
  /// once the daemon has caught up.
  void expect_nothing_lost_or_doubled(int at_least) {
    const AuditShadowComparison c = compare_audit_with_shadow(pg_);
    EXPECT_GE(c.shadow, at_least) << "the workload produced fewer shadow rows than expected";
    EXPECT_EQ(c.ours, c.shadow) << "row counts differ (lost or duplicated entries)";
    EXPECT_EQ(c.differences, 0) << "first differences:\n" << c.first_differences;
    EXPECT_EQ(c.missing, 0);
    EXPECT_EQ(c.extra, 0);
    EXPECT_EQ(c.distinct_lsn, c.ours);

    oracle_.peek(pg_.conn());
    ASSERT_TRUE(collector_->wait_caught_up(30s)) << "the test's Kafka consumer did not reach the high watermarks";
    collector_->stop();
    const KafkaVerification kafka = verify_kafka(pg_, oracle_, *collector_);
    std::cout << "[liveness] kafka: keys=" << kafka.counts.keys << " messages=" << collector_->messages()
              << " redelivered=" << kafka.counts.redelivered << std::endl;
    EXPECT_EQ(kafka.counts.missing, 0u) << kafka.details.str();
    EXPECT_EQ(kafka.counts.out_of_order, 0u) << kafka.details.str() << collector_->bad_messages().str();
    EXPECT_EQ(collector_->offset_gaps(), 0u) << collector_->bad_messages().str();
    EXPECT_GE(kafka.counts.keys, 20u);
    EXPECT_EQ(kafka.audit_rows, static_cast<std::uint64_t>(c.ours));
  }

  MockKafka kafka_;
  PgCluster pg_;
  std::unique_ptr<KafkaCollector> collector_;
  WalOracle oracle_;
  Workload workload_{knobs()};
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(Liveness, StalledWalsenderIsReportedAndTheDaemonRecovers) {
  ASSERT_NO_FATAL_FAILURE(start_streaming([](DaemonConfig& c) { c.stream_timeout_ms = kStreamTimeoutMs; }));
  PgCluster& pg = pg_;
  PgConn& conn = pg.conn();
  DaemonProcess& daemon = *daemon_;
  httplib::Client& client = *client_;
  Workload& workload = workload_;
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
  EXPECT_TRUE(becomes_healthy(client, 10s));
  EXPECT_NE(get(client, "/metrics").find("customer_cdc_stream_stalled 0\n"), std::string::npos);

  expect_nothing_lost_or_doubled(100);

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

TEST_F(Liveness, SinkStalledOnALockIsReportedThenRetriedAfterRelease) {
  ASSERT_NO_FATAL_FAILURE(start_streaming([](DaemonConfig& c) { c.sink_timeout_ms = kSinkTimeoutMs; }));
  PgCluster& pg = pg_;
  PgConn& conn = pg.conn();
  DaemonProcess& daemon = *daemon_;
  httplib::Client& client = *client_;
  Workload& workload = workload_;

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
  EXPECT_TRUE(becomes_healthy(client, 10s));
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
  expect_nothing_lost_or_doubled(200);

  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(30s), 0) << daemon.log_text();
}

}  // namespace
}  // namespace cdc::testing
