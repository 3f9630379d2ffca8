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

/// The pg_replication_slots query behind SlotState (simple protocol, so it
/// also runs on a replication connection), and its one row (nullopt: none).
std::string slot_state_query(pg::Connection& conn, const std::string& slot);
std::optional<SlotState> slot_state_from(const pg::Result& result);


using PluginOptions = std::vector<std::pair<std::string, std::string>>;

/// What CREATE_REPLICATION_SLOT returned.
struct CreatedSlot {
  Lsn consistent_point = 0;
  /// Exported snapshot (when asked for): readable with SET TRANSACTION
  /// SNAPSHOT until this connection runs its next command.
  std::string snapshot_name;
};

/// What CREATE_REPLICATION_SLOT does with the slot's starting snapshot.
enum class SlotSnapshot {
  kNothing,  ///< nothing
  kExport,   ///< export it: CreatedSlot::snapshot_name sees exactly the
             ///< transactions committed before the consistent point
  kUse,      ///< use it for the transaction open on this connection
};

struct SlotOptions {
  bool temporary = false;  ///< the slot vanishes with the connection (even if this process dies)
  SlotSnapshot snapshot = SlotSnapshot::kNothing;
};

/// A logical replication connection (replication=database) and its CopyBoth
/// loop. No JSON and no sinks: it moves bytes and positions.
class ReplicationStream : public MessageStream {
 public:
  explicit ReplicationStream(const std::string& dsn);

  /// nullopt when the slot does not exist.
  std::optional<SlotState> slot_state(const std::string& slot);
  /// CREATE_REPLICATION_SLOT ... LOGICAL <plugin>, in the syntax of the
  /// connected server's version.
  CreatedSlot create_slot(const std::string& slot, const std::string& plugin, const SlotOptions& options = {});
  /// create_slot that gives up after `timeout`: the command is cancelled and
  /// nullopt returned. A logical slot is ready only once every transaction that
  /// was running when its creation started has ended.
  std::optional<CreatedSlot> create_slot_within(const std::string& slot, const std::string& plugin,
                                                const SlotOptions& options, std::chrono::milliseconds timeout);
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
  /// The process id of this connection's walsender on the server.
  int backend_pid() const { return PQbackendPID(conn_.get()); }

 private:
  void flush_output();

  pg::Connection conn_;
  bool streaming_ = false;
};

/// Builds the CREATE_REPLICATION_SLOT command text for a server of
/// `server_version` (PQserverVersion form, e.g. 150004): PostgreSQL 15 takes
/// `(SNAPSHOT '...')`, older servers `[NO]EXPORT_SNAPSHOT` / `USE_SNAPSHOT`
/// (exposed for tests).
std::string create_slot_command(const std::string& slot, const std::string& plugin, const SlotOptions& options,
                                int server_version);

/// Builds the START_REPLICATION command text (exposed for tests).
std::string start_replication_command(const std::string& slot, Lsn start, const PluginOptions& options);

}  // namespace cdc::stream
