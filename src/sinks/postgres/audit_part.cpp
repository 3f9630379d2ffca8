#include "cdc/sinks/postgres/audit_part.hpp"

#include <charconv>

#include "cdc/core/pg_time.hpp"
#include "cdc/domain/captured_schema.hpp"
#include "cdc/sinks/change_columns.hpp"
#include "cdc/sinks/postgres/copy_text.hpp"

namespace cdc::sinks {
namespace {

constexpr const char* kAuditTarget =
    "public.audit_logs (created_at, customer_uuid, action, old_value, new_value, source_lsn, source_xid)";

/// format_lsn's text ("%X/%X") appended without a temporary string.
void append_lsn(std::string& out, Lsn lsn) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + 8, static_cast<std::uint32_t>(lsn >> 32), 16);
  *end++ = '/';
  end = std::to_chars(end, text + sizeof text, static_cast<std::uint32_t>(lsn), 16).ptr;
  for (char* c = text; c != end; ++c) {
    if (*c >= 'a' && *c <= 'f') *c = static_cast<char>(*c - 'a' + 'A');
  }
  out.append(text, end);
}

}  // namespace

void AuditPart::change(const TxnInfo& txn, const decode::Change& change, PgBatch& batch) {
  if (!change.is_row_change() || !is_table(change, domain::kCustomer)) return;
  const std::optional<AuditEntry> entry = audit_entry_for(change);
  if (!entry) return;
  // Every row of a source transaction has its commit time: format it once.
  if (created_at_us_ != txn.commit_time_us || created_at_.empty()) {
    created_at_ = format_timestamp_utc(txn.commit_time_us);
    created_at_us_ = txn.commit_time_us;
  }
  append_copy_field(rows_, created_at_);
  rows_ += '\t';
  append_copy_field(rows_, entry->customer_uuid);
  rows_ += '\t';
  append_copy_field(rows_, entry->action);
  rows_ += '\t';
  append_copy_field(rows_, entry->old_value);
  rows_ += '\t';
  append_copy_field(rows_, entry->new_value);
  rows_ += '\t';
  append_lsn(rows_, source_lsns_.next(change.lsn));  // hex digits and '/': nothing to escape
  rows_ += '\t';
  char xid[16];
  const auto [end, ec] = std::to_chars(xid, xid + sizeof xid, txn.xid);
  rows_.append(xid, end);
  rows_ += '\n';
  if (rows_.size() >= stream_bytes_) write(batch);
}

std::optional<std::string> AuditPart::rejects(const decode::Change& change) const {
  if (!change.is_row_change() || !is_table(change, domain::kCustomer)) return std::nullopt;
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
