#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "cdc/core/lsn.hpp"
#include "cdc/core/pg.hpp"

namespace cdc::sinks {

/// What customer_cdc.checkpoint holds for a slot.
struct Checkpoint {
  Lsn lsn = 0;           ///< end of the last source transaction written
  Lsn snapshot_lsn = 0;  ///< consistent point of the last snapshot, 0 when none
  /// End of the last transaction the Kafka sink had wholly delivered when
  /// `lsn` was written (schema/005_kafka_position.sql); 0 when none.
  Lsn kafka_lsn = 0;
  /// The table has the kafka_lsn column (`migrate` adds it).
  bool records_kafka = false;
  bool exists = false;
};

/// (Works on a schema without the kafka_lsn column too: kafka_lsn is then 0.)
Checkpoint read_checkpoint(pg::Connection& conn, const std::string& slot);

/// The source transaction a checkpoint was written after.
struct SourceCommit {
  std::int64_t xid = 0;
  std::int64_t commit_time_us = 0;
};

/// The upsert of the checkpoint of `slot` to `lsn`, as one statement with its
/// values inlined (so it can share a round trip). snapshot_lsn, source and
/// kafka_lsn are set when given, else kept (kafka_lsn only where
/// checkpoint_records_kafka()).
std::string checkpoint_upsert(const pg::Connection& conn, const std::string& slot, Lsn lsn,
                              std::optional<Lsn> snapshot_lsn, std::optional<SourceCommit> source,
                              std::optional<Lsn> kafka_lsn = std::nullopt);

/// Sets the checkpoint of `slot` to `lsn` (a slot created at `lsn` streams
/// nothing before it; an older checkpoint from a dropped slot must not
/// make it skip anything). snapshot_lsn is set when given, else kept.
void write_checkpoint(pg::Connection& conn, const std::string& slot, Lsn lsn, std::optional<Lsn> snapshot_lsn);

/// In one statement: the checkpoint of `from` becomes the checkpoint of `to`
/// at `lsn` (or its own position if later), keeping its snapshot position and
/// source transaction, and `from` has none any more. False when `from` has
/// no checkpoint (nothing changes).
bool move_checkpoint(pg::Connection& conn, const std::string& from, const std::string& to, Lsn lsn);

/// Deletes the checkpoint of `slot` (a deliberately dropped slot); false when
/// there is no checkpoint table to delete from (the schema is not applied).
bool forget_checkpoint(pg::Connection& conn, const std::string& slot);

}  // namespace cdc::sinks
