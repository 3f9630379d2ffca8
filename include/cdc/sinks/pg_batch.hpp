#pragma once
#include <string>

#include "cdc/pg.hpp"

namespace cdc::sinks {

/// The Postgres transaction that a batch of source transactions is written in.
/// Opened on first use; at most one COPY is open at a time and any other
/// statement ends it first.
class PgBatch {
 public:
  explicit PgBatch(pg::Connection& conn) : conn_(conn) {}

  bool open() const { return open_; }
  void ensure_open();

  /// Streams COPY text rows into `target` ("schema.table (col, ...)"), opening
  /// the COPY when another one (or none) is open.
  void copy_rows(const std::string& target, const std::string& rows);
  void end_copy();

  pg::Result exec(const std::string& sql);
  pg::Result exec_params(const std::string& sql, const pg::Params& params);

  /// Runs `final_sql` (e.g. the checkpoint upsert) and COMMIT in one round trip.
  void commit(const std::string& final_sql);
  /// Best-effort ROLLBACK of whatever is open.
  void rollback() noexcept;

  pg::Connection& connection() { return conn_; }

 private:
  pg::Connection& conn_;
  bool open_ = false;
  std::string copy_target_;  ///< target of the open COPY, empty when none
};

}  // namespace cdc::sinks
