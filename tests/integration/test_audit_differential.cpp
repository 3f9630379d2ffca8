// Differential tests of the audit sink: the daemon's public.audit_logs must hold
// exactly the rows the seed's `log_customer_changes` trigger would have written
// (plus customer_created / customer_deleted), in commit order, once each.
//
// The reference is a shadow of the seed trigger installed by the test only
// (schema test_shadow, tests/support/audit_shadow): the seed's function body verbatim, writing into
// test_shadow.audit_logs and also recording txid_current(), plus AFTER INSERT /
// AFTER DELETE row triggers for customer_created / customer_deleted. The
// workload runs from one connection, sequentially, so that the shadow's id
// order is the commit order; the daemon's rows (ORDER BY id) are compared with
// the shadow's row by row.

#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/audit_shadow.hpp"
#include "support/daemon_config.hpp"
#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/plugin_variant.hpp"
#include "support/slot_wait.hpp"
#include "support/workload.hpp"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSlot = "customer_cdc";
constexpr auto kStreamingTimeout = std::chrono::seconds(60);
constexpr auto kCatchUpTimeout = std::chrono::seconds(180);

PgClusterOptions cluster_options() {
  PgClusterOptions options;
  options.extra_conf = {"track_commit_timestamp = on"};
  return options;
}

std::string daemon_config(const PgCluster& pg, const PluginVariant& variant = wal2json_variant()) {
  DaemonConfig config(pg.conninfo());
  config.log_level = "debug";
  config.slot = kSlot;
  config.status_interval_ms = 1000;
  config.rollups = true;
  apply_variant(config, variant);
  return write_daemon_config(config);
}

void install_shadow(PgCluster& pg) { install_audit_shadow(pg); }

std::string show(const Value& v) { return v ? "'" + *v + "'" : std::string("NULL"); }

std::unique_ptr<DaemonProcess> start_daemon(const std::string& config) {
  return std::make_unique<DaemonProcess>(std::vector<std::string>{"--config", config, "run"});
}

/// Slot, checkpoint, row counts and daemon log, for failure messages.
std::string diagnostics(PgCluster& pg, DaemonProcess* daemon) {
  std::string shadow_rows;
  try {
    shadow_rows = show(pg.scalar("SELECT count(*) FROM test_shadow.audit_logs"));
  } catch (const std::exception& e) {
    shadow_rows = std::string("(query failed: ") + e.what() + ")";
  }
  return "shadow rows=" + shadow_rows + "\n" + slot_diagnostics(pg, daemon, kSlot);
}

/// Every change committed so far is written (support/slot_wait).
::testing::AssertionResult wait_caught_up(PgCluster& pg, DaemonProcess* daemon) {
  return wait_slot_caught_up(pg, daemon, kCatchUpTimeout, kSlot);
}

using Comparison = AuditShadowComparison;

/// Row-by-row comparison of public.audit_logs with the shadow (support/audit_shadow).
Comparison compare_with_shadow(PgCluster& pg) { return compare_audit_with_shadow(pg); }

/// All the checks of a comparison; `min_rows` guards against a vacuous pass.
void expect_equal_to_shadow(PgCluster& pg, std::int64_t min_rows) {
  const Comparison c = compare_with_shadow(pg);
  std::cout << "[differential] ours=" << c.ours << " shadow=" << c.shadow << " differences=" << c.differences
            << std::endl;
  EXPECT_GE(c.shadow, min_rows) << "the workload produced fewer shadow rows than expected";
  EXPECT_EQ(c.ours, c.shadow) << "row counts differ (lost or duplicated entries)";
  EXPECT_EQ(c.differences, 0) << "first differences:\n" << c.first_differences;
  EXPECT_EQ(c.null_lsn, 0) << "audit rows without source_lsn";
  EXPECT_EQ(c.distinct_lsn, c.ours) << "source_lsn values are not unique";
}

// ---------------------------------------------------------------------------
// Test 1: a hand-written workload covering the trigger's cases.

constexpr const char* kDecrement =
    "jsonb_set(coalesce(remaining_resources, '{}'), '{api_calls}', "
    "to_jsonb(coalesce((remaining_resources->>'api_calls')::numeric, 0) - 1))";

std::string decrement_where(const std::string& where) {
  return std::string("UPDATE public.customer SET remaining_resources = ") + kDecrement + " WHERE " + where;
}

void run_mixed_workload(PgConn& c) {
  auto plan = [](const char* name) { return std::string("(SELECT id FROM public.plans WHERE name = '") + name + "')"; };
  auto who = [](const char* email) { return std::string("email = '") + email + "'"; };

  // Customers created through auth.users (handle_new_user), one and two per transaction.
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) VALUES ('alice@example.com', '{\"name\": \"Alice\"}')");
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) VALUES ('bob@example.com', NULL), "
         "('carol@example.com', '{\"x\": 1}')");
  // Direct inserts, with and without plan_id.
  c.exec("INSERT INTO public.customer (uuid, email) VALUES (gen_random_uuid(), 'dave@example.com')");
  c.exec("INSERT INTO public.customer (uuid, email, plan_id, plan_resources, remaining_resources) "
         "SELECT gen_random_uuid(), 'erin@example.com', id, resources, resources FROM public.plans WHERE name = 'Pro'");
  c.exec("INSERT INTO public.customer (uuid, email, plan_id) SELECT gen_random_uuid(), 'frank@example.com', id "
         "FROM public.plans WHERE name = 'Basic'");
  c.exec("INSERT INTO public.customer (uuid, email, metadata, remaining_resources) VALUES "
         "(gen_random_uuid(), 'grace@example.com', '{}', '{\"api_calls\": 3}')");

  // Plan changes: null -> plan, plan -> plan, plan -> null, same plan (no row), several rows at once.
  c.exec("UPDATE public.customer SET plan_id = " + plan("Basic") + " WHERE " + who("alice@example.com"));
  c.exec("UPDATE public.customer SET plan_id = " + plan("Pro") + " WHERE " + who("alice@example.com"));
  c.exec("UPDATE public.customer SET plan_id = NULL WHERE " + who("erin@example.com"));
  c.exec("UPDATE public.customer SET plan_id = plan_id WHERE " + who("alice@example.com"));
  c.exec("UPDATE public.customer SET plan_id = " + plan("Enterprise") +
         " WHERE email IN ('bob@example.com', 'carol@example.com')");
  c.exec("UPDATE public.customer SET plan_id = " + plan("Basic") + " WHERE " + who("dave@example.com"));
  // Plan and resources in one statement (the plan-reset trigger overrides the resources).
  c.exec("UPDATE public.customer SET plan_id = " + plan("Pro") +
         ", remaining_resources = '{\"api_calls\": 1}' WHERE " + who("grace@example.com"));

  // Resource decrements.
  for (int i = 0; i < 3; ++i) c.exec(decrement_where(who("alice@example.com")));
  c.exec(decrement_where("email IN ('bob@example.com', 'carol@example.com', 'erin@example.com')"));
  // Equal jsonb, different text (dave is on Basic: {"api_calls": 1000, "storage_gb": 10}): no row.
  c.exec("UPDATE public.customer SET remaining_resources = '{\"storage_gb\": 10.00, \"api_calls\": 1000.0}' WHERE " +
         who("dave@example.com"));
  // Same value: no row.
  c.exec("UPDATE public.customer SET remaining_resources = remaining_resources WHERE " + who("alice@example.com"));
  // Then a real change from the 1000.0 text.
  c.exec(decrement_where(who("dave@example.com")));
  // SQL NULL -> JSON null -> SQL NULL: distinct for the trigger (rows whose old and new values look alike).
  c.exec("UPDATE public.customer SET remaining_resources = NULL WHERE " + who("frank@example.com"));
  c.exec("UPDATE public.customer SET remaining_resources = 'null'::jsonb WHERE " + who("frank@example.com"));
  c.exec("UPDATE public.customer SET remaining_resources = NULL WHERE " + who("frank@example.com"));
  // Text that needs escaping on the way (COPY, JSON), numbers jsonb keeps exactly (within the
  // rollups' 20 integer / 18 fractional digits: see NumbersBeyondRollupRangeDoNotStopTheStream).
  c.exec(R"sql(UPDATE public.customer SET remaining_resources = '{"api_calls": 5, "note": "tab\there, newline\nthere, backslash \\ quote \" unicode ünïcødé ✓ \u0001", "big": 12345678901234567890.123456789012345678, "small": 1e-18, "neg": -98765432109876543210.5, "zero": -0.0, "arr": [1, "two", null, {"k": []}]}' WHERE email = 'grace@example.com')sql");
  c.exec(decrement_where(who("grace@example.com")));
  c.exec("UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{big}', "
         "to_jsonb((remaining_resources->>'big')::numeric - 0.5)) WHERE " + who("grace@example.com"));

  // Email-only and metadata-only updates through auth.users (handle_user_update), and metadata directly: no rows.
  c.exec("UPDATE auth.users SET email = 'alice2@example.com' WHERE email = 'alice@example.com'");
  c.exec("UPDATE auth.users SET raw_user_meta_data = '{\"name\": \"Bob\"}' WHERE email = 'bob@example.com'");
  c.exec("UPDATE public.customer SET metadata = '{\"vip\": true}', updated_at = now() WHERE " +
         who("carol@example.com"));
  c.exec("UPDATE public.customer SET stripe_customer_id = 'cus_123' WHERE " + who("carol@example.com"));
  // Primary key change alone (no row), then with resources (row under the new uuid).
  c.exec("UPDATE public.customer SET uuid = gen_random_uuid() WHERE " + who("erin@example.com"));
  c.exec("UPDATE public.customer SET uuid = gen_random_uuid(), remaining_resources = '{\"api_calls\": 9}' WHERE " +
         who("erin@example.com"));

  // Several changes to one row in one transaction.
  c.exec("BEGIN");
  c.exec(decrement_where(who("carol@example.com")));
  c.exec(decrement_where(who("carol@example.com")));
  c.exec("UPDATE public.customer SET plan_id = " + plan("Basic") + " WHERE " + who("carol@example.com"));
  c.exec(decrement_where(who("carol@example.com")));
  c.exec("UPDATE public.customer SET metadata = '{\"vip\": false}' WHERE " + who("carol@example.com"));
  c.exec("COMMIT");
  // Subtransactions: a rolled-back savepoint's change is not written, a released one's is.
  c.exec("BEGIN");
  c.exec(decrement_where(who("carol@example.com")));
  c.exec("SAVEPOINT a");
  c.exec(decrement_where(who("carol@example.com")));
  c.exec("UPDATE public.customer SET plan_id = NULL WHERE " + who("alice2@example.com"));
  c.exec("ROLLBACK TO SAVEPOINT a");
  c.exec("SAVEPOINT b");
  c.exec("UPDATE public.customer SET plan_id = " + plan("Pro") + " WHERE " + who("carol@example.com"));
  c.exec("RELEASE SAVEPOINT b");
  c.exec(decrement_where(who("dave@example.com")));
  c.exec("COMMIT");
  // Insert, change and delete of one customer within a transaction; re-insert of a deleted uuid.
  c.exec("BEGIN");
  c.exec("INSERT INTO public.customer (uuid, email, remaining_resources) VALUES "
         "('00000000-0000-4000-8000-000000000001', 'henry@example.com', '{\"api_calls\": 2}')");
  c.exec(decrement_where(who("henry@example.com")));
  c.exec("DELETE FROM public.customer WHERE " + who("henry@example.com"));
  c.exec("INSERT INTO public.customer (uuid, email, plan_id) VALUES "
         "('00000000-0000-4000-8000-000000000001', 'henry2@example.com', " + plan("Basic") + ")");
  c.exec("COMMIT");

  // Plan price change (plans are streamed, no audit row), and a plan delete:
  // its customers go to plan NULL through ON DELETE SET NULL (the plan-reset
  // trigger and the audit trigger fire).
  c.exec("UPDATE public.plans SET price = 24.99, updated_at = now() WHERE name = 'Pro'");
  c.exec("INSERT INTO public.plans (name, price, benefits, resources) VALUES "
         "('Temp', 1.00, '[]', '{\"api_calls\": 7, \"storage_gb\": 1}')");
  c.exec("UPDATE public.customer SET plan_id = " + plan("Temp") +
         " WHERE email IN ('bob@example.com', 'dave@example.com', 'henry2@example.com')");
  c.exec(decrement_where(who("bob@example.com")));
  c.exec("DELETE FROM public.plans WHERE name = 'Temp'");

  // Deletes.
  c.exec("DELETE FROM public.customer WHERE " + who("erin@example.com"));
  c.exec("DELETE FROM public.customer WHERE email IN ('frank@example.com', 'grace@example.com')");

  // A rolled-back transaction: nothing is written.
  c.exec("BEGIN");
  c.exec("UPDATE public.customer SET plan_id = " + plan("Enterprise") + " WHERE " + who("alice2@example.com"));
  c.exec("INSERT INTO public.customer (uuid, email) VALUES (gen_random_uuid(), 'ghost@example.com')");
  c.exec("DELETE FROM public.customer WHERE " + who("bob@example.com"));
  c.exec(decrement_where("true"));
  c.exec("ROLLBACK");

  // Large transactions (the streaming variant's server streams them while
  // they run): one rolls back to a savepoint after thousands of rows of it
  // were streamed, and commits; one aborts whole. Neither leaves a
  // rolled-back row.
  c.exec("BEGIN");
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) "
         "SELECT 'kept' || g || '@example.com', jsonb_build_object('n', g) FROM generate_series(1, 2000) g");
  c.exec("SAVEPOINT before_more");
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) "
         "SELECT 'undone' || g || '@example.com', jsonb_build_object('n', g) FROM generate_series(1, 2000) g");
  c.exec(decrement_where("email LIKE 'kept%'"));
  c.exec("ROLLBACK TO SAVEPOINT before_more");
  c.exec(decrement_where("email LIKE 'kept1%'"));
  c.exec("COMMIT");
  c.exec("BEGIN");
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) "
         "SELECT 'aborted' || g || '@example.com', jsonb_build_object('n', g) FROM generate_series(1, 3000) g");
  c.exec("ROLLBACK");

  // Unrelated table, alone and together with a customer change.
  c.exec("INSERT INTO public.unrelated_things (note, payload) SELECT 'n' || g, jsonb_build_object('g', g) "
         "FROM generate_series(1, 200) g");
  c.exec("BEGIN");
  c.exec("INSERT INTO public.unrelated_things (note) VALUES ('with a customer change')");
  c.exec(decrement_where(who("alice2@example.com")));
  c.exec("UPDATE public.unrelated_things SET note = 'x' WHERE id < 10");
  c.exec("COMMIT");

  // One big transaction: 50,000 customers, then one UPDATE of every customer.
  c.exec("INSERT INTO auth.users (email, raw_user_meta_data) "
         "SELECT 'bulk' || g || '@example.com', jsonb_build_object('n', g) FROM generate_series(1, 50000) g");
  c.exec("UPDATE public.customer SET remaining_resources = jsonb_build_object('api_calls', 100, 'storage_gb', 1)");

  // Small transactions after the big one.
  c.exec(decrement_where(who("alice2@example.com")));
  c.exec("DELETE FROM public.customer WHERE email = 'bulk17@example.com'");
  c.exec("UPDATE public.customer SET plan_id = " + plan("Enterprise") + " WHERE email = 'bulk18@example.com'");
}

/// Runs under every plugin and mode: the same audit as the trigger's.
class AuditDifferentialPlugins : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(AuditDifferentialPlugins, MixedWorkloadEqualsTrigger) {
  PgCluster pg(cluster_options());
  install_shadow(pg);
  prepare_source(pg, GetParam());
  const std::string config = daemon_config(pg, GetParam());
  auto daemon = start_daemon(config);
  ASSERT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());

  const auto started = Clock::now();
  run_mixed_workload(pg.conn());
  const auto workload_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_TRUE(wait_caught_up(pg, daemon.get()));
  std::cout << "[differential] workload " << workload_seconds << " s, caught up after "
            << std::chrono::duration<double>(Clock::now() - started).count() << " s" << std::endl;
  ASSERT_TRUE(daemon->running()) << diagnostics(pg, daemon.get());

  expect_equal_to_shadow(pg, 100000);
  // Guards against a vacuous comparison (a shadow or workload that does less than intended).
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM test_shadow.audit_logs WHERE action = 'customer_created'"), "52009");
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM public.customer WHERE email LIKE 'undone%' OR email LIKE 'aborted%'"),
            "0");
  expect_streaming_happened(pg, GetParam());
  EXPECT_EQ(pg.scalar("SELECT count(*) FROM public.audit_logs WHERE action = 'customer_deleted'"), "5");

  daemon->terminate();
  EXPECT_EQ(daemon->wait_exit(std::chrono::seconds(60)), 0) << diagnostics(pg, daemon.get());
}

INSTANTIATE_TEST_SUITE_P(Plugins, AuditDifferentialPlugins, ::testing::ValuesIn(plugin_variants(/*with_streaming=*/true)),
                         variant_name);

// ---------------------------------------------------------------------------
// Random workload for the restart tests: each operation its own transaction.

WorkloadKnobs restart_knobs(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::SignUp, 10},        {Statement::InsertOnPlan, 5},    {Statement::PlanChange, 18},
               {Statement::ResourceUpdate, 27}, {Statement::SameValueUpdate, 4}, {Statement::EmailUpdate, 5},
               {Statement::MetadataUpdate, 4},  {Statement::SameRowChanges, 10}, {Statement::Delete, 4},
               {Statement::RolledBack, 3},      {Statement::Unrelated, 4},       {Statement::PriceChange, 3},
               {Statement::PlanDelete, 1},      {Statement::Savepoint, 2}};
  knobs.rows_per_insert = {1, 3};
  knobs.deletes_per_statement = {1, 1};
  knobs.min_customers = 20;
  return knobs;
}

/// Random transactions of one operation each (support/workload), on one connection.
class RandomWorkload {
 public:
  RandomWorkload(PgConn& conn, std::uint32_t seed) : c_(conn), workload_(restart_knobs(seed)) {}

  /// Loads the customers that exist now (after setup).
  void load_pool() { workload_.load(c_); }
  /// One random operation (one transaction, committed or rolled back).
  void step() { workload_.execute(c_, workload_.next()); }
  /// One transaction updating `rows` customers (one audit row each).
  void big_update(int rows) { workload_.execute(c_, workload_.big(Big::Decrement, rows)); }

 private:
  PgConn& c_;
  Workload workload_;
};

/// Runs `steps` random transactions (plus two 5k-row transactions) on its own
/// connection in a background thread.
class WorkloadThread {
 public:
  /// The steps run in `chunks` chunks; chunk k starts once `events` >= k (or
  /// after a bounded wait), so that the workload overlaps the kills however fast
  /// the machine is.
  WorkloadThread(const PgCluster& pg, std::uint32_t seed, int steps, int chunks, const std::atomic<int>& events)
      : thread_([this, &pg, seed, steps, chunks, &events] { run(pg, seed, steps, chunks, events); }) {}
  ~WorkloadThread() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_.load(); }
  int completed() const { return completed_.load(); }
  void join() { thread_.join(); }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  void run(const PgCluster& pg, std::uint32_t seed, int steps, int chunks, const std::atomic<int>& events) {
    try {
      PgConn conn = pg.connect();
      RandomWorkload w(conn, seed);
      w.load_pool();
      const int chunk = (steps + chunks - 1) / chunks;
      for (int i = 0; i < steps; ++i) {
        if (i % chunk == 0) {
          wait_until([&] { return events.load() >= i / chunk; }, std::chrono::seconds(30),
                     std::chrono::milliseconds(5));
        }
        if (i == steps / 3 || i == 2 * steps / 3) w.big_update(5000);
        w.step();
        completed_.store(i + 1);
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::string("workload failed after ") + std::to_string(completed_.load()) + " steps: " + e.what();
    }
    done_.store(true);
  }

  std::atomic<bool> done_{false};
  std::atomic<int> completed_{0};
  mutable std::mutex mutex_;
  std::string error_;
  std::thread thread_;  // last: starts after the other members exist
};

void create_initial_customers(PgCluster& pg, int n) {
  pg.exec("INSERT INTO auth.users (email, raw_user_meta_data) SELECT 'init' || g || '@example.com', '{}' "
          "FROM generate_series(1, " + std::to_string(n) + ") g");
  pg.exec("UPDATE public.customer SET plan_id = 1 + (hashtext(email) & 3) % 3 WHERE email LIKE 'init%'");
}

// ---------------------------------------------------------------------------
// Test 2: kill -9 at random moments while a workload runs.

/// Under wal2json, pgoutput binary and streaming (the 6,000 initial customers are one streamed transaction).
class AuditDifferentialKill9 : public ::testing::TestWithParam<PluginVariant> {};

TEST_P(AuditDifferentialKill9, SurvivesKill9Restarts) {
  constexpr std::uint32_t kSeed = 20240601;
  constexpr int kSteps = 3000;
  constexpr int kMinKills = 8;
  constexpr auto kKillPhaseLimit = std::chrono::seconds(90);

  PgCluster pg(cluster_options());
  install_shadow(pg);
  prepare_source(pg, GetParam());
  const std::string config = daemon_config(pg, GetParam());
  std::vector<std::unique_ptr<DaemonProcess>> previous;  // kept for their logs
  auto daemon = start_daemon(config);
  ASSERT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());
  create_initial_customers(pg, 6000);

  std::mt19937 rng(kSeed);
  int kills = 0;
  int kills_while_streaming = 0;
  int kills_after_workload = 0;
  int kills_during_workload = 0;
  bool sigterm_done = false;
  int unexpected_exits = 0;
  const auto started = Clock::now();
  {
    std::atomic<int> events{0};  // kills and stops so far
    WorkloadThread workload(pg, kSeed + 1, kSteps, kMinKills + 2, events);
    while ((!workload.done() || kills < kMinKills) && Clock::now() - started < kKillPhaseLimit) {
      // Every other kill lands at a random moment after the daemon streams (in the
      // middle of its work); the others at any moment, startup included.
      if (kills % 2 == 0 && !daemon->wait_for_output("streaming slot", kStreamingTimeout)) {
        ADD_FAILURE() << "the restarted daemon does not stream\n" << diagnostics(pg, daemon.get());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng)));
      if (!daemon->running()) {
        ++unexpected_exits;
        ADD_FAILURE() << "the daemon exited by itself (kill #" << kills << ")\n" << diagnostics(pg, daemon.get());
      } else if (!sigterm_done && kills >= kMinKills / 2) {
        // One orderly stop/start cycle in the middle: wait until it streams, then SIGTERM.
        EXPECT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());
        daemon->terminate();
        const std::optional<int> status = daemon->wait_exit(std::chrono::seconds(60));
        EXPECT_EQ(status, 0) << "SIGTERM must stop the daemon with exit code 0\n" << diagnostics(pg, daemon.get());
        EXPECT_NE(daemon->log_text().find("stopped"), std::string::npos) << diagnostics(pg, daemon.get());
        if (!status) {
          // Hung: end it so that the rest of the test still runs.
          daemon->kill9();
          daemon->wait_exit(std::chrono::seconds(10));
        }
        sigterm_done = true;
      } else {
        const bool was_streaming = daemon->log_text().find("streaming slot") != std::string::npos;
        daemon->kill9();
        EXPECT_EQ(daemon->wait_exit(std::chrono::seconds(10)), 128 + SIGKILL);
        ++kills;
        if (was_streaming) ++kills_while_streaming;
        if (workload.done()) ++kills_after_workload;
        if (workload.completed() > 0 && !workload.done()) ++kills_during_workload;
      }
      previous.push_back(std::move(daemon));
      daemon = start_daemon(config);
      events.fetch_add(1);
    }
    events.store(1 << 20);  // the rest of the workload (if any) runs unpaced
    workload.join();
    EXPECT_EQ(workload.error(), "");
    EXPECT_EQ(workload.completed(), kSteps);
  }
  std::cout << "[differential] " << kills << " kills (" << kills_while_streaming << " while streaming, "
            << kills_during_workload << " during the workload, " << kills_after_workload
            << " after it), workload and kill phase "
            << std::chrono::duration<double>(Clock::now() - started).count() << " s" << std::endl;
  EXPECT_GE(kills, kMinKills);
  EXPECT_GE(kills_while_streaming, kMinKills / 2);
  EXPECT_GE(kills_during_workload, kMinKills / 2);
  EXPECT_TRUE(sigterm_done);
  EXPECT_EQ(unexpected_exits, 0);

  ASSERT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());
  ASSERT_TRUE(wait_caught_up(pg, daemon.get()));
  ASSERT_TRUE(daemon->running()) << diagnostics(pg, daemon.get());
  expect_equal_to_shadow(pg, 2 * 6000 + 2 * 5000 + kSteps / 2);
  expect_streaming_happened(pg, GetParam());  // the 6,000 initial customers, at least

  daemon->terminate();
  EXPECT_EQ(daemon->wait_exit(std::chrono::seconds(60)), 0) << diagnostics(pg, daemon.get());
}

INSTANTIATE_TEST_SUITE_P(Plugins, AuditDifferentialKill9,
                         ::testing::Values(wal2json_variant(), pgoutput_variant(/*binary=*/true), streaming_variant()),
                         variant_name);

// ---------------------------------------------------------------------------
// Test 3: an orderly stop mid-stream, changes while the daemon is down, restart.

TEST(AuditDifferential, RestartResumesWithoutDuplicates) {
  PgCluster pg(cluster_options());
  install_shadow(pg);
  const std::string config = daemon_config(pg);
  auto daemon = start_daemon(config);
  ASSERT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());

  create_initial_customers(pg, 20000);
  RandomWorkload w(pg.conn(), 7);
  w.load_pool();
  for (int i = 0; i < 300; ++i) w.step();
  ASSERT_TRUE(wait_caught_up(pg, daemon.get()));
  const std::int64_t after_first_batch = std::stoll(*pg.scalar("SELECT count(*) FROM public.audit_logs"));
  ASSERT_GT(after_first_batch, 2 * 20000) << diagnostics(pg, daemon.get());

  // More changes, then SIGTERM while the daemon lags behind: a lock on
  // public.audit_logs (as a long migration would take) holds its writer, so the
  // reader stops reading and thousands of messages wait in the socket buffers
  // when it stops. The lock is released after the SIGTERM.
  PgConn locker = pg.connect();
  locker.exec("BEGIN; LOCK TABLE public.audit_logs IN EXCLUSIVE MODE");
  for (int i = 0; i < 200; ++i) w.step();
  w.big_update(20000);
  {
    const Value target = pg.scalar("SELECT pg_current_wal_lsn()::text");
    // Until the server has sent everything or is blocked on the full socket (bounded; either is fine).
    wait_until([&] {
      return pg.scalar("SELECT r.sent_lsn >= $1::pg_lsn FROM pg_stat_replication r "
                       "JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $2",
                       {*target, kSlot}) == "t";
    }, std::chrono::seconds(5), std::chrono::milliseconds(100));
  }
  daemon->terminate();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  locker.exec("COMMIT");
  const std::optional<int> status = daemon->wait_exit(std::chrono::seconds(60));
  EXPECT_EQ(status, 0) << "SIGTERM must stop the daemon with exit code 0\n" << diagnostics(pg, daemon.get());
  EXPECT_NE(daemon->log_text().find("stopped"), std::string::npos) << diagnostics(pg, daemon.get());
  if (!status) {
    // Hung: end it so that the rest of the test still checks the resume.
    daemon->kill9();
    daemon->wait_exit(std::chrono::seconds(10));
  }
  // What was written so far is a prefix of the shadow: nothing beyond it, nothing out of order.
  {
    const Comparison partial = compare_with_shadow(pg);
    EXPECT_LE(partial.ours, partial.shadow);
    EXPECT_EQ(partial.differences, partial.shadow - partial.ours)
        << "the rows written before the stop are not a prefix of the shadow:\n"
        << partial.first_differences;
  }

  // Changes while the daemon is down.
  for (int i = 0; i < 300; ++i) w.step();
  w.big_update(3000);

  auto restarted = start_daemon(config);
  ASSERT_TRUE(restarted->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, restarted.get());
  for (int i = 0; i < 100; ++i) w.step();
  ASSERT_TRUE(wait_caught_up(pg, restarted.get()));
  ASSERT_TRUE(restarted->running()) << diagnostics(pg, restarted.get());
  expect_equal_to_shadow(pg, after_first_batch + 20000 + 3000);

  restarted->terminate();
  EXPECT_EQ(restarted->wait_exit(std::chrono::seconds(60)), 0) << diagnostics(pg, restarted.get());
  EXPECT_NE(restarted->log_text().find("stopped"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Test 4: jsonb numbers of any size are valid remaining_resources values; the
// audit entries for them must be written like any other (the rollups'
// fixed-precision arithmetic must not stop the stream).

TEST(AuditDifferential, NumbersBeyondRollupRangeDoNotStopTheStream) {
  PgCluster pg(cluster_options());
  install_shadow(pg);
  const std::string config = daemon_config(pg);
  auto daemon = start_daemon(config);
  ASSERT_TRUE(daemon->wait_for_output("streaming slot", kStreamingTimeout)) << diagnostics(pg, daemon.get());

  PgConn& c = pg.conn();
  c.exec("INSERT INTO public.customer (uuid, email, remaining_resources) VALUES (gen_random_uuid(), "
         "'huge@example.com', '{\"api_calls\": 10, \"big\": 123456789012345678901234567890, \"tiny\": 1e-30}')");
  // A change of another key while the huge values stay as they are.
  c.exec(decrement_where("email = 'huge@example.com'"));
  // A change of the huge values themselves.
  c.exec("UPDATE public.customer SET remaining_resources = remaining_resources || jsonb_build_object("
         "'big', (remaining_resources->>'big')::numeric - 1, 'tiny', (remaining_resources->>'tiny')::numeric / 2) "
         "WHERE email = 'huge@example.com'");
  // Changes after them must still arrive.
  c.exec("INSERT INTO auth.users (email) VALUES ('after@example.com')");
  c.exec("UPDATE public.customer SET plan_id = 2 WHERE email = 'after@example.com'");
  c.exec(decrement_where("email = 'after@example.com'"));

  ASSERT_TRUE(wait_caught_up(pg, daemon.get()));
  expect_equal_to_shadow(pg, 6);

  daemon->terminate();
  EXPECT_EQ(daemon->wait_exit(std::chrono::seconds(60)), 0) << diagnostics(pg, daemon.get());
}

}  // namespace
}  // namespace cdc::testing
