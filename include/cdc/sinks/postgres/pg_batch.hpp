#pragma once
#include <string>

#include "cdc/core/connection_watch.hpp"
#include "cdc/core/pg.hpp"

namespace cdc::sinks {

/// The Postgres transaction that a batch of source transactions is written in.
/// Opened on first use; at most one COPY is open at a time and any other
/// statement ends it first.
class PgBatch {
 public:
  /// `watch` (optional) gets every round trip to the server marked.
  explicit PgBatch(pg::Connection& conn, ConnectionWatch* watch = nullptr) : conn_(conn), watch_(watch) {}

  bool open() const { return open_; }
  /// Open, or holding deferred statements: a commit has something to write.
  bool has_work() const { return open_ || !deferred_.empty(); }
  void ensure_open();

  /// Streams COPY text rows into `target` ("schema.table (col, ...)"), opening
  /// the COPY when another one (or none) is open.
  void copy_rows(const std::string& target, const std::string& rows);
  void end_copy();

  pg::Result exec(const std::string& sql);
  pg::Result exec_params(const std::string& sql, const pg::Params& params);

  /// Queues a statement to run with the next batch of deferred statements (at
  /// the latest with the commit, in one round trip); parameters are inlined
  /// as quoted literals ($1 .. $n).
  void defer(const std::string& sql);
  void defer_params(const std::string& sql, const pg::Params& params);

  /// Runs the deferred statements, `final_sql` (e.g. the checkpoint upsert)
  /// and COMMIT in one round trip.
  void commit(const std::string& final_sql);
  /// Best-effort ROLLBACK of whatever is open.
  void rollback() noexcept;

  pg::Connection& connection() { return conn_; }

 private:
  pg::Connection& conn_;
  ConnectionWatch* watch_;
  bool open_ = false;
  std::string copy_target_;  ///< target of the open COPY, empty when none
  std::string deferred_;     ///< statements waiting for the next round trip
};

}  // namespace cdc::sinks
