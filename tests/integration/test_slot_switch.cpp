// `customer-cdc slot switch` (README "Choosing a plugin", docs/plugins.md):
// a running installation moves from a wal2json slot to a pgoutput slot while
// the application keeps writing, and loses and repeats nothing.
//
//   daemon on wal2json -> SIGTERM -> `slot switch --from <old>` -> daemon on
//   pgoutput -> workload stops -> caught up
//
// Then, against references the daemon has no part in: public.audit_logs equals
// the seed trigger's shadow (support/audit_shadow), the rollups equal the
// recomputation (support/rollup_check), and Kafka holds every change exactly
// once per key in commit order (support/kafka_verify against a wal2json
// oracle slot, with no repeat at all). A second test interrupts the switch
// (kill -9 while it delivers a backlog) and runs it again.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "support/audit_shadow.hpp"
#include "support/background_workload.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/kafka_verify.hpp"
#include "support/pg_cluster.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/wal_oracle.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kOldSlot = "customer_cdc";
constexpr const char* kNewSlot = "customer_cdc_pgoutput";
constexpr const char* kOracleSlot = "test_switch_oracle";
const CdcTopics kTopics(4);

WorkloadKnobs switch_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::SignUp, 10},         {Statement::InsertOnPlan, 6}, {Statement::ResourceUpdate, 25},
               {Statement::KeyEdit, 4},         {Statement::PlanChange, 16},  {Statement::SameRowChanges, 12},
               {Statement::Delete, 7},          {Statement::PriceChange, 4},  {Statement::Unrelated, 4},
               {Statement::RolledBack, 3},      {Statement::Savepoint, 3}};
  knobs.customers_per_statement = {1, 3};
  knobs.min_customers = 40;
  knobs.email_domain = "switch.test";
  return knobs;
}

/// The application (support/background_workload): any error stops it.
BackgroundWorkloadOptions switch_workload() {
  BackgroundWorkloadOptions options;
  options.pause = [](Workload& workload) { return std::chrono::milliseconds(workload.pick(0, 4)); };
  return options;
}

/// Kafka, the source with its references (shadow, rollup triggers, oracle
/// slot), and the two configurations of the daemon.
class SwitchEnv {
 public:
  SwitchEnv() : pg_(cluster_options()) {
    kTopics.create(kafka_);
    install_audit_shadow(pg_);
    rollup_check::install_rollup_shadow(pg_);
    create_oracle_slot(pg_, kOracleSlot);
    old_config_ = write_daemon_config(daemon_config(kOldSlot, "wal2json"));
    new_config_ = write_daemon_config(daemon_config(kNewSlot, "pgoutput"));
  }

  PgCluster& pg() { return pg_; }
  MockKafka& kafka() { return kafka_; }

  std::unique_ptr<DaemonProcess> start_daemon(bool new_side) {
    auto daemon =
        std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", new_side ? new_config_ : old_config_, "run"});
    EXPECT_TRUE(daemon->wait_for_output("streaming slot", 60s)) << tail_lines(daemon->log_text(), 30);
    return daemon;
  }
  /// `slot switch --from <old slot>` with the new configuration, as a child process.
  std::unique_ptr<DaemonProcess> start_switch() {
    return std::make_unique<DaemonProcess>(
        std::vector<std::string>{"--config", new_config_, "slot", "switch", "--from", kOldSlot});
  }
  RunResult run_switch() { return run_new({"slot", "switch", "--from", kOldSlot}); }
  /// A command with the new configuration.
  RunResult run_new(std::vector<std::string> command) {
    command.insert(command.begin(), {"--config", new_config_});
    return DaemonProcess::run_to_completion(command, {}, 180s);
  }

 private:
  static PgClusterOptions cluster_options() {
    PgClusterOptions options;
    options.extra_conf = {"track_commit_timestamp = on", "max_wal_senders = 10", "max_replication_slots = 10"};
    return options;
  }

  DaemonConfig daemon_config(const std::string& slot, const std::string& plugin) const {
    DaemonConfig config(pg_.conninfo());
    config.slot = slot;
    config.plugin = plugin;
    config.log_level = "info";
    config.status_interval_ms = 1000;
    config.audit = true;
    config.rollups = true;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    return config;
  }

  MockKafka kafka_;
  PgCluster pg_;
  std::string old_config_;
  std::string new_config_;
};

void stop_daemon(DaemonProcess& daemon) {
  daemon.terminate();
  EXPECT_EQ(daemon.wait_exit(60s), 0) << tail_lines(daemon.log_text(), 30);
}

/// The position the switch created the new slot at (its "1. created slot" line).
Lsn switch_position(const std::string& output) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex("created slot \"[a-z_]+\" \\(pgoutput\\) at ([0-9A-F]+/[0-9A-F]+)"))) {
    return 0;
  }
  return parse_lsn(match[1].str()).value_or(0);
}

/// Audit vs the shadow, rollups vs the recomputation, Kafka vs the oracle;
/// `exactly_once`: not even the repeats a crash allows.
void verify_everything(SwitchEnv& env, KafkaCollector& collector, WalOracle& oracle, bool exactly_once) {
  PgCluster& pg = env.pg();
  oracle.peek(pg.conn());
  ASSERT_TRUE(collector.wait_caught_up(120s));
  collector.stop();

  const AuditShadowComparison audit = compare_audit_with_shadow(pg);
  EXPECT_EQ(audit.missing, 0) << audit.first_differences;
  EXPECT_EQ(audit.extra, 0) << audit.first_differences;
  EXPECT_EQ(audit.differences, 0) << audit.first_differences;
  EXPECT_EQ(audit.distinct_lsn, audit.ours);
  EXPECT_GT(audit.shadow, 200);

  using namespace rollup_check;
  EXPECT_TRUE(same_rows(pg, "plan_rollup", kExpectedPlanRollup, kActualPlanRollup));
  EXPECT_TRUE(same_rows(pg, "plan_changes_daily vs audit", kPlanChangesFromAudit, kActualPlanChanges));
  EXPECT_TRUE(same_rows(pg, "usage_daily (summed over days)",
                        without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
                        without_day(kActualUsage, "customer_uuid, resource", "consumed")));

  const KafkaVerification kafka = verify_kafka(pg, oracle, collector);
  EXPECT_EQ(kafka.counts.missing, 0u) << kafka.details.str();
  EXPECT_EQ(kafka.counts.out_of_order, 0u) << kafka.details.str() << collector.bad_messages().str();
  EXPECT_EQ(collector.offset_gaps(), 0u) << collector.bad_messages().str();
  if (exactly_once) {
    EXPECT_EQ(kafka.counts.redelivered, 0u) << "a change was published twice";
  }
  EXPECT_GT(kafka.counts.keys, 100u);
}

/// Each test starts with the daemon streaming the old (wal2json) slot, and the
/// references reading along.
class SlotSwitch : public ::testing::Test {
 protected:
  SwitchEnv env;
  PgCluster& pg = env.pg();
  std::unique_ptr<DaemonProcess> old_daemon = env.start_daemon(false);
  KafkaCollector collector{env.kafka(), kTopics};
  WalOracle oracle{kOracleSlot};
};

TEST_F(SlotSwitch, Wal2jsonToPgoutputUnderWritesLosesAndRepeatsNothing) {
  BackgroundWorkload workload(pg, switch_knobs(20261202), switch_workload());
  ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 300; }, 60s)) << workload.error();
  stop_daemon(*old_daemon);
  // The application goes on: what it commits now waits in the old slot, up
  // to the switch's position, and in the new slot from there on.
  ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 500; }, 60s)) << workload.error();

  const RunResult switched = env.run_switch();
  std::cout << "[slot switch]\n" << switched.output << std::endl;
  ASSERT_EQ(switched.exit_code, 0) << switched.output;
  const Lsn position = switch_position(switched.output);
  ASSERT_NE(position, 0u) << switched.output;
  EXPECT_NE(switched.output.find("3. moved the checkpoint"), std::string::npos) << switched.output;
  EXPECT_NE(switched.output.find("4. dropped slot \"customer_cdc\""), std::string::npos) << switched.output;
  EXPECT_NE(switched.output.find("switch complete"), std::string::npos) << switched.output;
  EXPECT_EQ(pg.scalar("SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = $1", {kOldSlot}), "0");

  auto new_daemon = env.start_daemon(true);
  const int at_new_start = workload.transactions();
  ASSERT_TRUE(wait_until([&] { return workload.transactions() >= at_new_start + 200; }, 60s)) << workload.error();
  workload.stop();
  EXPECT_EQ(workload.error(), "");
  ASSERT_TRUE(wait_slot_caught_up(pg, new_daemon.get(), 180s, kNewSlot));
  stop_daemon(*new_daemon);

  verify_everything(env, collector, oracle, /*exactly_once=*/true);
  // Not vacuous: the old slot delivered transactions committed after its
  // daemon stopped, and the new slot those from the switch's position on.
  std::size_t below = 0, above = 0;
  for (const WalTxn& txn : oracle.txns()) (txn.commit_lsn < position ? below : above) += 1;
  EXPECT_GT(above, 100u);
  EXPECT_GT(below, 100u);
  EXPECT_EQ(switched.output.find("delivered 0 transactions"), std::string::npos) << switched.output;
}

TEST_F(SlotSwitch, RefusedWhileUnsafeAndSafeToRunAgainAfterAKill) {
  // The new slot made ahead of time, while the old daemon goes on past it.
  ASSERT_EQ(env.run_new({"migrate"}).exit_code, 0);
  const RunResult created = env.run_new({"slot", "create"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  {
    BackgroundWorkload workload(pg, switch_knobs(7), switch_workload());
    ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 200; }, 60s)) << workload.error();
  }
  const RunResult running = env.run_switch();
  EXPECT_EQ(running.exit_code, 1) << running.output;
  EXPECT_NE(running.output.find("stop the daemon"), std::string::npos) << running.output;
  ASSERT_TRUE(wait_slot_caught_up(pg, old_daemon.get(), 60s, kOldSlot));
  stop_daemon(*old_daemon);
  const RunResult behind = env.run_switch();
  EXPECT_EQ(behind.exit_code, 1) << behind.output;
  EXPECT_NE(behind.output.find("would be delivered twice"), std::string::npos) << behind.output;
  EXPECT_EQ(pg.scalar("SELECT count(*)::text FROM pg_replication_slots WHERE slot_name = $1", {kOldSlot}), "1");
  ASSERT_EQ(env.run_new({"slot", "drop"}).exit_code, 0);

  // A backlog for the old slot, so that the switch is killed while it delivers it.
  {
    PgConn conn = pg.connect();
    Workload workload(switch_knobs(8));
    workload.load(conn);
    workload.run(conn, 100);
    workload.execute(conn, workload.big(Big::Fill, 30000));
    workload.run(conn, 100);
  }
  {
    // Killed once part of the backlog is committed.
    const std::string audit_rows = "SELECT count(*)::text FROM public.audit_logs";
    const Value before = pg.scalar(audit_rows);
    auto interrupted = env.start_switch();
    ASSERT_TRUE(wait_until([&] { return pg.scalar(audit_rows) != before; }, 60s, 10ms)) << interrupted->log_text();
    interrupted->kill9();
    interrupted->wait_exit(10s);
  }
  // Killed in step 2: the new slot exists, the old one has not delivered everything before it.
  EXPECT_EQ(pg.scalar("SELECT (o.confirmed_flush_lsn < n.confirmed_flush_lsn)::text FROM pg_replication_slots o, "
                      "pg_replication_slots n WHERE o.slot_name = $1 AND n.slot_name = $2",
                      {kOldSlot, kNewSlot}),
            "true")
      << "the test did not interrupt the delivery";
  // The killed process's server processes let go of the slot and the writer
  // lock once they see its connections gone.
  ASSERT_TRUE(wait_until(
      [&] {
        return pg.scalar("SELECT (SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = $1) + "
                         "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')",
                         {kOldSlot}) == "0";
      },
      30s));
  const RunResult resumed = env.run_switch();
  std::cout << "[slot switch, again after kill -9]\n" << resumed.output << std::endl;
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("exists at 0/"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("switch complete"), std::string::npos) << resumed.output;
  const RunResult again = env.run_switch();
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("the switch is complete"), std::string::npos) << again.output;

  auto new_daemon = env.start_daemon(true);
  {
    BackgroundWorkload workload(pg, switch_knobs(9), switch_workload());
    ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 200; }, 60s)) << workload.error();
  }
  ASSERT_TRUE(wait_slot_caught_up(pg, new_daemon.get(), 180s, kNewSlot));
  stop_daemon(*new_daemon);
  // kill -9 may repeat on Kafka what was delivered but not yet acknowledged
  // (as after any crash); audit rows and rollups are exact.
  verify_everything(env, collector, oracle, /*exactly_once=*/false);
}

/// `config` written to a file (`path`) and its slot created (`slot create`);
/// then `before` transactions, the end position (`end`: the WAL end then),
/// `at_end()`, and `after` more transactions.
struct AroundEnd {
  std::string path;
  std::string end;
};
AroundEnd workload_around_end(PgCluster& pg, const DaemonConfig& config, std::uint32_t seed, int before, int after,
                              const std::function<void()>& at_end = {}) {
  AroundEnd out{write_daemon_config(config), ""};
  EXPECT_EQ(DaemonProcess::run_to_completion({"--config", out.path, "slot", "create"}).exit_code, 0);
  PgConn conn = pg.connect();
  Workload workload(switch_knobs(seed));
  workload.load(conn);
  workload.run(conn, before);
  out.end = *pg.scalar("SELECT pg_current_wal_lsn()::text");
  if (at_end) at_end();
  workload.run(conn, after);
  return out;
}

TEST(EndLsn, RunStopsWithEverythingCommittedBeforeItDelivered) {
  PgCluster pg;
  install_audit_shadow(pg);
  DaemonConfig config(pg.conninfo());
  config.slot = kOldSlot;
  config.rollups = false;
  // The workload is sequential: the shadow holds exactly the rows of what committed before `end`.
  Value expected;
  const auto [path, end] = workload_around_end(pg, config, 11, 150, 100, [&] {
    expected = pg.scalar("SELECT count(*)::text FROM test_shadow.audit_logs");
  });

  const RunResult run = DaemonProcess::run_to_completion({"--config", path, "run", "--end-lsn", end}, {}, 120s);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("end position " + end + " reached"), std::string::npos) << run.output;
  EXPECT_EQ(pg.scalar("SELECT count(*)::text FROM public.audit_logs"), expected);
  EXPECT_GT(std::stoi(expected.value_or("0")), 100);
  EXPECT_EQ(slot_confirmed_lsn(pg, kOldSlot), end);
}

// Kafka cannot confirm before the end position (its broker is down): the
// session that passed it ends with EndNotAcknowledged and is retried; once
// the broker is back, a later session delivers the rest and the run ends.
TEST(EndLsn, RetriedUntilKafkaConfirmsEverythingBeforeIt) {
  PgCluster pg;
  install_audit_shadow(pg);  // (and the uncaptured table the workload writes)
  MockKafka kafka;
  kTopics.create(kafka);
  DaemonConfig config(pg.conninfo());
  config.slot = kOldSlot;
  config.rollups = false;
  config.snapshot_mode = "never";
  config.kafka = true;
  config.brokers = kafka.bootstraps();
  config.topic_prefix = "saas";
  const auto [path, end] = workload_around_end(pg, config, 12, 60, 20);

  kafka.broker_down(1);
  DaemonProcess run({"--config", path, "run", "--end-lsn", end});
  ASSERT_TRUE(run.wait_for_output("but the sinks confirmed only up to", 60s)) << tail_lines(run.log_text(), 30);
  EXPECT_TRUE(run.running()) << "EndNotAcknowledged must be retried\n" << tail_lines(run.log_text(), 30);
  EXPECT_NE(slot_confirmed_lsn(pg, kOldSlot), end);
  kafka.broker_up(1);

  EXPECT_EQ(run.wait_exit(180s), 0) << tail_lines(run.log_text(), 30);
  EXPECT_NE(run.log_text().find("end position " + end + " reached"), std::string::npos) << run.log_text();
  EXPECT_EQ(slot_confirmed_lsn(pg, kOldSlot), end);
  // Every audit row (what committed before the end) is on the audit topic.
  const std::size_t audit_rows = std::stoul(*pg.scalar("SELECT count(*) FROM public.audit_logs"));
  EXPECT_GT(audit_rows, 30u);
  ConsumeStats stats;
  const std::vector<KafkaMessage> messages = kafka.consume_all({kTopics.audit}, audit_rows, 60s, &stats);
  EXPECT_TRUE(stats.complete);
  std::set<std::string> keys_and_values;
  for (const KafkaMessage& m : messages) keys_and_values.insert(m.key.value_or("") + m.value.value_or(""));
  EXPECT_EQ(keys_and_values.size(), audit_rows);
}

TEST(SlotSwitchUsage, ErrorsExitTwo) {
  const std::map<std::string, std::string> env = {{"CUSTOMER_CDC_POSTGRES_SLOT", "cdc_new"}};
  const RunResult same = DaemonProcess::run_to_completion({"slot", "switch", "--from", "cdc_new"}, env, 30s);
  EXPECT_EQ(same.exit_code, 2) << same.output;
  EXPECT_NE(same.output.find("that is postgres.slot"), std::string::npos) << same.output;
  const RunResult missing = DaemonProcess::run_to_completion({"slot", "switch"}, env, 30s);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  const RunResult bad_lsn = DaemonProcess::run_to_completion({"run", "--end-lsn", "16B3748"}, env, 30s);
  EXPECT_EQ(bad_lsn.exit_code, 2) << bad_lsn.output;
  EXPECT_NE(bad_lsn.output.find("--end-lsn 16B3748: not a WAL position"), std::string::npos) << bad_lsn.output;
}

}  // namespace
}  // namespace cdc::testing
