#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

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
  /// Called from the stream loop at least every 100 ms while streaming
  /// (systemd watchdog and status).
  std::function<void()> on_tick;
  /// The online snapshot's chunks, merged at their watermarks (nullptr: none).
  SnapshotChunks* snapshot_chunks = nullptr;
};

}  // namespace cdc::pipeline
