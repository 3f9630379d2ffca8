// End-to-end tests of the analytics rollups (CONTRACT.md section 6): a real
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

#include "support/daemon_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/rollup_check.hpp"

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
// The random workload.

struct WorkloadStats {
  int transactions = 0;
  int statements = 0;
  int big_transactions = 0;
  std::int64_t big_rows = 0;
};

/// Random transactions on public.customer (directly and through auth.users)
/// and public.plans, driven by std::mt19937(seed). Statements never fail: they
/// address rows through WHERE clauses that tolerate a stale client-side model.
class Workload {
 public:
  Workload(PgCluster& pg, std::uint32_t seed) : pg_(pg), seed_(seed), rng_(seed) {
    for (const Row& row : pg_.query("SELECT id FROM public.plans ORDER BY id")) plans_.push_back(std::stoll(*row[0]));
  }

  enum class Big { Fill, ConsumeAllKeys, Consume, PlanMoves, Churn };

  /// Runs `transactions` random transactions, `big` of them big
  /// (2k-10k rows); `between(i)` is called before transaction i and once at
  /// the end with i == transactions.
  void run(int transactions, int big, const std::function<void(int)>& between = {}) {
    std::map<int, Big> big_at;
    // The first big one fills the table, soon followed by one that consumes
    // three resources of up to 10k customers at once (> 20k usage keys in one
    // source transaction: the daemon writes its delta in chunks); the rest
    // are random kinds at random places.
    if (big >= 1) big_at[transactions / 10] = Big::Fill;
    if (big >= 2) big_at[transactions / 10 + rand(1, 5)] = Big::ConsumeAllKeys;
    while (static_cast<int>(big_at.size()) < big) {
      big_at.emplace(rand(transactions / 5, transactions - 1), static_cast<Big>(rand(2, 4)));
    }
    for (int i = 0; i < transactions; ++i) {
      if (between) between(i);
      last_was_big_ = big_at.contains(i);
      if (last_was_big_) {
        big_transaction(big_at[i]);
      } else {
        small_transaction();
      }
    }
    if (between) between(transactions);
  }

  const WorkloadStats& stats() const { return stats_; }
  /// The transaction just committed was a big one.
  bool last_was_big() const { return last_was_big_; }
  int rand(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

 private:
  void commit(const std::vector<std::string>& statements) {
    std::string sql = "BEGIN;\n";
    for (const auto& s : statements) sql += s + ";\n";
    sql += "COMMIT;";
    pg_.exec(sql);
    ++stats_.transactions;
    stats_.statements += static_cast<int>(statements.size());
  }

  std::string new_uuid() {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
      out += hex[rand(0, 15)];
    }
    return out;
  }
  std::string new_email() { return "c" + std::to_string(seed_) + "-" + std::to_string(++emails_) + "@example.test"; }

  std::string plan_or_null() {
    if (plans_.empty() || chance(0.15)) return "NULL";
    return std::to_string(plans_[static_cast<std::size_t>(rand(0, static_cast<int>(plans_.size()) - 1))]);
  }
  bool have_customers() const { return !customers_.empty(); }
  std::string some_customer() {
    return customers_[static_cast<std::size_t>(rand(0, static_cast<int>(customers_.size()) - 1))];
  }

  /// Exact decimal text of k/4.
  static std::string quarters(int k) {
    const bool negative = k < 0;
    const int a = negative ? -k : k;
    static const char* frac[] = {"", ".25", ".5", ".75"};
    return (negative ? "-" : "") + std::to_string(a / 4) + frac[a % 4];
  }

  std::pair<std::string, std::string> random_decrement() {
    const int which = rand(0, 99);
    if (which < 50) {
      const int kind = rand(0, 99);
      int amount = rand(1, 250);
      if (kind < 15) amount = -rand(1, 100);  // an increase: not consumption
      else if (kind < 20) amount = 0;
      else if (kind < 25) amount = 1000;
      return {"api_calls", std::to_string(amount)};
    }
    if (which < 85) return {"storage_gb", quarters(rand(-4, 12))};
    return {"seats", chance(0.8) ? "1" : "-1"};
  }

  static std::string set_key(const std::string& base, const std::string& key, const std::string& amount) {
    return "jsonb_set(" + base + ", '{" + key + "}', to_jsonb((remaining_resources ->> '" + key +
           "')::numeric - (" + amount + ")))";
  }
  static std::string is_number(const std::string& key) {
    return "jsonb_typeof(remaining_resources -> '" + key + "') = 'number'";
  }

  std::string decrement(const std::string& uuid) {
    if (chance(0.2)) {  // two keys in one statement
      auto [k1, a1] = random_decrement();
      auto [k2, a2] = random_decrement();
      if (k1 != k2) {
        return "UPDATE public.customer SET remaining_resources = " + set_key(set_key("remaining_resources", k1, a1), k2, a2) +
               " WHERE uuid = '" + uuid + "' AND " + is_number(k1) + " AND " + is_number(k2);
      }
    }
    auto [key, amount] = random_decrement();
    return "UPDATE public.customer SET remaining_resources = " + set_key("remaining_resources", key, amount) +
           " WHERE uuid = '" + uuid + "' AND " + is_number(key);
  }

  std::string switch_plan(const std::string& uuid) {
    return "UPDATE public.customer SET plan_id = " + plan_or_null() + " WHERE uuid = '" + uuid + "'";
  }

  std::string key_edit(const std::string& uuid) {
    const std::string where = " WHERE uuid = '" + uuid + "'";
    const std::string object = " AND jsonb_typeof(remaining_resources) = 'object'";
    switch (rand(0, 8)) {
      case 0:  // key added (or overwritten: then a decrease is consumption)
        return "UPDATE public.customer SET remaining_resources = remaining_resources || '{\"seats\": " +
               std::to_string(rand(1, 9)) + "}'" + where + object;
      case 1:  // key dropped
        return "UPDATE public.customer SET remaining_resources = remaining_resources - 'storage_gb'" + where + object;
      case 2:  // number to string
        return "UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', "
               "'\"unlimited\"')" + where + object;
      case 3:  // string (or anything) back to a number
        return "UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', '" +
               std::to_string(rand(0, 500)) + "')" + where + object;
      case 4:
        return "UPDATE public.customer SET remaining_resources = NULL" + where;
      case 5:
        return "UPDATE public.customer SET remaining_resources = '[1, 2]'" + where;
      case 8:  // keys that need quoting in SQL arrays and JSON: their decreases are consumption too
        return "UPDATE public.customer SET remaining_resources = remaining_resources || "
               "'{\"odd key, \\\"q\\\" {x} \\\\ end\": " + std::to_string(rand(0, 20)) +
               ", \"ключ\": " + std::to_string(rand(0, 20)) + "}'" + where + object;
      case 6:  // back to the plan's allowance without a plan change: not a reset
        return "UPDATE public.customer SET remaining_resources = plan_resources" + where;
      default:  // same plan_id written again: no plan change, no reset
        return "UPDATE public.customer SET plan_id = plan_id" + where;
    }
  }

  void create_customer(std::vector<std::string>& out) {
    const std::string uuid = new_uuid();
    const std::string email = new_email();
    customers_.push_back(uuid);
    const int how = rand(0, 99);
    if (how < 45) {  // signs up: auth.users -> handle_new_user (no plan)
      out.push_back("INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ('" + uuid + "', '" + email +
                    "', '{\"name\": \"n" + std::to_string(emails_) + "\"}')");
      auth_users_.push_back(uuid);
      if (chance(0.6)) out.push_back(switch_plan(uuid));  // then picks a plan
    } else if (how < 85) {  // created directly on a plan
      const std::string plan = plan_or_null();
      out.push_back(
          "INSERT INTO public.customer (uuid, email, plan_id, plan_updated_at, plan_resources, remaining_resources) "
          "SELECT '" + uuid + "', '" + email + "', p.id, now(), p.resources, p.resources "
          "FROM (SELECT 1) one LEFT JOIN public.plans p ON p.id = " + plan);
    } else {  // no plan, but resources (consumption without a plan is consumption)
      out.push_back("INSERT INTO public.customer (uuid, email, remaining_resources) VALUES ('" + uuid + "', '" + email +
                    "', '{\"api_calls\": 50, \"storage_gb\": 1.5}')");
    }
  }

  void delete_customer(std::vector<std::string>& out) {
    const std::size_t i = static_cast<std::size_t>(rand(0, static_cast<int>(customers_.size()) - 1));
    out.push_back("DELETE FROM public.customer WHERE uuid = '" + customers_[i] + "'");
    customers_[i] = customers_.back();
    customers_.pop_back();
  }

  std::string price() {
    if (chance(0.05)) return "0";
    return std::to_string(rand(1, 99)) + "." + std::to_string(rand(10, 99));
  }

  void new_plan(std::vector<std::string>& out) {
    static const char* resources[] = {"'{\"api_calls\": 100, \"seats\": 5}'", "'{\"storage_gb\": 2.5, \"seats\": 1}'",
                                      "'{\"api_calls\": 300, \"storage_gb\": 20, \"seats\": 10}'", "NULL"};
    const std::int64_t id = next_plan_id_++;
    out.push_back("INSERT INTO public.plans (id, name, price, benefits, resources) VALUES (" + std::to_string(id) +
                  ", 'Plan " + std::to_string(id) + "', " + price() + ", '[]', " + resources[rand(0, 3)] + ")");
    plans_.push_back(id);
    if (have_customers()) {  // and moves some customers to it
      std::string list;
      for (int n = rand(1, 20); n > 0; --n) list += (list.empty() ? "'" : ", '") + some_customer() + "'";
      out.push_back("UPDATE public.customer SET plan_id = " + std::to_string(id) + " WHERE uuid IN (" + list + ")");
    }
  }

  void small_transaction() {
    std::vector<std::string> out;
    const int size = chance(0.85) ? rand(1, 5) : rand(6, 15);
    for (int s = 0; s < size; ++s) {
      const int op = rand(0, 999);
      if (!have_customers() || op < 100) {
        create_customer(out);
      } else if (op < 230) {
        out.push_back(switch_plan(some_customer()));
      } else if (op < 580) {
        out.push_back(decrement(some_customer()));
      } else if (op < 630) {  // plan reset: away and back (two changes, resources reset)
        const std::string uuid = some_customer();
        out.push_back(switch_plan(uuid));
        out.push_back(switch_plan(uuid));
      } else if (op < 680) {
        out.push_back(key_edit(some_customer()));
      } else if (op < 730) {
        delete_customer(out);
      } else if (op < 800) {  // several changes to the same row in one transaction
        const std::string uuid = some_customer();
        for (int n = rand(2, 5); n > 0; --n) out.push_back(chance(0.7) ? decrement(uuid) : switch_plan(uuid));
      } else if (op < 840 && !auth_users_.empty()) {  // profile update through auth.users: no audit row
        const std::string id = auth_users_[static_cast<std::size_t>(rand(0, static_cast<int>(auth_users_.size()) - 1))];
        out.push_back("UPDATE auth.users SET raw_user_meta_data = '{\"v\": " + std::to_string(rand(0, 1000)) +
                      "}' WHERE id = '" + id + "'");
      } else if (op < 880 && !plans_.empty()) {  // price change: MRR follows
        out.push_back("UPDATE public.plans SET price = " + price() + ", updated_at = now() WHERE id = " +
                      std::to_string(plans_[static_cast<std::size_t>(rand(0, static_cast<int>(plans_.size()) - 1))]));
      } else if (op < 895) {
        new_plan(out);
      } else if (op < 902 && plans_.size() > 2) {  // customers go to NULL (ON DELETE SET NULL)
        const std::size_t i = static_cast<std::size_t>(rand(0, static_cast<int>(plans_.size()) - 1));
        out.push_back("DELETE FROM public.plans WHERE id = " + std::to_string(plans_[i]));
        plans_.erase(plans_.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (op < 940 && !plans_.empty()) {  // many rows of one plan in one statement
        const std::string plan =
            std::to_string(plans_[static_cast<std::size_t>(rand(0, static_cast<int>(plans_.size()) - 1))]);
        auto [key, amount] = random_decrement();
        out.push_back("UPDATE public.customer SET remaining_resources = " +
                      set_key("remaining_resources", key, amount + " + (hashtext(uuid::text) & 2147483647) % 7") +
                      " WHERE plan_id = " + plan + " AND " + is_number(key) + " AND uuid::text < '" +
                      std::string(1, "123"[rand(0, 2)]) + "'");
      } else {
        out.push_back(decrement(some_customer()));
      }
    }
    commit(out);
  }

  /// One transaction of 2k-10k row changes.
  void big_transaction(Big kind) {
    std::vector<std::string> out;
    int rows = rand(2000, 10000);
    const std::string salt = std::to_string(seed_) + "-" + std::to_string(stats_.transactions);
    const std::string sample = "SELECT uuid FROM public.customer ORDER BY md5(uuid::text || '" + salt + "') LIMIT ";
    const std::string hash = "(hashtext(uuid::text) & 2147483647)";
    std::string plan_array = "ARRAY[0";
    for (auto id : plans_) plan_array += ", " + std::to_string(id);
    plan_array += "]::bigint[]";
    auto bulk_insert = [&](int n, const std::string& remaining) {
      return "INSERT INTO public.customer (uuid, email, plan_id, plan_updated_at, plan_resources, remaining_resources) "
             "SELECT md5('" + salt + "-' || g)::uuid, 'bulk-" + salt + "-' || g || '@example.test', p.id, now(), "
             "p.resources, " + remaining + " FROM generate_series(1, " + std::to_string(n) + ") g "
             "LEFT JOIN public.plans p ON p.id = (" + plan_array + ")[1 + g % " + std::to_string(plans_.size() + 1) + "]";
    };
    switch (kind) {
      case Big::Fill:  // many new customers on various plans (and none), with a third resource
        rows = rand(7000, 10000);
        out.push_back(bulk_insert(rows, "'{\"api_calls\": 10, \"storage_gb\": 1, \"seats\": 3}'::jsonb || "
                                        "coalesce(p.resources, '{}')"));
        break;
      case Big::ConsumeAllKeys: {
        const std::string all = is_number("api_calls") + " AND " + is_number("storage_gb") + " AND " +
                                is_number("seats");
        rows = static_cast<int>(std::min<std::int64_t>(
            10000, count_of(pg_, "SELECT count(*) FROM public.customer WHERE " + all)));
        out.push_back("UPDATE public.customer SET remaining_resources = " +
                      set_key(set_key(set_key("remaining_resources", "api_calls", hash + " % 40 - 5"), "storage_gb",
                                      "(" + hash + " % 9) * 0.25"),
                              "seats", hash + " % 3 - 1") +
                      " WHERE " + all + " AND uuid IN (SELECT uuid FROM public.customer WHERE " + all +
                      " ORDER BY uuid LIMIT 10000)");
        std::cout << "[rollups] one transaction consumes 3 resources of " << rows << " customers\n";
        break;
      }
      case Big::Consume:  // consumption on many rows, two changes per row
        out.push_back("UPDATE public.customer SET remaining_resources = " +
                      set_key("remaining_resources", "api_calls", hash + " % 40 - 5") + " WHERE " +
                      is_number("api_calls") + " AND uuid IN (" + sample + std::to_string(rows / 2) + ")");
        out.push_back("UPDATE public.customer SET remaining_resources = " +
                      set_key("remaining_resources", "storage_gb", "(" + hash + " % 9) * 0.25") + " WHERE " +
                      is_number("storage_gb") + " AND uuid IN (" + sample + std::to_string(rows / 2) + ")");
        break;
      case Big::PlanMoves:
        out.push_back("UPDATE public.customer SET plan_id = " + plan_or_null() + " WHERE uuid IN (" + sample +
                      std::to_string(rows) + ")");
        break;
      case Big::Churn:  // many deletes and inserts
        out.push_back("DELETE FROM public.customer WHERE uuid IN (" + sample + std::to_string(rows / 2) + ")");
        out.push_back(bulk_insert(rows / 2, "p.resources"));
        break;
    }
    commit(out);
    ++stats_.big_transactions;
    stats_.big_rows += rows;
    // The client-side model follows the server.
    customers_.clear();
    for (const Row& row : pg_.query("SELECT uuid::text FROM public.customer")) customers_.push_back(*row[0]);
  }

  PgCluster& pg_;
  std::uint32_t seed_;
  std::mt19937 rng_;
  std::vector<std::string> customers_;   ///< uuids believed to exist
  std::vector<std::string> auth_users_;  ///< ids of auth.users rows
  std::vector<std::int64_t> plans_;      ///< plan ids that exist
  std::int64_t next_plan_id_ = 1000;
  std::int64_t emails_ = 0;
  WorkloadStats stats_;
  bool last_was_big_ = false;
};

// ---------------------------------------------------------------------------
// Fixture: a cluster with the schema and the shadow triggers, a daemon config.

class Rollups : public ::testing::TestWithParam<std::uint32_t> {
 protected:
  void SetUp() override {
    pg_ = std::make_unique<PgCluster>();
    install_rollup_shadow(*pg_);
    config_ = write_temp_file("[postgres]\ndsn = \"" + pg_->conninfo() +
                                  "\"\nslot = \"customer_cdc\"\nstatus_interval_ms = 1000\n[metrics]\nlisten = \"\"\n",
                              ".toml");
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

  /// Waits until the slot's confirmed_flush_lsn reaches the current WAL end.
  ::testing::AssertionResult catch_up() {
    const auto started = Clock::now();
    const std::string target = *pg().scalar("SELECT pg_current_wal_lsn()::text");
    std::string last = "?";
    const bool ok = wait_until(
        [&] {
          if (!daemon_->running()) return true;
          const Rows rows = pg().query(
              "SELECT confirmed_flush_lsn::text, confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots "
              "WHERE slot_name = 'customer_cdc'",
              {target});
          if (rows.empty()) return false;
          last = rows[0][0].value_or("NULL");
          return rows[0][1] == Value("t");
        },
        kCatchUpTimeout, 200ms);
    if (!daemon_->running()) return daemon_alive();
    if (!ok) {
      return ::testing::AssertionFailure() << "no catch-up within " << kCatchUpTimeout.count()
                                           << " s: confirmed_flush_lsn " << last << " < target " << target << "\n"
                                           << tail_lines(daemon_->log_text(), 40);
    }
    std::cout << "[rollups] caught up to " << target << " in " << seconds_since(started) << " s\n";
    return ::testing::AssertionSuccess();
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

  void report(const Workload& w, Clock::time_point started) {
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
  Workload workload(pg(), GetParam());
  workload.run(800, 4);
  ASSERT_TRUE(daemon_alive());
  ASSERT_TRUE(catch_up());
  const bool same_day = first_day == utc_day();
  report(workload, started);
  EXPECT_GE(workload.stats().statements, 2000);

  expect_rollups_equal_recomputation(same_day);

  daemon_->terminate();
  EXPECT_EQ(daemon_->wait_exit(kExitTimeout), 0) << tail_lines(daemon_->log_text(), 20);
}

INSTANTIATE_TEST_SUITE_P(Seeds, Rollups, ::testing::Values(1u, 20240611u, 987654321u),
                         [](const ::testing::TestParamInfo<std::uint32_t>& info) {
                           return "seed_" + std::to_string(info.param);
                         });

TEST_F(Rollups, EqualAcrossKill9Restarts) {
  constexpr std::uint32_t kSeed = 4242;
  constexpr int kTransactions = 800;
  ASSERT_TRUE(start_daemon());
  const auto started = Clock::now();
  const std::string first_day = utc_day();
  Workload workload(pg(), kSeed);
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
  Workload workload(pg(), 777);
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
