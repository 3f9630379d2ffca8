#include "cdc/app/session.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/decode/wal2json.hpp"
#include "cdc/pipeline/bounded_queue.hpp"
#include "cdc/pipeline/dispatcher.hpp"

namespace cdc::app {
namespace {

using Clock = std::chrono::steady_clock;
using pipeline::StreamEvent;
using EventBatch = std::vector<StreamEvent>;
using EventQueue = pipeline::BoundedQueue<EventBatch>;

constexpr std::size_t kBatchEvents = 256;
constexpr std::size_t kBatchBytes = 256 * 1024;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kMinStatusGap = std::chrono::milliseconds(200);
constexpr auto kDrainTimeout = std::chrono::milliseconds(5000);
constexpr auto kIdleFlushDelay = std::chrono::milliseconds(20);
/// How long the reader keeps a small batch when the stream has nothing more at
/// this instant, to hand the writer several small transactions per wakeup
/// instead of one (a wakeup of the writer costs more than a one-row
/// transaction). Adds at most this much to the latency.
constexpr auto kReaderLinger = std::chrono::milliseconds(3);
/// Consumed batches kept for reuse, and decoded Changes the reader keeps ready.
constexpr std::size_t kMaxFreeBatches = 16;
constexpr std::size_t kMaxPooledRowChanges = 1024;
constexpr std::size_t kMaxPooledOtherChanges = 512;
/// A Change holding more text than this (a huge TOAST value) is not kept.
constexpr std::size_t kMaxPooledChangeBytes = 64 * 1024;
/// Text capacity all pooled Changes may hold together: the pools must not
/// undo the memory bound with wide rows.
constexpr std::size_t kMaxPooledBytes = 4 * 1024 * 1024;

/// Heap bytes a Change keeps in its strings (capacity, not size).
std::size_t retained_bytes(const decode::Change& change) {
  std::size_t bytes = change.content.capacity();
  for (const auto* columns : {&change.columns, &change.identity}) {
    for (const decode::Column& column : *columns) bytes += column.text.capacity();
  }
  return bytes;
}

std::string escape_table_name(const std::string& table) {
  // wal2json's add-tables separates with commas; a literal comma is escaped with a backslash.
  std::string out;
  for (char c : table) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// Consumed event batches on their way back from the writer to the reader, so
/// that decoded Changes, with the capacity of their column strings, are
/// decoded into again instead of being allocated by one thread and freed by
/// the other (a third of the daemon's CPU was malloc/free).
class BatchRecycler {
 public:
  void give(EventBatch&& batch) {
    std::lock_guard lock(mutex_);
    if (free_.size() < kMaxFreeBatches) free_.push_back(std::move(batch));
  }
  bool take(EventBatch& out) {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return false;
    out = std::move(free_.back());
    free_.pop_back();
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<EventBatch> free_;
};

/// The sink side of a session: pops event batches, dispatches them, flushes,
/// and publishes the acknowledged position.
class Writer {
 public:
  Writer(const std::vector<sinks::Sink*>& sinks, Lsn start, bool dead_letters, EventQueue& queue,
         BatchRecycler& recycler, const std::atomic<bool>& stop, pipeline::Progress& progress)
      : dispatcher_(sinks, start, dead_letters),
        queue_(queue),
        recycler_(recycler),
        stop_(stop),
        progress_(progress),
        ack_(start),
        base_transactions_(progress.transactions.load()),
        base_changes_(progress.changes.load()),
        base_dead_letters_(progress.dead_letters.load()),
        base_counts_(progress.event_counts()) {}

  void run() {
    try {
      loop();
    } catch (...) {
      error_ = std::current_exception();
      failed_ = true;
      ++progress_.sink_errors;
      queue_.close();
      try {
        dispatcher_.abort();
      } catch (...) {
      }
    }
  }

  Lsn acknowledged() const { return ack_.load(); }
  bool failed() const { return failed_.load(); }
  std::exception_ptr error() const { return error_; }

 private:
  void loop() {
    /// Whether a transaction was taken since the last flush, and when the first was.
    bool unflushed = false;
    Clock::time_point unflushed_since{};
    for (;;) {
      auto timeout = kPollInterval;
      if (unflushed) {
        const auto left = unflushed_since + kIdleFlushDelay - Clock::now();
        // Rounded up: a deadline less than 1 ms away must not become pop(0) in a busy loop.
        timeout = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(left), std::chrono::milliseconds(0),
                             kPollInterval);
      }
      std::optional<EventBatch> batch = queue_.pop(timeout);
      if (batch) {
        for (const StreamEvent& event : *batch) {
          // On shutdown, make complete transactions durable before a new one starts,
          // so that only a partial transaction at the very end is dropped.
          if (event.change.action == decode::Action::Begin && stop_.load()) dispatcher_.flush();
          dispatcher_.handle(event);
          if (event.change.action == decode::Action::Commit && !unflushed) {
            unflushed = true;
            unflushed_since = Clock::now();
          }
        }
        recycler_.give(std::move(*batch));
      } else if (queue_.closed()) {
        break;
      }
      // Caught up: flush, but let a few milliseconds of small transactions
      // share one sink transaction (each costs a round trip and a WAL flush).
      if (!dispatcher_.in_transaction() && queue_.empty() &&
          (!unflushed || Clock::now() - unflushed_since >= kIdleFlushDelay)) {
        dispatcher_.flush();
        unflushed = false;
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

  void publish() {
    ack_.store(dispatcher_.acknowledged());
    // Counters are per process: a new session adds to what earlier ones counted.
    progress_.transactions.store(base_transactions_ + dispatcher_.transactions());
    progress_.changes.store(base_changes_ + dispatcher_.changes());
    progress_.dead_letters.store(base_dead_letters_ + dispatcher_.dead_letters());
    progress_.sink_queue_depth.store(dispatcher_.queue_depth());
    if (dispatcher_.changes() != published_changes_) {
      pipeline::Progress::EventCounts counts = base_counts_;
      for (const auto& [table, ops] : dispatcher_.event_counts()) {
        for (std::size_t i = 0; i < ops.size(); ++i) counts[table][i] += ops[i];
      }
      progress_.set_event_counts(counts);
      published_changes_ = dispatcher_.changes();
    }
    progress_.last_commit_time_us.store(dispatcher_.last_commit_time_us());
  }

  pipeline::Dispatcher dispatcher_;
  EventQueue& queue_;
  BatchRecycler& recycler_;
  const std::atomic<bool>& stop_;
  pipeline::Progress& progress_;
  std::atomic<Lsn> ack_;
  const std::uint64_t base_transactions_;
  const std::uint64_t base_changes_;
  const std::uint64_t base_dead_letters_;
  const pipeline::Progress::EventCounts base_counts_;
  std::uint64_t published_changes_ = 0;
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

/// The stream side of a session: reads, decodes, queues, and reports positions.
class Reader {
 public:
  Reader(const SessionOptions& options, stream::ReplicationStream& stream, EventQueue& queue,
         BatchRecycler& recycler, Writer& writer, const std::atomic<bool>& stop, pipeline::Progress& progress,
         Lsn start)
      : options_(options),
        stream_(stream),
        queue_(queue),
        recycler_(recycler),
        writer_(writer),
        stop_(stop),
        progress_(progress),
        last_enqueued_commit_end_(start),
        keepalive_end_(start),
        received_(start),
        sent_flush_(start),
        changes_at_last_log_(progress.changes.load()) {}

  void run() {
    last_progress_log_ = Clock::now();
    while (!stop_.load() && !writer_.failed()) {
      const auto timeout = pending_.empty() ? kPollInterval : std::chrono::milliseconds(0);
      std::optional<stream::Received> received = stream_.next(timeout);
      if (received) {
        if (pending_.empty()) pending_since_ = Clock::now();
        std::visit([&](const auto& message) { on_message(message); }, received->message);
        if (pending_.size() >= kBatchEvents || pending_bytes_ >= kBatchBytes) push_pending();
      } else if (!pending_.empty()) {
        // The stream has nothing more at this instant. Unless the batch has
        // waited long enough, sleep instead of waiting on the socket: whatever
        // arrives meanwhile is then read with one wakeup, not one per message.
        const auto left = pending_since_ + kReaderLinger - Clock::now();
        if (left > Clock::duration::zero() && !queue_.closed()) {
          std::this_thread::sleep_for(left);
        } else {
          push_pending();
        }
      }
      maybe_send_status();
      maybe_log_progress();
      if (options_.on_tick) options_.on_tick();
    }
    // What lingered in the batch when stop came is handed over as before the
    // linger: the writer still completes the transactions it holds in full.
    if (!writer_.failed()) push_pending();
  }

  /// The last status update, after the writer has finished.
  void send_final_status() {
    reply_requested_ = true;
    maybe_send_status();
  }

 private:
  void on_message(const stream::XLogData& data) {
    received_ = std::max(received_, data.wal_start);
    progress_.received_lsn.store(received_);
    progress_.server_wal_end.store(data.wal_end);
    decode::Change change = take_change(data.payload);
    try {
      decode::decode_wal2json(data.payload, data.wal_start, change);
    } catch (const decode::DecodeError& e) {
      if (options_.dead_letters && in_txn_ && !is_transaction_frame(data.payload)) {
        StreamEvent event{std::move(change), data.wal_start,
                          std::make_unique<sinks::DeadLetter>(
                              sinks::DeadLetter{data.wal_start, e.reason(), std::string(data.payload)})};
        pending_.push_back(std::move(event));
        pending_bytes_ += data.payload.size();
        return;
      }
      throw FatalError(std::string(e.what()) +
                       (options_.dead_letters
                            ? " (a transaction's begin or commit cannot be dead-lettered; not acknowledged: a "
                              "restart stops at the same message; see README, 'Poison messages')"
                            : " (not acknowledged: a restart stops at the same message; see README, 'Poison "
                              "messages')"));
    }
    if (change.action == decode::Action::Begin) in_txn_ = true;
    if (change.action == decode::Action::Commit) {
      in_txn_ = false;
      last_enqueued_commit_end_ = std::max(data.wal_start, change.next_lsn);
    }
    pending_.push_back(StreamEvent{std::move(change), data.wal_start, nullptr});
    pending_bytes_ += data.payload.size();
  }

  void on_message(const stream::Keepalive& keepalive) {
    progress_.server_wal_end.store(keepalive.wal_end);
    keepalive_end_ = std::max(keepalive_end_, keepalive.wal_end);
    if (keepalive.reply_requested) reply_requested_ = true;
  }

  void push_pending() {
    if (pending_.empty()) return;
    const std::size_t weight = pending_bytes_;
    while (!queue_.push(std::move(pending_), weight, kPollInterval)) {
      // The writer is behind: keep the server informed while waiting.
      if (stop_.load() || writer_.failed() || queue_.closed()) return;
      maybe_send_status();
    }
    pending_.clear();
    pending_bytes_ = 0;
    if (!spare_batches_.empty()) {
      pending_ = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
  }

  /// A recycled Change to decode `payload` into, of the same kind (row change
  /// or not, from the action wal2json writes first) so that its columns fit.
  decode::Change take_change(std::string_view payload) {
    constexpr std::string_view kActionPrefix = R"({"action":")";
    bool row = false;
    if (payload.size() > kActionPrefix.size() && payload.substr(0, kActionPrefix.size()) == kActionPrefix) {
      const char action = payload[kActionPrefix.size()];
      row = action == 'I' || action == 'U' || action == 'D';
    }
    std::vector<decode::Change>& pool = row ? row_pool_ : other_pool_;
    if (pool.empty()) refill_pools();
    if (pool.empty()) return {};
    decode::Change change = std::move(pool.back());
    pool.pop_back();
    pooled_bytes_ -= std::min(pooled_bytes_, retained_bytes(change));
    return change;
  }

  void refill_pools() {
    EventBatch batch;
    while (recycler_.take(batch)) {
      for (StreamEvent& event : batch) {
        decode::Change& change = event.change;
        const bool row = change.is_row_change();
        std::vector<decode::Change>& pool = row ? row_pool_ : other_pool_;
        if (pool.size() >= (row ? kMaxPooledRowChanges : kMaxPooledOtherChanges)) continue;
        const std::size_t bytes = retained_bytes(change);
        if (bytes > kMaxPooledChangeBytes || pooled_bytes_ + bytes > kMaxPooledBytes) continue;
        pooled_bytes_ += bytes;
        pool.push_back(std::move(change));
      }
      batch.clear();
      if (spare_batches_.size() < 2) spare_batches_.push_back(std::move(batch));
    }
  }

  Lsn acknowledgeable() const {
    Lsn ack = writer_.acknowledged();
    // Nothing in flight: everything the server sent up to its keepalive
    // position was outside the captured tables, so the slot may move there.
    if (!in_txn_ && pending_.empty() && queue_.empty() && ack >= last_enqueued_commit_end_) {
      ack = std::max(ack, keepalive_end_);
    }
    return std::max(ack, sent_flush_);
  }

  void maybe_send_status() {
    const auto now = Clock::now();
    const Lsn ack = acknowledgeable();
    const bool due = now - last_status_ >= options_.status_interval;
    const bool advanced = ack > sent_flush_ && now - last_status_ >= kMinStatusGap;
    if (!reply_requested_ && !due && !advanced) return;
    stream_.send_status(std::max(received_, ack), ack);
    sent_flush_ = ack;
    progress_.acknowledged_lsn.store(ack);
    last_status_ = now;
    reply_requested_ = false;
  }

  void maybe_log_progress() {
    const auto now = Clock::now();
    if (now - last_progress_log_ < options_.progress_log_interval) return;
    const double seconds = std::chrono::duration<double>(now - last_progress_log_).count();
    const std::uint64_t changes = progress_.changes.load();
    const Lsn wal_end = progress_.server_wal_end.load();
    const Lsn ack = sent_flush_;
    const std::uint64_t lag = wal_end > ack ? wal_end - ack : 0;
    if (changes != changes_at_last_log_ || lag > 0) {
      spdlog::info("progress: received {} acknowledged {} server WAL end {} lag {} bytes, {:.0f} changes/s, "
                   "{} transactions",
                   format_lsn(received_), format_lsn(ack), format_lsn(wal_end), lag,
                   static_cast<double>(changes - changes_at_last_log_) / seconds, progress_.transactions.load());
    }
    changes_at_last_log_ = changes;
    last_progress_log_ = now;
  }

  const SessionOptions& options_;
  stream::ReplicationStream& stream_;
  EventQueue& queue_;
  BatchRecycler& recycler_;
  Writer& writer_;
  const std::atomic<bool>& stop_;
  pipeline::Progress& progress_;
  EventBatch pending_;
  std::vector<EventBatch> spare_batches_;        ///< emptied batches, for their capacity
  std::vector<decode::Change> row_pool_;         ///< recycled I/U/D changes
  std::vector<decode::Change> other_pool_;       ///< recycled B/C/T/M changes
  std::size_t pooled_bytes_ = 0;                 ///< retained_bytes() of both pools
  std::size_t pending_bytes_ = 0;  ///< wal2json bytes of pending_, the queue's weight unit
  Clock::time_point pending_since_{};  ///< when the first event of pending_ arrived
  bool in_txn_ = false;
  bool reply_requested_ = false;
  Lsn last_enqueued_commit_end_;
  Lsn keepalive_end_;
  Lsn received_;
  Lsn sent_flush_;
  Clock::time_point last_status_{};
  Clock::time_point last_progress_log_{};
  std::uint64_t changes_at_last_log_;
};

}  // namespace

// wal2json v2 writes "action" first. A garbled commit that is not recognised
// stops at the next begin instead.
bool is_transaction_frame(std::string_view payload) {
  const auto at = payload.find("\"action\"");
  if (at == std::string_view::npos || at > 8) return false;
  const std::string_view rest = payload.substr(at + 8, 8);
  const auto quote = rest.find('"');
  if (quote == std::string_view::npos || quote + 1 >= rest.size()) return false;
  const char action = rest[quote + 1];
  return action == 'B' || action == 'C';
}

stream::PluginOptions wal2json_options(const std::vector<std::string>& tables) {
  std::string add_tables;
  for (const auto& table : tables) {
    if (!add_tables.empty()) add_tables += ',';
    add_tables += escape_table_name(table);
  }
  return {{"format-version", "2"}, {"include-xids", "1"},      {"include-timestamp", "1"},
          {"include-lsn", "1"},    {"include-transaction", "1"}, {"add-tables", add_tables}};
}

void check_slot_usable(const stream::SlotState& state) {
  if (state.slot_type != "logical" || state.plugin != "wal2json") {
    throw FatalError(fmt::format("replication slot \"{}\" uses plugin '{}' ({}), not wal2json: drop it or "
                                 "set postgres.slot to another name",
                                 state.name, state.plugin, state.slot_type));
  }
  if (state.wal_status == "lost") {
    throw FatalError(fmt::format("replication slot \"{}\" has lost required WAL (wal_status = lost): changes "
                                 "were missed; drop and recreate the slot, then run `customer-cdc snapshot`",
                                 state.name));
  }
  if (state.active) {
    throw SlotBusy(fmt::format("replication slot \"{}\" is active for PID {}", state.name,
                               state.active_pid ? std::to_string(*state.active_pid) : "?"));
  }
}

void run_session(const SessionOptions& options, stream::ReplicationStream& stream, Lsn start,
                 const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop,
                 pipeline::Progress& progress) {
  try {
    stream.start(options.slot, 0, wal2json_options(options.tables));
  } catch (const pg::Error& e) {
    if (e.sqlstate() == "55006") throw SlotBusy(e.what());  // object_in_use: another walsender holds it
    throw;
  }
  spdlog::info("streaming slot \"{}\" from {} (tables: {})", options.slot, format_lsn(start),
               fmt::join(options.tables, ", "));
  progress.acknowledged_lsn.store(start);
  progress.streaming.store(true);
  struct StreamingFlag {
    std::atomic<bool>& flag;
    ~StreamingFlag() { flag.store(false); }
  } streaming_flag{progress.streaming};

  EventQueue queue(options.queue_bytes);
  BatchRecycler recycler;
  Writer writer(sinks, start, options.dead_letters, queue, recycler, stop, progress);
  std::thread writer_thread([&] { writer.run(); });
  Reader reader(options, stream, queue, recycler, writer, stop, progress, start);
  try {
    reader.run();
  } catch (...) {
    queue.close();
    writer_thread.join();
    throw;
  }
  queue.close();
  writer_thread.join();
  if (writer.failed()) std::rethrow_exception(writer.error());
  reader.send_final_status();
  stream.finish();
  spdlog::info("stopped; slot \"{}\" acknowledged up to {}", options.slot,
               format_lsn(progress.acknowledged_lsn.load()));
}

}  // namespace cdc::app
