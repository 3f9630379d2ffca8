#pragma once
#include <optional>
#include <string>

#include "cdc/decode/change.hpp"
#include "cdc/sinks/mapping_error.hpp"

namespace cdc::sinks {

/// One row of public.audit_logs, as the seed's log_customer_changes trigger
/// (plus customer_created / customer_deleted) would write it.
struct AuditEntry {
  std::string customer_uuid;
  std::string action;                    ///< plan_change | resource_update | customer_created | customer_deleted
  std::optional<std::string> old_value;  ///< JSON text, {"plan_id": .., "remaining_resources": ..}
  std::optional<std::string> new_value;

  bool operator==(const AuditEntry&) const = default;
};

/// The audit entry for a row change of public.customer, or nullopt when the
/// trigger would write none (an update touching neither plan_id nor
/// remaining_resources). Throws MappingError when a column is missing.
std::optional<AuditEntry> audit_entry_for(const decode::Change& change);

/// Assigns audit entries their source_lsn: the change's LSN, plus the change's
/// ordinal among consecutive changes sharing that LSN (a multi-insert WAL record
/// carries several rows at one LSN; the offsets stay inside the record, so
/// they never collide with another record's position).
class SourceLsnSequence {
 public:
  Lsn next(Lsn lsn) {
    if (lsn == last_lsn_) {
      ++repeats_;
    } else {
      last_lsn_ = lsn;
      repeats_ = 0;
    }
    return lsn + repeats_;
  }
  void reset() { last_lsn_ = 0, repeats_ = 0; }

 private:
  Lsn last_lsn_ = 0;
  Lsn repeats_ = 0;
};

}  // namespace cdc::sinks
