#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "cdc/core/connection_watch.hpp"
#include "cdc/core/lsn.hpp"

namespace cdc::pipeline {

/// Counters and positions shared by the stream, the writer and the metrics
/// endpoint. Every field is read and written without locks.
struct Progress {
  std::atomic<Lsn> received_lsn{0};        ///< last XLogData position read
  std::atomic<Lsn> server_wal_end{0};      ///< server's WAL end from the last message
  std::atomic<Lsn> acknowledged_lsn{0};    ///< last flush position sent to the server
  std::atomic<std::int64_t> last_commit_time_us{0};  ///< commit time of the last transaction written
  std::atomic<std::uint64_t> transactions{0};
  std::atomic<std::uint64_t> changes{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> sink_errors{0};
  std::atomic<std::uint64_t> dead_letters{0};  ///< poison messages recorded (dead-lettering on)
  /// Transactions the server streamed before their commit (pgoutput
  /// streaming), handed over from the spool at their commit.
  std::atomic<std::uint64_t> streamed_transactions{0};
  std::atomic<bool> streaming{false};
  /// The last session ended because the server fell silent; cleared when a
  /// session streams again.
  std::atomic<bool> stream_stalled{false};
  /// Wall clock (Unix microseconds) of the last message from the server, or
  /// of the start of streaming; 0 before the first session.
  std::atomic<std::int64_t> last_server_message_us{0};
  std::atomic<std::uint64_t> sink_queue_depth{0};  ///< messages waiting in sinks (Kafka)

  /// Wall clock (Unix microseconds) since which the writer has been inside
  /// the sinks (handing over a batch, or flushing); 0 while it waits for the
  /// stream. The monitor thread reads it to tell a hung sink statement.
  std::atomic<std::int64_t> sink_busy_since_us{0};
  /// A sink call ran longer than the stall threshold; cleared by the next
  /// successful flush.
  std::atomic<bool> sink_stalled{false};
  std::atomic<std::uint64_t> sink_timeouts{0};  ///< sink statements cancelled by the sink timeout
  std::atomic<int> sink_backend_pid{0};         ///< the Postgres sink's server process, 0 when none
  /// The Postgres sink's connection (armed while a sink exists).
  ConnectionWatch sink_connection;
  /// WAL the slot holds back on the server (bytes), -1 until known.
  std::atomic<std::int64_t> slot_retained_wal_bytes{-1};
  /// Online snapshot: running, rows published as reads, rows left (estimated, -1 unknown).
  std::atomic<bool> snapshot_running{false};
  std::atomic<std::uint64_t> snapshot_rows{0};
  std::atomic<std::int64_t> snapshot_rows_remaining{-1};

  /// Row changes per "schema.table" and op (c, u, d, t); published by the
  /// writer per batch.
  using EventCounts = std::map<std::string, std::array<std::uint64_t, 4>>;
  void set_event_counts(const EventCounts& counts) {
    std::lock_guard lock(counts_mutex_);
    event_counts_ = counts;
  }
  EventCounts event_counts() const {
    std::lock_guard lock(counts_mutex_);
    return event_counts_;
  }

 private:
  mutable std::mutex counts_mutex_;
  EventCounts event_counts_;
};

}  // namespace cdc::pipeline
