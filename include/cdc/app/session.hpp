#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/core/errors.hpp"
#include "cdc/pipeline/progress.hpp"
#include "cdc/sinks/sink.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {

/// Another process streams from the slot; wait and try again.
class SlotBusy : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
  std::string log_message() const override {
    return std::string(what()) + " (another instance is streaming; standing by)";
  }
};

struct SessionOptions {
  std::string slot;
  std::vector<std::string> tables;
  std::chrono::milliseconds status_interval{10000};
  /// wal2json bytes buffered between reader and writer (decoded changes take
  /// about twice that): with the sinks' own bounds, this caps memory.
  std::size_t queue_bytes = 2 * 1024 * 1024;
  std::chrono::milliseconds progress_log_interval{5000};
  /// Record poison messages inside transactions as dead letters and go on,
  /// instead of stopping ([dead_letter] enabled).
  bool dead_letters = false;
  /// Called from the stream loop at least every 100 ms while streaming
  /// (systemd watchdog and status).
  std::function<void()> on_tick;
};

/// Whether an undecodable wal2json message is a transaction's begin or
/// commit: those bound the transaction and are never dead-lettered.
bool is_transaction_frame(std::string_view payload);

/// wal2json options for START_REPLICATION.
stream::PluginOptions wal2json_options(const std::vector<std::string>& tables);

/// Throws FatalError for a slot of another plugin or with lost WAL, SlotBusy
/// when another process streams from it.
void check_slot_usable(const stream::SlotState& state);

/// One replication connection from start to stop: streams the slot from its
/// confirmed position `start` into the sinks (a reader thread here, a writer
/// thread for the sinks) until `stop` is set (returns normally after flushing
/// and a final status update) or something fails (throws; nothing past the
/// durable position is acknowledged).
void run_session(const SessionOptions& options, stream::ReplicationStream& stream, Lsn start,
                 const std::vector<sinks::Sink*>& sinks, const std::atomic<bool>& stop,
                 pipeline::Progress& progress);

}  // namespace cdc::app
