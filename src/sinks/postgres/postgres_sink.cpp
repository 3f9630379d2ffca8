#include "cdc/sinks/postgres/postgres_sink.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cdc/sinks/postgres/checkpoint.hpp"
#include "cdc/sinks/postgres/dead_letter_table.hpp"

namespace cdc::sinks {
namespace {

constexpr const char* kLockNotAvailable = "55P03";  // lock_timeout
constexpr const char* kQueryCanceled = "57014";     // a cancel (the monitor's, or an operator's)

}  // namespace

bool try_lock_slot_writer(pg::Connection& conn, const std::string& slot) {
  const pg::Result result =
      conn.exec_params("SELECT pg_try_advisory_lock(hashtext('customer-cdc/' || $1))", {slot});
  return result.value(0, 0) == "t";
}

PostgresSink::PostgresSink(PostgresSinkOptions options, std::vector<std::unique_ptr<PgPart>> parts)
    : options_(std::move(options)), conn_(options_.dsn), batch_(conn_, options_.watch), parts_(std::move(parts)) {
  if (!try_lock_slot_writer(conn_, options_.slot)) {
    throw SinkLocked(fmt::format("another customer-cdc process (daemon or snapshot) writes for slot \"{}\"",
                                 options_.slot));
  }
  // lock_timeout, not statement_timeout: the audit COPY of a big source
  // transaction legitimately stays open while the stream is decoded (the
  // server waits for its data), so only lock waits are bounded on the server;
  // a call that does not return at all is the monitor's (ConnectionWatch).
  if (options_.lock_timeout.count() > 0) {
    conn_.exec(fmt::format("SET lock_timeout = {}", options_.lock_timeout.count()));
  }
  const Checkpoint checkpoint = read_checkpoint(conn_, options_.slot);
  checkpoint_ = checkpoint.lsn;
  recorded_kafka_ = checkpoint.kafka_lsn;
  records_kafka_ = checkpoint.records_kafka;
  durable_ = checkpoint_;
  for (auto& part : parts_) part->resume(checkpoint.lsn, checkpoint.snapshot_lsn);
  if (options_.watch) options_.watch->arm(PQsocket(conn_.get()));  // last: nothing throws after it
}

void PostgresSink::record_position_of(const Sink& kafka) {
  if (!records_kafka_) {
    spdlog::warn("customer_cdc.checkpoint has no kafka_lsn column (run `customer-cdc migrate`): after a PostgreSQL "
                 "crash, Kafka may receive again everything since the slot's last persisted position");
    return;
  }
  kafka_ = &kafka;
}

PostgresSink::~PostgresSink() {
  if (options_.watch) options_.watch->disarm();
}

template <typename Step>
void PostgresSink::guarded(Step&& step) {
  try {
    step();
  } catch (const pg::Error& e) {
    if (e.sqlstate() != kLockNotAvailable && e.sqlstate() != kQueryCanceled) throw;
    throw SinkTimedOut(fmt::format("sink statement cancelled after waiting {} ms (postgres.sink_timeout_ms), its "
                                   "batch is rolled back and retried: {}",
                                   options_.lock_timeout.count(), e.what()));
  }
}

void PostgresSink::begin(const TxnInfo&) {}

void PostgresSink::change(const TxnInfo& txn, const decode::Change& change) {
  if (change.action == decode::Action::Read) return;  // audit and rollups follow history, not snapshot reads
  if (!uncommitted_) batch_started_ = std::chrono::steady_clock::now();
  uncommitted_ = true;
  ++batch_changes_;
  guarded([&] {
    for (auto& part : parts_) part->change(txn, change, batch_);
  });
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
  guarded([&] { batch_.defer_params(kDeadLetterInsert, dead_letter_params(options_.slot, txn, letter)); });
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
    guarded([&] {
      for (auto& part : parts_) part->write(batch_);
      const SourceCommit source{last_commit_.xid, last_commit_.commit_time_us};
      std::optional<Lsn> kafka_position;
      if (kafka_ && kafka_->durable_lsn() != 0) kafka_position = kafka_->durable_lsn();
      const std::string checkpoint_sql =
          checkpoint_upsert(conn_, options_.slot, last_commit_.end_lsn, std::nullopt, source, kafka_position);
      batch_.commit(checkpoint_sql);
    });
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
