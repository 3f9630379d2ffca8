// End-to-end tests of the analytics rollups (README "Rollups"): a real
// PostgreSQL 15 cluster, the customer-cdc daemon as a child process, and a
// seeded random workload on public.customer / public.plans. After catch-up
// the daemon's incremental tables must equal what the test recomputes itself:
//   * plan_rollup        from public.customer and public.plans;
//   * plan_changes_daily from the audit history AND from a test-only trigger;
//   * usage_daily        from a test-only trigger (independent of the daemon).

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/rollup_check.hpp"
#include "support/slot_wait.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kCatchUpTimeout = 180s;
constexpr auto kStartTimeout = 60s;
constexpr auto kExitTimeout = 30s;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using namespace rollup_check;  // format_rows, same_rows, the expectation SQL (tests/support)

// ---------------------------------------------------------------------------
// The random workload (support/workload).

WorkloadKnobs rollup_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  // Per mille of the statements.
  knobs.mix = {{Statement::SignUp, 45},         {Statement::InsertOnPlan, 40},     {Statement::InsertWithResources, 15},
               {Statement::PlanChange, 130},    {Statement::ResourceUpdate, 410},  {Statement::PlanReset, 50},
               {Statement::KeyEdit, 45},        {Statement::SameValueUpdate, 5},   {Statement::Delete, 50},
               {Statement::SameRowChanges, 70}, {Statement::AuthProfileUpdate, 40}, {Statement::PriceChange, 40},
               {Statement::NewPlan, 15},        {Statement::PlanDelete, 7},        {Statement::RangeUpdate, 38}};
  knobs.statements = {1, 5};
  knobs.long_chance = 0.15;
  knobs.long_statements = {6, 15};
  knobs.deletes_per_statement = {1, 1};
  return knobs;
}

/// Random transactions on public.customer (directly and through auth.users)
/// and public.plans, a few of them big (2k-10k rows).
class RollupWorkload {
 public:
  RollupWorkload(PgCluster& pg, std::uint32_t seed) : pg_(pg), workload_(rollup_knobs(seed)) {
    workload_.load(pg_.conn());
  }

  /// Runs `transactions` random transactions, `big` of them big
  /// (2k-10k rows); `between(i)` is called before transaction i and once at
  /// the end with i == transactions.
  void run(int transactions, int big, const std::function<void(int)>& between = {}) {
    std::map<int, Big> big_at;
    // The first big one fills the table, soon followed by one that consumes
    // three resources of up to 10k customers at once (> 20k usage keys in one
    // source transaction: the daemon writes its delta in chunks); the rest
    // are random kinds at random places.
    static constexpr Big kLater[] = {Big::Consume, Big::PlanMoves, Big::Churn};
    if (big >= 1) big_at[transactions / 10] = Big::Fill;
    if (big >= 2) big_at[transactions / 10 + workload_.pick(1, 5)] = Big::ConsumeAllKeys;
    while (static_cast<int>(big_at.size()) < big) {
      big_at.emplace(workload_.pick(transactions / 5, transactions - 1), kLater[workload_.pick(0, 2)]);
    }
    for (int i = 0; i < transactions; ++i) {
      if (between) between(i);
      last_was_big_ = big_at.contains(i);
      if (last_was_big_) {
        const Big kind = big_at[i];
        const int rows = kind == Big::Fill             ? workload_.pick(7000, 10000)
                         : kind == Big::ConsumeAllKeys ? 10000
                                                       : workload_.pick(2000, 10000);
        if (kind == Big::ConsumeAllKeys) std::cout << "[rollups] one transaction consumes 3 resources of up to 10000 customers\n";
        workload_.execute(pg_.conn(), workload_.big(kind, rows));
      } else {
        workload_.execute(pg_.conn(), workload_.next());
      }
    }
    if (between) between(transactions);
  }

  const WorkloadStats& stats() const { return workload_.stats(); }
  /// The transaction just committed was a big one.
  bool last_was_big() const { return last_was_big_; }

 private:
  PgCluster& pg_;
  Workload workload_;
  bool last_was_big_ = false;
};

// ---------------------------------------------------------------------------
// Fixture: a cluster with the schema and the shadow triggers, a daemon config.

/// A randomized run: its seed, and the plugin it streams with (each seed
/// another plugin, so every plugin is covered without running more).
struct RollupRun {
  std::uint32_t seed;
  PluginVariant variant;
};
void PrintTo(const RollupRun& run, std::ostream* out) { *out << "seed " << run.seed << ", " << run.variant.name; }

class Rollups : public ::testing::TestWithParam<RollupRun> {
 protected:
  void SetUp() override {
    const PluginVariant variant = variant_of_test();
    pg_ = std::make_unique<PgCluster>();
    install_rollup_shadow(*pg_);
    prepare_source(*pg_, variant);
    DaemonConfig config(pg_->conninfo());
    config.slot = "customer_cdc";
    config.status_interval_ms = 1000;
    apply_variant(config, variant);
    config_ = write_daemon_config(config);
  }

  /// wal2json for the non-parameterized tests.
  static PluginVariant variant_of_test() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return info->value_param() == nullptr ? wal2json_variant() : GetParam().variant;
  }

  void TearDown() override {
    if (current_test_failed() && daemon_) {
      std::cerr << "---- daemon log (tail) ----\n" << tail_lines(daemon_->log_text(), 60) << "\n";
    }
    daemon_.reset();
    pg_.reset();
  }

  PgCluster& pg() { return *pg_; }

  /// Starts the daemon and waits (bounded) until it streams the slot.
  ::testing::AssertionResult start_daemon() {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config_, "run"});
    const bool ok = wait_until(
        [&] {
          return !daemon_->running() || daemon_->log_text().find("streaming slot") != std::string::npos;
        },
        kStartTimeout, 50ms);
    if (!ok || !daemon_->running()) {
      return ::testing::AssertionFailure() << "daemon did not start streaming (running=" << daemon_->running()
                                           << "):\n" << tail_lines(daemon_->log_text(), 40);
    }
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult daemon_alive() {
    if (daemon_ && daemon_->running()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "daemon exited on its own (status "
                                         << (daemon_ ? daemon_->exit_status().value_or(-1) : -1) << "):\n"
                                         << (daemon_ ? tail_lines(daemon_->log_text(), 40) : std::string());
  }

  /// Waits until the slot's confirmed_flush_lsn reaches the current WAL end (support/slot_wait).
  ::testing::AssertionResult catch_up() {
    const auto started = Clock::now();
    ::testing::AssertionResult caught_up = wait_slot_caught_up(pg(), daemon_.get(), kCatchUpTimeout);
    if (caught_up) std::cout << "[rollups] caught up in " << seconds_since(started) << " s\n";
    return caught_up;
  }

  std::string utc_day() { return *pg().scalar("SELECT (clock_timestamp() AT TIME ZONE 'UTC')::date::text"); }

  /// The three rollup tables against the test's own recomputation.
  void expect_rollups_equal_recomputation(bool same_day) {
    EXPECT_TRUE(same_rows(pg(), "plan_rollup vs customers * price", kExpectedPlanRollup, kActualPlanRollup));
    EXPECT_TRUE(same_rows(pg(), "plan_changes_daily vs audit history", kPlanChangesFromAudit, kActualPlanChanges));
    if (same_day) {
      EXPECT_TRUE(same_rows(pg(), "plan_changes_daily vs test trigger", kPlanChangesFromShadow, kActualPlanChanges));
      EXPECT_TRUE(same_rows(pg(), "usage_daily vs test trigger", kUsageFromShadow, kActualUsage));
    } else {
      std::cout << "[rollups] the workload crossed a UTC midnight: trigger comparisons without the day\n";
      EXPECT_TRUE(same_rows(pg(), "plan_changes_daily vs test trigger (summed over days)",
                            without_day(kPlanChangesFromShadow, "f, t", "n"),
                            without_day(kActualPlanChanges, "f, t", "n")));
      EXPECT_TRUE(same_rows(pg(), "usage_daily vs test trigger (summed over days)",
                            without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
                            without_day(kActualUsage, "customer_uuid, resource", "consumed")));
    }
    // The workload exercised what it is meant to (else the comparisons prove little).
    EXPECT_GT(count_of(pg(), "SELECT count(*) FROM rollup_test.plan_changes"), 100);
    EXPECT_GT(count_of(pg(), "SELECT count(*) FROM rollup_test.usage WHERE consumed > 0"), 100);
    EXPECT_GT(count_of(pg(), "SELECT count(*) FROM public.customer WHERE plan_id IS NOT NULL"), 100);
    EXPECT_GT(count_of(pg(), "SELECT count(*) FROM public.plans WHERE id >= 1000"), 0);
    EXPECT_GT(count_of(pg(), "SELECT count(DISTINCT resource) FROM analytics.usage_daily"), 2);
  }

  void report(const RollupWorkload& w, Clock::time_point started) {
    const auto& s = w.stats();
    std::cout << "[rollups] " << s.transactions << " transactions, " << s.statements << " statements ("
              << s.big_transactions << " big, " << s.big_rows << " rows), audit rows "
              << count_of(pg(), "SELECT count(*) FROM public.audit_logs") << ", workload+catch-up "
              << seconds_since(started) << " s\n";
  }

  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::string config_;
};

TEST_P(Rollups, RandomizedWorkloadEqualsRecomputation) {
  ASSERT_TRUE(start_daemon());
  const auto started = Clock::now();
  const std::string first_day = utc_day();
  RollupWorkload workload(pg(), GetParam().seed);
  workload.run(800, 4);
  ASSERT_TRUE(daemon_alive());
  ASSERT_TRUE(catch_up());
  const bool same_day = first_day == utc_day();
  report(workload, started);
  EXPECT_GE(workload.stats().statements, 2000);

  expect_rollups_equal_recomputation(same_day);
  expect_streaming_happened(pg(), GetParam().variant);

  daemon_->terminate();
  EXPECT_EQ(daemon_->wait_exit(kExitTimeout), 0) << tail_lines(daemon_->log_text(), 20);
}

// The binary run streams its big transactions (streaming_variant: binary and
// streaming); its small ones still arrive whole, in binary: both modes
// without a fourth run.
INSTANTIATE_TEST_SUITE_P(Seeds, Rollups,
                         ::testing::Values(RollupRun{1u, wal2json_variant()}, RollupRun{20240611u, pgoutput_variant()},
                                           RollupRun{987654321u, streaming_variant()}),
                         [](const ::testing::TestParamInfo<RollupRun>& info) {
                           return "seed_" + std::to_string(info.param.seed) + "_" + info.param.variant.name;
                         });

TEST_F(Rollups, EqualAcrossKill9Restarts) {
  constexpr std::uint32_t kSeed = 4242;
  constexpr int kTransactions = 800;
  ASSERT_TRUE(start_daemon());
  const auto started = Clock::now();
  const std::string first_day = utc_day();
  RollupWorkload workload(pg(), kSeed);
  std::mt19937 chaos(kSeed + 1);
  auto rand = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(chaos); };

  std::set<int> kill_at;
  while (kill_at.size() < 6) kill_at.insert(rand(30, kTransactions - 1));
  int kills = 0;
  int restart_at = -1;  // transaction index at which a down daemon restarts

  auto kill_now = [&](int max_delay_ms = 400) -> ::testing::AssertionResult {
    if (auto alive = daemon_alive(); !alive) return alive;
    std::this_thread::sleep_for(std::chrono::milliseconds(rand(0, max_delay_ms)));  // lands anywhere in its work
    if (auto alive = daemon_alive(); !alive) return alive;
    daemon_->kill9();
    const auto status = daemon_->wait_exit(kExitTimeout);
    if (status != 128 + SIGKILL) {
      return ::testing::AssertionFailure() << "kill -9: exit status " << status.value_or(-1);
    }
    ++kills;
    return ::testing::AssertionSuccess();
  };

  workload.run(kTransactions, 4, [&](int i) {
    if (::testing::Test::HasFatalFailure()) return;
    if (restart_at >= 0 && i >= restart_at) {
      ASSERT_TRUE(start_daemon());
      restart_at = -1;
    }
    // Killed at random transactions, and while it works through a big one
    // (thousands of rows, rollup deltas written into the batch in chunks).
    if ((kill_at.contains(i) || workload.last_was_big()) && restart_at < 0) {
      ASSERT_TRUE(kill_now(workload.last_was_big() ? 1500 : 400));
      // Restart right away or after a few more transactions (a backlog).
      restart_at = i + (rand(0, 1) == 0 ? 0 : rand(1, 25));
      if (restart_at == i) {
        ASSERT_TRUE(start_daemon());
        restart_at = -1;
      }
    }
  });
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  if (restart_at >= 0) {
    ASSERT_TRUE(start_daemon());
  }

  // Once more while it works through the backlog, then the full catch-up.
  ASSERT_TRUE(kill_now());
  ASSERT_TRUE(start_daemon());
  ASSERT_TRUE(catch_up());
  const bool same_day = first_day == utc_day();
  report(workload, started);
  std::cout << "[rollups] " << kills << " kill -9 restarts\n";
  EXPECT_GE(kills, 5);

  expect_rollups_equal_recomputation(same_day);
  // Exactly one audit row per source change: nothing written twice.
  EXPECT_EQ(count_of(pg(), "SELECT count(*) FROM public.audit_logs WHERE action = 'plan_change'"),
            count_of(pg(), "SELECT count(*) FROM rollup_test.plan_changes"));
}

TEST_F(Rollups, RebuildAgreesWithIncremental) {
  ASSERT_TRUE(start_daemon());
  const auto started = Clock::now();
  const std::string first_day = utc_day();
  RollupWorkload workload(pg(), 777);
  workload.run(600, 3);
  ASSERT_TRUE(daemon_alive());
  ASSERT_TRUE(catch_up());
  report(workload, started);
  // The incremental state is right to begin with.
  expect_rollups_equal_recomputation(first_day == utc_day());

  pg().exec(
      "CREATE TABLE rollup_test.snap_plan_rollup AS SELECT plan_id, customers, mrr FROM analytics.plan_rollup;"
      "CREATE TABLE rollup_test.snap_usage AS SELECT day, customer_uuid, resource, consumed FROM analytics.usage_daily;"
      "CREATE TABLE rollup_test.snap_plan_changes AS "
      "  SELECT day, from_plan_id, to_plan_id, changes FROM analytics.plan_changes_daily");
  ASSERT_GT(count_of(pg(), "SELECT count(*) FROM rollup_test.snap_usage"), 0);
  ASSERT_GT(count_of(pg(), "SELECT count(*) FROM rollup_test.snap_plan_changes"), 0);

  daemon_->terminate();
  ASSERT_EQ(daemon_->wait_exit(kExitTimeout), 0) << tail_lines(daemon_->log_text(), 20);

  // Make sure rebuild really rewrites: spoil the tables first.
  pg().exec("UPDATE analytics.plan_rollup SET customers = customers + 7, mrr = mrr + 1;"
            "UPDATE analytics.usage_daily SET consumed = consumed + 1;"
            "DELETE FROM analytics.plan_changes_daily WHERE ctid IN "
            "  (SELECT ctid FROM analytics.plan_changes_daily LIMIT 5)");

  const auto r = DaemonProcess::run_to_completion({"--config", config_, "rebuild-rollups"}, {}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_FALSE(r.timed_out);
  std::cout << "[rollups] " << r.output;

  EXPECT_TRUE(same_rows(pg(), "rebuilt plan_rollup vs incremental",
                        "SELECT plan_id, customers, mrr::numeric FROM rollup_test.snap_plan_rollup "
                        "WHERE customers <> 0 OR mrr <> 0",
                        kActualPlanRollup));
  EXPECT_TRUE(same_rows(pg(), "rebuilt usage_daily vs incremental",
                        "SELECT day, customer_uuid, resource, consumed FROM rollup_test.snap_usage",
                        "SELECT day, customer_uuid, resource, consumed FROM analytics.usage_daily"));
  EXPECT_TRUE(same_rows(pg(), "rebuilt plan_changes_daily vs incremental",
                        "SELECT day, from_plan_id, to_plan_id, changes FROM rollup_test.snap_plan_changes",
                        "SELECT day, from_plan_id, to_plan_id, changes FROM analytics.plan_changes_daily"));
  if (HasFailure()) return;

  // Rebuild with a backlog: changes the stopped daemon has not seen yet (a
  // rebuild from the current tables would count them twice once the daemon
  // resumes), then more changes while it catches up.
  workload.run(150, 0);
  const auto backlog = DaemonProcess::run_to_completion({"--config", config_, "rebuild-rollups"}, {}, 120s);
  ASSERT_EQ(backlog.exit_code, 0) << backlog.output;
  std::cout << "[rollups] with a backlog: " << backlog.output;
  ASSERT_TRUE(start_daemon());
  workload.run(150, 0);
  ASSERT_TRUE(daemon_alive());
  ASSERT_TRUE(catch_up());
  expect_rollups_equal_recomputation(first_day == utc_day());
}

// jsonb numbers have arbitrary precision: a value computed with numeric
// division (1/3 gives 20 fractional digits) or a huge allowance is an
// ordinary resource update and must not stop the stream.
TEST_F(Rollups, ResourceValuesOfAnyNumericPrecision) {
  ASSERT_TRUE(start_daemon());
  pg().exec(
      "INSERT INTO public.customer (uuid, email, remaining_resources) VALUES "
      "('00000000-0000-0000-0000-000000000001', 'p1@example.test', '{\"api_calls\": 10, \"storage_gb\": 1}'),"
      "('00000000-0000-0000-0000-000000000002', 'p2@example.test', "
      "  '{\"api_calls\": 100000000000000000000000, \"storage_gb\": 1}')");
  // 1 -> 1/3 (0.33333333333333333333) -> 0: consumed 1 in two steps that
  // each have 20 fractional digits.
  pg().exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{storage_gb}', "
            "to_jsonb(1::numeric / 3)) WHERE uuid = '00000000-0000-0000-0000-000000000001'");
  pg().exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{storage_gb}', "
            "'0') WHERE uuid = '00000000-0000-0000-0000-000000000001'");
  // 10^23 - 1 (24 integer digits).
  pg().exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', "
            "to_jsonb(99999999999999999999999::numeric)) WHERE uuid = '00000000-0000-0000-0000-000000000002'");
  // An ordinary update afterwards must get through as well.
  pg().exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', '7') "
            "WHERE uuid = '00000000-0000-0000-0000-000000000001'");
  ASSERT_TRUE(catch_up());
  EXPECT_TRUE(same_rows(pg(), "usage_daily vs test trigger (summed over days)",
                        without_day(kUsageFromShadow, "customer_uuid, resource", "consumed"),
                        without_day(kActualUsage, "customer_uuid, resource", "consumed")));
  // The expectation itself, spelled out (summed over days).
  EXPECT_TRUE(same_rows(pg(), "usage_daily vs literal expectation",
                        "SELECT * FROM (VALUES ('00000000-0000-0000-0000-000000000001'::uuid, 'api_calls'::text, 3::numeric),"
                        " ('00000000-0000-0000-0000-000000000001', 'storage_gb', 1),"
                        " ('00000000-0000-0000-0000-000000000002', 'api_calls', 1)) v",
                        without_day(kActualUsage, "customer_uuid, resource", "consumed")));
  EXPECT_EQ(count_of(pg(), "SELECT count(*) FROM public.audit_logs WHERE action = 'resource_update'"), 4);
}

}  // namespace
}  // namespace cdc::testing
