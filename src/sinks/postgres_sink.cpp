#include "cdc/sinks/postgres_sink.hpp"

#include <fmt/format.h>

#include "cdc/sinks/copy_text.hpp"
#include "cdc/sinks/dead_letter.hpp"

namespace cdc::sinks {

bool try_lock_slot_writer(pg::Connection& conn, const std::string& slot) {
  const pg::Result result =
      conn.exec_params("SELECT pg_try_advisory_lock(hashtext('customer-cdc/' || $1))", {slot});
  return result.value(0, 0) == "t";
}

PostgresSink::PostgresSink(PostgresSinkOptions options, std::vector<std::unique_ptr<PgPart>> parts)
    : options_(std::move(options)), conn_(options_.dsn), batch_(conn_), parts_(std::move(parts)) {
  if (!try_lock_slot_writer(conn_, options_.slot)) {
    throw SinkLocked(fmt::format("another customer-cdc process (daemon or snapshot) writes for slot \"{}\"",
                                 options_.slot));
  }
  const Checkpoint checkpoint = read_checkpoint(conn_, options_.slot);
  checkpoint_ = checkpoint.lsn;
  durable_ = checkpoint_;
  for (auto& part : parts_) part->resume(checkpoint.lsn, checkpoint.snapshot_lsn);
}

Checkpoint PostgresSink::read_checkpoint(pg::Connection& conn, const std::string& slot) {
  const pg::Result result = conn.exec_params(
      "SELECT lsn::text, snapshot_lsn::text FROM customer_cdc.checkpoint WHERE slot_name = $1", {slot});
  Checkpoint checkpoint;
  if (result.rows() == 0) return checkpoint;
  checkpoint.exists = true;
  checkpoint.lsn = parse_lsn(result.value(0, 0)).value_or(0);
  if (!result.is_null(0, 1)) checkpoint.snapshot_lsn = parse_lsn(result.value(0, 1)).value_or(0);
  return checkpoint;
}

void PostgresSink::write_checkpoint(pg::Connection& conn, const std::string& slot, Lsn lsn,
                                    std::optional<Lsn> snapshot_lsn) {
  conn.exec_params(
      "INSERT INTO customer_cdc.checkpoint AS c (slot_name, lsn, snapshot_lsn, updated_at) "
      "VALUES ($1, $2::pg_lsn, $3::pg_lsn, now()) ON CONFLICT (slot_name) DO UPDATE SET lsn = excluded.lsn, "
      "snapshot_lsn = coalesce(excluded.snapshot_lsn, c.snapshot_lsn), updated_at = now()",
      {slot, format_lsn(lsn), snapshot_lsn ? std::optional<std::string>(format_lsn(*snapshot_lsn)) : std::nullopt});
}

void PostgresSink::begin(const TxnInfo&) {}

void PostgresSink::change(const TxnInfo& txn, const decode::Change& change) {
  if (change.action == decode::Action::Read) return;  // audit and rollups follow history, not snapshot reads
  if (!uncommitted_) batch_started_ = std::chrono::steady_clock::now();
  uncommitted_ = true;
  ++batch_changes_;
  for (auto& part : parts_) part->change(txn, change, batch_);
}

std::optional<std::string> PostgresSink::rejects(const decode::Change& change) const {
  for (const auto& part : parts_) {
    if (auto reason = part->rejects(change)) return reason;
  }
  return std::nullopt;
}

void PostgresSink::dead_letter(const TxnInfo& txn, const DeadLetter& letter) {
  if (!uncommitted_) batch_started_ = std::chrono::steady_clock::now();
  uncommitted_ = true;
  ++batch_changes_;
  batch_.defer_params(kDeadLetterInsert, dead_letter_params(options_.slot, txn, letter));
}

void PostgresSink::commit(const TxnInfo& txn) {
  last_commit_ = txn;
  // A transaction that wrote nothing is held as soon as everything before it is.
  if (!uncommitted_) durable_ = txn.end_lsn;
}

bool PostgresSink::batch_has_rows() const {
  if (batch_.has_work()) return true;
  for (const auto& part : parts_) {
    if (part->has_pending()) return true;
  }
  return false;
}

bool PostgresSink::wants_flush() const {
  if (!uncommitted_) return false;
  return batch_changes_ >= options_.flush_rows ||
         std::chrono::steady_clock::now() - batch_started_ >= options_.flush_age;
}

void PostgresSink::flush() {
  if (!uncommitted_) return;
  if (batch_has_rows()) {
    for (auto& part : parts_) part->write(batch_);
    const std::string checkpoint_sql = fmt::format(
        "INSERT INTO customer_cdc.checkpoint (slot_name, lsn, source_xid, source_commit_time, updated_at) "
        "VALUES ({}, '{}', {}, '{}', now()) ON CONFLICT (slot_name) DO UPDATE SET lsn = excluded.lsn, "
        "source_xid = excluded.source_xid, source_commit_time = excluded.source_commit_time, "
        "updated_at = excluded.updated_at",
        conn_.quote_literal(options_.slot), format_lsn(last_commit_.end_lsn), last_commit_.xid,
        format_timestamp_utc(last_commit_.commit_time_us));
    batch_.commit(checkpoint_sql);
  }
  durable_ = last_commit_.end_lsn;
  uncommitted_ = false;
  batch_changes_ = 0;
}

void PostgresSink::abort() {
  batch_.rollback();
  for (auto& part : parts_) part->discard();
  uncommitted_ = false;
  batch_changes_ = 0;
}

}  // namespace cdc::sinks
