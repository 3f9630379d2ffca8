// Online snapshots (README "Online snapshots"), black-box: PostgreSQL 15, the
// mock Kafka cluster in this process, the daemon as a child process, and
// `customer-cdc snapshot` asking it for a chunked re-publication while a
// randomized workload runs on another connection.
//
//   1. UnderWorkload (wal2json, pgoutput): the topics folded per key equal the
//      tables, per key source.sequence never goes back (a read never
//      overtakes a newer change), the streamed events equal the audit, and the
//      audit equals the seed trigger's shadow (reads write no audit rows).
//      50k rows by default; CDC_SNAPSHOT_ROWS=200000, the issue's size, in
//      .ci/run's Release pass and scripts/online-snapshot-long.
//   2. Kill9AndPostgresRestartResume (wal2json, pgoutput): kill -9 in the
//      middle, start again, then a PostgreSQL restart: the snapshot resumes
//      each time from its recorded chunk (reads < 1.2x the table).
//   3. TableWhereRefusalAndCancel (wal2json, pgoutput): --table and --where
//      select what is read (a condition failing at run time fails the request
//      only); a second request while one runs is refused; --cancel stops it.
//   4. ThrottleBoundsRateAndStreamLag: every rate the daemon reports for the
//      run (progress lines, the final line) stays within the throttle, and
//      whenever the snapshot has moved 5 chunks on, the slot's acknowledged
//      position has passed the WAL end seen before them (the stream keeps up).
//      A transaction left open all along is waited for before one chunk only.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/audit_shadow.hpp"
#include "support/background_workload.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/kafka_topic_state.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/slot_wait.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 6;
constexpr auto kStartTimeout = 60s;
constexpr auto kSnapshotTimeout = 120s;
constexpr const char* kLogTakingRequests = "online snapshots: taking requests";

/// Rows of the snapshot under workload: CDC_SNAPSHOT_ROWS (200k in CI's Release pass), else 50k.
int under_workload_rows() {
  const char* rows = std::getenv("CDC_SNAPSHOT_ROWS");
  return rows != nullptr && std::atoi(rows) > 0 ? std::atoi(rows) : 50000;
}

/// Customers os<i>@example.com for i in [1, n], on plans 1..3 in turn.
void populate(PgConn& conn, int n) {
  conn.exec("INSERT INTO public.customer (uuid, email, metadata, plan_id, plan_updated_at, plan_resources, "
            "remaining_resources) SELECT gen_random_uuid(), 'os' || g || '@example.com', "
            "jsonb_build_object('name', 'Customer ' || g), p.id, now(), p.resources, p.resources "
            "FROM generate_series(1, " + std::to_string(n) + ") g JOIN public.plans p ON p.id = 1 + g % 3");
  conn.exec("VACUUM ANALYZE public.customer");
}

/// The workload beside the snapshot (support/background_workload): a lost
/// connection (a PostgreSQL restart) is reopened, any other error stops it.
/// `big_rows`: every 500th transaction decrements that many customers in one
/// go (0: every transaction small).
BackgroundWorkloadOptions snapshot_workload(int big_rows = 0) {
  BackgroundWorkloadOptions options;
  options.recovery = WorkloadRecovery::Reconnect;
  options.next = [big_rows](Workload& workload, int done) {
    return big_rows > 0 && done % 500 == 50 ? workload.big(Big::Decrement, big_rows) : workload.next();
  };
  options.pause = [](Workload&) { return 2ms; };
  return options;
}

/// Per key, in arrival order, source.sequence never goes back, except for a
/// message whose sequence the key already had (a repeat after a restart).
::testing::AssertionResult sequence_never_regresses(const std::vector<Event>& events) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> highest;
  std::map<std::string, std::set<std::pair<std::uint64_t, std::uint64_t>>> seen;
  std::size_t regressions = 0;
  std::string first;
  for (const Event& e : events) {
    if (e.tombstone) continue;
    if (!seen[e.key].insert(e.sequence).second) continue;
    auto& top = highest[e.key];
    if (e.sequence < top) {
      if (++regressions == 1) {
        first = "key " + e.key + ": " + e.op + " at [" + std::to_string(e.sequence.first) + "," +
                std::to_string(e.sequence.second) + "] after [" + std::to_string(top.first) + "," +
                std::to_string(top.second) + "]";
      }
    }
    top = std::max(top, e.sequence);
  }
  if (regressions == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << regressions << " messages older than an earlier one of their key; first: "
                                       << first;
}

/// The messages of the customers whose folded topic state differs from the table, for failure messages.
std::string differing_customer_stories(PgCluster& pg, const KafkaContent& k) {
  std::vector<std::string> problems;
  const auto folded = fold(k.customer, &problems);
  const auto table = table_state(
      pg, "SELECT uuid::text, email, plan_id::text, remaining_resources::text, metadata::text FROM public.customer",
      customer_fields());
  std::string out;
  int shown = 0;
  for (const auto& [key, row] : table) {
    const auto it = folded.find(key);
    if (it != folded.end() && it->second == row) continue;
    if (++shown > 3) break;
    out += "key " + key + ":\n";
    for (const Event& e : k.customer) {
      if (e.key != key) continue;
      out += "  " + std::string(1, e.tombstone ? 'T' : e.op) + " p" + std::to_string(e.partition) + "@" +
             std::to_string(e.offset) + " seq [" + std::to_string(e.sequence.first) + "," +
             std::to_string(e.sequence.second) + "] " +
             (e.after.contains("remaining_resources") ? e.after.at("remaining_resources") : "") + "\n";
    }
  }
  return out;
}

std::vector<std::string> log_lines_with(const std::string& log, const std::string& needle) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find(needle) != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::set<std::string> read_keys(const std::vector<Event>& events) {
  std::set<std::string> keys;
  for (const Event& e : events) {
    if (!e.tombstone && e.op == 'r') keys.insert(e.key);
  }
  return keys;
}

class OnlineSnapshot : public ::testing::Test {
 protected:
  explicit OnlineSnapshot(const PluginVariant& variant = wal2json_variant(), int throttle_rows_per_second = 0)
      : kafka_(1), pg_(cluster_options()) {
    for (const char* topic : {kSaasCustomerTopic, kSaasPlansTopic, kSaasAuditTopic}) {
      kafka_.create_topic(topic, kPartitions);
    }
    prepare_source(pg_, variant);
    DaemonConfig config(pg_.conninfo());
    apply_variant(config, variant);
    config.log_level = "info";
    config.status_interval_ms = 500;
    config.snapshot_mode = "never";  // the online snapshot is the only one
    config.audit = true;
    config.rollups = false;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    config.extra = "[snapshot]\nchunk_size = 1000\nthrottle_rows_per_second = " +
                   std::to_string(throttle_rows_per_second) + "\n";
    config_ = write_daemon_config(config);
  }

  static PgClusterOptions cluster_options() {
    PgClusterOptions options;
    options.extra_conf = {"track_commit_timestamp = on"};
    return options;
  }

  /// The table, then the shadow (changes from now on), then the daemon, ready for requests.
  void start(int customers) {
    PgConn conn = pg_.connect();
    populate(conn, customers);
    install_audit_shadow(pg_);
    start_daemon();
  }

  void start_daemon() {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config_, "run"});
    ASSERT_TRUE(daemon_->wait_for_output("streaming slot", kStartTimeout)) << daemon_->log_text();
    ASSERT_TRUE(daemon_->wait_for_output(kLogTakingRequests, kStartTimeout)) << daemon_->log_text();
  }

  RunResult cli(std::vector<std::string> args, std::chrono::milliseconds timeout = 60s) {
    args.insert(args.begin(), {"--config", config_});
    return DaemonProcess::run_to_completion(std::move(args), {}, timeout);
  }

  std::string request_state(const std::string& id) {
    return pg_.scalar("SELECT state FROM customer_cdc.online_snapshot WHERE id = $1", {id}).value_or("?");
  }
  std::int64_t rows_done(const std::string& id) {
    return std::stoll(pg_.scalar("SELECT rows_done FROM customer_cdc.online_snapshot WHERE id = $1", {id}).value_or("0"));
  }
  std::string last_request_id() {
    return pg_.scalar("SELECT max(id)::text FROM customer_cdc.online_snapshot").value_or("");
  }
  bool wait_state(const std::string& id, const std::string& state, std::chrono::milliseconds timeout = kSnapshotTimeout) {
    return wait_until([&] { return request_state(id) == state || !daemon_->running(); }, timeout, 100ms) &&
           request_state(id) == state;
  }

  std::size_t expected_messages_at_least() {
    return static_cast<std::size_t>(std::stoll(*pg_.scalar("SELECT count(*) FROM public.customer")));
  }

  MockKafka kafka_;
  PgCluster pg_;
  std::string config_;
  std::unique_ptr<DaemonProcess> daemon_;
};

// ---------------------------------------------------------------------------
// 1. A snapshot while the workload runs.

class OnlineSnapshotPlugins : public OnlineSnapshot, public ::testing::WithParamInterface<PluginVariant> {
 protected:
  OnlineSnapshotPlugins() : OnlineSnapshot(GetParam()) {}
};

TEST_P(OnlineSnapshotPlugins, UnderWorkload) {
  const int kCustomers = under_workload_rows();
  ASSERT_NO_FATAL_FAILURE(start(kCustomers));
  // Streaming: now and then a transaction the server streams (above its 64kB work memory).
  BackgroundWorkload workload(pg_, audited_small_transactions(16), snapshot_workload(GetParam().streaming ? 300 : 0));
  ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 50; }, 30s)) << workload.error();

  const RunResult snapshot = cli({"snapshot", "--wait"}, kSnapshotTimeout * std::max(1, kCustomers / 50000));
  EXPECT_EQ(snapshot.exit_code, 0) << snapshot.output << daemon_->log_text();
  EXPECT_NE(snapshot.output.find("state           done"), std::string::npos) << snapshot.output;
  const int during = workload.transactions();
  std::this_thread::sleep_for(300ms);
  workload.stop();
  ASSERT_EQ(workload.error(), "");
  std::cout << "[ workload ] " << workload.transactions() << " transactions (" << during
            << " before the snapshot finished)\n";
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon_.get()));

  const RunResult status = cli({"snapshot", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  std::cout << "[ status   ]\n" << status.output;
  for (const char* needle : {"progress: ", "online snapshot 1"}) {
    for (const std::string& line : log_lines_with(daemon_->log_text(), needle)) std::cout << "[ daemon   ] " << line << "\n";
  }
  EXPECT_NE(status.output.find("rows_done"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("rows_estimated"), std::string::npos) << status.output;

  const KafkaContent k = read_kafka(kafka_, expected_messages_at_least());
  EXPECT_TRUE(k.stats.complete) << "consumer did not reach the end of every partition";
  EXPECT_TRUE(kafka_state_equals_tables(pg_, k)) << differing_customer_stories(pg_, k);
  EXPECT_TRUE(sequence_never_regresses(k.customer));
  EXPECT_TRUE(sequence_never_regresses(k.plans));
  std::size_t repeats = 0;
  EXPECT_TRUE(kafka_matches_audit(pg_, k, &repeats));
  const AuditShadowComparison audit = compare_audit_with_shadow(pg_);
  EXPECT_GT(audit.ours, 0);
  EXPECT_EQ(audit.ours, audit.shadow);
  EXPECT_EQ(audit.differences, 0) << audit.first_differences;
  EXPECT_EQ(audit.missing + audit.extra, 0);
  const std::size_t reads = count_op(k.customer, 'r');
  EXPECT_GE(reads, static_cast<std::size_t>(kCustomers) * 9 / 10) << "reads dropped as changed: too many";
  for (const auto* topic : {&k.customer, &k.plans}) {
    for (const Event& e : *topic) {
      if (e.tombstone) continue;
      EXPECT_EQ(e.snapshot, e.op == 'r' ? "incremental" : "false") << e.key;
    }
  }
  EXPECT_EQ(count_op(k.plans, 'r'), static_cast<std::size_t>(std::stoll(*pg_.scalar("SELECT count(*) FROM public.plans"))));
  std::cout << "[ snapshot ] " << reads << " customer reads, " << repeats << " repeated events\n";
  expect_streaming_happened(pg_, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Plugins, OnlineSnapshotPlugins,
                         ::testing::Values(wal2json_variant(), pgoutput_variant(), streaming_variant()), variant_name);

// ---------------------------------------------------------------------------
// 2. kill -9, then a PostgreSQL restart, in the middle of the snapshot.

class OnlineSnapshotResume : public OnlineSnapshot, public ::testing::WithParamInterface<PluginVariant> {
 protected:
  OnlineSnapshotResume() : OnlineSnapshot(GetParam(), 10000) {}
};

TEST_P(OnlineSnapshotResume, Kill9AndPostgresRestartResume) {
  constexpr int kCustomers = 50000;
  ASSERT_NO_FATAL_FAILURE(start(kCustomers));
  BackgroundWorkload workload(pg_, audited_small_transactions(17), snapshot_workload());
  const RunResult request = cli({"snapshot"});
  ASSERT_EQ(request.exit_code, 0) << request.output;
  const std::string id = last_request_id();
  ASSERT_TRUE(wait_until([&] { return rows_done(id) >= 15000 || !daemon_->running(); }, kSnapshotTimeout))
      << daemon_->log_text();
  daemon_->kill9();
  ASSERT_TRUE(daemon_->wait_exit(10s));
  const std::int64_t done_at_kill = rows_done(id);
  EXPECT_EQ(request_state(id), "running");
  ASSERT_NO_FATAL_FAILURE(start_daemon());
  EXPECT_TRUE(daemon_->wait_for_output("resuming after", 30s)) << daemon_->log_text();
  // Then a PostgreSQL restart in the middle of the rest: the daemon reconnects and resumes again.
  ASSERT_TRUE(wait_until([&] { return rows_done(id) >= done_at_kill + 8000 || !daemon_->running(); }, kSnapshotTimeout))
      << daemon_->log_text();
  const std::int64_t done_at_restart = rows_done(id);
  pg_.restart("fast");
  ASSERT_TRUE(wait_state(id, "done")) << daemon_->log_text();
  EXPECT_TRUE(daemon_->running()) << daemon_->log_text();
  workload.stop();
  ASSERT_EQ(workload.error(), "");
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon_.get()));

  const KafkaContent k = read_kafka(kafka_, expected_messages_at_least());
  EXPECT_TRUE(k.stats.complete);
  EXPECT_TRUE(kafka_state_equals_tables(pg_, k)) << differing_customer_stories(pg_, k);
  EXPECT_TRUE(sequence_never_regresses(k.customer));
  std::size_t repeats = 0;
  EXPECT_TRUE(kafka_matches_audit(pg_, k, &repeats));
  const std::size_t reads = count_op(k.customer, 'r');
  std::cout << "[ resume   ] killed at " << done_at_kill << " rows done, PostgreSQL restarted at " << done_at_restart
            << "; " << reads << " customer reads for "
            << kCustomers << " rows\n";
  EXPECT_GT(done_at_kill, 0);
  EXPECT_LT(reads, static_cast<std::size_t>(kCustomers) * 12 / 10) << "the restart read too much again";
}

INSTANTIATE_TEST_SUITE_P(Plugins, OnlineSnapshotResume,
                         ::testing::Values(wal2json_variant(), pgoutput_variant()), variant_name);

// ---------------------------------------------------------------------------
// 3. --table, --where, refusal, cancel.

class OnlineSnapshotSlow : public OnlineSnapshot, public ::testing::WithParamInterface<PluginVariant> {
 protected:
  OnlineSnapshotSlow() : OnlineSnapshot(GetParam(), 4000) {}
};

TEST_P(OnlineSnapshotSlow, TableWhereRefusalAndCancel) {
  constexpr int kCustomers = 12000;
  ASSERT_NO_FATAL_FAILURE(start(kCustomers));

  // --table: only the plans.
  RunResult plans = cli({"snapshot", "--table", "public.plans", "--wait"});
  ASSERT_EQ(plans.exit_code, 0) << plans.output << daemon_->log_text();
  // --where: only the customers of plan 2.
  RunResult where = cli({"snapshot", "--table", "public.customer", "--where", "plan_id = 2", "--wait"}, kSnapshotTimeout);
  ASSERT_EQ(where.exit_code, 0) << where.output << daemon_->log_text();
  RunResult bad_where = cli({"snapshot", "--where", "no_such_column = 1"});
  EXPECT_EQ(bad_where.exit_code, 2) << bad_where.output;
  RunResult bad_table = cli({"snapshot", "--table", "public.audit_logs"});
  EXPECT_EQ(bad_table.exit_code, 2) << bad_table.output;
  // A condition that fails only on some rows: the request fails with the server's message, the daemon goes on.
  RunResult failing = cli({"snapshot", "--table", "public.customer", "--where", "1 / (plan_id - 2) > 0", "--wait"});
  EXPECT_EQ(failing.exit_code, 1) << failing.output;
  EXPECT_NE(failing.output.find("state           failed"), std::string::npos) << failing.output;
  EXPECT_NE(failing.output.find("division by zero"), std::string::npos) << failing.output;

  // A whole snapshot (3 s at 4000 rows/s): a second request is refused, then cancel.
  RunResult first = cli({"snapshot"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string id = last_request_id();
  RunResult second = cli({"snapshot", "--table", "public.plans"});
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("already"), std::string::npos) << second.output;
  ASSERT_TRUE(wait_until([&] { return rows_done(id) >= 2000 || !daemon_->running(); }, 60s)) << daemon_->log_text();
  RunResult cancel = cli({"snapshot", "--cancel"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_EQ(request_state(id), "cancelled");
  EXPECT_TRUE(daemon_->wait_for_output("cancelled after", 10s)) << daemon_->log_text();
  RunResult again = cli({"snapshot", "--cancel"});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon_.get()));
  const std::int64_t cancelled_at = rows_done(id);

  const KafkaContent k = read_kafka(kafka_, 1);
  // Only the --table snapshot read the plans: the cancelled one reads the customers first.
  EXPECT_EQ(count_op(k.plans, 'r'), static_cast<std::size_t>(std::stoll(*pg_.scalar("SELECT count(*) FROM public.plans"))));
  std::set<std::string> plan2;
  for (const Row& r : pg_.query("SELECT uuid::text FROM public.customer WHERE plan_id = 2")) plan2.insert(*r[0]);
  // The --where reads, then the cancelled snapshot's first chunks (all plans, in key order).
  const std::size_t customer_reads = count_op(k.customer, 'r');
  EXPECT_GE(customer_reads, plan2.size() + 2000);
  EXPECT_LT(customer_reads, plan2.size() + static_cast<std::size_t>(kCustomers)) << "the cancel did not stop it";
  std::size_t plan2_read = 0;
  for (const std::string& key : read_keys(k.customer)) plan2_read += plan2.contains(key) ? 1 : 0;
  EXPECT_EQ(plan2_read, plan2.size());
  std::cout << "[ cancel   ] cancelled at " << cancelled_at << " rows; " << customer_reads << " customer reads\n";
}

INSTANTIATE_TEST_SUITE_P(Plugins, OnlineSnapshotSlow, ::testing::Values(wal2json_variant(), pgoutput_variant()),
                         variant_name);

// ---------------------------------------------------------------------------
// 4. The throttle, from the rates the daemon reports, and the stream's lag while it runs.

/// The "<n> rows/s" figures of the daemon's log lines about online snapshot `id`.
std::vector<double> reported_rates(const std::string& log, const std::string& id) {
  std::vector<double> rates;
  for (const std::string& line : log_lines_with(log, "online snapshot " + id)) {
    const std::size_t unit = line.find(" rows/s");
    if (unit == std::string::npos) continue;
    const std::size_t start = line.find_last_of(' ', unit - 1) + 1;
    rates.push_back(std::stod(line.substr(start, unit - start)));
  }
  return rates;
}

class OnlineSnapshotThrottle : public OnlineSnapshot {
 protected:
  static constexpr int kRowsPerSecond = 2000;
  static constexpr std::int64_t kChunkRows = 1000;  // OnlineSnapshot's chunk_size
  OnlineSnapshotThrottle() : OnlineSnapshot(wal2json_variant(), kRowsPerSecond) {}
};

TEST_F(OnlineSnapshotThrottle, ThrottleBoundsRateAndStreamLag) {
  constexpr int kCustomers = 16000;  // 8 s at the throttle
  ASSERT_NO_FATAL_FAILURE(start(kCustomers));
  BackgroundWorkload workload(pg_, audited_small_transactions(18), snapshot_workload());
  // A transaction open (with an xid) all along: the chunks wait for it once, not before every SELECT.
  PgConn open_transaction = pg_.connect();
  open_transaction.exec("BEGIN");
  const std::string open_xid = *open_transaction.scalar("SELECT pg_current_xact_id()::text");
  const RunResult request = cli({"snapshot"});
  ASSERT_EQ(request.exit_code, 0) << request.output;
  const std::string id = last_request_id();

  // The daemon records a chunk as done only once the slot's acknowledged
  // position covers its high watermark, and reads at most 4 chunks ahead: so
  // 5 chunks after any moment, the stream has been acknowledged past the WAL
  // end of that moment. Checked at every such step while the snapshot runs.
  int lag_checks = 0;
  for (;;) {
    const std::int64_t done = rows_done(id);
    const std::string wal_end = *pg_.scalar("SELECT pg_current_wal_lsn()::text");
    ASSERT_TRUE(wait_until([&] { return rows_done(id) >= done + 5 * kChunkRows || request_state(id) == "done" ||
                                        !daemon_->running(); },
                           kSnapshotTimeout))
        << daemon_->log_text();
    if (rows_done(id) < done + 5 * kChunkRows) break;
    EXPECT_TRUE(wait_until([&] {
      return pg_.scalar("SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2",
                        {wal_end, kDefaultSlot}) == "t";
    }, 30s)) << "the stream fell behind the snapshot: " << slot_diagnostics(pg_, daemon_.get());
    ++lag_checks;
  }
  ASSERT_TRUE(wait_state(id, "done")) << daemon_->log_text();
  open_transaction.exec("ROLLBACK");
  workload.stop();
  ASSERT_EQ(workload.error(), "");
  EXPECT_GE(lag_checks, 2);
  EXPECT_EQ(log_lines_with(daemon_->log_text(), "transaction " + open_xid + " still runs").size(), 1u)
      << daemon_->log_text();

  // The throttle paces each chunk before the next one: a rate the daemon
  // reports (rows read by this run over its time) never exceeds it.
  const std::vector<double> rates = reported_rates(daemon_->log_text(), id);
  ASSERT_FALSE(rates.empty()) << daemon_->log_text();
  for (const double rate : rates) {
    EXPECT_GT(rate, 0);
    EXPECT_LE(rate, kRowsPerSecond) << daemon_->log_text();
  }
  std::cout << "[ throttle ] " << rates.size() << " rates reported, last " << rates.back() << " rows/s; "
            << lag_checks << " lag checks\n";
}

}  // namespace
}  // namespace cdc::testing
