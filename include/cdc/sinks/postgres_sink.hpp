#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cdc/pg.hpp"
#include "cdc/sinks/pg_batch.hpp"
#include "cdc/sinks/pg_part.hpp"
#include "cdc/sinks/sink.hpp"

namespace cdc::sinks {

struct PostgresSinkOptions {
  std::string dsn;
  std::string slot;                 ///< checkpoint key
  std::size_t flush_rows = 50000;   ///< flush a batch once it holds this many row changes
  std::chrono::milliseconds flush_age{250};  ///< ... or once its first transaction is this old
};

/// Audit entries and rollups, written per batch of source transactions in one
/// Postgres transaction together with the checkpoint (customer_cdc.checkpoint),
/// so a crash at any point neither loses nor duplicates a row.
class PostgresSink : public Sink {
 public:
  PostgresSink(PostgresSinkOptions options, std::vector<std::unique_ptr<PgPart>> parts);

  std::string name() const override { return "postgres"; }
  Lsn resume_position() const override { return checkpoint_; }
  void begin(const TxnInfo& txn) override;
  void change(const TxnInfo& txn, const decode::Change& change) override;
  void commit(const TxnInfo& txn) override;
  bool wants_flush() const override;
  void flush() override;
  void abort() override;
  Lsn durable_lsn() const override { return durable_; }

  /// Reads the checkpoint of `slot` (0 when none).
  static Lsn read_checkpoint(pg::Connection& conn, const std::string& slot);

 private:
  bool batch_has_rows() const;

  PostgresSinkOptions options_;
  pg::Connection conn_;
  PgBatch batch_;
  std::vector<std::unique_ptr<PgPart>> parts_;
  Lsn checkpoint_ = 0;          ///< checkpoint found at start
  Lsn durable_ = 0;
  TxnInfo last_commit_;         ///< last source transaction committed into the batch
  bool uncommitted_ = false;    ///< the batch holds transactions that wrote rows
  std::size_t batch_changes_ = 0;
  std::chrono::steady_clock::time_point batch_started_;
};

}  // namespace cdc::sinks
