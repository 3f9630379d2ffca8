#pragma once
#include <string>

#include "cdc/sinks/pg_part.hpp"

namespace cdc::sinks {

/// Writes public.audit_logs rows for changes of public.customer, by COPY.
class AuditPart : public PgPart {
 public:
  /// COPY text above this size is streamed into the open batch right away, so a
  /// huge source transaction does not pile up in memory.
  explicit AuditPart(std::size_t stream_bytes = 1 << 20) : stream_bytes_(stream_bytes) {}

  void change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) override;
  void write(PgBatch& batch) override;
  bool has_pending() const override { return !rows_.empty(); }
  void discard() override;

  /// source_lsn of the next entry for a change at `lsn`: the change's LSN, plus
  /// the change's ordinal among changes sharing that LSN (a multi-insert WAL
  /// record carries several rows at one LSN; the offsets stay inside the record).
  Lsn source_lsn_for(Lsn lsn);

 private:
  std::size_t stream_bytes_;
  std::string rows_;       ///< COPY text not yet sent
  Lsn last_lsn_ = 0;       ///< LSN of the previous customer change
  Lsn same_lsn_count_ = 0;  ///< earlier changes seen at last_lsn_
};

}  // namespace cdc::sinks
