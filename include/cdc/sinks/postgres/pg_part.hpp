#pragma once
#include <optional>
#include <string>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/postgres/pg_batch.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// One kind of rows (audit entries, rollups) that the Postgres sink writes in
/// its batch transaction, together with the checkpoint.
class PgPart {
 public:
  virtual ~PgPart() = default;
  /// Takes a row change of a captured table; may stream rows into `batch`.
  virtual void change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) = 0;
  /// Why this part cannot take `change`, or nullopt (see Sink::rejects).
  virtual std::optional<std::string> rejects(const decode::Change& /*change*/) const { return std::nullopt; }
  /// Writes what is still buffered into `batch` before it commits.
  virtual void write(PgBatch& batch) = 0;
  /// True when the part holds rows not yet written into the batch.
  virtual bool has_pending() const = 0;
  /// Forgets buffered rows (the batch is rolled back).
  virtual void discard() = 0;
  /// The sink's positions at start: `snapshot_lsn` is the consistent point of
  /// the last snapshot (0 when none), whose effects on table-state rows are
  /// already written.
  virtual void resume(Lsn /*checkpoint*/, Lsn /*snapshot_lsn*/) {}
};

}  // namespace cdc::sinks
