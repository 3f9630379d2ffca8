#pragma once
// The timing decisions of the reader and the writer, apart from their threads
// and queues: each takes the current time as an argument, so tests drive them
// with a clock of their own.
#include <algorithm>
#include <chrono>

#include "cdc/core/lsn.hpp"

namespace cdc::pipeline {

using Clock = std::chrono::steady_clock;

/// When the writer flushes its sinks: once it has caught up (no open
/// transaction, nothing queued), but letting `idle_delay` of small
/// transactions share one sink transaction (each costs a round trip and a WAL
/// flush).
class FlushPolicy {
 public:
  FlushPolicy(std::chrono::milliseconds idle_delay, std::chrono::milliseconds poll_interval)
      : idle_delay_(idle_delay), poll_interval_(poll_interval) {}

  /// A transaction was taken at `now`.
  void committed(Clock::time_point now) {
    if (unflushed_) return;
    unflushed_ = true;
    unflushed_since_ = now;
  }
  /// How long the writer may wait for the next batch.
  std::chrono::milliseconds wait(Clock::time_point now) const {
    if (!unflushed_) return poll_interval_;
    // Rounded up: a deadline less than 1 ms away must not become a wait of 0 in a busy loop.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(unflushed_since_ + idle_delay_ - now);
    return std::clamp(left, std::chrono::milliseconds(0), poll_interval_);
  }
  /// Whether to flush now; `caught_up`: between transactions with nothing queued.
  bool should_flush(Clock::time_point now, bool caught_up) const {
    return caught_up && (!unflushed_ || now - unflushed_since_ >= idle_delay_);
  }
  void flushed() { unflushed_ = false; }

 private:
  const std::chrono::milliseconds idle_delay_;
  const std::chrono::milliseconds poll_interval_;
  bool unflushed_ = false;  ///< a transaction was taken since the last flush
  Clock::time_point unflushed_since_{};  ///< when the first of them was
};

/// How long the reader keeps a small batch when the stream has nothing more
/// at this instant, to hand the writer several small transactions per wakeup
/// instead of one (a wakeup of the writer costs more than a one-row
/// transaction). Adds at most `linger` to the latency.
class LingerPolicy {
 public:
  explicit LingerPolicy(std::chrono::milliseconds linger) : linger_(linger) {}

  /// The first event of a new batch arrived at `now`.
  void started(Clock::time_point now) { since_ = now; }
  /// How much longer to hold the batch; zero: hand it over now.
  Clock::duration left(Clock::time_point now) const {
    return std::max(Clock::duration::zero(), since_ + linger_ - now);
  }

 private:
  const std::chrono::milliseconds linger_;
  Clock::time_point since_{};
};

/// When the reader sends a standby status update: when the server asked, at
/// least every `interval`, and when the acknowledged position moved (at most
/// every `min_gap`).
class StatusPolicy {
 public:
  StatusPolicy(std::chrono::milliseconds interval, std::chrono::milliseconds min_gap)
      : interval_(interval), min_gap_(min_gap) {}

  bool due(Clock::time_point now, Lsn ack, Lsn sent_flush, bool reply_requested) const {
    const bool periodic = now - last_ >= interval_;
    const bool advanced = ack > sent_flush && now - last_ >= min_gap_;
    return reply_requested || periodic || advanced;
  }
  void sent(Clock::time_point now) { last_ = now; }

 private:
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds min_gap_;
  Clock::time_point last_{};
};

/// Liveness of the replication connection: after `probe_after` without a
/// message from the server (XLogData or keepalive) the reader asks it for a
/// reply (and again every `probe_after` while it stays silent); after
/// `timeout` without one the stream is stalled.
class LivenessPolicy {
 public:
  /// Probes after half the timeout or the status interval, whichever is smaller.
  LivenessPolicy(std::chrono::milliseconds timeout, std::chrono::milliseconds status_interval)
      : timeout_(timeout), probe_after_(std::min(timeout / 2, status_interval)) {}

  /// A message from the server arrived at `now` (also: the stream started).
  void heard(Clock::time_point now) {
    last_heard_ = now;
    last_probe_ = now;
  }
  /// Whether to send a status update asking for a reply now.
  bool should_probe(Clock::time_point now) const { return now - last_probe_ >= probe_after_; }
  void probed(Clock::time_point now) { last_probe_ = now; }
  bool stalled(Clock::time_point now) const { return silence(now) >= timeout_; }
  /// How long the server has been silent.
  Clock::duration silence(Clock::time_point now) const { return now - last_heard_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  const std::chrono::milliseconds timeout_;
  const std::chrono::milliseconds probe_after_;
  Clock::time_point last_heard_{};
  Clock::time_point last_probe_{};  ///< the last probe, or the last message if later
};

/// The flush position to report: what every sink holds (`writer_ack`), or,
/// when nothing is in flight (`idle`) and every transaction handed over is
/// held, the server's keepalive position (everything up to it was outside
/// the captured tables); never below what was reported before.
inline Lsn acknowledgeable(Lsn writer_ack, bool idle, Lsn last_enqueued_commit_end, Lsn keepalive_end,
                           Lsn sent_flush) {
  Lsn ack = writer_ack;
  if (idle && ack >= last_enqueued_commit_end) ack = std::max(ack, keepalive_end);
  return std::max(ack, sent_flush);
}

}  // namespace cdc::pipeline
