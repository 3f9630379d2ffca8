// Backfill and replay (README "Backfill and replay"),
// black-box: a throwaway PostgreSQL 15 + wal2json, librdkafka's mock Kafka
// cluster in this process, the daemon as a child process.
//
//   1. InitialSnapshotWithConcurrentWrites: first start on a populated database
//      (snapshot_mode = "initial") while a writer changes customers and a plan
//      price during the snapshot.
//   2. Kill9DuringSnapshotThenRestart: kill -9 in the middle of that snapshot,
//      writes going on meanwhile, restart.
//   3. DowntimeBacklogOf100kChanges: SIGTERM, 100k row changes, start again.
//   4. MemoryBoundOneMillionRowTransaction: one 1M-row transaction, VmHWM.
//
// References the test keeps itself, independent of the daemon:
//   * audit: the seed's audit trigger installed into a shadow table
//     (support/audit_shadow, schema test_shadow), plus customer_created /
//     customer_deleted, recording txid_current(); compared row by row (in
//     commit order: one writer connection) with public.audit_logs, including
//     created_at = commit time;
//   * rollups (support/rollup_check): plan_rollup recomputed from the tables,
//     plan_changes_daily and usage_daily from test-only triggers (schema
//     rollup_test) and plan changes from the audit;
//   * Kafka: every message read back, folded per key in arrival order (r, c,
//     u: the row is `after`; d and tombstones: the row is gone) and compared
//     with the final table state; streamed events checked against audit
//     source_lsn (support/kafka_topic_state).

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/kafka_mock.hpp"
#include "support/kafka_topic_state.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using rollup_check::count_of;

constexpr const char* kSlot = "customer_cdc";
constexpr const char* kCustomerTopic = "saas.public.customer";
constexpr const char* kPlansTopic = "saas.public.plans";
constexpr const char* kAuditTopic = "saas.audit";
// The mock broker keeps only about 5 MiB per partition (older segments are
// dropped, as by retention): 120k envelopes fit only when spread out. Under
// ASan the producer's batches are smaller and compress worse, and with 3
// partitions the first snapshot reads were gone before the test read them.
constexpr int kPartitions = 12;
constexpr auto kStartTimeout = 60s;
constexpr auto kSnapshotTimeout = 120s;
constexpr auto kCatchUpTimeout = 180s;

// Daemon log lines (src/app/snapshot.cpp, session.cpp).
constexpr const char* kLogSlotCreated = "created replication slot";
constexpr const char* kLogSnapshotStart = "snapshot at ";
constexpr const char* kLogResnapshot = "no snapshot completed yet";
constexpr const char* kLogStreaming = "streaming slot";

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }


/// "snapshot at X/Y complete" in the daemon's log.
bool snapshot_completed(const std::string& log) {
  for (std::size_t at = log.find(kLogSnapshotStart); at != std::string::npos;
       at = log.find(kLogSnapshotStart, at + 1)) {
    const std::size_t eol = log.find('\n', at);
    if (log.substr(at, eol == std::string::npos ? std::string::npos : eol - at).ends_with(" complete")) return true;
  }
  return false;
}

/// Customers bf<i>@example.com for i in [from, to], on plans 1..3 in turn,
/// with the plan's resources.
void populate(PgConn& conn, int from, int to) {
  conn.exec("INSERT INTO public.customer (uuid, email, metadata, stripe_customer_id, plan_id, plan_updated_at, "
            "plan_resources, remaining_resources) "
            "SELECT gen_random_uuid(), 'bf' || g || '@example.com', "
            "jsonb_build_object('name', 'Backfill Customer ' || g, 'company', 'Company ' || (g % 997), "
            "'note', repeat('n', 48)), 'cus_bf_' || g, p.id, now(), p.resources, p.resources "
            "FROM generate_series(" + std::to_string(from) + ", " + std::to_string(to) + ") g "
            "JOIN public.plans p ON p.id = 1 + g % 3");
}

// ---------------------------------------------------------------------------
// Comparisons with the references (tests/support).

/// The three rollup tables against the recomputation: plan_rollup from
/// public.customer and public.plans; plan_changes_daily from the audit history
/// and from the test trigger; usage_daily from the test trigger.
/// `with_shadow` = the test triggers saw every change the daemon counts.
/// Across a UTC midnight the trigger comparisons go without the day (the
/// trigger's day is the transaction start's, the daemon's the commit's).
::testing::AssertionResult rollups_equal_recomputation(PgCluster& pg, bool with_shadow, bool crossed_midnight) {
  using namespace rollup_check;
  if (auto r = same_rows(pg, "plan_rollup vs the tables", kExpectedPlanRollup, kActualPlanRollup); !r) return r;
  if (auto r = same_rows(pg, "plan_changes_daily vs the audit history", kPlanChangesFromAudit, kActualPlanChanges);
      !r) {
    return r;
  }
  if (!with_shadow) return ::testing::AssertionSuccess();
  if (!crossed_midnight) {
    if (auto r = same_rows(pg, "plan_changes_daily vs the test trigger", kPlanChangesFromShadow, kActualPlanChanges);
        !r) {
      return r;
    }
    return same_rows(pg, "usage_daily vs the test trigger", kUsageFromShadow, kActualUsage);
  }
  std::cout << "[ rollups  ] crossed a UTC midnight: trigger comparisons without the day\n";
  if (auto r = same_rows(pg, "plan_changes_daily vs the test trigger (summed over days)",
                         without_day(kPlanChangesFromShadow, "f, t", "n"), without_day(kActualPlanChanges, "f, t", "n"));
      !r) {
    return r;
  }
  return same_rows(pg, "usage_daily vs the test trigger (summed over days)",
                   without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
                   without_day(kActualUsage, "customer_uuid, resource", "consumed"));
}

/// public.audit_logs against the shadow, row by row in id order (the writer
/// uses one connection: shadow id order is commit order), created_at against
/// the commit timestamp; the same rows as multisets; source_lsn unique and
/// present.
::testing::AssertionResult audit_equals_shadow(PgCluster& pg) {
  const AuditShadowComparison c = compare_audit_with_shadow(pg);
  if (c.ours == c.shadow && c.differences == 0 && c.missing == 0 && c.extra == 0 && c.null_lsn == 0 &&
      c.distinct_lsn == c.ours) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "audit_logs: " << c.ours << " rows (" << c.distinct_lsn
                                       << " distinct source_lsn, " << c.null_lsn << " without), shadow: " << c.shadow
                                       << " rows; " << c.differences << " rows differ in id order, " << c.missing
                                       << " shadow rows missing, " << c.extra << " extra; first differences:\n"
                                       << c.first_differences;
}

// ---------------------------------------------------------------------------
// Workloads (support/workload).

/// The backlog: updates of ~300 customers each (decrements, plan changes),
/// inserts of 250 and deletes of 50, one statement per transaction; every row
/// a statement matches changes (one audit row each).
WorkloadKnobs backlog_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::InsertOnPlan, 4}, {Statement::Delete, 4}, {Statement::PlanChange, 12},
               {Statement::ResourceUpdate, 80}};
  knobs.customers_per_statement = {300, 300};
  knobs.rows_per_insert = {250, 250};
  knobs.deletes_per_statement = {50, 50};
  knobs.every_update_changes = true;
  return knobs;
}

// ---------------------------------------------------------------------------
// A writer on its own connection, in its own thread: small random
// transactions on customers bf<i> (decrements, plan changes, inserts, deletes,
// a delete right after an update) and plan price changes.

class Writer {
 public:
  /// `first_big_rows`: the first transaction decrements that many customers
  /// in one go (0: none, every transaction small).
  Writer(PgCluster& pg, std::uint32_t seed, int first_big_rows = 0)
      : conn_(pg.connect()), workload_(audited_small_transactions(seed)), first_big_rows_(first_big_rows) {}
  ~Writer() { stop(); }

  /// Starts the thread; it runs transactions until stop(), pausing `pause`.
  void start(std::chrono::milliseconds pause) {
    thread_ = std::thread([this, pause] {
      try {
        workload_.load(conn_);  // the customers that exist now
        while (!stop_.load()) {
          step();
          std::this_thread::sleep_for(pause);
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        error_ = e.what();
      }
    });
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  int transactions() const { return transactions_.load(); }
  int price_changes() const { return price_changes_.load(); }
  /// Transactions that committed before any snapshot of the daemon had
  /// committed (no checkpoint with a snapshot_lsn yet, checked right after
  /// the commit).
  int before_snapshot_done() const { return before_snapshot_done_.load(); }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  /// One transaction; every 25th is a plan price change.
  void step() {
    const bool big = transactions_.load() == 0 && first_big_rows_ > 0;
    const bool price_change = !big && transactions_.load() % 25 == 0;
    workload_.execute(conn_, big            ? workload_.big(Big::Decrement, first_big_rows_)
                             : price_change ? workload_.only(Statement::PriceChange)
                                            : workload_.next());
    if (price_change) ++price_changes_;
    ++transactions_;
    if (conn_.scalar("SELECT NOT EXISTS (SELECT 1 FROM customer_cdc.checkpoint WHERE snapshot_lsn IS NOT NULL)") ==
        Value("t")) {
      ++before_snapshot_done_;
    }
  }

  PgConn conn_;
  Workload workload_;
  const int first_big_rows_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> transactions_{0};
  std::atomic<int> price_changes_{0};
  std::atomic<int> before_snapshot_done_{0};
  std::mutex mutex_;
  std::string error_;
};

// ---------------------------------------------------------------------------
// Environment: mock Kafka with the topics, a cluster, the config.

PgClusterOptions cluster_options() {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  return options;
}

class Backfill : public ::testing::Test {
 protected:
  explicit Backfill(PgClusterOptions options = cluster_options(), const PluginVariant& variant = wal2json_variant(),
                    std::optional<int> sink_timeout_ms = std::nullopt)
      : kafka_(1), pg_(std::move(options)) {
    for (const char* topic : {kCustomerTopic, kPlansTopic, kAuditTopic}) kafka_.create_topic(topic, kPartitions);
    prepare_source(pg_, variant);
    DaemonConfig config(pg_.conninfo());
    apply_variant(config, variant);
    config.sink_timeout_ms = sink_timeout_ms;
    config.log_level = "info";
    config.slot = kSlot;
    config.status_interval_ms = 500;
    config.snapshot_mode = "initial";
    config.audit = true;
    config.rollups = true;
    config.kafka = true;
    config.brokers = kafka_.bootstraps();
    config.topic_prefix = "saas";
    config_ = write_daemon_config(config);
    started_day_ = *pg_.scalar("SELECT (now() AT TIME ZONE 'UTC')::date::text");
  }

  std::unique_ptr<DaemonProcess> start_daemon() {
    return std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config_, "run"});
  }

  bool crossed_midnight() { return *pg_.scalar("SELECT (now() AT TIME ZONE 'UTC')::date::text") != started_day_; }

  void populate_and_install_shadow(int customers) {
    const auto t0 = Clock::now();
    PgConn conn = pg_.connect();
    populate(conn, 1, customers);
    conn.exec("VACUUM ANALYZE public.customer");
    install_audit_shadow(pg_);
    rollup_check::install_rollup_shadow(pg_);
    std::cout << "[ setup    ] " << customers << " customers in " << seconds_since(t0) << " s\n";
  }

  /// Populates `customers` customers, installs the references, starts the
  /// daemon (`daemon`, at daemon_started_) and, once its slot has its
  /// consistent point, `writer` pausing `pause`: from then on every commit is
  /// in the stream and not in the exported snapshot. Returns once the snapshot
  /// has begun.
  /// `slot_created`: called once the daemon has created its slot, before the writer starts.
  ::testing::AssertionResult start_snapshot_under_writes(int customers, Writer& writer, std::chrono::milliseconds pause,
                                                         std::unique_ptr<DaemonProcess>& daemon,
                                                         const std::function<void()>& slot_created = {}) {
    populate_and_install_shadow(customers);
    daemon_started_ = Clock::now();
    daemon = start_daemon();
    if (!daemon->wait_for_output(kLogSlotCreated, kStartTimeout)) {
      return ::testing::AssertionFailure() << "no \"" << kLogSlotCreated << "\" in the log:\n" << daemon->log_text();
    }
    if (slot_created) slot_created();
    writer.start(pause);
    if (!daemon->wait_for_output(kLogSnapshotStart, kStartTimeout)) {
      return ::testing::AssertionFailure() << "no \"" << kLogSnapshotStart << "\" in the log:\n" << daemon->log_text();
    }
    return ::testing::AssertionSuccess();
  }

  MockKafka kafka_;
  PgCluster pg_;
  std::string config_;
  std::string started_day_;
  Clock::time_point daemon_started_;
};

// ---------------------------------------------------------------------------
// 1. First start on a populated database, writes during the snapshot.

/// The snapshot under every plugin (the slot's exported snapshot and the
/// stream's hand-over point differ by plugin only in how the slot is made).
class BackfillPlugins : public Backfill, public ::testing::WithParamInterface<PluginVariant> {
 protected:
  BackfillPlugins() : Backfill(cluster_options(), GetParam()) {}
};

TEST_P(BackfillPlugins, InitialSnapshotWithConcurrentWrites) {
  constexpr int kCustomers = 20000;
  // Streaming: one transaction the server streams (above its 64kB work memory).
  Writer writer(pg_, 1234, GetParam().streaming ? 400 : 0);
  std::unique_ptr<DaemonProcess> daemon;
  ASSERT_TRUE(start_snapshot_under_writes(kCustomers, writer, 2ms, daemon));
  const auto snapshot_seen = Clock::now();
  ASSERT_TRUE(wait_until([&] { return snapshot_completed(daemon->log_text()) || !daemon->running(); },
                         kSnapshotTimeout))
      << slot_diagnostics(pg_, daemon.get());
  ASSERT_TRUE(daemon->running()) << slot_diagnostics(pg_, daemon.get());
  const double snapshot_s = seconds_since(snapshot_seen);
  ASSERT_TRUE(daemon->wait_for_output(kLogStreaming, kStartTimeout)) << daemon->log_text();
  // Some more changes while streaming, then stop writing.
  const int at_stream = writer.transactions();
  ASSERT_TRUE(wait_until([&] { return writer.transactions() >= at_stream + 30 || !writer.error().empty(); }, 60s));
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon.get(), kCatchUpTimeout));
  std::cout << "[ timing   ] snapshot ~" << snapshot_s << " s; caught up " << seconds_since(daemon_started_)
            << " s after start; writer: " << writer.transactions() << " transactions, "
            << writer.before_snapshot_done() << " of them committed while the snapshot ran, "
            << writer.price_changes() << " price changes\n";

  // The writes really overlapped the snapshot: committed after the slot's
  // consistent point, before the snapshot's commit.
  EXPECT_GE(writer.before_snapshot_done(), 5) << daemon->log_text();
  EXPECT_GE(writer.price_changes(), 1);
  const std::string log = daemon->log_text();
  EXPECT_NE(log.find("snapshot: " + std::to_string(kCustomers) + " rows of public.customer"), std::string::npos)
      << log;
  EXPECT_NE(log.find("snapshot: 3 rows of public.plans"), std::string::npos) << log;

  // Audit: the concurrent changes exactly once, nothing for snapshot rows.
  EXPECT_GT(count_of(pg_, "SELECT count(*) FROM test_shadow.audit_logs"), 30);
  EXPECT_TRUE(audit_equals_shadow(pg_));
  EXPECT_TRUE(rollups_equal_recomputation(pg_, true, crossed_midnight()));

  const std::size_t audit_rows = static_cast<std::size_t>(count_of(pg_, "SELECT count(*) FROM public.audit_logs"));
  const KafkaContent k = read_kafka(kafka_, kCustomers + 3 + audit_rows);
  EXPECT_TRUE(k.stats.complete) << "consumer did not reach the end of every partition";
  EXPECT_TRUE(k.stats.errors.empty()) << k.stats.errors.front();
  // Every row that existed at the consistent point read once (the writer
  // started after it), each plan once.
  EXPECT_EQ(count_op(k.customer, 'r'), static_cast<std::size_t>(kCustomers));
  EXPECT_EQ(count_op(k.plans, 'r'), 3u);
  std::set<std::string> read_keys;
  for (const Event& e : k.customer) {
    if (!e.tombstone && e.op == 'r') read_keys.insert(e.key);
  }
  EXPECT_EQ(read_keys.size(), static_cast<std::size_t>(kCustomers));
  // The snapshot completes before streaming: no read after a streamed change of the same key.
  std::set<std::string> streamed_keys;
  std::size_t reads_after_stream = 0;
  for (const Event& e : k.customer) {
    if (e.tombstone) continue;
    if (e.op == 'r') reads_after_stream += streamed_keys.contains(e.key) ? 1 : 0;
    else streamed_keys.insert(e.key);
  }
  EXPECT_EQ(reads_after_stream, 0u);
  // source.snapshot as Debezium's initial snapshot: per table one first and
  // one last read; "first" and "last" for those of the whole snapshot.
  std::map<std::string, std::size_t> markers;
  for (const auto* topic : {&k.customer, &k.plans}) {
    std::map<std::string, std::size_t> in_table;
    for (const Event& e : *topic) {
      if (e.tombstone) continue;
      if (e.op == 'r') {
        ++in_table[e.snapshot];
      } else {
        EXPECT_EQ(e.snapshot, "false");
      }
    }
    EXPECT_EQ(in_table["first"] + in_table["first_in_data_collection"], 1u);
    EXPECT_EQ(in_table["last"] + in_table["last_in_data_collection"], 1u);
    for (const auto& [marker, count] : in_table) markers[marker] += count;
  }
  EXPECT_EQ(markers["first"], 1u);
  EXPECT_EQ(markers["last"], 1u);
  EXPECT_EQ(markers["true"], static_cast<std::size_t>(kCustomers) + 3 - 4);
  EXPECT_TRUE(kafka_state_equals_tables(pg_, k));
  std::size_t repeats = 0;
  EXPECT_TRUE(kafka_matches_audit(pg_, k, &repeats));
  EXPECT_EQ(repeats, 0u);  // no restart, no repeats
  expect_streaming_happened(pg_, GetParam());

  daemon->terminate();
  EXPECT_EQ(daemon->wait_exit(30s), 0) << daemon->log_text();
}

INSTANTIATE_TEST_SUITE_P(Plugins, BackfillPlugins, ::testing::ValuesIn(plugin_variants(/*with_streaming=*/true)),
                         variant_name);

// ---------------------------------------------------------------------------
// 2. kill -9 in the middle of the initial snapshot, restart.

TEST_F(Backfill, Kill9DuringSnapshotThenRestart) {
  constexpr int kCustomers = 60000;
  Writer writer(pg_, 4321);
  std::unique_ptr<DaemonProcess> first;
  // The snapshot reads public.customer, then public.plans: a lock on plans,
  // taken once the slot exists (an ACCESS EXCLUSIVE lock gets an xid, which
  // slot creation would wait for), holds it there (and the writer's
  // statements that touch plans), so the kill comes after the customers'
  // reads and before the snapshot completes, however fast the machine (a
  // 60k-row snapshot takes ~2 s; a Kafka consumer here can take longer than
  // that to start).
  PgConn plans_lock = pg_.connect();
  ASSERT_TRUE(start_snapshot_under_writes(kCustomers, writer, 5ms, first, [&] {
    plans_lock.exec("BEGIN");
    plans_lock.exec("LOCK TABLE public.plans IN ACCESS EXCLUSIVE MODE");
  }));
  // Into the snapshot: kill once Kafka holds some of the snapshot's reads.
  std::size_t reads_before_kill = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        reads_before_kill = kafka_.consume_all({kCustomerTopic}, 1000, 500ms).size();
        return reads_before_kill >= 1000 || !first->running();
      },
      60s, 100ms));
  first->kill9();
  ASSERT_TRUE(first->wait_exit(10s).has_value());
  plans_lock.exec("ROLLBACK");
  const std::string first_log = first->log_text();
  ASSERT_FALSE(snapshot_completed(first_log)) << "the snapshot completed before the kill; make it bigger\n"
                                              << first_log;
  std::cout << "[ kill -9  ] with " << reads_before_kill << " snapshot reads in Kafka\n";
  // What is left: the slot (created, never acknowledged) and no checkpoint.
  EXPECT_TRUE(slot_confirmed_lsn(pg_).has_value());
  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM customer_cdc.checkpoint"), 0) << slot_diagnostics(pg_);
  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs"), 0);
  // Changes while the daemon is down (after the slot's consistent point).
  const int at_kill = writer.transactions();
  ASSERT_TRUE(wait_until([&] { return writer.transactions() >= at_kill + 20 || !writer.error().empty(); }, 60s));

  auto second = start_daemon();
  ASSERT_TRUE(wait_until([&] { return snapshot_completed(second->log_text()) || !second->running(); },
                         kSnapshotTimeout))
      << slot_diagnostics(pg_, second.get());
  ASSERT_TRUE(second->wait_for_output(kLogStreaming, kStartTimeout)) << slot_diagnostics(pg_, second.get());
  const std::string second_log = second->log_text();
  // The restart takes the snapshot again (the first one committed nothing).
  EXPECT_NE(second_log.find(kLogResnapshot), std::string::npos) << second_log;
  const int at_stream = writer.transactions();
  ASSERT_TRUE(wait_until([&] { return writer.transactions() >= at_stream + 30 || !writer.error().empty(); }, 60s));
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_slot_caught_up(pg_, second.get(), kCatchUpTimeout));
  std::cout << "[ timing   ] caught up " << seconds_since(daemon_started_) << " s after the first start; writer: "
            << writer.transactions() << " transactions, " << writer.before_snapshot_done()
            << " before the snapshot committed\n";
  // Changes between the slot's consistent point and the second snapshot:
  // streamed from the slot, already part of the second snapshot's tables.
  EXPECT_GE(writer.before_snapshot_done(), 20);

  EXPECT_TRUE(audit_equals_shadow(pg_));
  EXPECT_TRUE(rollups_equal_recomputation(pg_, true, crossed_midnight()));

  const std::size_t audit_rows = static_cast<std::size_t>(count_of(pg_, "SELECT count(*) FROM public.audit_logs"));
  const KafkaContent k = read_kafka(kafka_, kCustomers + 3 + audit_rows);
  EXPECT_TRUE(k.stats.complete) << "consumer did not reach the end of every partition";
  // At least once: the reads of the killed snapshot stay, every row of the
  // second one is read again.
  const std::size_t reads = count_op(k.customer, 'r');
  std::smatch match;
  ASSERT_TRUE(std::regex_search(second_log, match, std::regex(R"(snapshot: (\d+) rows of public\.customer)")))
      << second_log;
  const std::size_t second_reads = std::stoul(match[1].str());
  EXPECT_GE(second_reads, static_cast<std::size_t>(kCustomers - writer.transactions() * 3));
  EXPECT_GE(reads, reads_before_kill + second_reads);
  std::cout << "[ kafka    ] " << reads << " customer reads (op r): " << reads_before_kill << " before the kill, "
            << second_reads << " by the second snapshot\n";
  EXPECT_TRUE(kafka_state_equals_tables(pg_, k));
  std::size_t repeats = 0;
  EXPECT_TRUE(kafka_matches_audit(pg_, k, &repeats));
  // Changes between the slot's consistent point and the second snapshot's
  // arrive after that snapshot's reads, with a lower source.lsn (README: a
  // consumer dropping repeats by source.lsn skips them; folded in arrival
  // order they end in the same state, checked above).
  std::map<std::string, std::uint64_t> read_at;
  std::size_t older_after_read = 0;
  for (const Event& e : k.customer) {
    if (e.tombstone) continue;
    if (e.op == 'r') {
      read_at[e.key] = e.lsn;
    } else if (const auto it = read_at.find(e.key); it != read_at.end() && e.lsn < it->second) {
      ++older_after_read;
    }
  }
  // The same topic as a consumer that drops repeats by source.sequence sees it
  // (README "Delivery"): it must end with the table state too.
  std::map<std::string, Fields> by_sequence;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> applied_sequence;
  std::map<std::string, bool> deleted_last;
  for (const Event& e : k.customer) {
    if (e.tombstone) {
      if (deleted_last[e.key]) by_sequence.erase(e.key);
      continue;
    }
    auto& applied = applied_sequence[e.key];
    deleted_last[e.key] = false;
    if (e.sequence <= applied) continue;
    applied = e.sequence;
    if (e.op == 'd') {
      by_sequence.erase(e.key);
      deleted_last[e.key] = true;
    } else {
      by_sequence[e.key] = e.after;
    }
  }
  const auto table = table_state(
      pg_, "SELECT uuid::text, email, plan_id::text, remaining_resources::text, metadata::text FROM public.customer",
      customer_fields());
  std::size_t sequence_consumer_differs = 0;
  for (const auto& [key, row] : table) {
    sequence_consumer_differs += by_sequence.contains(key) && by_sequence[key] == row ? 0 : 1;
  }
  for (const auto& [key, row] : by_sequence) sequence_consumer_differs += table.contains(key) ? 0 : 1;
  std::cout << "[ kafka    ] " << older_after_read
            << " streamed changes older than a preceding read of the same key; a consumer dropping repeats by "
               "source.sequence ends with "
            << sequence_consumer_differs << " customers different from the table\n";
  EXPECT_EQ(sequence_consumer_differs, 0u);

  second->terminate();
  EXPECT_EQ(second->wait_exit(30s), 0) << second->log_text();
}

// ---------------------------------------------------------------------------
// 3. Daemon down, 100k row changes, start again.

TEST_F(Backfill, DowntimeBacklogOf100kChanges) {
  constexpr int kCustomers = 20000;
  populate_and_install_shadow(kCustomers);
  const auto t_start = Clock::now();
  auto daemon = start_daemon();
  ASSERT_TRUE(daemon->wait_for_output(kLogStreaming, kSnapshotTimeout)) << daemon->log_text();
  std::cout << "[ timing   ] snapshot and streaming after " << seconds_since(t_start) << " s\n";
  {
    // A little traffic while running, then a clean stop.
    PgConn conn = pg_.connect();
    conn.exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', "
              "to_jsonb((remaining_resources->>'api_calls')::int - 1)) WHERE email IN "
              "(SELECT 'bf' || g || '@example.com' FROM generate_series(1, 100) g)");
  }
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon.get(), kCatchUpTimeout));
  ASSERT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs"), 100);
  daemon->terminate();
  ASSERT_EQ(daemon->wait_exit(30s), 0) << daemon->log_text();
  const std::string stopped_at = *slot_confirmed_lsn(pg_);

  // 100k row changes in ~330 transactions, one connection: updates of 300
  // customers each (decrements of api_calls and storage_gb, plan changes,
  // across all customers), inserts and deletes.
  const auto t_write = Clock::now();
  std::int64_t changes = 0;
  {
    PgConn conn = pg_.connect();
    Workload workload(backlog_knobs(777));
    workload.load(conn);
    int transactions = 0;
    while (changes < 100000) {
      const WorkloadTransaction tx = workload.next();  // one statement
      const Value n = conn.scalar("WITH x AS (" + tx.statements.front() + " RETURNING 1) SELECT count(*) FROM x");
      changes += std::stoll(*n);
      ++transactions;
    }
    conn.exec("UPDATE public.plans SET price = price * 2 WHERE id = 2");
    std::cout << "[ workload ] " << changes << " row changes in " << transactions << " transactions, "
              << seconds_since(t_write) << " s\n";
  }
  // The daemon was down: nothing moved.
  EXPECT_EQ(*slot_confirmed_lsn(pg_), stopped_at);
  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs"), 100);

  const auto t_drain = Clock::now();
  auto restarted = start_daemon();
  ASSERT_TRUE(wait_slot_caught_up(pg_, restarted.get(), kCatchUpTimeout));
  const double drain_s = seconds_since(t_drain);
  std::cout << "[ timing   ] backlog of " << changes << " changes drained in " << drain_s << " s ("
            << static_cast<long>(static_cast<double>(changes) / drain_s) << " changes/s)\n";
  const std::string log = restarted->log_text();
  EXPECT_EQ(log.find(kLogSnapshotStart), std::string::npos) << "no new snapshot on a plain restart\n" << log;

  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs"), 100 + changes);
  auto t_check = Clock::now();
  EXPECT_TRUE(audit_equals_shadow(pg_));
  std::cout << "[ verify   ] audit " << seconds_since(t_check) << " s";
  t_check = Clock::now();
  EXPECT_TRUE(rollups_equal_recomputation(pg_, true, crossed_midnight()));
  std::cout << ", rollups " << seconds_since(t_check) << " s\n";

  const std::size_t audit_rows = static_cast<std::size_t>(100 + changes);
  t_check = Clock::now();
  const KafkaContent k = read_kafka(kafka_, kCustomers + 3 + audit_rows);
  EXPECT_TRUE(k.stats.complete) << "consumer did not reach the end of every partition";
  EXPECT_EQ(count_op(k.customer, 'r'), static_cast<std::size_t>(kCustomers));
  EXPECT_TRUE(kafka_state_equals_tables(pg_, k));
  std::size_t repeats = 0;
  EXPECT_TRUE(kafka_matches_audit(pg_, k, &repeats));
  std::cout << "[ kafka    ] " << repeats << " repeated customer events; checks took " << seconds_since(t_check)
            << " s\n";

  restarted->terminate();
  EXPECT_EQ(restarted->wait_exit(30s), 0) << restarted->log_text();
}

// ---------------------------------------------------------------------------
// 4. One 1M-row transaction: bounded memory.

/// A field of /proc/<pid>/status in kB; -1 when not readable.
long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

/// A cluster tuned for one huge transaction (test-only: no crash safety needed),
/// under wal2json, pgoutput binary, and pgoutput binary with streaming.
class BackfillMemory : public Backfill, public ::testing::WithParamInterface<PluginVariant> {
 protected:
  static PgClusterOptions big_transaction_options() {
    PgClusterOptions options;
    options.extra_conf = {"full_page_writes = off", "max_wal_size = '8GB'", "checkpoint_timeout = '30min'",
                          "shared_buffers = '256MB'", "logical_decoding_work_mem = '1GB'"};
    return options;
  }
  // The shortest sink timeout: the audit COPY of the huge transaction stays
  // open far longer while the stream is decoded, and must not be cancelled.
  BackfillMemory() : Backfill(big_transaction_options(), GetParam(), /*sink_timeout_ms=*/1000) {}
};

TEST_P(BackfillMemory, OneMillionRowTransaction) {
  constexpr long kRows = 1000000;
  if (GetParam().streaming && std::getenv("CDC_SANITIZED") != nullptr) {
    // The bound is not asserted under the sanitizers, and the streamed path is
    // covered there by the differential and chaos families: spare CI a third
    // 1M-row transaction in the slow build.
    GTEST_SKIP() << "the memory bound of the streaming variant is measured in the Release build only";
  }
  auto daemon = start_daemon();
  ASSERT_TRUE(daemon->wait_for_output(kLogStreaming, kStartTimeout)) << daemon->log_text();
  // DaemonProcess::pid() is the daemon itself (exec'd directly, no shell).
  const std::string comm = read_text_file("/proc/" + std::to_string(daemon->pid()) + "/comm");
  ASSERT_EQ(comm.substr(0, comm.find('\n')), "customer-cdc");
  const long idle_kb = proc_status_kb(daemon->pid(), "VmRSS");

  // One transaction inserting 1M customers: every row goes through all three
  // sinks (1M audit rows by COPY, customer counts, 1M Kafka messages). Keys
  // and emails ascend, so the primary key and the unique email index grow at
  // their right edge (a random uuid makes the insert several times slower).
  const auto t_write = Clock::now();
  pg_.conn().set_timeout(600s);
  pg_.exec("INSERT INTO public.customer (uuid, email, plan_id, remaining_resources) "
           "SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, "
           "'m' || lpad(g::text, 7, '0') || '@example.com', 1 + g % 3, "
           "'{\"api_calls\": 100000, \"storage_gb\": 100}' "
           "FROM generate_series(1, " + std::to_string(kRows) + ") g");
  const double write_s = seconds_since(t_write);
  const auto t_drain = Clock::now();
  ASSERT_TRUE(wait_slot_caught_up(pg_, daemon.get(), 420s));
  const double drain_s = seconds_since(t_drain);
  const long hwm_kb = proc_status_kb(daemon->pid(), "VmHWM");
  ASSERT_GT(hwm_kb, 0);
  std::cout << "[ memory   ] VmHWM " << hwm_kb / 1024.0 << " MiB (idle VmRSS " << idle_kb / 1024.0
            << " MiB) after one " << kRows << "-row transaction; insert " << write_s << " s, drained in " << drain_s
            << " s (" << static_cast<long>(static_cast<double>(kRows) / drain_s) << " rows/s)\n";
  RecordProperty("VmHWM_kB", std::to_string(hwm_kb));
  // Under ASan the shadow memory and quarantine dwarf the daemon's own (scripts/test-sanitized).
  if (std::getenv("CDC_SANITIZED") == nullptr) {
    EXPECT_LT(hwm_kb, 64L * 1024) << "VmHWM " << hwm_kb << " kB";
  }
  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs WHERE action = 'customer_created'"), kRows);
  EXPECT_EQ(count_of(pg_, "SELECT count(*) FROM public.audit_logs"), kRows);
  EXPECT_EQ(count_of(pg_, "SELECT count(DISTINCT source_lsn) FROM public.audit_logs"), kRows);
  EXPECT_TRUE(rollups_equal_recomputation(pg_, false, crossed_midnight()));
  expect_streaming_happened(pg_, GetParam());
  EXPECT_TRUE(daemon->running());
  daemon->terminate();
  EXPECT_EQ(daemon->wait_exit(60s), 0) << tail_lines(daemon->log_text(), 30);
}

// The streaming variant receives the transaction while it runs and spools it
// to disk (postgres.spool_dir) until its commit: the same bound holds.
INSTANTIATE_TEST_SUITE_P(Plugins, BackfillMemory,
                         ::testing::Values(wal2json_variant(), pgoutput_variant(/*binary=*/true), streaming_variant()),
                         variant_name);

}  // namespace
}  // namespace cdc::testing
