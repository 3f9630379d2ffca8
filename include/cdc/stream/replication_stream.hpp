#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cdc/core/lsn.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/stream/message_stream.hpp"
#include "cdc/stream/wire.hpp"

namespace cdc::stream {

/// What pg_replication_slots says about a slot.
struct SlotState {
  std::string name;
  std::string plugin;
  std::string slot_type;
  std::string database;
  bool active = false;
  std::optional<int> active_pid;
  Lsn restart_lsn = 0;
  Lsn confirmed_flush_lsn = 0;
  std::optional<std::int64_t> retained_wal_bytes;  ///< pg_current_wal_lsn() - restart_lsn
  std::string wal_status;                           ///< reserved | extended | unreserved | lost
};

using PluginOptions = std::vector<std::pair<std::string, std::string>>;

/// What CREATE_REPLICATION_SLOT returned.
struct CreatedSlot {
  Lsn consistent_point = 0;
  /// Exported snapshot (when asked for): readable with SET TRANSACTION
  /// SNAPSHOT until this connection runs its next command.
  std::string snapshot_name;
};

/// A logical replication connection (replication=database) and its CopyBoth
/// loop. No JSON and no sinks: it moves bytes and positions.
class ReplicationStream : public MessageStream {
 public:
  explicit ReplicationStream(const std::string& dsn);

  /// nullopt when the slot does not exist.
  std::optional<SlotState> slot_state(const std::string& slot);
  /// CREATE_REPLICATION_SLOT ... LOGICAL <plugin>. With export_snapshot the
  /// result names a snapshot that sees exactly the transactions committed
  /// before the consistent point; a temporary slot vanishes with the connection.
  CreatedSlot create_slot(const std::string& slot, const std::string& plugin, bool export_snapshot = false,
                          bool temporary = false);
  void drop_slot(const std::string& slot);

  /// START_REPLICATION SLOT ... LOGICAL start (options). start 0 means the
  /// slot's confirmed_flush_lsn.
  void start(const std::string& slot, Lsn start, const PluginOptions& options);

  /// The next message, or nullopt when none arrived within timeout.
  /// Throws pg::Error when the connection fails or the server ends the stream,
  /// WireError on a malformed message.
  std::optional<Received> next(std::chrono::milliseconds timeout) override;

  /// Sends a standby status update (write = written, flush = apply = flushed).
  void send_status(Lsn written, Lsn flushed, bool reply_requested = false) override;

  /// Ends the COPY cleanly (after a final status update).
  void finish();

  pg::Connection& connection() { return conn_; }

 private:
  void flush_output();

  pg::Connection conn_;
  bool streaming_ = false;
};

/// Builds the START_REPLICATION command text (exposed for tests).
std::string start_replication_command(const std::string& slot, Lsn start, const PluginOptions& options);

}  // namespace cdc::stream
