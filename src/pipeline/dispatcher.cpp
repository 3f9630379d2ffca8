#include "cdc/pipeline/dispatcher.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/sinks/mapping_error.hpp"

namespace cdc::pipeline {

using decode::Action;

namespace {

constexpr std::size_t kQuotedMessageBytes = 2000;  // a whole customer row: the column names matter

std::string message_start(const std::string& described) {
  std::string json = described;
  if (json.size() > kQuotedMessageBytes) {
    json.resize(kQuotedMessageBytes);
    json += "...";
  }
  return json;
}

}  // namespace

bool Dispatcher::takes(const sinks::Sink& sink, Lsn commit_lsn) {
  // A sink holds every transaction that ended at or below its resume
  // position. Commit records do not overlap, so that is every transaction
  // whose commit record starts below it: the server's own rule for where a
  // slot resumes, and the commit LSN is what every plugin tells at begin.
  return commit_lsn >= sink.resume_position();
}

Dispatcher::Dispatcher(std::vector<sinks::Sink*> sinks, Lsn start, bool dead_letters, Describe describe,
                       SnapshotChunks* snapshot_chunks)
    : sinks_(std::move(sinks)),
      describe_(std::move(describe)),
      taking_(sinks_.size(), false),
      start_(start),
      dead_letters_on_(dead_letters),
      last_commit_end_(start),
      snapshot_chunks_(snapshot_chunks) {}

void Dispatcher::handle(const StreamEvent& event) {
  const decode::Change& change = event.change;
  if (event.dead_letter) {
    if (!in_txn_) {
      throw SequenceError(fmt::format("undecodable message at WAL {} outside a transaction: {}",
                                      format_lsn(event.wal_position), event.dead_letter->reason));
    }
    record_dead_letter(*event.dead_letter);
    return;
  }
  switch (change.action) {
    case Action::Begin: {
      if (in_txn_) {
        throw SequenceError(fmt::format("transaction {} begins at WAL {} before transaction {} committed",
                                        change.xid, format_lsn(event.wal_position), txn_.xid));
      }
      in_txn_ = true;
      txn_ = sinks::TxnInfo{change.xid, change.lsn, change.next_lsn, change.timestamp_us};
      for (std::size_t i = 0; i < sinks_.size(); ++i) {
        taking_[i] = takes(*sinks_[i], txn_.commit_lsn);
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
      txn_.end_lsn = std::max({txn_.end_lsn, change.next_lsn, event.wal_position});
      for (std::size_t i = 0; i < sinks_.size(); ++i) {
        if (taking_[i]) sinks_[i]->commit(txn_);
      }
      in_txn_ = false;
      if (snapshot_chunks_ != nullptr) snapshot_chunks_->transaction_committed(txn_.xid);
      if (high_watermark_chunk_) {
        snapshot_chunks_->committed(*high_watermark_chunk_, txn_.end_lsn);
        high_watermark_chunk_.reset();
      }
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
    case Action::Read:
    case Action::Message: {
      if (!in_txn_) {
        // Non-transactional logical messages arrive outside transactions; they carry no rows.
        if (change.action == Action::Message && !change.transactional) return;
        throw SequenceError(fmt::format("{} change of {}.{} at WAL {} outside a transaction",
                                        static_cast<char>(change.action), change.schema, change.table,
                                        format_lsn(event.wal_position)));
      }
      if (change.action == Action::Message) {
        message(change);
        return;
      }
      if (snapshot_chunks_ != nullptr) snapshot_chunks_->observe(change);
      this->change(event);
      return;
    }
  }
}

void Dispatcher::change(const StreamEvent& event) {
  const decode::Change& change = event.change;
  if (dead_letters_on_) {
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      if (!taking_[i]) continue;
      if (std::optional<std::string> reason = sinks_[i]->rejects(change)) {
        record_dead_letter(sinks::DeadLetter{event.wal_position, std::move(*reason), describe(change)});
        return;
      }
    }
  }
  ++changes_;
  count(change);
  try {
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      if (taking_[i]) sinks_[i]->change(txn_, change);
    }
  } catch (const sinks::MappingError& e) {
    throw sinks::MappingError(fmt::format("{}; message: {} (not acknowledged: a restart stops here again; "
                                          "see README, 'Poison messages')",
                                          e.what(), message_start(describe(change))));
  }
}

void Dispatcher::message(const decode::Change& message) {
  if (snapshot_chunks_ == nullptr) return;
  const std::optional<Watermark> mark = parse_watermark(message);
  if (!mark) return;
  if (mark->kind == Watermark::Kind::Low) {
    snapshot_chunks_->low(mark->chunk);
    return;
  }
  // The reads join the high watermark's transaction: their source.sequence is
  // its commit LSN and the watermark's own, between the window's changes and
  // the changes after it.
  high_watermark_chunk_ = mark->chunk;
  snapshot_chunks_->high(mark->chunk, [&](const decode::Change& row) {
    read_ = row;
    read_.xid = txn_.xid;
    read_.lsn = message.lsn;
    read_.timestamp_us = txn_.commit_time_us;
    for (std::size_t i = 0; i < sinks_.size(); ++i) {
      if (taking_[i]) sinks_[i]->change(txn_, read_);
    }
  });
}

void Dispatcher::record_dead_letter(const sinks::DeadLetter& letter) {
  spdlog::warn("dead letter at WAL {} in transaction {}: {}", format_lsn(letter.wal_position), txn_.xid,
               letter.reason);
  ++dead_letters_;
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    if (taking_[i]) sinks_[i]->dead_letter(txn_, letter);
  }
}

void Dispatcher::count(const decode::Change& change) {
  if (change.action == Action::Read) return;  // the counts are of the stream's row changes
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

std::string Dispatcher::describe(const decode::Change& change) const {
  return describe_ ? describe_(change) : decode::describe_change(change);
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
  high_watermark_chunk_.reset();
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
