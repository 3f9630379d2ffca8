// Chaos / soak test (issue 8): a seeded random workload on public.customer and
// public.plans runs for a bounded time while a fault loop keeps hurting the
// pipeline at random:
//
//   kill -9 of the daemon (restarted), SIGTERM (must exit 0; restarted),
//   pg_terminate_backend of its walsender and of its sink connection, a
//   PostgreSQL fast restart, retriable Produce errors from the mock broker,
//   and the broker going down and coming back (half of the time with a kill -9
//   of the daemon while it is down).
//
// The daemon runs with audit + rollups + Kafka (librdkafka's mock cluster in
// this process). At the end (workload and faults stopped, the slot
// acknowledged up to pg_current_wal_lsn()) three things are proven against
// references the daemon has no part in:
//
//   (a) public.audit_logs equals the shadow of the seed trigger
//       (support/audit_shadow): nothing lost, nothing duplicated, same order;
//   (b) analytics.* equal the test's recomputation (support/rollup_check);
//   (c) Kafka: per key, the topic holds every change at least once, in commit
//       order (support/kafka_verify: verify_kafka() says exactly what
//       repeats are allowed; its KafkaCollector reads the topics during the
//       whole run, since the mock broker trims old messages). The expected
//       per-key sequences come from a second wal2json slot that the test
//       itself reads (peek + advance, in chunks, during the run), and for the
//       audit topic from public.audit_logs once (a) has proven it.
//
// Runs once per plugin variant (wal2json, pgoutput binary with streaming).
// Environment: CDC_CHAOS_SECONDS (length of the fault loop, default 70 per variant),
// CDC_CHAOS_SEED (default: random; always printed), CDC_CHAOS_KAFKA_INFLIGHT
// (the producer's max.in.flight.requests.per.connection, default 1: see
// ChaosRun), CDC_CHAOS_TAMPER=1 (a
// self-test: corrupts each result once after the run, so that every
// difference counter must come out above 0 and the test fail). One summary line
// "chaos: seed=... | differences: ..." is printed; every difference must be 0
// and every fault kind must have been injected at least once.

#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/audit_shadow.hpp"
#include "support/background_workload.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/kafka_verify.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/wal_oracle.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSlot = "customer_cdc";
constexpr const char* kOracleSlot = "test_chaos_oracle";
// The mock broker keeps at most 5 MiB per partition: the test consumes while
// the run goes on, and more partitions give more headroom.
const CdcTopics kTopics(6);

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// ---------------------------------------------------------------------------
// The end-of-run comparison (b); (a) is support/audit_shadow, (c) support/kafka_verify.

/// analytics.* against the recomputation (support/rollup_check); returns the
/// number of differing rows, with the first differences in `report`.
std::int64_t compare_rollups(PgCluster& pg, bool same_day, std::string& report) {
  using namespace rollup_check;
  std::int64_t diff = 0;
  auto compare = [&](const std::string& what, const std::string& expected, const std::string& actual) {
    std::int64_t n = 0;
    const ::testing::AssertionResult r = same_rows(pg, what, expected, actual, &n);
    diff += n;
    if (!r) report += std::string(r.message()) + "\n";
  };
  compare("plan_rollup vs customers * price", kExpectedPlanRollup, kActualPlanRollup);
  compare("plan_changes_daily vs audit history", kPlanChangesFromAudit, kActualPlanChanges);
  if (same_day) {
    compare("plan_changes_daily vs test trigger", kPlanChangesFromShadow, kActualPlanChanges);
    compare("usage_daily vs test trigger", kUsageFromShadow, kActualUsage);
  } else {
    compare("plan_changes_daily vs test trigger (summed over days)", without_day(kPlanChangesFromShadow, "f, t", "n"),
            without_day(kActualPlanChanges, "f, t", "n"));
    compare("usage_daily vs test trigger (summed over days)",
            without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
            without_day(kActualUsage, "customer_uuid, resource", "consumed"));
  }
  return diff;
}

// ---------------------------------------------------------------------------
// The workload (support/background_workload): one connection, one transaction
// at a time (so that the audit shadow's id order is the commit order),
// reconnecting after faults.

WorkloadKnobs chaos_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::SignUp, 10},        {Statement::InsertOnPlan, 6},    {Statement::ResourceUpdate, 23},
               {Statement::KeyEdit, 5},        {Statement::SameValueUpdate, 2}, {Statement::PlanChange, 16},
               {Statement::SameRowChanges, 14}, {Statement::Delete, 7},          {Statement::PriceChange, 6},
               {Statement::MetadataUpdate, 4}, {Statement::RolledBack, 3},      {Statement::Savepoint, 4}};
  // Now and then a price change inside a transaction of customer changes.
  knobs.long_chance = 0.05;
  knobs.long_statements = {2, 4};
  knobs.customers_per_statement = {1, 4};
  knobs.rows_per_insert = {1, 3};
  knobs.deletes_per_statement = {1, 2};
  knobs.min_customers = 50;
  knobs.email_domain = "chaos.test";
  return knobs;
}

/// The starting population first, then now and then a big transaction.
class ChaosTransactions {
 public:
  WorkloadTransaction operator()(Workload& workload, int done) {
    if (until_big_ < 0) until_big_ = workload.pick(60, 200);
    if (done == 0) return workload.big(Big::SignUps, 800);
    if (until_big_ == 0) {
      until_big_ = workload.pick(100, 300);
      switch (workload.pick(0, 3)) {
        case 0:
          return workload.big(Big::SignUps, workload.pick(300, 1500));
        case 1:
          return workload.big(Big::Consume, workload.pick(500, 2500));
        case 2:
          return workload.big(Big::PlanMoves, workload.pick(300, 1200));
        default:
          return workload.big(Big::Deletes, workload.pick(100, 500));
      }
    }
    --until_big_;
    return workload.next();
  }

 private:
  /// Small transactions before the next big one (-1: not drawn yet).
  int until_big_ = -1;
};

/// Reconnects after faults; an SQL error is counted (the test expects none) and the workload goes on.
BackgroundWorkloadOptions chaos_workload() {
  BackgroundWorkloadOptions options;
  options.recovery = WorkloadRecovery::Continue;
  options.next = ChaosTransactions();
  options.pause = [](Workload& workload) { return std::chrono::milliseconds(workload.pick(0, 6)); };
  options.statement_timeout = 60s;
  return options;
}

// ---------------------------------------------------------------------------
// The run: mock Kafka, the cluster, the daemon (restarted after faults), logs.

class ChaosRun {
 public:
  explicit ChaosRun(const PluginVariant& variant) : kafka_(1), pg_(cluster_options()) {
    kTopics.create(kafka_);
    install_audit_shadow(pg_);
    rollup_check::install_rollup_shadow(pg_);
    prepare_source(pg_, variant);
    create_oracle_slot(pg_, kOracleSlot);
    DaemonConfig config(pg_.conninfo());
    apply_variant(config, variant);
    config.log_level = "info";
    config.slot = kSlot;
    config.status_interval_ms = 1000;
    config.audit = true;
    config.rollups = true;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    // librdkafka's mock broker does not check the idempotent producer's
    // sequence numbers (it only does for transactional producers): when an
    // injected retriable error fails one Produce request while later ones of
    // the same partition are in flight, those are appended and the retried
    // batch lands after them. A real broker rejects the later batches
    // (OUT_OF_ORDER_SEQUENCE_NUMBER) and the client resends them in order.
    // One request in flight keeps the mock in order; CDC_CHAOS_KAFKA_INFLIGHT=5
    // (librdkafka's idempotent maximum) shows the effect (see the issue notes).
    const std::string in_flight = env_or("CDC_CHAOS_KAFKA_INFLIGHT", "1");
    config.kafka_properties = "\"max.in.flight.requests.per.connection\" = \"" + in_flight + "\"";
    config_ = write_daemon_config(config);
    char dir[] = "/tmp/cdc-chaos-XXXXXX";
    if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    log_dir_ = dir;
    daemon_log_ = log_dir_ + "/daemons.log";
  }

  ~ChaosRun() {
    retire_daemon();
    if (current_test_failed() || keep_test_artifacts()) {
      std::cout << "[chaos] logs of every daemon run kept in " << daemon_log_ << ", fault timeline in " << log_dir_
                << "/faults.log" << std::endl;
    } else {
      std::error_code ec;
      std::filesystem::remove_all(log_dir_, ec);
    }
  }

  static PgClusterOptions cluster_options() {
    PgClusterOptions options;
    options.extra_conf = {"track_commit_timestamp = on", "max_wal_senders = 10", "max_replication_slots = 10"};
    return options;
  }

  MockKafka& kafka() { return kafka_; }
  PgCluster& pg() { return pg_; }
  DaemonProcess& daemon() { return *daemon_; }
  const std::string& daemon_log() const { return daemon_log_; }
  int daemon_starts() const { return starts_; }

  void start_daemon() {
    retire_daemon();
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config_, "run"});
    ++starts_;
  }

  /// Appends the daemon's log to the combined log and drops it.
  void retire_daemon() {
    if (!daemon_) return;
    if (daemon_->running()) {
      daemon_->kill9();
      daemon_->wait_exit(10s);
    }
    std::ofstream out(daemon_log_, std::ios::app);
    out << "==== daemon run #" << starts_ << " (pid " << daemon_->pid() << ", exit "
        << daemon_->exit_status().value_or(-1) << ") ====\n"
        << daemon_->log_text();
    daemon_.reset();
  }

  /// A line in the fault timeline (UTC, like the daemon's log lines).
  void log_event(const std::string& what) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
    std::ofstream out(log_dir_ + "/faults.log", std::ios::app);
    out << stamp << "." << std::setw(3) << std::setfill('0') << ms << "Z " << what << " (daemon run #" << starts_
        << ")\n";
  }

  bool wait_streaming(std::chrono::milliseconds timeout) {
    return wait_until(
        [&] { return !daemon_->running() || daemon_->log_text().find("streaming slot") != std::string::npos; },
        timeout, 50ms) &&
           daemon_->running();
  }

  std::string diagnostics() {
    return slot_diagnostics(pg_, daemon_.get(), kSlot, 40) + slot_diagnostics(pg_, nullptr, kOracleSlot);
  }

 private:
  MockKafka kafka_;
  PgCluster pg_;
  std::string config_;
  std::string log_dir_;
  std::string daemon_log_;
  std::unique_ptr<DaemonProcess> daemon_;
  int starts_ = 0;
};

// ---------------------------------------------------------------------------
// Faults: one table row per kind (name, weight, action). An action returns
// whether the fault was injected; what went wrong goes to `problems`.

/// What a fault acts on, and what it counts besides its own injections.
struct FaultScene {
  ChaosRun& run;
  std::mt19937& rng;
  Details& problems;
  int kill9 = 0;  ///< extra kill -9s (broker_down_up kills the daemon half of the time)
  int kill9_while_broker_down = 0;
  int sigterm_failures = 0;

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
};

struct FaultKind {
  const char* name;
  int weight;  ///< relative frequency after every kind ran once
  bool (*inject)(FaultScene&);
};

bool inject_kill9(FaultScene& s) {
  s.run.daemon().kill9();
  if (s.run.daemon().wait_exit(10s) != 128 + SIGKILL) s.problems.add("kill -9: unexpected exit status");
  s.run.start_daemon();
  return true;
}

bool inject_sigterm(FaultScene& s) {
  // A SIGTERM that arrives before the daemon installed its handler (just
  // after a restart; slow under the sanitizers) ends it by the default
  // action, exit 143, before it did anything: what the fault is about is the
  // stop of a running daemon.
  if (!s.run.daemon().wait_handles_signal(SIGTERM, 30s)) s.problems.add("SIGTERM: no handler installed within 30 s");
  s.run.daemon().terminate();
  const std::optional<int> status = s.run.daemon().wait_exit(60s);
  if (status != 0) {
    ++s.sigterm_failures;
    s.problems.add("SIGTERM: exit status " + (status ? std::to_string(*status) : std::string("(hung)")) + ": " +
                   tail_lines(s.run.daemon().log_text(), 8));
  }
  s.run.start_daemon();
  return true;
}

bool inject_walsender_kill(FaultScene& s) {
  bool done = false;
  wait_until(
      [&] {
        try {
          done = s.run.pg().scalar("SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots "
                                   "WHERE slot_name = $1 AND active_pid IS NOT NULL",
                                   {kSlot}) == "true";
        } catch (const std::exception&) {
        }
        return done;
      },
      75s, 100ms);  // the daemon may be in its reconnect backoff (up to 30 s)
  if (!done) s.problems.add("walsender_kill: the daemon's walsender did not show up within 75 s");
  return done;
}

bool inject_sink_conn_kill(FaultScene& s) {
  Value killed;
  wait_until(
      [&] {
        try {
          killed = s.run.pg().scalar(
              "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text FROM pg_stat_activity "
              "WHERE application_name = 'customer-cdc' AND backend_type = 'client backend' "
              "AND pid <> pg_backend_pid()");
        } catch (const std::exception&) {
        }
        return killed && *killed != "0";
      },
      75s, 100ms);
  const bool done = killed && *killed != "0";
  if (!done) s.problems.add("sink_conn_kill: no client connection of the daemon within 75 s");
  return done;
}

bool inject_pg_restart(FaultScene& s) {
  try {
    s.run.pg().restart("fast");
    return true;
  } catch (const std::exception& e) {
    s.problems.add(std::string("pg restart failed: ") + e.what());
    try {
      s.run.pg().start();
    } catch (const std::exception&) {
    }
    return false;
  }
}

bool inject_broker_errors(FaultScene& s) {
  static const std::array<rd_kafka_resp_err_t, 4> kRetriable = {
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE};
  s.run.kafka().push_produce_errors(static_cast<std::size_t>(s.pick(3, 30)),
                                    kRetriable[static_cast<std::size_t>(s.pick(0, 3))]);
  return true;
}

bool inject_broker_down_up(FaultScene& s) {
  // Half of the time the daemon is also killed while the broker is down:
  // Postgres then holds changes that Kafka never got, and the restart must
  // deliver them (README "Data flow": the acknowledged position is the lowest
  // position every sink holds durably).
  const bool kill_while_down = s.pick(0, 1) == 0;
  s.run.kafka().broker_down(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(s.pick(500, 4000)));
  if (kill_while_down) {
    s.run.log_event("kill -9 while the broker is down");
    s.run.daemon().kill9();
    s.run.daemon().wait_exit(10s);
    ++s.kill9;
    ++s.kill9_while_broker_down;
    std::this_thread::sleep_for(std::chrono::milliseconds(s.pick(0, 1000)));
  }
  s.run.kafka().broker_up(1);
  s.run.log_event("broker up");
  if (kill_while_down) s.run.start_daemon();
  return true;
}

/// kill9 first: broker_down_up counts its kills there.
constexpr std::array<FaultKind, 7> kFaults = {{
    {"kill9", 1, inject_kill9},
    {"sigterm", 1, inject_sigterm},
    {"walsender_kill", 1, inject_walsender_kill},
    {"sink_conn_kill", 1, inject_sink_conn_kill},
    {"pg_restart", 1, inject_pg_restart},
    {"broker_errors", 1, inject_broker_errors},
    {"broker_down_up", 1, inject_broker_down_up},
}};
constexpr std::size_t kFaultKinds = kFaults.size();

/// Every kind once in a random order, then kinds at random by weight.
class FaultSchedule {
 public:
  explicit FaultSchedule(std::mt19937& rng) : rng_(rng) {
    for (std::size_t i = 0; i < kFaultKinds; ++i) order_.push_back(static_cast<int>(i));
    std::shuffle(order_.begin(), order_.end(), rng_);
  }
  std::size_t next() {
    if (next_in_order_ < order_.size()) return static_cast<std::size_t>(order_[next_in_order_++]);
    int total = 0;
    for (const FaultKind& f : kFaults) total += f.weight;
    int roll = std::uniform_int_distribution<int>(0, total - 1)(rng_);
    for (std::size_t i = 0; i < kFaultKinds; ++i) {
      if (roll < kFaults[i].weight) return i;
      roll -= kFaults[i].weight;
    }
    return kFaultKinds - 1;
  }

 private:
  std::mt19937& rng_;
  std::vector<int> order_;
  std::size_t next_in_order_ = 0;
};

/// wal2json, and pgoutput in binary mode (its text mode shares every code
/// path but the value conversion, which the differential covers).
class Chaos : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(Chaos, RandomFaultsLoseAndDuplicateNothing) {
  const int seconds = std::stoi(env_or("CDC_CHAOS_SECONDS", "70"));
  const std::uint32_t seed = static_cast<std::uint32_t>(
      std::stoul(env_or("CDC_CHAOS_SEED", std::to_string(std::random_device{}()))));
  std::cout << "[chaos] seed=" << seed << " duration=" << seconds << "s (CDC_CHAOS_SEED=" << seed
            << " to repeat the workload and fault choices)" << std::endl;
  ASSERT_GT(seconds, 0);

  ChaosRun run(GetParam());
  PgCluster& pg = run.pg();
  std::cout << "[chaos] daemon logs: " << run.daemon_log() << ", cluster: " << pg.dir() << std::endl;
  run.start_daemon();
  ASSERT_TRUE(run.wait_streaming(60s)) << run.diagnostics();
  KafkaCollector collector(run.kafka(), kTopics);
  WalOracle oracle(kOracleSlot);
  PgConn oracle_conn = pg.connect();

  std::mt19937 rng(seed);
  const std::string first_day = *pg.scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text");

  std::array<int, kFaultKinds> faults{};
  int unexpected_exits = 0;
  int oracle_errors = 0;
  Details fault_problems;
  FaultScene scene{run, rng, fault_problems};

  BackgroundWorkload workload(pg, chaos_knobs(seed + 1), chaos_workload());
  const auto started = Clock::now();
  auto last_drain = Clock::now();

  FaultSchedule schedule(rng);

  bool oracle_reconnect = false;
  /// Reads the oracle slot; after a failure the next call reconnects first.
  auto drain_oracle = [&] {
    last_drain = Clock::now();
    try {
      if (oracle_reconnect || !oracle_conn.ok()) oracle_conn = pg.connect();
      oracle_reconnect = !oracle.drain(oracle_conn);
    } catch (const std::exception&) {
      oracle_reconnect = true;
    }
    if (oracle_reconnect) ++oracle_errors;
    return !oracle_reconnect;
  };

  /// Waits (bounded) until the daemon streams again, restarting it if it exited on its own.
  auto check_daemon = [&](const char* when) {
    if (!run.daemon().running()) {
      ++unexpected_exits;
      fault_problems.add(std::string("daemon exited by itself (") + when + ", status " +
                         std::to_string(run.daemon().exit_status().value_or(-1)) + "): " +
                         tail_lines(run.daemon().log_text(), 5));
      run.start_daemon();
    }
  };

  while (seconds_since(started) < seconds) {
    // A pause of random length (the daemon is sometimes still starting up,
    // sometimes streaming for a while), reading the oracle now and then.
    const auto pause_until = Clock::now() + std::chrono::milliseconds(scene.pick(300, 3000));
    while (Clock::now() < pause_until) {
      if (Clock::now() - last_drain > 5s) drain_oracle();
      std::this_thread::sleep_for(50ms);
    }
    check_daemon("between faults");
    const std::size_t fault = schedule.next();
    run.log_event(std::string("fault ") + kFaults[fault].name);
    if (kFaults[fault].inject(scene)) ++faults[fault];
  }
  faults[0] += scene.kill9;
  const double fault_seconds = seconds_since(started);

  // Quiesce: workload off, broker healthy, daemon running and caught up.
  workload.stop();
  run.kafka().clear_produce_errors();
  check_daemon("after the fault loop");
  ASSERT_TRUE(run.wait_streaming(120s)) << run.diagnostics();
  ASSERT_TRUE(wait_slot_caught_up(pg, &run.daemon(), 240s, kSlot));
  const double total_seconds = seconds_since(started);
  ASSERT_TRUE(wait_until(drain_oracle, 60s, 500ms)) << "cannot read the oracle slot: " << oracle.last_error();
  ASSERT_TRUE(collector.wait_caught_up(120s)) << "the test's Kafka consumer did not reach the high watermarks";
  collector.stop();
  if (env_or("CDC_CHAOS_TAMPER", "") == "1") {
    // Self-test: each kind of difference once; the test must then fail with
    // every difference counter above 0.
    std::cout << "[chaos] CDC_CHAOS_TAMPER=1: removing, duplicating and corrupting results on purpose" << std::endl;
    pg.exec("DELETE FROM public.audit_logs WHERE id = (SELECT min(id) FROM public.audit_logs)");
    pg.exec("INSERT INTO public.audit_logs (created_at, customer_uuid, action, old_value, new_value, source_lsn, "
            "source_xid) SELECT created_at, customer_uuid, action, old_value, new_value, '0/1', source_xid "
            "FROM public.audit_logs WHERE id = (SELECT max(id) FROM public.audit_logs)");
    pg.exec("UPDATE analytics.plan_rollup SET customers = customers + 1 "
            "WHERE plan_id = (SELECT min(plan_id) FROM analytics.plan_rollup)");
    collector.tamper_for_self_test();
  }
  const bool same_day = first_day == *pg.scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text");

  // (a) audit rows vs the shadow of the seed trigger.
  const AuditShadowComparison audit = compare_audit_with_shadow(pg);

  // (b) rollups vs the recomputation.
  std::string rollup_report;
  const std::int64_t rollup_diff = compare_rollups(pg, same_day, rollup_report);

  // (c) Kafka: the row topics against the oracle, the audit topic against
  // public.audit_logs (proven equal to the shadow in (a)).
  const KafkaVerification kafka = verify_kafka(pg, oracle, collector);
  const KafkaCounts& kafka_counts = kafka.counts;

  std::ostringstream summary;
  summary << "chaos: seed=" << seed << " duration=" << static_cast<int>(fault_seconds) << "s txns="
          << oracle.txns().size() << " changes=" << oracle.changes().size() << " faults:";
  for (std::size_t f = 0; f < kFaultKinds; ++f) summary << " " << kFaults[f].name << "=" << faults[f];
  summary << " | differences: audit_missing=" << audit.missing << " audit_duplicated=" << audit.extra
          << " audit_order=" << audit.differences << " rollup_diff=" << rollup_diff
          << " kafka_missing=" << kafka_counts.missing << " kafka_out_of_order=" << kafka_counts.out_of_order
          << " | info: total=" << static_cast<int>(total_seconds) << "s daemon_starts=" << run.daemon_starts()
          << " kill9_while_broker_down=" << scene.kill9_while_broker_down << " unexpected_exits=" << unexpected_exits << " sigterm_failures=" << scene.sigterm_failures
          << " audit_rows=" << audit.ours << " kafka_messages=" << collector.messages()
          << " redelivered=" << kafka_counts.redelivered << " workload_interrupted=" << workload.interrupted()
          << " oracle_retries=" << oracle_errors;
  std::cout << summary.str() << std::endl;

  EXPECT_EQ(audit.missing, 0) << audit.first_differences;
  EXPECT_EQ(audit.extra, 0) << audit.first_differences;
  EXPECT_EQ(audit.differences, 0) << "public.audit_logs (ORDER BY id) vs the shadow:\n" << audit.first_differences;
  EXPECT_EQ(audit.null_lsn, 0);
  EXPECT_EQ(audit.distinct_lsn, audit.ours) << "source_lsn values are not unique";
  EXPECT_EQ(rollup_diff, 0) << rollup_report;
  EXPECT_EQ(kafka_counts.missing, 0u) << kafka.details.str();
  EXPECT_EQ(kafka_counts.out_of_order, 0u) << kafka.details.str() << collector.bad_messages().str();
  EXPECT_EQ(collector.offset_gaps(), 0u) << collector.bad_messages().str();
  for (std::size_t f = 0; f < kFaultKinds; ++f) {
    EXPECT_GE(faults[f], 1) << "fault " << kFaults[f].name << " was never injected";
  }
  EXPECT_EQ(unexpected_exits, 0) << fault_problems.str();
  EXPECT_EQ(scene.sigterm_failures, 0) << fault_problems.str();
  EXPECT_TRUE(fault_problems.lines.empty()) << fault_problems.str();
  EXPECT_EQ(workload.sql_errors(), 0) << workload.error();
  // Not vacuous: the workload ran, every sink got plenty.
  EXPECT_GE(oracle.txns().size(), 50u * static_cast<std::uint64_t>(std::min(seconds, 60)));
  EXPECT_GE(workload.big_transactions(), 2);
  expect_streaming_happened(pg, GetParam());
  EXPECT_GE(audit.shadow, 1000);
  EXPECT_GE(kafka.audit_rows, 1000u);
  EXPECT_GT(kafka_counts.keys, 500u);
  EXPECT_GT(rollup_check::count_of(pg, "SELECT count(*) FROM analytics.usage_daily WHERE consumed > 0"), 10);
  EXPECT_GT(rollup_check::count_of(pg, "SELECT count(*) FROM analytics.plan_changes_daily"), 3);

  run.daemon().terminate();
  EXPECT_EQ(run.daemon().wait_exit(60s), 0) << run.diagnostics();
}

// pgoutput runs in binary mode with streaming (the large transactions of the
// workload are streamed while they run): one run covers both modes.
INSTANTIATE_TEST_SUITE_P(Plugins, Chaos, ::testing::Values(wal2json_variant(), streaming_variant()), variant_name);

}  // namespace
}  // namespace cdc::testing
