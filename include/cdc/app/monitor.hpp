#pragma once
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cdc/core/pg.hpp"
#include "cdc/pipeline/progress.hpp"

namespace cdc::app {

struct MonitorOptions {
  std::string dsn;
  std::string slot;
  /// postgres.sink_timeout_ms: a sink call is reported stalled after half of it.
  std::chrono::milliseconds sink_timeout{60000};
  std::chrono::milliseconds slot_poll_interval{10000};
  std::chrono::milliseconds tick{500};
};

/// A background thread that watches what the pipeline cannot see from
/// inside a blocked call: a sink call running past half the sink timeout (it
/// sets Progress::sink_stalled and logs what the sink's server process waits
/// on, naming the session that holds the lock), a call to the sink's server
/// that outlives the statement timeout (the process hangs: the connection is
/// ended, so the session retries), and the WAL the slot retains
/// on the server (Progress::slot_retained_wal_bytes). It has its own
/// connection, every query bounded; its failures are logged, never fatal.
class Monitor {
 public:
  Monitor(MonitorOptions options, pipeline::Progress& progress);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

 private:
  void run();
  void watch_sink(std::int64_t now_us);
  /// Ends the sink connection when one call to the server has outlived the
  /// statement timeout by kHungGrace: the server process does not answer.
  void end_hung_sink_call();
  void poll_slot();
  /// The monitor's connection, opened on demand; nullptr when it cannot connect.
  pg::Connection* connection();
  void connection_failed(const std::exception& e);

  const MonitorOptions options_;
  pipeline::Progress& progress_;

  // Monitor thread only.
  std::unique_ptr<pg::Connection> conn_;
  std::int64_t reported_busy_since_us_ = 0;  ///< the sink call last reported stalled
  std::uint64_t watched_call_ = 0;           ///< the sink connection's call seen in progress
  std::chrono::steady_clock::time_point watched_call_since_{};
  std::chrono::steady_clock::time_point next_slot_poll_{};
  std::chrono::steady_clock::time_point next_failure_log_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  ///< guarded by mutex_
  std::thread thread_;     ///< started last, joined by the destructor
};

}  // namespace cdc::app
