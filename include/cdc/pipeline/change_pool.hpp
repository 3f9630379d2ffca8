#pragma once
#include <cstddef>
#include <mutex>
#include <vector>

#include "cdc/pipeline/dispatcher.hpp"

namespace cdc::pipeline {

using EventBatch = std::vector<StreamEvent>;

/// Consumed event batches on their way back from the writer to the reader, so
/// that decoded Changes, with the capacity of their column strings, are
/// decoded into again instead of being allocated by one thread and freed by
/// the other (a third of the daemon's CPU was malloc/free). Both threads call it.
class BatchRecycler {
 public:
  static constexpr std::size_t kMaxFreeBatches = 16;

  /// Writer thread: hands back a consumed batch (dropped when enough wait).
  void give(EventBatch&& batch);
  /// Reader thread: takes a consumed batch, false when none waits.
  bool take(EventBatch& out);

 private:
  std::mutex mutex_;
  std::vector<EventBatch> free_;  ///< guarded by mutex_
};

/// The reader's stock of decoded Changes to decode into, refilled from the
/// recycler; row changes and other messages apart, so that a recycled Change
/// has columns of the right shape. Bounded in count and in retained text.
/// Reader thread only.
class ChangePool {
 public:
  static constexpr std::size_t kMaxRowChanges = 1024;
  static constexpr std::size_t kMaxOtherChanges = 512;
  /// A Change holding more text than this (a huge TOAST value) is not kept.
  static constexpr std::size_t kMaxChangeBytes = 64 * 1024;
  /// Text capacity all pooled Changes may hold together: the pool must not
  /// undo the memory bound with wide rows.
  static constexpr std::size_t kMaxBytes = 4 * 1024 * 1024;

  explicit ChangePool(BatchRecycler& recycler) : recycler_(recycler) {}

  /// A recycled Change of the kind asked for, or a new one.
  decode::Change take(bool row_change);
  /// Keeps `change` for reuse if the bounds allow.
  void give(decode::Change&& change);
  /// An emptied batch for its capacity, or an empty one.
  EventBatch take_batch();

  std::size_t size() const { return rows_.size() + others_.size(); }
  std::size_t retained_bytes() const { return bytes_; }

 private:
  /// A kept Change with its retained_bytes, counted once when it is kept.
  struct Pooled {
    decode::Change change;
    std::size_t bytes = 0;
  };

  void refill();

  BatchRecycler& recycler_;
  std::vector<Pooled> rows_;    ///< recycled I/U/D changes
  std::vector<Pooled> others_;  ///< recycled B/C/T/M changes
  std::vector<EventBatch> spare_batches_;  ///< emptied batches, for their capacity
  std::size_t bytes_ = 0;               ///< retained text of rows_ and others_
};

/// Heap bytes a Change keeps in its strings (capacity, not size).
std::size_t retained_bytes(const decode::Change& change);

/// What a decoded Change weighs in the reader-writer queue: its objects and
/// texts. The queue is bounded by this (or the message, when that is larger),
/// so its memory does not depend on how compact the plugin's wire format is
/// (pgoutput's binary mode sends a third of wal2json's bytes for one row).
std::size_t decoded_weight(const decode::Change& change);

}  // namespace cdc::pipeline
