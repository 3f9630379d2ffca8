#pragma once
// The seeded random workload on public.customer (directly and through
// auth.users) and public.plans that the integration tests run against the
// daemon. One generator; each test picks its character with knobs:
//
//   WorkloadKnobs knobs;
//   knobs.seed = 42;
//   knobs.mix = {{Statement::SignUp, 10}, {Statement::PlanChange, 20}, {Statement::ResourceUpdate, 50}, ...};
//   knobs.statements = {1, 5};                  // statements per small transaction
//   Workload workload(knobs);
//   workload.load(conn);                        // customers and plans that exist now
//   for (int i = 0; i < 100; ++i) workload.execute(conn, workload.next());
//   workload.execute(conn, workload.big(Big::Consume, 5000));
//
// Statements never fail on a stale client-side model: rows are addressed by
// key with WHERE clauses that tolerate rows that are gone or changed, and the
// JSON edits check the type of what they edit. The model follows committed
// transactions only (a rolled-back transaction leaves it as it was); after a
// lost connection, load() again.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/pg_cluster.hpp"

namespace cdc::testing {

/// Kinds of small-transaction statements (one kind may be a few statements).
enum class Statement {
  SignUp,             ///< INSERT INTO auth.users (handle_new_user creates the customer), sometimes then a plan
  InsertOnPlan,       ///< INSERT INTO public.customer on a plan (or none) with the plan's resources
  InsertWithResources,  ///< INSERT INTO public.customer without a plan, with resources
  PlanChange,         ///< plan_id of some customers to another plan (or NULL)
  PlanReset,          ///< plan away and back in one transaction (resources reset)
  ResourceUpdate,     ///< consumption: numbers in remaining_resources go down (sometimes up, or by 0)
  KeyEdit,            ///< remaining_resources keys added, dropped, retyped, odd keys, NULL, an array, reset
  SameValueUpdate,    ///< an update that writes the same value (no audit row, a Kafka update)
  EmailUpdate,        ///< email through auth.users (handle_user_update) or directly
  MetadataUpdate,     ///< metadata / stripe_customer_id only: no audit row
  AuthProfileUpdate,  ///< raw_user_meta_data of auth.users: no customer change
  SameRowChanges,     ///< several changes of the same customers in one transaction
  Delete,             ///< DELETE of one or two customers
  UpdateThenDelete,   ///< a change of a customer right before its delete
  PriceChange,        ///< a plan's price (MRR follows)
  NewPlan,            ///< a new plan, some customers moved to it
  PlanDelete,         ///< a plan deleted: its customers go to NULL (ON DELETE SET NULL)
  RangeUpdate,        ///< one statement changing many customers of one plan
  Unrelated,          ///< a table that is not captured (public.unrelated_things; audit_shadow installs it)
  RolledBack,         ///< changes in a transaction that rolls back: they appear nowhere
  Savepoint,          ///< a savepoint rolled back inside a committed transaction
};

/// Kinds of big transactions (thousands of row changes in one transaction).
enum class Big {
  Fill,            ///< many new customers on various plans, with three resources
  ConsumeAllKeys,  ///< three resources of up to `rows` customers consumed in one statement
  Consume,         ///< consumption on many rows, two changes per row
  Decrement,       ///< each of `rows` customers consumes one api_call: one audit row per customer
  PlanMoves,       ///< many customers to one plan, with a price change of every plan
  Churn,           ///< many deletes and inserts
  SignUps,         ///< many sign-ups through auth.users, most of them then on a plan
  Deletes,         ///< many deletes
};

struct WorkloadKnobs {
  std::uint32_t seed = 1;
  /// Statement kinds and their weights.
  std::vector<std::pair<Statement, int>> mix;
  /// Statements per small transaction (uniform); with `long_chance`, a
  /// transaction has `long_statements` instead.
  std::pair<int, int> statements = {1, 1};
  double long_chance = 0;
  std::pair<int, int> long_statements = {6, 15};
  /// Customers addressed by one PlanChange / ResourceUpdate / ... statement.
  std::pair<int, int> customers_per_statement = {1, 1};
  /// Rows inserted by one SignUp / InsertOnPlan statement.
  std::pair<int, int> rows_per_insert = {1, 1};
  /// Below this many customers (as the model knows them), a transaction signs up customers.
  int min_customers = 1;
  /// Customers deleted by one Delete statement.
  std::pair<int, int> deletes_per_statement = {1, 2};
  /// Every PlanChange / ResourceUpdate really changes each row it matches
  /// (no zero amounts, no same plan): one audit row per row change.
  bool every_update_changes = false;
  std::string email_domain = "example.test";
};

/// Small transactions whose every change has its audit entry (decrements,
/// plan changes, inserts, deletes, a delete right after an update): the
/// streamed customer events then equal the audit (kafka_matches_audit).
WorkloadKnobs audited_small_transactions(std::uint32_t seed);

/// What a workload ran, per kind.
struct WorkloadStats {
  int transactions = 0;      ///< committed (as far as the workload knows)
  int rolled_back = 0;
  int statements = 0;
  int big_transactions = 0;
  std::int64_t big_rows = 0;  ///< requested rows of the big transactions
  std::map<Statement, int> by_kind;

  int count(Statement kind) const {
    const auto it = by_kind.find(kind);
    return it == by_kind.end() ? 0 : it->second;
  }
};

/// One transaction: its statements, and whether it commits.
struct WorkloadTransaction {
  std::vector<std::string> statements;
  bool commit = true;
  /// Rows it was asked to change (big transactions).
  std::int64_t rows = 0;
  /// The model cannot follow it (bulk inserts and deletes): load() after it committed.
  bool reload_after = false;
  bool big = false;
  /// The kinds it was built from (statistics).
  std::vector<Statement> kinds;

  /// BEGIN; ...; COMMIT (or ROLLBACK) as one simple-query string.
  std::string sql() const;
};

class Workload {
 public:
  explicit Workload(WorkloadKnobs knobs);

  /// The model from the database: customers (and which of them have an
  /// auth.users row) and plans.
  void load(PgConn& conn);

  /// The next small transaction, by the mix.
  WorkloadTransaction next();
  /// A small transaction of one statement of `kind`.
  WorkloadTransaction only(Statement kind);
  /// A big transaction of `kind` with about `rows` row changes.
  WorkloadTransaction big(Big kind, int rows);

  /// Runs `tx` on `conn` and updates the model and the statistics (throws
  /// what the connection throws; the model then may be stale: load()).
  void execute(PgConn& conn, const WorkloadTransaction& tx);
  /// next() and execute(), `transactions` times.
  void run(PgConn& conn, int transactions);

  const WorkloadStats& stats() const { return stats_; }
  std::size_t customers() const { return customers_.size(); }

  /// The workload's random source (for test decisions that should follow the seed too).
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

 private:
  struct Customer {
    std::string uuid;
    bool has_user = false;  ///< created through auth.users
  };
  /// Model changes of the transaction being built, undone when it rolls back.
  struct Undo {
    std::vector<std::string> customers_added;
    std::vector<Customer> customers_removed;
    std::vector<std::int64_t> plans_added;
    std::vector<std::int64_t> plans_removed;
  };

  Statement pick_kind();
  void add(Statement kind, std::vector<std::string>& out);

  // Building blocks.
  std::string new_uuid();
  std::string new_email();
  std::string some_customer();
  std::size_t some_customer_index();
  /// "'{u1,u2}'::uuid[]" of n customers (possibly repeated).
  std::string customers_array(int n);
  std::string where_customers(int n);
  std::string plan_or_null();
  std::string some_plan();
  std::string price();
  std::string resource_update(const std::string& where);
  std::string key_edit(const std::string& where);
  std::string plan_change(const std::string& where);
  std::string sample(int rows);

  std::string bulk_insert(int rows, const std::string& salt, const std::string& remaining);
  std::string plan_array();

  void add_customer(std::string uuid, bool has_user);
  void remove_customer(std::size_t index);
  std::int64_t add_plan();
  void remove_plan(std::size_t index);
  void rollback_model();

  void sign_up(std::vector<std::string>& out);
  void insert_on_plan(std::vector<std::string>& out);
  void remove_customers(int n, std::vector<std::string>& out);
  void new_plan(std::vector<std::string>& out);
  void delete_plan(std::vector<std::string>& out);

  WorkloadKnobs knobs_;
  std::mt19937 rng_;
  int total_weight_ = 0;
  std::vector<Customer> customers_;
  std::vector<std::int64_t> plans_;
  std::int64_t next_plan_id_ = 1000;
  std::uint64_t counter_ = 0;  ///< for unique emails, notes and salts
  Undo undo_;
  WorkloadStats stats_;
};

}  // namespace cdc::testing
