#include "cdc/pipeline/dispatcher.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace cdc::pipeline {

using decode::Action;

Dispatcher::Dispatcher(std::vector<sinks::Sink*> sinks, Lsn start)
    : sinks_(std::move(sinks)), taking_(sinks_.size(), false), start_(start), last_commit_end_(start) {}

void Dispatcher::handle(const StreamEvent& event) {
  const decode::Change& change = event.change;
  switch (change.action) {
    case Action::Begin: {
      if (in_txn_) {
        throw SequenceError(fmt::format("transaction {} begins at WAL {} before transaction {} committed",
                                        change.xid, format_lsn(event.wal_position), txn_.xid));
      }
      in_txn_ = true;
      txn_ = sinks::TxnInfo{change.xid, change.lsn, change.next_lsn, change.timestamp_us};
      for (std::size_t i = 0; i < sinks_.size(); ++i) {
        taking_[i] = txn_.end_lsn > sinks_[i]->resume_position();
        if (taking_[i]) sinks_[i]->begin(txn_);
      }
      return;
    }
    case Action::Commit: {
      if (!in_txn_ || change.xid != txn_.xid) {
        throw SequenceError(fmt::format("commit of transaction {} at WAL {} without its begin", change.xid,
                                        format_lsn(event.wal_position)));
      }
      // The commit message's own position is the end of the commit record.
      txn_.end_lsn = std::max(txn_.end_lsn, change.next_lsn);
      for (std::size_t i = 0; i < sinks_.size(); ++i) {
        if (taking_[i]) sinks_[i]->commit(txn_);
      }
      in_txn_ = false;
      last_commit_end_ = txn_.end_lsn;
      last_commit_time_us_ = txn_.commit_time_us;
      ++transactions_;
      for (auto* sink : sinks_) {
        if (sink->wants_flush()) sink->flush();
      }
      return;
    }
    case Action::Insert:
    case Action::Update:
    case Action::Delete:
    case Action::Truncate:
    case Action::Message: {
      if (!in_txn_) {
        // Non-transactional logical messages arrive outside transactions; they carry no rows.
        if (change.action == Action::Message && !change.transactional) return;
        throw SequenceError(fmt::format("{} change of {}.{} at WAL {} outside a transaction",
                                        static_cast<char>(change.action), change.schema, change.table,
                                        format_lsn(event.wal_position)));
      }
      if (change.action == Action::Message) return;
      ++changes_;
      count(change);
      for (std::size_t i = 0; i < sinks_.size(); ++i) {
        if (taking_[i]) sinks_[i]->change(txn_, change);
      }
      return;
    }
  }
}

void Dispatcher::count(const decode::Change& change) {
  if (last_counts_ == nullptr || change.table != last_table_ || change.schema != last_schema_) {
    last_schema_ = change.schema;
    last_table_ = change.table;
    last_counts_ = &event_counts_[change.schema + "." + change.table];
  }
  const std::size_t op = change.action == Action::Insert   ? 0
                         : change.action == Action::Update ? 1
                         : change.action == Action::Delete ? 2
                                                           : 3;
  ++(*last_counts_)[op];
}

std::uint64_t Dispatcher::queue_depth() const {
  std::uint64_t depth = 0;
  for (const auto* sink : sinks_) depth += sink->queue_depth();
  return depth;
}

void Dispatcher::flush() {
  if (in_txn_) return;
  for (auto* sink : sinks_) sink->flush();
}

void Dispatcher::abort() {
  for (auto* sink : sinks_) sink->abort();
  in_txn_ = false;
}

void Dispatcher::drain(std::chrono::milliseconds timeout) {
  for (auto* sink : sinks_) sink->drain(timeout);
}

Lsn Dispatcher::acknowledged() const {
  Lsn ack = last_commit_end_;
  for (const auto* sink : sinks_) ack = std::min(ack, std::max(sink->durable_lsn(), start_));
  return std::max(ack, start_);
}

}  // namespace cdc::pipeline
