#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/pipeline/snapshot_chunks.hpp"

namespace cdc::pipeline {

struct SessionOptions {
  std::string slot;
  std::vector<std::string> tables;
  std::chrono::milliseconds status_interval{10000};
  /// Nothing from the server for this long ends the session with
  /// StreamStalled (postgres.stream_timeout_ms).
  std::chrono::milliseconds stream_timeout{30000};
  /// Bytes buffered between reader and writer, counted per message as the
  /// larger of its payload and its decoded Changes (pipeline::decoded_weight):
  /// with the sinks' own bounds, this caps memory for every plugin.
  std::size_t queue_bytes = 2 * 1024 * 1024;
  std::chrono::milliseconds progress_log_interval{5000};
  /// Record poison messages inside transactions as dead letters and go on,
  /// instead of stopping ([dead_letter] enabled).
  bool dead_letters = false;
  /// 0: stream until stopped. Otherwise the session ends by itself once
  /// every transaction committing below this position has been read (at the
  /// first transaction committing at or after it, which is not taken, or a
  /// keepalive at or past it) and is held by the sinks, and acknowledges up
  /// to it, never beyond: a slot created with this consistent point decodes
  /// exactly the rest (`slot switch`, `run --end-lsn`).
  Lsn end_lsn = 0;
  /// After a stop request, how long the transaction being read may take to
  /// reach its commit. Its changes already produced to Kafka cannot be taken
  /// back: cut off, it would reach Kafka partly now and fully after the
  /// restart. Past this, it is dropped (and may repeat so).
  std::chrono::milliseconds stop_grace{10000};
  /// Where transactions streamed before their commit wait for it (emptied at
  /// the session's start); "" when the decoder asks for no streaming.
  std::string spool_dir;
  /// Called from the stream loop at least every 100 ms while streaming
  /// (systemd watchdog and status).
  std::function<void()> on_tick;
  /// The online snapshot's chunks, merged at their watermarks (nullptr: none).
  SnapshotChunks* snapshot_chunks = nullptr;
};

}  // namespace cdc::pipeline
