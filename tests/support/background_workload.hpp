#pragma once
// The application beside the daemon: a seeded Workload (support/workload) on
// a connection and thread of its own, one transaction at a time (so the audit
// shadow's id order is the commit order), until stop().
//
//   BackgroundWorkloadOptions options;
//   options.recovery = WorkloadRecovery::Reconnect;              // survives a PostgreSQL restart
//   options.pause = [](Workload& w) { return std::chrono::milliseconds(w.pick(0, 4)); };
//   BackgroundWorkload workload(pg, audited_small_transactions(7), options);  // runs from here
//   ASSERT_TRUE(wait_until([&] { return workload.transactions() >= 100; }, 60s)) << workload.error();
//   workload.stop();
//   EXPECT_EQ(workload.error(), "");

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/pg_cluster.hpp"
#include "support/workload.hpp"

namespace cdc::testing {

/// What the workload does when a transaction fails.
enum class WorkloadRecovery {
  Stop,       ///< any error stops it (error() says which)
  Reconnect,  ///< a lost connection is reopened and the model reloaded; any other error stops it
  Continue,   ///< also an SQL error is rolled back, counted (sql_errors()) and the model reloaded
};

struct BackgroundWorkloadOptions {
  WorkloadRecovery recovery = WorkloadRecovery::Stop;
  /// The next transaction, given how many ran to their end so far (default: Workload::next()).
  std::function<WorkloadTransaction(Workload&, int done)> next;
  /// The pause after each transaction (default: none).
  std::function<std::chrono::milliseconds(Workload&)> pause;
  /// Bound on each statement of the workload's connection.
  std::chrono::milliseconds statement_timeout{120000};
};

class BackgroundWorkload {
 public:
  /// Connects and loads the model (throws when it cannot), then runs.
  BackgroundWorkload(const PgCluster& pg, WorkloadKnobs knobs, BackgroundWorkloadOptions options = {});
  ~BackgroundWorkload() { stop(); }
  BackgroundWorkload(const BackgroundWorkload&) = delete;
  BackgroundWorkload& operator=(const BackgroundWorkload&) = delete;

  void stop();

  /// Transactions run to their end (committed, or rolled back as planned).
  int transactions() const { return transactions_.load(); }
  int big_transactions() const { return big_transactions_.load(); }
  /// Transactions cut off by a lost connection (committed or not: the references know).
  int interrupted() const { return interrupted_.load(); }
  int sql_errors() const { return sql_errors_.load(); }
  /// The error that stopped the workload, or the SQL errors it went on after
  /// (the first 20, one a line); empty when none.
  std::string error() const;

 private:
  void run();
  /// Connects and loads the model; throws what the connection throws.
  void open_connection();
  /// open_connection() after a lost connection; false (after a pause) when it fails.
  bool reconnect();
  /// Handles a failed transaction; false when the workload stops.
  bool recover(const std::exception& e);
  void note_error(const std::string& message);

  const PgCluster& pg_;
  const BackgroundWorkloadOptions options_;
  Workload workload_;
  /// Null while the connection is lost (reopened by run()).
  std::unique_ptr<PgConn> conn_;
  std::atomic<bool> stop_{false};
  std::atomic<int> transactions_{0}, big_transactions_{0}, interrupted_{0}, sql_errors_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

}  // namespace cdc::testing
