#pragma once
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/decode/change.hpp"
#include "cdc/domain/captured_schema.hpp"
#include "cdc/sinks/mapping_error.hpp"
#include "cdc/sinks/postgres/pg_batch.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

/// One rollup table (README "Rollups"): sums what changes of the captured
/// tables do to it in an in-memory delta, writes the delta into the Postgres
/// sink's batch transaction, and knows how `rebuild-rollups` recomputes it.
/// Every rollup sees every change; it takes the ones it needs.
class Rollup {
 public:
  virtual ~Rollup() = default;
  /// The tables and privileges it needs (see domain::table_uses).
  virtual domain::Feature feature() const = 0;
  /// Adds a change of a captured table to the delta. Pure: no database.
  /// Throws MappingError when a needed column is missing or not a number.
  virtual void aggregate(const TxnInfo& txn, const decode::Change& change) = 0;
  /// The MappingError aggregate() would throw for `change`, or nullopt.
  virtual std::optional<std::string> rejects(const decode::Change& change) const = 0;
  /// Defers the statements that add the delta to the table into `batch` (they
  /// run in the commit's round trip) and clears the delta.
  virtual void write(PgBatch& batch) = 0;
  /// Keys (rows to upsert) the delta holds.
  virtual std::size_t pending_keys() const = 0;
  virtual bool has_pending() const = 0;
  /// Forgets the delta (the batch is rolled back).
  virtual void discard() = 0;
  /// Table state of transactions ending at or below `snapshot_lsn` is already
  /// in the table (rebuilt by a snapshot at that point); history is not.
  virtual void resume(Lsn /*snapshot_lsn*/) {}
  /// SQL recomputing the table from the current tables and the audit history
  /// (several statements, run in the caller's transaction).
  virtual std::string_view rebuild_sql() const = 0;
};

/// Rollup::rejects by aggregating into a scratch instance of R: a change that
/// maps there maps in aggregate().
template <class R>
std::optional<std::string> rejects_on_scratch(const decode::Change& change) {
  R scratch;
  try {
    scratch.aggregate(TxnInfo{0, 0, std::numeric_limits<Lsn>::max(), 0}, change);
  } catch (const MappingError& e) {
    return e.what();
  }
  return std::nullopt;
}

}  // namespace cdc::sinks
