#pragma once
#include <array>
#include <chrono>
#include <map>
#include <string>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "cdc/core/errors.hpp"
#include "cdc/decode/change.hpp"
#include "cdc/pipeline/snapshot_chunks.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::pipeline {

/// One decoded message with the WAL position the server sent it at.
struct StreamEvent {
  decode::Change change;
  Lsn wal_position = 0;
  /// Set instead of `change` for a message that did not decode (dead-lettering on).
  std::unique_ptr<sinks::DeadLetter> dead_letter;
};

/// The stream broke the B / changes / C sequence.
class SequenceError : public CategorizedError<ErrorCategory::Poison> {
 public:
  using CategorizedError::CategorizedError;
  std::string log_message() const override { return std::string("malformed change stream: ") + what(); }
};

/// Assembles transactions from the event sequence and hands them to every sink
/// in commit order, skipping for each sink the transactions it already holds.
/// The acknowledged position is the lowest durable position of all sinks: it
/// moves only in commit order and only past transactions every sink has taken.
class Dispatcher {
 public:
  /// How a change is shown in errors and dead letters (Decoder::describe).
  using Describe = std::function<std::string(const decode::Change&)>;

  /// start: the slot's confirmed position; the acknowledgement never goes below it.
  /// dead_letters: a change some sink rejects is recorded as a dead letter in
  /// every sink instead of stopping the stream.
  /// describe: empty for decode::describe_change.
  /// snapshot_chunks: the online snapshot's chunks to merge at their
  /// watermarks (nullptr: watermarks are ignored like other messages).
  Dispatcher(std::vector<sinks::Sink*> sinks, Lsn start, bool dead_letters = false, Describe describe = {},
             SnapshotChunks* snapshot_chunks = nullptr);

  /// Whether `sink` takes the transaction committed at `commit_lsn` (it does
  /// not hold it from an earlier run). Decided from the commit LSN alone,
  /// which every plugin tells at begin.
  static bool takes(const sinks::Sink& sink, Lsn commit_lsn);

  /// Throws SequenceError on B inside a transaction, a change, dead letter or
  /// C outside one, or a C that does not match its B. A sink's MappingError
  /// is rethrown with the start of the described change.
  void handle(const StreamEvent& event);

  bool in_transaction() const { return in_txn_; }
  /// Flushes every sink with buffered work (between transactions only).
  void flush();
  /// Drops the open transaction and all non-durable work of every sink.
  void abort();
  /// At shutdown: lets every sink finish work already handed over (bounded).
  void drain(std::chrono::milliseconds timeout);

  Lsn acknowledged() const;
  /// End LSN of the last transaction seen in full.
  Lsn last_commit_end() const { return last_commit_end_; }
  /// Commit time (Unix epoch microseconds) of the last transaction seen in full.
  std::int64_t last_commit_time_us() const { return last_commit_time_us_; }
  std::uint64_t transactions() const { return transactions_; }
  std::uint64_t changes() const { return changes_; }
  /// Messages recorded as dead letters instead of being taken.
  std::uint64_t dead_letters() const { return dead_letters_; }
  /// Row changes per "schema.table" and op index (insert, update, delete, truncate).
  const std::map<std::string, std::array<std::uint64_t, 4>>& event_counts() const { return event_counts_; }
  /// Messages the sinks hold that are not durable yet.
  std::uint64_t queue_depth() const;

 private:
  void count(const decode::Change& change);
  void change(const StreamEvent& event);
  void record_dead_letter(const sinks::DeadLetter& letter);
  /// A logical message inside the open transaction: a watermark merges its chunk.
  void message(const decode::Change& message);
  std::string describe(const decode::Change& change) const;

  std::vector<sinks::Sink*> sinks_;
  Describe describe_;
  std::vector<bool> taking_;  ///< per sink: does it take the open transaction
  Lsn start_;
  bool dead_letters_on_;
  bool in_txn_ = false;
  sinks::TxnInfo txn_;
  Lsn last_commit_end_ = 0;
  std::int64_t last_commit_time_us_ = 0;
  std::uint64_t transactions_ = 0;
  std::uint64_t changes_ = 0;
  std::uint64_t dead_letters_ = 0;
  std::map<std::string, std::array<std::uint64_t, 4>> event_counts_;
  /// Cache of the last table's counters: consecutive changes mostly hit one table.
  std::array<std::uint64_t, 4>* last_counts_ = nullptr;
  std::string last_schema_;
  std::string last_table_;
  SnapshotChunks* snapshot_chunks_;
  decode::Change read_;  ///< a chunk row as handed to the sinks, with the high watermark's position
  /// The open transaction holds this chunk's high watermark (reported at its commit).
  std::optional<std::uint64_t> high_watermark_chunk_;
};

}  // namespace cdc::pipeline
