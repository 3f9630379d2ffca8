#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "cdc/app/config.hpp"
#include "cdc/core/lsn.hpp"
#include "cdc/stream/replication_stream.hpp"

namespace cdc::app {

/// A stop signal arrived during a snapshot; nothing of it was committed.
class SnapshotStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SnapshotStats {
  Lsn consistent_point = 0;
  std::map<std::string, std::uint64_t> rows;  ///< rows read per captured table
};

/// The backfill, consistent with a slot's position: reads every row of the
/// captured tables inside `snapshot_name` (exported at `consistent_point`),
/// publishes them to Kafka as op "r" (when enabled), rebuilds the rollups as
/// of that snapshot (when enabled) and records the snapshot in the checkpoint,
/// in one transaction that commits only after Kafka confirmed every message.
/// slot_created: the slot was just created at consistent_point, so the
/// checkpoint restarts there. Tables are read with a cursor (bounded memory).
SnapshotStats run_snapshot(const Config& config, const std::string& snapshot_name, Lsn consistent_point,
                           bool slot_created, const std::atomic<bool>& stop);

/// `customer-cdc snapshot` on an existing slot: a temporary slot exports the
/// snapshot; the rollups that describe table state take effect from its
/// consistent point, history keeps following the audit checkpoint.
SnapshotStats snapshot_existing_slot(const Config& config, const std::atomic<bool>& stop);

/// Throws FatalError (with the fix) unless the connected server can stream
/// what the configuration asks for: the version binary/streaming need, and
/// pgoutput's publication, which must exist before the slot (pgoutput looks
/// it up as of each change it decodes).
void require_server_support(stream::ReplicationStream& stream, const Config& config);

/// Gets `stream` ready to stream the configured slot, per create_slot and
/// snapshot_mode: creates a missing slot (with a snapshot unless "never"),
/// takes a snapshot of an existing one when "always" or when "initial" never
/// completed one; require_server_support first. Returns the slot's confirmed position to stream from.
Lsn prepare_stream(stream::ReplicationStream& stream, const Config& config, const std::atomic<bool>& stop);

}  // namespace cdc::app
