#include "cdc/sinks/audit_part.hpp"

#include "cdc/sinks/audit_mapping.hpp"
#include "cdc/sinks/copy_text.hpp"

namespace cdc::sinks {
namespace {

constexpr const char* kAuditTarget =
    "public.audit_logs (created_at, customer_uuid, action, old_value, new_value, source_lsn, source_xid)";

bool is_customer(const decode::Change& change) {
  return change.table == "customer" && change.schema == "public";
}

}  // namespace

void AuditPart::change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) {
  if (!change.is_row_change() || !is_customer(change)) return;
  const std::optional<AuditEntry> entry = audit_entry_for(change);
  if (!entry) return;
  const std::string created_at = format_timestamp_utc(txn.commit_time_us);
  const std::string source_lsn = format_lsn(source_lsns_.next(change.lsn));
  const std::string xid = std::to_string(txn.xid);
  append_copy_field(rows_, created_at);
  rows_ += '\t';
  append_copy_field(rows_, entry->customer_uuid);
  rows_ += '\t';
  append_copy_field(rows_, entry->action);
  rows_ += '\t';
  append_copy_field(rows_, entry->old_value);
  rows_ += '\t';
  append_copy_field(rows_, entry->new_value);
  rows_ += '\t';
  append_copy_field(rows_, source_lsn);
  rows_ += '\t';
  append_copy_field(rows_, xid);
  rows_ += '\n';
  if (rows_.size() >= stream_bytes_) write(batch);
}

std::optional<std::string> AuditPart::rejects(const decode::Change& change) const {
  if (!change.is_row_change() || !is_customer(change)) return std::nullopt;
  try {
    audit_entry_for(change);
  } catch (const MappingError& e) {
    return e.what();
  }
  return std::nullopt;
}

void AuditPart::write(PgBatch& batch) {
  if (rows_.empty()) return;
  batch.copy_rows(kAuditTarget, rows_);
  rows_.clear();
}

void AuditPart::discard() {
  rows_.clear();
  source_lsns_.reset();
}

}  // namespace cdc::sinks
