#pragma once
#include <atomic>
#include <chrono>
#include <exception>
#include <vector>

#include "cdc/pipeline/bounded_queue.hpp"
#include "cdc/pipeline/change_pool.hpp"
#include "cdc/pipeline/dispatcher.hpp"
#include "cdc/pipeline/policies.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::pipeline {

using EventQueue = BoundedQueue<EventBatch>;

/// The sink side of a session: pops event batches, dispatches them in commit
/// order, flushes (FlushPolicy), and publishes the acknowledged position and
/// the counters. run() is the writer thread; acknowledged() and failed() are
/// read by the reader thread.
class Writer {
 public:
  static constexpr auto kPollInterval = std::chrono::milliseconds(100);
  static constexpr auto kIdleFlushDelay = std::chrono::milliseconds(5);
  static constexpr auto kDrainTimeout = std::chrono::milliseconds(5000);

  Writer(const std::vector<sinks::Sink*>& sinks, Lsn start, bool dead_letters, EventQueue& queue,
         BatchRecycler& recycler, const std::atomic<bool>& stop, Progress& progress,
         Dispatcher::Describe describe = {}, SnapshotChunks* snapshot_chunks = nullptr);

  /// Until the queue is closed and empty, or a sink fails (then the queue is
  /// closed, the sinks aborted and failed() is true). Ends with a flush and a
  /// bounded drain of the sinks; a transaction still open is dropped.
  void run();

  Lsn acknowledged() const { return ack_.load(); }
  bool failed() const { return failed_.load(); }
  /// The sink failure (valid once failed() is true).
  std::exception_ptr error() const { return error_; }

 private:
  void loop();
  void publish();

  // Constant after construction.
  EventQueue& queue_;
  BatchRecycler& recycler_;
  const std::atomic<bool>& stop_;
  Progress& progress_;
  /// Counters of earlier sessions: a new session adds to what they counted.
  const std::uint64_t base_transactions_;
  const std::uint64_t base_changes_;
  const std::uint64_t base_dead_letters_;
  const Progress::EventCounts base_counts_;

  // Writer thread only.
  Dispatcher dispatcher_;
  FlushPolicy flush_policy_{kIdleFlushDelay, kPollInterval};
  std::uint64_t published_changes_ = 0;

  // Shared with the reader thread.
  std::atomic<Lsn> ack_;
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  ///< written before failed_ is set
};

}  // namespace cdc::pipeline
