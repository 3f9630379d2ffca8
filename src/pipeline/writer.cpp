#include "cdc/pipeline/writer.hpp"

#include "cdc/core/clock.hpp"

namespace cdc::pipeline {
namespace {

/// Marks the writer as inside the sinks for its lifetime (Progress::sink_busy_since_us).
class SinkBusy {
 public:
  explicit SinkBusy(Progress& progress) : progress_(progress) { progress_.sink_busy_since_us.store(unix_now_us()); }
  ~SinkBusy() { progress_.sink_busy_since_us.store(0); }
  SinkBusy(const SinkBusy&) = delete;
  SinkBusy& operator=(const SinkBusy&) = delete;

 private:
  Progress& progress_;
};

}  // namespace

Writer::Writer(const std::vector<sinks::Sink*>& sinks, Lsn start, bool dead_letters, EventQueue& queue,
               BatchRecycler& recycler, const std::atomic<bool>& stop, Progress& progress,
               Dispatcher::Describe describe, SnapshotChunks* snapshot_chunks)
    : queue_(queue),
      recycler_(recycler),
      stop_(stop),
      progress_(progress),
      base_transactions_(progress.transactions.load()),
      base_changes_(progress.changes.load()),
      base_dead_letters_(progress.dead_letters.load()),
      base_counts_(progress.event_counts()),
      dispatcher_(sinks, start, dead_letters, std::move(describe), snapshot_chunks),
      ack_(start) {}

void Writer::run() {
  try {
    loop();
  } catch (...) {
    error_ = std::current_exception();
    failed_ = true;
    ++progress_.sink_errors;
    try {
      std::rethrow_exception(error_);
    } catch (const sinks::SinkTimedOut&) {
      ++progress_.sink_timeouts;
    } catch (...) {
    }
    queue_.close();
    try {
      dispatcher_.abort();
    } catch (...) {
    }
  }
}

void Writer::loop() {
  for (;;) {
    std::optional<EventBatch> batch = queue_.pop(flush_policy_.wait(Clock::now()));
    if (batch) {
      const SinkBusy busy(progress_);
      for (const StreamEvent& event : *batch) {
        const bool frame = event.dead_letter == nullptr;
        // On shutdown, make complete transactions durable before a new one starts,
        // so that only a partial transaction at the very end is dropped.
        if (frame && event.change.action == decode::Action::Begin && stop_.load()) dispatcher_.flush();
        dispatcher_.handle(event);
        if (frame && event.change.action == decode::Action::Commit) flush_policy_.committed(Clock::now());
      }
      recycler_.give(std::move(*batch));
    } else if (queue_.closed()) {
      break;
    }
    if (flush_policy_.should_flush(Clock::now(), !dispatcher_.in_transaction() && queue_.empty())) {
      const SinkBusy busy(progress_);
      dispatcher_.flush();
      flush_policy_.flushed();
      progress_.sink_stalled.store(false);
    }
    publish();
  }
  if (dispatcher_.in_transaction()) {
    dispatcher_.abort();
  } else {
    dispatcher_.flush();
  }
  dispatcher_.drain(kDrainTimeout);
  publish();
}

void Writer::publish() {
  ack_.store(dispatcher_.acknowledged());
  progress_.transactions.store(base_transactions_ + dispatcher_.transactions());
  progress_.changes.store(base_changes_ + dispatcher_.changes());
  progress_.dead_letters.store(base_dead_letters_ + dispatcher_.dead_letters());
  progress_.sink_queue_depth.store(dispatcher_.queue_depth());
  if (dispatcher_.changes() != published_changes_) {
    Progress::EventCounts counts = base_counts_;
    for (const auto& [table, ops] : dispatcher_.event_counts()) {
      for (std::size_t i = 0; i < ops.size(); ++i) counts[table][i] += ops[i];
    }
    progress_.set_event_counts(counts);
    published_changes_ = dispatcher_.changes();
  }
  progress_.last_commit_time_us.store(dispatcher_.last_commit_time_us());
}

}  // namespace cdc::pipeline
