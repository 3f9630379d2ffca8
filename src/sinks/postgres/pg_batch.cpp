#include "cdc/sinks/postgres/pg_batch.hpp"

namespace cdc::sinks {

void PgBatch::ensure_open() {
  if (open_) return;
  const ConnectionWatch::Call call(watch_);
  conn_.exec("BEGIN");
  open_ = true;
}

void PgBatch::copy_rows(const std::string& target, const std::string& rows) {
  if (rows.empty()) return;
  ensure_open();
  const ConnectionWatch::Call call(watch_);
  if (copy_target_ != target) {
    end_copy();
    const std::string sql = "COPY " + target + " FROM STDIN";
    conn_.check(PQexec(conn_.get(), sql.c_str()), "cannot start COPY into " + target, PGRES_COPY_IN);
    copy_target_ = target;
  }
  if (PQputCopyData(conn_.get(), rows.data(), static_cast<int>(rows.size())) != 1) {
    conn_.fail("COPY into " + target + " failed");
  }
}

void PgBatch::end_copy() {
  if (copy_target_.empty()) return;
  const std::string target = std::move(copy_target_);
  copy_target_.clear();
  const ConnectionWatch::Call call(watch_);
  if (PQputCopyEnd(conn_.get(), nullptr) != 1) conn_.fail("cannot end COPY into " + target);
  conn_.check(PQgetResult(conn_.get()), "COPY into " + target + " failed", PGRES_COMMAND_OK);
  // Collect the NULL that ends the command's results.
  while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
}

pg::Result PgBatch::exec(const std::string& sql) {
  ensure_open();
  end_copy();
  const ConnectionWatch::Call call(watch_);
  return conn_.exec(sql);
}

pg::Result PgBatch::exec_params(const std::string& sql, const pg::Params& params) {
  ensure_open();
  end_copy();
  const ConnectionWatch::Call call(watch_);
  return conn_.exec_params(sql, params);
}

namespace {

constexpr std::size_t kMaxDeferredBytes = 1024 * 1024;

}  // namespace

void PgBatch::defer(const std::string& sql) {
  deferred_ += sql;
  deferred_ += ";\n";
  if (deferred_.size() >= kMaxDeferredBytes) {
    ensure_open();
    end_copy();
    const ConnectionWatch::Call call(watch_);
    conn_.exec(deferred_);
    deferred_.clear();
  }
}

void PgBatch::defer_params(const std::string& sql, const pg::Params& params) {
  std::string bound;
  bound.reserve(sql.size() + 64);
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() && sql[i + 1] >= '1' && sql[i + 1] <= '9') {
      std::size_t j = i + 1;
      std::size_t index = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') index = index * 10 + static_cast<std::size_t>(sql[j++] - '0');
      const auto& value = params.at(index - 1);
      bound += value ? conn_.quote_literal(*value) : std::string("NULL");
      i = j - 1;
    } else {
      bound += sql[i];
    }
  }
  defer(bound);
}

void PgBatch::commit(const std::string& final_sql) {
  ensure_open();
  end_copy();
  open_ = false;
  std::string sql = std::move(deferred_);
  deferred_.clear();
  const ConnectionWatch::Call call(watch_);
  conn_.exec(sql + final_sql + ";\nCOMMIT");
}

void PgBatch::rollback() noexcept {
  deferred_.clear();
  if (!open_) return;
  open_ = false;
  copy_target_.clear();
  if (PQstatus(conn_.get()) != CONNECTION_OK) return;
  const ConnectionWatch::Call call(watch_);
  // A COPY in progress is ended with an error, which aborts the transaction.
  PQputCopyEnd(conn_.get(), "aborted by customer-cdc");
  while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
  PGresult* r = PQexec(conn_.get(), "ROLLBACK");
  PQclear(r);
}

}  // namespace cdc::sinks
