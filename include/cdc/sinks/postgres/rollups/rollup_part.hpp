#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cdc/core/pg.hpp"
#include "cdc/sinks/postgres/pg_part.hpp"
#include "cdc/sinks/postgres/rollups/rollup.hpp"

namespace cdc::sinks {

/// Writes the deltas of every rollup into the Postgres sink's batch
/// transaction (deferred into the commit's round trip).
class RollupPart : public PgPart {
 public:
  /// Deltas holding more keys than this are written into the open batch
  /// right away, so memory stays bounded inside a huge source transaction.
  explicit RollupPart(std::size_t max_keys = 20000);

  void change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) override;
  std::optional<std::string> rejects(const decode::Change& change) const override;
  void write(PgBatch& batch) override;
  bool has_pending() const override;
  void discard() override;
  void resume(Lsn, Lsn snapshot_lsn) override;

 private:
  std::size_t max_keys_;
  std::vector<std::unique_ptr<Rollup>> rollups_;
};

/// `customer-cdc rebuild-rollups`: recomputes every rollup table (and the
/// plan price bookkeeping) from public.customer, public.plans and the audit
/// history, in the caller's transaction and in one round trip.
void rebuild_rollups(pg::Connection& conn);

}  // namespace cdc::sinks
