#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cdc/core/connection_watch.hpp"
#include "cdc/core/errors.hpp"
#include "cdc/core/pg.hpp"
#include "cdc/sinks/postgres/pg_batch.hpp"
#include "cdc/sinks/postgres/pg_part.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

struct PostgresSinkOptions {
  std::string dsn;
  std::string slot;                 ///< checkpoint key
  std::size_t flush_rows = 50000;   ///< flush a batch once it holds this many row changes
  std::chrono::milliseconds flush_age{250};  ///< ... or once its first transaction is this old
  /// A statement waiting longer for a lock is cancelled by the server
  /// (lock_timeout) and the batch retried (SinkTimedOut); 0: no limit.
  std::chrono::milliseconds lock_timeout{0};
  /// Armed with the sink's connection while the sink exists; every round trip
  /// to the server is marked in it (the monitor ends a connection stuck in one).
  ConnectionWatch* watch = nullptr;
};

/// Another process (a second daemon, or a running `snapshot`) writes for the
/// same slot; wait and retry.
class SinkLocked : public CategorizedError<ErrorCategory::Retryable> {
 public:
  using CategorizedError::CategorizedError;
  std::string log_message() const override { return std::string(what()) + " (standing by)"; }
};

/// Session advisory lock that one writer of a slot's tables holds at a time
/// (released when the connection closes). False when someone else holds it.
bool try_lock_slot_writer(pg::Connection& conn, const std::string& slot);

/// Audit entries and rollups, written per batch of source transactions in one
/// Postgres transaction together with the checkpoint (customer_cdc.checkpoint),
/// so a crash at any point neither loses nor duplicates a row.
class PostgresSink : public Sink {
 public:
  PostgresSink(PostgresSinkOptions options, std::vector<std::unique_ptr<PgPart>> parts);
  ~PostgresSink() override;
  PostgresSink(const PostgresSink&) = delete;
  PostgresSink& operator=(const PostgresSink&) = delete;

  std::string name() const override { return "postgres"; }
  Lsn resume_position() const override { return checkpoint_; }
  void begin(const TxnInfo& txn) override;
  void change(const TxnInfo& txn, const decode::Change& change) override;
  void commit(const TxnInfo& txn) override;
  std::optional<std::string> rejects(const decode::Change& change) const override;
  void dead_letter(const TxnInfo& txn, const DeadLetter& letter) override;
  bool wants_flush() const override;
  void flush() override;
  void abort() override;
  Lsn durable_lsn() const override { return durable_; }

  /// The server process of the sink connection (for stall diagnostics).
  int backend_pid() const { return PQbackendPID(conn_.get()); }

  /// The Kafka sink's position recorded with the checkpoint found at start
  /// (0: none): what Kafka held durably then, to skip after a slot stepped back.
  Lsn recorded_kafka_position() const { return recorded_kafka_; }
  /// From now on, every checkpoint also records `kafka`'s durable position
  /// (a sink of the same writer thread); without the schema's kafka_lsn
  /// column (not migrated), warns and records nothing.
  void record_position_of(const Sink& kafka);

 private:
  bool batch_has_rows() const;
  /// Runs a step that may talk to the server; a statement cancelled by the
  /// timeout becomes SinkTimedOut.
  template <typename Step>
  void guarded(Step&& step);

  PostgresSinkOptions options_;
  pg::Connection conn_;
  PgBatch batch_;
  std::vector<std::unique_ptr<PgPart>> parts_;
  Lsn checkpoint_ = 0;          ///< checkpoint found at start
  Lsn recorded_kafka_ = 0;      ///< its kafka_lsn
  bool records_kafka_ = false;  ///< the checkpoint table has the kafka_lsn column
  const Sink* kafka_ = nullptr;  ///< whose durable position each checkpoint records (record_position_of)
  Lsn durable_ = 0;
  TxnInfo last_commit_;         ///< last source transaction committed into the batch
  bool uncommitted_ = false;    ///< the batch holds transactions that wrote rows
  std::size_t batch_changes_ = 0;
  std::chrono::steady_clock::time_point batch_started_;
};

}  // namespace cdc::sinks
