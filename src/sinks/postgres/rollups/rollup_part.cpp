#include "cdc/sinks/postgres/rollups/rollup_part.hpp"

#include "cdc/sinks/postgres/rollups/registry.hpp"

namespace cdc::sinks {

RollupPart::RollupPart(std::size_t max_keys) : max_keys_(max_keys), rollups_(make_rollups()) {}

void RollupPart::change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) {
  std::size_t keys = 0;
  for (auto& rollup : rollups_) {
    rollup->aggregate(txn, change);
    keys += rollup->pending_keys();
  }
  if (keys >= max_keys_) write(batch);
}

std::optional<std::string> RollupPart::rejects(const decode::Change& change) const {
  for (const auto& rollup : rollups_) {
    if (auto reason = rollup->rejects(change)) return reason;
  }
  return std::nullopt;
}

void RollupPart::write(PgBatch& batch) {
  for (auto& rollup : rollups_) rollup->write(batch);
}

bool RollupPart::has_pending() const {
  for (const auto& rollup : rollups_) {
    if (rollup->has_pending()) return true;
  }
  return false;
}

void RollupPart::discard() {
  for (auto& rollup : rollups_) rollup->discard();
}

void RollupPart::resume(Lsn, Lsn snapshot_lsn) {
  for (auto& rollup : rollups_) rollup->resume(snapshot_lsn);
}

void rebuild_rollups(pg::Connection& conn) {
  std::string sql;
  for (const auto& rollup : make_rollups()) sql += rollup->rebuild_sql();
  conn.exec(sql);
}

}  // namespace cdc::sinks
