#include "cdc/pipeline/reader.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/core/clock.hpp"
#include "cdc/pipeline/stream_stalled.hpp"

namespace cdc::pipeline {

Reader::Reader(const SessionOptions& options, stream::MessageStream& stream, decode::Decoder& decoder,
               EventQueue& queue, BatchRecycler& recycler, Writer& writer, const std::atomic<bool>& stop,
               Progress& progress, Lsn start)
    : options_(options),
      stream_(stream),
      decoder_(decoder),
      queue_(queue),
      writer_(writer),
      stop_(stop),
      progress_(progress),
      pool_(recycler),
      status_(options.status_interval, kMinStatusGap),
      liveness_(options.stream_timeout, options.status_interval),
      last_enqueued_commit_end_(start),
      keepalive_end_(start),
      received_(start),
      sent_flush_(start),
      changes_at_last_log_(progress.changes.load()) {
  if (!options.spool_dir.empty()) spool_.emplace(options.spool_dir);
}

void Reader::run() {
  last_progress_log_ = Clock::now();
  heard_from_server(last_progress_log_);  // START_REPLICATION was the server's last word
  while (!must_stop() && !past_end()) {
    const auto timeout = pending_.empty() ? kPollInterval : std::chrono::milliseconds(0);
    std::optional<stream::Received> received = stream_.next(timeout);
    const auto now = Clock::now();
    if (received) {
      heard_from_server(now);
      if (pending_.empty()) linger_.started(now);
      std::visit([&](const auto& message) { on_message(message); }, received->message);
      if (pending_.size() >= kBatchEvents || pending_bytes_ >= kBatchBytes) push_pending();
    } else if (!pending_.empty()) {
      // The stream has nothing more at this instant. Unless the batch has
      // waited long enough, sleep instead of waiting on the socket: whatever
      // arrives meanwhile is then read with one wakeup, not one per message.
      const auto left = linger_.left(now);
      if (left > Clock::duration::zero() && !queue_.closed()) {
        std::this_thread::sleep_for(left);
      } else {
        push_pending();
      }
    } else {
      // Judged only right after the socket had nothing: time spent waiting
      // on the writer is not silence of the server.
      check_liveness(now);
    }
    maybe_send_status();
    maybe_log_progress();
    if (options_.on_tick) options_.on_tick();
  }
  // What lingered in the batch when stop came is handed over as before the
  // linger: the writer still completes the transactions it holds in full.
  if (!writer_.failed()) push_pending();
  if (past_end()) {
    spdlog::info("reached the end position {}: every transaction committing before it was read",
                 format_lsn(options_.end_lsn));
  }
}

void Reader::send_final_status() {
  reply_requested_ = true;
  maybe_send_status();
}

decode::Change& Reader::next_change(bool row_change) {
  pending_.push_back(StreamEvent{pool_.take(row_change), pending_position_, nullptr});
  return pending_.back().change;
}

void Reader::on_message(const stream::XLogData& data) {
  received_ = std::max(received_, data.wal_start);
  progress_.received_lsn.store(received_);
  progress_.server_wal_end.store(data.wal_end);
  const std::size_t first_event = pending_.size();
  pending_position_ = data.wal_start;
  try {
    decoder_.decode(data.payload, data.wal_start, *this);
  } catch (const decode::DecodeError& e) {
    commit_to_replay_.reset();
    undecodable(data.payload, data.wal_start, e, first_event);
    return;
  }
  took_changes(first_event, data.payload.size(), data.wal_start);
  if (commit_to_replay_) {
    const decode::StreamedCommit commit = *commit_to_replay_;
    commit_to_replay_.reset();
    replay_streamed(commit, data.wal_start);
  }
}

void Reader::took_changes(std::size_t first_event, std::size_t payload_size, Lsn position) {
  // A message without Changes (a relation, a streamed message the spool
  // took) weighs nothing in the queue.
  if (pending_.size() == first_event) return;
  std::size_t decoded = 0;
  for (std::size_t i = first_event; i < pending_.size(); ++i) {
    const decode::Change& change = pending_[i].change;
    if (change.action == decode::Action::Begin && options_.end_lsn != 0 && change.lsn >= options_.end_lsn) {
      begin_past_end_ = true;  // left to whoever streams from the end position on
      drop_pending_from(i);
      return;
    }
    decoded += decoded_weight(change);
    if (change.action == decode::Action::Begin) in_txn_ = true;
    if (change.action == decode::Action::Commit) {
      in_txn_ = false;
      last_enqueued_commit_end_ = std::max(position, change.next_lsn);
    }
  }
  pending_bytes_ += std::max(payload_size, decoded);
}

StreamSpool& Reader::spool() {
  if (!spool_) {
    throw FatalError("the server streams an in-progress transaction, but the session has no spool directory "
                     "(postgres.streaming is off?)");
  }
  return *spool_;
}

void Reader::streamed_message(std::uint32_t xid, std::uint32_t subxid, std::string_view payload,
                              Lsn wal_position) {
  spool().append(xid, subxid, wal_position, payload);
}

void Reader::streamed_abort(std::uint32_t xid, std::uint32_t subxid) { spool().abort(xid, subxid); }

void Reader::streamed_commit(const decode::StreamedCommit& commit) { commit_to_replay_ = commit; }

void Reader::replay_streamed(const decode::StreamedCommit& commit, Lsn position) {
  // Begin first, taken as any decoded Begin (so the end position is judged in
  // one place), and dropped again if no message yields a Change: pgoutput
  // sends nothing for such a transaction when it is not streamed.
  const std::size_t begin_event = pending_.size();
  const std::size_t bytes_before_begin = pending_bytes_;
  decode::set_begin(next_change(false), commit.xid, commit.commit_lsn, commit.commit_time_us);
  took_changes(begin_event, 0, position);
  if (begin_past_end_) return;
  bool took_any = false;
  bool stopped = false;
  spool().replay(commit.xid, [&](const SpooledMessage& message) {
    const std::size_t first_event = pending_.size();
    pending_position_ = message.wal_position;
    try {
      decoder_.decode_streamed(message.payload, message.wal_position, commit, *this);
      took_changes(first_event, message.payload.size(), message.wal_position);
    } catch (const decode::DecodeError& e) {
      undecodable(message.payload, message.wal_position, e, first_event);
    }
    if (pending_.size() == first_event) return true;
    took_any = true;
    if (pending_.size() >= kBatchEvents || pending_bytes_ >= kBatchBytes) {
      push_pending();
      if (options_.on_tick) options_.on_tick();
    }
    stopped = must_stop();
    return !stopped;
  });
  if (stopped) return;  // the writer drops the incomplete transaction; a new session receives it again
  if (!took_any) {
    drop_pending_from(begin_event);
    pending_bytes_ = bytes_before_begin;
    in_txn_ = false;
    return;
  }
  pending_position_ = position;
  const std::size_t first_event = pending_.size();
  decode::set_commit(next_change(false), commit.xid, commit.commit_lsn, commit.end_lsn, commit.commit_time_us);
  took_changes(first_event, 0, position);
  progress_.streamed_transactions.fetch_add(1);
}

void Reader::undecodable(std::string_view payload, Lsn position, const decode::DecodeError& error,
                         std::size_t first_event) {
  drop_pending_from(first_event);  // what the message yielded before the error is not a change
  if (options_.dead_letters && in_txn_ && !decoder_.bounds_transaction(payload)) {
    pending_.push_back(StreamEvent{pool_.take(false), position,
                                   std::make_unique<sinks::DeadLetter>(sinks::DeadLetter{
                                       position, error.reason(), std::string(payload)})});
    pending_bytes_ += payload.size();
    return;
  }
  throw PoisonError(std::string(error.what()) +
                    (options_.dead_letters
                         ? " (a transaction's begin or commit cannot be dead-lettered; not acknowledged: a "
                           "restart stops at the same message; see README, 'Poison messages')"
                         : " (not acknowledged: a restart stops at the same message; see README, 'Poison "
                           "messages')"));
}

void Reader::drop_pending_from(std::size_t first) {
  while (pending_.size() > first) {
    pool_.give(std::move(pending_.back().change));
    pending_.pop_back();
  }
}

bool Reader::past_end() const {
  if (options_.end_lsn == 0) return false;
  // The server sends transactions in commit order, and a keepalive's position
  // only once everything before it was sent.
  return begin_past_end_ || (!in_txn_ && keepalive_end_ >= options_.end_lsn);
}

bool Reader::must_stop() {
  if (writer_.failed() || queue_.closed()) return true;
  if (!stop_.load()) return false;
  if (!in_txn_) return true;  // else read to its commit first (options_.stop_grace says why)
  const auto now = Clock::now();
  if (!stop_deadline_) {
    stop_deadline_ = now + options_.stop_grace;
    spdlog::info("stop requested inside a transaction: reading it to its commit first (at most {} ms)",
                 options_.stop_grace.count());
  }
  if (now < *stop_deadline_) return false;
  if (stop_grace_over_) return true;
  stop_grace_over_ = true;
  spdlog::warn("the transaction being read did not reach its commit within {} ms of the stop request: it is "
               "dropped and read again on the next start (Kafka may receive its first changes twice)",
               options_.stop_grace.count());
  return true;
}

void Reader::on_message(const stream::Keepalive& keepalive) {
  progress_.server_wal_end.store(keepalive.wal_end);
  keepalive_end_ = std::max(keepalive_end_, keepalive.wal_end);
  if (keepalive.reply_requested) reply_requested_ = true;
}

void Reader::push_pending() {
  if (pending_.empty()) return;
  const std::size_t weight = pending_bytes_;
  while (!queue_.push(std::move(pending_), weight, kPollInterval)) {
    // The writer is behind: keep the server informed while waiting.
    if (must_stop()) return;
    maybe_send_status();
  }
  pending_ = pool_.take_batch();
  pending_.clear();
  pending_bytes_ = 0;
}

Lsn Reader::acknowledgeable() const {
  const bool idle = !in_txn_ && pending_.empty() && queue_.empty();
  // Past the end position nothing else commits below it: once the sinks hold
  // what was handed over, they hold everything up to it. Never beyond it: a
  // slot created there streams the rest.
  Lsn quiet_end = keepalive_end_;
  if (options_.end_lsn != 0) quiet_end = past_end() ? options_.end_lsn : std::min(keepalive_end_, options_.end_lsn);
  return pipeline::acknowledgeable(writer_.acknowledged(), idle, last_enqueued_commit_end_, quiet_end, sent_flush_);
}

void Reader::maybe_send_status() {
  const auto now = Clock::now();
  const Lsn ack = acknowledgeable();
  const bool probe = liveness_.should_probe(now);
  if (!probe && !status_.due(now, ack, sent_flush_, reply_requested_)) return;
  stream_.send_status(std::max(received_, ack), ack, probe);
  sent_flush_ = ack;
  progress_.acknowledged_lsn.store(ack);
  status_.sent(now);
  if (probe) liveness_.probed(now);
  reply_requested_ = false;
}

void Reader::heard_from_server(Clock::time_point now) {
  liveness_.heard(now);
  progress_.last_server_message_us.store(unix_now_us());
}

void Reader::check_liveness(Clock::time_point now) {
  if (!liveness_.stalled(now)) return;
  const double silent = std::chrono::duration<double>(liveness_.silence(now)).count();
  spdlog::warn("replication stream stalled: nothing from the server for {:.1f} s, not even a reply to a "
               "status update asking for one",
               silent);
  progress_.stream_stalled.store(true);
  throw StreamStalled(fmt::format("replication stream stalled: no message from the server for {:.1f} s "
                                  "(postgres.stream_timeout_ms = {})",
                                  silent, liveness_.timeout().count()));
}

void Reader::maybe_log_progress() {
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

}  // namespace cdc::pipeline
