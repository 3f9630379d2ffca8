#pragma once
#include <cstdint>
#include <string>

#include "cdc/sinks/audit/audit_mapping.hpp"
#include "cdc/sinks/postgres/pg_part.hpp"

namespace cdc::sinks {

/// Writes public.audit_logs rows for changes of public.customer, by COPY.
class AuditPart : public PgPart {
 public:
  /// COPY text above this size is streamed into the open batch right away, so a
  /// huge source transaction does not pile up in memory.
  explicit AuditPart(std::size_t stream_bytes = 1 << 20) : stream_bytes_(stream_bytes) {}

  void change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) override;
  std::optional<std::string> rejects(const decode::Change& change) const override;
  void write(PgBatch& batch) override;
  bool has_pending() const override { return !rows_.empty(); }
  void discard() override;

 private:
  std::size_t stream_bytes_;
  std::string rows_;       ///< COPY text not yet sent
  std::string created_at_;        ///< created_at text of the last transaction seen
  std::int64_t created_at_us_ = 0;
  SourceLsnSequence source_lsns_;
};

}  // namespace cdc::sinks
